-- L39 — RobbieBlocks across a sync network (issue: every node builds its own apps from the
-- master's content; the master sees every node's deploys).
-- * robbieblocks_builds_here(node): whether this database's builder plans and builds for a node.
--   On a joined node: only for itself. On a hub: for the nodes that have not joined it (a joined
--   node builds for itself, and its deploy rows come to the hub by sync). Standalone: every node.
-- * Deploy rows travel node → hub (SYNC.md §4.10), but the change rows they point at
--   (robbieblocks_change_triggers) never leave the database that planned them: a deploy applied
--   from another database keeps its history without that reference.

CREATE FUNCTION public.robbieblocks_builds_here(p_node_id uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT CASE (SELECT role FROM sync.local)
           WHEN 'node' THEN p_node_id = (SELECT node_id FROM sync.local)
           WHEN 'hub' THEN NOT EXISTS (SELECT 1 FROM sync.registrations r WHERE r.node_id = p_node_id)
           ELSE true
         END
$$;
COMMENT ON FUNCTION public.robbieblocks_builds_here(uuid) IS
  'Whether this database''s builder builds for the node: a joined node for itself only, a hub for the nodes that have not joined it, a standalone database for all';

CREATE FUNCTION public.robbieblocks_deploy_from_elsewhere() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.change_trigger_id IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM robbieblocks_change_triggers c WHERE c.id = NEW.change_trigger_id) THEN
    NEW.change_trigger_id := NULL;
  END IF;
  -- Deploys this database queued for the node before it joined will never be built here: the
  -- node's own deploy for the pair supersedes them (and one active deploy per pair is the rule).
  IF NEW.deploy_status IN ('pending', 'building', 'deploying') THEN
    UPDATE robbieblocks_deploys
       SET deploy_status = 'failed', completed_at = now(), updated_at = now(),
           error_message = 'superseded: the node joined the sync network and builds its own apps'
     WHERE node_id = NEW.node_id AND app_namespace = NEW.app_namespace AND id <> NEW.id
       AND deploy_status IN ('pending', 'building', 'deploying');
  END IF;
  RETURN NEW;
END
$$;
COMMENT ON FUNCTION public.robbieblocks_deploy_from_elsewhere() IS
  'While the sync applier writes a deploy row from another database: drops its reference to a change row that stays there, and closes this database''s own active deploy of the same pair';

-- Runs only while applying (the WHEN names the applier's setting, so the sync engine leaves it as it is).
CREATE TRIGGER robbieblocks_deploys_from_elsewhere BEFORE INSERT OR UPDATE ON robbieblocks_deploys
  FOR EACH ROW WHEN (current_setting('robbieverse.sync_applying', true) = 'on')
  EXECUTE FUNCTION public.robbieblocks_deploy_from_elsewhere();
