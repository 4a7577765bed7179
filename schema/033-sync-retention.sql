-- L33 — sync log retention and re-seed (SYNC.md §4.5, §4.7) and the status behind
-- GET /api/sync/status (§4.12).
-- * sync.purge(retention): on the hub, deletes change-log rows every node has pulled past and that
--   are older than the retention, and tombstones older than the retention whose log rows are gone;
--   on a node, its own changes the hub has acknowledged and that are older than the retention.
--   The highest log key deleted is kept in sync.horizon.
-- * sync.pull refuses a cursor that lies before the hub's horizon ({refused: 'reseed_required'}):
--   such a node would miss deleted changes; it pushes what it has and re-seeds from a snapshot.
-- * row_versions.changed_at: when this database last wrote the version (a trigger stamps it, so
--   capture, apply and seeding need no change).
-- * app_sync_status(): the per-node status for platform operators, callable inside an API request.

ALTER TABLE sync.row_versions ADD COLUMN changed_at timestamptz NOT NULL DEFAULT now();
COMMENT ON COLUMN sync.row_versions.changed_at IS 'When this database last wrote this version (tombstones older than the retention are purged)';
CREATE INDEX row_versions_tombstone_idx ON sync.row_versions (changed_at) WHERE deleted;

CREATE FUNCTION sync.stamp_row_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.changed_at := now();
  RETURN NEW;
END
$$;
CREATE TRIGGER row_versions_changed_at BEFORE INSERT OR UPDATE ON sync.row_versions
  FOR EACH ROW EXECUTE FUNCTION sync.stamp_row_version();

CREATE TABLE sync.horizon (
  singleton         boolean     NOT NULL DEFAULT true PRIMARY KEY CHECK (singleton),
  last_xid          bigint      NOT NULL,
  last_position     bigint      NOT NULL,
  purged_at         timestamptz NOT NULL DEFAULT now(),
  log_rows_purged   bigint      NOT NULL DEFAULT 0,
  tombstones_purged bigint      NOT NULL DEFAULT 0
);
COMMENT ON TABLE sync.horizon IS 'Highest change-log key (xid, position) purged here, when, and totals; a pull cursor before it must re-seed';

-- Nodes registered on this hub (sync join), whether or not they have signed in or pulled yet:
-- each holds the log back until its first pull. register_node keeps 031's body (renamed) and
-- records the registration.
CREATE TABLE sync.registrations (
  node_id       uuid        NOT NULL PRIMARY KEY,
  registered_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE sync.registrations IS 'Hub: nodes registered by sync join (a node that never pulled holds the whole log)';
INSERT INTO sync.registrations (node_id)
SELECT node_id FROM sync.node_auth
UNION SELECT peer_node_id FROM sync.cursors WHERE direction = 'pulled_by'
UNION SELECT origin_node_id FROM sync.origin_marks
ON CONFLICT DO NOTHING;

ALTER FUNCTION sync.register_node(text, uuid[], text) RENAME TO register_node_unrecorded;
CREATE FUNCTION sync.register_node(p_node_key text, p_org_scope uuid[], p_role text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  r jsonb := sync.register_node_unrecorded(p_node_key, p_org_scope, p_role);
BEGIN
  INSERT INTO sync.registrations (node_id) VALUES ((r ->> 'node_id')::uuid) ON CONFLICT DO NOTHING;
  RETURN r;
END
$$;
COMMENT ON FUNCTION sync.register_node(text, uuid[], text) IS 'Hub: registers a node (key, org scope, sign-in role); makes this database the hub if needed';
REVOKE EXECUTE ON FUNCTION sync.register_node(text, uuid[], text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION sync.register_node_unrecorded(text, uuid[], text) FROM PUBLIC;

-- Purges what no node needs any more; returns counts. p_node_grace: a node whose last pull (or,
-- never having pulled, its last contact or registration) is older than this stops holding the
-- hub's log back (it will have to re-seed); NULL = every registered node holds it.
CREATE FUNCTION sync.purge(p_retention interval DEFAULT interval '30 days', p_node_grace interval DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  v_local   sync.local;
  v_cutoff  timestamptz;
  v_xmin    bigint := pg_snapshot_xmin(pg_current_snapshot())::text::bigint;
  v_max_xid bigint;
  v_max_pos bigint;
  v_held    jsonb := '[]';
  v_log     bigint := 0;
  v_tomb    bigint := 0;
  v_hx      bigint;
  v_hp      bigint;
  v_stale   jsonb := '[]';
BEGIN
  IF p_retention IS NULL OR p_retention < interval '0' THEN
    RAISE EXCEPTION 'retention must be zero or more' USING ERRCODE = 'invalid_parameter_value',
      HINT = 'e.g. sync.purge(interval ''30 days'')';
  END IF;
  IF p_node_grace < interval '0' THEN
    RAISE EXCEPTION 'node grace must be zero or more' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT * INTO v_local FROM sync.local;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'this database does not sync (not a master, not joined): there is no sync log to purge'
      USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'run it on the master (--url MASTER) or on a node that joined one';
  END IF;
  v_cutoff := now() - p_retention;

  IF v_local.role = 'hub' THEN
    -- Registered nodes (sync join, or a sign-in role, a pull cursor or a push mark here). Each
    -- holds the log back to its pull cursor; one that never pulled holds all of it.
    CREATE TEMP TABLE sync_purge_nodes ON COMMIT DROP AS
    SELECT r.id, n.node_key::text AS node_key, k.last_xid, k.last_position,
           coalesce(k.updated_at, n.last_seen_at, g.registered_at) AS active_at
      FROM (SELECT node_id AS id FROM sync.registrations
            UNION SELECT node_id FROM sync.node_auth
            UNION SELECT peer_node_id FROM sync.cursors WHERE direction = 'pulled_by'
            UNION SELECT origin_node_id FROM sync.origin_marks) r
      LEFT JOIN nodes n ON n.id = r.id
      LEFT JOIN sync.registrations g ON g.node_id = r.id
      LEFT JOIN sync.cursors k ON k.peer_node_id = r.id AND k.direction = 'pulled_by'
     WHERE r.id <> v_local.node_id;
    IF p_node_grace IS NOT NULL THEN
      SELECT coalesce(jsonb_agg(node_key ORDER BY node_key), '[]') INTO v_stale
        FROM sync_purge_nodes WHERE active_at IS NULL OR active_at < now() - p_node_grace;
      DELETE FROM sync_purge_nodes WHERE active_at IS NULL OR active_at < now() - p_node_grace;
    END IF;
    IF EXISTS (SELECT 1 FROM sync_purge_nodes WHERE last_xid IS NULL) THEN
      v_max_xid := NULL;
      SELECT jsonb_agg(node_key ORDER BY node_key) INTO v_held FROM sync_purge_nodes WHERE last_xid IS NULL;
    ELSE
      SELECT last_xid, last_position INTO v_max_xid, v_max_pos FROM sync_purge_nodes ORDER BY last_xid, last_position LIMIT 1;
      IF FOUND THEN
        SELECT coalesce(jsonb_agg(node_key ORDER BY node_key), '[]') INTO v_held
          FROM sync_purge_nodes WHERE (last_xid, last_position) = (v_max_xid, v_max_pos);
      ELSE
        -- No node at all: a node that joins later seeds from a snapshot.
        v_max_xid := 9223372036854775807;
        v_max_pos := 9223372036854775807;
      END IF;
    END IF;
    DROP TABLE sync_purge_nodes;
    IF v_max_xid IS NOT NULL THEN
      -- Never past the snapshot horizon: a node that joins later starts there.
      WITH d AS (
        DELETE FROM sync.change_log l
         WHERE (l.xid, l.position) <= (v_max_xid, v_max_pos) AND l.xid < v_xmin AND l.created_at < v_cutoff
        RETURNING l.xid, l.position
      )
      SELECT (SELECT count(*) FROM d), x.xid, x.position INTO v_log, v_hx, v_hp
        FROM (SELECT 1) one LEFT JOIN LATERAL (SELECT xid, position FROM d ORDER BY xid DESC, position DESC LIMIT 1) x ON true;
    END IF;
  ELSE
    -- A node logs its own changes: those the hub acknowledged may go (and any other row).
    WITH d AS (
      DELETE FROM sync.change_log l
       WHERE l.created_at < v_cutoff
         AND (l.origin_node_id <> v_local.node_id
              OR EXISTS (SELECT 1 FROM sync.cursors k
                          WHERE k.peer_node_id = v_local.hub_node_id AND k.direction = 'pushed'
                            AND (l.xid, l.position) <= (k.last_xid, k.last_position)))
      RETURNING l.xid, l.position
    )
    SELECT (SELECT count(*) FROM d), x.xid, x.position INTO v_log, v_hx, v_hp
      FROM (SELECT 1) one LEFT JOIN LATERAL (SELECT xid, position FROM d ORDER BY xid DESC, position DESC LIMIT 1) x ON true;
  END IF;

  -- Tombstones stop older updates from resurrecting a row; one goes only when no log row of
  -- that record is left (every node has the delete) and it is older than the retention.
  WITH d AS (
    DELETE FROM sync.row_versions v
     WHERE v.deleted AND v.changed_at < v_cutoff
       AND NOT EXISTS (SELECT 1 FROM sync.change_log l WHERE l.table_name = v.table_name AND l.record_id = v.record_id)
    RETURNING 1
  )
  SELECT count(*) INTO v_tomb FROM d;

  IF v_hx IS NOT NULL OR v_tomb > 0 THEN
    INSERT INTO sync.horizon AS h (last_xid, last_position, log_rows_purged, tombstones_purged)
    VALUES (coalesce(v_hx, 0), coalesce(v_hp, 0), v_log, v_tomb)
    ON CONFLICT (singleton) DO UPDATE
       SET last_xid = CASE WHEN (EXCLUDED.last_xid, EXCLUDED.last_position) > (h.last_xid, h.last_position) THEN EXCLUDED.last_xid ELSE h.last_xid END,
           last_position = CASE WHEN (EXCLUDED.last_xid, EXCLUDED.last_position) > (h.last_xid, h.last_position) THEN EXCLUDED.last_position ELSE h.last_position END,
           purged_at = now(),
           log_rows_purged = h.log_rows_purged + EXCLUDED.log_rows_purged,
           tombstones_purged = h.tombstones_purged + EXCLUDED.tombstones_purged;
  END IF;
  SELECT last_xid, last_position INTO v_hx, v_hp FROM sync.horizon;
  RETURN jsonb_build_object(
    'role', v_local.role,
    'log_rows', v_log,
    'tombstones', v_tomb,
    'held_by', v_held,
    'released', v_stale,
    'horizon', CASE WHEN v_hx IS NULL THEN NULL ELSE jsonb_build_object('xid', v_hx, 'position', v_hp) END);
END
$$;
COMMENT ON FUNCTION sync.purge(interval, interval) IS
  'Deletes change-log rows no node needs (hub: every node pulled past them; node: the hub acknowledged them) and old tombstones, older than the retention; records the horizon';

-- The exchange's pull, with the horizon check in front. The body of 031's pull is kept as it is
-- (renamed), so node roles keep calling sync.pull.
ALTER FUNCTION sync.pull(text, text, bigint, bigint, integer) RENAME TO pull_after_horizon_check;
COMMENT ON FUNCTION sync.pull_after_horizon_check(text, text, bigint, bigint, integer) IS
  'Hub: changes after the node''s cursor for that node (scope, no echo, snapshot horizon); called by sync.pull once the cursor is known to lie at or after the purge horizon';

CREATE FUNCTION sync.pull(p_node_key text, p_schema_version text, p_after_xid bigint, p_after_position bigint, p_limit integer)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  n        nodes := sync.authenticate(p_node_key);
  h        sync.horizon;
  v_detail text;
BEGIN
  SELECT * INTO h FROM sync.horizon;
  IF FOUND AND (p_after_xid, p_after_position) < (h.last_xid, h.last_position) THEN
    v_detail := format('the cursor (%s, %s) lies before the hub''s purge horizon (%s, %s, purged %s): changes after it are gone',
                       p_after_xid, p_after_position, h.last_xid, h.last_position, to_char(h.purged_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"'));
    INSERT INTO sync.rejections (node_id, node_key, reason, detail, changes) VALUES (n.id, n.node_key, 'reseed_required', v_detail, 0);
    INSERT INTO sync_runs (node_id, sync_type, status, completed_at, error_message, metadata)
    VALUES (n.id, 'pull', 'error', now(), 'reseed_required: ' || v_detail, jsonb_build_object('refused', 'reseed_required'));
    UPDATE nodes SET last_seen_at = now(), is_online = true WHERE id = n.id;
    RETURN jsonb_build_object('refused', 'reseed_required', 'detail', v_detail);
  END IF;
  RETURN sync.pull_after_horizon_check(p_node_key, p_schema_version, p_after_xid, p_after_position, p_limit);
END
$$;
COMMENT ON FUNCTION sync.pull(text, text, bigint, bigint, integer) IS
  'Hub: changes after the node''s cursor for that node; refuses a cursor before the purge horizon (reseed_required); acknowledges the cursor sent';
REVOKE EXECUTE ON FUNCTION sync.pull(text, text, bigint, bigint, integer) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION sync.pull_after_horizon_check(text, text, bigint, bigint, integer) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION sync.purge(interval, interval) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION sync.stamp_row_version() FROM PUBLIC;

-- Node roles made before this migration were granted the old function (now renamed): they get
-- the new sync.pull instead.
DO $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT a.role_name FROM sync.node_auth a JOIN pg_roles g ON g.rolname = a.role_name LOOP
    EXECUTE format('GRANT EXECUTE ON FUNCTION sync.pull(text, text, bigint, bigint, integer) TO %I', r.role_name);
    EXECUTE format('REVOKE EXECUTE ON FUNCTION sync.pull_after_horizon_check(text, text, bigint, bigint, integer) FROM %I', r.role_name);
  END LOOP;
END
$$;

-- Inside an API request (as robbie_app, after api_authenticate): the sync status of this
-- database for a platform operator. The network serves every organization, so an
-- organization's owner or admin is not enough.
CREATE FUNCTION app_sync_status() RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF NOT app_is_platform_operator() THEN
    RAISE EXCEPTION 'sync status is for platform operators' USING ERRCODE = 'insufficient_privilege',
      HINT = 'an operator grants it with `robbieverse operators add --email <you>`';
  END IF;
  RETURN jsonb_build_object(
    'role', (SELECT role FROM sync.local),
    'node_key', (SELECT node_key FROM sync.local),
    'nodes', coalesce((SELECT jsonb_agg(to_jsonb(s) ORDER BY s.node_key) FROM sync.node_status() s), '[]'));
END
$$;
COMMENT ON FUNCTION app_sync_status() IS 'Sync status (role, node key, sync_node_status rows) for a platform operator inside an API request';
REVOKE EXECUTE ON FUNCTION app_sync_status() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app_sync_status() TO robbie_app;
