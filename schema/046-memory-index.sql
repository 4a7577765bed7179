-- L46 — memory: the search index over conversations, notes, knowledge and code (issue: semantic
-- and hybrid search, tenant-safe, on every engine).
-- * Schema `memory` holds a derived index, local to each database: it is rebuilt from the source
--   rows and never synced (each node indexes the rows it holds, with the embedder it has).
--   Application-supplied embeddings keep living in vector_embeddings and the tables' own columns.
-- * memory.sources names the indexed tables: what text a row contributes, its title, and the
--   columns whose change re-indexes it. Triggers (generated from it) queue new and changed rows in
--   memory.queue in the writing transaction and send NOTIFY memory_pending; deletes drop the row's
--   chunks and queue entry at once.
-- * memory.chunks holds one vector per (row, model, chunk): the model and so the dimension are
--   stored with every vector (check_embedding against embedding_models). With pgvector each model
--   gets a partial HNSW index (memory.ensure_vector_indexes); without it search is exact.
-- * memory.state says which model search uses (active) and which one is being built (a model
--   switch: the active model keeps serving until every row has a vector of the new one), and the
--   text-search language; memory.ensure_text_indexes builds the full-text indexes for it.
-- * Reads go through row-level security: a chunk is visible where its organization is the current
--   one and its source row's privacy allows it (the privacy level, owner and town are copied from
--   the row when it is embedded; search also re-reads the source rows under their own policies).

CREATE SCHEMA memory;
REVOKE ALL ON SCHEMA memory FROM PUBLIC;
GRANT USAGE ON SCHEMA memory TO robbie_app;
COMMENT ON SCHEMA memory IS 'Search index over conversations, notes, knowledge and code: queue, chunks with vectors, state (derived, never synced)';

CREATE TABLE memory.sources (
  source_table  text    NOT NULL PRIMARY KEY,
  kind          text    NOT NULL CHECK (kind IN ('messages', 'notes', 'knowledge', 'code', 'patterns')),
  registry_key  text    NOT NULL,
  title_expr    text    NOT NULL,
  text_expr     text    NOT NULL,
  privacy_expr  text    NOT NULL,
  owner_expr    text    NOT NULL,
  town_expr     text    NOT NULL,
  watch_columns text[]  NOT NULL
);
COMMENT ON TABLE memory.sources IS 'Indexed tables: kind (the --in name), resource type for grants, SQL expressions over the row for title, text, privacy, owner and town, and the columns whose change re-indexes a row (org_id among them: a row moved to another organization, or given one by the legacy backfill)';

INSERT INTO memory.sources VALUES
  ('messages', 'messages', 'message', 'NULL::text', 'content', 'privacy_level', 'user_id', 'NULL::uuid',
   '{org_id,content,privacy_level,user_id}'),
  ('sticky_notes', 'notes', 'sticky_note', 'title', $$coalesce(title, '') || E'\n' || content$$, 'privacy_level', 'user_id', 'town_id',
   '{org_id,title,content,privacy_level,user_id,town_id}'),
  ('knowledge_base', 'knowledge', 'knowledge_base', 'title',
   $$title || E'\n' || coalesce(summary, '') || E'\n' || content$$, 'privacy_level', 'user_id', 'town_id',
   '{org_id,title,summary,content,privacy_level,user_id,town_id}'),
  ('documents', 'knowledge', 'document', 'filename', $$coalesce(filename, '') || E'\n' || coalesce(content_extracted, '')$$,
   'privacy_level', 'user_id', 'town_id', '{org_id,filename,content_extracted,privacy_level,user_id,town_id}'),
  ('code_messages', 'code', 'code_message', 'NULL::text', 'content', $$'team'::text$$, 'NULL::uuid', 'NULL::uuid',
   '{org_id,content}'),
  ('code_blocks', 'code', 'code_block', 'file_path', $$file_path || E'\n' || content$$, $$'team'::text$$, 'user_id', 'NULL::uuid',
   '{org_id,file_path,content,user_id}'),
  ('learned_patterns', 'patterns', 'learned_pattern', 'pattern_name',
   $$pattern_name || E'\n' || coalesce(explanation, '') || E'\n' || example_code$$, $$'team'::text$$, 'user_id', 'NULL::uuid',
   '{org_id,pattern_name,explanation,example_code,user_id}');

CREATE TABLE memory.state (
  id                  boolean     NOT NULL DEFAULT true PRIMARY KEY CHECK (id),
  language            regconfig   NOT NULL DEFAULT 'english',
  active_model        text        REFERENCES embedding_models (model_key) ON UPDATE CASCADE ON DELETE SET NULL,
  active_provider     text,
  active_endpoint     text,
  building_model      text        REFERENCES embedding_models (model_key) ON UPDATE CASCADE ON DELETE SET NULL,
  building_provider   text,
  building_endpoint   text,
  building_started_at timestamptz,
  switched_at         timestamptz,
  updated_at          timestamptz NOT NULL DEFAULT now(),
  CHECK (building_model IS DISTINCT FROM active_model OR building_model IS NULL)
);
INSERT INTO memory.state DEFAULT VALUES;
COMMENT ON TABLE memory.state IS 'One row: the model search uses (active), the one being built during a switch, their providers and endpoints (no secrets), the full-text language';

CREATE TABLE memory.queue (
  source_table  text        NOT NULL REFERENCES memory.sources (source_table),
  source_id     uuid        NOT NULL,
  org_id        uuid        NOT NULL,
  queued_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  not_before    timestamptz NOT NULL DEFAULT now(),
  attempts      integer     NOT NULL DEFAULT 0,
  last_error    text,
  last_error_at timestamptz,
  PRIMARY KEY (source_table, source_id)
);
CREATE INDEX queue_not_before_idx ON memory.queue (not_before);
COMMENT ON TABLE memory.queue IS 'Rows to (re)embed: queued in the writing transaction, claimed by the indexer with a lease (not_before), removed when embedded; last_error says why a row waits';

CREATE TABLE memory.chunks (
  source_table   text        NOT NULL REFERENCES memory.sources (source_table),
  source_id      uuid        NOT NULL,
  model_key      text        NOT NULL REFERENCES embedding_models (model_key) ON UPDATE CASCADE ON DELETE CASCADE,
  chunk_index    integer     NOT NULL CHECK (chunk_index >= 0),
  org_id         uuid        NOT NULL,
  privacy_level  text        NOT NULL,
  owner_id       uuid,
  town_id        uuid,
  content_sha256 text        NOT NULL,
  chunk_start    integer     NOT NULL DEFAULT 0,
  chunk_end      integer     NOT NULL DEFAULT 0,
  embedded_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (source_table, source_id, model_key, chunk_index)
);
-- @if vector
ALTER TABLE memory.chunks ADD COLUMN embedding vector NOT NULL;
-- @else
ALTER TABLE memory.chunks ADD COLUMN embedding real[] NOT NULL;
-- @end
CREATE INDEX chunks_org_model_idx ON memory.chunks (org_id, model_key);
CREATE INDEX chunks_model_idx ON memory.chunks (model_key, source_table);
CREATE TRIGGER chunks_check_embedding BEFORE INSERT OR UPDATE ON memory.chunks
  FOR EACH ROW EXECUTE FUNCTION public.check_embedding('embedding', 'model_key');
COMMENT ON TABLE memory.chunks IS 'One vector per source row, model and chunk; content_sha256 is of the row''s whole text (unchanged text is not embedded again); chunk_start/chunk_end locate the chunk in that text';

ALTER TABLE memory.chunks ENABLE ROW LEVEL SECURITY;
CREATE POLICY readable ON memory.chunks FOR SELECT USING (
  org_id = (SELECT app_current_org_id())
  AND app_can_read((SELECT s.registry_key FROM memory.sources s WHERE s.source_table = chunks.source_table),
                   source_id, privacy_level, owner_id, town_id));
GRANT SELECT ON memory.chunks, memory.sources, memory.state TO robbie_app;

-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION memory.enqueue() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  -- A legacy row has no organization until the upgrade's backfill gives it one; the upgrade
  -- queues the backfilled rows in bulk afterwards (memory requeue), not row by row here.
  IF NEW.org_id IS NULL OR current_setting('robbieverse.backfill', true) = 'on' THEN
    RETURN NULL;
  END IF;
  INSERT INTO memory.queue (source_table, source_id, org_id) VALUES (TG_TABLE_NAME, NEW.id, NEW.org_id)
  ON CONFLICT (source_table, source_id) DO UPDATE
    SET org_id = EXCLUDED.org_id, queued_at = clock_timestamp(), not_before = now(), attempts = 0,
        last_error = NULL, last_error_at = NULL;
  PERFORM pg_notify('memory_pending', TG_TABLE_NAME);
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION memory.enqueue() IS 'AFTER INSERT/UPDATE OF the watched columns on each memory source: queue the row for the indexer and hint it (NOTIFY memory_pending)';

CREATE FUNCTION memory.forget() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  DELETE FROM memory.chunks WHERE source_table = TG_TABLE_NAME AND source_id = OLD.id;
  DELETE FROM memory.queue WHERE source_table = TG_TABLE_NAME AND source_id = OLD.id;
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION memory.forget() IS 'AFTER DELETE on each memory source: the row leaves the index in the same transaction';

DO $triggers$
DECLARE s record;
BEGIN
  FOR s IN SELECT source_table, watch_columns FROM memory.sources ORDER BY 1 LOOP
    EXECUTE format('CREATE TRIGGER memory_enqueue AFTER INSERT OR UPDATE OF %s ON public.%I FOR EACH ROW EXECUTE FUNCTION memory.enqueue()',
                   (SELECT string_agg(quote_ident(c), ', ') FROM unnest(s.watch_columns) c), s.source_table);
    EXECUTE format('CREATE TRIGGER memory_forget AFTER DELETE ON public.%I FOR EACH ROW EXECUTE FUNCTION memory.forget()', s.source_table);
    -- Rows that exist already (an upgraded database) are indexed by the first indexer run; legacy
    -- rows still without an organization are queued when the upgrade's backfill sets it.
    EXECUTE format('INSERT INTO memory.queue (source_table, source_id, org_id) SELECT %L, id, org_id FROM public.%I WHERE org_id IS NOT NULL',
                   s.source_table, s.source_table);
  END LOOP;
END
$triggers$;

-- ---------------------------------------------------------------------------------------------
-- The full-text indexes of the configured language: one GIN index per source on the expression
-- search uses, to_tsvector('<language>', <text>). Rebuilt when the language changes.
CREATE FUNCTION memory.ensure_text_indexes() RETURNS integer
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  s record;
  lang text := (SELECT language::text FROM memory.state);
  idx text;
  made integer := 0;
  def text;
BEGIN
  FOR s IN SELECT source_table, text_expr FROM memory.sources ORDER BY 1 LOOP
    idx := 'memory_fts_' || s.source_table;
    def := format('to_tsvector(%L::regconfig, %s)', lang, s.text_expr);
    IF to_regclass('public.' || quote_ident(idx)) IS NOT NULL THEN
      CONTINUE WHEN EXISTS (SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                             WHERE c.oid = to_regclass('public.' || quote_ident(idx))
                               AND pg_get_expr(i.indexprs, i.indrelid) LIKE '%' || quote_literal(lang) || '%');
      EXECUTE format('DROP INDEX public.%I', idx);
    END IF;
    EXECUTE format('CREATE INDEX %I ON public.%I USING gin ((%s))', idx, s.source_table, def);
    made := made + 1;
  END LOOP;
  RETURN made;
END
$$;
COMMENT ON FUNCTION memory.ensure_text_indexes() IS 'Creates (or, after a language change, re-creates) the GIN full-text index of each memory source; returns how many were built';
SELECT memory.ensure_text_indexes();

-- One HNSW index per model on the chunks, on the per-model cast search uses (partial: that
-- model's rows). Called when a model starts being indexed. Nothing to do without pgvector.
-- @if vector
CREATE FUNCTION memory.ensure_vector_indexes() RETURNS integer
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  m record;
  idx text;
  made integer := 0;
BEGIN
  FOR m IN SELECT e.model_key, e.dimensions, e.distance_metric FROM embedding_models e
            WHERE e.index_enabled AND e.dimensions <= 2000
              AND e.model_key IN (SELECT active_model FROM memory.state UNION SELECT building_model FROM memory.state)
            ORDER BY 1 LOOP
    idx := 'chunks_' || left(regexp_replace(m.model_key, '[^a-zA-Z0-9]', '_', 'g'), 40) || '_' || left(md5(m.model_key), 6) || '_hnsw';
    CONTINUE WHEN to_regclass('memory.' || quote_ident(idx)) IS NOT NULL;
    EXECUTE format('CREATE INDEX %I ON memory.chunks USING hnsw ((embedding::vector(%s)) %s) WHERE model_key = %L',
                   idx, m.dimensions,
                   CASE m.distance_metric WHEN 'l2' THEN 'vector_l2_ops' WHEN 'inner_product' THEN 'vector_ip_ops' ELSE 'vector_cosine_ops' END,
                   m.model_key);
    made := made + 1;
  END LOOP;
  RETURN made;
END
$$;
-- @else
CREATE FUNCTION memory.ensure_vector_indexes() RETURNS integer
LANGUAGE sql AS $$ SELECT 0 $$;
-- @end
COMMENT ON FUNCTION memory.ensure_vector_indexes() IS 'Creates the missing HNSW index of the active and the building model on memory.chunks; returns how many. 0 without pgvector';

-- How many vectors of a model the current organization holds (an index-only count, without the
-- privacy policy's per-row cost): search uses an exact scan when that is small, since walking the
-- HNSW graph for a few matching rows costs more than reading them.
CREATE FUNCTION memory.org_vector_count(p_model text) RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT CASE WHEN app_current_org_id() IS NOT NULL
              THEN (SELECT count(*) FROM memory.chunks WHERE org_id = app_current_org_id() AND model_key = p_model) END
$$;
COMMENT ON FUNCTION memory.org_vector_count(text) IS 'Vectors of a model in the current organization (app.org_id; NULL outside one): chooses exact or HNSW search';
GRANT EXECUTE ON FUNCTION memory.org_vector_count(text) TO robbie_app;

-- The built-in offline embedder (feature-hashed words and character trigrams): no download, the
-- default when no provider is configured. Reference data with the same id in every database: on
-- a sync node (where embedding_models is written by the applier only) it is written as the
-- applier would, and nowhere is it captured as a change.
SELECT set_config('robbieverse.sync_applying', 'on', true);
INSERT INTO embedding_models (id, model_key, provider, dimensions, distance_metric, is_default, index_enabled)
VALUES (reference_uuid('embedding_models', 'builtin-hashed-ngrams-512'), 'builtin-hashed-ngrams-512', 'builtin', 512, 'cosine', false, true)
ON CONFLICT (model_key) DO NOTHING;
SELECT set_config('robbieverse.sync_applying', 'off', true);

REVOKE EXECUTE ON FUNCTION memory.enqueue(), memory.forget(), memory.ensure_text_indexes(), memory.ensure_vector_indexes(), memory.org_vector_count(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION memory.org_vector_count(text) TO robbie_app;
