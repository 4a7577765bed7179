-- L10 — business (README 04): the CRM core of an organization — customer companies, contacts,
-- the global ordered deal pipeline (deal_stages), deals, deal contacts and the deal lifecycle
-- timeline (deal_activities), plus the deal_stage_changed() trigger. HubSpot ids live in external_refs (L21).

CREATE TABLE companies (
  id                  uuid        NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id              uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  town_id             uuid,
  owner_id            uuid        REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  name                text        NOT NULL,
  domain              text,
  industry            text,
  employee_count      integer,
  revenue_range       text,
  headquarters        jsonb,
  website             text,
  phone               text,
  email               text,
  linkedin_url        text,
  description         text,
  tags                text[]      NOT NULL DEFAULT '{}',
  is_vip              boolean     NOT NULL DEFAULT false,
  is_active           boolean     NOT NULL DEFAULT true,
  market_intelligence jsonb,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT companies_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT companies_town_id_fkey FOREIGN KEY (org_id, town_id) REFERENCES towns (org_id, id)
    ON DELETE SET NULL (town_id) DEFERRABLE INITIALLY IMMEDIATE
);
COMMENT ON TABLE companies IS 'Customer/prospect companies in an organization''s CRM (never tenants)';
COMMENT ON COLUMN companies.headquarters IS 'Address object';
COMMENT ON COLUMN companies.is_active IS 'Soft delete';
COMMENT ON COLUMN companies.market_intelligence IS 'Latest summary; details in shared_market_intelligence';

-- ---------------------------------------------------------------------------------------------
-- Merge-strategy columns first, spelled as the merge strategy spells them (Rule 3).
CREATE TABLE contacts (
  id                uuid        NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id            uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  first_name        text        NOT NULL,
  last_name         text        NOT NULL,
  email             text,
  phone             text,
  company           text,
  job_title         text,
  linkedin_url      text,
  avatar_url        text,
  notes             text,
  tags              text[]      DEFAULT '{}',
  is_vip            boolean     DEFAULT false,
  created_at        timestamptz DEFAULT now(),
  updated_at        timestamptz DEFAULT now(),
  company_id        uuid,
  town_id           uuid,
  owner_id          uuid        REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  mobile_phone      text,
  last_contacted_at timestamptz,
  is_active         boolean     NOT NULL DEFAULT true,
  full_name         text        GENERATED ALWAYS AS (first_name || ' ' || last_name) STORED,
  CONSTRAINT contacts_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT contacts_company_id_fkey FOREIGN KEY (org_id, company_id) REFERENCES companies (org_id, id)
    ON DELETE SET NULL (company_id) DEFERRABLE INITIALLY IMMEDIATE,
  CONSTRAINT contacts_town_id_fkey FOREIGN KEY (org_id, town_id) REFERENCES towns (org_id, id)
    ON DELETE SET NULL (town_id) DEFERRABLE INITIALLY IMMEDIATE
);
COMMENT ON TABLE contacts IS 'CRM people of an organization (HubSpot, Google and manual contacts land here)';
COMMENT ON COLUMN contacts.company IS 'Free-text company name as entered/imported; the link is company_id';
COMMENT ON COLUMN contacts.last_contacted_at IS 'Maintained from interactions (L17)';
COMMENT ON COLUMN contacts.full_name IS 'first_name || '' '' || last_name, for search';

-- ---------------------------------------------------------------------------------------------
CREATE TABLE deal_stages (
  id                  uuid        NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  code                text        NOT NULL UNIQUE,
  name                text        NOT NULL,
  stage_order         integer     NOT NULL UNIQUE,
  default_probability integer     NOT NULL CHECK (default_probability BETWEEN 0 AND 100),
  is_closed           boolean     NOT NULL DEFAULT false,
  is_won              boolean     NOT NULL DEFAULT false,
  external_aliases    text[]      NOT NULL DEFAULT '{}',
  description         text,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT deal_stages_is_won_check CHECK (NOT is_won OR is_closed)
);
COMMENT ON TABLE deal_stages IS 'The ordered sales pipeline; deals.stage references code';
COMMENT ON COLUMN deal_stages.external_aliases IS 'Lower-case stage names used by HubSpot, legacy code and the UI that map to this stage';

-- ---------------------------------------------------------------------------------------------
CREATE TABLE deals (
  id                  uuid        NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id              uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  company_id          uuid,
  primary_contact_id  uuid,
  owner_id            uuid        REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  name                text        NOT NULL,
  amount_cents        bigint,
  currency            varchar(3)  DEFAULT 'USD',
  stage               text        DEFAULT 'AWARENESS' REFERENCES deal_stages (code) ON UPDATE CASCADE ON DELETE RESTRICT DEFERRABLE INITIALLY IMMEDIATE,
  probability         integer     DEFAULT 0,
  expected_close_date date,
  created_at          timestamptz DEFAULT now(),
  updated_at          timestamptz DEFAULT now(),
  town_id             uuid,
  deal_type           text,
  forecast_category   text        CHECK (forecast_category IN ('pipeline', 'bestcase', 'commit', 'omitted', 'closed')),
  next_step           text,
  closed_at           timestamptz,
  closed_reason       text,
  deal_score          integer     CHECK (deal_score BETWEEN 0 AND 100),
  notes               text,
  tags                text[]      NOT NULL DEFAULT '{}',
  is_active           boolean     NOT NULL DEFAULT true,
  CONSTRAINT deals_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT deals_company_id_fkey FOREIGN KEY (org_id, company_id) REFERENCES companies (org_id, id)
    ON DELETE SET NULL (company_id) DEFERRABLE INITIALLY IMMEDIATE,
  CONSTRAINT deals_primary_contact_id_fkey FOREIGN KEY (org_id, primary_contact_id) REFERENCES contacts (org_id, id)
    ON DELETE SET NULL (primary_contact_id) DEFERRABLE INITIALLY IMMEDIATE,
  CONSTRAINT deals_town_id_fkey FOREIGN KEY (org_id, town_id) REFERENCES towns (org_id, id)
    ON DELETE SET NULL (town_id) DEFERRABLE INITIALLY IMMEDIATE
);
COMMENT ON TABLE deals IS 'Sales opportunities of an organization, moving through deal_stages';
COMMENT ON COLUMN deals.probability IS '0-100 by convention (no CHECK, as in the merge strategy); set to the stage default when the stage changes alone';
COMMENT ON COLUMN deals.closed_at IS 'Set by deal_stage_changed() on entering a closed stage, cleared on leaving it';
COMMENT ON COLUMN deals.deal_type IS 'new_business, renewal, expansion, ...';

-- ---------------------------------------------------------------------------------------------
CREATE TABLE deal_contacts (
  id         uuid         NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id     uuid         NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  deal_id    uuid         NOT NULL,
  contact_id uuid         NOT NULL,
  role       varchar(100),
  created_at timestamptz  NOT NULL DEFAULT now(),
  updated_at timestamptz  NOT NULL DEFAULT now(),
  CONSTRAINT deal_contacts_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT deal_contacts_deal_id_contact_id_key UNIQUE (org_id, deal_id, contact_id),
  CONSTRAINT deal_contacts_deal_id_fkey FOREIGN KEY (org_id, deal_id) REFERENCES deals (org_id, id)
    ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  CONSTRAINT deal_contacts_contact_id_fkey FOREIGN KEY (org_id, contact_id) REFERENCES contacts (org_id, id)
    ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE
);
COMMENT ON TABLE deal_contacts IS 'Contacts involved in a deal and their role (the primary contact is deals.primary_contact_id)';
COMMENT ON COLUMN deal_contacts.role IS 'decision_maker, champion, influencer, user, blocker';

-- ---------------------------------------------------------------------------------------------
CREATE TABLE deal_activities (
  id            uuid        NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id        uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  deal_id       uuid        NOT NULL,
  user_id       uuid        REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  activity_type text        NOT NULL CHECK (activity_type IN ('note', 'stage_change', 'amount_change', 'owner_change',
                              'close_date_change', 'simulation', 'ai_insight')),
  description   text,
  metadata      jsonb       NOT NULL DEFAULT '{}',
  occurred_at   timestamptz NOT NULL DEFAULT now(),
  created_at    timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT deal_activities_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT deal_activities_deal_id_fkey FOREIGN KEY (org_id, deal_id) REFERENCES deals (org_id, id)
    ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE
);
COMMENT ON TABLE deal_activities IS 'Append-only lifecycle timeline of a deal (communications are interactions rows)';
COMMENT ON COLUMN deal_activities.user_id IS 'Actor; NULL = system/AI';
COMMENT ON COLUMN deal_activities.metadata IS 'e.g. {"from": ..., "to": ...}';

-- ---------------------------------------------------------------------------------------------
-- deal_stage_changed(): one function, two triggers.
-- BEFORE INSERT / UPDATE OF stage: a stage change without an explicit probability change takes
--   the stage's default_probability; closed_at is set on entering a closed stage and cleared on
--   leaving one (an explicitly supplied closed_at is kept).
-- AFTER UPDATE OF stage, amount_cents, owner_id: one deal_activities row per changed field.
-- Both parts stand aside while the sync applier runs (setting robbieverse.sync_applying).
CREATE FUNCTION deal_stage_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  v_prob       integer;
  v_closed     boolean;
  v_was_closed boolean := false;
  v_actor      uuid := app_current_user_id();
BEGIN
  -- The sync applier writes final row images whose timeline rows arrive on their own (SYNC.md §4.3).
  IF current_setting('robbieverse.sync_applying', true) IN ('on', 'true', '1') THEN
    IF TG_WHEN = 'BEFORE' THEN
      RETURN NEW;
    END IF;
    RETURN NULL;
  END IF;
  IF TG_WHEN = 'BEFORE' THEN
    IF TG_OP = 'UPDATE' AND NEW.stage IS NOT DISTINCT FROM OLD.stage THEN
      RETURN NEW;
    END IF;
    SELECT s.default_probability, s.is_closed INTO v_prob, v_closed
    FROM deal_stages s WHERE s.code = NEW.stage;
    v_closed := coalesce(v_closed, false);
    IF TG_OP = 'UPDATE' THEN
      SELECT s.is_closed INTO v_was_closed FROM deal_stages s WHERE s.code = OLD.stage;
      v_was_closed := coalesce(v_was_closed, false);
      IF v_prob IS NOT NULL AND NEW.probability IS NOT DISTINCT FROM OLD.probability THEN
        NEW.probability := v_prob;
      END IF;
    END IF;
    IF v_closed THEN
      IF NEW.closed_at IS NULL
         OR (TG_OP = 'UPDATE' AND NOT v_was_closed AND NEW.closed_at IS NOT DISTINCT FROM OLD.closed_at) THEN
        NEW.closed_at := now();
      END IF;
    ELSIF TG_OP = 'UPDATE' THEN
      NEW.closed_at := NULL;
    END IF;
    RETURN NEW;
  END IF;

  -- AFTER UPDATE: the timeline.
  IF NEW.stage IS DISTINCT FROM OLD.stage THEN
    INSERT INTO deal_activities (org_id, deal_id, user_id, activity_type, description, metadata)
    VALUES (NEW.org_id, NEW.id, v_actor, 'stage_change',
            format('Stage changed from %s to %s', coalesce(OLD.stage, 'none'), coalesce(NEW.stage, 'none')),
            jsonb_build_object('from', OLD.stage, 'to', NEW.stage,
                               'probability_from', OLD.probability, 'probability_to', NEW.probability));
  END IF;
  IF NEW.amount_cents IS DISTINCT FROM OLD.amount_cents THEN
    INSERT INTO deal_activities (org_id, deal_id, user_id, activity_type, description, metadata)
    VALUES (NEW.org_id, NEW.id, v_actor, 'amount_change', 'Amount changed',
            jsonb_build_object('from', OLD.amount_cents, 'to', NEW.amount_cents, 'currency', NEW.currency));
  END IF;
  IF NEW.owner_id IS DISTINCT FROM OLD.owner_id THEN
    INSERT INTO deal_activities (org_id, deal_id, user_id, activity_type, description, metadata)
    VALUES (NEW.org_id, NEW.id, v_actor, 'owner_change', 'Owner changed',
            jsonb_build_object('from', OLD.owner_id, 'to', NEW.owner_id));
  END IF;
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION deal_stage_changed() IS 'Deal lifecycle: BEFORE sets stage default probability and closed_at; AFTER writes stage/amount/owner changes to deal_activities';

CREATE TRIGGER deals_stage_defaults
  BEFORE INSERT OR UPDATE OF stage ON deals
  FOR EACH ROW EXECUTE FUNCTION deal_stage_changed();

CREATE TRIGGER deals_stage_changed
  AFTER UPDATE OF stage, amount_cents, owner_id ON deals
  FOR EACH ROW
  WHEN (OLD.stage IS DISTINCT FROM NEW.stage
        OR OLD.amount_cents IS DISTINCT FROM NEW.amount_cents
        OR OLD.owner_id IS DISTINCT FROM NEW.owner_id)
  EXECUTE FUNCTION deal_stage_changed();
