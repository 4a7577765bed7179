-- L3 — audit log (README 16): the one audit trail of the platform.
-- Table audit_log ([global], append-only) and trigger function audit_row_change(),
-- which module 026 attaches to the audited tables.

CREATE TABLE audit_log (
  id          uuid         NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id      uuid         REFERENCES organizations (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  user_id     uuid         REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  actor_type  text         NOT NULL DEFAULT 'user' CHECK (actor_type IN ('user', 'system', 'ai', 'sync', 'api_key')),
  action      varchar(100) NOT NULL,
  entity_type varchar(100),
  entity_id   text,
  old_values  jsonb,
  new_values  jsonb,
  details     jsonb        NOT NULL DEFAULT '{}',
  ip_address  inet,
  user_agent  text,
  node_id     uuid         REFERENCES nodes (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  created_at  timestamptz  NOT NULL DEFAULT now()
);
COMMENT ON TABLE audit_log IS 'Append-only audit trail: row changes (audit_row_change) and domain events written by the app';
COMMENT ON COLUMN audit_log.org_id IS 'Scope of the event; NULL = platform-level action';
COMMENT ON COLUMN audit_log.action IS 'insert/update/delete, or a domain verb (login, export, permission_change, ...)';
COMMENT ON COLUMN audit_log.entity_id IS 'Text so that external ids fit too';
COMMENT ON COLUMN audit_log.old_values IS 'Row image before the change; password_hash, key_hash, token_hash and key_value_encrypted removed';

-- AFTER INSERT/UPDATE/DELETE row trigger. Works for tables with and without org_id.
-- The organization is the row's org_id, else (organizations itself) the row's id, else the session's.
-- If that organization or the acting user no longer exists (e.g. the row is being deleted together
-- with its organization), the pointer is left NULL and the id is kept in details, so the audit
-- insert never fails the audited statement.
CREATE FUNCTION audit_row_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_old     jsonb;
  v_new     jsonb;
  v_row     jsonb;
  v_org     uuid;
  v_user    uuid := app_current_user_id();
  v_details jsonb := '{}';
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    v_old := to_jsonb(OLD) - 'password_hash' - 'key_hash' - 'token_hash' - 'key_value_encrypted';
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    v_new := to_jsonb(NEW) - 'password_hash' - 'key_hash' - 'token_hash' - 'key_value_encrypted';
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

  INSERT INTO audit_log (org_id, user_id, actor_type, action, entity_type, entity_id,
                         old_values, new_values, details)
  VALUES (v_org, v_user,
          CASE WHEN app_current_user_id() IS NULL THEN 'system' ELSE 'user' END,
          lower(TG_OP), TG_TABLE_NAME, v_row ->> 'id',
          v_old, v_new, v_details);
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION audit_row_change() IS
  'AFTER INSERT/UPDATE/DELETE trigger: one audit_log row per changed row, secrets and hashes removed from the images';
