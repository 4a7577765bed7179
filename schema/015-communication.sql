-- L15 — communication (merge-strategy layer 6).
-- E-mail threads, messages, attachments and engagement tracking; the AI outreach queue
-- (touch_ready_queue, merge-strategy columns kept as spelled); fatigue and daily totals.

-- touch_ready_queue: the merge strategy's columns (id … sent_at) keep their names, types,
-- defaults and CHECK lists; the rest are additions.
CREATE TABLE touch_ready_queue (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  contact_id uuid,
  draft_message text NOT NULL,
  rationale text,
  channel text CHECK (channel IN ('email', 'slack', 'linkedin', 'sms')),
  priority integer DEFAULT 50,
  status text DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'sent', 'skipped')),
  created_at timestamptz DEFAULT now(),
  sent_at timestamptz,
  user_id uuid REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  deal_id uuid,
  touch_type text NOT NULL DEFAULT 'follow_up'
    CHECK (touch_type IN ('follow_up', 'check_in', 'thank_you', 'congratulations', 'introduction', 'reconnect')),
  ai_confidence numeric(3,2) CHECK (ai_confidence BETWEEN 0 AND 1),
  context jsonb NOT NULL DEFAULT '{}',
  scheduled_for timestamptz,
  approved_at timestamptz,
  approved_by uuid REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  skipped_at timestamptz,
  skip_reason text,
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT touch_ready_queue_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT touch_ready_queue_contact_id_fkey FOREIGN KEY (org_id, contact_id)
    REFERENCES contacts (org_id, id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  CONSTRAINT touch_ready_queue_deal_id_fkey FOREIGN KEY (org_id, deal_id)
    REFERENCES deals (org_id, id) ON DELETE SET NULL (deal_id) DEFERRABLE INITIALLY IMMEDIATE
);
COMMENT ON TABLE touch_ready_queue IS 'AI-drafted outreach waiting for approval (respects communication_fatigue)';
COMMENT ON COLUMN touch_ready_queue.priority IS '0–100 by convention (the merge strategy has no CHECK)';

CREATE TABLE email_threads (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  user_id uuid REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  mailbox_email varchar(255),
  contact_id uuid,
  subject text,
  last_message_at timestamptz,
  message_count integer NOT NULL DEFAULT 0,
  is_unread boolean NOT NULL DEFAULT true,
  is_important boolean NOT NULL DEFAULT false,
  requires_response boolean NOT NULL DEFAULT false,
  sentiment text CHECK (sentiment IN ('positive', 'neutral', 'negative')),
  labels text[] NOT NULL DEFAULT '{}',
  privacy_level text NOT NULL DEFAULT 'private' CHECK (privacy_level IN ('public', 'team', 'private', 'boss_only')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT email_threads_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT email_threads_contact_id_fkey FOREIGN KEY (org_id, contact_id)
    REFERENCES contacts (org_id, id) ON DELETE SET NULL (contact_id) DEFERRABLE INITIALLY IMMEDIATE
);
COMMENT ON TABLE email_threads IS 'E-mail conversations of a mailbox (Gmail threads, HubSpot-logged threads)';
COMMENT ON COLUMN email_threads.mailbox_email IS 'Mailbox address; may be a domain mailbox that is not a Robbieverse user';

CREATE TABLE email_messages (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  thread_id uuid,
  user_id uuid REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  mailbox_email varchar(255),
  contact_id uuid,
  direction text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
  from_email text NOT NULL,
  from_name text,
  to_emails text[] NOT NULL DEFAULT '{}',
  cc_emails text[] NOT NULL DEFAULT '{}',
  bcc_emails text[] NOT NULL DEFAULT '{}',
  subject text,
  snippet text,
  body_text text,
  body_html text,
  labels text[] NOT NULL DEFAULT '{}',
  is_unread boolean NOT NULL DEFAULT true,
  is_starred boolean NOT NULL DEFAULT false,
  is_important boolean NOT NULL DEFAULT false,
  has_attachments boolean NOT NULL DEFAULT false,
  attachment_count integer NOT NULL DEFAULT 0,
  sent_at timestamptz,
  received_at timestamptz,
  privacy_level text NOT NULL DEFAULT 'private' CHECK (privacy_level IN ('public', 'team', 'private', 'boss_only')),
  embedding_model text REFERENCES embedding_models (model_key) ON UPDATE CASCADE ON DELETE RESTRICT DEFERRABLE INITIALLY IMMEDIATE,
  metadata jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT email_messages_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT email_messages_thread_id_fkey FOREIGN KEY (org_id, thread_id)
    REFERENCES email_threads (org_id, id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  CONSTRAINT email_messages_contact_id_fkey FOREIGN KEY (org_id, contact_id)
    REFERENCES contacts (org_id, id) ON DELETE SET NULL (contact_id) DEFERRABLE INITIALLY IMMEDIATE
);
-- @if vector
ALTER TABLE email_messages ADD COLUMN embedding vector;
-- @else
ALTER TABLE email_messages ADD COLUMN embedding real[];
-- @end
ALTER TABLE email_messages ADD CONSTRAINT email_messages_embedding_pair_check
  CHECK ((embedding IS NULL) = (embedding_model IS NULL));
COMMENT ON TABLE email_messages IS 'The only e-mail store: Gmail and HubSpot-logged messages (outside ids in external_refs)';
COMMENT ON COLUMN email_messages.mailbox_email IS 'Mailbox address; the Google access check (can_access_google_data) uses it';

CREATE TABLE email_attachments (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  email_message_id uuid NOT NULL,
  filename varchar(500),
  mime_type varchar(100),
  size_bytes bigint,
  document_id uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT email_attachments_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT email_attachments_email_message_id_fkey FOREIGN KEY (org_id, email_message_id)
    REFERENCES email_messages (org_id, id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  CONSTRAINT email_attachments_document_id_fkey FOREIGN KEY (org_id, document_id)
    REFERENCES documents (org_id, id) ON DELETE SET NULL (document_id) DEFERRABLE INITIALLY IMMEDIATE
);
COMMENT ON TABLE email_attachments IS 'Attachments of e-mail messages; document_id once stored/processed as a document';

CREATE TABLE email_tracking (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  email_message_id uuid NOT NULL,
  contact_id uuid,
  tracking_id text NOT NULL,
  open_count integer NOT NULL DEFAULT 0,
  first_opened_at timestamptz,
  last_opened_at timestamptz,
  click_count integer NOT NULL DEFAULT 0,
  first_clicked_at timestamptz,
  last_clicked_at timestamptz,
  clicked_links text[] NOT NULL DEFAULT '{}',
  reply_count integer NOT NULL DEFAULT 0,
  replied_at timestamptz,
  bounced_at timestamptz,
  unsubscribed_at timestamptz,
  unsubscribe_reason varchar(500),
  device_type varchar(50),
  location_country varchar(100),
  location_city varchar(100),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT email_tracking_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT email_tracking_org_id_tracking_id_key UNIQUE (org_id, tracking_id),
  CONSTRAINT email_tracking_email_message_id_fkey FOREIGN KEY (org_id, email_message_id)
    REFERENCES email_messages (org_id, id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  CONSTRAINT email_tracking_contact_id_fkey FOREIGN KEY (org_id, contact_id)
    REFERENCES contacts (org_id, id) ON DELETE SET NULL (contact_id) DEFERRABLE INITIALLY IMMEDIATE
);
COMMENT ON TABLE email_tracking IS 'Engagement with a sent e-mail per tracked recipient: opens, clicks, replies, bounces';
COMMENT ON COLUMN email_tracking.tracking_id IS 'Pixel/link token embedded in the message';

CREATE TABLE communication_fatigue (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  contact_id uuid NOT NULL,
  channel text NOT NULL CHECK (channel IN ('email', 'slack', 'linkedin', 'sms', 'phone', 'meeting', 'all')),
  window_days integer NOT NULL DEFAULT 7 CHECK (window_days > 0),
  touches_in_window integer NOT NULL DEFAULT 0,
  inbound_in_window integer NOT NULL DEFAULT 0,
  max_touches_per_window integer NOT NULL DEFAULT 3,
  last_touch_at timestamptz,
  last_inbound_at timestamptz,
  fatigue_score integer NOT NULL DEFAULT 0 CHECK (fatigue_score BETWEEN 0 AND 100),
  status text NOT NULL DEFAULT 'ok' CHECK (status IN ('ok', 'caution', 'fatigued', 'do_not_contact')),
  cooldown_until timestamptz,
  calculated_at timestamptz NOT NULL DEFAULT now(),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT communication_fatigue_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT communication_fatigue_contact_id_channel_window_days_key UNIQUE (org_id, contact_id, channel, window_days),
  CONSTRAINT communication_fatigue_contact_id_fkey FOREIGN KEY (org_id, contact_id)
    REFERENCES contacts (org_id, id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE
);
COMMENT ON TABLE communication_fatigue IS 'Rolling touch load per contact and channel (recomputed from interactions) to avoid over-contacting';
COMMENT ON COLUMN communication_fatigue.touches_in_window IS 'Outbound touches within window_days';

CREATE TABLE communication_analytics (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  user_id uuid REFERENCES users (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  date date NOT NULL,
  emails_sent integer NOT NULL DEFAULT 0,
  emails_received integer NOT NULL DEFAULT 0,
  emails_responded_to integer NOT NULL DEFAULT 0,
  avg_response_time_hours numeric(10,2),
  slack_messages_sent integer NOT NULL DEFAULT 0,
  slack_messages_received integer NOT NULL DEFAULT 0,
  touches_completed integer NOT NULL DEFAULT 0,
  time_saved_minutes integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT communication_analytics_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT communication_analytics_org_id_user_id_date_key UNIQUE NULLS NOT DISTINCT (org_id, user_id, date)
);
COMMENT ON TABLE communication_analytics IS 'Daily per-user communication totals (user_id NULL = organization total)';
