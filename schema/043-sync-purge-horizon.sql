-- L43 — log retention reads the same horizon as the exchange (SYNC.md §4.9): sync.purge kept
-- change-log entries of transactions below pg_snapshot_xmin, which is server-wide, so one long
-- transaction in any other database of the server (a report, a held session) stopped every purge
-- on the master. It now uses sync.read_horizon(), the oldest transaction of this database still in
-- progress, which the readers use already. Only that line differs from 033's definition.

CREATE OR REPLACE FUNCTION sync.purge(p_retention interval DEFAULT interval '30 days', p_node_grace interval DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  v_local   sync.local;
  v_cutoff  timestamptz;
  v_xmin    bigint := sync.read_horizon();
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
