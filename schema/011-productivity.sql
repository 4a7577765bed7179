-- L11 — productivity (merge-strategy layer 4): tasks (also the Google Tasks sync target),
-- the one calendar table (calendar_events), AI meeting-health scores and focus blocks.

-- Merge-strategy columns first, spelled as the merge strategy spells them (Rule 3).
CREATE TABLE tasks (
  id                   uuid          NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id               uuid          NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  user_id              uuid          REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  title                text          NOT NULL,
  description          text,
  status               text          DEFAULT 'todo' CHECK (status IN ('todo', 'doing', 'done')),
  priority             text          DEFAULT 'medium' CHECK (priority IN ('low', 'medium', 'high')),
  due_date             timestamptz,
  completed_at         timestamptz,
  created_at           timestamptz   DEFAULT now(),
  updated_at           timestamptz   DEFAULT now(),
  assigned_to          uuid          REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  town_id              uuid,
  parent_task_id       uuid,
  related_to_type      text,
  related_to_id        uuid,
  tags                 text[]        NOT NULL DEFAULT '{}',
  estimated_hours      numeric(6,2),
  revenue_impact_cents bigint,
  ai_score             integer       CHECK (ai_score BETWEEN 0 AND 100),
  metadata             jsonb         NOT NULL DEFAULT '{}',
  CONSTRAINT tasks_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT tasks_town_id_fkey FOREIGN KEY (org_id, town_id) REFERENCES towns (org_id, id)
    ON DELETE SET NULL (town_id) DEFERRABLE INITIALLY IMMEDIATE,
  CONSTRAINT tasks_parent_task_id_fkey FOREIGN KEY (org_id, parent_task_id) REFERENCES tasks (org_id, id)
    ON DELETE SET NULL (parent_task_id) DEFERRABLE INITIALLY IMMEDIATE
);
COMMENT ON TABLE tasks IS 'To-dos of an organization (manual, AI-created, or synced from Google Tasks via external_refs)';
COMMENT ON COLUMN tasks.user_id IS 'Owner/creator';
COMMENT ON COLUMN tasks.related_to_type IS 'Entity-registry key; with related_to_id a polymorphic reference checked by check_entity_ref';
COMMENT ON COLUMN tasks.ai_score IS 'AI prioritisation score 0-100';

-- ---------------------------------------------------------------------------------------------
CREATE TABLE calendar_events (
  id                uuid         NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id            uuid         NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  user_id           uuid         REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  town_id           uuid,
  title             text         NOT NULL,
  description       text,
  location          text,
  start_time        timestamptz  NOT NULL,
  end_time          timestamptz  NOT NULL,
  is_all_day        boolean      NOT NULL DEFAULT false,
  timezone          varchar(100),
  event_type        text         NOT NULL DEFAULT 'meeting' CHECK (event_type IN ('meeting', 'focus_block', 'break', 'personal', 'travel')),
  status            text         NOT NULL DEFAULT 'confirmed' CHECK (status IN ('confirmed', 'tentative', 'cancelled')),
  visibility        text         NOT NULL DEFAULT 'default' CHECK (visibility IN ('default', 'public', 'private', 'confidential')),
  organizer_email   varchar(255),
  attendees         jsonb        NOT NULL DEFAULT '[]',
  is_recurring      boolean      NOT NULL DEFAULT false,
  recurrence_rule   text,
  has_agenda        boolean      NOT NULL DEFAULT false,
  agenda            text,
  meeting_url       text,
  is_online_meeting boolean      NOT NULL DEFAULT false,
  preparation_notes text,
  tags              text[]       NOT NULL DEFAULT '{}',
  metadata          jsonb        NOT NULL DEFAULT '{}',
  created_at        timestamptz  NOT NULL DEFAULT now(),
  updated_at        timestamptz  NOT NULL DEFAULT now(),
  CONSTRAINT calendar_events_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT calendar_events_end_time_check CHECK (end_time >= start_time),
  CONSTRAINT calendar_events_town_id_fkey FOREIGN KEY (org_id, town_id) REFERENCES towns (org_id, id)
    ON DELETE SET NULL (town_id) DEFERRABLE INITIALLY IMMEDIATE
);
COMMENT ON TABLE calendar_events IS 'The one calendar table: meetings and blocks of an organization''s users (Google event ids in external_refs)';
COMMENT ON COLUMN calendar_events.user_id IS 'Calendar owner';
COMMENT ON COLUMN calendar_events.attendees IS 'Array of {email, name, user_id?, contact_id?, response_status}';
COMMENT ON COLUMN calendar_events.recurrence_rule IS 'RRULE';

-- ---------------------------------------------------------------------------------------------
-- Merge-strategy columns first, spelled as the merge strategy spells them (Rule 3).
CREATE TABLE meeting_health (
  id                 uuid        NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id             uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  calendar_event_id  uuid,
  has_agenda         boolean     DEFAULT false,
  duration_minutes   integer,
  attendee_count     integer,
  health_score       integer     CHECK (health_score BETWEEN 0 AND 100),
  health_status      text        CHECK (health_status IN ('healthy', 'warning', 'problematic')),
  created_at         timestamptz DEFAULT now(),
  has_notes          boolean,
  has_action_items   boolean,
  follow_up_complete boolean,
  issues             text[]      NOT NULL DEFAULT '{}',
  recommendations    text[]      NOT NULL DEFAULT '{}',
  updated_at         timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT meeting_health_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT meeting_health_calendar_event_id_fkey FOREIGN KEY (org_id, calendar_event_id) REFERENCES calendar_events (org_id, id)
    ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE
);
ALTER TABLE meeting_health ADD CONSTRAINT meeting_health_org_id_calendar_event_id_key UNIQUE (org_id, calendar_event_id);
COMMENT ON TABLE meeting_health IS 'AI health score of a meeting (one row per calendar event; rescoring updates it)';
COMMENT ON COLUMN meeting_health.has_agenda IS 'Snapshot at scoring time';

-- ---------------------------------------------------------------------------------------------
CREATE TABLE focus_blocks (
  id                  uuid        NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id              uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  user_id             uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  calendar_event_id   uuid,
  starts_at           timestamptz,
  ends_at             timestamptz,
  block_type          text        NOT NULL DEFAULT 'deep_work' CHECK (block_type IN ('deep_work', 'shallow_work', 'break', 'buffer')),
  energy_level        text        NOT NULL DEFAULT 'high' CHECK (energy_level IN ('low', 'medium', 'high')),
  actual_productivity integer     CHECK (actual_productivity BETWEEN 0 AND 100),
  notes               text,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT focus_blocks_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT focus_blocks_ends_at_check CHECK (ends_at >= starts_at),
  CONSTRAINT focus_blocks_when_check CHECK (calendar_event_id IS NOT NULL OR (starts_at IS NOT NULL AND ends_at IS NOT NULL)),
  CONSTRAINT focus_blocks_calendar_event_id_fkey FOREIGN KEY (org_id, calendar_event_id) REFERENCES calendar_events (org_id, id)
    ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE
);
COMMENT ON TABLE focus_blocks IS 'A user''s planned focus/work blocks (linked to a calendar event, or with their own start and end)';
COMMENT ON COLUMN focus_blocks.starts_at IS 'Used when not linked to a calendar event';
