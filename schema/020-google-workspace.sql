-- L20 — google workspace sync (README 09).
-- Domain configuration, the domain's synced mailboxes and the rules for who may view whose
-- synced Google data. The data itself lands in core tables (e-mail, calendar, documents, tasks).

CREATE TABLE google_workspace_domains (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  integration_id uuid NOT NULL,
  domain varchar(255) NOT NULL,
  display_name varchar(255) NOT NULL,
  service_account_email varchar(255),
  client_id varchar(255),
  is_active boolean NOT NULL DEFAULT true,
  sync_status varchar(50) NOT NULL DEFAULT 'pending' CHECK (sync_status IN ('pending', 'syncing', 'ok', 'error')),
  sync_error text,
  last_sync_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT google_workspace_domains_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT google_workspace_domains_org_id_domain_key UNIQUE (org_id, domain),
  CONSTRAINT google_workspace_domains_integration_id_fkey FOREIGN KEY (org_id, integration_id)
    REFERENCES integrations (org_id, id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE
);
COMMENT ON TABLE google_workspace_domains IS 'Google Workspace domains synced for an organization (service-account key lives encrypted in secrets)';
COMMENT ON COLUMN google_workspace_domains.service_account_email IS 'Identifier, not a secret';

CREATE TABLE google_workspace_users (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  domain_id uuid NOT NULL,
  user_id uuid REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  email varchar(255) NOT NULL,
  full_name varchar(255),
  first_name varchar(255),
  last_name varchar(255),
  is_admin boolean NOT NULL DEFAULT false,
  is_suspended boolean NOT NULL DEFAULT false,
  sync_enabled boolean NOT NULL DEFAULT true,
  last_login_at timestamptz,
  gmail_last_sync_at timestamptz,
  calendar_last_sync_at timestamptz,
  drive_last_sync_at timestamptz,
  tasks_last_sync_at timestamptz,
  contacts_last_sync_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT google_workspace_users_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT google_workspace_users_org_id_email_key UNIQUE (org_id, email),
  CONSTRAINT google_workspace_users_domain_id_fkey FOREIGN KEY (org_id, domain_id)
    REFERENCES google_workspace_domains (org_id, id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE
);
COMMENT ON TABLE google_workspace_users IS 'Mailboxes/accounts of a Google domain whose data is synced (may or may not be Robbieverse users)';
COMMENT ON COLUMN google_workspace_users.user_id IS 'Matching Robbieverse account, if any; linking it creates a self-access rule (ensure_self_access)';

CREATE TABLE google_data_access_rules (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  domain_id uuid NOT NULL,
  viewer_user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  target_workspace_user_id uuid,
  can_view_gmail boolean NOT NULL DEFAULT false,
  can_view_calendar boolean NOT NULL DEFAULT false,
  can_view_drive boolean NOT NULL DEFAULT false,
  can_view_tasks boolean NOT NULL DEFAULT false,
  can_view_contacts boolean NOT NULL DEFAULT false,
  is_admin_access boolean NOT NULL DEFAULT false,
  granted_by uuid REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  reason text,
  expires_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT google_data_access_rules_org_id_id_key UNIQUE (org_id, id),
  UNIQUE NULLS NOT DISTINCT (org_id, domain_id, viewer_user_id, target_workspace_user_id),
  CONSTRAINT google_data_access_rules_domain_id_fkey FOREIGN KEY (org_id, domain_id)
    REFERENCES google_workspace_domains (org_id, id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  CONSTRAINT google_data_access_rules_target_workspace_user_id_fkey FOREIGN KEY (org_id, target_workspace_user_id)
    REFERENCES google_workspace_users (org_id, id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE
);
COMMENT ON TABLE google_data_access_rules IS 'Who may view whose synced Google data (target NULL = every mailbox of the domain)';
COMMENT ON COLUMN google_data_access_rules.is_admin_access IS 'Implies all five can_view_* flags';

-- Linking a mailbox to an account gives that account full view of its own mailbox; relinking or
-- unlinking removes the automatic rule (reason 'self access') of the previous account; rules
-- granted by people stay.
-- SECURITY DEFINER: rule writes are otherwise reserved to owners/admins (L26 policies).
CREATE FUNCTION ensure_self_access() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.user_id IS NOT NULL AND OLD.user_id IS DISTINCT FROM NEW.user_id THEN
    DELETE FROM google_data_access_rules r
     WHERE r.org_id = OLD.org_id
       AND r.domain_id = OLD.domain_id
       AND r.viewer_user_id = OLD.user_id
       AND r.target_workspace_user_id = OLD.id
       AND r.reason = 'self access';
  END IF;

  IF NEW.user_id IS NOT NULL THEN
    INSERT INTO google_data_access_rules AS r
      (org_id, domain_id, viewer_user_id, target_workspace_user_id,
       can_view_gmail, can_view_calendar, can_view_drive, can_view_tasks, can_view_contacts, reason)
    VALUES
      (NEW.org_id, NEW.domain_id, NEW.user_id, NEW.id, true, true, true, true, true, 'self access')
    ON CONFLICT (org_id, domain_id, viewer_user_id, target_workspace_user_id) DO UPDATE
      SET can_view_gmail = true,
          can_view_calendar = true,
          can_view_drive = true,
          can_view_tasks = true,
          can_view_contacts = true,
          expires_at = NULL,
          updated_at = now();
  END IF;
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION ensure_self_access() IS 'AFTER INSERT/UPDATE OF user_id on google_workspace_users: upserts the owner''s full view of their own mailbox';

CREATE TRIGGER google_workspace_users_ensure_self_access
  AFTER INSERT OR UPDATE OF user_id ON google_workspace_users
  FOR EACH ROW
  EXECUTE FUNCTION ensure_self_access();

-- Whether a user may view a mailbox's synced data of one type (gmail, calendar, drive, tasks,
-- contacts): the viewer owns the mailbox, or an unexpired rule of the current organization covers
-- it (admin flag or the type's flag; target = that mailbox, or NULL = the whole domain).
-- SECURITY DEFINER because RLS policies on e-mail rows call it; it scopes itself to app.org_id.
CREATE FUNCTION can_access_google_data(p_viewer_user_id uuid, p_mailbox_email text, p_data_type text)
RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_org uuid := app_current_org_id();
  v_mailbox text := lower(btrim(p_mailbox_email));
BEGIN
  IF p_data_type IS NULL OR p_data_type NOT IN ('gmail', 'calendar', 'drive', 'tasks', 'contacts') THEN
    RAISE EXCEPTION 'can_access_google_data: unknown data type %', coalesce(p_data_type, 'NULL')
      USING ERRCODE = '22023', HINT = 'use gmail, calendar, drive, tasks or contacts';
  END IF;
  IF p_viewer_user_id IS NULL OR v_mailbox IS NULL OR v_mailbox = '' THEN
    RETURN false;
  END IF;

  -- The viewer's own mailbox: their account address, or a mailbox linked to their account.
  IF EXISTS (SELECT 1 FROM users u WHERE u.id = p_viewer_user_id AND lower(u.email) = v_mailbox)
     OR EXISTS (SELECT 1
                  FROM google_workspace_users w
                 WHERE w.org_id = v_org
                   AND w.user_id = p_viewer_user_id
                   AND lower(w.email) = v_mailbox) THEN
    RETURN true;
  END IF;

  RETURN EXISTS (
    SELECT 1
      FROM google_data_access_rules r
      JOIN google_workspace_domains d ON d.org_id = r.org_id AND d.id = r.domain_id
      LEFT JOIN google_workspace_users t ON t.org_id = r.org_id AND t.id = r.target_workspace_user_id
     WHERE r.org_id = v_org
       AND r.viewer_user_id = p_viewer_user_id
       AND (r.expires_at IS NULL OR r.expires_at > now())
       AND (r.is_admin_access
            OR CASE p_data_type
                 WHEN 'gmail' THEN r.can_view_gmail
                 WHEN 'calendar' THEN r.can_view_calendar
                 WHEN 'drive' THEN r.can_view_drive
                 WHEN 'tasks' THEN r.can_view_tasks
                 WHEN 'contacts' THEN r.can_view_contacts
               END)
       AND (lower(t.email) = v_mailbox
            OR (r.target_workspace_user_id IS NULL
                AND (split_part(v_mailbox, '@', 2) = lower(d.domain)
                     OR EXISTS (SELECT 1
                                  FROM google_workspace_users m
                                 WHERE m.org_id = r.org_id
                                   AND m.domain_id = r.domain_id
                                   AND lower(m.email) = v_mailbox)))));
END
$$;
COMMENT ON FUNCTION can_access_google_data(uuid, text, text) IS 'True if the viewer owns the mailbox or an unexpired access rule of the current organization covers it for that data type';
