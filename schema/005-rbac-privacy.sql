-- L5 — rbac & privacy (README 12): permission catalogue, role matrix, per-record grants and
-- permission requests, plus the access functions used by the policies of module 026
-- (app_has_boss_access, app_is_owner, app_is_town_member, app_has_permission, app_can_read, app_can_write).

CREATE TABLE permissions (
  id             uuid        NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  permission_key text        NOT NULL UNIQUE,
  area           text        NOT NULL,
  description    text        NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE permissions IS 'Catalogue of permission keys (area.action) checked by app_has_permission';

CREATE TABLE role_permissions (
  id            uuid        NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  role          text        NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
  permission_id uuid        NOT NULL REFERENCES permissions (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  created_at    timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT role_permissions_role_permission_id_key UNIQUE (role, permission_id)
);
COMMENT ON TABLE role_permissions IS 'Default permission matrix of the four organization roles (rows inserted/deleted, never updated)';

CREATE TABLE resource_grants (
  id              uuid        NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id          uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  resource_type   text        NOT NULL CHECK (resource_type IN (
                    'conversation', 'message', 'sticky_note', 'knowledge_base', 'document', 'email_thread',
                    'deal', 'contact', 'company', 'shared_enriched_record', 'shared_market_intelligence',
                    'code_conversation')),
  resource_id     uuid        NOT NULL,
  grantee_user_id uuid,
  grantee_town_id uuid,
  access          text        NOT NULL DEFAULT 'read' CHECK (access IN ('read', 'write', 'admin')),
  granted_by      uuid        REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  reason          text,
  expires_at      timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT resource_grants_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT resource_grants_grantee_check CHECK (num_nonnulls(grantee_user_id, grantee_town_id) = 1),
  CONSTRAINT resource_grants_resource_grantee_key
    UNIQUE NULLS NOT DISTINCT (org_id, resource_type, resource_id, grantee_user_id, grantee_town_id),
  CONSTRAINT resource_grants_grantee_user_id_fkey FOREIGN KEY (org_id, grantee_user_id)
    REFERENCES organization_memberships (org_id, user_id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  CONSTRAINT resource_grants_grantee_town_id_fkey FOREIGN KEY (org_id, grantee_town_id)
    REFERENCES towns (org_id, id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE
);
COMMENT ON TABLE resource_grants IS 'Explicit access to one record for one user or one town, beyond the role defaults (user sharing and cross-town sharing)';
COMMENT ON COLUMN resource_grants.resource_id IS 'Polymorphic (resource_type, resource_id); validated by check_entity_ref';

CREATE TABLE permission_requests (
  id                 uuid        NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id             uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  resource_type      text        NOT NULL CHECK (resource_type IN (
                       'conversation', 'message', 'sticky_note', 'knowledge_base', 'document', 'email_thread',
                       'deal', 'contact', 'company', 'shared_enriched_record', 'shared_market_intelligence',
                       'code_conversation')),
  resource_id        uuid        NOT NULL,
  requester_type     text        NOT NULL DEFAULT 'user' CHECK (requester_type IN ('user', 'ai')),
  requested_by       uuid        REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  owner_user_id      uuid        REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  requested_access   text        NOT NULL DEFAULT 'read'
                     CHECK (requested_access IN ('read', 'write', 'share_town', 'share_org')),
  target_user_id     uuid        REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  target_town_id     uuid,
  status             text        NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'granted', 'denied', 'expired', 'cancelled')),
  reason             text,
  decided_by         uuid        REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  decided_at         timestamptz,
  resulting_grant_id uuid,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT permission_requests_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT permission_requests_requester_check CHECK (requester_type = 'user' OR requested_by IS NULL),
  CONSTRAINT permission_requests_target_town_id_fkey FOREIGN KEY (org_id, target_town_id)
    REFERENCES towns (org_id, id) ON DELETE SET NULL (target_town_id) DEFERRABLE INITIALLY IMMEDIATE,
  CONSTRAINT permission_requests_resulting_grant_id_fkey FOREIGN KEY (org_id, resulting_grant_id)
    REFERENCES resource_grants (org_id, id) ON DELETE SET NULL (resulting_grant_id) DEFERRABLE INITIALLY IMMEDIATE
);
COMMENT ON TABLE permission_requests IS 'Requests (by a user or the AI) to see or share a private item; the owner decides';
COMMENT ON COLUMN permission_requests.requested_by IS 'NULL when requester_type = ai';
COMMENT ON COLUMN permission_requests.resource_id IS 'Polymorphic (resource_type, resource_id); validated by check_entity_ref';

-- ---------------------------------------------------------------------------------------------
-- Access functions. All read the request context (app.org_id / app.user_id) and are SECURITY
-- DEFINER so that policies calling them do not recurse through the RLS of the tables they read.
-- They judge a row of the current organization (the tenant_isolation policy guarantees that).
--
-- Privacy levels:
--   public    any active member (viewers included)
--   team      owner/admin/member; a row with town_id also needs town membership unless owner/admin
--   private   the row's owning user, plus unexpired grants (user or town)
--   boss_only owners and admins only
-- Unexpired grants (to the user or to one of their towns) also open team and public rows.
-- Write: a role other than viewer and level-based read access (grants count only with access
-- write/admin); private rows are writable only by their owner.
-- ---------------------------------------------------------------------------------------------

CREATE FUNCTION app_has_boss_access() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT coalesce(app_current_org_role() IN ('owner', 'admin'), false)
$$;
COMMENT ON FUNCTION app_has_boss_access() IS 'True when the current user is an active owner or admin of the current organization';

CREATE FUNCTION app_is_owner(p_user_id uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT coalesce(p_user_id = app_current_user_id(), false)
$$;
COMMENT ON FUNCTION app_is_owner(uuid) IS 'True when p_user_id is the current user';

CREATE FUNCTION app_is_town_member(p_town_id uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT EXISTS (
    SELECT 1
      FROM town_memberships t
      JOIN organization_memberships m ON m.org_id = t.org_id AND m.user_id = t.user_id
     WHERE t.town_id = p_town_id
       AND t.org_id = app_current_org_id()
       AND t.user_id = app_current_user_id()
       AND t.is_active
       AND m.is_active
  )
$$;
COMMENT ON FUNCTION app_is_town_member(uuid) IS 'True when the current user has an active membership in that town (and its organization)';

CREATE FUNCTION app_has_permission(p_key text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT EXISTS (
    SELECT 1
      FROM role_permissions rp
      JOIN permissions p ON p.id = rp.permission_id
     WHERE p.permission_key = p_key
       AND rp.role = app_current_org_role()
  )
$$;
COMMENT ON FUNCTION app_has_permission(text) IS 'True when the current user''s organization role has the permission (role_permissions)';

-- Unexpired grant on the resource to the current user or one of their towns, with one of p_access.
CREATE FUNCTION app_has_grant(p_resource_type text, p_resource_id uuid, p_access text[]) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT EXISTS (
    SELECT 1
      FROM resource_grants g
     WHERE g.org_id = app_current_org_id()
       AND g.resource_type = p_resource_type
       AND g.resource_id = p_resource_id
       AND g.access = ANY (p_access)
       AND (g.expires_at IS NULL OR g.expires_at > now())
       AND (g.grantee_user_id = app_current_user_id()
            OR (g.grantee_town_id IS NOT NULL AND app_is_town_member(g.grantee_town_id)))
  )
$$;
COMMENT ON FUNCTION app_has_grant(text, uuid, text[]) IS
  'Helper of app_can_read/app_can_write: an unexpired resource_grants row for the current user or one of their towns';

CREATE FUNCTION app_can_read(p_resource_type text, p_resource_id uuid, p_privacy_level text,
                             p_owner_user_id uuid, p_town_id uuid) RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_role text := app_current_org_role();
BEGIN
  IF v_role IS NULL THEN
    RETURN false;                       -- not an active member of the current organization
  END IF;
  CASE coalesce(p_privacy_level, 'team')
    WHEN 'public' THEN
      RETURN true;
    WHEN 'team' THEN
      IF app_is_owner(p_owner_user_id) THEN
        RETURN true;
      END IF;
      IF v_role IN ('owner', 'admin') THEN
        RETURN true;
      END IF;
      IF v_role = 'member' AND (p_town_id IS NULL OR app_is_town_member(p_town_id)) THEN
        RETURN true;
      END IF;
      RETURN app_has_grant(p_resource_type, p_resource_id, ARRAY['read', 'write', 'admin']);
    WHEN 'private' THEN
      RETURN app_is_owner(p_owner_user_id)
          OR app_has_grant(p_resource_type, p_resource_id, ARRAY['read', 'write', 'admin']);
    WHEN 'boss_only' THEN
      RETURN v_role IN ('owner', 'admin');
    ELSE
      RETURN false;
  END CASE;
END
$$;
COMMENT ON FUNCTION app_can_read(text, uuid, text, uuid, uuid) IS
  'Privacy check for reading a row (resource type, id, privacy_level, owning user, town_id) in the current organization';

CREATE FUNCTION app_can_write(p_resource_type text, p_resource_id uuid, p_privacy_level text,
                              p_owner_user_id uuid, p_town_id uuid) RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_role text := app_current_org_role();
BEGIN
  IF v_role IS NULL OR v_role = 'viewer' THEN
    RETURN false;
  END IF;
  CASE coalesce(p_privacy_level, 'team')
    WHEN 'public' THEN
      RETURN true;
    WHEN 'team' THEN
      IF app_is_owner(p_owner_user_id) OR v_role IN ('owner', 'admin') THEN
        RETURN true;
      END IF;
      IF p_town_id IS NULL OR app_is_town_member(p_town_id) THEN
        RETURN true;
      END IF;
      RETURN app_has_grant(p_resource_type, p_resource_id, ARRAY['write', 'admin']);
    WHEN 'private' THEN
      RETURN app_is_owner(p_owner_user_id);
    WHEN 'boss_only' THEN
      RETURN v_role IN ('owner', 'admin');
    ELSE
      RETURN false;
  END CASE;
END
$$;
COMMENT ON FUNCTION app_can_write(text, uuid, text, uuid, uuid) IS
  'Privacy check for writing a row: readable, role other than viewer, private rows only by their owner';
