-- L14 — memory (merge-strategy layer 5): sticky notes with their surfacing state, the stream of
-- detected context signals, the log of note surfacings, and the AI's long-term and working memory;
-- plus track_surface_effectiveness() and, at the end, the L12 view ai_personalities_current_state
-- (created here because it counts ai_memories).

-- Merge-strategy columns first, spelled as the merge strategy spells them (Rule 3).
CREATE TABLE sticky_notes (
  id                  uuid         NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id              uuid         NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  user_id             uuid         REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  content             text         NOT NULL,
  note_type           text         CHECK (note_type IN ('insight', 'action', 'objection', 'decision')),
  color               text         DEFAULT 'yellow',
  tags                text[]       DEFAULT '{}',
  related_to_id       uuid,
  related_to_type     text,
  created_at          timestamptz  DEFAULT now(),
  updated_at          timestamptz  DEFAULT now(),
  title               text,
  town_id             uuid,
  author_type         text         NOT NULL DEFAULT 'user' CHECK (author_type IN ('user', 'ai')),
  privacy_level       text         NOT NULL DEFAULT 'team' CHECK (privacy_level IN ('public', 'team', 'private', 'boss_only')),
  importance_score    numeric(3,2) CHECK (importance_score BETWEEN 0 AND 1),
  emotional_tone      text         CHECK (emotional_tone IN ('positive', 'neutral', 'concerned', 'excited')),
  source_type         text         CHECK (source_type IN ('chat', 'email', 'meeting', 'slack', 'manual')),
  source_metadata     jsonb        NOT NULL DEFAULT '{}',
  people_mentioned    text[]       NOT NULL DEFAULT '{}',
  companies_mentioned text[]       NOT NULL DEFAULT '{}',
  surface_status      text         NOT NULL DEFAULT 'submerged' CHECK (surface_status IN ('surfaced', 'submerged', 'always_visible')),
  surface_priority    integer      NOT NULL DEFAULT 5 CHECK (surface_priority BETWEEN 1 AND 10),
  surface_reason      text,
  context_tags        text[]       NOT NULL DEFAULT '{}',
  last_surfaced_at    timestamptz,
  surface_count       integer      NOT NULL DEFAULT 0,
  dismissed_count     integer      NOT NULL DEFAULT 0,
  embedding_model     text         REFERENCES embedding_models (model_key) ON UPDATE CASCADE ON DELETE RESTRICT DEFERRABLE INITIALLY IMMEDIATE,
  CONSTRAINT sticky_notes_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT sticky_notes_town_id_fkey FOREIGN KEY (org_id, town_id) REFERENCES towns (org_id, id)
    ON DELETE SET NULL (town_id) DEFERRABLE INITIALLY IMMEDIATE
);
-- @if vector
ALTER TABLE sticky_notes ADD COLUMN embedding vector;
-- @else
ALTER TABLE sticky_notes ADD COLUMN embedding real[];
-- @end
ALTER TABLE sticky_notes ADD CONSTRAINT sticky_notes_embedding_pair_check
  CHECK ((embedding IS NULL) = (embedding_model IS NULL));
COMMENT ON TABLE sticky_notes IS 'Sticky notes (insights, actions, objections, decisions) by users or the AI, with context-surfacing state';
COMMENT ON COLUMN sticky_notes.related_to_type IS 'Entity-registry key; with related_to_id a polymorphic reference checked by check_entity_ref';
COMMENT ON COLUMN sticky_notes.people_mentioned IS 'Extracted names';
COMMENT ON COLUMN sticky_notes.context_tags IS 'Matched against context_tracking signals by the surfacer';

-- ---------------------------------------------------------------------------------------------
CREATE TABLE context_tracking (
  id             uuid        NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id         uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  user_id        uuid        REFERENCES users (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  context_type   text        NOT NULL CHECK (context_type IN ('meeting_soon', 'contact_mentioned', 'deal_mentioned', 'file_opened',
                               'calendar_event', 'email_received', 'slack_message', 'time_of_day', 'location', 'custom')),
  context_value  text        NOT NULL,
  entity_type    text,
  entity_id      uuid,
  interface_type text        CHECK (interface_type IN ('web', 'cursor', 'vscode', 'robbiebar', 'slack', 'email', 'sms', 'mobile', 'api', 'other')),
  node_id        uuid        REFERENCES nodes (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  payload        jsonb       NOT NULL DEFAULT '{}',
  detected_at    timestamptz NOT NULL DEFAULT now(),
  expires_at     timestamptz,
  processed_at   timestamptz,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT context_tracking_org_id_id_key UNIQUE (org_id, id)
);
COMMENT ON TABLE context_tracking IS 'Stream of detected context signals for a user (meeting soon, contact mentioned, file opened, ...), consumed by the note surfacer';
COMMENT ON COLUMN context_tracking.context_value IS 'e.g. 30_minutes_before, morning_startup';
COMMENT ON COLUMN context_tracking.entity_type IS 'Entity-registry key; with entity_id a polymorphic reference checked by check_entity_ref';
COMMENT ON COLUMN context_tracking.expires_at IS 'End of the relevance window';
COMMENT ON COLUMN context_tracking.processed_at IS 'Consumed by the surfacer';

-- ---------------------------------------------------------------------------------------------
CREATE TABLE sticky_note_surfaces (
  id                     uuid        NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id                 uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  note_id                uuid        NOT NULL,
  user_id                uuid        REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  context_tracking_id    uuid,
  surfaced_at            timestamptz NOT NULL DEFAULT now(),
  surface_context        jsonb       NOT NULL DEFAULT '{}',
  user_action            text        CHECK (user_action IN ('viewed', 'dismissed', 'clicked_link', 'edited', 'archived')),
  was_helpful            boolean,
  time_to_action_seconds integer,
  created_at             timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT sticky_note_surfaces_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT sticky_note_surfaces_note_id_fkey FOREIGN KEY (org_id, note_id) REFERENCES sticky_notes (org_id, id)
    ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  CONSTRAINT sticky_note_surfaces_context_tracking_id_fkey FOREIGN KEY (org_id, context_tracking_id) REFERENCES context_tracking (org_id, id)
    ON DELETE SET NULL (context_tracking_id) DEFERRABLE INITIALLY IMMEDIATE
);
COMMENT ON TABLE sticky_note_surfaces IS 'Each time a sticky note was shown to a user, and what the user did';

-- ---------------------------------------------------------------------------------------------
CREATE TABLE ai_memories (
  id                uuid         NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id            uuid         NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  user_id           uuid         REFERENCES users (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  personality_id    uuid         REFERENCES ai_personalities (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  memory_tier       text         NOT NULL DEFAULT 'long_term' CHECK (memory_tier IN ('working', 'long_term')),
  category          varchar(100) NOT NULL CHECK (category IN ('preference', 'fact', 'relationship', 'behavior', 'context',
                                   'skill', 'goal', 'emotion', 'decision', 'feedback')),
  subject           varchar(255) NOT NULL,
  content           text         NOT NULL,
  embedding_model   text         REFERENCES embedding_models (model_key) ON UPDATE CASCADE ON DELETE RESTRICT DEFERRABLE INITIALLY IMMEDIATE,
  confidence_level  real         NOT NULL DEFAULT 0.5 CHECK (confidence_level BETWEEN 0 AND 1),
  importance_level  integer      NOT NULL DEFAULT 5 CHECK (importance_level BETWEEN 1 AND 10),
  priority          integer      NOT NULL DEFAULT 5 CHECK (priority BETWEEN 1 AND 10),
  evidence_count    integer      NOT NULL DEFAULT 1,
  evidence_examples text[]       NOT NULL DEFAULT '{}',
  source_type       varchar(50)  CHECK (source_type IN ('conversation', 'observation', 'explicit', 'inferred', 'system')),
  source_references uuid[]       NOT NULL DEFAULT '{}',
  emotional_weight  integer      NOT NULL DEFAULT 5 CHECK (emotional_weight BETWEEN 1 AND 10),
  associated_people text[]       NOT NULL DEFAULT '{}',
  contextual_tags   text[]       NOT NULL DEFAULT '{}',
  access_count      integer      NOT NULL DEFAULT 1,
  last_accessed_at  timestamptz  NOT NULL DEFAULT now(),
  last_confirmed_at timestamptz,
  decay_rate        real         NOT NULL DEFAULT 0.95,
  is_core_memory    boolean      NOT NULL DEFAULT false,
  reminded_at       timestamptz,
  expires_at        timestamptz,
  metadata          jsonb        NOT NULL DEFAULT '{}',
  created_at        timestamptz  NOT NULL DEFAULT now(),
  updated_at        timestamptz  NOT NULL DEFAULT now(),
  CONSTRAINT ai_memories_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT ai_memories_working_expires_check CHECK (memory_tier <> 'working' OR expires_at IS NOT NULL)
);
-- @if vector
ALTER TABLE ai_memories ADD COLUMN embedding vector;
-- @else
ALTER TABLE ai_memories ADD COLUMN embedding real[];
-- @end
ALTER TABLE ai_memories ADD CONSTRAINT ai_memories_embedding_pair_check
  CHECK ((embedding IS NULL) = (embedding_model IS NULL));
COMMENT ON TABLE ai_memories IS 'The AI''s memory of users and the world: durable long_term facts and short-lived working scratchpad items';
COMMENT ON COLUMN ai_memories.user_id IS 'Subject user; NULL = organization-level memory';
COMMENT ON COLUMN ai_memories.memory_tier IS 'working rows must expire (expires_at NOT NULL)';
COMMENT ON COLUMN ai_memories.priority IS 'Working-memory ordering';
COMMENT ON COLUMN ai_memories.source_references IS 'Message ids (no FK on array elements)';
COMMENT ON COLUMN ai_memories.access_count IS 'Maintained by the search functions';

-- ---------------------------------------------------------------------------------------------
-- Records the user's reaction to one surfacing of a note. SECURITY INVOKER, so RLS applies.
-- time_to_action_seconds defaults to the time since the note was surfaced.
CREATE FUNCTION track_surface_effectiveness(
  p_surface_id  uuid,
  p_was_helpful boolean,
  p_user_action text,
  p_seconds     integer DEFAULT NULL
) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  v_org_id  uuid;
  v_note_id uuid;
BEGIN
  UPDATE sticky_note_surfaces s
  SET was_helpful            = p_was_helpful,
      user_action            = p_user_action,
      time_to_action_seconds = coalesce(p_seconds, greatest(0, floor(extract(epoch FROM now() - s.surfaced_at)))::integer)
  WHERE s.id = p_surface_id
  RETURNING s.org_id, s.note_id INTO v_org_id, v_note_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'sticky note surface % not found', p_surface_id USING ERRCODE = 'no_data_found';
  END IF;
  IF p_user_action = 'dismissed' THEN
    UPDATE sticky_notes n
    SET dismissed_count = n.dismissed_count + 1
    WHERE n.org_id = v_org_id AND n.id = v_note_id;
  END IF;
END
$$;
COMMENT ON FUNCTION track_surface_effectiveness(uuid, boolean, text, integer) IS 'Records a user''s reaction to a note surfacing; a dismissal bumps sticky_notes.dismissed_count';

-- ---------------------------------------------------------------------------------------------
-- Required view (belongs to L12): one row per active personality with its state and counts.
-- security_invoker, so for the app role the counts cover the current organization only (RLS).
CREATE VIEW ai_personalities_current_state WITH (security_invoker = true) AS
SELECT
  p.id                    AS personality_id,
  p.slug,
  p.name,
  p.role,
  s.current_mood,
  s.current_mode,
  s.energy_level,
  s.focus_state,
  s.last_state_change_at,
  (SELECT count(*) FROM ai_personality_instances i
    WHERE i.personality_id = p.id AND i.status = 'active')                       AS active_instances,
  (SELECT count(*) FROM ai_commitments c
    WHERE c.personality_id = p.id AND c.status = 'active')                       AS active_commitments,
  (SELECT count(*) FROM ai_memories m
    WHERE m.personality_id = p.id AND m.memory_tier = 'working'
      AND (m.expires_at IS NULL OR m.expires_at > now()))                       AS working_memory_items,
  (SELECT count(*) FROM ai_reminders r
    WHERE r.personality_id = p.id AND r.status = 'scheduled')                    AS pending_reminders
FROM ai_personalities p
LEFT JOIN ai_personality_state s ON s.personality_id = p.id
WHERE p.is_active;
COMMENT ON VIEW ai_personalities_current_state IS 'One row per active AI personality: its network-wide state and counts of active instances, active commitments, live working memories and scheduled reminders';
