-- L31 — node sync engine (SYNC.md §4): the private `sync` schema, the hybrid logical clock, change
-- capture, last-writer-wins apply with the audit trail, and the exchange functions a node calls on
-- the hub.
-- * Nothing here is active until the database takes part in a sync network: `sync.become_hub()`
--   (on the master) or `sync.become_node()` (on a local, called by `robbieverse sync join`) record
--   this database's identity in sync.local and attach the capture triggers to the tables listed in
--   sync.tables. A standalone database pays nothing.
-- * The hub is plain PostgreSQL: nodes connect to it and call the SECURITY DEFINER functions
--   sync.hello / sync.push / sync.push_cursor / sync.pull / sync.snapshot_*; a per-node role may
--   execute those and nothing else.
-- * Version stamps: hlc bigint = physical milliseconds × 65536 + counter; ties broken by the node
--   id, so (hlc, node_id) is one total order every node agrees on. Text form: 16 hex digits.

-- Reference rows seeded by 027 got random ids, so every database had its own ids for the same
-- node, town, personality, embedding model and deal stage, and a row synced from another database
-- would point at ids that do not exist here. Their ids become a function of their natural key
-- (a version-8 UUID from an MD5 of table and key), the same in every database; references follow
-- (the foreign keys are deferrable, so they are checked at commit).
CREATE FUNCTION public.reference_uuid(p_table text, p_key text) RETURNS uuid
LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT overlay(overlay(md5(p_table || ':' || p_key) placing '8' from 13) placing 'a' from 17)::uuid
$$;
COMMENT ON FUNCTION public.reference_uuid(text, text) IS 'The id of a reference row (node, town, personality, embedding model, deal stage) from its natural key: the same in every database';

SET CONSTRAINTS ALL DEFERRED;
DO $$
DECLARE
  r record;
  k record;
  v_child_col text;
BEGIN
  FOR r IN SELECT * FROM (VALUES ('nodes', 'node_key'), ('towns', 'org_id::text || '':'' || slug'),
                                 ('ai_personalities', 'slug'), ('embedding_models', 'model_key'),
                                 ('deal_stages', 'code')) v(tbl, natural_key)
            WHERE to_regclass('public.' || v.tbl) IS NOT NULL LOOP
    EXECUTE format($q$CREATE TEMP TABLE sync_id_map ON COMMIT DROP AS
                      SELECT id AS old_id,
                             public.reference_uuid(%L, (%s)) AS new_id
                        FROM public.%I$q$, r.tbl, r.natural_key, r.tbl);
    DELETE FROM sync_id_map WHERE old_id = new_id;
    FOR k IN SELECT c.conrelid::regclass AS child, c.conkey, c.confkey
               FROM pg_constraint c
              WHERE c.contype = 'f' AND c.confrelid = to_regclass('public.' || r.tbl) LOOP
      SELECT a.attname INTO v_child_col
        FROM generate_subscripts(k.confkey, 1) i
        JOIN pg_attribute pa ON pa.attrelid = to_regclass('public.' || r.tbl) AND pa.attnum = k.confkey[i] AND pa.attname = 'id'
        JOIN pg_attribute a ON a.attrelid = k.child AND a.attnum = k.conkey[i];
      IF v_child_col IS NOT NULL THEN
        EXECUTE format('UPDATE %s c SET %I = m.new_id FROM sync_id_map m WHERE c.%I = m.old_id', k.child, v_child_col, v_child_col);
      END IF;
    END LOOP;
    EXECUTE format('UPDATE public.%I t SET id = m.new_id FROM sync_id_map m WHERE t.id = m.old_id', r.tbl);
    DROP TABLE sync_id_map;
  END LOOP;
END
$$;
SET CONSTRAINTS ALL IMMEDIATE;

CREATE SCHEMA sync;
REVOKE ALL ON SCHEMA sync FROM PUBLIC;
COMMENT ON SCHEMA sync IS 'Node sync internals (change log, versions, cursors, clock); read by the sync service only';

-- Which tables sync and how (SYNC.md §4.10). Directions from a local node's point of view.
CREATE TABLE sync.tables (
  table_name text    NOT NULL PRIMARY KEY,
  direction  text    NOT NULL CHECK (direction IN ('bidirectional', 'pull_only', 'push_only')),
  scope      text    NOT NULL CHECK (scope IN ('org', 'global', 'users')),
  rank       integer NOT NULL DEFAULT 0,
  enabled    boolean NOT NULL DEFAULT true
);
COMMENT ON TABLE sync.tables IS 'Synced tables: direction (bidirectional, pull_only = hub → local, push_only = local → hub), routing scope, FK rank (parents first)';

INSERT INTO sync.tables (table_name, direction, scope) VALUES
  ('organizations', 'pull_only', 'global'),
  ('towns', 'pull_only', 'org'),
  ('ai_personalities', 'pull_only', 'global'),
  ('embedding_models', 'pull_only', 'global'),
  ('users', 'pull_only', 'users'),
  ('organization_memberships', 'pull_only', 'org'),
  ('conversations', 'bidirectional', 'org'),
  ('messages', 'bidirectional', 'org'),
  ('sticky_notes', 'bidirectional', 'org'),
  ('knowledge_base', 'bidirectional', 'org'),
  ('vector_embeddings', 'bidirectional', 'org'),
  ('companies', 'bidirectional', 'org'),
  ('contacts', 'bidirectional', 'org'),
  ('deals', 'bidirectional', 'org'),
  ('deal_stages', 'bidirectional', 'global'),
  ('deal_activities', 'bidirectional', 'org'),
  ('tasks', 'bidirectional', 'org'),
  ('calendar_events', 'bidirectional', 'org'),
  ('meeting_health', 'bidirectional', 'org'),
  ('focus_blocks', 'bidirectional', 'org'),
  ('touch_ready_queue', 'bidirectional', 'org'),
  ('email_tracking', 'bidirectional', 'org'),
  ('slack_messages', 'bidirectional', 'org'),
  ('communication_fatigue', 'bidirectional', 'org'),
  ('personality_settings', 'bidirectional', 'global'),
  ('mentors', 'bidirectional', 'org'),
  ('ai_model_usage', 'push_only', 'org'),
  ('system_logs', 'push_only', 'global'),
  ('audit_log', 'push_only', 'org'),
  ('sync_conflicts', 'push_only', 'global'),
  ('ai_costs', 'pull_only', 'org'),
  ('revenue_metrics', 'pull_only', 'org'),
  ('capacity_heatmap', 'pull_only', 'org'),
  ('team_workload', 'pull_only', 'org'),
  ('deal_risk_analysis', 'pull_only', 'org'),
  ('robbieblocks_pages', 'pull_only', 'global'),
  ('robbieblocks_components', 'pull_only', 'global'),
  ('robbieblocks_page_blocks', 'pull_only', 'global'),
  ('robbieblocks_style_tokens', 'pull_only', 'global'),
  ('robbieblocks_node_branding', 'pull_only', 'global'),
  ('robbieblocks_deploys', 'push_only', 'global');

-- This database's identity in the network: absent = not syncing (standalone).
CREATE TABLE sync.local (
  singleton       boolean     NOT NULL DEFAULT true PRIMARY KEY CHECK (singleton),
  node_id         uuid        NOT NULL,
  node_key        text        NOT NULL,
  role            text        NOT NULL CHECK (role IN ('hub', 'node')),
  hub_node_id     uuid,
  org_scope       uuid[],
  clock_adjust_ms bigint      NOT NULL DEFAULT 0,
  max_skew_ms     bigint      NOT NULL DEFAULT 300000,
  joined_at       timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE sync.local IS 'This database''s role (hub or node), its node id/key and clock settings; one row, absent when the database does not sync';
COMMENT ON COLUMN sync.local.clock_adjust_ms IS 'Added to the wall clock for version stamps: a simulated clock offset for drills and tests, normally 0';
COMMENT ON COLUMN sync.local.max_skew_ms IS 'Incoming stamps further ahead of this wall clock are parked as clock_skew';

-- The outbox: captured local changes and (on the hub) relayed ones.
CREATE SEQUENCE sync.change_log_position_seq;
CREATE TABLE sync.change_log (
  position        bigint      NOT NULL DEFAULT nextval('sync.change_log_position_seq') PRIMARY KEY,
  xid             bigint      NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
  origin_node_id  uuid        NOT NULL,
  origin_xid      bigint      NOT NULL,
  origin_position bigint      NOT NULL,
  table_name      text        NOT NULL,
  record_id       uuid        NOT NULL,
  op              char(1)     NOT NULL CHECK (op IN ('I', 'U', 'D')),
  row_data        jsonb,
  old_org_id      uuid,
  new_org_id      uuid,
  hlc             bigint      NOT NULL,
  base_hlc        bigint,
  created_at      timestamptz NOT NULL DEFAULT now()
);
ALTER SEQUENCE sync.change_log_position_seq OWNED BY sync.change_log.position;
CREATE INDEX change_log_xid_position_idx ON sync.change_log (xid, position);
CREATE INDEX change_log_origin_idx ON sync.change_log (origin_node_id, origin_xid, origin_position);
COMMENT ON TABLE sync.change_log IS 'Captured and relayed row changes; readers take only xid < the snapshot horizon, in (xid, position) order';

CREATE TABLE sync.row_versions (
  table_name text    NOT NULL,
  record_id  uuid    NOT NULL,
  hlc        bigint  NOT NULL,
  node_id    uuid    NOT NULL,
  deleted    boolean NOT NULL DEFAULT false,
  org_id     uuid,
  PRIMARY KEY (table_name, record_id)
);
COMMENT ON TABLE sync.row_versions IS 'Current version (hlc, node) of every synced row, tombstones included';

CREATE TABLE sync.cursors (
  peer_node_id  uuid        NOT NULL,
  direction     text        NOT NULL CHECK (direction IN ('pull', 'pulled_by')),
  last_xid      bigint      NOT NULL DEFAULT 0,
  last_position bigint      NOT NULL DEFAULT 0,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (peer_node_id, direction)
);
COMMENT ON TABLE sync.cursors IS 'pull: last hub log key this node applied (owned by the receiver); pulled_by (hub): what each node confirmed it applied';

CREATE TABLE sync.origin_marks (
  origin_node_id  uuid        NOT NULL PRIMARY KEY,
  last_xid        bigint      NOT NULL,
  last_position   bigint      NOT NULL,
  updated_at      timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE sync.origin_marks IS 'Highest origin key (xid, position on the origin) applied per origin: replays are skipped; on the hub it is each node''s push cursor';

CREATE TABLE sync.parked (
  id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  change       jsonb       NOT NULL,
  table_name   text        NOT NULL,
  record_id    uuid,
  reason       text        NOT NULL CHECK (reason IN ('missing_parent', 'constraint_violation', 'clock_skew')),
  attempts     integer     NOT NULL DEFAULT 1,
  last_error   text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE sync.parked IS 'Incoming changes that could not be applied yet (parent missing, unique clash, clock skew); retried after every batch';

CREATE TABLE sync.node_auth (
  node_id   uuid NOT NULL PRIMARY KEY,
  role_name text NOT NULL UNIQUE
);
COMMENT ON TABLE sync.node_auth IS 'Hub: the database role each node signs in as (never a password)';

CREATE TABLE sync.rejections (
  id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  node_id    uuid,
  node_key   text        NOT NULL,
  reason     text        NOT NULL,
  detail     text,
  changes    integer     NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE sync.rejections IS 'Hub: batches refused whole (wrong credentials, schema mismatch, out of scope, unsynced table, malformed change)';

CREATE SEQUENCE sync.hlc_seq;
COMMENT ON SEQUENCE sync.hlc_seq IS 'Last version stamp issued by this node (the clock state: a sequence, so writers never queue on a row)';

-- ---------------------------------------------------------------------------------------------
-- Clock
-- ---------------------------------------------------------------------------------------------

CREATE FUNCTION sync.wall_ms() RETURNS bigint
LANGUAGE sql VOLATILE AS $$
  SELECT (floor(extract(epoch FROM clock_timestamp()) * 1000))::bigint
         + coalesce((SELECT clock_adjust_ms FROM sync.local), 0)
$$;
COMMENT ON FUNCTION sync.wall_ms() IS 'Wall clock in ms since the epoch, plus sync.local.clock_adjust_ms';

-- next = max(last + 1, wall × 65536). Writers take numbers under a shared advisory lock (they
-- never wait for each other); only a writer that must move the sequence up to the wall clock takes
-- it exclusively, so setval never runs between another writer's nextval and its return (which could
-- hand out one stamp twice). Both locks are released at once, never held to commit.
CREATE FUNCTION sync.hlc_next(p_wall_ms bigint) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_floor bigint := p_wall_ms * 65536;
  v       bigint;
BEGIN
  PERFORM pg_advisory_lock_shared(1380078163, 2);
  v := nextval('sync.hlc_seq');
  PERFORM pg_advisory_unlock_shared(1380078163, 2);
  IF v >= v_floor THEN
    RETURN v;
  END IF;
  PERFORM pg_advisory_lock(1380078163, 2);
  v := nextval('sync.hlc_seq');
  IF v < v_floor THEN
    PERFORM setval('sync.hlc_seq', v_floor, true);
    v := v_floor;
  END IF;
  PERFORM pg_advisory_unlock(1380078163, 2);
  RETURN v;
END
$$;
COMMENT ON FUNCTION sync.hlc_next(bigint) IS 'Next version stamp: max(last + 1, wall ms × 65536)';

-- After applying a change stamped p_seen, every later local stamp is above it.
CREATE FUNCTION sync.hlc_observe(p_seen bigint) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v bigint;
BEGIN
  SELECT CASE WHEN is_called THEN last_value ELSE 0 END INTO v FROM sync.hlc_seq;
  IF p_seen IS NULL OR p_seen <= v THEN
    RETURN;
  END IF;
  PERFORM pg_advisory_lock(1380078163, 2);
  SELECT CASE WHEN is_called THEN last_value ELSE 0 END INTO v FROM sync.hlc_seq;
  IF p_seen > v THEN
    PERFORM setval('sync.hlc_seq', p_seen, true);
  END IF;
  PERFORM pg_advisory_unlock(1380078163, 2);
END
$$;
COMMENT ON FUNCTION sync.hlc_observe(bigint) IS 'Moves the clock to at least p_seen (called once per applied batch)';

CREATE FUNCTION sync.hlc_encode(p bigint) RETURNS text
LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT lpad(to_hex(p), 16, '0') $$;
COMMENT ON FUNCTION sync.hlc_encode(bigint) IS 'Sortable text form of a stamp: 16 lower-case hex digits';

CREATE FUNCTION sync.hlc_decode(p text) RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT ('x' || lpad(p, 16, '0'))::bit(64)::bigint $$;
COMMENT ON FUNCTION sync.hlc_decode(text) IS 'Inverse of hlc_encode';

-- (a_hlc, a_node) > (b_hlc, b_node): the one order every node agrees on.
CREATE FUNCTION sync.newer(a_hlc bigint, a_node uuid, b_hlc bigint, b_node uuid) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$ SELECT (a_hlc, a_node::text) > (b_hlc, b_node::text) $$;

-- ---------------------------------------------------------------------------------------------
-- Schema version (§4.9): the migration set plus the columns of every synced table.
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION sync.schema_version() RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT (SELECT max(version) FROM robbieverse_meta.schema_migrations)::text || ':' ||
         left(md5(
           (SELECT string_agg(version::text || '=' || checksum, ',' ORDER BY version) FROM robbieverse_meta.schema_migrations)
           || '|' ||
           coalesce((SELECT string_agg(t.table_name || '(' || (
               -- pgvector's vector (PGlite) and real[] (servers without it) are the same embedding column
               SELECT string_agg(a.attname || ' ' || CASE WHEN format_type(a.atttypid, a.atttypmod) ~ '^(vector(\(\d+\))?|real\[\])$'
                                                         THEN 'embedding' ELSE format_type(a.atttypid, a.atttypmod) END, ',' ORDER BY a.attname)
                 FROM pg_attribute a
                WHERE a.attrelid = to_regclass('public.' || quote_ident(t.table_name)) AND a.attnum > 0 AND NOT a.attisdropped
             ) || ')', ';' ORDER BY t.table_name)
             FROM sync.tables t WHERE t.enabled), '')
         ), 16)
$$;
COMMENT ON FUNCTION sync.schema_version() IS 'Last migration and a hash of the migration checksums and the synced tables'' columns; must match between a node and the hub';

-- ---------------------------------------------------------------------------------------------
-- Capture (§4.3)
-- ---------------------------------------------------------------------------------------------

CREATE FUNCTION sync.applying() RETURNS boolean
LANGUAGE sql STABLE AS $$ SELECT current_setting('robbieverse.sync_applying', true) = 'on' $$;

CREATE FUNCTION sync.capture() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_local  sync.local;
  v_new    jsonb;
  v_old    jsonb;
  v_id     uuid;
  v_old_id uuid;
  v_org    uuid;
  v_oldorg uuid;
  v_hlc    bigint;
  v_base   bigint;
  v_pos    bigint;
  v_xid    bigint := pg_current_xact_id()::text::bigint;
  v_scope  text := TG_ARGV[0];
  -- TG_TABLE_NAME is a name (collation "C"): compared as is with row_versions' text key, the
  -- index cannot serve the lookup and every captured row would scan all versions.
  v_table  text := TG_TABLE_NAME::text COLLATE "default";
BEGIN
  IF current_setting('robbieverse.sync_applying', true) = 'on' THEN
    RETURN NULL;
  END IF;
  SELECT * INTO v_local FROM sync.local;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    v_new := to_jsonb(NEW);
    v_id := (v_new ->> 'id')::uuid;
    v_org := CASE WHEN v_scope = 'global' THEN NULL ELSE (v_new ->> 'org_id')::uuid END;
  END IF;
  IF TG_OP <> 'INSERT' THEN
    v_old := to_jsonb(OLD);
    v_old_id := (v_old ->> 'id')::uuid;
    v_oldorg := CASE WHEN v_scope = 'global' THEN NULL ELSE (v_old ->> 'org_id')::uuid END;
  END IF;
  -- An update that changes nothing but updated_at is not a change.
  IF TG_OP = 'UPDATE' AND (v_new - 'updated_at') = (v_old - 'updated_at') THEN
    RETURN NULL;
  END IF;
  -- A node limited to some organizations cannot write rows of others: the hub would refuse the
  -- batch holding such a change, and every later change of this node behind it.
  IF v_local.role = 'node' AND v_local.org_scope IS NOT NULL AND v_scope = 'org'
     AND ((v_org IS NOT NULL AND NOT v_org = ANY (v_local.org_scope))
          OR (v_oldorg IS NOT NULL AND NOT v_oldorg = ANY (v_local.org_scope))) THEN
    RAISE EXCEPTION '% on %: organization % is outside this node''s sync scope', TG_OP, TG_TABLE_NAME,
      CASE WHEN v_org IS NOT NULL AND NOT v_org = ANY (v_local.org_scope) THEN v_org ELSE v_oldorg END
      USING ERRCODE = 'insufficient_privilege',
            HINT = 'write it on the hub or on a node whose scope includes that organization (robbieverse sync join --org …)';
  END IF;

  -- A primary-key change is a delete of the old key (here) and an insert of the new one (below).
  IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND v_old_id <> v_id) THEN
    v_hlc := sync.hlc_next(sync.wall_ms());
    SELECT hlc INTO v_base FROM sync.row_versions WHERE table_name = v_table AND record_id = v_old_id;
    v_pos := nextval('sync.change_log_position_seq');
    INSERT INTO sync.change_log (position, xid, origin_node_id, origin_xid, origin_position, table_name, record_id,
                                 op, row_data, old_org_id, new_org_id, hlc, base_hlc)
    VALUES (v_pos, v_xid, v_local.node_id, v_xid, v_pos, v_table, v_old_id, 'D', NULL, v_oldorg, NULL, v_hlc, v_base);
    INSERT INTO sync.row_versions AS r (table_name, record_id, hlc, node_id, deleted, org_id)
    VALUES (v_table, v_old_id, v_hlc, v_local.node_id, true, v_oldorg)
    ON CONFLICT (table_name, record_id) DO UPDATE
       SET hlc = EXCLUDED.hlc, node_id = EXCLUDED.node_id, deleted = true, org_id = EXCLUDED.org_id;
    IF TG_OP = 'UPDATE' THEN
      v_oldorg := NULL;
    END IF;
  END IF;

  IF TG_OP <> 'DELETE' THEN
    v_hlc := sync.hlc_next(sync.wall_ms());
    SELECT hlc, CASE WHEN TG_OP = 'INSERT' OR v_old_id <> v_id THEN NULL ELSE org_id END
      INTO v_base, v_oldorg
      FROM sync.row_versions WHERE table_name = v_table AND record_id = v_id;
    IF TG_OP = 'UPDATE' AND v_old_id = v_id AND v_oldorg IS NULL THEN
      v_oldorg := CASE WHEN v_scope = 'global' THEN NULL ELSE (v_old ->> 'org_id')::uuid END;
    END IF;
    v_pos := nextval('sync.change_log_position_seq');
    INSERT INTO sync.change_log (position, xid, origin_node_id, origin_xid, origin_position, table_name, record_id,
                                 op, row_data, old_org_id, new_org_id, hlc, base_hlc)
    VALUES (v_pos, v_xid, v_local.node_id, v_xid, v_pos, v_table, v_id,
            CASE WHEN TG_OP = 'INSERT' OR v_old_id <> v_id THEN 'I' ELSE 'U' END,
            v_new, v_oldorg, v_org, v_hlc, v_base);
    INSERT INTO sync.row_versions AS r (table_name, record_id, hlc, node_id, deleted, org_id)
    VALUES (v_table, v_id, v_hlc, v_local.node_id, false, v_org)
    ON CONFLICT (table_name, record_id) DO UPDATE
       SET hlc = EXCLUDED.hlc, node_id = EXCLUDED.node_id, deleted = false, org_id = EXCLUDED.org_id;
  END IF;

  IF v_local.role = 'node' THEN
    PERFORM pg_notify('sync_push', '');
  END IF;
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION sync.capture() IS
  'AFTER INSERT/UPDATE/DELETE row trigger on synced tables (arg: scope): logs the final row with a new stamp and updates row_versions, in the writing transaction; skipped while the applier works';

CREATE FUNCTION sync.refuse_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'TRUNCATE of synced table % is refused', TG_TABLE_NAME
    USING ERRCODE = 'feature_not_supported',
          HINT = 'TRUNCATE bypasses change capture; use DELETE so the deletes reach the other nodes';
END
$$;

CREATE FUNCTION sync.refuse_local_write() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('robbieverse.sync_applying', true) = 'on' THEN
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
  END IF;
  RAISE EXCEPTION '% on %: this table is written on the hub only and is read-only on this node', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'read_only_sql_transaction',
          HINT = 'make the change on the hub (its API or database); it reaches this node with the next pull';
END
$$;

-- Triggers that derive data (updated_at bumps, counters, reference clean-up) must not run again
-- when a change is applied: the incoming row already is the final row of its origin, and what the
-- trigger derived there arrives as changes of its own. Validation, audit and RobbieBlocks change
-- hints still run. The guard is a WHEN condition added to the trigger.
CREATE FUNCTION sync.guard_derived_triggers(p_table text) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  r       record;
  v_def   text;
  v_guard text := $g$current_setting('robbieverse.sync_applying'::text, true) IS DISTINCT FROM 'on'::text$g$;
  v_n     integer := 0;
BEGIN
  FOR r IN
    SELECT t.tgname, pg_get_triggerdef(t.oid) AS def, p.proname
      FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
     WHERE t.tgrelid = to_regclass('public.' || quote_ident(p_table)) AND NOT t.tgisinternal
       AND p.pronamespace <> 'sync'::regnamespace
       AND p.proname NOT IN ('audit_row_change', 'check_entity_ref', 'check_embedding', 'check_branding_overrides',
                             'notify_robbieblocks_change', 'organization_keeps_an_owner', 'ensure_self_access')
       AND t.tgconstraint = 0
  LOOP
    IF position('robbieverse.sync_applying' IN r.def) > 0 THEN
      CONTINUE;
    END IF;
    IF r.def ~ ' WHEN \(' THEN
      v_def := regexp_replace(r.def, ' WHEN \((.*)\) EXECUTE ', ' WHEN ((' || v_guard || ') AND (\1)) EXECUTE ');
    ELSE
      v_def := replace(r.def, ' EXECUTE FUNCTION ', ' WHEN (' || v_guard || ') EXECUTE FUNCTION ');
    END IF;
    EXECUTE format('DROP TRIGGER %I ON public.%I', r.tgname, p_table);
    EXECUTE v_def;
    v_n := v_n + 1;
  END LOOP;
  RETURN v_n;
END
$$;
COMMENT ON FUNCTION sync.guard_derived_triggers(text) IS 'Adds "not while applying" to the data-deriving triggers of a synced table; returns how many';

-- The last-owner rule (029) belongs to the hub, where memberships are written (they are pull_only).
-- A node only replays the hub's committed changes one at a time, and a narrowed scope removes the
-- memberships of organizations that left it: neither is judged by the rule again.
CREATE OR REPLACE FUNCTION organization_keeps_an_owner() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF current_setting('robbieverse.sync_applying', true) = 'on' THEN RETURN NULL; END IF;
  IF NOT (OLD.role = 'owner' AND OLD.is_active) THEN RETURN NULL; END IF;
  IF TG_OP = 'UPDATE' AND NEW.role = 'owner' AND NEW.is_active AND NEW.org_id = OLD.org_id THEN RETURN NULL; END IF;
  -- One owner change per organization at a time (two demotions racing could each see the other
  -- owner still there). No row: the organization itself is being deleted, its memberships with it.
  PERFORM 1 FROM organizations WHERE id = OLD.org_id FOR NO KEY UPDATE;
  IF NOT FOUND THEN RETURN NULL; END IF;
  IF NOT EXISTS (SELECT 1 FROM organization_memberships m
                  WHERE m.org_id = OLD.org_id AND m.role = 'owner' AND m.is_active) THEN
    RAISE EXCEPTION 'organization % would be left without an owner', OLD.org_id
      USING ERRCODE = 'check_violation', CONSTRAINT = 'organization_memberships_last_owner',
            HINT = 'make another member owner first, then change or remove this one';
  END IF;
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION organization_keeps_an_owner() IS
  'Constraint trigger: refuses a change that leaves an existing organization without an active owner (SQLSTATE 23514, constraint organization_memberships_last_owner); not while the sync applier replays the hub''s changes on a node';

-- Attaches capture (and, on nodes, the read-only guard of hub → local tables) to every enabled
-- synced table; idempotent.
CREATE FUNCTION sync.attach() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  v_local sync.local;
  t       sync.tables;
  v_n     integer := 0;
  v_capture boolean;
BEGIN
  SELECT * INTO v_local FROM sync.local;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'this database is not part of a sync network' USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
  PERFORM sync.compute_ranks();
  FOR t IN SELECT * FROM sync.tables WHERE to_regclass('public.' || quote_ident(table_name)) IS NOT NULL LOOP
    EXECUTE format('DROP TRIGGER IF EXISTS sync_capture ON public.%I', t.table_name);
    EXECUTE format('DROP TRIGGER IF EXISTS sync_refuse_truncate ON public.%I', t.table_name);
    EXECUTE format('DROP TRIGGER IF EXISTS sync_read_only ON public.%I', t.table_name);
    CONTINUE WHEN NOT t.enabled;
    -- A node logs what it sends (bidirectional, push_only); the hub logs what nodes pull.
    v_capture := CASE v_local.role WHEN 'node' THEN t.direction <> 'pull_only' ELSE t.direction <> 'push_only' END;
    IF v_capture THEN
      EXECUTE format('CREATE TRIGGER sync_capture AFTER INSERT OR UPDATE OR DELETE ON public.%I
                        FOR EACH ROW EXECUTE FUNCTION sync.capture(%L)', t.table_name, t.scope);
    END IF;
    EXECUTE format('CREATE TRIGGER sync_refuse_truncate BEFORE TRUNCATE ON public.%I
                      FOR EACH STATEMENT EXECUTE FUNCTION sync.refuse_truncate()', t.table_name);
    IF v_local.role = 'node' AND t.direction = 'pull_only' THEN
      EXECUTE format('CREATE TRIGGER sync_read_only BEFORE INSERT OR UPDATE OR DELETE ON public.%I
                        FOR EACH ROW EXECUTE FUNCTION sync.refuse_local_write()', t.table_name);
    END IF;
    PERFORM sync.guard_derived_triggers(t.table_name);
    v_n := v_n + 1;
  END LOOP;
  RETURN v_n;
END
$$;
COMMENT ON FUNCTION sync.attach() IS 'Attaches capture, the TRUNCATE refusal and (nodes) the read-only guard to the enabled synced tables; idempotent';

-- Rank of each synced table in the foreign-key graph among synced tables (parents lower).
CREATE FUNCTION sync.compute_ranks() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  v_changed boolean := true;
  v_rounds  integer := 0;
BEGIN
  UPDATE sync.tables SET rank = 0;
  WHILE v_changed AND v_rounds < 50 LOOP
    v_changed := false;
    v_rounds := v_rounds + 1;
    UPDATE sync.tables c
       SET rank = sub.r
      FROM (SELECT ct.table_name, max(pt.rank) + 1 AS r
              FROM sync.tables ct
              JOIN pg_constraint k ON k.conrelid = to_regclass('public.' || quote_ident(ct.table_name)) AND k.contype = 'f'
              JOIN sync.tables pt ON to_regclass('public.' || quote_ident(pt.table_name)) = k.confrelid
             WHERE pt.table_name <> ct.table_name
             GROUP BY ct.table_name) sub
     WHERE c.table_name = sub.table_name AND c.rank < sub.r;
    IF FOUND THEN
      v_changed := true;
    END IF;
  END LOOP;
END
$$;

-- ---------------------------------------------------------------------------------------------
-- Becoming part of a network
-- ---------------------------------------------------------------------------------------------

-- Makes this database the hub (idempotent). p_node_key: its row in nodes (created when missing).
CREATE FUNCTION sync.become_hub(p_node_key text DEFAULT NULL) RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
  v_local sync.local;
  v_id    uuid;
  v_key   text;
BEGIN
  SELECT * INTO v_local FROM sync.local;
  IF FOUND THEN
    IF v_local.role <> 'hub' THEN
      RAISE EXCEPTION 'this database is already node % of another hub', v_local.node_key
        USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    PERFORM sync.attach();
    RETURN v_local.node_id;
  END IF;
  v_key := coalesce(p_node_key, (SELECT node_key FROM nodes WHERE node_type = 'master' ORDER BY created_at LIMIT 1), 'master');
  INSERT INTO nodes (id, node_key, name, node_type) VALUES (public.reference_uuid('nodes', v_key), v_key, v_key, 'master')
  ON CONFLICT (node_key) DO UPDATE SET node_type = 'master'
  RETURNING id INTO v_id;
  INSERT INTO sync.local (node_id, node_key, role) VALUES (v_id, v_key, 'hub');
  PERFORM sync.attach();
  RETURN v_id;
END
$$;
COMMENT ON FUNCTION sync.become_hub(text) IS 'Makes this database the sync hub (master); idempotent; returns its node id';

-- ---------------------------------------------------------------------------------------------
-- Apply (§4.6–4.8)
-- ---------------------------------------------------------------------------------------------

-- Column list of a table that an upsert may write (no generated or dropped columns).
CREATE FUNCTION sync.writable_columns(p_table text) RETURNS text[]
LANGUAGE sql STABLE AS $$
  SELECT array_agg(a.attname::text ORDER BY a.attnum)
    FROM pg_attribute a
   WHERE a.attrelid = to_regclass('public.' || quote_ident(p_table)) AND a.attnum > 0
     AND NOT a.attisdropped AND a.attgenerated = ''
$$;

-- Array-typed columns: a value that arrives as a JSON string (pgvector's text form '[1,2]' from a
-- PGlite node) is turned into a JSON array so a real[] column accepts it.
CREATE FUNCTION sync.array_columns(p_table text) RETURNS text[]
LANGUAGE sql STABLE AS $$
  SELECT coalesce(array_agg(a.attname::text ORDER BY a.attnum), '{}')
    FROM pg_attribute a JOIN pg_type ty ON ty.oid = a.atttypid
   WHERE a.attrelid = to_regclass('public.' || quote_ident(p_table)) AND a.attnum > 0
     AND NOT a.attisdropped AND ty.typcategory = 'A'
$$;

CREATE FUNCTION sync.normalize_row(p_row jsonb, p_arrays text[]) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  col text;
BEGIN
  FOREACH col IN ARRAY coalesce(p_arrays, '{}') LOOP
    IF jsonb_typeof(p_row -> col) = 'string' AND left(p_row ->> col, 1) = '[' THEN
      p_row := jsonb_set(p_row, ARRAY[col], (p_row ->> col)::jsonb);
    END IF;
  END LOOP;
  RETURN p_row;
END
$$;

CREATE FUNCTION sync.record_conflict(p_table text, p_record uuid, p_type text,
                                     p_winner_node uuid, p_winner_hlc bigint, p_winner_row jsonb,
                                     p_loser_node uuid, p_loser_hlc bigint, p_loser_row jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  v_self uuid := (SELECT node_id FROM sync.local);
  v_hub  uuid := (SELECT CASE WHEN role = 'hub' THEN node_id ELSE hub_node_id END FROM sync.local);
  v_loser_is_hub boolean := p_loser_node = v_hub;
BEGIN
  -- master_data / replica_data: the hub's and the node's images where one side is the hub,
  -- else winner / loser. Both images are always kept.
  INSERT INTO public.sync_conflicts (table_name, record_id, source_node_id, target_node_id, conflict_type,
                                     detected_on_node_id, winner_node_id, winner_hlc, loser_node_id, loser_hlc,
                                     master_data, replica_data, resolution, resolved_data, resolved_by, resolved_at)
  VALUES (p_table, p_record, p_loser_node, p_winner_node, p_type, v_self,
          p_winner_node, sync.hlc_encode(p_winner_hlc), p_loser_node, sync.hlc_encode(p_loser_hlc),
          CASE WHEN v_loser_is_hub THEN p_loser_row ELSE p_winner_row END,
          CASE WHEN v_loser_is_hub THEN p_winner_row ELSE p_loser_row END,
          'newest_wins', p_winner_row, 'sync-service', now())
  ON CONFLICT (table_name, record_id, loser_node_id, loser_hlc) DO NOTHING;
END
$$;

-- Applies one change (jsonb with the change_log fields). Returns what happened:
-- applied, skipped (duplicate), same, discarded (older), parked.
CREATE FUNCTION sync.apply_change(c jsonb, p_columns text[], p_arrays text[]) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  v_table   text := c ->> 'table_name';
  v_id      uuid := (c ->> 'record_id')::uuid;
  v_op      text := c ->> 'op';
  v_hlc     bigint := (c ->> 'hlc')::bigint;
  v_base    bigint := (c ->> 'base_hlc')::bigint;
  v_origin  uuid := (c ->> 'origin_node_id')::uuid;
  v_row     jsonb := c -> 'row_data';
  v_self    sync.local;
  v_ver     sync.row_versions;
  v_cur     jsonb;
  v_has_ver boolean;
  v_cur_known boolean := false;
  v_concurrent boolean;
  v_type    text;
  v_sets    text;
  v_cols    text;
  v_org     uuid;
  v_direction text;
BEGIN
  SELECT * INTO v_self FROM sync.local;
  SELECT * INTO v_ver FROM sync.row_versions WHERE table_name = v_table AND record_id = v_id FOR UPDATE;
  v_has_ver := FOUND;
  -- The current row image is read only when needed: no version (is there a row from before sync
  -- was enabled?) or a conflict to record.
  IF NOT v_has_ver THEN
    EXECUTE format('SELECT to_jsonb(t) FROM public.%I t WHERE id = $1', v_table) INTO v_cur USING v_id;
    v_cur_known := true;
    IF v_cur IS NOT NULL THEN
      -- A row from before sync was enabled: the lowest version, owned by the hub.
      v_ver := ROW(v_table, v_id, 0, coalesce(v_self.hub_node_id, v_self.node_id), false, NULL)::sync.row_versions;
      v_has_ver := true;
    END IF;
  END IF;

  IF v_has_ver THEN
    IF v_ver.hlc = v_hlc AND v_ver.node_id = v_origin THEN
      RETURN 'same';
    END IF;
    IF NOT sync.newer(v_hlc, v_origin, v_ver.hlc, v_ver.node_id) THEN
      -- The incoming change lost: keep ours, record it (a replay of a known loser adds nothing).
      v_type := CASE WHEN v_op = 'D' AND NOT v_ver.deleted THEN 'delete_update'
                     WHEN v_op <> 'D' AND v_ver.deleted THEN 'update_delete'
                     WHEN v_op = 'D' AND v_ver.deleted THEN 'concurrent_delete'
                     ELSE 'concurrent_update' END;
      IF NOT v_cur_known THEN
        EXECUTE format('SELECT to_jsonb(t) FROM public.%I t WHERE id = $1', v_table) INTO v_cur USING v_id;
      END IF;
      PERFORM sync.record_conflict(v_table, v_id, v_type, v_ver.node_id, v_ver.hlc, v_cur, v_origin, v_hlc, v_row);
      RETURN 'discarded';
    END IF;
    -- Concurrent: C was not written on top of our version (the baseline, hlc 0, loses silently).
    v_concurrent := v_base IS DISTINCT FROM v_ver.hlc AND v_ver.hlc > 0;
    IF v_concurrent AND NOT v_cur_known THEN
      EXECUTE format('SELECT to_jsonb(t) FROM public.%I t WHERE id = $1', v_table) INTO v_cur USING v_id;
    END IF;
  ELSE
    v_concurrent := false;
  END IF;

  -- Apply the winner.
  IF v_op = 'D' THEN
    EXECUTE format('DELETE FROM public.%I WHERE id = $1', v_table) USING v_id;
  ELSE
    IF v_row IS NULL OR jsonb_typeof(v_row) <> 'object' THEN
      RAISE EXCEPTION 'change for %.% has no row image', v_table, v_id USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT string_agg(format('%I', col), ', '), string_agg(format('%I = EXCLUDED.%I', col, col), ', ')
      INTO v_cols, v_sets
      FROM unnest(p_columns) col;
    EXECUTE format('INSERT INTO public.%I AS t (%s) SELECT %s FROM jsonb_populate_record(NULL::public.%I, $1)
                    ON CONFLICT (id) DO UPDATE SET %s', v_table, v_cols, v_cols, v_table, v_sets)
      USING sync.normalize_row(v_row, p_arrays);
  END IF;

  v_org := CASE WHEN v_op = 'D' THEN (c ->> 'old_org_id')::uuid ELSE (c ->> 'new_org_id')::uuid END;
  INSERT INTO sync.row_versions AS r (table_name, record_id, hlc, node_id, deleted, org_id)
  VALUES (v_table, v_id, v_hlc, v_origin, v_op = 'D', v_org)
  ON CONFLICT (table_name, record_id) DO UPDATE
     SET hlc = EXCLUDED.hlc, node_id = EXCLUDED.node_id, deleted = EXCLUDED.deleted, org_id = EXCLUDED.org_id;

  IF v_concurrent THEN
    v_type := CASE WHEN v_op = 'D' AND NOT v_ver.deleted THEN 'update_delete'
                   WHEN v_op <> 'D' AND v_ver.deleted THEN 'delete_update'
                   WHEN v_op = 'D' AND v_ver.deleted THEN 'concurrent_delete'
                   ELSE 'concurrent_update' END;
    PERFORM sync.record_conflict(v_table, v_id, v_type, v_origin, v_hlc, v_row, v_ver.node_id, v_ver.hlc, v_cur);
  END IF;

  -- The hub relays what it applied to the nodes that pull this table, keeping origin and stamp.
  IF v_self.role = 'hub' THEN
    SELECT direction INTO v_direction FROM sync.tables WHERE table_name = v_table;
    IF v_direction <> 'push_only' THEN
      INSERT INTO sync.change_log (origin_node_id, origin_xid, origin_position, table_name, record_id, op, row_data,
                                   old_org_id, new_org_id, hlc, base_hlc)
      VALUES (v_origin, (c ->> 'origin_xid')::bigint, (c ->> 'origin_position')::bigint, v_table, v_id, v_op, v_row,
              (c ->> 'old_org_id')::uuid, (c ->> 'new_org_id')::uuid, v_hlc, v_base);
    END IF;
  END IF;
  RETURN 'applied';
END
$$;
COMMENT ON FUNCTION sync.apply_change(jsonb, text[], text[]) IS 'Last-writer-wins on (hlc, node id) for one incoming change; records the loser; the hub relays the winner';

-- A change at or below its origin's mark is new here only if this database holds no version of
-- the row as new as it (a replay finds its own version or a newer one) and has not parked it.
CREATE FUNCTION sync.late_relay(c jsonb) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT NOT EXISTS (SELECT 1 FROM sync.row_versions v
                      WHERE v.table_name = c ->> 'table_name' AND v.record_id = (c ->> 'record_id')::uuid
                        AND NOT sync.newer((c ->> 'hlc')::bigint, (c ->> 'origin_node_id')::uuid, v.hlc, v.node_id))
     AND NOT EXISTS (SELECT 1 FROM sync.parked p
                      WHERE p.change ->> 'origin_node_id' = c ->> 'origin_node_id'
                        AND p.change ->> 'origin_xid' = c ->> 'origin_xid' AND p.change ->> 'origin_position' = c ->> 'origin_position')
$$;
COMMENT ON FUNCTION sync.late_relay(jsonb) IS 'Whether a change at or below its origin''s mark is still new here (relayed late by the hub), not a replay';

-- Applies a batch in the caller's transaction: marks (dedupe), skew check, apply each change in
-- its own subtransaction (a missing parent or a unique clash parks it), then retries parked
-- changes, observes the clock. Returns counts.
CREATE FUNCTION sync.apply_batch(p_changes jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  c         jsonb;
  v_mark    sync.origin_marks;
  v_cols    jsonb := '{}';
  v_result  text;
  v_applied integer := 0;
  v_skipped integer := 0;
  v_lost    integer := 0;
  v_parked  integer := 0;
  v_max_hlc bigint := 0;
  v_limit   bigint;
  v_origin  uuid;
  v_okey    bigint[];
  p         sync.parked;
  v_retried integer := 0;
  v_err     text;
  v_state   text;
BEGIN
  PERFORM set_config('robbieverse.sync_applying', 'on', true);
  v_limit := (sync.wall_ms() + (SELECT max_skew_ms FROM sync.local)) * 65536;
  FOR c IN SELECT value FROM jsonb_array_elements(p_changes) LOOP
    v_origin := (c ->> 'origin_node_id')::uuid;
    v_okey := ARRAY[(c ->> 'origin_xid')::bigint, (c ->> 'origin_position')::bigint];
    SELECT * INTO v_mark FROM sync.origin_marks WHERE origin_node_id = v_origin;
    IF FOUND AND ARRAY[v_mark.last_xid, v_mark.last_position] >= v_okey THEN
      -- At or below the mark: a replay, unless it is a change the hub relayed out of its
      -- origin's order (it waited in the hub's sync.parked for its parent) that this database
      -- has not seen. The mark stays where it is.
      IF NOT sync.late_relay(c) THEN
        v_skipped := v_skipped + 1;
        CONTINUE;
      END IF;
    ELSE
      INSERT INTO sync.origin_marks AS m (origin_node_id, last_xid, last_position)
      VALUES (v_origin, v_okey[1], v_okey[2])
      ON CONFLICT (origin_node_id) DO UPDATE SET last_xid = EXCLUDED.last_xid, last_position = EXCLUDED.last_position, updated_at = now();
    END IF;

    IF (c ->> 'hlc')::bigint > v_limit THEN
      INSERT INTO sync.parked (change, table_name, record_id, reason, last_error)
      VALUES (c, c ->> 'table_name', (c ->> 'record_id')::uuid, 'clock_skew',
              format('stamp %s is more than %s ms ahead of this clock', sync.hlc_encode((c ->> 'hlc')::bigint),
                     (SELECT max_skew_ms FROM sync.local)));
      v_parked := v_parked + 1;
      CONTINUE;
    END IF;
    SELECT a.p_cols, a.result INTO v_cols, v_result FROM sync.apply_one(c, v_cols) a;
    IF v_result = 'applied' THEN v_applied := v_applied + 1;
    ELSIF v_result = 'discarded' THEN v_lost := v_lost + 1;
    ELSIF v_result = 'parked' THEN v_parked := v_parked + 1;
    ELSE v_skipped := v_skipped + 1;
    END IF;
    v_max_hlc := greatest(v_max_hlc, (c ->> 'hlc')::bigint);
  END LOOP;

  -- Parked changes whose parent may have arrived meanwhile (not clock skew: that waits for an operator).
  FOR p IN SELECT * FROM sync.parked WHERE reason <> 'clock_skew' ORDER BY id LOOP
    SELECT a.p_cols, a.result INTO v_cols, v_result FROM sync.apply_one(p.change, v_cols, p.id) a;
    IF v_result <> 'parked' THEN
      DELETE FROM sync.parked WHERE id = p.id;
      v_retried := v_retried + 1;
      IF v_result = 'applied' THEN v_applied := v_applied + 1; v_parked := v_parked - 1; END IF;
    END IF;
  END LOOP;

  PERFORM sync.hlc_observe(v_max_hlc);
  PERFORM set_config('robbieverse.sync_applying', 'off', true);
  RETURN jsonb_build_object('applied', v_applied, 'skipped', v_skipped, 'discarded', v_lost,
                            'parked', v_parked, 'unparked', v_retried);
END
$$;
COMMENT ON FUNCTION sync.apply_batch(jsonb) IS 'Applies a batch of incoming changes in the caller''s transaction (LWW, dedupe, parking); returns counts';

-- One change in a subtransaction; a constraint failure parks it (or updates its parked row).
CREATE FUNCTION sync.apply_one(c jsonb, INOUT p_cols jsonb, p_parked_id bigint DEFAULT NULL, OUT result text)
LANGUAGE plpgsql AS $$
DECLARE
  v_table text := c ->> 'table_name';
  v_cols  text[];
  v_arrays text[];
  v_err   text;
  v_state text;
  v_reason text;
BEGIN
  IF NOT p_cols ? v_table THEN
    p_cols := p_cols || jsonb_build_object(v_table, jsonb_build_object(
      'cols', to_jsonb(sync.writable_columns(v_table)), 'arrays', to_jsonb(sync.array_columns(v_table))));
  END IF;
  SELECT array_agg(x) INTO v_cols FROM jsonb_array_elements_text(p_cols -> v_table -> 'cols') x;
  SELECT array_agg(x) INTO v_arrays FROM jsonb_array_elements_text(p_cols -> v_table -> 'arrays') x;
  BEGIN
    result := sync.apply_change(c, v_cols, v_arrays);
  EXCEPTION WHEN foreign_key_violation OR unique_violation OR check_violation OR not_null_violation OR exclusion_violation THEN
    GET STACKED DIAGNOSTICS v_err = MESSAGE_TEXT, v_state = RETURNED_SQLSTATE;
    v_reason := CASE WHEN v_state = '23503' THEN 'missing_parent' ELSE 'constraint_violation' END;
    IF p_parked_id IS NULL THEN
      INSERT INTO sync.parked (change, table_name, record_id, reason, last_error)
      VALUES (c, v_table, (c ->> 'record_id')::uuid, v_reason, v_err);
    ELSE
      UPDATE sync.parked SET attempts = attempts + 1, last_error = v_err, reason = v_reason, updated_at = now()
       WHERE id = p_parked_id;
    END IF;
    result := 'parked';
  END;
END
$$;

-- The snapshot horizon for reading the change log: the oldest transaction of THIS database still
-- in progress (or, if none, the snapshot's xmax). pg_snapshot_xmin alone is server-wide: a long
-- transaction in any other database would hold every exchange back. Only xids listed in the
-- snapshot as in progress count, and pg_stat_activity is read afresh after taking the snapshot, so
-- a transaction missing from it there has ended and is visible to the reader's next statement.
CREATE FUNCTION sync.read_horizon() RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_snap pg_snapshot := pg_current_snapshot();
  v      bigint;
BEGIN
  PERFORM pg_stat_clear_snapshot();
  SELECT min(x::text::bigint) INTO v
    FROM pg_snapshot_xip(v_snap) x
   WHERE (x::text::bigint % 4294967296)::text IN (
           SELECT a.backend_xid::text FROM pg_stat_activity a WHERE a.datname = current_database() AND a.backend_xid IS NOT NULL
           UNION ALL
           SELECT p.transaction::text FROM pg_prepared_xacts p WHERE p.database = current_database());
  RETURN coalesce(v, pg_snapshot_xmax(v_snap)::text::bigint);
END
$$;
COMMENT ON FUNCTION sync.read_horizon() IS 'Change-log readers take only xid < this: the oldest in-progress transaction of this database, else the snapshot''s xmax';

-- ---------------------------------------------------------------------------------------------
-- The hub's exchange functions (called by node daemons over their own connections)
-- ---------------------------------------------------------------------------------------------

-- The node a call speaks for. A node's own role may speak only for that node; the database owner
-- (or a superuser, e.g. a demo hub on PGlite's socket) may speak for any registered node.
CREATE FUNCTION sync.authenticate(p_node_key text) RETURNS nodes
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  n      nodes;
  v_role text;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM sync.local WHERE role = 'hub') THEN
    RAISE EXCEPTION 'this database is not a sync hub' USING ERRCODE = 'object_not_in_prerequisite_state',
      HINT = 'join a node to a master with `robbieverse sync join --master URL --node KEY`; it makes the master a hub';
  END IF;
  SELECT * INTO n FROM nodes WHERE node_key = p_node_key;
  IF NOT FOUND OR n.node_type = 'master' THEN
    RAISE EXCEPTION 'node % is not registered on this hub', p_node_key USING ERRCODE = 'invalid_authorization_specification',
      HINT = 'register it with `robbieverse sync join --master URL --node KEY`';
  END IF;
  SELECT role_name INTO v_role FROM sync.node_auth WHERE node_id = n.id;
  IF session_user::text IS DISTINCT FROM v_role
     AND NOT (SELECT rolsuper FROM pg_roles WHERE rolname = session_user)
     AND NOT pg_has_role(session_user, (SELECT datdba FROM pg_database WHERE datname = current_database()), 'MEMBER') THEN
    RAISE EXCEPTION 'role % may not act for node %', session_user, p_node_key USING ERRCODE = 'insufficient_privilege',
      HINT = 'each node signs in with its own role; check the credentials in the node''s sync settings';
  END IF;
  RETURN n;
END
$$;

-- Registers (or re-registers) a node: the join step run on the hub. Makes this database the hub if
-- it is not yet one. p_role: the database role the node will sign in as (NULL: the caller's).
CREATE FUNCTION sync.register_node(p_node_key text, p_org_scope uuid[], p_role text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  n nodes;
BEGIN
  PERFORM sync.become_hub(NULL);
  INSERT INTO nodes (id, node_key, name, node_type, org_scope)
  VALUES (public.reference_uuid('nodes', p_node_key), p_node_key, p_node_key, 'replica', p_org_scope)
  ON CONFLICT (node_key) DO UPDATE SET org_scope = EXCLUDED.org_scope
  RETURNING * INTO n;
  IF n.node_type = 'master' THEN
    RAISE EXCEPTION 'node key % is the hub itself', p_node_key USING ERRCODE = 'invalid_parameter_value',
      HINT = 'choose the key of a local node, e.g. vengeance-local';
  END IF;
  IF p_role IS NOT NULL THEN
    INSERT INTO sync.node_auth (node_id, role_name) VALUES (n.id, p_role)
    ON CONFLICT (node_id) DO UPDATE SET role_name = EXCLUDED.role_name;
  END IF;
  RETURN jsonb_build_object('node_id', n.id, 'node_key', n.node_key,
                            'hub_node_id', (SELECT node_id FROM sync.local), 'hub_node_key', (SELECT node_key FROM sync.local));
END
$$;
COMMENT ON FUNCTION sync.register_node(text, uuid[], text) IS 'Hub: registers a node (key, org scope, sign-in role); makes this database the hub if needed';

-- Every exchange starts here: who is the hub, does the schema match, where is my push cursor.
CREATE FUNCTION sync.hello(p_node_key text, p_schema_version text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  n      nodes := sync.authenticate(p_node_key);
  v_mine text := sync.schema_version();
  m      sync.origin_marks;
BEGIN
  UPDATE nodes SET last_seen_at = now(), is_online = true, schema_version = p_schema_version WHERE id = n.id;
  SELECT * INTO m FROM sync.origin_marks WHERE origin_node_id = n.id;
  RETURN jsonb_build_object(
    'hub_node_id', (SELECT node_id FROM sync.local), 'hub_node_key', (SELECT node_key FROM sync.local),
    'node_id', n.id, 'org_scope', to_jsonb(n.org_scope),
    'schema_version', v_mine, 'schema_match', v_mine = p_schema_version,
    'wall_ms', sync.wall_ms(),
    'push_cursor', jsonb_build_object('xid', coalesce(m.last_xid, 0), 'position', coalesce(m.last_position, 0)));
END
$$;

CREATE FUNCTION sync.reject(n nodes, p_reason text, p_detail text, p_count integer) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO sync.rejections (node_id, node_key, reason, detail, changes) VALUES (n.id, n.node_key, p_reason, p_detail, p_count);
  INSERT INTO sync_runs (node_id, sync_type, status, completed_at, error_message, metadata)
  VALUES (n.id, 'push', 'error', now(), p_reason || ': ' || p_detail, jsonb_build_object('refused', p_reason));
  RETURN jsonb_build_object('refused', p_reason, 'detail', p_detail);
END
$$;

-- Checks a pushed batch before anything is applied; returns NULL or (reason, detail).
CREATE FUNCTION sync.validate_push(n nodes, p_changes jsonb, OUT reason text, OUT detail text, OUT bad jsonb)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  c   jsonb;
  t   sync.tables;
  i   integer := 0;
  v_new uuid;
  v_old uuid;
BEGIN
  IF jsonb_typeof(p_changes) IS DISTINCT FROM 'array' THEN
    reason := 'malformed'; detail := 'the batch is not a JSON array of changes'; RETURN;
  END IF;
  FOR c IN SELECT value FROM jsonb_array_elements(p_changes) LOOP
    i := i + 1;
    BEGIN
      IF jsonb_typeof(c) <> 'object' OR NOT (c ?& ARRAY['table_name', 'record_id', 'op', 'hlc', 'origin_node_id', 'origin_xid', 'origin_position'])
         OR (c ->> 'op') NOT IN ('I', 'U', 'D')
         OR ((c ->> 'op') <> 'D' AND (jsonb_typeof(c -> 'row_data') IS DISTINCT FROM 'object' OR (c -> 'row_data' ->> 'id') IS DISTINCT FROM (c ->> 'record_id')))
         OR (c ->> 'hlc')::bigint IS NULL OR (c ->> 'origin_xid')::bigint IS NULL OR (c ->> 'origin_position')::bigint IS NULL
         OR (c ->> 'record_id')::uuid IS NULL THEN
        reason := 'malformed'; detail := format('change %s is not a valid change (fields, op, row image)', i); bad := c; RETURN;
      END IF;
    EXCEPTION WHEN invalid_text_representation OR numeric_value_out_of_range OR data_exception THEN
      reason := 'malformed'; detail := format('change %s has a field of the wrong type', i); bad := c; RETURN;
    END;
    IF (c ->> 'origin_node_id')::uuid <> n.id THEN
      reason := 'wrong_origin'; detail := format('change %s claims origin %s; node %s may push only its own changes', i, c ->> 'origin_node_id', n.node_key); bad := c; RETURN;
    END IF;
    SELECT * INTO t FROM sync.tables WHERE table_name = c ->> 'table_name' AND enabled;
    IF NOT FOUND OR t.direction = 'pull_only' THEN
      reason := 'table_not_synced';
      detail := format('change %s is for table %s, which nodes may not push', i, c ->> 'table_name'); bad := c; RETURN;
    END IF;
    IF n.org_scope IS NOT NULL AND t.scope <> 'global' THEN
      v_new := CASE WHEN c ->> 'op' = 'D' THEN NULL ELSE (c -> 'row_data' ->> 'org_id')::uuid END;
      v_old := (c ->> 'old_org_id')::uuid;
      IF (v_new IS NOT NULL AND NOT v_new = ANY (n.org_scope)) OR (v_old IS NOT NULL AND NOT v_old = ANY (n.org_scope))
         OR (c ->> 'op' <> 'D' AND v_new IS NULL) THEN
        reason := 'out_of_scope';
        detail := format('change %s (%s %s) is for organization %s, outside node %s''s scope', i, c ->> 'table_name', c ->> 'record_id',
                         coalesce(v_new, v_old), n.node_key);
        bad := c; RETURN;
      END IF;
    END IF;
  END LOOP;
END
$$;

-- A node pushes a batch of its own changes. Refused whole (and recorded) when the credentials,
-- schema version, scope, tables or format are wrong; else applied in this transaction.
CREATE FUNCTION sync.push(p_node_key text, p_schema_version text, p_changes jsonb) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  n      nodes := sync.authenticate(p_node_key);
  v      record;
  r      jsonb;
  m      sync.origin_marks;
  v_cnt  integer := CASE WHEN jsonb_typeof(p_changes) = 'array' THEN jsonb_array_length(p_changes) ELSE 0 END;
BEGIN
  IF p_schema_version IS DISTINCT FROM sync.schema_version() THEN
    RETURN sync.reject(n, 'schema_mismatch', format('node schema %s, hub schema %s', p_schema_version, sync.schema_version()), v_cnt);
  END IF;
  v := sync.validate_push(n, p_changes);
  IF v.reason IS NOT NULL THEN
    IF v.reason = 'out_of_scope' THEN
      INSERT INTO sync_conflicts (table_name, record_id, source_node_id, conflict_type, detected_on_node_id, loser_node_id,
                                  loser_hlc, replica_data, resolution, resolved_by, resolved_at, resolution_notes)
      VALUES (v.bad ->> 'table_name', (v.bad ->> 'record_id')::uuid, n.id, 'out_of_scope', (SELECT node_id FROM sync.local), n.id,
              sync.hlc_encode((v.bad ->> 'hlc')::bigint), v.bad -> 'row_data', 'ignored', 'sync-service', now(), v.detail)
      ON CONFLICT (table_name, record_id, loser_node_id, loser_hlc) DO NOTHING;
    END IF;
    RETURN sync.reject(n, v.reason, v.detail, v_cnt);
  END IF;
  r := sync.apply_batch(p_changes);
  UPDATE nodes SET last_seen_at = now(), is_online = true, total_syncs = total_syncs + 1,
                   total_rows_synced = total_rows_synced + v_cnt
   WHERE id = n.id;
  INSERT INTO sync_table_state AS s (node_id, table_name, last_push_at, last_sync_at, last_sync_record_count)
  SELECT n.id, tn, now(), now(), count(*)::integer
    FROM jsonb_array_elements(p_changes) e, LATERAL (SELECT e.value ->> 'table_name' AS tn) x
   GROUP BY tn
  ON CONFLICT (node_id, table_name) DO UPDATE
     SET last_push_at = now(), last_sync_at = now(), last_sync_record_count = EXCLUDED.last_sync_record_count,
         last_error = NULL, updated_at = now();
  INSERT INTO sync_runs (node_id, sync_type, status, completed_at, rows_inserted, conflicts_detected, metadata)
  VALUES (n.id, 'push', 'success', now(), (r ->> 'applied')::integer, (r ->> 'discarded')::integer, r);
  SELECT * INTO m FROM sync.origin_marks WHERE origin_node_id = n.id;
  RETURN r || jsonb_build_object('cursor', jsonb_build_object('xid', coalesce(m.last_xid, 0), 'position', coalesce(m.last_position, 0)));
END
$$;
COMMENT ON FUNCTION sync.push(text, text, jsonb) IS 'Hub: a node''s batch of its own changes, validated whole, applied LWW in one transaction; returns counts and the new push cursor';

-- The hub's changes after the node's cursor, for that node: not its own, in scope (a row that left
-- the scope arrives as a delete), at most p_limit log rows scanned, never past the snapshot
-- horizon. Also acknowledges the cursor the node sends (it has applied everything up to it).
CREATE FUNCTION sync.pull(p_node_key text, p_schema_version text, p_after_xid bigint, p_after_position bigint, p_limit integer)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  n         nodes := sync.authenticate(p_node_key);
  v_horizon bigint := sync.read_horizon();
  v_last_xid bigint;
  v_last_pos bigint;
  v_changes jsonb;
  v_origins jsonb;
  v_scanned integer;
BEGIN
  IF p_schema_version IS DISTINCT FROM sync.schema_version() THEN
    PERFORM sync.reject(n, 'schema_mismatch', format('node schema %s, hub schema %s', p_schema_version, sync.schema_version()), 0);
    RETURN jsonb_build_object('refused', 'schema_mismatch', 'detail', format('node schema %s, hub schema %s', p_schema_version, sync.schema_version()));
  END IF;
  INSERT INTO sync.cursors AS k (peer_node_id, direction, last_xid, last_position)
  VALUES (n.id, 'pulled_by', p_after_xid, p_after_position)
  ON CONFLICT (peer_node_id, direction) DO UPDATE
     SET last_xid = EXCLUDED.last_xid, last_position = EXCLUDED.last_position, updated_at = now();
  UPDATE nodes SET last_seen_at = now(), is_online = true WHERE id = n.id;

  WITH scan AS MATERIALIZED (
    SELECT * FROM sync.change_log
     WHERE (xid, position) > (p_after_xid, p_after_position) AND xid < v_horizon
     ORDER BY xid, position
     LIMIT p_limit
  ), delivered AS (
    SELECT l.xid, l.position, l.origin_node_id, l.origin_xid, l.origin_position, l.table_name, l.record_id,
           CASE WHEN k.keep = 'as_delete' THEN 'D' ELSE l.op END AS op,
           CASE WHEN k.keep = 'as_delete' THEN NULL ELSE l.row_data END AS row_data,
           l.old_org_id, CASE WHEN k.keep = 'as_delete' THEN NULL ELSE l.new_org_id END AS new_org_id,
           l.hlc, l.base_hlc, 1 AS sub
      FROM scan l
      JOIN sync.tables t ON t.table_name = l.table_name AND t.enabled AND t.direction <> 'push_only'
      CROSS JOIN LATERAL (SELECT CASE
               WHEN n.org_scope IS NULL OR t.scope = 'global' THEN 'yes'
               WHEN t.scope = 'users' AND (l.op = 'D'
                      OR (l.row_data ->> 'org_id')::uuid = ANY (n.org_scope)
                      OR EXISTS (SELECT 1 FROM organization_memberships om
                                  WHERE om.user_id = l.record_id AND om.org_id = ANY (n.org_scope))) THEN 'yes'
               WHEN t.scope = 'org' AND l.new_org_id = ANY (n.org_scope) THEN 'yes'
               WHEN t.scope = 'org' AND l.old_org_id = ANY (n.org_scope) THEN 'as_delete'
               ELSE 'no' END AS keep) k
     WHERE l.origin_node_id <> n.id AND k.keep <> 'no'
  ), member_users AS (
    -- A user reaches a scoped node with a membership in its scope: the user's row has no change
    -- of its own then, so its current row and version go just before the membership.
    SELECT d.xid, d.position, coalesce(v.node_id, (SELECT node_id FROM sync.local)) AS origin_node_id,
           coalesce(lk.origin_xid, 0) AS origin_xid, coalesce(lk.origin_position, 0) AS origin_position,
           'users'::text AS table_name, u.id AS record_id, 'U' AS op, to_jsonb(u) AS row_data,
           NULL::uuid AS old_org_id, u.org_id AS new_org_id, coalesce(v.hlc, 0) AS hlc, NULL::bigint AS base_hlc, 0 AS sub
      FROM delivered d
      JOIN public.users u ON u.id = (d.row_data ->> 'user_id')::uuid
      LEFT JOIN sync.row_versions v ON v.table_name = 'users' AND v.record_id = u.id
      LEFT JOIN LATERAL (SELECT c.origin_xid, c.origin_position FROM sync.change_log c
                          WHERE c.table_name = 'users' AND c.record_id = u.id ORDER BY c.position DESC LIMIT 1) lk ON true
     WHERE n.org_scope IS NOT NULL AND d.table_name = 'organization_memberships' AND d.op <> 'D'
       AND EXISTS (SELECT 1 FROM sync.tables t WHERE t.table_name = 'users' AND t.enabled AND t.direction <> 'push_only')
  ), outgoing AS (
    SELECT xid, position, origin_node_id, origin_xid, origin_position, table_name::text, record_id, op::text, row_data,
           old_org_id, new_org_id, hlc, base_hlc, sub FROM delivered
    UNION ALL
    SELECT * FROM member_users
  )
  SELECT (SELECT coalesce(jsonb_agg(to_jsonb(d) - 'xid' - 'position' - 'sub' ORDER BY d.xid, d.position, d.sub), '[]') FROM outgoing d),
         (SELECT coalesce(jsonb_agg(jsonb_build_object('id', x.id, 'node_key', x.node_key, 'name', x.name, 'node_type', x.node_type)), '[]')
            FROM nodes x WHERE x.id IN (SELECT DISTINCT origin_node_id FROM outgoing)),
         (SELECT count(*) FROM scan),
         (SELECT xid FROM scan ORDER BY xid DESC, position DESC LIMIT 1),
         (SELECT position FROM scan ORDER BY xid DESC, position DESC LIMIT 1)
    INTO v_changes, v_origins, v_scanned, v_last_xid, v_last_pos;
  RETURN jsonb_build_object(
    'changes', v_changes,
    'origins', v_origins,
    'scanned', v_scanned,
    'more', v_scanned >= p_limit,
    'cursor', jsonb_build_object('xid', coalesce(v_last_xid, p_after_xid), 'position', coalesce(v_last_pos, p_after_position)));
END
$$;
COMMENT ON FUNCTION sync.pull(text, text, bigint, bigint, integer) IS 'Hub: changes after the node''s cursor for that node (scope, no echo, snapshot horizon); acknowledges the cursor sent';

-- A node records how far it got after applying a pull (the next pull acknowledges it too).
CREATE FUNCTION sync.pull_done(p_node_key text, p_xid bigint, p_position bigint, p_applied integer) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  n nodes := sync.authenticate(p_node_key);
BEGIN
  INSERT INTO sync.cursors AS k (peer_node_id, direction, last_xid, last_position)
  VALUES (n.id, 'pulled_by', p_xid, p_position)
  ON CONFLICT (peer_node_id, direction) DO UPDATE
     SET last_xid = EXCLUDED.last_xid, last_position = EXCLUDED.last_position, updated_at = now();
  INSERT INTO sync_runs (node_id, sync_type, status, completed_at, rows_inserted)
  VALUES (n.id, 'pull', 'success', now(), p_applied);
  UPDATE sync_table_state SET last_pull_at = now(), last_sync_at = now(), updated_at = now() WHERE node_id = n.id;
END
$$;

-- Seeding a node: called in one REPEATABLE READ transaction on the hub. The cursor makes the
-- node's first pull start at the oldest transaction the snapshot might not contain (replays of
-- what it does contain are recognised as the same version).
CREATE FUNCTION sync.snapshot_begin(p_node_key text, p_schema_version text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  n nodes := sync.authenticate(p_node_key);
  v_horizon bigint := pg_snapshot_xmin(pg_current_snapshot())::text::bigint;
BEGIN
  IF current_setting('transaction_isolation') NOT IN ('repeatable read', 'serializable') THEN
    RAISE EXCEPTION 'sync.snapshot_begin needs a REPEATABLE READ transaction' USING ERRCODE = 'invalid_transaction_state';
  END IF;
  IF p_schema_version IS DISTINCT FROM sync.schema_version() THEN
    RETURN jsonb_build_object('refused', 'schema_mismatch', 'detail', format('node schema %s, hub schema %s', p_schema_version, sync.schema_version()));
  END IF;
  RETURN jsonb_build_object(
    'cursor', jsonb_build_object('xid', v_horizon - 1, 'position', 9223372036854775807),
    'hub_node_id', (SELECT node_id FROM sync.local), 'node_id', n.id, 'org_scope', to_jsonb(n.org_scope),
    'nodes', (SELECT jsonb_agg(jsonb_build_object('id', x.id, 'node_key', x.node_key, 'name', x.name, 'node_type', x.node_type) ORDER BY x.node_key) FROM nodes x),
    'tables', (SELECT jsonb_agg(jsonb_build_object('table_name', t.table_name, 'direction', t.direction, 'scope', t.scope, 'rank', t.rank)
                                ORDER BY t.rank, t.table_name) FROM sync.tables t WHERE t.enabled));
END
$$;

-- One page of a table's in-scope rows with their versions (rows with no version: the baseline).
CREATE FUNCTION sync.snapshot_page(p_node_key text, p_table text, p_after uuid, p_limit integer) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  n   nodes := sync.authenticate(p_node_key);
  t   sync.tables;
  v_hub uuid := (SELECT node_id FROM sync.local);
  v   jsonb;
  v_filter text;
BEGIN
  SELECT * INTO t FROM sync.tables WHERE table_name = p_table AND enabled AND direction <> 'push_only';
  IF NOT FOUND THEN
    RAISE EXCEPTION 'table % is not pulled by nodes', p_table USING ERRCODE = 'invalid_parameter_value';
  END IF;
  v_filter := CASE
    WHEN n.org_scope IS NULL OR t.scope = 'global' THEN 'true'
    WHEN t.scope = 'users' THEN 'x.org_id = ANY ($4) OR EXISTS (SELECT 1 FROM organization_memberships om WHERE om.user_id = x.id AND om.org_id = ANY ($4))'
    ELSE 'x.org_id = ANY ($4)' END;
  EXECUTE format(
    'SELECT coalesce(jsonb_agg(jsonb_build_object(''row'', to_jsonb(x), ''hlc'', coalesce(v.hlc, 0), ''node_id'', coalesce(v.node_id, $3)) ORDER BY x.id), ''[]'')
       FROM (SELECT * FROM public.%I x WHERE ($1::uuid IS NULL OR x.id > $1) AND (%s) ORDER BY x.id LIMIT $2) x
       LEFT JOIN sync.row_versions v ON v.table_name = %L AND v.record_id = x.id', p_table, v_filter, p_table)
    INTO v USING p_after, p_limit, v_hub, n.org_scope;
  RETURN v;
END
$$;

-- ---------------------------------------------------------------------------------------------
-- Node side
-- ---------------------------------------------------------------------------------------------

CREATE FUNCTION sync.become_node(p_node_id uuid, p_node_key text, p_hub_node_id uuid, p_org_scope uuid[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  v_local sync.local;
BEGIN
  SELECT * INTO v_local FROM sync.local;
  IF FOUND AND (v_local.role <> 'node' OR v_local.node_id <> p_node_id) THEN
    RAISE EXCEPTION 'this database is already % %', CASE WHEN v_local.role = 'hub' THEN 'the hub' ELSE 'node' END, v_local.node_key
      USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'a database belongs to one network under one key; join a fresh database instead';
  END IF;
  INSERT INTO sync.local (node_id, node_key, role, hub_node_id, org_scope)
  VALUES (p_node_id, p_node_key, 'node', p_hub_node_id, p_org_scope)
  ON CONFLICT (singleton) DO UPDATE SET org_scope = EXCLUDED.org_scope, hub_node_id = EXCLUDED.hub_node_id;
  PERFORM sync.attach();
END
$$;

-- Local changes to push after the hub's cursor for this node, never past the snapshot horizon.
CREATE FUNCTION sync.outbox(p_after_xid bigint, p_after_position bigint, p_limit integer) RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_horizon bigint := sync.read_horizon();
  v jsonb;
BEGIN
  SELECT coalesce(jsonb_agg(to_jsonb(l) - 'xid' - 'position' - 'created_at' ORDER BY l.xid, l.position), '[]') INTO v
    FROM (SELECT * FROM sync.change_log
           WHERE origin_node_id = (SELECT node_id FROM sync.local)
             AND (xid, position) > (p_after_xid, p_after_position)
             AND xid < v_horizon
           ORDER BY xid, position LIMIT p_limit) l;
  RETURN v;
END
$$;

CREATE FUNCTION sync.outbox_backlog(p_after_xid bigint, p_after_position bigint) RETURNS bigint
LANGUAGE sql STABLE AS $$
  SELECT count(*) FROM sync.change_log
   WHERE origin_node_id = (SELECT node_id FROM sync.local) AND (xid, position) > (p_after_xid, p_after_position)
$$;

-- Applies a pulled batch and advances the pull cursor in the caller's transaction.
CREATE FUNCTION sync.apply_pulled(p_changes jsonb, p_origins jsonb, p_cursor_xid bigint, p_cursor_position bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  v_local sync.local;
  r jsonb;
BEGIN
  SELECT * INTO v_local FROM sync.local;
  IF NOT FOUND OR v_local.role <> 'node' THEN
    RAISE EXCEPTION 'this database has not joined a hub' USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
  -- Origins this node has not heard of yet (nodes that joined after it).
  INSERT INTO nodes (id, node_key, name, node_type)
  SELECT (o ->> 'id')::uuid, o ->> 'node_key', o ->> 'name', o ->> 'node_type'
    FROM jsonb_array_elements(coalesce(p_origins, '[]')) o
  ON CONFLICT DO NOTHING;
  r := sync.apply_batch(p_changes);
  INSERT INTO sync.cursors AS k (peer_node_id, direction, last_xid, last_position)
  VALUES (v_local.hub_node_id, 'pull', p_cursor_xid, p_cursor_position)
  ON CONFLICT (peer_node_id, direction) DO UPDATE
     SET last_xid = EXCLUDED.last_xid, last_position = EXCLUDED.last_position, updated_at = now();
  RETURN r;
END
$$;

-- Seeding: rows of one table from the hub's snapshot, with their versions (capture suppressed).
CREATE FUNCTION sync.seed_rows(p_table text, p_rows jsonb) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  v_uniq record;
  v_cols text;
  v_n    integer;
BEGIN
  PERFORM set_config('robbieverse.sync_applying', 'on', true);
  CREATE TEMP TABLE IF NOT EXISTS sync_seen (table_name text, id uuid, PRIMARY KEY (table_name, id)) ON COMMIT DROP;
  INSERT INTO sync_seen SELECT p_table, (e -> 'row' ->> 'id')::uuid FROM jsonb_array_elements(p_rows) e ON CONFLICT DO NOTHING;
  -- A local row holding the same natural key (another unique key) under another id gives way to
  -- the hub's row: seeded reference rows (branding per node, style tokens…) had random ids.
  FOR v_uniq IN
    SELECT string_agg(format('x.%I', a.attname), ', ' ORDER BY k.ord) AS xs, string_agg(format('r.%I', a.attname), ', ' ORDER BY k.ord) AS rs,
           bool_or(i.indnullsnotdistinct) AS nulls_equal
      FROM pg_index i
      CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY k(attnum, ord)
      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
     WHERE i.indrelid = to_regclass('public.' || quote_ident(p_table)) AND i.indisunique AND NOT i.indisprimary
       AND i.indpred IS NULL AND i.indexprs IS NULL
     GROUP BY i.indexrelid
  LOOP
    -- Keys with a NULL clash only where the index says NULLs are equal (NULLS NOT DISTINCT).
    EXECUTE format('DELETE FROM public.%I x USING jsonb_populate_recordset(NULL::public.%I, $1) r WHERE x.id <> r.id AND ROW(%s) %s ROW(%s)',
                   p_table, p_table, v_uniq.xs, CASE WHEN v_uniq.nulls_equal THEN 'IS NOT DISTINCT FROM' ELSE '=' END, v_uniq.rs)
      USING (SELECT jsonb_agg(e -> 'row') FROM jsonb_array_elements(p_rows) e);
  END LOOP;
  SELECT string_agg(format('%I', col), ', ') INTO v_cols FROM unnest(sync.writable_columns(p_table)) col;
  EXECUTE format('INSERT INTO public.%I (%s) SELECT %s FROM jsonb_populate_recordset(NULL::public.%I, $1)
                  ON CONFLICT (id) DO UPDATE SET (%s) = ROW(%s)', p_table, v_cols, v_cols, p_table, v_cols,
                 (SELECT string_agg(format('EXCLUDED.%I', col), ', ') FROM unnest(sync.writable_columns(p_table)) col))
    USING (SELECT jsonb_agg(sync.normalize_row(e -> 'row', sync.array_columns(p_table))) FROM jsonb_array_elements(p_rows) e);
  GET DIAGNOSTICS v_n = ROW_COUNT;
  INSERT INTO sync.row_versions (table_name, record_id, hlc, node_id, deleted, org_id)
  SELECT p_table, (e -> 'row' ->> 'id')::uuid, (e ->> 'hlc')::bigint, (e ->> 'node_id')::uuid, false, (e -> 'row' ->> 'org_id')::uuid
    FROM jsonb_array_elements(p_rows) e
  ON CONFLICT (table_name, record_id) DO UPDATE
     SET hlc = EXCLUDED.hlc, node_id = EXCLUDED.node_id, deleted = false, org_id = EXCLUDED.org_id;
  PERFORM sync.hlc_observe((SELECT max((e ->> 'hlc')::bigint) FROM jsonb_array_elements(p_rows) e));
  RETURN v_n;
END
$$;

-- Ends a seed: rows of the pulled tables that the hub's snapshot did not contain are deleted
-- (children first; not captured), so the node holds exactly the hub's in-scope rows.
CREATE FUNCTION sync.seed_finish() RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  t   sync.tables;
  v_n integer;
  r   jsonb := '{}';
BEGIN
  PERFORM set_config('robbieverse.sync_applying', 'on', true);
  CREATE TEMP TABLE IF NOT EXISTS sync_seen (table_name text, id uuid, PRIMARY KEY (table_name, id)) ON COMMIT DROP;
  FOR t IN SELECT * FROM sync.tables WHERE enabled AND direction <> 'push_only' ORDER BY rank DESC, table_name LOOP
    EXECUTE format('DELETE FROM public.%I x WHERE NOT EXISTS (SELECT 1 FROM sync_seen s WHERE s.table_name = %L AND s.id = x.id)',
                   t.table_name, t.table_name);
    GET DIAGNOSTICS v_n = ROW_COUNT;
    IF v_n > 0 THEN
      r := r || jsonb_build_object(t.table_name, v_n);
    END IF;
  END LOOP;
  DELETE FROM sync.row_versions v WHERE NOT EXISTS (SELECT 1 FROM sync_seen s WHERE s.table_name = v.table_name AND s.id = v.record_id)
     AND v.table_name IN (SELECT table_name FROM sync.tables WHERE direction <> 'push_only');
  DROP TABLE sync_seen;
  RETURN r;
END
$$;

-- Only the exchange functions are callable by node roles (granted per node at registration).
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA sync FROM PUBLIC;
