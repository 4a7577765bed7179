-- L28 — API access (the HTTP API's authentication and audit).
-- * api_keys: each key belongs to one membership (organization + user) and may cap its role;
--   revocation is recorded, not a delete, so the audit trail keeps the key's history.
-- * user_sessions: a session is bound to one membership; token_jti holds the hash of the current
--   short-lived access token, token_hash the hash of the current refresh token (both rotate).
-- * audit_row_change(): also records who acted through what (user session or API key) and the
--   request id, and leaves embeddings out of the row images; the audit trigger is attached to the
--   remaining tables the API writes.

ALTER TABLE api_keys
  ADD COLUMN org_id     uuid        NOT NULL,
  ADD COLUMN role       text        CHECK (role IN ('admin', 'member', 'viewer')),
  ADD COLUMN key_prefix varchar(32) NOT NULL,
  ADD COLUMN revoked_at timestamptz,
  ADD CONSTRAINT api_keys_org_id_user_id_fkey FOREIGN KEY (org_id, user_id)
      REFERENCES organization_memberships (org_id, user_id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE;
CREATE INDEX api_keys_org_id_user_id_idx ON api_keys (org_id, user_id);
COMMENT ON COLUMN api_keys.org_id IS 'The one organization the key acts in (with its user''s membership there)';
COMMENT ON COLUMN api_keys.role IS 'Role ceiling: the key acts with the lower of this and its user''s membership role; NULL = the membership role';
COMMENT ON COLUMN api_keys.key_prefix IS 'First characters of the key, shown in listings so a key can be recognised; not secret';
COMMENT ON COLUMN api_keys.revoked_at IS 'Set when the key is revoked; a revoked key is refused';

-- The per-user policy of 026 stays; keys are also confined to the current organization.
CREATE POLICY org_scope ON api_keys AS RESTRICTIVE FOR ALL
  USING (org_id = (SELECT app_current_org_id()))
  WITH CHECK (org_id = (SELECT app_current_org_id()));

ALTER TABLE user_sessions
  ADD COLUMN org_id            uuid,
  ADD COLUMN access_expires_at timestamptz,
  ADD COLUMN refresh_expires_at timestamptz,
  ADD CONSTRAINT user_sessions_org_id_user_id_fkey FOREIGN KEY (org_id, user_id)
      REFERENCES organization_memberships (org_id, user_id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE;
CREATE INDEX user_sessions_org_id_user_id_idx ON user_sessions (org_id, user_id);
CREATE UNIQUE INDEX user_sessions_token_hash_key ON user_sessions (token_hash);
COMMENT ON COLUMN user_sessions.token_jti IS 'SHA-256 of the current access token (rotated on refresh); the token itself is never stored';
COMMENT ON COLUMN user_sessions.token_hash IS 'SHA-256 of the current refresh token (rotated on every refresh)';
COMMENT ON COLUMN user_sessions.org_id IS 'Organization the session acts in; NULL for sessions made before the API existed';
COMMENT ON COLUMN user_sessions.access_expires_at IS 'End of the current access token; the session lives on until expires_at through refreshes';
COMMENT ON COLUMN user_sessions.refresh_expires_at IS 'End of the current refresh token (never after expires_at)';

CREATE OR REPLACE FUNCTION audit_row_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_old     jsonb;
  v_new     jsonb;
  v_row     jsonb;
  v_org     uuid;
  v_user    uuid := app_current_user_id();
  v_actor   text := nullif(current_setting('app.actor', true), '');
  v_request text := nullif(current_setting('app.request_id', true), '');
  v_details jsonb := '{}';
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    v_old := to_jsonb(OLD) - 'password_hash' - 'key_hash' - 'token_hash' - 'token_jti' - 'key_value_encrypted' - 'embedding';
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    v_new := to_jsonb(NEW) - 'password_hash' - 'key_hash' - 'token_hash' - 'token_jti' - 'key_value_encrypted' - 'embedding';
  END IF;
  v_row := coalesce(v_new, v_old);

  v_org := coalesce(
    (v_row ->> 'org_id')::uuid,
    CASE WHEN TG_TABLE_NAME = 'organizations' THEN (v_row ->> 'id')::uuid END,
    app_current_org_id());
  IF v_org IS NOT NULL AND NOT EXISTS (SELECT 1 FROM organizations WHERE id = v_org) THEN
    v_details := v_details || jsonb_build_object('org_id', v_org);
    v_org := NULL;
  END IF;
  IF v_user IS NOT NULL AND NOT EXISTS (SELECT 1 FROM users WHERE id = v_user) THEN
    v_details := v_details || jsonb_build_object('user_id', v_user);
    v_user := NULL;
  END IF;
  IF TG_TABLE_SCHEMA <> 'public' THEN
    v_details := v_details || jsonb_build_object('schema', TG_TABLE_SCHEMA);
  END IF;
  IF v_request IS NOT NULL THEN
    v_details := v_details || jsonb_build_object('request_id', v_request);
  END IF;
  IF v_actor = 'api_key' THEN
    v_details := v_details || jsonb_build_object('api_key_id', nullif(current_setting('app.api_key_id', true), ''));
  END IF;

  INSERT INTO audit_log (org_id, user_id, actor_type, action, entity_type, entity_id,
                         old_values, new_values, details)
  VALUES (v_org, v_user,
          CASE WHEN v_actor IN ('user', 'system', 'ai', 'sync', 'api_key') THEN v_actor
               WHEN app_current_user_id() IS NULL THEN 'system' ELSE 'user' END,
          lower(TG_OP), TG_TABLE_NAME, v_row ->> 'id',
          v_old, v_new, v_details);
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION audit_row_change() IS
  'AFTER INSERT/UPDATE/DELETE trigger: one audit_log row per changed row (actor from app.actor, request id from app.request_id), secrets, hashes and embeddings removed from the images';

-- The tables the HTTP API writes that 026 did not audit yet.
DO $audit$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['tasks', 'calendar_events', 'meeting_health', 'sticky_notes', 'conversations', 'messages',
                           'knowledge_base', 'personality_settings', 'user_sessions', 'ai_model_usage', 'touch_ready_queue']
  LOOP
    EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %I FOR EACH ROW EXECUTE FUNCTION audit_row_change()', t || '_audit', t);
  END LOOP;
END
$audit$;

-- Listing order of the API (its default sort per resource, then id): one index each, so a page
-- is an index range, not a sort of the organization's rows. Ascending indexes serve both
-- directions (NULL sorts as the largest value either way).
CREATE INDEX contacts_org_id_created_at_id_idx ON contacts (org_id, created_at, id);
CREATE INDEX companies_org_id_created_at_id_idx ON companies (org_id, created_at, id);
CREATE INDEX deals_org_id_created_at_id_idx ON deals (org_id, created_at, id);
CREATE INDEX tasks_org_id_created_at_id_idx ON tasks (org_id, created_at, id);
CREATE INDEX calendar_events_org_id_start_time_id_idx ON calendar_events (org_id, start_time, id);
CREATE INDEX meeting_health_org_id_created_at_id_idx ON meeting_health (org_id, created_at, id);
CREATE INDEX sticky_notes_org_id_created_at_id_idx ON sticky_notes (org_id, created_at, id);
CREATE INDEX knowledge_base_org_id_created_at_id_idx ON knowledge_base (org_id, created_at, id);
CREATE INDEX ai_model_usage_org_id_created_at_id_idx ON ai_model_usage (org_id, created_at, id);
CREATE INDEX touch_ready_queue_org_id_created_at_id_idx ON touch_ready_queue (org_id, created_at, id);
-- conversations and messages are legacy tables on an upgraded Aurora database: there the
-- upgrade builds these two CONCURRENTLY (with its other indexes) instead of locking writers here.
-- @if !legacy
CREATE INDEX conversations_org_id_updated_at_id_idx ON conversations (org_id, updated_at, id);
CREATE INDEX messages_conversation_id_created_at_id_idx ON messages (conversation_id, created_at, id);
-- @end

-- Organizations through the application role: admins edit their own organization; anyone
-- signed in may found a new one (becoming its owner); admins look up a person to add by e-mail.
GRANT UPDATE (name, domain, org_type, settings) ON organizations TO robbie_app;
CREATE POLICY admin_update ON organizations FOR UPDATE
  USING (id = (SELECT app_current_org_id()) AND app_has_boss_access())
  WITH CHECK (id = (SELECT app_current_org_id()));

CREATE FUNCTION app_create_organization(p_name text, p_domain text DEFAULT NULL, p_org_type text DEFAULT 'corporate')
RETURNS uuid
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE v_org uuid;
BEGIN
  IF app_current_user_id() IS NULL THEN
    RAISE EXCEPTION 'app_create_organization: no current user' USING ERRCODE = 'insufficient_privilege';
  END IF;
  INSERT INTO organizations (name, domain, org_type, status) VALUES (p_name, p_domain, p_org_type, 'active')
  RETURNING id INTO v_org;
  INSERT INTO organization_memberships (org_id, user_id, role) VALUES (v_org, app_current_user_id(), 'owner');
  RETURN v_org;
END
$$;
COMMENT ON FUNCTION app_create_organization(text, text, text) IS
  'Creates an organization with the current user as its owner; returns its id';

CREATE FUNCTION app_user_id_by_email(p_email text) RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT u.id FROM users u WHERE lower(u.email) = lower(p_email) AND app_has_boss_access()
$$;
COMMENT ON FUNCTION app_user_id_by_email(text) IS
  'Id of the account with that e-mail, for an owner or admin of the current organization adding a member; NULL otherwise';

-- The credential check of every API request, run by the API's (owner) connection as the first
-- statement of the request's transaction: finds the live session (by the hash of its access
-- token) or API key (by the hash of the key), then sets the transaction-local tenant context
-- and drops to the application role, so everything after it runs under row-level security.
-- No row = refused. PL/pgSQL keeps the lookup's plan for the life of the connection.
CREATE FUNCTION api_authenticate(p_kind text, p_hash text, p_request_id text, p_required_role text DEFAULT NULL)
RETURNS TABLE (credential_id uuid, user_id uuid, org_id uuid, role text, role_cap text, email text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  r record;
BEGIN
  IF p_kind = 'access' THEN
    SELECT s.id, s.user_id, s.org_id, m.role, NULL::text AS role_cap, u.email::text AS email, ''::text AS key_id
      INTO r
      FROM public.user_sessions s
      JOIN public.users u ON u.id = s.user_id AND coalesce(u.is_active, true)
      JOIN public.organization_memberships m ON m.org_id = s.org_id AND m.user_id = s.user_id AND m.is_active
     WHERE s.token_jti = p_hash AND s.revoked_at IS NULL AND s.access_expires_at > now() AND s.expires_at > now();
  ELSIF p_kind = 'key' THEN
    SELECT k.id, k.user_id, k.org_id, m.role, k.role AS role_cap, u.email::text AS email, k.id::text AS key_id
      INTO r
      FROM public.api_keys k
      JOIN public.users u ON u.id = k.user_id AND coalesce(u.is_active, true)
      JOIN public.organization_memberships m ON m.org_id = k.org_id AND m.user_id = k.user_id AND m.is_active
     WHERE k.key_hash = p_hash AND k.is_active AND k.revoked_at IS NULL
       AND (k.expires_at IS NULL OR k.expires_at > now());
  ELSE
    RAISE EXCEPTION 'api_authenticate: unknown credential kind %', p_kind USING ERRCODE = '22023';
  END IF;
  IF r IS NULL OR r.id IS NULL THEN
    -- With a required role the caller sends more statements in the same message: stop them.
    IF p_required_role IS NOT NULL THEN
      RAISE EXCEPTION 'credential refused' USING ERRCODE = '28000';
    END IF;
    RETURN;
  END IF;
  IF p_required_role IS NOT NULL
     AND array_position(ARRAY['viewer', 'member', 'admin', 'owner'],
                        CASE WHEN r.role_cap IS NOT NULL
                              AND array_position(ARRAY['viewer', 'member', 'admin', 'owner'], r.role_cap)
                                < array_position(ARRAY['viewer', 'member', 'admin', 'owner'], r.role)
                             THEN r.role_cap ELSE r.role END)
       < array_position(ARRAY['viewer', 'member', 'admin', 'owner'], p_required_role) THEN
    RAISE EXCEPTION 'role too weak' USING ERRCODE = '42501', DETAIL = coalesce(r.role_cap, r.role);
  END IF;
  PERFORM set_config('app.org_id', r.org_id::text, true),
          set_config('app.user_id', r.user_id::text, true),
          set_config('app.actor', CASE WHEN p_kind = 'key' THEN 'api_key' ELSE 'user' END, true),
          set_config('app.api_key_id', r.key_id, true),
          set_config('app.request_id', coalesce(p_request_id, ''), true),
          set_config('role', 'robbie_app', true);
  credential_id := r.id; user_id := r.user_id; org_id := r.org_id; role := r.role; role_cap := r.role_cap; email := r.email;
  RETURN NEXT;
END
$$;
COMMENT ON FUNCTION api_authenticate(text, text, text, text) IS
  'API credential check: the principal of an access-token or API-key hash, with the tenant context set and the role dropped to robbie_app; no row when refused, or (with p_required_role) an error 28000, or 42501 for a weaker role';

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO robbie_app, robbie_auth;
-- Only the API's own connection (the owner) checks credentials.
REVOKE EXECUTE ON FUNCTION api_authenticate(text, text, text, text) FROM PUBLIC, robbie_app, robbie_auth;
