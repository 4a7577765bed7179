-- L41 — the master's overview (issue: one view of every node's sync health, lag, backlog,
-- conflicts and last deploy per app), behind `robbieverse sync overview` and GET /api/sync/overview.
-- * sync.overview(): one JSON document. Per node: the sync_node_status columns, the lag, and per
--   app (enabled in its branding, or with deploy history) its last finished deploy and the one in
--   progress. On the hub: every node of sync_node_status plus every node with branding or deploys
--   that has not joined (the hub builds those itself, and its own row when it has any); on a node:
--   itself; on a database that does not sync: every node with branding or deploys, health null.
-- * Lag, in ms: the larger of (a) the age of the oldest change waiting to cross between the two
--   (hub: its change-log entries after the node's acknowledged pull cursor, the inbound backlog;
--   node: its own changes the hub has not acknowledged, the outbound backlog) and (b) the time
--   since the last contact (hub: the node's last call; node: its last successful exchange). With no
--   backlog it is the time since the last contact: how old the newest news of the other side is.
--   Null when there was never a contact and nothing waits.
-- * attention: a node is unhealthy (error, offline) or the last finished deploy of an enabled
--   app failed. The command exits 1 on it.
-- * app_sync_overview(): the same for a platform operator inside an API request.

-- Deploy history grows with every build; the last finished deploy of a pair is one index probe.
CREATE INDEX robbieblocks_deploys_last_idx ON robbieblocks_deploys (node_id, app_namespace, (coalesce(completed_at, created_at)) DESC)
  WHERE deploy_status IN ('success', 'failed', 'skipped');

-- Timestamps in the document are UTC ISO 8601 with milliseconds, whatever the session's TimeZone.
CREATE FUNCTION sync.utc_text(p timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT to_char(p AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;
COMMENT ON FUNCTION sync.utc_text(timestamptz) IS 'A timestamp as UTC ISO 8601 text with milliseconds (2026-03-02T09:15:00.000Z)';

CREATE FUNCTION sync.overview() RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_local  sync.local;
  v_px     bigint;
  v_pp     bigint;
  v_nodes  jsonb;
BEGIN
  SELECT * INTO v_local FROM sync.local;
  -- A node: the hub's last acknowledged push cursor (its own changes after it are waiting).
  SELECT k.last_xid, k.last_position INTO v_px, v_pp FROM sync.cursors k WHERE k.direction = 'pushed';
  v_px := coalesce(v_px, 0);
  v_pp := coalesce(v_pp, 0);

  WITH st AS MATERIALIZED (
    SELECT * FROM sync.node_status()
  ), listed AS (
    SELECT s.node_id AS id FROM st s
    UNION
    SELECT b.node_id FROM robbieblocks_node_branding b WHERE v_local.role IS DISTINCT FROM 'node'
    UNION
    SELECT d.node_id FROM robbieblocks_deploys d WHERE v_local.role IS DISTINCT FROM 'node'
  ), per_node AS (
    SELECT coalesce(s.node_key, n.node_key::text) AS key,
           jsonb_build_object(
             'node_id', l.id,
             'node_key', coalesce(s.node_key, n.node_key::text),
             'node_type', coalesce(s.node_type, n.node_type),
             'sync', CASE WHEN v_local.role IS NULL THEN 'standalone'
                          WHEN s.node_id IS NOT NULL THEN 'joined'
                          WHEN l.id = v_local.node_id THEN 'master'
                          ELSE 'not_joined' END,
             'health', s.health,
             'lag_ms', CASE WHEN s.node_id IS NULL THEN NULL
                            ELSE (extract(epoch FROM now() - least(w.oldest, CASE WHEN v_local.role = 'hub' THEN s.last_contact_at ELSE s.last_pull_at END)) * 1000)::bigint END,
             'oldest_waiting_at', sync.utc_text(w.oldest),
             'last_contact_at', sync.utc_text(s.last_contact_at),
             'last_push_at', sync.utc_text(s.last_push_at),
             'last_pull_at', sync.utc_text(s.last_pull_at),
             'outbound_backlog', s.outbound_backlog,
             'inbound_backlog', s.inbound_backlog,
             'parked', s.parked,
             'conflicts_24h', s.conflicts_24h,
             'clock_offset_ms', s.clock_offset_ms,
             'schema_match', s.schema_match,
             'last_error', s.last_error,
             'attention', coalesce(s.health IN ('error', 'offline'), false) OR a.failed,
             'apps', a.list) AS j
      FROM listed l
      LEFT JOIN st s ON s.node_id = l.id
      LEFT JOIN nodes n ON n.id = l.id
      LEFT JOIN LATERAL (
        SELECT CASE
                 WHEN s.node_id IS NULL THEN NULL
                 WHEN v_local.role = 'hub' THEN
                   (SELECT min(c.created_at) FROM sync.change_log c, sync.cursors k
                     WHERE k.peer_node_id = l.id AND k.direction = 'pulled_by' AND c.origin_node_id <> l.id
                       AND (c.xid, c.position) > (k.last_xid, k.last_position))
                 ELSE
                   (SELECT min(c.created_at) FROM sync.change_log c
                     WHERE c.origin_node_id = v_local.node_id AND (c.xid, c.position) > (v_px, v_pp))
               END AS oldest
      ) w ON true
      LEFT JOIN LATERAL (
        SELECT coalesce(jsonb_agg(jsonb_build_object(
                 'app', p.app,
                 'enabled', p.enabled,
                 'last_deploy', ld.j,
                 'in_progress', ip.j) ORDER BY p.app), '[]') AS list,
               coalesce(bool_or(p.enabled AND ld.status = 'failed'), false) AS failed
          FROM (SELECT x.app, bool_or(x.enabled) AS enabled
                  FROM (SELECT unnest(b.enabled_apps)::text AS app, true AS enabled FROM robbieblocks_node_branding b WHERE b.node_id = l.id
                        UNION ALL
                        SELECT DISTINCT d.app_namespace::text, false FROM robbieblocks_deploys d WHERE d.node_id = l.id) x
                 GROUP BY x.app) p
          LEFT JOIN LATERAL (
            SELECT d.deploy_status AS status,
                   jsonb_build_object(
                     'id', d.id,
                     'status', d.deploy_status,
                     'triggered_by', d.triggered_by,
                     'started_at', sync.utc_text(d.started_at),
                     'completed_at', sync.utc_text(d.completed_at),
                     'duration_ms', CASE WHEN d.started_at IS NOT NULL AND d.completed_at IS NOT NULL
                                         THEN (extract(epoch FROM d.completed_at - d.started_at) * 1000)::bigint
                                         WHEN d.build_duration_ms IS NOT NULL OR d.deploy_duration_ms IS NOT NULL
                                         THEN coalesce(d.build_duration_ms, 0) + coalesce(d.deploy_duration_ms, 0) END,
                     'release_id', d.release_id,
                     'build_hash', d.build_hash,
                     'error_message', d.error_message) AS j
              FROM robbieblocks_deploys d
             WHERE d.node_id = l.id AND d.app_namespace = p.app AND d.deploy_status IN ('success', 'failed', 'skipped')
             ORDER BY coalesce(d.completed_at, d.created_at) DESC, d.id DESC
             LIMIT 1
          ) ld ON true
          LEFT JOIN LATERAL (
            SELECT jsonb_build_object('id', d.id, 'status', d.deploy_status, 'triggered_by', d.triggered_by,
                                      'queued_at', sync.utc_text(d.created_at), 'started_at', sync.utc_text(d.started_at)) AS j
              FROM robbieblocks_deploys d
             WHERE d.node_id = l.id AND d.app_namespace = p.app AND d.deploy_status IN ('pending', 'building', 'deploying')
             ORDER BY d.created_at DESC
             LIMIT 1
          ) ip ON true
      ) a ON true
  )
  SELECT coalesce(jsonb_agg(r.j ORDER BY r.key), '[]') INTO v_nodes FROM per_node r;

  RETURN jsonb_build_object(
    'role', v_local.role,
    'node_key', v_local.node_key,
    'generated_at', sync.utc_text(now()),
    'attention', EXISTS (SELECT 1 FROM jsonb_array_elements(v_nodes) e WHERE (e ->> 'attention')::boolean),
    'nodes', v_nodes);
END
$$;
COMMENT ON FUNCTION sync.overview() IS
  'Per node: sync health, lag, backlog, parked, conflicts (24 h) and the last deploy per app (hub: every node; node: itself; standalone: nodes with branding or deploys); attention when a node is in error or offline or an enabled app''s last deploy failed';
REVOKE EXECUTE ON FUNCTION sync.overview() FROM PUBLIC;

-- Inside an API request (as robbie_app, after api_authenticate); covers every organization's
-- network, so only a platform operator (as app_sync_status).
CREATE FUNCTION app_sync_overview() RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF NOT app_is_platform_operator() THEN
    RAISE EXCEPTION 'the sync overview is for platform operators' USING ERRCODE = 'insufficient_privilege',
      HINT = 'an operator grants it with `robbieverse operators add --email <you>`';
  END IF;
  RETURN sync.overview();
END
$$;
COMMENT ON FUNCTION app_sync_overview() IS 'sync.overview() for a platform operator inside an API request';
REVOKE EXECUTE ON FUNCTION app_sync_overview() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app_sync_overview() TO robbie_app;
