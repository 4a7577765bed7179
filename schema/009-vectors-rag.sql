-- L9 — vectors-rag (README 03): embedding models, the generic embedding store, knowledge base,
-- documents, search history, embedding collections and the cross-tenant embedding cache; plus
-- check_embedding() (attached by 026), find_similar_embeddings() and clean_expired_cache().
-- Embeddings are pgvector `vector` without a dimension where pgvector exists, else `real[]`.

-- Validates an embedding pair. Trigger arguments: the vector column (default 'embedding') and the
-- model column (default 'embedding_model'). The vector's type is read from the catalogue, so the
-- same function works for pgvector `vector` and the `real[]` fallback. It never pads or truncates.
CREATE FUNCTION check_embedding() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  v_col       text := coalesce(TG_ARGV[0], 'embedding');
  v_model_col text := coalesce(TG_ARGV[1], 'embedding_model');
  v_typname   name;
  v_typelem   oid;
  v_typnsp    name;
  v_has_vec   boolean;
  v_model     text;
  v_dims      integer;
  v_ndims     integer;
  v_has_nulls boolean;
  v_expected  integer;
BEGIN
  SELECT t.typname, t.typelem, n.nspname INTO v_typname, v_typelem, v_typnsp
  FROM pg_attribute a
  JOIN pg_type t ON t.oid = a.atttypid
  JOIN pg_namespace n ON n.oid = t.typnamespace
  WHERE a.attrelid = TG_RELID AND a.attname = v_col AND a.attnum > 0 AND NOT a.attisdropped;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'check_embedding: table % has no column %', TG_TABLE_NAME, v_col;
  END IF;

  IF v_typname = 'vector' THEN
    EXECUTE format('SELECT ($1).%1$I IS NOT NULL, ($1).%2$I::text, %3$I.vector_dims(($1).%1$I), 1, false',
                   v_col, v_model_col, v_typnsp)
      INTO v_has_vec, v_model, v_dims, v_ndims, v_has_nulls
      USING NEW;
  ELSIF v_typelem = 'real'::regtype THEN
    EXECUTE format('SELECT ($1).%1$I IS NOT NULL, ($1).%2$I::text, array_length(($1).%1$I, 1), '
                   'array_ndims(($1).%1$I), array_position(($1).%1$I, NULL) IS NOT NULL',
                   v_col, v_model_col)
      INTO v_has_vec, v_model, v_dims, v_ndims, v_has_nulls
      USING NEW;
  ELSE
    RAISE EXCEPTION 'check_embedding: %.% is neither vector nor real[]', TG_TABLE_NAME, v_col;
  END IF;

  IF NOT v_has_vec AND v_model IS NULL THEN
    RETURN NEW;
  END IF;
  IF v_has_vec <> (v_model IS NOT NULL) THEN
    RAISE EXCEPTION '%: % and % must both be set or both be NULL', TG_TABLE_NAME, v_col, v_model_col
      USING ERRCODE = 'check_violation';
  END IF;

  SELECT m.dimensions INTO v_expected FROM embedding_models m WHERE m.model_key = v_model;
  IF NOT FOUND THEN
    RAISE EXCEPTION '%: unknown embedding model "%"', TG_TABLE_NAME, v_model
      USING ERRCODE = 'foreign_key_violation', HINT = 'register it in embedding_models first';
  END IF;
  IF v_ndims IS DISTINCT FROM 1 OR v_has_nulls THEN
    RAISE EXCEPTION '%: % must be a one-dimensional array without NULL elements', TG_TABLE_NAME, v_col
      USING ERRCODE = 'check_violation';
  END IF;
  IF v_dims IS DISTINCT FROM v_expected THEN
    RAISE EXCEPTION '%: % has % dimensions, model "%" has %', TG_TABLE_NAME, v_col, v_dims, v_model, v_expected
      USING ERRCODE = 'check_violation', HINT = 'store vectors at the model''s native length; never pad or truncate';
  END IF;
  RETURN NEW;
END
$$;
COMMENT ON FUNCTION check_embedding() IS 'BEFORE INSERT/UPDATE trigger: embedding pair both set or both NULL, known model, length = embedding_models.dimensions (args: vector column, model column)';

-- ---------------------------------------------------------------------------------------------
CREATE TABLE embedding_models (
  id              uuid        NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  model_key       text        NOT NULL UNIQUE,
  provider        text        NOT NULL,
  dimensions      integer     NOT NULL CHECK (dimensions BETWEEN 1 AND 16000),
  distance_metric text        NOT NULL DEFAULT 'cosine' CHECK (distance_metric IN ('cosine', 'l2', 'inner_product')),
  is_default      boolean     NOT NULL DEFAULT false,
  index_enabled   boolean     NOT NULL DEFAULT true,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
-- At most one default model.
CREATE UNIQUE INDEX embedding_models_is_default_key ON embedding_models (is_default) WHERE is_default;
COMMENT ON TABLE embedding_models IS 'Registered embedding models: key, provider, native dimensions, distance metric; every embedding column names one';
COMMENT ON COLUMN embedding_models.dimensions IS 'Native vector length; ANN (HNSW) indexes need <= 2000';
COMMENT ON COLUMN embedding_models.index_enabled IS 'Build per-model ANN indexes for this model (ensure_embedding_indexes, L26)';

-- ---------------------------------------------------------------------------------------------
CREATE TABLE vector_embeddings (
  id                 uuid        NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id             uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  source_type        varchar(50) NOT NULL CHECK (source_type IN ('document', 'webpage', 'email', 'chat', 'code',
                       'image_description', 'audio_transcript', 'video_transcript', 'knowledge_base', 'contact',
                       'company', 'deal', 'task', 'calendar_event', 'interaction', 'note')),
  source_entity_type text,
  source_id          uuid,
  source_url         text,
  content            text        NOT NULL,
  content_sha256     varchar(64),
  chunk_index        integer     NOT NULL DEFAULT 0,
  chunk_total        integer     NOT NULL DEFAULT 1,
  language           varchar(10) NOT NULL DEFAULT 'en',
  embedding_model    text        REFERENCES embedding_models (model_key) ON UPDATE CASCADE ON DELETE RESTRICT DEFERRABLE INITIALLY IMMEDIATE,
  town_id            uuid,
  user_id            uuid        REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  privacy_level      text        NOT NULL DEFAULT 'team' CHECK (privacy_level IN ('public', 'team', 'private', 'boss_only')),
  accessed_count     integer     NOT NULL DEFAULT 0,
  last_accessed_at   timestamptz,
  metadata           jsonb       NOT NULL DEFAULT '{}',
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT vector_embeddings_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT vector_embeddings_town_id_fkey FOREIGN KEY (org_id, town_id) REFERENCES towns (org_id, id)
    ON DELETE SET NULL (town_id) DEFERRABLE INITIALLY IMMEDIATE
);
-- @if vector
ALTER TABLE vector_embeddings ADD COLUMN embedding vector;
-- @else
ALTER TABLE vector_embeddings ADD COLUMN embedding real[];
-- @end
ALTER TABLE vector_embeddings ADD CONSTRAINT vector_embeddings_embedding_pair_check
  CHECK ((embedding IS NULL) = (embedding_model IS NULL));
-- One chunk per source row, chunk number and model.
CREATE UNIQUE INDEX vector_embeddings_source_chunk_key
  ON vector_embeddings (org_id, source_entity_type, source_id, chunk_index, embedding_model)
  WHERE source_id IS NOT NULL;
COMMENT ON TABLE vector_embeddings IS 'Chunked or derived embeddings of anything (documents, CRM records, web pages, transcripts, second-model embeddings)';
COMMENT ON COLUMN vector_embeddings.source_entity_type IS 'Entity-registry key of the source row (check_entity_ref with source_id)';
COMMENT ON COLUMN vector_embeddings.privacy_level IS 'Copied from the source row at embed time';

-- ---------------------------------------------------------------------------------------------
CREATE TABLE knowledge_base (
  id                uuid         NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id            uuid         NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  town_id           uuid,
  user_id           uuid         REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  title             text         NOT NULL,
  topic             varchar(255),
  content           text         NOT NULL,
  summary           text,
  category          varchar(100),
  tags              text[]       NOT NULL DEFAULT '{}',
  source_type       text,
  source_references text[]       NOT NULL DEFAULT '{}',
  related_topics    text[]       NOT NULL DEFAULT '{}',
  privacy_level     text         NOT NULL DEFAULT 'team' CHECK (privacy_level IN ('public', 'team', 'private', 'boss_only')),
  importance_score  integer      NOT NULL DEFAULT 5 CHECK (importance_score BETWEEN 1 AND 10),
  confidence_score  real         NOT NULL DEFAULT 1.0 CHECK (confidence_score BETWEEN 0 AND 1),
  is_verified       boolean      NOT NULL DEFAULT false,
  verified_by       uuid         REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  view_count        integer      NOT NULL DEFAULT 0,
  helpful_count     integer      NOT NULL DEFAULT 0,
  embedding_model   text         REFERENCES embedding_models (model_key) ON UPDATE CASCADE ON DELETE RESTRICT DEFERRABLE INITIALLY IMMEDIATE,
  expires_at        timestamptz,
  metadata          jsonb        NOT NULL DEFAULT '{}',
  created_at        timestamptz  NOT NULL DEFAULT now(),
  updated_at        timestamptz  NOT NULL DEFAULT now(),
  CONSTRAINT knowledge_base_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT knowledge_base_town_id_fkey FOREIGN KEY (org_id, town_id) REFERENCES towns (org_id, id)
    ON DELETE SET NULL (town_id) DEFERRABLE INITIALLY IMMEDIATE
);
-- @if vector
ALTER TABLE knowledge_base ADD COLUMN embedding vector;
-- @else
ALTER TABLE knowledge_base ADD COLUMN embedding real[];
-- @end
ALTER TABLE knowledge_base ADD CONSTRAINT knowledge_base_embedding_pair_check
  CHECK ((embedding IS NULL) = (embedding_model IS NULL));
COMMENT ON TABLE knowledge_base IS 'Curated knowledge articles of an organization; cross-town sharing via town_id, privacy_level and resource_grants';
COMMENT ON COLUMN knowledge_base.town_id IS 'Source town; NULL = organization-level article';

-- ---------------------------------------------------------------------------------------------
CREATE TABLE documents (
  id                   uuid         NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id               uuid         NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  town_id              uuid,
  user_id              uuid         REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  filename             varchar(500),
  file_path            text,
  web_url              text,
  folder_path          text,
  mime_type            varchar(100),
  file_extension       varchar(20),
  file_size_bytes      bigint,
  file_hash            varchar(64),
  owner_email          varchar(255),
  is_shared            boolean      NOT NULL DEFAULT false,
  is_trashed           boolean      NOT NULL DEFAULT false,
  is_starred           boolean      NOT NULL DEFAULT false,
  content_extracted    text,
  language             varchar(10),
  processing_status    varchar(20)  NOT NULL DEFAULT 'pending' CHECK (processing_status IN ('pending', 'processing', 'completed', 'failed', 'skipped')),
  processing_error     text,
  chunk_count          integer      NOT NULL DEFAULT 0,
  word_count           integer      NOT NULL DEFAULT 0,
  page_count           integer      NOT NULL DEFAULT 0,
  privacy_level        text         NOT NULL DEFAULT 'team' CHECK (privacy_level IN ('public', 'team', 'private', 'boss_only')),
  external_created_at  timestamptz,
  external_modified_at timestamptz,
  processed_at         timestamptz,
  metadata             jsonb        NOT NULL DEFAULT '{}',
  created_at           timestamptz  NOT NULL DEFAULT now(),
  updated_at           timestamptz  NOT NULL DEFAULT now(),
  CONSTRAINT documents_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT documents_org_id_file_hash_key UNIQUE (org_id, file_hash),
  CONSTRAINT documents_town_id_fkey FOREIGN KEY (org_id, town_id) REFERENCES towns (org_id, id)
    ON DELETE SET NULL (town_id) DEFERRABLE INITIALLY IMMEDIATE
);
COMMENT ON TABLE documents IS 'Every file known to the system, uploaded or synced from Google Drive; text chunks live in vector_embeddings';
COMMENT ON COLUMN documents.file_hash IS 'SHA-256 of the content; unique per organization (NULL allowed many times)';

-- ---------------------------------------------------------------------------------------------
CREATE TABLE search_history (
  id                uuid        NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id            uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  user_id           uuid        REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  query             text        NOT NULL,
  embedding_model   text        REFERENCES embedding_models (model_key) ON UPDATE CASCADE ON DELETE RESTRICT DEFERRABLE INITIALLY IMMEDIATE,
  search_type       varchar(20) CHECK (search_type IN ('semantic', 'keyword', 'hybrid', 'sql')),
  filters           jsonb       NOT NULL DEFAULT '{}',
  results_count     integer     NOT NULL DEFAULT 0,
  top_results       jsonb       NOT NULL DEFAULT '[]',
  execution_time_ms integer,
  user_feedback     varchar(20) CHECK (user_feedback IN ('helpful', 'not_helpful', 'neutral')),
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT search_history_org_id_id_key UNIQUE (org_id, id)
);
-- @if vector
ALTER TABLE search_history ADD COLUMN query_embedding vector;
-- @else
ALTER TABLE search_history ADD COLUMN query_embedding real[];
-- @end
ALTER TABLE search_history ADD CONSTRAINT search_history_embedding_pair_check
  CHECK ((query_embedding IS NULL) = (embedding_model IS NULL));
COMMENT ON TABLE search_history IS 'Searches run by users: query text, query embedding, type, filters, results and feedback';
COMMENT ON COLUMN search_history.query_embedding IS 'Embedding pair with embedding_model (check_embedding argument: query_embedding)';

-- ---------------------------------------------------------------------------------------------
CREATE TABLE embedding_collections (
  id          uuid         NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id      uuid         NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  user_id     uuid         REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  name        varchar(255) NOT NULL,
  description text,
  is_public   boolean      NOT NULL DEFAULT false,
  metadata    jsonb        NOT NULL DEFAULT '{}',
  created_at  timestamptz  NOT NULL DEFAULT now(),
  updated_at  timestamptz  NOT NULL DEFAULT now(),
  CONSTRAINT embedding_collections_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT embedding_collections_org_id_user_id_name_key UNIQUE NULLS NOT DISTINCT (org_id, user_id, name)
);
COMMENT ON TABLE embedding_collections IS 'Named user collections of embeddings (saved sets for retrieval)';
COMMENT ON COLUMN embedding_collections.is_public IS 'Visible to the whole organization';

-- ---------------------------------------------------------------------------------------------
CREATE TABLE embedding_collection_items (
  id            uuid        NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id        uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  collection_id uuid        NOT NULL,
  embedding_id  uuid        NOT NULL,
  added_by      uuid        REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  notes         text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT embedding_collection_items_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT embedding_collection_items_collection_id_embedding_id_key UNIQUE (org_id, collection_id, embedding_id),
  CONSTRAINT embedding_collection_items_collection_id_fkey FOREIGN KEY (org_id, collection_id)
    REFERENCES embedding_collections (org_id, id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  CONSTRAINT embedding_collection_items_embedding_id_fkey FOREIGN KEY (org_id, embedding_id)
    REFERENCES vector_embeddings (org_id, id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE
);
COMMENT ON TABLE embedding_collection_items IS 'Membership of a vector_embeddings row in an embedding collection';

-- ---------------------------------------------------------------------------------------------
CREATE TABLE embedding_cache (
  id              uuid         NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  cache_key       varchar(255) NOT NULL UNIQUE,
  embedding_model text         NOT NULL REFERENCES embedding_models (model_key) ON UPDATE CASCADE ON DELETE RESTRICT DEFERRABLE INITIALLY IMMEDIATE,
  hit_count       integer      NOT NULL DEFAULT 0,
  metadata        jsonb        NOT NULL DEFAULT '{}',
  expires_at      timestamptz  NOT NULL,
  created_at      timestamptz  NOT NULL DEFAULT now(),
  updated_at      timestamptz  NOT NULL DEFAULT now()
);
-- @if vector
ALTER TABLE embedding_cache ADD COLUMN embedding vector NOT NULL;
-- @else
ALTER TABLE embedding_cache ADD COLUMN embedding real[] NOT NULL;
-- @end
COMMENT ON TABLE embedding_cache IS 'Text -> embedding cache keyed by a hash of model and normalised text; stores no text, shared across tenants';
COMMENT ON COLUMN embedding_cache.cache_key IS 'SHA-256 of model_key + normalised text';

-- ---------------------------------------------------------------------------------------------
-- Nearest neighbours in vector_embeddings for one model. SECURITY INVOKER, so RLS applies.
-- With pgvector the query uses exactly the per-model index expression of L26
-- (embedding::vector(<dims>) with the literal predicate embedding_model = '<model_key>'), built as
-- dynamic SQL so both are literals and the planner can pick the partial HNSW index.
-- @if vector
CREATE FUNCTION find_similar_embeddings(
  p_query        vector,
  p_model_key    text,
  p_limit        integer DEFAULT 10,
  p_threshold    double precision DEFAULT 0.7,
  p_source_types text[] DEFAULT NULL
) RETURNS TABLE (id uuid, source_type text, source_entity_type text, source_id uuid, content text,
                 similarity double precision, metadata jsonb)
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  v_dims   integer;
  v_metric text;
  v_op     text;
BEGIN
  SELECT m.dimensions, m.distance_metric INTO v_dims, v_metric
  FROM embedding_models m WHERE m.model_key = p_model_key;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown embedding model "%"', p_model_key USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF p_query IS NULL THEN
    RETURN;
  END IF;
  IF vector_dims(p_query) <> v_dims THEN
    RAISE EXCEPTION 'query vector has % dimensions, model "%" has %', vector_dims(p_query), p_model_key, v_dims
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  -- Order by the operator of the model's index operator class (L26), so the index is usable;
  -- similarity is always 1 - cosine distance.
  v_op := CASE v_metric WHEN 'l2' THEN '<->' WHEN 'inner_product' THEN '<#>' ELSE '<=>' END;
  RETURN QUERY EXECUTE format(
    $q$SELECT v.id, v.source_type::text, v.source_entity_type, v.source_id, v.content,
              1 - (v.embedding::vector(%1$s) <=> $1::vector(%1$s)), v.metadata
       FROM vector_embeddings v
       WHERE v.embedding_model = %2$L
         AND ($4::text[] IS NULL OR v.source_type = ANY ($4::text[]))
         AND 1 - (v.embedding::vector(%1$s) <=> $1::vector(%1$s)) >= $3
       ORDER BY v.embedding::vector(%1$s) %3$s $1::vector(%1$s)
       LIMIT $2$q$,
    v_dims, p_model_key, v_op)
  USING p_query, p_limit, p_threshold, p_source_types;
END
$$;
-- With pgvector >= 0.8, let the HNSW scan continue past ef_search candidates when the source-type
-- and threshold filters discard rows (function-scoped setting; older pgvector lacks the parameter).
DO $$
BEGIN
  IF (SELECT string_to_array(extversion, '.')::int[] >= ARRAY[0, 8] FROM pg_extension WHERE extname = 'vector') THEN
    EXECUTE 'ALTER FUNCTION find_similar_embeddings(vector, text, integer, double precision, text[]) '
            'SET hnsw.iterative_scan = strict_order';
  END IF;
END
$$;
-- @else
CREATE FUNCTION find_similar_embeddings(
  p_query        real[],
  p_model_key    text,
  p_limit        integer DEFAULT 10,
  p_threshold    double precision DEFAULT 0.7,
  p_source_types text[] DEFAULT NULL
) RETURNS TABLE (id uuid, source_type text, source_entity_type text, source_id uuid, content text,
                 similarity double precision, metadata jsonb)
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  v_dims integer;
BEGIN
  SELECT m.dimensions INTO v_dims FROM embedding_models m WHERE m.model_key = p_model_key;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown embedding model "%"', p_model_key USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF p_query IS NULL THEN
    RETURN;
  END IF;
  IF array_ndims(p_query) IS DISTINCT FROM 1 OR array_length(p_query, 1) <> v_dims THEN
    RAISE EXCEPTION 'query vector has % dimensions, model "%" has %', array_length(p_query, 1), p_model_key, v_dims
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  -- Exact search (no pgvector): a scan over this model's rows.
  RETURN QUERY
    SELECT s.id, s.source_type, s.source_entity_type, s.source_id, s.content, s.similarity, s.metadata
    FROM (
      SELECT v.id, v.source_type::text AS source_type, v.source_entity_type, v.source_id, v.content,
             cosine_similarity(v.embedding, p_query) AS similarity, v.metadata
      FROM vector_embeddings v
      WHERE v.embedding_model = p_model_key
        AND (p_source_types IS NULL OR v.source_type = ANY (p_source_types))
    ) s
    WHERE s.similarity >= p_threshold
    ORDER BY s.similarity DESC
    LIMIT p_limit;
END
$$;
-- @end
COMMENT ON FUNCTION find_similar_embeddings IS 'Top p_limit vector_embeddings rows of one model with similarity (1 - cosine distance) >= p_threshold, optionally filtered by source_type';

-- Removes expired embedding_cache rows; run hourly by the service scheduler.
CREATE FUNCTION clean_expired_cache() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  v_count integer;
BEGIN
  DELETE FROM embedding_cache WHERE expires_at <= now();
  GET DIAGNOSTICS v_count = ROW_COUNT;
  RETURN v_count;
END
$$;
COMMENT ON FUNCTION clean_expired_cache() IS 'Deletes expired embedding_cache rows and returns how many';
