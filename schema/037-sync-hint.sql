-- L37 — the hub tells connected nodes that it has changes for them (issue: master changes reach
-- nodes in about a second, not only at the scheduled pull).
-- * Every statement that adds rows to the hub's change log (capture of a local write, or the relay
--   of a node's push) sends NOTIFY sync_changes with the writing transaction's id as payload. It
--   is delivered when that transaction commits, to every session that LISTENs on the hub: the
--   node daemons, over the connection each opened itself.
-- * The payload lets a node tell whether its pull has reached that transaction: pulls read only
--   transactions older than the oldest one still running on the hub (sync.read_horizon), so a hint
--   can arrive before its changes are readable; the node pulls again shortly until its cursor
--   passes the hinted transaction.
-- * On a node the trigger does nothing (nodes hint their own daemon with sync_push, from capture).

CREATE FUNCTION sync.hint_changes() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM sync.local WHERE role = 'hub') THEN
    PERFORM pg_notify('sync_changes', pg_current_xact_id()::text);
  END IF;
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION sync.hint_changes() IS
  'Hub: NOTIFY sync_changes (payload: the writing transaction id) after rows are added to the change log; nothing on a node';

CREATE TRIGGER change_log_hint AFTER INSERT ON sync.change_log
  FOR EACH STATEMENT EXECUTE FUNCTION sync.hint_changes();

REVOKE EXECUTE ON FUNCTION sync.hint_changes() FROM PUBLIC;
