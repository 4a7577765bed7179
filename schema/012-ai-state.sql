-- L12 — universal AI state (README 08): the personality catalogue and its network-wide state and
-- history, users' personality dials, per-org mentors and their observed behaviour, running instances,
-- commitments, reminders, activity log, interface fan-out queue and notifications;
-- plus record_personality_state_change(). (The view ai_personalities_current_state is created in 014.)

CREATE TABLE ai_personalities (
  id                 uuid         NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  slug               text         NOT NULL UNIQUE,
  name               text         NOT NULL,
  role               text         NOT NULL CHECK (role IN ('assistant', 'mentor', 'specialist', 'gatekeeper')),
  description        text,
  base_traits        jsonb        NOT NULL DEFAULT '{}',
  personality_prompt text,
  avatar_url         varchar(500),
  voice_settings     jsonb        NOT NULL DEFAULT '{}',
  knowledge_domains  text[]       NOT NULL DEFAULT '{}',
  interaction_style  varchar(50)  CHECK (interaction_style IN ('formal', 'casual', 'playful', 'professional', 'mentor')),
  emotional_range    jsonb        NOT NULL DEFAULT '{}',
  tool_permissions   text[]       NOT NULL DEFAULT '{}',
  is_active          boolean      NOT NULL DEFAULT true,
  metadata           jsonb        NOT NULL DEFAULT '{}',
  created_at         timestamptz  NOT NULL DEFAULT now(),
  updated_at         timestamptz  NOT NULL DEFAULT now()
);
COMMENT ON TABLE ai_personalities IS 'The one AI personality catalogue (robbie, steve-jobs, bookkeeper, gatekeeper, ...)';
COMMENT ON COLUMN ai_personalities.slug IS 'Stable key (was the text primary key)';
COMMENT ON COLUMN ai_personalities.base_traits IS '{"traits": [...], "style": "..."}';
COMMENT ON COLUMN ai_personalities.personality_prompt IS 'System prompt; NULL = supplied by the app';

-- ---------------------------------------------------------------------------------------------
CREATE TABLE ai_personality_state (
  id                   uuid        NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  personality_id       uuid        NOT NULL UNIQUE REFERENCES ai_personalities (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  current_mood         integer     NOT NULL DEFAULT 4 CHECK (current_mood BETWEEN 1 AND 7),
  current_mode         text,
  energy_level         text        NOT NULL DEFAULT 'normal',
  focus_state          text        NOT NULL DEFAULT 'available',
  last_state_change_at timestamptz NOT NULL DEFAULT now(),
  state_metadata       jsonb       NOT NULL DEFAULT '{}',
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE ai_personality_state IS 'Network-wide current state of each personality (numeric 1-7 baseline mood, mode, energy, focus)';
COMMENT ON COLUMN ai_personality_state.current_mood IS 'Baseline mood 1-7 (never the six-word mood vocabulary of robbie_personality_state)';

-- ---------------------------------------------------------------------------------------------
CREATE TABLE ai_state_history (
  id                 uuid        NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  personality_id     uuid        NOT NULL REFERENCES ai_personalities (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  old_state          jsonb,
  new_state          jsonb,
  change_reason      text,
  changed_by_user_id uuid        REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  changed_by         text,
  interface_source   text        CHECK (interface_source IN ('web', 'cursor', 'vscode', 'robbiebar', 'slack', 'email', 'sms', 'mobile', 'api', 'other')),
  created_at         timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE ai_state_history IS 'Append-only history of ai_personality_state changes (old and new image)';
COMMENT ON COLUMN ai_state_history.changed_by IS 'Service/interface label (the trigger records the database role)';

-- ---------------------------------------------------------------------------------------------
-- Merge-strategy columns first, spelled as the merge strategy spells them (Rule 3). user_id is
-- UNIQUE NULLS NOT DISTINCT, which also makes the defaults row (user_id NULL) unique.
CREATE TABLE personality_settings (
  id                        uuid        NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  user_id                   uuid        UNIQUE NULLS NOT DISTINCT REFERENCES users (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  flirt_mode                integer     DEFAULT 5 CHECK (flirt_mode BETWEEN 1 AND 10),
  gandhi_genghis            integer     DEFAULT 5 CHECK (gandhi_genghis BETWEEN 1 AND 10),
  genghis_gandhi_intensity  integer     DEFAULT 50 CHECK (genghis_gandhi_intensity BETWEEN 0 AND 100),
  cocktail_lightning_energy integer     DEFAULT 50 CHECK (cocktail_lightning_energy BETWEEN 0 AND 100),
  current_mood              text        DEFAULT 'neutral',
  current_expression        text        DEFAULT 'friendly',
  updated_at                timestamptz DEFAULT now(),
  personality_mode          text        NOT NULL DEFAULT 'professional',
  created_at                timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE personality_settings IS 'A user''s personality dials (one row per user); the row with user_id NULL holds the platform defaults';
COMMENT ON COLUMN personality_settings.user_id IS 'NULL = platform defaults row (at most one)';
COMMENT ON COLUMN personality_settings.current_mood IS 'Mood the user selected/sees in the UI';

-- ---------------------------------------------------------------------------------------------
-- @if !legacy
CREATE TABLE mentors (
  id                 uuid         NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id             uuid         NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  personality_id     uuid         NOT NULL REFERENCES ai_personalities (id) ON DELETE RESTRICT DEFERRABLE INITIALLY IMMEDIATE,
  name               varchar(100) NOT NULL,
  description        text,
  personality_prompt text,
  avatar_url         varchar(500),
  mood_overrides     jsonb        NOT NULL DEFAULT '{}',
  is_active          boolean      NOT NULL DEFAULT true,
  metadata           jsonb        NOT NULL DEFAULT '{}',
  created_at         timestamptz  NOT NULL DEFAULT now(),
  updated_at         timestamptz  NOT NULL DEFAULT now(),
  CONSTRAINT mentors_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT mentors_org_id_name_key UNIQUE (org_id, name)
);
-- @else
-- Legacy Aurora: append personality_id (nullable until phase B maps the mentors), mood_overrides
-- and updated_at; the foreign keys NOT VALID, UNIQUE (org_id, id) on the index the upgrade built.
-- No UNIQUE (org_id, name) yet: the legacy seed duplicated every mentor (phase B resolves them).
ALTER TABLE mentors
  ADD COLUMN personality_id uuid,
  ADD COLUMN mood_overrides jsonb       NOT NULL DEFAULT '{}',
  ADD COLUMN updated_at     timestamptz NOT NULL DEFAULT now(),
  ADD CONSTRAINT mentors_org_id_fkey FOREIGN KEY (org_id) REFERENCES organizations (id)
    ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE NOT VALID,
  ADD CONSTRAINT mentors_personality_id_fkey FOREIGN KEY (personality_id) REFERENCES ai_personalities (id)
    ON DELETE RESTRICT DEFERRABLE INITIALLY IMMEDIATE NOT VALID,
  ADD CONSTRAINT mentors_org_id_id_key UNIQUE USING INDEX mentors_org_id_id_key;
-- @end
COMMENT ON TABLE mentors IS 'Personalities an organization has enabled, with org-specific name, prompt, avatar and mood overrides';
COMMENT ON COLUMN mentors.personality_prompt IS 'Override; NULL = the personality''s prompt';
COMMENT ON COLUMN mentors.mood_overrides IS '{mood_name: {avatar_url, prompt_override}} (was V3 mentor_moods)';

-- ---------------------------------------------------------------------------------------------
CREATE TABLE mentor_behavior (
  id                  uuid        NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id              uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  personality_id      uuid        NOT NULL REFERENCES ai_personalities (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  mentor_id           uuid,
  user_id             uuid        REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  behavior_type       text        NOT NULL,
  interface_type      text        CHECK (interface_type IN ('web', 'cursor', 'vscode', 'robbiebar', 'slack', 'email', 'sms', 'mobile', 'api', 'other')),
  context             jsonb       NOT NULL DEFAULT '{}',
  outcome             jsonb       NOT NULL DEFAULT '{}',
  effectiveness_score real        CHECK (effectiveness_score BETWEEN 0 AND 1),
  occurred_at         timestamptz NOT NULL DEFAULT now(),
  created_at          timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT mentor_behavior_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT mentor_behavior_mentor_id_fkey FOREIGN KEY (org_id, mentor_id) REFERENCES mentors (org_id, id)
    ON DELETE SET NULL (mentor_id) DEFERRABLE INITIALLY IMMEDIATE
);
COMMENT ON TABLE mentor_behavior IS 'Append-only log of behaviours a mentor/personality showed and how well they worked';
COMMENT ON COLUMN mentor_behavior.behavior_type IS 'e.g. tone_shift, challenge, encouragement, escalation, reminder';

-- ---------------------------------------------------------------------------------------------
CREATE TABLE ai_personality_instances (
  id             uuid        NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id         uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  personality_id uuid        NOT NULL REFERENCES ai_personalities (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  user_id        uuid        REFERENCES users (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  interface_type text        NOT NULL CHECK (interface_type IN ('web', 'cursor', 'vscode', 'robbiebar', 'slack', 'email', 'sms', 'mobile', 'api', 'other')),
  interface_id   text        NOT NULL,
  node_id        uuid        REFERENCES nodes (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  status         text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'idle', 'closed')),
  started_at     timestamptz NOT NULL DEFAULT now(),
  last_active_at timestamptz NOT NULL DEFAULT now(),
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT ai_personality_instances_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT ai_personality_instances_interface_key UNIQUE (org_id, personality_id, interface_type, interface_id)
);
COMMENT ON TABLE ai_personality_instances IS 'A personality running on one interface (client/session) for one user';
COMMENT ON COLUMN ai_personality_instances.interface_id IS 'Client/session identifier';

-- ---------------------------------------------------------------------------------------------
CREATE TABLE ai_commitments (
  id              uuid        NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id          uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  personality_id  uuid        NOT NULL REFERENCES ai_personalities (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  user_id         uuid        REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  commitment_text text        NOT NULL,
  committed_to    text,
  deadline        timestamptz NOT NULL,
  status          text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'completed', 'cancelled', 'missed')),
  priority        integer     NOT NULL DEFAULT 5 CHECK (priority BETWEEN 1 AND 10),
  progress_notes  jsonb       NOT NULL DEFAULT '[]',
  task_id         uuid,
  created_by      uuid        REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  completed_at    timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT ai_commitments_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT ai_commitments_task_id_fkey FOREIGN KEY (org_id, task_id) REFERENCES tasks (org_id, id)
    ON DELETE SET NULL (task_id) DEFERRABLE INITIALLY IMMEDIATE
);
COMMENT ON TABLE ai_commitments IS 'Promises an AI personality made (to do something by a deadline)';
COMMENT ON COLUMN ai_commitments.user_id IS 'Whom it concerns';
COMMENT ON COLUMN ai_commitments.committed_to IS 'Person/label';

-- ---------------------------------------------------------------------------------------------
CREATE TABLE ai_reminders (
  id                  uuid        NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id              uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  personality_id      uuid        NOT NULL REFERENCES ai_personalities (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  user_id             uuid        REFERENCES users (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  commitment_id       uuid,
  calendar_event_id   uuid,
  task_id             uuid,
  remind_at           timestamptz NOT NULL,
  minutes_before      integer,
  reminder_type       text,
  status              text        NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'sent', 'acknowledged', 'snoozed', 'cancelled')),
  sent_at             timestamptz,
  interfaces_notified text[]      NOT NULL DEFAULT '{}',
  response            text,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT ai_reminders_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT ai_reminders_target_check CHECK (num_nonnulls(commitment_id, calendar_event_id, task_id) = 1),
  CONSTRAINT ai_reminders_commitment_id_fkey FOREIGN KEY (org_id, commitment_id) REFERENCES ai_commitments (org_id, id)
    ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  CONSTRAINT ai_reminders_calendar_event_id_fkey FOREIGN KEY (org_id, calendar_event_id) REFERENCES calendar_events (org_id, id)
    ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  CONSTRAINT ai_reminders_task_id_fkey FOREIGN KEY (org_id, task_id) REFERENCES tasks (org_id, id)
    ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE
);
COMMENT ON TABLE ai_reminders IS 'Reminders an AI personality sends, each for exactly one commitment, calendar event or task';
COMMENT ON COLUMN ai_reminders.user_id IS 'Who is reminded';
COMMENT ON COLUMN ai_reminders.reminder_type IS 'deadline, pre_meeting, follow_up';

-- ---------------------------------------------------------------------------------------------
CREATE TABLE ai_activity_log (
  id             uuid        NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id         uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  personality_id uuid        NOT NULL REFERENCES ai_personalities (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  user_id        uuid        REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  interface_type text        NOT NULL CHECK (interface_type IN ('web', 'cursor', 'vscode', 'robbiebar', 'slack', 'email', 'sms', 'mobile', 'api', 'other')),
  interface_id   text,
  activity_type  text        NOT NULL,
  activity_data  jsonb       NOT NULL DEFAULT '{}',
  created_at     timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT ai_activity_log_org_id_id_key UNIQUE (org_id, id)
);
COMMENT ON TABLE ai_activity_log IS 'Append-only log of what the AI did, across interfaces';

-- ---------------------------------------------------------------------------------------------
CREATE TABLE ai_sync_queue (
  id                uuid        NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id            uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  personality_id    uuid        REFERENCES ai_personalities (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  user_id           uuid        REFERENCES users (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  source_interface  text        NOT NULL CHECK (source_interface IN ('web', 'cursor', 'vscode', 'robbiebar', 'slack', 'email', 'sms', 'mobile', 'api', 'other')),
  target_interfaces text[]      NOT NULL DEFAULT '{}',
  sync_type         text        NOT NULL CHECK (sync_type IN ('state_update', 'message', 'reminder', 'commitment', 'notification')),
  payload           jsonb       NOT NULL,
  priority          integer     NOT NULL DEFAULT 5,
  processed_at      timestamptz,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT ai_sync_queue_org_id_id_key UNIQUE (org_id, id)
);
COMMENT ON TABLE ai_sync_queue IS 'Fan-out of AI events to a user''s interfaces when push is unavailable (not database replication)';
COMMENT ON COLUMN ai_sync_queue.target_interfaces IS 'Empty = all interfaces';
COMMENT ON COLUMN ai_sync_queue.processed_at IS 'NULL = pending';

-- ---------------------------------------------------------------------------------------------
CREATE TABLE ai_notifications (
  id                uuid        NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id            uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  personality_id    uuid        NOT NULL REFERENCES ai_personalities (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  user_id           uuid        REFERENCES users (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  notification_type text        NOT NULL,
  title             text        NOT NULL,
  message           text        NOT NULL,
  action_required   boolean     NOT NULL DEFAULT false,
  action_url        text,
  target_interfaces text[]      NOT NULL DEFAULT '{}',
  priority          integer     NOT NULL DEFAULT 5 CHECK (priority BETWEEN 1 AND 10),
  expires_at        timestamptz,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT ai_notifications_org_id_id_key UNIQUE (org_id, id)
);
COMMENT ON TABLE ai_notifications IS 'Notifications raised by an AI personality for a user or the whole organization';
COMMENT ON COLUMN ai_notifications.user_id IS 'NULL = all organization members';

-- ---------------------------------------------------------------------------------------------
CREATE TABLE ai_notification_delivery (
  id              uuid        NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id          uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  notification_id uuid        NOT NULL,
  user_id         uuid        REFERENCES users (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  interface_type  text        NOT NULL,
  interface_id    text        NOT NULL,
  delivered_at    timestamptz NOT NULL DEFAULT now(),
  acknowledged_at timestamptz,
  user_response   text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT ai_notification_delivery_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT ai_notification_delivery_target_key UNIQUE NULLS NOT DISTINCT (org_id, notification_id, user_id, interface_type, interface_id),
  CONSTRAINT ai_notification_delivery_notification_id_fkey FOREIGN KEY (org_id, notification_id) REFERENCES ai_notifications (org_id, id)
    ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE
);
COMMENT ON TABLE ai_notification_delivery IS 'Delivery of a notification to one user on one interface, and its acknowledgement';
COMMENT ON COLUMN ai_notification_delivery.user_id IS 'Recipient (for broadcast notifications)';

-- ---------------------------------------------------------------------------------------------
-- record_personality_state_change(): one function, two triggers, both only when mood, mode,
-- energy or focus changes. BEFORE: stamps last_state_change_at. AFTER: writes ai_state_history
-- with the old and new row images and the acting user (app.user_id).
CREATE FUNCTION record_personality_state_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_WHEN = 'BEFORE' THEN
    NEW.last_state_change_at := now();
    RETURN NEW;
  END IF;
  INSERT INTO ai_state_history (personality_id, old_state, new_state, change_reason, changed_by_user_id, changed_by)
  VALUES (NEW.personality_id, to_jsonb(OLD), to_jsonb(NEW), NEW.state_metadata ->> 'change_reason',
          app_current_user_id(), current_user);
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION record_personality_state_change() IS 'ai_personality_state: BEFORE stamps last_state_change_at, AFTER records old/new state in ai_state_history';

CREATE TRIGGER ai_personality_state_stamp_change
  BEFORE UPDATE ON ai_personality_state
  FOR EACH ROW
  WHEN (OLD.current_mood IS DISTINCT FROM NEW.current_mood
        OR OLD.current_mode IS DISTINCT FROM NEW.current_mode
        OR OLD.energy_level IS DISTINCT FROM NEW.energy_level
        OR OLD.focus_state IS DISTINCT FROM NEW.focus_state)
  EXECUTE FUNCTION record_personality_state_change();

CREATE TRIGGER ai_personality_state_record_change
  AFTER UPDATE ON ai_personality_state
  FOR EACH ROW
  WHEN (OLD.current_mood IS DISTINCT FROM NEW.current_mood
        OR OLD.current_mode IS DISTINCT FROM NEW.current_mode
        OR OLD.energy_level IS DISTINCT FROM NEW.energy_level
        OR OLD.focus_state IS DISTINCT FROM NEW.focus_state)
  EXECUTE FUNCTION record_personality_state_change();
