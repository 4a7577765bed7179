-- L13 — conversations (README 02): chat sessions, their messages (with an embedding pair),
-- per-conversation key/value context and conversation analytics; plus update_conversation_stats().
-- conversations and messages keep every merge-strategy column (Rule 3).

-- Merge-strategy columns first, spelled as the merge strategy spells them.
-- @if !legacy
CREATE TABLE conversations (
  id              uuid         NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id          uuid         NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  user_id         uuid         REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  title           varchar(255),
  session_type    text         DEFAULT 'chat' CHECK (session_type IN ('chat', 'email', 'slack', 'meeting')),
  participants    uuid[],
  created_at      timestamptz  DEFAULT now(),
  updated_at      timestamptz  DEFAULT now(),
  is_archived     boolean      DEFAULT false,
  metadata        jsonb        DEFAULT '{}',
  town_id         uuid,
  personality_id  uuid         REFERENCES ai_personalities (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  mentor_id       uuid,
  privacy_level   text         NOT NULL DEFAULT 'team' CHECK (privacy_level IN ('public', 'team', 'private', 'boss_only')),
  last_message_at timestamptz,
  message_count   integer      NOT NULL DEFAULT 0,
  tags            text[]       NOT NULL DEFAULT '{}',
  importance_score integer     NOT NULL DEFAULT 5 CHECK (importance_score BETWEEN 1 AND 10),
  CONSTRAINT conversations_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT conversations_town_id_fkey FOREIGN KEY (org_id, town_id) REFERENCES towns (org_id, id)
    ON DELETE SET NULL (town_id) DEFERRABLE INITIALLY IMMEDIATE,
  CONSTRAINT conversations_mentor_id_fkey FOREIGN KEY (org_id, mentor_id) REFERENCES mentors (org_id, id)
    ON DELETE SET NULL (mentor_id) DEFERRABLE INITIALLY IMMEDIATE
);
-- @else
-- Legacy Aurora (LEGACY.md §2.1, phase A): append the merge-strategy and SCHEMA.md columns
-- (nullable or constant defaults: no rewrite); CHECKs and foreign keys NOT VALID (validated after
-- the backfill); UNIQUE (org_id, id) on the index the upgrade built concurrently. user_id keeps
-- its legacy ON DELETE CASCADE until phase B. message_count/last_message_at are filled by the upgrade.
ALTER TABLE conversations
  ADD COLUMN session_type     text        DEFAULT 'chat',
  ADD COLUMN participants     uuid[],
  ADD COLUMN town_id          uuid,
  ADD COLUMN personality_id   uuid,
  ADD COLUMN mentor_id        uuid,
  ADD COLUMN privacy_level    text        NOT NULL DEFAULT 'team',
  ADD COLUMN last_message_at  timestamptz,
  ADD COLUMN message_count    integer     NOT NULL DEFAULT 0,
  ADD COLUMN tags             text[]      NOT NULL DEFAULT '{}',
  ADD COLUMN importance_score integer     NOT NULL DEFAULT 5,
  ADD CONSTRAINT conversations_org_id_fkey FOREIGN KEY (org_id) REFERENCES organizations (id)
    ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE NOT VALID,
  ADD CONSTRAINT conversations_session_type_check CHECK (session_type IN ('chat', 'email', 'slack', 'meeting')) NOT VALID,
  ADD CONSTRAINT conversations_personality_id_fkey FOREIGN KEY (personality_id) REFERENCES ai_personalities (id)
    ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE NOT VALID,
  ADD CONSTRAINT conversations_privacy_level_check CHECK (privacy_level IN ('public', 'team', 'private', 'boss_only')) NOT VALID,
  ADD CONSTRAINT conversations_importance_score_check CHECK (importance_score BETWEEN 1 AND 10) NOT VALID,
  ADD CONSTRAINT conversations_org_id_id_key UNIQUE USING INDEX conversations_org_id_id_key,
  ADD CONSTRAINT conversations_town_id_fkey FOREIGN KEY (org_id, town_id) REFERENCES towns (org_id, id)
    ON DELETE SET NULL (town_id) DEFERRABLE INITIALLY IMMEDIATE NOT VALID,
  ADD CONSTRAINT conversations_mentor_id_fkey FOREIGN KEY (org_id, mentor_id) REFERENCES mentors (org_id, id)
    ON DELETE SET NULL (mentor_id) DEFERRABLE INITIALLY IMMEDIATE NOT VALID;
-- @end
COMMENT ON TABLE conversations IS 'Chat sessions (chat, e-mail, Slack or meeting) between users and AI personalities';
COMMENT ON COLUMN conversations.user_id IS 'Owner/creator';
COMMENT ON COLUMN conversations.participants IS 'User ids (no FK on array elements)';
COMMENT ON COLUMN conversations.personality_id IS 'Who the AI side is';
COMMENT ON COLUMN conversations.mentor_id IS 'Organization mentor used';
COMMENT ON COLUMN conversations.message_count IS 'Maintained by update_conversation_stats()';
COMMENT ON COLUMN conversations.last_message_at IS 'Maintained by update_conversation_stats()';

-- ---------------------------------------------------------------------------------------------
-- Merge-strategy columns first; `embedding` is added below without a fixed dimension (Rule 6).
-- @if !legacy
CREATE TABLE messages (
  id                   uuid         NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id               uuid         NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  conversation_id      uuid,
  user_id              uuid         REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  role                 varchar(20)  NOT NULL,
  content              text         NOT NULL,
  personality_mode     text,
  flirt_level          integer,
  genghis_gandhi_level integer,
  created_at           timestamptz  DEFAULT now(),
  metadata             jsonb        DEFAULT '{}',
  token_count          integer      DEFAULT 0,
  model_used           varchar(100),
  embedding_model      text         REFERENCES embedding_models (model_key) ON UPDATE CASCADE ON DELETE RESTRICT DEFERRABLE INITIALLY IMMEDIATE,
  updated_at           timestamptz  NOT NULL DEFAULT now(),
  parent_message_id    uuid,
  privacy_level        text         NOT NULL DEFAULT 'team' CHECK (privacy_level IN ('public', 'team', 'private', 'boss_only')),
  emotional_tone       varchar(50),
  confidence_score     real         NOT NULL DEFAULT 1.0 CHECK (confidence_score BETWEEN 0 AND 1),
  reaction_emojis      jsonb        NOT NULL DEFAULT '{}',
  is_pinned            boolean      NOT NULL DEFAULT false,
  is_flagged           boolean      NOT NULL DEFAULT false,
  flag_reason          text,
  edited_at            timestamptz,
  deleted_at           timestamptz,
  CONSTRAINT messages_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT messages_conversation_id_fkey FOREIGN KEY (org_id, conversation_id) REFERENCES conversations (org_id, id)
    ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  CONSTRAINT messages_parent_message_id_fkey FOREIGN KEY (org_id, parent_message_id) REFERENCES messages (org_id, id)
    ON DELETE SET NULL (parent_message_id) DEFERRABLE INITIALLY IMMEDIATE
);
-- @if vector
ALTER TABLE messages ADD COLUMN embedding vector;
-- @else
ALTER TABLE messages ADD COLUMN embedding real[];
-- @end
ALTER TABLE messages ADD CONSTRAINT messages_embedding_pair_check
  CHECK ((embedding IS NULL) = (embedding_model IS NULL));
-- @else
-- Legacy Aurora: append the merge-strategy and SCHEMA.md columns (updated_at: now() is evaluated
-- once, no rewrite); CHECKs and foreign keys NOT VALID, the composite (org_id, conversation_id) →
-- conversations one included; UNIQUE (org_id, id) on the index the upgrade built concurrently.
-- The legacy single-column conversation_id → conversations (id) key (ON DELETE CASCADE, kept as
-- it is) has the name SCHEMA.md gives the composite one, so it is renamed to make room.
-- embedding stays the legacy vector(1536) (real[] without pgvector) with no model, so there is no
-- embedding pair check yet: phase B converts the legacy vectors and adds it.
ALTER TABLE messages RENAME CONSTRAINT messages_conversation_id_fkey TO messages_conversation_id_legacy_fkey;
ALTER TABLE messages
  ADD COLUMN user_id              uuid,
  ADD COLUMN personality_mode     text,
  ADD COLUMN flirt_level          integer,
  ADD COLUMN genghis_gandhi_level integer,
  ADD COLUMN embedding_model      text,
  ADD COLUMN updated_at           timestamptz NOT NULL DEFAULT now(),
  ADD COLUMN parent_message_id    uuid,
  ADD COLUMN privacy_level        text        NOT NULL DEFAULT 'team',
  ADD COLUMN emotional_tone       varchar(50),
  ADD COLUMN confidence_score     real        NOT NULL DEFAULT 1.0,
  ADD COLUMN reaction_emojis      jsonb       NOT NULL DEFAULT '{}',
  ADD COLUMN is_pinned            boolean     NOT NULL DEFAULT false,
  ADD COLUMN is_flagged           boolean     NOT NULL DEFAULT false,
  ADD COLUMN flag_reason          text,
  ADD COLUMN edited_at            timestamptz,
  ADD COLUMN deleted_at           timestamptz,
  ADD CONSTRAINT messages_org_id_fkey FOREIGN KEY (org_id) REFERENCES organizations (id)
    ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE NOT VALID,
  ADD CONSTRAINT messages_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id)
    ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE NOT VALID,
  ADD CONSTRAINT messages_embedding_model_fkey FOREIGN KEY (embedding_model) REFERENCES embedding_models (model_key)
    ON UPDATE CASCADE ON DELETE RESTRICT DEFERRABLE INITIALLY IMMEDIATE NOT VALID,
  ADD CONSTRAINT messages_privacy_level_check CHECK (privacy_level IN ('public', 'team', 'private', 'boss_only')) NOT VALID,
  ADD CONSTRAINT messages_confidence_score_check CHECK (confidence_score BETWEEN 0 AND 1) NOT VALID,
  ADD CONSTRAINT messages_org_id_id_key UNIQUE USING INDEX messages_org_id_id_key,
  ADD CONSTRAINT messages_conversation_id_fkey FOREIGN KEY (org_id, conversation_id) REFERENCES conversations (org_id, id)
    ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE NOT VALID,
  ADD CONSTRAINT messages_parent_message_id_fkey FOREIGN KEY (org_id, parent_message_id) REFERENCES messages (org_id, id)
    ON DELETE SET NULL (parent_message_id) DEFERRABLE INITIALLY IMMEDIATE NOT VALID;
-- @end
COMMENT ON TABLE messages IS 'Messages of a conversation, with an optional embedding of their content';
COMMENT ON COLUMN messages.role IS 'Values in use: user, assistant, system, gatekeeper, mentor, robbie';
COMMENT ON COLUMN messages.user_id IS 'Author when the role is a human';
COMMENT ON COLUMN messages.embedding IS 'Native-length vector of embedding_model (no fixed dimension; never padded)';
COMMENT ON COLUMN messages.flirt_level IS 'Snapshot of the dial when sent';
COMMENT ON COLUMN messages.genghis_gandhi_level IS 'Snapshot of the dial when sent';
COMMENT ON COLUMN messages.deleted_at IS 'Soft delete';

-- ---------------------------------------------------------------------------------------------
CREATE TABLE conversation_context (
  id              uuid         NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id          uuid         NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  conversation_id uuid         NOT NULL,
  context_key     varchar(255) NOT NULL,
  context_value   jsonb        NOT NULL,
  expires_at      timestamptz,
  created_at      timestamptz  NOT NULL DEFAULT now(),
  updated_at      timestamptz  NOT NULL DEFAULT now(),
  CONSTRAINT conversation_context_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT conversation_context_conversation_id_context_key_key UNIQUE (org_id, conversation_id, context_key),
  CONSTRAINT conversation_context_conversation_id_fkey FOREIGN KEY (org_id, conversation_id) REFERENCES conversations (org_id, id)
    ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE
);
COMMENT ON TABLE conversation_context IS 'Key/value state of one conversation (reserved keys: summary, active_topics, last_messages, interface)';

-- ---------------------------------------------------------------------------------------------
CREATE TABLE conversation_analytics (
  id                      uuid          NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id                  uuid          NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  conversation_id         uuid          NOT NULL,
  user_satisfaction_score real          CHECK (user_satisfaction_score BETWEEN 0 AND 5),
  resolution_time_seconds integer,
  interaction_count       integer       NOT NULL DEFAULT 0,
  total_tokens_used       integer       NOT NULL DEFAULT 0,
  total_cost_usd          numeric(10,6) NOT NULL DEFAULT 0,
  sentiment_analysis      jsonb         NOT NULL DEFAULT '{}',
  key_topics              text[]        NOT NULL DEFAULT '{}',
  created_at              timestamptz   NOT NULL DEFAULT now(),
  updated_at              timestamptz   NOT NULL DEFAULT now(),
  CONSTRAINT conversation_analytics_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT conversation_analytics_conversation_id_fkey FOREIGN KEY (org_id, conversation_id) REFERENCES conversations (org_id, id)
    ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE
);
ALTER TABLE conversation_analytics ADD CONSTRAINT conversation_analytics_org_id_conversation_id_key UNIQUE (org_id, conversation_id);
COMMENT ON TABLE conversation_analytics IS 'Per-conversation analytics: satisfaction, resolution time, tokens, cost, sentiment, topics';

-- ---------------------------------------------------------------------------------------------
-- update_conversation_stats(): an insert adds one to message_count; deletes, moves and soft
-- deletes recompute message_count and last_message_at of the affected conversation(s) from the
-- messages themselves. Soft-deleted
-- messages (deleted_at set) are not counted. SECURITY DEFINER: the counts must cover messages the
-- writer may not read (privacy policies), and posting a message must not need write access to
-- the conversation row.
CREATE FUNCTION update_conversation_stats() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_targets uuid[] := ARRAY[]::uuid[];   -- flat list of (org_id, conversation_id) pairs
  v_org     uuid;
  v_conv    uuid;
  i         integer;
BEGIN
  -- A new message only adds one: counted in O(1), so posting into a long conversation stays cheap.
  IF TG_OP = 'INSERT' THEN
    IF NEW.conversation_id IS NOT NULL AND NEW.deleted_at IS NULL THEN
      UPDATE conversations c
         SET message_count = c.message_count + 1,
             last_message_at = greatest(c.last_message_at, NEW.created_at)
       WHERE c.id = NEW.conversation_id AND c.org_id IS NOT DISTINCT FROM NEW.org_id;
    END IF;
    RETURN NULL;
  END IF;
  -- (org_id, conversation_id) pairs to recount: the new and/or the old parent.
  IF TG_OP <> 'DELETE' THEN
    IF NEW.conversation_id IS NOT NULL THEN
      v_targets := v_targets || ARRAY[NEW.org_id, NEW.conversation_id];
    END IF;
  END IF;
  IF TG_OP = 'DELETE' THEN
    IF OLD.conversation_id IS NOT NULL THEN
      v_targets := v_targets || ARRAY[OLD.org_id, OLD.conversation_id];
    END IF;
  ELSIF TG_OP = 'UPDATE' THEN
    IF OLD.conversation_id IS NOT NULL
       AND (OLD.org_id IS DISTINCT FROM NEW.org_id OR OLD.conversation_id IS DISTINCT FROM NEW.conversation_id) THEN
      v_targets := v_targets || ARRAY[OLD.org_id, OLD.conversation_id];
    END IF;
  END IF;
  FOR i IN 1 .. coalesce(array_length(v_targets, 1), 0) / 2 LOOP
    v_org  := v_targets[2 * i - 1];
    v_conv := v_targets[2 * i];
    UPDATE conversations c
    SET message_count   = s.n,
        last_message_at = s.last_at
    FROM (
      SELECT count(*)::integer AS n, max(m.created_at) AS last_at
      FROM messages m
      WHERE m.org_id = v_org AND m.conversation_id = v_conv AND m.deleted_at IS NULL
    ) s
    WHERE c.org_id = v_org AND c.id = v_conv
      AND (c.message_count IS DISTINCT FROM s.n OR c.last_message_at IS DISTINCT FROM s.last_at);
  END LOOP;
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION update_conversation_stats() IS 'AFTER INSERT/DELETE (and moves/soft deletes) on messages: recomputes conversations.message_count and last_message_at';

CREATE TRIGGER messages_conversation_stats
  AFTER INSERT OR DELETE ON messages
  FOR EACH ROW EXECUTE FUNCTION update_conversation_stats();

CREATE TRIGGER messages_conversation_stats_on_move
  AFTER UPDATE OF conversation_id, deleted_at, created_at ON messages
  FOR EACH ROW
  WHEN (OLD.conversation_id IS DISTINCT FROM NEW.conversation_id
        OR OLD.deleted_at IS DISTINCT FROM NEW.deleted_at
        OR OLD.created_at IS DISTINCT FROM NEW.created_at)
  EXECUTE FUNCTION update_conversation_stats();
