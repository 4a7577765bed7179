-- L8 — sync infrastructure (README 20): global replication state, read only by the sync service role.
-- sync_table_state, pending_sync, sync_conflicts, sync_runs, sync_metrics (all [global]); view sync_status;
-- pending_sync_mark_synced, cleanup_synced_records, get_sync_health_score, sync_runs duration trigger.
-- The private `sync` schema (change log, cursors, row versions, clock) belongs to SYNC.md's own migration.

CREATE TABLE sync_table_state (
  id                     uuid        NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  node_id                uuid        NOT NULL REFERENCES nodes (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  table_name             text        NOT NULL,
  sync_enabled           boolean     NOT NULL DEFAULT true,
  sync_direction         text        NOT NULL DEFAULT 'bidirectional'
                         CHECK (sync_direction IN ('bidirectional', 'pull_only', 'push_only', 'disabled')),
  conflict_resolution    text        NOT NULL DEFAULT 'newest_wins' CHECK (conflict_resolution IN ('newest_wins')),
  sync_interval_seconds  integer     NOT NULL DEFAULT 300,
  last_pull_at           timestamptz,
  last_push_at           timestamptz,
  last_sync_at           timestamptz,
  last_sync_record_count integer     NOT NULL DEFAULT 0,
  last_sync_duration_ms  integer,
  last_error             text,
  created_at             timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT sync_table_state_node_id_table_name_key UNIQUE (node_id, table_name)
);
COMMENT ON TABLE sync_table_state IS 'Sync configuration and last-sync state per node and public table';
COMMENT ON COLUMN sync_table_state.sync_direction IS 'From the local node''s point of view';
COMMENT ON COLUMN sync_table_state.last_sync_at IS 'Greatest of last_pull_at and last_push_at';

CREATE TABLE pending_sync (
  id            uuid         NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  node_id       uuid         NOT NULL REFERENCES nodes (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  table_name    varchar(255) NOT NULL,
  record_id     uuid         NOT NULL,
  operation     varchar(10)  NOT NULL CHECK (operation IN ('INSERT', 'UPDATE', 'DELETE', 'UPSERT')),
  data          jsonb        NOT NULL,
  priority      integer      NOT NULL DEFAULT 0,
  retry_count   integer      NOT NULL DEFAULT 0,
  last_retry_at timestamptz,
  error         text,
  synced_at     timestamptz,
  created_at    timestamptz  NOT NULL DEFAULT now(),
  updated_at    timestamptz  NOT NULL DEFAULT now()
);
COMMENT ON TABLE pending_sync IS 'Local writes waiting to be pushed to the master (synced_at NULL = pending)';
COMMENT ON COLUMN pending_sync.node_id IS 'Node that queued the write';
COMMENT ON COLUMN pending_sync.data IS 'Full row image (for DELETE: the last known image)';
COMMENT ON COLUMN pending_sync.priority IS 'Higher first';
COMMENT ON COLUMN pending_sync.error IS 'Last error; the row stays pending';

CREATE TABLE sync_conflicts (
  id                  uuid        NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  table_name          text        NOT NULL,
  record_id           uuid        NOT NULL,
  source_node_id      uuid        NOT NULL REFERENCES nodes (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  target_node_id      uuid        REFERENCES nodes (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  conflict_type       text        NOT NULL CHECK (conflict_type IN (
                        'concurrent_update', 'delete_update', 'update_delete', 'concurrent_delete',
                        'constraint_violation', 'data_type_mismatch', 'out_of_scope', 'clock_skew')),
  detected_on_node_id uuid        REFERENCES nodes (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  winner_node_id      uuid        REFERENCES nodes (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  winner_hlc          text,
  loser_node_id       uuid        REFERENCES nodes (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  loser_hlc           text,
  master_data         jsonb,
  replica_data        jsonb,
  resolution          text        CHECK (resolution IN ('newest_wins', 'master_wins', 'replica_wins', 'merged', 'manual', 'ignored')),
  resolved_data       jsonb,
  resolved_by         text,
  resolution_notes    text,
  resolved_at         timestamptz,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT sync_conflicts_table_name_record_id_loser_key
    UNIQUE NULLS NOT DISTINCT (table_name, record_id, loser_node_id, loser_hlc)
);
COMMENT ON TABLE sync_conflicts IS 'Every detected sync conflict and its resolution; the losing versions are the audit trail';
COMMENT ON COLUMN sync_conflicts.source_node_id IS 'Node whose write conflicted';
COMMENT ON COLUMN sync_conflicts.winner_hlc IS 'Version stamp (hybrid logical clock + node) of the winning write';
COMMENT ON COLUMN sync_conflicts.master_data IS 'Row image on the master (NULL if deleted)';
COMMENT ON COLUMN sync_conflicts.replica_data IS 'Row image on the replica (NULL if deleted)';
COMMENT ON COLUMN sync_conflicts.resolution IS 'NULL = unresolved; automatic resolutions record newest_wins';
COMMENT ON COLUMN sync_conflicts.resolved_by IS 'User id or sync-service';
COMMENT ON COLUMN sync_conflicts.created_at IS 'Detection time';

CREATE TABLE sync_runs (
  id                 uuid        NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  node_id            uuid        NOT NULL REFERENCES nodes (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  sync_type          text        NOT NULL CHECK (sync_type IN ('push', 'pull', 'full', 'incremental')),
  status             text        NOT NULL DEFAULT 'running'
                     CHECK (status IN ('pending', 'running', 'success', 'error', 'conflict', 'partial')),
  started_at         timestamptz NOT NULL DEFAULT now(),
  completed_at       timestamptz,
  duration_ms        integer,
  tables_synced      text[]      NOT NULL DEFAULT '{}',
  rows_inserted      integer     NOT NULL DEFAULT 0,
  rows_updated       integer     NOT NULL DEFAULT 0,
  rows_deleted       integer     NOT NULL DEFAULT 0,
  conflicts_detected integer     NOT NULL DEFAULT 0,
  error_message      text,
  metadata           jsonb       NOT NULL DEFAULT '{}',
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE sync_runs IS 'One row per sync run (exchange) of a node';
COMMENT ON COLUMN sync_runs.duration_ms IS 'Set by trigger sync_runs_set_duration when completed_at is set';

CREATE TABLE sync_metrics (
  id           uuid         NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  node_id      uuid         REFERENCES nodes (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  metric_name  varchar(100) NOT NULL,
  metric_value numeric      NOT NULL,
  metric_unit  varchar(50),
  created_at   timestamptz  NOT NULL DEFAULT now()
);
COMMENT ON TABLE sync_metrics IS 'Append-only sync metric samples (ms, count, bytes); retention 30 days';

-- ---------------------------------------------------------------------------------------------
-- Triggers and functions
-- ---------------------------------------------------------------------------------------------

-- A pending_sync row was pushed (synced_at NULL → value): record it on the (node, table) state.
CREATE FUNCTION pending_sync_mark_synced() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.synced_at IS NOT NULL OR NEW.synced_at IS NULL THEN
    RETURN NULL;
  END IF;
  INSERT INTO sync_table_state AS s (node_id, table_name, last_push_at, last_sync_at, last_sync_record_count)
  VALUES (NEW.node_id, NEW.table_name, NEW.synced_at, NEW.synced_at, 1)
  ON CONFLICT (node_id, table_name) DO UPDATE
     SET last_push_at = greatest(s.last_push_at, EXCLUDED.last_push_at),
         last_sync_at = greatest(s.last_sync_at, s.last_pull_at, EXCLUDED.last_push_at),
         last_sync_record_count = s.last_sync_record_count + 1,
         updated_at = now();
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION pending_sync_mark_synced() IS
  'AFTER UPDATE OF synced_at on pending_sync (NULL → value): upserts sync_table_state last_push_at, last_sync_at, count + 1';

CREATE TRIGGER pending_sync_mark_synced
  AFTER UPDATE OF synced_at ON pending_sync
  FOR EACH ROW
  WHEN (OLD.synced_at IS NULL AND NEW.synced_at IS NOT NULL)
  EXECUTE FUNCTION pending_sync_mark_synced();

-- duration_ms = completed_at − started_at, whenever completed_at is set or changed.
CREATE FUNCTION sync_runs_set_duration() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.completed_at IS NULL THEN
    RETURN NEW;
  END IF;
  IF TG_OP = 'INSERT' OR NEW.duration_ms IS NULL
     OR NEW.completed_at IS DISTINCT FROM OLD.completed_at
     OR NEW.started_at IS DISTINCT FROM OLD.started_at THEN
    NEW.duration_ms := greatest(0, round(extract(epoch FROM NEW.completed_at - NEW.started_at) * 1000))::integer;
  END IF;
  RETURN NEW;
END
$$;
COMMENT ON FUNCTION sync_runs_set_duration() IS 'BEFORE INSERT/UPDATE on sync_runs: duration_ms from started_at and completed_at';

CREATE TRIGGER sync_runs_set_duration
  BEFORE INSERT OR UPDATE ON sync_runs
  FOR EACH ROW EXECUTE FUNCTION sync_runs_set_duration();

-- Deletes pending_sync rows synced more than p_days ago; returns how many.
CREATE FUNCTION cleanup_synced_records(p_days integer DEFAULT 7) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  v_count integer;
BEGIN
  DELETE FROM pending_sync
   WHERE synced_at IS NOT NULL
     AND synced_at < now() - make_interval(days => p_days);
  GET DIAGNOSTICS v_count = ROW_COUNT;
  RETURN v_count;
END
$$;
COMMENT ON FUNCTION cleanup_synced_records(integer) IS 'Deletes pending_sync rows synced more than p_days (default 7) ago; returns the count';

-- 100 − min(30, unsynced rows) − min(40, 2 × errored unsynced rows) − min(30, 10 × offline
-- non-master nodes), floored at 0.
CREATE FUNCTION get_sync_health_score() RETURNS integer
LANGUAGE sql STABLE AS $$
  SELECT greatest(0,
           100
           - least(30, (SELECT count(*) FROM pending_sync WHERE synced_at IS NULL))
           - least(40, 2 * (SELECT count(*) FROM pending_sync WHERE synced_at IS NULL AND error IS NOT NULL))
           - least(30, 10 * (SELECT count(*) FROM nodes WHERE node_type <> 'master' AND NOT is_online))
         )::integer
$$;
COMMENT ON FUNCTION get_sync_health_score() IS
  'Sync health 0–100: penalties for unsynced rows, errored unsynced rows and offline non-master nodes';

-- ---------------------------------------------------------------------------------------------
-- sync_status: one row per (node, table) found in sync_table_state, unsynced pending_sync rows or
-- sync_conflicts (by source node).
-- ---------------------------------------------------------------------------------------------
CREATE VIEW sync_status WITH (security_invoker = true) AS
WITH pending AS (
  SELECT node_id,
         table_name::text AS table_name,
         count(*) FILTER (WHERE error IS NULL)     AS pending_count,
         count(*) FILTER (WHERE error IS NOT NULL) AS failed_count,
         min(created_at)                           AS oldest_pending_at
    FROM pending_sync
   WHERE synced_at IS NULL
   GROUP BY node_id, table_name
), conflicts AS (
  SELECT source_node_id AS node_id,
         table_name,
         count(*) FILTER (WHERE resolved_at IS NULL) AS unresolved_conflicts,
         max(created_at)                             AS last_conflict_at
    FROM sync_conflicts
   GROUP BY source_node_id, table_name
), pairs AS (
  SELECT node_id, table_name FROM sync_table_state
  UNION
  SELECT node_id, table_name FROM pending
  UNION
  SELECT node_id, table_name FROM conflicts
)
SELECT k.node_id,
       n.node_key,
       n.node_type,
       n.is_online                           AS node_is_online,
       k.table_name,
       coalesce(s.sync_enabled, true)        AS sync_enabled,
       s.sync_direction,
       s.conflict_resolution,
       s.last_sync_at,
       s.last_pull_at,
       s.last_push_at,
       s.last_sync_record_count,
       s.last_error,
       coalesce(p.pending_count, 0)          AS pending_count,
       coalesce(p.failed_count, 0)           AS failed_count,
       p.oldest_pending_at,
       coalesce(c.unresolved_conflicts, 0)   AS unresolved_conflicts,
       c.last_conflict_at
  FROM pairs k
  JOIN nodes n ON n.id = k.node_id
  LEFT JOIN sync_table_state s ON s.node_id = k.node_id AND s.table_name = k.table_name
  LEFT JOIN pending p ON p.node_id = k.node_id AND p.table_name = k.table_name
  LEFT JOIN conflicts c ON c.node_id = k.node_id AND c.table_name = k.table_name;
COMMENT ON VIEW sync_status IS 'Per node × table: sync settings, last sync, pending/failed queue rows, unresolved conflicts';
