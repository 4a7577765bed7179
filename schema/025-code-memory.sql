-- L25 — code memory (Smart Robbie@Code).
-- The VS Code extension's memory: code conversations and messages, saved code blocks, learned
-- patterns (all with embeddings and model-aware search), and Robbie's live state per user.

CREATE TABLE code_conversations (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  session_id text NOT NULL,
  title text,
  context_type text NOT NULL DEFAULT 'code' CHECK (context_type IN ('code', 'chat', 'debug', 'refactor')),
  repository text,
  last_message_at timestamptz,
  message_count integer NOT NULL DEFAULT 0,
  metadata jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT code_conversations_org_id_id_key UNIQUE (org_id, id)
);
COMMENT ON TABLE code_conversations IS 'Robbie@Code conversations (one per editor session/topic)';
COMMENT ON COLUMN code_conversations.message_count IS 'Maintained by update_code_conversation_stats()';

CREATE TABLE code_messages (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  conversation_id uuid NOT NULL,
  role text NOT NULL CHECK (role IN ('user', 'assistant', 'system')),
  content text NOT NULL,
  embedding_model text REFERENCES embedding_models (model_key) ON UPDATE CASCADE ON DELETE RESTRICT DEFERRABLE INITIALLY IMMEDIATE,
  metadata jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT code_messages_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT code_messages_conversation_id_fkey FOREIGN KEY (org_id, conversation_id)
    REFERENCES code_conversations (org_id, id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE
);
-- @if vector
ALTER TABLE code_messages ADD COLUMN embedding vector;
-- @else
ALTER TABLE code_messages ADD COLUMN embedding real[];
-- @end
ALTER TABLE code_messages ADD CONSTRAINT code_messages_embedding_pair_check
  CHECK ((embedding IS NULL) = (embedding_model IS NULL));
COMMENT ON TABLE code_messages IS 'Messages of Robbie@Code conversations, embedded at the model''s native dimension';

CREATE TABLE code_blocks (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  user_id uuid REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  conversation_id uuid,
  session_id text NOT NULL,
  file_path text NOT NULL,
  language text NOT NULL,
  content text NOT NULL,
  embedding_model text REFERENCES embedding_models (model_key) ON UPDATE CASCADE ON DELETE RESTRICT DEFERRABLE INITIALLY IMMEDIATE,
  tags text[] NOT NULL DEFAULT '{}',
  metadata jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT code_blocks_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT code_blocks_conversation_id_fkey FOREIGN KEY (org_id, conversation_id)
    REFERENCES code_conversations (org_id, id) ON DELETE SET NULL (conversation_id) DEFERRABLE INITIALLY IMMEDIATE
);
-- @if vector
ALTER TABLE code_blocks ADD COLUMN embedding vector;
-- @else
ALTER TABLE code_blocks ADD COLUMN embedding real[];
-- @end
ALTER TABLE code_blocks ADD CONSTRAINT code_blocks_embedding_pair_check
  CHECK ((embedding IS NULL) = (embedding_model IS NULL));
COMMENT ON TABLE code_blocks IS 'Code snippets saved from editor sessions, searchable by embedding';

CREATE TABLE learned_patterns (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  pattern_type text NOT NULL CHECK (pattern_type IN ('api_convention', 'component_pattern', 'error_handling', 'architecture', 'testing')),
  pattern_name text NOT NULL,
  example_code text NOT NULL,
  explanation text,
  embedding_model text REFERENCES embedding_models (model_key) ON UPDATE CASCADE ON DELETE RESTRICT DEFERRABLE INITIALLY IMMEDIATE,
  frequency integer NOT NULL DEFAULT 1,
  last_used timestamptz NOT NULL DEFAULT now(),
  metadata jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT learned_patterns_org_id_id_key UNIQUE (org_id, id)
);
-- @if vector
ALTER TABLE learned_patterns ADD COLUMN embedding vector;
-- @else
ALTER TABLE learned_patterns ADD COLUMN embedding real[];
-- @end
ALTER TABLE learned_patterns ADD CONSTRAINT learned_patterns_embedding_pair_check
  CHECK ((embedding IS NULL) = (embedding_model IS NULL));
COMMENT ON TABLE learned_patterns IS 'Coding patterns learned from a user''s work (conventions, error handling, architecture …)';
COMMENT ON COLUMN learned_patterns.last_used IS 'Kept by update_pattern_usage(); name kept from the working API';

CREATE TABLE robbie_personality_state (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  user_id uuid NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  current_mood text NOT NULL DEFAULT 'focused'
    CHECK (current_mood IN ('friendly', 'focused', 'playful', 'bossy', 'surprised', 'blushing')),
  gandhi_genghis_level integer NOT NULL DEFAULT 5 CHECK (gandhi_genghis_level BETWEEN 1 AND 10),
  attraction_level integer NOT NULL DEFAULT 5 CHECK (attraction_level BETWEEN 1 AND 11),
  context jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE robbie_personality_state IS 'Robbie''s effective live state toward one user (six-word mood vocabulary), read by RobbieBar and Robbie@Code';

-- Keeps message_count / last_message_at of the parent conversation exact after inserts and
-- deletes, and touches its updated_at (the node sync pulls by updated_at). SECURITY DEFINER so
-- the counts do not depend on what the writing role can see.
CREATE FUNCTION update_code_conversation_stats() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_org uuid;
  v_conversation uuid;
BEGIN
  IF TG_OP = 'DELETE' THEN
    v_org := OLD.org_id;
    v_conversation := OLD.conversation_id;
  ELSE
    v_org := NEW.org_id;
    v_conversation := NEW.conversation_id;
  END IF;

  UPDATE code_conversations c
     SET message_count = s.message_count,
         last_message_at = s.last_message_at,
         updated_at = now()
    FROM (SELECT count(*)::integer AS message_count, max(m.created_at) AS last_message_at
            FROM code_messages m
           WHERE m.org_id = v_org
             AND m.conversation_id = v_conversation) s
   WHERE c.org_id = v_org
     AND c.id = v_conversation;
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION update_code_conversation_stats() IS 'AFTER INSERT/DELETE on code_messages: recomputes the conversation''s message_count and last_message_at';

CREATE TRIGGER code_messages_update_conversation_stats
  AFTER INSERT OR DELETE ON code_messages
  FOR EACH ROW
  EXECUTE FUNCTION update_code_conversation_stats();

-- A changed example, or a touch more than an hour after the last use, counts as a use.
-- If the update itself already changed frequency, that value is kept (no double count).
CREATE FUNCTION update_pattern_usage() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.example_code IS DISTINCT FROM OLD.example_code
     OR OLD.last_used < now() - interval '1 hour' THEN
    NEW.last_used := now();
    IF NEW.frequency IS NOT DISTINCT FROM OLD.frequency THEN
      NEW.frequency := OLD.frequency + 1;
    END IF;
  END IF;
  RETURN NEW;
END
$$;
COMMENT ON FUNCTION update_pattern_usage() IS 'BEFORE UPDATE on learned_patterns: bumps last_used and frequency on a changed example or after an hour';

CREATE TRIGGER learned_patterns_update_usage
  BEFORE UPDATE ON learned_patterns
  FOR EACH ROW
  EXECUTE FUNCTION update_pattern_usage();

-- Model-aware similarity search (SECURITY INVOKER: RLS applies; when app.org_id is set the
-- search is also limited to that organization). Only rows embedded with p_model_key are
-- compared; the query must have that model's dimension. similarity = 1 - cosine distance.
-- @if vector
-- With pgvector the query text is built with the model's dimension and key as literals, the
-- same cast and predicate as the per-model HNSW indexes of L26, so the planner can use them;
-- rows are ordered by the operator of the model's distance metric (the index's operator class).
CREATE FUNCTION search_code_messages(p_query vector, p_model_key text, p_user_id uuid,
                                     p_match_count integer DEFAULT 5, p_threshold double precision DEFAULT 0.7)
RETURNS TABLE (id uuid, content text, similarity double precision, conversation_id uuid, created_at timestamptz)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_dims integer;
  v_op text;
BEGIN
  SELECT em.dimensions,
         CASE em.distance_metric WHEN 'l2' THEN '<->' WHEN 'inner_product' THEN '<#>' ELSE '<=>' END
    INTO v_dims, v_op
    FROM embedding_models em
   WHERE em.model_key = p_model_key;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'search_code_messages: unknown embedding model %', p_model_key USING ERRCODE = '22023';
  END IF;
  IF p_query IS NULL THEN
    RETURN;
  END IF;
  IF vector_dims(p_query) <> v_dims THEN
    RAISE EXCEPTION 'search_code_messages: query has % dimensions, model % has %', vector_dims(p_query), p_model_key, v_dims
      USING ERRCODE = '22023';
  END IF;
  RETURN QUERY EXECUTE format($q$
    SELECT m.id, m.content,
           (1 - (m.embedding::vector(%1$s) <=> $1::vector(%1$s)))::double precision AS similarity,
           m.conversation_id, m.created_at
      FROM code_messages m
      JOIN code_conversations c ON c.org_id = m.org_id AND c.id = m.conversation_id
     WHERE m.embedding_model = %2$L
       AND ($2::uuid IS NULL OR c.user_id = $2)
       AND ($5::uuid IS NULL OR m.org_id = $5)
       AND 1 - (m.embedding::vector(%1$s) <=> $1::vector(%1$s)) >= $3
     ORDER BY m.embedding::vector(%1$s) %3$s $1::vector(%1$s)
     LIMIT $4$q$, v_dims, p_model_key, v_op)
  USING p_query, p_user_id, coalesce(p_threshold, -2), p_match_count, app_current_org_id();
END
$$;

CREATE FUNCTION search_code_blocks(p_query vector, p_model_key text,
                                   p_match_count integer DEFAULT 5, p_threshold double precision DEFAULT 0.7)
RETURNS TABLE (id uuid, file_path text, language text, content text, similarity double precision, created_at timestamptz)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_dims integer;
  v_op text;
BEGIN
  SELECT em.dimensions,
         CASE em.distance_metric WHEN 'l2' THEN '<->' WHEN 'inner_product' THEN '<#>' ELSE '<=>' END
    INTO v_dims, v_op
    FROM embedding_models em
   WHERE em.model_key = p_model_key;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'search_code_blocks: unknown embedding model %', p_model_key USING ERRCODE = '22023';
  END IF;
  IF p_query IS NULL THEN
    RETURN;
  END IF;
  IF vector_dims(p_query) <> v_dims THEN
    RAISE EXCEPTION 'search_code_blocks: query has % dimensions, model % has %', vector_dims(p_query), p_model_key, v_dims
      USING ERRCODE = '22023';
  END IF;
  RETURN QUERY EXECUTE format($q$
    SELECT b.id, b.file_path, b.language, b.content,
           (1 - (b.embedding::vector(%1$s) <=> $1::vector(%1$s)))::double precision AS similarity,
           b.created_at
      FROM code_blocks b
     WHERE b.embedding_model = %2$L
       AND ($4::uuid IS NULL OR b.org_id = $4)
       AND 1 - (b.embedding::vector(%1$s) <=> $1::vector(%1$s)) >= $2
     ORDER BY b.embedding::vector(%1$s) %3$s $1::vector(%1$s)
     LIMIT $3$q$, v_dims, p_model_key, v_op)
  USING p_query, coalesce(p_threshold, -2), p_match_count, app_current_org_id();
END
$$;

CREATE FUNCTION search_learned_patterns(p_query vector, p_model_key text, p_user_id uuid,
                                        p_match_count integer DEFAULT 5, p_threshold double precision DEFAULT 0.7)
RETURNS TABLE (id uuid, pattern_type text, pattern_name text, example_code text, explanation text,
               similarity double precision, frequency integer)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_dims integer;
  v_op text;
BEGIN
  SELECT em.dimensions,
         CASE em.distance_metric WHEN 'l2' THEN '<->' WHEN 'inner_product' THEN '<#>' ELSE '<=>' END
    INTO v_dims, v_op
    FROM embedding_models em
   WHERE em.model_key = p_model_key;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'search_learned_patterns: unknown embedding model %', p_model_key USING ERRCODE = '22023';
  END IF;
  IF p_query IS NULL THEN
    RETURN;
  END IF;
  IF vector_dims(p_query) <> v_dims THEN
    RAISE EXCEPTION 'search_learned_patterns: query has % dimensions, model % has %', vector_dims(p_query), p_model_key, v_dims
      USING ERRCODE = '22023';
  END IF;
  RETURN QUERY EXECUTE format($q$
    SELECT p.id, p.pattern_type, p.pattern_name, p.example_code, p.explanation,
           (1 - (p.embedding::vector(%1$s) <=> $1::vector(%1$s)))::double precision AS similarity,
           p.frequency
      FROM learned_patterns p
     WHERE p.embedding_model = %2$L
       AND ($2::uuid IS NULL OR p.user_id = $2)
       AND ($5::uuid IS NULL OR p.org_id = $5)
       AND 1 - (p.embedding::vector(%1$s) <=> $1::vector(%1$s)) >= $3
     ORDER BY p.embedding::vector(%1$s) %3$s $1::vector(%1$s)
     LIMIT $4$q$, v_dims, p_model_key, v_op)
  USING p_query, p_user_id, coalesce(p_threshold, -2), p_match_count, app_current_org_id();
END
$$;
-- @else
-- Without pgvector: exact search over real[] with cosine_similarity() (L0), one sequential scan.
CREATE FUNCTION search_code_messages(p_query real[], p_model_key text, p_user_id uuid,
                                     p_match_count integer DEFAULT 5, p_threshold double precision DEFAULT 0.7)
RETURNS TABLE (id uuid, content text, similarity double precision, conversation_id uuid, created_at timestamptz)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_dims integer;
  v_org uuid := app_current_org_id();
BEGIN
  SELECT em.dimensions INTO v_dims FROM embedding_models em WHERE em.model_key = p_model_key;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'search_code_messages: unknown embedding model %', p_model_key USING ERRCODE = '22023';
  END IF;
  IF p_query IS NULL THEN
    RETURN;
  END IF;
  IF coalesce(array_length(p_query, 1), 0) <> v_dims THEN
    RAISE EXCEPTION 'search_code_messages: query has % dimensions, model % has %', coalesce(array_length(p_query, 1), 0), p_model_key, v_dims
      USING ERRCODE = '22023';
  END IF;
  RETURN QUERY
  SELECT s.id, s.content, s.similarity, s.conversation_id, s.created_at
    FROM (SELECT m.id, m.content, cosine_similarity(m.embedding, p_query) AS similarity,
                 m.conversation_id, m.created_at
            FROM code_messages m
            JOIN code_conversations c ON c.org_id = m.org_id AND c.id = m.conversation_id
           WHERE m.embedding_model = p_model_key
             AND (p_user_id IS NULL OR c.user_id = p_user_id)
             AND (v_org IS NULL OR m.org_id = v_org)) s
   WHERE s.similarity >= coalesce(p_threshold, -2)
   ORDER BY s.similarity DESC
   LIMIT p_match_count;
END
$$;

CREATE FUNCTION search_code_blocks(p_query real[], p_model_key text,
                                   p_match_count integer DEFAULT 5, p_threshold double precision DEFAULT 0.7)
RETURNS TABLE (id uuid, file_path text, language text, content text, similarity double precision, created_at timestamptz)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_dims integer;
  v_org uuid := app_current_org_id();
BEGIN
  SELECT em.dimensions INTO v_dims FROM embedding_models em WHERE em.model_key = p_model_key;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'search_code_blocks: unknown embedding model %', p_model_key USING ERRCODE = '22023';
  END IF;
  IF p_query IS NULL THEN
    RETURN;
  END IF;
  IF coalesce(array_length(p_query, 1), 0) <> v_dims THEN
    RAISE EXCEPTION 'search_code_blocks: query has % dimensions, model % has %', coalesce(array_length(p_query, 1), 0), p_model_key, v_dims
      USING ERRCODE = '22023';
  END IF;
  RETURN QUERY
  SELECT s.id, s.file_path, s.language, s.content, s.similarity, s.created_at
    FROM (SELECT b.id, b.file_path, b.language, b.content,
                 cosine_similarity(b.embedding, p_query) AS similarity, b.created_at
            FROM code_blocks b
           WHERE b.embedding_model = p_model_key
             AND (v_org IS NULL OR b.org_id = v_org)) s
   WHERE s.similarity >= coalesce(p_threshold, -2)
   ORDER BY s.similarity DESC
   LIMIT p_match_count;
END
$$;

CREATE FUNCTION search_learned_patterns(p_query real[], p_model_key text, p_user_id uuid,
                                        p_match_count integer DEFAULT 5, p_threshold double precision DEFAULT 0.7)
RETURNS TABLE (id uuid, pattern_type text, pattern_name text, example_code text, explanation text,
               similarity double precision, frequency integer)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_dims integer;
  v_org uuid := app_current_org_id();
BEGIN
  SELECT em.dimensions INTO v_dims FROM embedding_models em WHERE em.model_key = p_model_key;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'search_learned_patterns: unknown embedding model %', p_model_key USING ERRCODE = '22023';
  END IF;
  IF p_query IS NULL THEN
    RETURN;
  END IF;
  IF coalesce(array_length(p_query, 1), 0) <> v_dims THEN
    RAISE EXCEPTION 'search_learned_patterns: query has % dimensions, model % has %', coalesce(array_length(p_query, 1), 0), p_model_key, v_dims
      USING ERRCODE = '22023';
  END IF;
  RETURN QUERY
  SELECT s.id, s.pattern_type, s.pattern_name, s.example_code, s.explanation, s.similarity, s.frequency
    FROM (SELECT p.id, p.pattern_type, p.pattern_name, p.example_code, p.explanation,
                 cosine_similarity(p.embedding, p_query) AS similarity, p.frequency
            FROM learned_patterns p
           WHERE p.embedding_model = p_model_key
             AND (p_user_id IS NULL OR p.user_id = p_user_id)
             AND (v_org IS NULL OR p.org_id = v_org)) s
   WHERE s.similarity >= coalesce(p_threshold, -2)
   ORDER BY s.similarity DESC
   LIMIT p_match_count;
END
$$;
-- @end
COMMENT ON FUNCTION search_code_messages IS 'Similarity search over a user''s Robbie@Code messages embedded with one model';
COMMENT ON FUNCTION search_code_blocks IS 'Similarity search over saved code blocks embedded with one model';
COMMENT ON FUNCTION search_learned_patterns IS 'Similarity search over a user''s learned patterns embedded with one model';
