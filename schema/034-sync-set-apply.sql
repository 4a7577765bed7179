-- L34 — sync at bulk speed (SYNC.md §4.5, §4.6): batches applied set-wise; no second audit row
-- for an applied change; a shorter capture path.
-- * sync.apply_batch applies a batch with a few statements per table instead of a subtransaction
--   and a dynamic upsert per change, when the batch holds nothing that needs the row-by-row path:
--   every change new (above its origin's mark, each origin's changes in order), within the clock
--   bound, each row either unversioned here or last written at the version its first change was
--   made on (no conflict to record), and a row's later changes each made on the one before (then
--   only its final image is written; every change is still relayed). Any other batch, and any batch whose
--   set-wise apply hits a constraint (a missing parent, a unique clash), is applied by 031's
--   row-by-row path (renamed sync.apply_batch_rows), which parks what cannot be applied. The
--   outcome is the same either way: each row ends at the change's image and version.
-- * Applying a change writes no audit row (the change's own audit row travels with it).
-- * Capture reads the clock once per row, without sync.wall_ms()'s query of sync.local.

ALTER FUNCTION sync.apply_batch(jsonb) RENAME TO apply_batch_rows;
COMMENT ON FUNCTION sync.apply_batch_rows(jsonb) IS
  'Applies a batch change by change (LWW, dedupe, parking in a subtransaction each); the path for batches sync.apply_batch cannot apply set-wise';

-- Retries parked changes (not clock skew: that waits for an operator). Returns (applied, resolved):
-- applied now, and no longer parked for any reason (applied, duplicate, older).
CREATE FUNCTION sync.retry_parked(OUT applied integer, OUT resolved integer)
LANGUAGE plpgsql AS $$
DECLARE
  p        sync.parked;
  v_cols   jsonb := '{}';
  v_result text;
BEGIN
  applied := 0;
  resolved := 0;
  FOR p IN SELECT * FROM sync.parked WHERE reason <> 'clock_skew' ORDER BY id LOOP
    SELECT a.p_cols, a.result INTO v_cols, v_result FROM sync.apply_one(p.change, v_cols, p.id) a;
    IF v_result <> 'parked' THEN
      DELETE FROM sync.parked WHERE id = p.id;
      resolved := resolved + 1;
      IF v_result = 'applied' THEN applied := applied + 1; END IF;
    END IF;
  END LOOP;
END
$$;

-- The set-wise path. Returns NULL (having changed nothing) when the batch needs the row path.
-- Every join here is between the batch (hundreds of rows, in a temporary table without
-- statistics) and a large table by its key: index lookups, never a scan of the large table
-- (which a hash join would do, at a cost growing with every version ever written).
CREATE FUNCTION sync.apply_batch_set(p_changes jsonb) RETURNS jsonb
LANGUAGE plpgsql SET enable_hashjoin = off SET enable_mergejoin = off AS $$
DECLARE
  v_self   sync.local;
  v_limit  bigint;
  v_n      integer;
  v_ok     boolean;
  v_max    bigint;
  t        record;
  v_cols   text[];
  v_arrays text[];
  v_list   text;
  v_sets   text;
  v_retry  record;
BEGIN
  IF jsonb_typeof(p_changes) IS DISTINCT FROM 'array' OR jsonb_array_length(p_changes) = 0 THEN
    RETURN NULL;
  END IF;
  SELECT * INTO v_self FROM sync.local;
  v_limit := (sync.wall_ms() + v_self.max_skew_ms) * 65536;

  CREATE TEMP TABLE IF NOT EXISTS sync_batch (
    ord bigint, table_name text, record_id uuid, op text, hlc bigint, base_hlc bigint,
    origin uuid, oxid bigint, opos bigint, old_org uuid, new_org uuid, row_data jsonb,
    prev_ord bigint, prev_hlc bigint, prev_origin uuid, final boolean
  ) ON COMMIT DELETE ROWS;
  DELETE FROM pg_temp.sync_batch;
  -- A row changed more than once in the batch: the earlier changes (prev_*) and the final one.
  INSERT INTO pg_temp.sync_batch
  SELECT p.*, lag(p.ord) OVER w, lag(p.hlc) OVER w, lag(p.origin) OVER w,
         row_number() OVER (PARTITION BY p.table_name, p.record_id ORDER BY p.ord DESC) = 1
    FROM (SELECT e.ord, e.c ->> 'table_name' AS table_name, (e.c ->> 'record_id')::uuid AS record_id, e.c ->> 'op' AS op,
                 (e.c ->> 'hlc')::bigint AS hlc, (e.c ->> 'base_hlc')::bigint AS base_hlc, (e.c ->> 'origin_node_id')::uuid AS origin,
                 (e.c ->> 'origin_xid')::bigint AS oxid, (e.c ->> 'origin_position')::bigint AS opos,
                 (e.c ->> 'old_org_id')::uuid AS old_org, (e.c ->> 'new_org_id')::uuid AS new_org, e.c -> 'row_data' AS row_data
            FROM jsonb_array_elements(p_changes) WITH ORDINALITY e(c, ord)) p
  WINDOW w AS (PARTITION BY p.table_name, p.record_id ORDER BY p.ord);
  GET DIAGNOSTICS v_n = ROW_COUNT;

  -- Lock the versions of the batch's rows (as the row path does, one by one), then qualify.
  -- (In key order, so two batches touching the same rows do not lock them in opposite orders.)
  PERFORM 1 FROM sync.row_versions v JOIN pg_temp.sync_batch b ON v.table_name = b.table_name AND v.record_id = b.record_id
   ORDER BY v.table_name, v.record_id
     FOR UPDATE OF v;
  -- A row's later changes in the batch must each be made on the one before (same origin, newer
  -- stamp, base = that stamp): then only the final one matters. Its first change is judged
  -- against the version here.
  SELECT bool_and(b.prev_ord IS NULL OR (b.origin = b.prev_origin AND b.base_hlc = b.prev_hlc AND b.hlc > b.prev_hlc))
         AND bool_and(b.hlc IS NOT NULL AND b.hlc <= v_limit AND b.op IN ('I', 'U', 'D')
                      AND (b.op = 'D' OR jsonb_typeof(b.row_data) = 'object'))
         AND bool_and(m.origin_node_id IS NULL OR (b.oxid, b.opos) > (m.last_xid, m.last_position))
         AND bool_and(b.prev_oxid IS NULL OR (b.oxid, b.opos) > (b.prev_oxid, b.prev_opos))
         AND bool_and(b.prev_ord IS NOT NULL OR v.record_id IS NULL
                      OR (sync.newer(b.hlc, b.origin, v.hlc, v.node_id) AND b.base_hlc IS NOT DISTINCT FROM v.hlc))
         AND bool_and(st.table_name IS NOT NULL),
         max(b.hlc)
    INTO v_ok, v_max
    FROM (SELECT x.*, lag(x.oxid) OVER w AS prev_oxid, lag(x.opos) OVER w AS prev_opos
            FROM pg_temp.sync_batch x WINDOW w AS (PARTITION BY x.origin ORDER BY x.ord)) b
    LEFT JOIN sync.origin_marks m ON m.origin_node_id = b.origin
    LEFT JOIN sync.row_versions v ON v.table_name = b.table_name AND v.record_id = b.record_id
    LEFT JOIN sync.tables st ON st.table_name = b.table_name AND to_regclass('public.' || quote_ident(b.table_name)) IS NOT NULL;
  IF NOT coalesce(v_ok, false) THEN
    RETURN NULL;
  END IF;

  PERFORM set_config('robbieverse.sync_applying', 'on', true);
  BEGIN
    -- Rows written or replaced, parents first; then deletes, children first.
    FOR t IN SELECT b.table_name, st.rank, bool_or(b.op <> 'D') AS upserts
               FROM pg_temp.sync_batch b JOIN sync.tables st USING (table_name) WHERE b.final
              GROUP BY b.table_name, st.rank ORDER BY st.rank, b.table_name LOOP
      CONTINUE WHEN NOT t.upserts;
      v_cols := sync.writable_columns(t.table_name);
      v_arrays := sync.array_columns(t.table_name);
      SELECT string_agg(format('%I', col), ', '), string_agg(format('%I = EXCLUDED.%I', col, col), ', ')
        INTO v_list, v_sets FROM unnest(v_cols) col;
      EXECUTE format('INSERT INTO public.%I AS t (%s)
                      SELECT %s FROM (SELECT r.* FROM pg_temp.sync_batch b, LATERAL jsonb_populate_record(NULL::public.%I, %s) r
                                       WHERE b.table_name = $1 AND b.final AND b.op <> ''D'' ORDER BY b.ord) r
                      ON CONFLICT (id) DO UPDATE SET %s',
                     t.table_name, v_list, v_list, t.table_name,
                     CASE WHEN cardinality(v_arrays) > 0 THEN 'sync.normalize_row(b.row_data, $2)' ELSE 'b.row_data' END,
                     v_sets)
        USING t.table_name, v_arrays;
    END LOOP;
    FOR t IN SELECT b.table_name FROM pg_temp.sync_batch b JOIN sync.tables st USING (table_name)
              WHERE b.final AND b.op = 'D' GROUP BY b.table_name, st.rank ORDER BY st.rank DESC, b.table_name DESC LOOP
      EXECUTE format('DELETE FROM public.%I WHERE id IN (SELECT record_id FROM pg_temp.sync_batch WHERE table_name = $1 AND final AND op = ''D'')',
                     t.table_name)
        USING t.table_name;
    END LOOP;
  EXCEPTION WHEN foreign_key_violation OR unique_violation OR check_violation OR not_null_violation OR exclusion_violation THEN
    -- Something here needs the row path (which parks what cannot be applied): nothing was written.
    PERFORM set_config('robbieverse.sync_applying', 'off', true);
    RETURN NULL;
  END;

  INSERT INTO sync.row_versions AS r (table_name, record_id, hlc, node_id, deleted, org_id)
  SELECT table_name, record_id, hlc, origin, op = 'D', CASE WHEN op = 'D' THEN old_org ELSE new_org END FROM pg_temp.sync_batch WHERE final
  ON CONFLICT (table_name, record_id) DO UPDATE
     SET hlc = EXCLUDED.hlc, node_id = EXCLUDED.node_id, deleted = EXCLUDED.deleted, org_id = EXCLUDED.org_id;

  INSERT INTO sync.origin_marks AS m (origin_node_id, last_xid, last_position)
  SELECT DISTINCT ON (origin) origin, oxid, opos FROM pg_temp.sync_batch ORDER BY origin, ord DESC
  ON CONFLICT (origin_node_id) DO UPDATE SET last_xid = EXCLUDED.last_xid, last_position = EXCLUDED.last_position, updated_at = now();

  -- The hub relays what it applied to the nodes that pull these tables, in the batch's order.
  IF v_self.role = 'hub' THEN
    INSERT INTO sync.change_log (origin_node_id, origin_xid, origin_position, table_name, record_id, op, row_data,
                                 old_org_id, new_org_id, hlc, base_hlc)
    SELECT b.origin, b.oxid, b.opos, b.table_name, b.record_id, b.op, b.row_data, b.old_org, b.new_org, b.hlc, b.base_hlc
      FROM pg_temp.sync_batch b JOIN sync.tables st USING (table_name)
     WHERE st.direction <> 'push_only'
     ORDER BY b.ord;
  END IF;

  v_retry := sync.retry_parked();
  PERFORM sync.hlc_observe(v_max);
  PERFORM set_config('robbieverse.sync_applying', 'off', true);
  RETURN jsonb_build_object('applied', v_n + v_retry.applied, 'skipped', 0, 'discarded', 0,
                            'parked', -v_retry.applied, 'unparked', v_retry.resolved);
END
$$;
COMMENT ON FUNCTION sync.apply_batch_set(jsonb) IS
  'Applies a batch with a few statements per table when it needs no row-by-row decision (all new, no conflict, within the clock bound); NULL, having changed nothing, otherwise';

CREATE FUNCTION sync.apply_batch(p_changes jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  r jsonb := sync.apply_batch_set(p_changes);
BEGIN
  IF r IS NOT NULL THEN
    RETURN r || '{"path": "set"}';
  END IF;
  RETURN sync.apply_batch_rows(p_changes) || '{"path": "rows"}';
END
$$;
COMMENT ON FUNCTION sync.apply_batch(jsonb) IS 'Applies a batch of incoming changes in the caller''s transaction (LWW, dedupe, parking), set-wise when it can; returns counts and the path taken (set, rows)';

-- A node's push is checked with one query instead of a loop over its changes (same reasons and
-- messages, the first offending change reported).
CREATE OR REPLACE FUNCTION sync.validate_push(n nodes, p_changes jsonb, OUT reason text, OUT detail text, OUT bad jsonb)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  v record;
BEGIN
  IF jsonb_typeof(p_changes) IS DISTINCT FROM 'array' THEN
    reason := 'malformed'; detail := 'the batch is not a JSON array of changes'; RETURN;
  END IF;
  -- Shape first; then one query with the casts. Only when a cast fails are the changes cast one
  -- by one, to name the first that has a field of the wrong type.
  SELECT e.i, e.c INTO v
    FROM jsonb_array_elements(p_changes) WITH ORDINALITY e(c, i)
   WHERE jsonb_typeof(e.c) <> 'object'
      OR NOT (e.c ?& ARRAY['table_name', 'record_id', 'op', 'hlc', 'origin_node_id', 'origin_xid', 'origin_position'])
      OR (e.c ->> 'op') NOT IN ('I', 'U', 'D')
      OR ((e.c ->> 'op') <> 'D' AND (jsonb_typeof(e.c -> 'row_data') IS DISTINCT FROM 'object'
                                     OR (e.c -> 'row_data' ->> 'id') IS DISTINCT FROM (e.c ->> 'record_id')))
   ORDER BY e.i LIMIT 1;
  IF FOUND THEN
    reason := 'malformed'; detail := format('change %s is not a valid change (fields, op, row image)', v.i); bad := v.c; RETURN;
  END IF;
  BEGIN
    SELECT x.i, x.c, x.origin, x.table_name, x.t_ok, x.v_new, x.v_old, x.op, x.bad_type INTO v
      FROM (SELECT e.i, e.c, (e.c ->> 'origin_node_id')::uuid AS origin, e.c ->> 'table_name' AS table_name, e.c ->> 'op' AS op,
                   (t.table_name IS NOT NULL AND t.direction <> 'pull_only') AS t_ok, t.scope,
                   CASE WHEN e.c ->> 'op' = 'D' THEN NULL ELSE (e.c -> 'row_data' ->> 'org_id')::uuid END AS v_new,
                   (e.c ->> 'old_org_id')::uuid AS v_old,
                   (e.c ->> 'record_id')::uuid IS NULL OR (e.c ->> 'hlc')::bigint IS NULL OR (e.c ->> 'origin_xid')::bigint IS NULL
                     OR (e.c ->> 'origin_position')::bigint IS NULL OR coalesce((e.c ->> 'base_hlc')::bigint < 0, false) AS bad_type
              FROM jsonb_array_elements(p_changes) WITH ORDINALITY e(c, i)
              LEFT JOIN sync.tables t ON t.table_name = e.c ->> 'table_name' AND t.enabled) x
     WHERE x.bad_type OR x.origin <> n.id OR NOT x.t_ok
        OR (n.org_scope IS NOT NULL AND x.scope <> 'global'
            AND ((x.v_new IS NOT NULL AND NOT x.v_new = ANY (n.org_scope)) OR (x.v_old IS NOT NULL AND NOT x.v_old = ANY (n.org_scope))
                 OR (x.op <> 'D' AND x.v_new IS NULL)))
     ORDER BY x.i LIMIT 1;
  EXCEPTION WHEN invalid_text_representation OR numeric_value_out_of_range OR data_exception THEN
    reason := 'malformed';
    FOR v IN SELECT e.i, e.c FROM jsonb_array_elements(p_changes) WITH ORDINALITY e(c, i) ORDER BY e.i LOOP
      BEGIN
        PERFORM (v.c ->> 'record_id')::uuid, (v.c ->> 'origin_node_id')::uuid, (v.c ->> 'hlc')::bigint, (v.c ->> 'base_hlc')::bigint,
                (v.c ->> 'origin_xid')::bigint, (v.c ->> 'origin_position')::bigint, (v.c ->> 'old_org_id')::uuid,
                (v.c -> 'row_data' ->> 'org_id')::uuid;
      EXCEPTION WHEN invalid_text_representation OR numeric_value_out_of_range OR data_exception THEN
        detail := format('change %s has a field of the wrong type', v.i); bad := v.c; RETURN;
      END;
    END LOOP;
    detail := 'a change has a field of the wrong type'; RETURN;
  END;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  bad := v.c;
  IF v.bad_type THEN
    reason := 'malformed'; detail := format('change %s is not a valid change (a key field is null)', v.i);
  ELSIF v.origin <> n.id THEN
    reason := 'wrong_origin'; detail := format('change %s claims origin %s; node %s may push only its own changes', v.i, v.c ->> 'origin_node_id', n.node_key);
  ELSIF NOT v.t_ok THEN
    reason := 'table_not_synced'; detail := format('change %s is for table %s, which nodes may not push', v.i, v.table_name);
  ELSE
    reason := 'out_of_scope';
    detail := format('change %s (%s %s) is for organization %s, outside node %s''s scope', v.i, v.table_name, v.c ->> 'record_id',
                     coalesce(v.v_new, v.v_old), n.node_key);
  END IF;
END
$$;

-- Applying a change writes no audit row any more: the change's own audit row (written where the
-- change was made) travels with it (audit_log syncs node → hub), and each database that applied
-- it wrote another, which came back to the hub as one more copy per node. The audit trigger joins
-- the triggers that stand aside while the applier works; validation and RobbieBlocks hints still run.
CREATE OR REPLACE FUNCTION sync.guard_derived_triggers(p_table text) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  r       record;
  v_def   text;
  v_guard text := $g$current_setting('robbieverse.sync_applying'::text, true) IS DISTINCT FROM 'on'::text$g$;
  v_n     integer := 0;
BEGIN
  FOR r IN
    SELECT t.tgname, pg_get_triggerdef(t.oid) AS def
      FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
     WHERE t.tgrelid = to_regclass('public.' || quote_ident(p_table)) AND NOT t.tgisinternal
       AND p.pronamespace <> 'sync'::regnamespace
       AND p.proname NOT IN ('check_entity_ref', 'check_embedding', 'check_branding_overrides',
                             'notify_robbieblocks_change', 'organization_keeps_an_owner', 'ensure_self_access')
       AND t.tgconstraint = 0
       AND position('robbieverse.sync_applying' IN pg_get_triggerdef(t.oid)) = 0
  LOOP
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

-- ---------------------------------------------------------------------------------------------
-- Capture: the same row trigger as 031's; the clock is read once per row from the sync.local row
-- it already holds, and the stamp is taken on sync.hlc_next's fast path. (Statement triggers with transition tables
-- were measured too: faster for a statement of thousands of rows, four times slower for a single
-- row, which is how applications and the audit trigger write; see bench/RESULTS.md.)
-- ---------------------------------------------------------------------------------------------

-- The next stamp given the wall clock as a stamp floor (ms × 65536): sync.hlc_next's fast path.
CREATE FUNCTION sync.next_stamp(p_floor bigint) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v bigint;
BEGIN
  PERFORM pg_advisory_lock_shared(1380078163, 2);
  v := nextval('sync.hlc_seq');
  PERFORM pg_advisory_unlock_shared(1380078163, 2);
  IF v >= p_floor THEN
    RETURN v;
  END IF;
  RETURN sync.hlc_next(p_floor / 65536);
END
$$;

CREATE OR REPLACE FUNCTION sync.capture() RETURNS trigger
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
  v_floor  bigint;
BEGIN
  IF current_setting('robbieverse.sync_applying', true) = 'on' THEN
    RETURN NULL;
  END IF;
  SELECT * INTO v_local FROM sync.local;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  v_floor := (floor(date_part('epoch', clock_timestamp()) * 1000)::bigint + v_local.clock_adjust_ms) * 65536;
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
    v_hlc := sync.next_stamp(v_floor);
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
    v_hlc := sync.next_stamp(v_floor);
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

-- A database that has joined a network: its audit triggers stand aside while applying (above).
SELECT sync.attach() FROM sync.local;

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA sync FROM PUBLIC;
