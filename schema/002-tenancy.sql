-- L2 — tenancy (README 11): organizations (the tenant) and organization_memberships.
-- Attaches users.org_id → organizations, and the request-context functions
-- app_current_org_role() and app_set_context().

CREATE TABLE organizations (
  id         uuid        NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  name       text        NOT NULL,
  domain     text        UNIQUE,
  org_type   text        CHECK (org_type IN ('personal', 'corporate', 'nonprofit')),
  status     text        DEFAULT 'active',
  created_at timestamptz DEFAULT now(),
  updated_at timestamptz DEFAULT now(),
  settings   jsonb       NOT NULL DEFAULT '{}'
);
COMMENT ON TABLE organizations IS 'Tenants: every tenant-owned row carries org_id → organizations';
COMMENT ON COLUMN organizations.status IS 'Values in use: active, inactive, suspended, trial';

CREATE TABLE organization_memberships (
  id         uuid        NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id     uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  role       text        NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
  is_active  boolean     NOT NULL DEFAULT true,
  invited_by uuid        REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  joined_at  timestamptz NOT NULL DEFAULT now(),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT organization_memberships_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT organization_memberships_org_id_user_id_key UNIQUE (org_id, user_id)
);
COMMENT ON TABLE organization_memberships IS 'A user''s role (owner, admin, member, viewer) in one organization';
COMMENT ON CONSTRAINT organization_memberships_org_id_user_id_key ON organization_memberships IS
  'Target of the composite membership FKs (town_memberships, resource_grants)';

-- The home organization of a user. RESTRICT, not SET NULL: users.org_id is NOT NULL (spec "Decisions").
-- @if !legacy
ALTER TABLE users
  ADD CONSTRAINT users_org_id_fkey FOREIGN KEY (org_id) REFERENCES organizations (id)
  ON DELETE RESTRICT DEFERRABLE INITIALLY IMMEDIATE;
-- @else
-- Legacy Aurora: the Default Organization exists from here on (as 027 seeds it), so rows the
-- legacy application inserts meanwhile can be given it; the key is NOT VALID until the upgrade
-- has backfilled users.org_id, then validated.
INSERT INTO organizations (id, name, org_type, status, settings)
VALUES ('00000000-0000-4000-8000-000000000001', 'Default Organization', 'personal', 'active', '{}')
ON CONFLICT (id) DO NOTHING;
ALTER TABLE users
  ADD CONSTRAINT users_org_id_fkey FOREIGN KEY (org_id) REFERENCES organizations (id)
  ON DELETE RESTRICT DEFERRABLE INITIALLY IMMEDIATE NOT VALID;
-- @end

-- Active membership role of the current user in the current organization, else NULL.
CREATE FUNCTION app_current_org_role() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT m.role
    FROM organization_memberships m
   WHERE m.org_id = app_current_org_id()
     AND m.user_id = app_current_user_id()
     AND m.is_active
$$;
COMMENT ON FUNCTION app_current_org_role() IS
  'Role of app_current_user_id() in app_current_org_id() (active membership only), NULL otherwise';

-- Called at the start of every request transaction. Settings are transaction-local.
CREATE FUNCTION app_set_context(p_org_id uuid, p_user_id uuid) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF p_org_id IS NULL OR p_user_id IS NULL THEN
    RAISE EXCEPTION 'app_set_context: organization and user are both required'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF NOT EXISTS (
    SELECT 1 FROM organization_memberships m
     WHERE m.org_id = p_org_id AND m.user_id = p_user_id AND m.is_active
  ) THEN
    RAISE EXCEPTION 'app_set_context: user % has no active membership in organization %', p_user_id, p_org_id
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  PERFORM set_config('app.org_id', p_org_id::text, true);
  PERFORM set_config('app.user_id', p_user_id::text, true);
END
$$;
COMMENT ON FUNCTION app_set_context(uuid, uuid) IS
  'Checks for an active membership, then sets app.org_id and app.user_id for the current transaction';
