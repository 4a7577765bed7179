-- L30 — platform operators and sign-in protection (the HTTP API).
-- * platform_operators ([global]): users who may act on the nodes that serve everyone (manual
--   RobbieBlocks deploys and rollbacks). Not an organization role: founding an organization
--   makes its owner, never an operator. `robbieverse operators add|list|remove`, and the first
--   admin that `robbieverse up` creates, manage it.
-- * auth_throttle ([global]): failed sign-ins per account (SHA-256 of the lower-cased e-mail,
--   whether or not it exists) and per client address, for backoff and a temporary lock. Rows
--   are short-lived: the API deletes the ones whose window and lock have passed.
-- * user_session_retired_refresh: the refresh tokens a session rotated out (hashes only), so a
--   stolen token presented again is recognised as reuse and the whole session is revoked.

CREATE TABLE platform_operators (
  user_id    uuid        NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  granted_by uuid        REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  note       text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX platform_operators_granted_by_idx ON platform_operators (granted_by);
COMMENT ON TABLE platform_operators IS 'Users who may deploy and roll back RobbieBlocks sites on the shared nodes (platform level, not an organization role)';
CREATE TRIGGER platform_operators_audit AFTER INSERT OR UPDATE OR DELETE ON platform_operators
  FOR EACH ROW EXECUTE FUNCTION audit_row_change();

-- Installations made before this migration: the active owners of the Default Organization (the
-- first admin `up` created) keep the deploy and rollback they had.
INSERT INTO platform_operators (user_id, note)
SELECT m.user_id, 'owner of the Default Organization when operators were introduced'
  FROM organization_memberships m JOIN users u ON u.id = m.user_id
 WHERE m.org_id = '00000000-0000-4000-8000-000000000001' AND m.role = 'owner' AND m.is_active
   AND coalesce(u.is_active, true) AND u.password_hash LIKE '$argon2%'
ON CONFLICT (user_id) DO NOTHING;

-- Called inside an API request (as robbie_app, after api_authenticate): is the acting user an operator?
CREATE FUNCTION app_is_platform_operator() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT EXISTS (SELECT 1 FROM platform_operators WHERE user_id = app_current_user_id())
$$;
COMMENT ON FUNCTION app_is_platform_operator() IS 'True when app_current_user_id() is a platform operator';
REVOKE EXECUTE ON FUNCTION app_is_platform_operator() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app_is_platform_operator() TO robbie_app;

CREATE TABLE auth_throttle (
  scope             text        NOT NULL CHECK (scope IN ('account', 'address')),
  subject           text        NOT NULL,
  failures          integer     NOT NULL DEFAULT 0,
  window_started_at timestamptz NOT NULL DEFAULT now(),
  last_failure_at   timestamptz NOT NULL DEFAULT now(),
  locked_until      timestamptz,
  PRIMARY KEY (scope, subject)
);
CREATE INDEX auth_throttle_last_failure_at_idx ON auth_throttle (last_failure_at);
COMMENT ON TABLE auth_throttle IS 'Failed sign-ins per account (hash of the e-mail) and per client address: backoff and temporary locks';
COMMENT ON COLUMN auth_throttle.subject IS 'account: SHA-256 of the lower-cased e-mail (never the e-mail); address: the client IP address';

CREATE TABLE user_session_retired_refresh (
  token_hash varchar(64) NOT NULL PRIMARY KEY,
  session_id uuid        NOT NULL REFERENCES user_sessions (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  retired_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX user_session_retired_refresh_session_id_idx ON user_session_retired_refresh (session_id);
COMMENT ON TABLE user_session_retired_refresh IS 'SHA-256 of refresh tokens a session rotated out; presenting one again revokes the session';
