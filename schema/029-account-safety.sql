-- L29 — account safety.
-- * An organization never loses its last owner: a constraint trigger on organization_memberships
--   refuses deleting, deactivating, demoting or moving the last active owner (whoever does it:
--   the API, the CLI or plain SQL). Deleting the organization itself is allowed.
-- * Invitations: an organization adds a person by an invitation that the invitee accepts while
--   signed in as the invited e-mail. Only a hash of the invitation's token is stored. Creating
--   one answers the same whether or not the e-mail has an account; the lookup of accounts by
--   e-mail (app_user_id_by_email) is gone.
-- * Users named on a tenant row are members of that row's organization: every column of a
--   tenant table that references users(id) gets a composite key (org_id, col) →
--   organization_memberships (org_id, user_id).

-- ---------------------------------------------------------------------------------------------
-- The last owner.
CREATE FUNCTION organization_keeps_an_owner() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF NOT (OLD.role = 'owner' AND OLD.is_active) THEN RETURN NULL; END IF;
  IF TG_OP = 'UPDATE' AND NEW.role = 'owner' AND NEW.is_active AND NEW.org_id = OLD.org_id THEN RETURN NULL; END IF;
  -- One owner change per organization at a time (two demotions racing could each see the other
  -- owner still there). No row: the organization itself is being deleted, its memberships with it.
  PERFORM 1 FROM organizations WHERE id = OLD.org_id FOR NO KEY UPDATE;
  IF NOT FOUND THEN RETURN NULL; END IF;
  IF NOT EXISTS (SELECT 1 FROM organization_memberships m
                  WHERE m.org_id = OLD.org_id AND m.role = 'owner' AND m.is_active) THEN
    RAISE EXCEPTION 'organization % would be left without an owner', OLD.org_id
      USING ERRCODE = 'check_violation', CONSTRAINT = 'organization_memberships_last_owner',
            HINT = 'make another member owner first, then change or remove this one';
  END IF;
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION organization_keeps_an_owner() IS
  'Constraint trigger: refuses a change that leaves an existing organization without an active owner (SQLSTATE 23514, constraint organization_memberships_last_owner)';

-- AFTER, so a statement that changes several memberships is judged by its result; deferrable, so
-- a transaction may hand ownership over in any order (SET CONSTRAINTS … DEFERRED).
CREATE CONSTRAINT TRIGGER organization_memberships_last_owner
  AFTER UPDATE OR DELETE ON organization_memberships
  DEFERRABLE INITIALLY IMMEDIATE
  FOR EACH ROW EXECUTE FUNCTION organization_keeps_an_owner();

-- ---------------------------------------------------------------------------------------------
-- Invitations.
CREATE TABLE organization_invitations (
  id          uuid        NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id      uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  email       text        NOT NULL,
  role        text        NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
  token_hash  text        NOT NULL,
  invited_by  uuid,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL DEFAULT now() + interval '7 days',
  accepted_at timestamptz,
  accepted_by uuid,
  declined_at timestamptz,
  revoked_at  timestamptz,
  revoked_by  uuid,
  CONSTRAINT organization_invitations_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT organization_invitations_org_id_invited_by_fkey FOREIGN KEY (org_id, invited_by)
    REFERENCES organization_memberships (org_id, user_id) ON DELETE SET NULL (invited_by) DEFERRABLE INITIALLY IMMEDIATE,
  CONSTRAINT organization_invitations_org_id_accepted_by_fkey FOREIGN KEY (org_id, accepted_by)
    REFERENCES organization_memberships (org_id, user_id) ON DELETE SET NULL (accepted_by) DEFERRABLE INITIALLY IMMEDIATE,
  CONSTRAINT organization_invitations_org_id_revoked_by_fkey FOREIGN KEY (org_id, revoked_by)
    REFERENCES organization_memberships (org_id, user_id) ON DELETE SET NULL (revoked_by) DEFERRABLE INITIALLY IMMEDIATE
);
COMMENT ON TABLE organization_invitations IS
  'An invitation to join an organization with a role; the invitee accepts it signed in as that e-mail (or with its token); open = not accepted, declined or revoked';
COMMENT ON COLUMN organization_invitations.email IS 'Invited e-mail address, lower case; need not have an account yet';
COMMENT ON COLUMN organization_invitations.token_hash IS 'SHA-256 of the invitation token (shown once when created); the token itself is never stored';
COMMENT ON COLUMN organization_invitations.expires_at IS 'After this the invitation can no longer be accepted (default: 7 days after it was made)';
-- Tokens are 256 random bits: looked up by hash, unique in practice (a plain index keeps the table
-- distributable by org_id).
CREATE INDEX organization_invitations_token_hash_idx ON organization_invitations (token_hash);
CREATE UNIQUE INDEX organization_invitations_open_key ON organization_invitations (org_id, email)
  WHERE accepted_at IS NULL AND declined_at IS NULL AND revoked_at IS NULL;
CREATE INDEX organization_invitations_email_open_idx ON organization_invitations (email)
  WHERE accepted_at IS NULL AND declined_at IS NULL AND revoked_at IS NULL;
CREATE INDEX organization_invitations_org_id_created_at_id_idx ON organization_invitations (org_id, created_at, id);
CREATE INDEX organization_invitations_org_id_invited_by_idx ON organization_invitations (org_id, invited_by);
CREATE INDEX organization_invitations_org_id_accepted_by_idx ON organization_invitations (org_id, accepted_by);
CREATE INDEX organization_invitations_org_id_revoked_by_idx ON organization_invitations (org_id, revoked_by);

-- Owners and admins of the organization see and manage its invitations; only an owner invites owners.
GRANT SELECT, INSERT, UPDATE, DELETE ON organization_invitations TO robbie_app;
ALTER TABLE organization_invitations ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON organization_invitations FOR ALL
  USING (org_id = (SELECT app_current_org_id()))
  WITH CHECK (org_id = (SELECT app_current_org_id()));
CREATE POLICY boss_only ON organization_invitations AS RESTRICTIVE FOR ALL
  USING (app_has_boss_access())
  WITH CHECK (app_has_boss_access() AND (role <> 'owner' OR app_current_org_role() = 'owner'));
CREATE TRIGGER organization_invitations_audit AFTER INSERT OR UPDATE OR DELETE ON organization_invitations
  FOR EACH ROW EXECUTE FUNCTION audit_row_change();

-- The invitee's side: they act in some other organization (their own), so RLS on the invitation's
-- organization does not apply to them; these functions match the invitation to the current
-- user's e-mail instead.
CREATE FUNCTION app_my_invitations()
RETURNS TABLE (id uuid, org_id uuid, organization text, role text, created_at timestamptz, expires_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT i.id, i.org_id, o.name, i.role, i.created_at, i.expires_at
    FROM organization_invitations i
    JOIN organizations o ON o.id = i.org_id
    JOIN users u ON u.id = app_current_user_id() AND lower(u.email) = i.email
   WHERE i.accepted_at IS NULL AND i.declined_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > now()
   ORDER BY i.created_at, i.id
$$;
COMMENT ON FUNCTION app_my_invitations() IS 'Open, unexpired invitations addressed to the current user''s e-mail';

-- Accepts or declines one invitation of the current user, by id or by token hash. Writes nothing
-- unless the outcome is accepted or declined. Outcomes: accepted, declined, not_found (unknown, or
-- addressed to another e-mail), expired, revoked, used (accepted or declined before),
-- already_member (an active membership exists).
CREATE FUNCTION app_answer_invitation(p_id uuid, p_token_hash text, p_accept boolean)
RETURNS TABLE (outcome text, invitation_id uuid, org_id uuid, role text, membership_id uuid)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_user  uuid := app_current_user_id();
  v_email text;
  inv     organization_invitations%ROWTYPE;
  m       organization_memberships%ROWTYPE;
BEGIN
  IF v_user IS NULL THEN
    RAISE EXCEPTION 'app_answer_invitation: no current user' USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF p_id IS NULL AND p_token_hash IS NULL THEN
    RAISE EXCEPTION 'app_answer_invitation: give the invitation id or its token' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT lower(u.email) INTO v_email FROM users u WHERE u.id = v_user;
  SELECT * INTO inv FROM organization_invitations i
   WHERE (p_id IS NULL OR i.id = p_id) AND (p_token_hash IS NULL OR i.token_hash = p_token_hash) AND i.email = v_email
   FOR UPDATE;
  IF NOT FOUND THEN outcome := 'not_found'; RETURN NEXT; RETURN; END IF;
  invitation_id := inv.id; org_id := inv.org_id; role := inv.role;
  IF inv.revoked_at IS NOT NULL THEN outcome := 'revoked';
  ELSIF inv.accepted_at IS NOT NULL OR inv.declined_at IS NOT NULL THEN outcome := 'used';
  ELSIF inv.expires_at <= now() THEN outcome := 'expired';
  ELSIF NOT p_accept THEN
    UPDATE organization_invitations SET declined_at = now() WHERE id = inv.id;
    outcome := 'declined';
  ELSE
    SELECT * INTO m FROM organization_memberships x WHERE x.org_id = inv.org_id AND x.user_id = v_user FOR UPDATE;
    IF FOUND AND m.is_active THEN
      outcome := 'already_member'; membership_id := m.id; role := m.role;
    ELSE
      IF FOUND THEN
        UPDATE organization_memberships
           SET role = inv.role, is_active = true, invited_by = inv.invited_by, joined_at = now(), updated_at = now()
         WHERE id = m.id;
        membership_id := m.id;
      ELSE
        INSERT INTO organization_memberships (org_id, user_id, role, invited_by)
        VALUES (inv.org_id, v_user, inv.role, inv.invited_by) RETURNING id INTO membership_id;
      END IF;
      UPDATE organization_invitations SET accepted_at = now(), accepted_by = v_user WHERE id = inv.id;
      outcome := 'accepted';
    END IF;
  END IF;
  RETURN NEXT;
END
$$;
COMMENT ON FUNCTION app_answer_invitation(uuid, text, boolean) IS
  'Accepts (p_accept) or declines an invitation addressed to the current user''s e-mail, by id or token hash; returns the outcome and writes only on accepted/declined';

-- Looking accounts up by e-mail told any admin whether an address has an account.
DROP FUNCTION app_user_id_by_email(text);

GRANT EXECUTE ON FUNCTION organization_keeps_an_owner(), app_my_invitations(), app_answer_invitation(uuid, text, boolean) TO robbie_app, robbie_auth;

-- ---------------------------------------------------------------------------------------------
-- User references stay inside the organization. Found from the catalog: every single-column
-- foreign key to users(id) on a table with org_id, except audit_log (history: it records who
-- acted, also after they left) and organization_memberships.user_id (the membership itself;
-- its invited_by is included: the inviter is a member of the same organization).
-- Columns that already have a composite membership key (api_keys, user_sessions, …) are skipped.
--
-- Removing a member: the API deactivates the membership (is_active = false), so every row that
-- names them stays valid and keeps its history, while their access ends at once. A membership row
-- that is really deleted (or its user) takes the references with it as the old keys did: the
-- user's own rows (ON DELETE CASCADE) go, other references (ON DELETE SET NULL) become NULL.
--
-- Existing rows that name a non-member are treated the same way, without losing data: a SET NULL
-- reference is nulled (the audit log keeps the old value on audited tables); a row that belongs
-- to that user (CASCADE) is kept and the user gets an inactive viewer membership, which grants
-- nothing (sign-in, app_set_context and the policies all require an active one).
--
-- On a legacy Aurora database being upgraded, its four tables with user columns (conversations,
-- messages, integrations, webhooks) keep their single-column keys: their org_id is backfilled and
-- the legacy users' memberships are made after the migrations, and the legacy application inserts
-- users without memberships.
-- @if legacy
SELECT set_config('robbieverse.user_keys_skip', 'conversations,messages,integrations,webhooks', true);
-- @end
DO $user_refs$
DECLARE
  r      record;
  skip   text[] := string_to_array(coalesce(nullif(current_setting('robbieverse.user_keys_skip', true), ''), '-'), ',');
  action text;
BEGIN
  FOR r IN
    SELECT k.relname::text AS t, a.attname::text AS col, c.confdeltype AS del
      FROM pg_constraint c
      JOIN pg_class k ON k.oid = c.conrelid
      JOIN pg_namespace n ON n.oid = k.relnamespace AND n.nspname = 'public'
      JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
     WHERE c.contype = 'f' AND c.confrelid = 'public.users'::regclass AND cardinality(c.conkey) = 1
       AND EXISTS (SELECT 1 FROM pg_attribute o WHERE o.attrelid = c.conrelid AND o.attname = 'org_id' AND NOT o.attisdropped)
       AND k.relname NOT IN ('users', 'audit_log')
       AND NOT (k.relname = 'organization_memberships' AND a.attname = 'user_id')
       AND NOT EXISTS (SELECT 1 FROM pg_constraint x
                        WHERE x.conrelid = c.conrelid AND x.contype = 'f'
                          AND x.confrelid = 'public.organization_memberships'::regclass AND a.attnum = ANY (x.conkey))
       AND k.relname <> ALL (skip)
     ORDER BY 1, 2
  LOOP
    IF r.del = 'n' THEN
      EXECUTE format(
        'UPDATE %2$I t SET %1$I = NULL
          WHERE t.%1$I IS NOT NULL AND t.org_id IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM organization_memberships m WHERE m.org_id = t.org_id AND m.user_id = t.%1$I)',
        r.col, r.t);
      action := format('SET NULL (%I)', r.col);
    ELSE
      EXECUTE format(
        'INSERT INTO organization_memberships (org_id, user_id, role, is_active)
         SELECT DISTINCT t.org_id, t.%1$I, ''viewer'', false FROM %2$I t
          WHERE t.%1$I IS NOT NULL AND t.org_id IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM organization_memberships m WHERE m.org_id = t.org_id AND m.user_id = t.%1$I)
         ON CONFLICT (org_id, user_id) DO NOTHING',
        r.col, r.t);
      action := CASE r.del WHEN 'c' THEN 'CASCADE' WHEN 'r' THEN 'RESTRICT' ELSE 'NO ACTION' END;
    END IF;
    EXECUTE format(
      'ALTER TABLE %I ADD CONSTRAINT %I FOREIGN KEY (org_id, %I)
         REFERENCES organization_memberships (org_id, user_id) ON DELETE %s DEFERRABLE INITIALLY IMMEDIATE',
      r.t, left(r.t || '_org_id_' || r.col || '_fkey', 63), r.col, action);
    EXECUTE format('CREATE INDEX %I ON %I (org_id, %I)', left(r.t || '_org_id_' || r.col || '_idx', 63), r.t, r.col);
  END LOOP;
END
$user_refs$;
