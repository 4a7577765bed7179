-- L32 — sync status per node (SYNC.md §4.12): view sync_node_status, also behind
-- `robbieverse sync status` and GET /api/sync/status.
-- * On the hub: one row per registered node, from what the hub sees (last contact, runs,
--   backlog it holds for the node, refusals, conflicts).
-- * On a node: one row, itself, from what it knows (its outbox after the hub's last
--   acknowledgement, its parked changes, its last exchange).
-- Health, first matching rule wins: never_synced → error → offline (no contact for 3 pull
-- intervals) → degraded (last pull older than 2 intervals, or changes waiting more than 1 min) →
-- healthy.

ALTER TABLE sync.cursors DROP CONSTRAINT cursors_direction_check;
ALTER TABLE sync.cursors ADD CONSTRAINT cursors_direction_check CHECK (direction IN ('pull', 'pulled_by', 'pushed'));
COMMENT ON TABLE sync.cursors IS 'pull: last hub log key this node applied (owned by the receiver); pushed (node): the hub''s last acknowledged push cursor; pulled_by (hub): what each node confirmed it applied';

ALTER TABLE sync.local ADD COLUMN pull_interval_ms bigint NOT NULL DEFAULT 300000 CHECK (pull_interval_ms > 0);
COMMENT ON COLUMN sync.local.pull_interval_ms IS 'Pull interval the health rules use (a node''s daemon records its own)';

CREATE TABLE sync.exchanges (
  id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  started_at    timestamptz NOT NULL,
  finished_at   timestamptz NOT NULL DEFAULT now(),
  ok            boolean     NOT NULL,
  pushed        integer     NOT NULL DEFAULT 0,
  pulled        integer     NOT NULL DEFAULT 0,
  conflicts     integer     NOT NULL DEFAULT 0,
  clock_offset_ms integer,
  hub_schema_version text,
  error_code    text,
  error         text
);
COMMENT ON TABLE sync.exchanges IS 'Node: one row per exchange with the hub (kept 7 days)';

CREATE FUNCTION sync.health(p_never boolean, p_error boolean, p_last_contact timestamptz, p_last_pull timestamptz,
                            p_oldest_waiting timestamptz, p_interval_ms bigint) RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT CASE
    WHEN p_never THEN 'never_synced'
    WHEN p_error THEN 'error'
    WHEN p_last_contact IS NULL OR p_last_contact < now() - make_interval(secs => 3 * p_interval_ms / 1000.0) THEN 'offline'
    WHEN p_last_pull IS NULL OR p_last_pull < now() - make_interval(secs => 2 * p_interval_ms / 1000.0)
         OR p_oldest_waiting < now() - interval '1 minute' THEN 'degraded'
    ELSE 'healthy' END
$$;

CREATE FUNCTION sync.node_status() RETURNS TABLE (
  node_id uuid, node_key text, node_type text, enabled boolean, last_contact_at timestamptz,
  last_push_at timestamptz, last_pull_at timestamptz, outbound_backlog bigint, inbound_backlog bigint,
  parked bigint, conflicts_24h bigint, clock_offset_ms integer, schema_version text, schema_match boolean,
  last_error text, health text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_local sync.local;
BEGIN
  SELECT * INTO v_local FROM sync.local;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  IF v_local.role = 'hub' THEN
    RETURN QUERY
    WITH s AS (
      SELECT n.id, n.node_key::text AS key, n.node_type, n.last_seen_at, n.clock_offset_ms, n.schema_version,
             (SELECT max(r.completed_at) FROM sync_runs r WHERE r.node_id = n.id AND r.sync_type = 'push' AND r.status = 'success') AS push_at,
             (SELECT max(r.completed_at) FROM sync_runs r WHERE r.node_id = n.id AND r.sync_type = 'pull' AND r.status = 'success') AS pull_at,
             (SELECT r.error_message FROM sync_runs r WHERE r.node_id = n.id ORDER BY r.started_at DESC, r.created_at DESC LIMIT 1) AS last_err,
             (SELECT count(*) FROM sync.change_log l, sync.cursors k
               WHERE k.peer_node_id = n.id AND k.direction = 'pulled_by' AND l.origin_node_id <> n.id
                 AND (l.xid, l.position) > (k.last_xid, k.last_position)) AS inbound,
             (SELECT count(*) FROM sync.parked p WHERE (p.change ->> 'origin_node_id')::uuid = n.id) AS parked,
             (SELECT min(p.created_at) FROM sync.parked p WHERE (p.change ->> 'origin_node_id')::uuid = n.id) AS parked_since,
             (SELECT count(*) FROM sync_conflicts c WHERE (c.loser_node_id = n.id OR c.winner_node_id = n.id)
                 AND c.created_at > now() - interval '24 hours') AS conflicts,
             EXISTS (SELECT 1 FROM sync.parked p WHERE (p.change ->> 'origin_node_id')::uuid = n.id AND p.reason = 'clock_skew') AS skewed
        FROM nodes n
       WHERE n.node_type <> 'master' AND n.id IN (SELECT a.node_id FROM sync.node_auth a UNION SELECT k.peer_node_id FROM sync.cursors k)
          OR (n.node_type <> 'master' AND n.last_seen_at IS NOT NULL)
    )
    SELECT s.id, s.key, s.node_type, true, s.last_seen_at, s.push_at, s.pull_at, NULL::bigint, s.inbound, s.parked, s.conflicts,
           s.clock_offset_ms, s.schema_version, s.schema_version IS NOT DISTINCT FROM sync.schema_version(),
           s.last_err,
           sync.health(s.push_at IS NULL AND s.pull_at IS NULL,
                       s.schema_version IS DISTINCT FROM sync.schema_version() OR s.skewed
                       OR s.parked_since < now() - interval '1 hour'
                       OR (s.last_err IS NOT NULL AND NOT EXISTS (SELECT 1 FROM sync_runs r WHERE r.node_id = s.id AND r.status = 'success'
                                                                   AND r.completed_at >= (SELECT max(r2.started_at) FROM sync_runs r2 WHERE r2.node_id = s.id AND r2.status = 'error'))),
                       s.last_seen_at, s.pull_at, NULL, v_local.pull_interval_ms)
      FROM s ORDER BY s.key;
  ELSE
    RETURN QUERY
    WITH e AS (
      SELECT (SELECT max(x.finished_at) FROM sync.exchanges x) AS contact,
             (SELECT max(x.finished_at) FROM sync.exchanges x WHERE x.ok) AS ok_at,
             (SELECT x FROM sync.exchanges x ORDER BY x.id DESC LIMIT 1) AS last
    ), k AS (
      SELECT coalesce((SELECT c.last_xid FROM sync.cursors c WHERE c.direction = 'pushed'), 0) AS x,
             coalesce((SELECT c.last_position FROM sync.cursors c WHERE c.direction = 'pushed'), 0) AS p
    ), o AS (
      SELECT count(*) AS n, min(l.created_at) AS oldest FROM sync.change_log l, k
       WHERE l.origin_node_id = v_local.node_id AND (l.xid, l.position) > (k.x, k.p)
    )
    SELECT v_local.node_id, v_local.node_key, 'replica'::text, true, e.contact, e.ok_at, e.ok_at, o.n, NULL::bigint,
           (SELECT count(*) FROM sync.parked), 
           (SELECT count(*) FROM sync_conflicts c WHERE c.created_at > now() - interval '24 hours'),
           (e.last).clock_offset_ms, sync.schema_version(),
           CASE WHEN (e.last).hub_schema_version IS NULL THEN NULL ELSE (e.last).hub_schema_version = sync.schema_version() END,
           CASE WHEN (e.last).ok THEN NULL ELSE (e.last).error END,
           sync.health(e.ok_at IS NULL,
                       NOT coalesce((e.last).ok, true) OR EXISTS (SELECT 1 FROM sync.parked p WHERE p.reason = 'clock_skew')
                       OR EXISTS (SELECT 1 FROM sync.parked p WHERE p.created_at < now() - interval '1 hour'),
                       e.contact, e.ok_at, o.oldest, v_local.pull_interval_ms)
      FROM e, o;
  END IF;
END
$$;
COMMENT ON FUNCTION sync.node_status() IS 'Sync status per node (hub: every registered node; node: itself) with the health rule of SYNC.md §4.12';
REVOKE EXECUTE ON FUNCTION sync.node_status() FROM PUBLIC;

CREATE VIEW sync_node_status AS SELECT * FROM sync.node_status();
COMMENT ON VIEW sync_node_status IS 'Per node: last contact, push and pull, backlogs, parked, conflicts (24 h), clock offset, schema match, last error, health';
REVOKE ALL ON sync_node_status FROM PUBLIC;
