-- L17 — interactions (README 19).
-- The single log of communication touchpoints with outside people, website activity,
-- engagement scoring rules and per-contact/per-company engagement scores.

CREATE TABLE interactions (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  town_id uuid,
  interaction_type varchar(50) NOT NULL CHECK (interaction_type IN (
    'email', 'call', 'meeting', 'slack_message', 'linkedin_message', 'linkedin_connection_request',
    'linkedin_inmail', 'sms', 'chat', 'form_submission', 'note', 'other')),
  direction varchar(20) NOT NULL CHECK (direction IN ('inbound', 'outbound', 'internal')),
  contact_id uuid,
  company_id uuid,
  deal_id uuid,
  user_id uuid REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  email_message_id uuid,
  slack_message_id uuid,
  calendar_event_id uuid,
  subject varchar(500),
  content text,
  summary text,
  source varchar(100),
  occurred_at timestamptz NOT NULL DEFAULT now(),
  duration_minutes integer,
  outcome varchar(100),
  read_at timestamptz,
  responded_at timestamptz,
  time_spent_seconds integer NOT NULL DEFAULT 0,
  engagement_score numeric(3,2) NOT NULL DEFAULT 0 CHECK (engagement_score BETWEEN 0 AND 1),
  sentiment varchar(20) CHECK (sentiment IN ('positive', 'neutral', 'negative', 'mixed')),
  urgency varchar(20) CHECK (urgency IN ('low', 'medium', 'high', 'critical')),
  priority varchar(20) CHECK (priority IN ('low', 'medium', 'high', 'critical')),
  objections_mentioned text[] NOT NULL DEFAULT '{}',
  requires_action boolean NOT NULL DEFAULT false,
  action_deadline timestamptz,
  privacy_level text NOT NULL DEFAULT 'team' CHECK (privacy_level IN ('public', 'team', 'private', 'boss_only')),
  metadata jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT interactions_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT interactions_town_id_fkey FOREIGN KEY (org_id, town_id)
    REFERENCES towns (org_id, id) ON DELETE SET NULL (town_id) DEFERRABLE INITIALLY IMMEDIATE,
  CONSTRAINT interactions_contact_id_fkey FOREIGN KEY (org_id, contact_id)
    REFERENCES contacts (org_id, id) ON DELETE SET NULL (contact_id) DEFERRABLE INITIALLY IMMEDIATE,
  CONSTRAINT interactions_company_id_fkey FOREIGN KEY (org_id, company_id)
    REFERENCES companies (org_id, id) ON DELETE SET NULL (company_id) DEFERRABLE INITIALLY IMMEDIATE,
  CONSTRAINT interactions_deal_id_fkey FOREIGN KEY (org_id, deal_id)
    REFERENCES deals (org_id, id) ON DELETE SET NULL (deal_id) DEFERRABLE INITIALLY IMMEDIATE,
  CONSTRAINT interactions_email_message_id_fkey FOREIGN KEY (org_id, email_message_id)
    REFERENCES email_messages (org_id, id) ON DELETE SET NULL (email_message_id) DEFERRABLE INITIALLY IMMEDIATE,
  CONSTRAINT interactions_slack_message_id_fkey FOREIGN KEY (org_id, slack_message_id)
    REFERENCES slack_messages (org_id, id) ON DELETE SET NULL (slack_message_id) DEFERRABLE INITIALLY IMMEDIATE,
  CONSTRAINT interactions_calendar_event_id_fkey FOREIGN KEY (org_id, calendar_event_id)
    REFERENCES calendar_events (org_id, id) ON DELETE SET NULL (calendar_event_id) DEFERRABLE INITIALLY IMMEDIATE
);
COMMENT ON TABLE interactions IS 'Communication touchpoints with outside people (e-mail, calls, meetings, Slack, LinkedIn, SMS, chat, forms)';
COMMENT ON COLUMN interactions.read_at IS 'For non-e-mail channels; e-mail opens are in email_tracking';

-- An outbound touch with a contact refreshes contacts.last_contacted_at. SECURITY DEFINER so the
-- freshness update does not depend on the inserter's rights on contacts; it only touches the
-- contact of the same organization as the interaction, and never moves the date backwards.
CREATE FUNCTION update_contact_last_contacted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  UPDATE contacts c
     SET last_contacted_at = NEW.occurred_at
   WHERE c.org_id = NEW.org_id
     AND c.id = NEW.contact_id
     AND (c.last_contacted_at IS NULL OR c.last_contacted_at < NEW.occurred_at);
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION update_contact_last_contacted() IS 'AFTER INSERT on interactions: outbound touch with a contact sets contacts.last_contacted_at';

CREATE TRIGGER interactions_update_contact_last_contacted
  AFTER INSERT ON interactions
  FOR EACH ROW
  WHEN (NEW.contact_id IS NOT NULL AND NEW.direction = 'outbound')
  EXECUTE FUNCTION update_contact_last_contacted();

CREATE TABLE website_activity (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  town_id uuid,
  contact_id uuid,
  company_id uuid,
  visitor_id varchar(200),
  session_id varchar(200),
  page_url varchar(1000) NOT NULL,
  page_title varchar(500),
  referrer varchar(1000),
  utm_source varchar(100),
  utm_campaign varchar(255),
  user_agent text,
  ip_address inet,
  time_on_page_seconds integer NOT NULL DEFAULT 0,
  scroll_depth_percent integer NOT NULL DEFAULT 0 CHECK (scroll_depth_percent BETWEEN 0 AND 100),
  bounce boolean NOT NULL DEFAULT false,
  converted boolean NOT NULL DEFAULT false,
  conversion_type varchar(100),
  conversion_value numeric(10,2),
  visited_at timestamptz NOT NULL DEFAULT now(),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT website_activity_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT website_activity_town_id_fkey FOREIGN KEY (org_id, town_id)
    REFERENCES towns (org_id, id) ON DELETE SET NULL (town_id) DEFERRABLE INITIALLY IMMEDIATE,
  CONSTRAINT website_activity_contact_id_fkey FOREIGN KEY (org_id, contact_id)
    REFERENCES contacts (org_id, id) ON DELETE SET NULL (contact_id) DEFERRABLE INITIALLY IMMEDIATE,
  CONSTRAINT website_activity_company_id_fkey FOREIGN KEY (org_id, company_id)
    REFERENCES companies (org_id, id) ON DELETE SET NULL (company_id) DEFERRABLE INITIALLY IMMEDIATE
);
COMMENT ON TABLE website_activity IS 'Website page visits (with UTM fields), linked to a contact/company when known';
COMMENT ON COLUMN website_activity.ip_address IS 'Personal data; kept only as long as the retention policy allows';

CREATE TABLE engagement_rules (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  rule_name varchar(200) NOT NULL UNIQUE,
  rule_type varchar(50) NOT NULL CHECK (rule_type IN ('email', 'website', 'social', 'interaction')),
  conditions jsonb NOT NULL,
  base_score numeric(3,2) NOT NULL CHECK (base_score BETWEEN 0 AND 1),
  multiplier numeric(3,2) NOT NULL DEFAULT 1.0,
  max_score numeric(3,2) NOT NULL DEFAULT 1.0,
  decay_hours integer NOT NULL DEFAULT 24,
  decay_factor numeric(3,2) NOT NULL DEFAULT 0.9,
  is_active boolean NOT NULL DEFAULT true,
  priority integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE engagement_rules IS 'Platform scoring rules applied to interactions, e-mail tracking and website activity';

CREATE TABLE person_engagement_scores (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  contact_id uuid NOT NULL,
  total_score numeric(5,2) NOT NULL DEFAULT 0,
  email_score numeric(5,2) NOT NULL DEFAULT 0,
  website_score numeric(5,2) NOT NULL DEFAULT 0,
  social_score numeric(5,2) NOT NULL DEFAULT 0,
  meeting_score numeric(5,2) NOT NULL DEFAULT 0,
  total_interactions integer NOT NULL DEFAULT 0,
  email_interactions integer NOT NULL DEFAULT 0,
  website_visits integer NOT NULL DEFAULT 0,
  social_interactions integer NOT NULL DEFAULT 0,
  meetings integer NOT NULL DEFAULT 0,
  last_interaction_at timestamptz,
  last_email_at timestamptz,
  last_website_visit_at timestamptz,
  last_social_at timestamptz,
  last_meeting_at timestamptz,
  score_trend varchar(20) CHECK (score_trend IN ('rising', 'stable', 'falling')),
  activity_trend varchar(20) CHECK (activity_trend IN ('rising', 'stable', 'falling')),
  calculated_at timestamptz NOT NULL DEFAULT now(),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT person_engagement_scores_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT person_engagement_scores_contact_id_fkey FOREIGN KEY (org_id, contact_id)
    REFERENCES contacts (org_id, id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE
);
ALTER TABLE person_engagement_scores ADD CONSTRAINT person_engagement_scores_org_id_contact_id_key UNIQUE (org_id, contact_id);
COMMENT ON TABLE person_engagement_scores IS 'Engagement score and counters per contact (computed from interactions, e-mail tracking and web activity)';

CREATE TABLE company_engagement_scores (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  company_id uuid NOT NULL,
  total_score numeric(5,2) NOT NULL DEFAULT 0,
  email_score numeric(5,2) NOT NULL DEFAULT 0,
  website_score numeric(5,2) NOT NULL DEFAULT 0,
  social_score numeric(5,2) NOT NULL DEFAULT 0,
  meeting_score numeric(5,2) NOT NULL DEFAULT 0,
  total_interactions integer NOT NULL DEFAULT 0,
  unique_people_interacted integer NOT NULL DEFAULT 0,
  email_interactions integer NOT NULL DEFAULT 0,
  website_visits integer NOT NULL DEFAULT 0,
  social_interactions integer NOT NULL DEFAULT 0,
  meetings integer NOT NULL DEFAULT 0,
  last_interaction_at timestamptz,
  last_email_at timestamptz,
  last_website_visit_at timestamptz,
  last_social_at timestamptz,
  last_meeting_at timestamptz,
  score_trend varchar(20) CHECK (score_trend IN ('rising', 'stable', 'falling')),
  activity_trend varchar(20) CHECK (activity_trend IN ('rising', 'stable', 'falling')),
  calculated_at timestamptz NOT NULL DEFAULT now(),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT company_engagement_scores_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT company_engagement_scores_company_id_fkey FOREIGN KEY (org_id, company_id)
    REFERENCES companies (org_id, id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE
);
ALTER TABLE company_engagement_scores ADD CONSTRAINT company_engagement_scores_org_id_company_id_key UNIQUE (org_id, company_id);
COMMENT ON TABLE company_engagement_scores IS 'Engagement score and counters per company (same shape as person_engagement_scores)';
