-- L45 — a node limited to some organizations holds only those organizations' rows of
-- `organizations` (SYNC.md §4.10). Until now the table synced with scope 'global': a node joined
-- with --org "Org A" received every organization's name, domain and settings.
-- * A new scope, 'self': the row's own id is its organization. Capture records it in
--   sync.change_log.old_org_id / new_org_id and sync.row_versions.org_id as scope 'org' records
--   org_id; sync.pull filters 'self' exactly like 'org' (so an update or a delete of an
--   organization reaches only the nodes whose scope includes it); sync.snapshot_page seeds a
--   limited node with `id = ANY (scope)`; a pushed change is checked against its record id.
--   The apply paths (031, 034) store the organization the change carries and need no change.
-- * Upgrade in place: the hub's existing change-log rows and versions of organizations get their
--   organization (the record id), so pulls after this migration scope them correctly; the
--   capture triggers are attached again with the new scope as their argument.
-- * users.org_id (a user's home organization) is a foreign key to organizations (RESTRICT,
--   deferrable, checked at commit: the applier does not run with session_replication_role =
--   replica, every foreign key is enforced while applying). A user reaches a limited node when
--   they are a member of one of its organizations, and their home organization may be another:
--   that row would violate the key there. The key is not kept on a node limited to some
--   organizations (sync.become_node drops it; seeding with all organizations restores it).
--   users is read-only on a node (pull_only): only the applier writes it, with rows the hub
--   checked against the same key. Sending the home organization too would hand the node another
--   organization's row; rewriting the user's org_id for the node would make its row differ from
--   the hub's. A later migration that alters users_org_id_fkey must allow for its absence there.
-- * A limited node upgraded from an earlier version holds every organization: it drops the key
--   and deletes the organizations outside its scope (their other rows never reached it).

ALTER TABLE sync.tables DROP CONSTRAINT tables_scope_check;
ALTER TABLE sync.tables ADD CONSTRAINT tables_scope_check CHECK (scope IN ('org', 'global', 'users', 'self'));
COMMENT ON COLUMN sync.tables.scope IS
  'Which nodes limited to some organizations receive a row: global = all; org = its org_id in the scope; self = its own id in the scope (organizations); users = a membership (or home organization) in the scope';
UPDATE sync.tables SET scope = 'self' WHERE table_name = 'organizations';

-- ---------------------------------------------------------------------------------------------
-- Capture: 034's row trigger; scope 'self' takes the row's own id as its organization.
-- ---------------------------------------------------------------------------------------------
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
    v_org := CASE v_scope WHEN 'global' THEN NULL WHEN 'self' THEN v_id ELSE (v_new ->> 'org_id')::uuid END;
  END IF;
  IF TG_OP <> 'INSERT' THEN
    v_old := to_jsonb(OLD);
    v_old_id := (v_old ->> 'id')::uuid;
    v_oldorg := CASE v_scope WHEN 'global' THEN NULL WHEN 'self' THEN v_old_id ELSE (v_old ->> 'org_id')::uuid END;
  END IF;
  -- An update that changes nothing but updated_at is not a change.
  IF TG_OP = 'UPDATE' AND (v_new - 'updated_at') = (v_old - 'updated_at') THEN
    RETURN NULL;
  END IF;
  -- A node limited to some organizations cannot write rows of others: the hub would refuse the
  -- batch holding such a change, and every later change of this node behind it.
  IF v_local.role = 'node' AND v_local.org_scope IS NOT NULL AND v_scope IN ('org', 'self')
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
      v_oldorg := CASE v_scope WHEN 'global' THEN NULL WHEN 'self' THEN v_old_id ELSE (v_old ->> 'org_id')::uuid END;
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

-- ---------------------------------------------------------------------------------------------
-- Pull (031's body, renamed by 033): scope 'self' is filtered like 'org', on the organization
-- capture recorded.
-- ---------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION sync.pull_after_horizon_check(p_node_key text, p_schema_version text, p_after_xid bigint, p_after_position bigint, p_limit integer)
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
               WHEN t.scope IN ('org', 'self') AND l.new_org_id = ANY (n.org_scope) THEN 'yes'
               WHEN t.scope IN ('org', 'self') AND l.old_org_id = ANY (n.org_scope) THEN 'as_delete'
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

-- Snapshot pages: a limited node is seeded with the organizations of its scope only.
CREATE OR REPLACE FUNCTION sync.snapshot_page(p_node_key text, p_table text, p_after uuid, p_limit integer) RETURNS jsonb
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
    WHEN t.scope = 'self' THEN 'x.id = ANY ($4)'
    ELSE 'x.org_id = ANY ($4)' END;
  EXECUTE format(
    'SELECT coalesce(jsonb_agg(jsonb_build_object(''row'', to_jsonb(x), ''hlc'', coalesce(v.hlc, 0), ''node_id'', coalesce(v.node_id, $3)) ORDER BY x.id), ''[]'')
       FROM (SELECT * FROM public.%I x WHERE ($1::uuid IS NULL OR x.id > $1) AND (%s) ORDER BY x.id LIMIT $2) x
       LEFT JOIN sync.row_versions v ON v.table_name = %L AND v.record_id = x.id', p_table, v_filter, p_table)
    INTO v USING p_after, p_limit, v_hub, n.org_scope;
  RETURN v;
END
$$;


-- Push checks (034's): a 'self' change's organization is its record id.
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
                   CASE WHEN e.c ->> 'op' = 'D' THEN NULL WHEN t.scope = 'self' THEN (e.c ->> 'record_id')::uuid
                        ELSE (e.c -> 'row_data' ->> 'org_id')::uuid END AS v_new,
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

-- ---------------------------------------------------------------------------------------------
-- The home-organization key on limited nodes (see the header).
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION sync.fit_home_organization_key() RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  v_limited boolean := EXISTS (SELECT 1 FROM sync.local WHERE role = 'node' AND org_scope IS NOT NULL);
  v_present boolean := EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = 'public.users'::regclass AND conname = 'users_org_id_fkey');
BEGIN
  IF v_limited AND v_present THEN
    ALTER TABLE public.users DROP CONSTRAINT users_org_id_fkey;
    RETURN 'dropped';
  ELSIF NOT v_limited AND NOT v_present THEN
    -- Checks the caller deferred run now: ALTER TABLE refuses a table with pending trigger events.
    SET CONSTRAINTS ALL IMMEDIATE;
    ALTER TABLE public.users
      ADD CONSTRAINT users_org_id_fkey FOREIGN KEY (org_id) REFERENCES public.organizations (id)
      ON DELETE RESTRICT DEFERRABLE INITIALLY IMMEDIATE;
    RETURN 'restored';
  END IF;
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION sync.fit_home_organization_key() IS
  'Drops users_org_id_fkey on a node limited to some organizations (a member''s home organization may be outside its scope); restores it where every organization is held';

-- 031's become_node and seed_finish, kept as they are (renamed) and followed by the key's fit:
-- joining with a scope drops it before anything is seeded; a seed with every organization
-- (joined again without --org) restores it once every row is in place.
ALTER FUNCTION sync.become_node(uuid, text, uuid, uuid[]) RENAME TO become_node_unfitted;
CREATE FUNCTION sync.become_node(p_node_id uuid, p_node_key text, p_hub_node_id uuid, p_org_scope uuid[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM sync.become_node_unfitted(p_node_id, p_node_key, p_hub_node_id, p_org_scope);
  IF p_org_scope IS NOT NULL THEN
    PERFORM sync.fit_home_organization_key();
  END IF;
END
$$;
COMMENT ON FUNCTION sync.become_node(uuid, text, uuid, uuid[]) IS
  'Makes this database a node of the hub (identity, scope, capture triggers); a node limited to some organizations does without users_org_id_fkey';

ALTER FUNCTION sync.seed_finish() RENAME TO seed_remove_unseen;
CREATE FUNCTION sync.seed_finish() RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  r jsonb := sync.seed_remove_unseen();
BEGIN
  PERFORM sync.fit_home_organization_key();
  RETURN r;
END
$$;
COMMENT ON FUNCTION sync.seed_finish() IS
  'Ends a seed: deletes the pulled tables'' rows the hub''s snapshot did not contain (returns counts per table) and fits the home-organization key to the scope';

-- ---------------------------------------------------------------------------------------------
-- Upgrade in place
-- ---------------------------------------------------------------------------------------------

-- What capture would have recorded: an insert has no old organization, a delete no new one.
-- (Versions keep their changed_at: the retention of tombstones is not restarted.)
UPDATE sync.change_log
   SET old_org_id = CASE WHEN op = 'I' THEN NULL ELSE record_id END,
       new_org_id = CASE WHEN op = 'D' THEN NULL ELSE record_id END
 WHERE table_name = 'organizations';
ALTER TABLE sync.row_versions DISABLE TRIGGER row_versions_changed_at;
UPDATE sync.row_versions SET org_id = record_id
 WHERE table_name = 'organizations' AND org_id IS DISTINCT FROM record_id;
ALTER TABLE sync.row_versions ENABLE TRIGGER row_versions_changed_at;

-- A limited node: no key; the organizations outside its scope go (not captured: they are the
-- hub's rows, and this node never sends organizations).
DO $$
DECLARE
  v_scope uuid[] := (SELECT org_scope FROM sync.local WHERE role = 'node');
BEGIN
  IF v_scope IS NOT NULL THEN
    PERFORM sync.fit_home_organization_key();
    PERFORM set_config('robbieverse.sync_applying', 'on', true);
    DELETE FROM sync.row_versions WHERE table_name = 'organizations' AND NOT record_id = ANY (v_scope);
    DELETE FROM public.organizations WHERE NOT id = ANY (v_scope);
    PERFORM set_config('robbieverse.sync_applying', 'off', true);
  END IF;
END
$$;

-- Capture triggers carry the scope as their argument: attach them again (hub and nodes).
SELECT sync.attach() FROM sync.local;

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA sync FROM PUBLIC;
