-- L40 — a page's block order is unique by an ordinary constraint (BLOCKS.md §2: content scripts
-- insert page blocks with ON CONFLICT (page_id, block_order) DO NOTHING).
-- * 006 declared robbieblocks_page_blocks_page_id_block_order_key DEFERRABLE, and PostgreSQL
--   refuses ON CONFLICT on a deferrable unique constraint ("ON CONFLICT does not support
--   deferrable unique constraints/exclusion constraints as arbiters"). It becomes NOT DEFERRABLE,
--   under the same name.
-- * Existing rows already satisfy it (a deferrable constraint is still checked at commit), so the
--   swap cannot fail; a database where the constraint is already immediate is left as it is.
-- * The price: a reorder can no longer pass through a duplicate order inside a transaction. Move
--   the blocks out of the way first (to negative orders), then to their final orders
--   (docs/blocks.md).
-- * The sync applier's set-wise path (034) writes each row's final image in one statement per
--   table. A deferrable constraint was checked at the end of that statement; an immediate one is
--   checked row by row, so a batch in which rows swap keys (two blocks trading orders) clashed
--   with itself and went the slow row-by-row way. Now such a batch is replayed in its origin's
--   order, one statement per change, still in one piece (docs/sync.md).

DO $$
DECLARE
  v_deferrable boolean;
BEGIN
  SELECT c.condeferrable INTO v_deferrable
    FROM pg_constraint c
   WHERE c.conrelid = 'public.robbieblocks_page_blocks'::regclass
     AND c.conname = 'robbieblocks_page_blocks_page_id_block_order_key';
  IF v_deferrable IS NULL THEN
    ALTER TABLE public.robbieblocks_page_blocks
      ADD CONSTRAINT robbieblocks_page_blocks_page_id_block_order_key UNIQUE (page_id, block_order);
  ELSIF v_deferrable THEN
    ALTER TABLE public.robbieblocks_page_blocks
      DROP CONSTRAINT robbieblocks_page_blocks_page_id_block_order_key,
      ADD CONSTRAINT robbieblocks_page_blocks_page_id_block_order_key UNIQUE (page_id, block_order);
  END IF;
END
$$;

COMMENT ON CONSTRAINT robbieblocks_page_blocks_page_id_block_order_key ON public.robbieblocks_page_blocks IS
  'One block per order on a page; not deferrable, so ON CONFLICT (page_id, block_order) works (reorder in two steps: docs/blocks.md)';

-- Replays the batch in pg_temp.sync_batch (set up by sync.apply_batch_set) change by change, in
-- its order: every image, not only each row's final one, as the origin wrote them. Each step was
-- valid there under the same constraints, so rows that trade unique keys pass each other exactly
-- as they did at the origin. Raises what the set path would (the caller falls back to the row
-- path); returns the number of changes replayed.
CREATE FUNCTION sync.replay_batch() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  b       record;
  v_stmts jsonb := '{}';
  v_list  text;
  v_sets  text;
  v_n     integer := 0;
BEGIN
  FOR b IN SELECT x.table_name, x.record_id, x.op, x.row_data FROM pg_temp.sync_batch x ORDER BY x.ord LOOP
    IF b.op = 'D' THEN
      EXECUTE format('DELETE FROM public.%I WHERE id = $1', b.table_name) USING b.record_id;
    ELSE
      IF NOT v_stmts ? b.table_name THEN
        SELECT string_agg(format('%I', col), ', '), string_agg(format('%I = EXCLUDED.%I', col, col), ', ')
          INTO v_list, v_sets FROM unnest(sync.writable_columns(b.table_name)) col;
        v_stmts := v_stmts || jsonb_build_object(b.table_name, jsonb_build_object(
          'sql', format('INSERT INTO public.%I AS t (%s) SELECT %s FROM jsonb_populate_record(NULL::public.%I, $1)
                         ON CONFLICT (id) DO UPDATE SET %s', b.table_name, v_list, v_list, b.table_name, v_sets),
          'arrays', to_jsonb(sync.array_columns(b.table_name))));
      END IF;
      EXECUTE v_stmts -> b.table_name ->> 'sql'
        USING sync.normalize_row(b.row_data, ARRAY(SELECT jsonb_array_elements_text(v_stmts -> b.table_name -> 'arrays')));
    END IF;
    v_n := v_n + 1;
  END LOOP;
  RETURN v_n;
END
$$;
COMMENT ON FUNCTION sync.replay_batch() IS
  'Set-wise apply, second try: the batch''s changes one statement each in their order (rows that trade unique keys within the batch); raises on any other clash';

-- 034's set-wise apply, with the replay above when the final images clash on a unique key.
CREATE OR REPLACE FUNCTION sync.apply_batch_set(p_changes jsonb) RETURNS jsonb
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
  v_replayed integer := 0;
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
  EXCEPTION
    WHEN unique_violation THEN
      -- Final images can clash with each other where the origin moved rows through each other's
      -- keys (two blocks swapping orders: each final order is held by the other row until it is
      -- written). The origin's own sequence never clashed there: replay it (sync.replay_batch).
      -- A clash that remains is with a row outside the batch: the row path parks it.
      BEGIN
        v_replayed := sync.replay_batch();
      EXCEPTION WHEN foreign_key_violation OR unique_violation OR check_violation OR not_null_violation OR exclusion_violation THEN
        PERFORM set_config('robbieverse.sync_applying', 'off', true);
        RETURN NULL;
      END;
    WHEN foreign_key_violation OR check_violation OR not_null_violation OR exclusion_violation THEN
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
                            'parked', -v_retry.applied, 'unparked', v_retry.resolved, 'replayed', v_replayed);
END
$$;
COMMENT ON FUNCTION sync.apply_batch_set(jsonb) IS
  'Applies a batch with a few statements per table when it needs no row-by-row decision (all new, no conflict, within the clock bound), replaying it change by change when its rows trade unique keys; NULL, having changed nothing, otherwise';

REVOKE EXECUTE ON FUNCTION sync.replay_batch() FROM PUBLIC;
