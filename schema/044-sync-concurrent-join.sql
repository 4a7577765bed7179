-- L44 — two nodes joining a new master at the same moment (SYNC.md §4.2): both first joins ran
-- sync.become_hub, both found no sync.local row and the second failed on its primary key
-- ("duplicate key value violates unique constraint local_pkey"). Becoming the hub now takes a
-- transaction-level advisory lock first, so the second caller waits for the first, then finds the
-- row (each statement of a READ COMMITTED function reads afresh) and only re-attaches. Otherwise
-- as in 031.

CREATE OR REPLACE FUNCTION sync.become_hub(p_node_key text DEFAULT NULL) RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
  v_local sync.local;
  v_id    uuid;
  v_key   text;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('robbieverse.sync.become_hub'));
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
