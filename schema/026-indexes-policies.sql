-- L26 — indexes & policies (README 15). Runs after every table exists.
-- Roles and grants for the application, row-level security on every table that carries org_id,
-- the shared triggers (updated_at, embeddings, polymorphic references, audit), foreign-key and
-- access-path indexes, per-model vector indexes and the cross-table semantic search.
-- The generic parts read the catalog, so they cover every table of the schema by rule.

-- ---------------------------------------------------------------------------------------------
-- Roles. Cluster-wide, so created only if missing (another database may have made them), and
-- without passwords: login roles are granted these outside the schema.
--   robbie_app   the application: row-level security applies to it
--   robbie_auth  the auth service: may also read users.password_hash
DO $roles$
BEGIN
  BEGIN
    CREATE ROLE robbie_app NOLOGIN;
  EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
  END;
  BEGIN
    CREATE ROLE robbie_auth NOLOGIN;
  EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
  END;
  -- The migrating role must be able to SET ROLE robbie_app (tests, the API's tenant helper).
  IF NOT pg_has_role(current_user, 'robbie_app', 'MEMBER') THEN
    EXECUTE format('GRANT robbie_app TO %I', current_user);
  END IF;
  IF NOT pg_has_role(current_user, 'robbie_auth', 'MEMBER') THEN
    EXECUTE format('GRANT robbie_auth TO %I', current_user);
  END IF;
END
$roles$;

-- An upgraded legacy Aurora database: the 8 legacy tables hold data the legacy application keeps
-- writing, so the upgrade builds their foreign-key indexes itself, CONCURRENTLY, after this
-- migration; and messages.embedding keeps its legacy type with no model until phase B, so
-- check_embedding stays off it. (Transaction-local settings read by the loops below.)
-- @if legacy
DO $legacy$
BEGIN
  PERFORM set_config('robbieverse.skip_fk_indexes',
                     'users,conversations,messages,mentors,feature_requests,integrations,webhooks,system_logs', true);
  PERFORM set_config('robbieverse.skip_check_embedding', 'messages', true);
END
$legacy$;
-- @end

GRANT USAGE ON SCHEMA public TO robbie_app, robbie_auth;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO robbie_app, robbie_auth;

-- ---------------------------------------------------------------------------------------------
-- Helpers for policies. SECURITY DEFINER so they can read memberships without recursing
-- through the policies on organization_memberships.
CREATE FUNCTION app_user_shares_org(p_user_id uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT p_user_id = app_current_user_id()
      OR EXISTS (SELECT 1
                   FROM organization_memberships mine
                   JOIN organization_memberships theirs ON theirs.org_id = mine.org_id
                  WHERE mine.user_id = app_current_user_id() AND mine.is_active
                    AND theirs.user_id = p_user_id AND theirs.is_active)
$$;
COMMENT ON FUNCTION app_user_shares_org(uuid) IS 'True when the current user and p_user_id are active members of a common organization';

CREATE FUNCTION app_is_member_of(p_org_id uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT EXISTS (SELECT 1 FROM organization_memberships
                  WHERE org_id = p_org_id AND user_id = app_current_user_id() AND is_active)
$$;
COMMENT ON FUNCTION app_is_member_of(uuid) IS 'True when the current user is an active member of p_org_id';

-- ---------------------------------------------------------------------------------------------
-- Tenant tables: every table with org_id except the two global ones that carry it (users,
-- audit_log). Full DML for the app role, and one isolation policy keyed on app.org_id.
DO $tenants$
DECLARE t text;
BEGIN
  FOR t IN
    SELECT c.relname FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'org_id' AND NOT a.attisdropped
     WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname NOT IN ('users', 'audit_log')
     ORDER BY 1
  LOOP
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO robbie_app', t);
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format(
      'CREATE POLICY tenant_isolation ON %I FOR ALL
         USING (org_id = (SELECT app_current_org_id()))
         WITH CHECK (org_id = (SELECT app_current_org_id()))', t);
  END LOOP;
END
$tenants$;

-- A user lists their own memberships (in every organization) before choosing one.
CREATE POLICY own_memberships ON organization_memberships FOR SELECT
  USING (user_id = (SELECT app_current_user_id()));

-- Privacy (SCHEMA.md L5): RESTRICTIVE, so they narrow the isolation policy, never widen it.
DO $privacy$
DECLARE
  r record;
  owner_col text;
  town_col text;
  read_expr text;
BEGIN
  FOR r IN
    SELECT * FROM (VALUES
      ('conversations', 'conversation'), ('messages', 'message'), ('sticky_notes', 'sticky_note'),
      ('interactions', 'interaction'), ('knowledge_base', 'knowledge_base'), ('documents', 'document'),
      ('vector_embeddings', 'vector_embedding'), ('shared_enriched_records', 'shared_enriched_record'),
      ('shared_market_intelligence', 'shared_market_intelligence'),
      ('email_threads', 'email_thread'), ('email_messages', 'email_message')
    ) AS v(tbl, registry_key)
  LOOP
    -- The owner and town columns: user_id/town_id, or created_by/source_town_id on the shared tables.
    SELECT coalesce((SELECT column_name::text FROM information_schema.columns
                      WHERE table_schema = 'public' AND table_name = r.tbl AND column_name IN ('user_id', 'created_by')
                      ORDER BY column_name = 'user_id' DESC LIMIT 1), 'NULL::uuid'),
           coalesce((SELECT column_name::text FROM information_schema.columns
                      WHERE table_schema = 'public' AND table_name = r.tbl AND column_name IN ('town_id', 'source_town_id')
                      ORDER BY column_name = 'town_id' DESC LIMIT 1), 'NULL::uuid')
      INTO owner_col, town_col;
    read_expr := format('app_can_read(%L, id, privacy_level, %s, %s)', r.registry_key, owner_col, town_col);
    IF r.tbl IN ('email_threads', 'email_messages')
       AND EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = 'public' AND table_name = r.tbl AND column_name = 'mailbox_email') THEN
      read_expr := read_expr || ' OR can_access_google_data(app_current_user_id(), mailbox_email, ''gmail'')';
    END IF;
    EXECUTE format('CREATE POLICY privacy_read ON %I AS RESTRICTIVE FOR SELECT USING (%s)', r.tbl, read_expr);
    EXECUTE format('CREATE POLICY privacy_insert ON %I AS RESTRICTIVE FOR INSERT WITH CHECK (app_can_write(%L, id, privacy_level, %s, %s))',
                   r.tbl, r.registry_key, owner_col, town_col);
    EXECUTE format('CREATE POLICY privacy_update ON %I AS RESTRICTIVE FOR UPDATE USING (app_can_write(%L, id, privacy_level, %s, %s))',
                   r.tbl, r.registry_key, owner_col, town_col);
    EXECUTE format('CREATE POLICY privacy_delete ON %I AS RESTRICTIVE FOR DELETE USING (app_can_write(%L, id, privacy_level, %s, %s))',
                   r.tbl, r.registry_key, owner_col, town_col);
  END LOOP;
END
$privacy$;

-- Administration tables: writes need owner or admin.
DO $boss$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['organization_memberships', 'town_memberships', 'resource_grants', 'integrations',
                           'secrets', 'webhooks', 'google_data_access_rules', 'external_field_mappings']
  LOOP
    EXECUTE format('CREATE POLICY boss_insert ON %I AS RESTRICTIVE FOR INSERT WITH CHECK (app_has_boss_access())', t);
    EXECUTE format('CREATE POLICY boss_update ON %I AS RESTRICTIVE FOR UPDATE USING (app_has_boss_access())', t);
    EXECUTE format('CREATE POLICY boss_delete ON %I AS RESTRICTIVE FOR DELETE USING (app_has_boss_access())', t);
  END LOOP;
END
$boss$;

-- secrets: metadata only; the ciphertext is for service roles.
DO $secrets$
DECLARE cols text;
BEGIN
  REVOKE SELECT ON secrets FROM robbie_app;
  SELECT string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position) INTO cols
    FROM information_schema.columns
   WHERE table_schema = 'public' AND table_name = 'secrets' AND column_name NOT LIKE '%encrypted%';
  EXECUTE format('GRANT SELECT (%s) ON secrets TO robbie_app', cols);
END
$secrets$;

-- ---------------------------------------------------------------------------------------------
-- Global tables.
-- Catalogues: read-only for the app.
DO $catalogues$
DECLARE t text;
BEGIN
  FOR t IN
    SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v')
       AND (c.relname IN ('ai_personalities', 'ai_personality_state', 'deal_stages', 'embedding_models',
                          'engagement_rules', 'simulation_templates', 'permissions', 'role_permissions',
                          'widgets', 'nodes', 'system_config')
            OR c.relname LIKE 'robbieblocks\_%')
  LOOP
    EXECUTE format('GRANT SELECT ON %I TO robbie_app', t);
  END LOOP;
END
$catalogues$;

-- Views read by the app (security_invoker: the policies of the underlying tables apply).
DO $views$
DECLARE v text;
BEGIN
  FOR v IN
    SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind = 'v'
  LOOP
    EXECUTE format('GRANT SELECT ON %I TO robbie_app', v);
  END LOOP;
END
$views$;

-- organizations: the ones the current user belongs to.
ALTER TABLE organizations ENABLE ROW LEVEL SECURITY;
GRANT SELECT ON organizations TO robbie_app;
CREATE POLICY member_read ON organizations FOR SELECT USING (app_is_member_of(id));

-- users: people who share an organization with the current user; never the password hash,
-- which only the auth role reads.
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
DO $users$
DECLARE cols text;
BEGIN
  SELECT string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position) INTO cols
    FROM information_schema.columns
   WHERE table_schema = 'public' AND table_name = 'users' AND column_name <> 'password_hash';
  EXECUTE format('GRANT SELECT (%s) ON users TO robbie_app', cols);
  EXECUTE format('GRANT UPDATE (%s) ON users TO robbie_app', cols);
END
$users$;
GRANT SELECT ON users TO robbie_auth;
CREATE POLICY shared_org_read ON users FOR SELECT USING (app_user_shares_org(id));
CREATE POLICY self_update ON users FOR UPDATE USING (id = (SELECT app_current_user_id()));
CREATE POLICY auth_read ON users FOR SELECT TO robbie_auth USING (true);

-- audit_log: an organization reads its own events with the audit.read permission.
ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
GRANT SELECT ON audit_log TO robbie_app;
CREATE POLICY org_audit_read ON audit_log FOR SELECT
  USING (org_id = (SELECT app_current_org_id()) AND app_has_permission('audit.read'));

-- Per-user rows.
DO $per_user$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['personality_settings', 'robbie_personality_state', 'api_keys', 'user_sessions']
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO robbie_app', t);
    EXECUTE format('CREATE POLICY own_rows ON %I FOR ALL USING (user_id = (SELECT app_current_user_id())) WITH CHECK (user_id = (SELECT app_current_user_id()))', t);
  END LOOP;
END
$per_user$;
CREATE POLICY defaults_read ON personality_settings FOR SELECT USING (user_id IS NULL);

-- ---------------------------------------------------------------------------------------------
-- Shared triggers.
-- updated_at on every table that has it.
DO $updated_at$
DECLARE t text;
BEGIN
  FOR t IN
    SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'updated_at' AND NOT a.attisdropped
     WHERE n.nspname = 'public' AND c.relkind = 'r'
       AND NOT EXISTS (SELECT 1 FROM pg_trigger tg JOIN pg_proc p ON p.oid = tg.tgfoid
                        WHERE tg.tgrelid = c.oid AND p.proname = 'set_updated_at')
  LOOP
    EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE ON %I FOR EACH ROW EXECUTE FUNCTION set_updated_at()', t || '_set_updated_at', t);
  END LOOP;
END
$updated_at$;

-- Embedding pairs: length and model checked on every write.
-- (tables in robbieverse.skip_check_embedding are left out: see the legacy section above)
DO $embeddings$
DECLARE r record;
BEGIN
  FOR r IN
    SELECT c.relname AS tbl, a.attname AS col FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname IN ('embedding', 'query_embedding') AND NOT a.attisdropped
     WHERE n.nspname = 'public' AND c.relkind = 'r'
       AND EXISTS (SELECT 1 FROM pg_attribute m WHERE m.attrelid = c.oid AND m.attname = 'embedding_model' AND NOT m.attisdropped)
       AND c.relname <> ALL (string_to_array(coalesce(current_setting('robbieverse.skip_check_embedding', true), ''), ','))
  LOOP
    EXECUTE format('CREATE TRIGGER %I BEFORE INSERT OR UPDATE ON %I FOR EACH ROW EXECUTE FUNCTION check_embedding(%L)',
                   r.tbl || '_check_embedding', r.tbl, r.col);
  END LOOP;
END
$embeddings$;

-- Polymorphic references: validated on write.
CREATE TRIGGER tasks_check_entity_ref BEFORE INSERT OR UPDATE ON tasks
  FOR EACH ROW EXECUTE FUNCTION check_entity_ref('related_to_type', 'related_to_id');
CREATE TRIGGER sticky_notes_check_entity_ref BEFORE INSERT OR UPDATE ON sticky_notes
  FOR EACH ROW EXECUTE FUNCTION check_entity_ref('related_to_type', 'related_to_id');
CREATE TRIGGER vector_embeddings_check_entity_ref BEFORE INSERT OR UPDATE ON vector_embeddings
  FOR EACH ROW EXECUTE FUNCTION check_entity_ref('source_entity_type', 'source_id');
CREATE TRIGGER context_tracking_check_entity_ref BEFORE INSERT OR UPDATE ON context_tracking
  FOR EACH ROW EXECUTE FUNCTION check_entity_ref('entity_type', 'entity_id');
CREATE TRIGGER external_refs_check_entity_ref BEFORE INSERT OR UPDATE ON external_refs
  FOR EACH ROW EXECUTE FUNCTION check_entity_ref('entity_type', 'local_id');
CREATE TRIGGER resource_grants_check_entity_ref BEFORE INSERT OR UPDATE ON resource_grants
  FOR EACH ROW EXECUTE FUNCTION check_entity_ref('resource_type', 'resource_id');
CREATE TRIGGER permission_requests_check_entity_ref BEFORE INSERT OR UPDATE ON permission_requests
  FOR EACH ROW EXECUTE FUNCTION check_entity_ref('resource_type', 'resource_id');

-- ...and cleaned up when their target is deleted.
DO $purge$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['users', 'contacts', 'companies', 'deals', 'tasks', 'calendar_events', 'conversations',
                           'messages', 'sticky_notes', 'knowledge_base', 'documents', 'email_threads', 'email_messages',
                           'email_attachments', 'slack_channels', 'slack_messages', 'interactions', 'linkedin_posts',
                           'shared_enriched_records', 'shared_market_intelligence', 'testpilot_simulations',
                           'code_conversations']
  LOOP
    EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %I FOR EACH ROW EXECUTE FUNCTION purge_entity_refs()', t || '_purge_entity_refs', t);
  END LOOP;
END
$purge$;

-- The audit trail of administrative and CRM changes.
DO $audit$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['organizations', 'organization_memberships', 'towns', 'town_memberships', 'users', 'api_keys',
                           'integrations', 'secrets', 'webhooks', 'resource_grants', 'permission_requests', 'system_config',
                           'companies', 'contacts', 'deals', 'deal_stages', 'robbieblocks_pages', 'robbieblocks_components',
                           'robbieblocks_node_branding', 'google_data_access_rules', 'mentors', 'ai_personalities']
  LOOP
    EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %I FOR EACH ROW EXECUTE FUNCTION audit_row_change()', t || '_audit', t);
  END LOOP;
END
$audit$;

-- ---------------------------------------------------------------------------------------------
-- Indexes. First the access paths SCHEMA.md names, then an index for every foreign key that
-- none of them covers (for a tenant reference, on (org_id, col)).
-- @if !legacy
-- (on an upgraded legacy database the upgrade builds this concurrently, after its backfill)
CREATE INDEX messages_org_id_created_at_idx ON messages (org_id, created_at DESC);
-- @end
CREATE INDEX interactions_org_id_occurred_at_idx ON interactions (org_id, occurred_at DESC);
CREATE INDEX website_activity_org_id_visited_at_idx ON website_activity (org_id, visited_at DESC);
CREATE INDEX ai_model_usage_org_id_created_at_idx ON ai_model_usage (org_id, created_at DESC);
CREATE INDEX ai_activity_log_org_id_created_at_idx ON ai_activity_log (org_id, created_at DESC);
CREATE INDEX mentor_behavior_org_id_created_at_idx ON mentor_behavior (org_id, created_at DESC);
CREATE INDEX audit_log_org_id_created_at_idx ON audit_log (org_id, created_at DESC);
CREATE INDEX audit_log_entity_type_entity_id_idx ON audit_log (entity_type, entity_id);
-- @if !legacy
-- (on an upgraded legacy database the upgrade builds this concurrently, after its backfill)
CREATE INDEX system_logs_created_at_idx ON system_logs (created_at DESC);
CREATE INDEX system_logs_level_created_at_idx ON system_logs (level, created_at DESC);
-- @end

CREATE INDEX pending_sync_queue_idx ON pending_sync (priority DESC, created_at) WHERE synced_at IS NULL;
CREATE INDEX pending_sync_error_idx ON pending_sync (error) WHERE error IS NOT NULL;
CREATE INDEX sync_conflicts_unresolved_idx ON sync_conflicts (created_at DESC) WHERE resolved_at IS NULL;
CREATE INDEX robbieblocks_change_triggers_unprocessed_idx ON robbieblocks_change_triggers (created_at) WHERE processed_at IS NULL;
CREATE INDEX robbieblocks_deploys_active_idx ON robbieblocks_deploys (deploy_status) WHERE deploy_status IN ('pending', 'building', 'deploying');
CREATE INDEX ai_sync_queue_unprocessed_idx ON ai_sync_queue (priority DESC, created_at) WHERE processed_at IS NULL;
CREATE INDEX ai_reminders_scheduled_idx ON ai_reminders (remind_at) WHERE status = 'scheduled';
CREATE INDEX external_refs_unsynced_idx ON external_refs (sync_state) WHERE sync_state <> 'synced';
CREATE INDEX context_tracking_unprocessed_idx ON context_tracking (user_id, detected_at) WHERE processed_at IS NULL;
-- @if !legacy
-- (on an upgraded legacy database the upgrade builds this concurrently, after its backfill)
CREATE INDEX messages_pinned_idx ON messages (is_pinned) WHERE is_pinned;
CREATE INDEX messages_flagged_idx ON messages (is_flagged) WHERE is_flagged;
-- @end
CREATE INDEX sticky_notes_surfacing_idx ON sticky_notes (user_id, surface_priority DESC) WHERE surface_status <> 'submerged';

-- @if !legacy
-- (on an upgraded legacy database the upgrade builds this concurrently, after its backfill)
CREATE INDEX conversations_tags_idx ON conversations USING gin (tags);
-- @end
CREATE INDEX contacts_tags_idx ON contacts USING gin (tags);
CREATE INDEX companies_tags_idx ON companies USING gin (tags);
CREATE INDEX deals_tags_idx ON deals USING gin (tags);
CREATE INDEX tasks_tags_idx ON tasks USING gin (tags);
CREATE INDEX sticky_notes_tags_idx ON sticky_notes USING gin (tags);
CREATE INDEX knowledge_base_tags_idx ON knowledge_base USING gin (tags);
CREATE INDEX code_blocks_tags_idx ON code_blocks USING gin (tags);
CREATE INDEX sticky_notes_context_tags_idx ON sticky_notes USING gin (context_tags);
CREATE INDEX ai_memories_contextual_tags_idx ON ai_memories USING gin (contextual_tags);
CREATE INDEX knowledge_base_related_topics_idx ON knowledge_base USING gin (related_topics);
CREATE INDEX resource_grants_resource_idx ON resource_grants (resource_type, resource_id);
CREATE INDEX permission_requests_resource_idx ON permission_requests (resource_type, resource_id);
CREATE INDEX external_refs_entity_idx ON external_refs (entity_type, local_id);

CREATE INDEX contacts_full_name_fts_idx ON contacts USING gin (to_tsvector('simple', coalesce(full_name, '')));
CREATE INDEX companies_name_fts_idx ON companies USING gin (to_tsvector('simple', coalesce(name, '')));
CREATE INDEX knowledge_base_fts_idx ON knowledge_base USING gin (to_tsvector('simple', coalesce(title, '') || ' ' || coalesce(content, '')));
-- @if pg_trgm
CREATE INDEX contacts_full_name_trgm_idx ON contacts USING gin (full_name gin_trgm_ops);
CREATE INDEX companies_name_trgm_idx ON companies USING gin (name gin_trgm_ops);
-- @end

-- (tables in robbieverse.skip_fk_indexes are left out: see the legacy section above)
DO $fk_indexes$
DECLARE
  r record;
  cols text;
  name text;
BEGIN
  FOR r IN
    SELECT c.conrelid, c.conrelid::regclass::text AS tbl, c.conkey
      FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
     WHERE c.contype = 'f' AND n.nspname = 'public'
       AND c.conrelid::regclass::text <> ALL (string_to_array(coalesce(current_setting('robbieverse.skip_fk_indexes', true), ''), ','))
       AND NOT EXISTS (
         SELECT 1 FROM pg_index i
          WHERE i.indrelid = c.conrelid AND i.indpred IS NULL
            AND (SELECT array_agg(x ORDER BY x) FROM unnest((i.indkey::int2[])[0:cardinality(c.conkey) - 1]) x)
              = (SELECT array_agg(x ORDER BY x) FROM unnest(c.conkey) x))
     ORDER BY 2, 3
  LOOP
    -- Another foreign key on the same columns may have been indexed by an earlier iteration.
    CONTINUE WHEN EXISTS (
      SELECT 1 FROM pg_index i
       WHERE i.indrelid = r.conrelid AND i.indpred IS NULL
         AND (SELECT array_agg(x ORDER BY x) FROM unnest((i.indkey::int2[])[0:cardinality(r.conkey) - 1]) x)
           = (SELECT array_agg(x ORDER BY x) FROM unnest(r.conkey) x));
    SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY k.ord), string_agg(a.attname, '_' ORDER BY k.ord)
      INTO cols, name
      FROM unnest(r.conkey) WITH ORDINALITY k(attnum, ord)
      JOIN pg_attribute a ON a.attrelid = r.conrelid AND a.attnum = k.attnum;
    name := left(r.tbl || '_' || name, 59) || '_idx';
    EXECUTE format('CREATE INDEX %I ON %I (%s)', name, r.tbl, cols);
  END LOOP;
END
$fk_indexes$;

-- ---------------------------------------------------------------------------------------------
-- Vectors: one HNSW index per (table with an embedding pair) × (model with index_enabled), on
-- the expression the search functions use, so the planner can pick it for a literal model.
-- @if vector
CREATE FUNCTION ensure_embedding_indexes() RETURNS integer
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  t text;
  m record;
  idx text;
  made integer := 0;
BEGIN
  FOR t IN
    SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'embedding' AND NOT a.attisdropped
     WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname NOT IN ('embedding_cache', 'search_history')
       AND format_type(a.atttypid, a.atttypmod) = 'vector'
     ORDER BY 1
  LOOP
    FOR m IN SELECT model_key, dimensions, distance_metric FROM embedding_models WHERE index_enabled ORDER BY model_key LOOP
      idx := t || '_emb_' || regexp_replace(m.model_key, '[^a-zA-Z0-9]', '_', 'g') || '_hnsw';
      CONTINUE WHEN to_regclass(quote_ident(idx)) IS NOT NULL;
      EXECUTE format('CREATE INDEX %I ON %I USING hnsw ((embedding::vector(%s)) %s) WHERE embedding_model = %L',
                     idx, t, m.dimensions,
                     CASE m.distance_metric WHEN 'l2' THEN 'vector_l2_ops' WHEN 'inner_product' THEN 'vector_ip_ops' ELSE 'vector_cosine_ops' END,
                     m.model_key);
      made := made + 1;
    END LOOP;
  END LOOP;
  RETURN made;
END
$$;
-- @else
CREATE FUNCTION ensure_embedding_indexes() RETURNS integer
LANGUAGE sql AS $$ SELECT 0 $$;
-- @end
COMMENT ON FUNCTION ensure_embedding_indexes() IS 'Creates the missing per-model HNSW indexes (tables with an embedding pair × models with index_enabled); returns how many. Call after adding a model. 0 without pgvector.';

-- The text semantic_search returns for a row of each searchable table.
CREATE FUNCTION semantic_search_text(p_table text) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $$
BEGIN
  IF p_table = 'knowledge_base' THEN
    RETURN 'coalesce(t.title, '''') || E''\n'' || coalesce(t.content, '''')';
  END IF;
  RETURN coalesce((SELECT 't.' || quote_ident(c.column_name)
                     FROM information_schema.columns c
                    WHERE c.table_schema = 'public' AND c.table_name = p_table
                      AND c.column_name IN ('content', 'content_text', 'body', 'text', 'summary', 'description')
                    ORDER BY array_position(ARRAY['content', 'content_text', 'body', 'text', 'summary', 'description'], c.column_name::text)
                    LIMIT 1), 'NULL::text');
END
$$;
COMMENT ON FUNCTION semantic_search_text(text) IS 'SQL expression for the text of a row of p_table in semantic_search results';

-- Cross-table semantic search: messages, knowledge base, notes, memories and derived embeddings,
-- one model at a time. With pgvector it uses the per-model cast (and so the HNSW indexes);
-- without it, exact cosine similarity over real[].
-- @if vector
CREATE FUNCTION semantic_search(p_query vector, p_model_key text,
                                p_scopes text[] DEFAULT '{messages,knowledge_base,sticky_notes,ai_memories,vector_embeddings}',
                                p_limit integer DEFAULT 20, p_threshold double precision DEFAULT 0.7)
RETURNS TABLE (source_table text, id uuid, content text, similarity double precision, created_at timestamptz)
LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $$
DECLARE
  dims integer;
  parts text[] := '{}';
  content_expr text;
  s text;
BEGIN
  SELECT m.dimensions INTO dims FROM embedding_models m WHERE m.model_key = p_model_key;
  IF dims IS NULL THEN
    RAISE EXCEPTION 'unknown embedding model %', p_model_key USING ERRCODE = '22023';
  END IF;
  FOREACH s IN ARRAY p_scopes LOOP
    IF s NOT IN ('messages', 'knowledge_base', 'sticky_notes', 'ai_memories', 'vector_embeddings', 'email_messages',
                 'slack_messages', 'code_messages', 'code_blocks', 'learned_patterns', 'shared_enriched_records',
                 'shared_market_intelligence') THEN
      RAISE EXCEPTION 'semantic_search: unknown scope %', s USING ERRCODE = '22023';
    END IF;
    content_expr := semantic_search_text(s);
    parts := parts || format(
      'SELECT %L::text, t.id, (%s)::text, 1 - ((t.embedding::vector(%s)) <=> ($1::vector(%s))), t.created_at
         FROM %I t WHERE t.embedding_model = %L
        ORDER BY (t.embedding::vector(%s)) <=> ($1::vector(%s)) LIMIT %s',
      s, content_expr, dims, dims, s, p_model_key, dims, dims, p_limit);
  END LOOP;
  RETURN QUERY EXECUTE
    'SELECT * FROM (' || array_to_string(ARRAY(SELECT '(' || p || ')' FROM unnest(parts) p), ' UNION ALL ') ||
    ') u(source_table, id, content, similarity, created_at) WHERE u.similarity >= $2 ORDER BY u.similarity DESC LIMIT $3'
    USING p_query, p_threshold, p_limit;
END
$$;
-- @else
CREATE FUNCTION semantic_search(p_query real[], p_model_key text,
                                p_scopes text[] DEFAULT '{messages,knowledge_base,sticky_notes,ai_memories,vector_embeddings}',
                                p_limit integer DEFAULT 20, p_threshold double precision DEFAULT 0.7)
RETURNS TABLE (source_table text, id uuid, content text, similarity double precision, created_at timestamptz)
LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $$
DECLARE
  parts text[] := '{}';
  content_expr text;
  s text;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM embedding_models m WHERE m.model_key = p_model_key) THEN
    RAISE EXCEPTION 'unknown embedding model %', p_model_key USING ERRCODE = '22023';
  END IF;
  FOREACH s IN ARRAY p_scopes LOOP
    IF s NOT IN ('messages', 'knowledge_base', 'sticky_notes', 'ai_memories', 'vector_embeddings', 'email_messages',
                 'slack_messages', 'code_messages', 'code_blocks', 'learned_patterns', 'shared_enriched_records',
                 'shared_market_intelligence') THEN
      RAISE EXCEPTION 'semantic_search: unknown scope %', s USING ERRCODE = '22023';
    END IF;
    content_expr := semantic_search_text(s);
    parts := parts || format(
      'SELECT %L::text, t.id, (%s)::text, cosine_similarity(t.embedding, $1), t.created_at
         FROM %I t WHERE t.embedding_model = %L', s, content_expr, s, p_model_key);
  END LOOP;
  RETURN QUERY EXECUTE
    'SELECT * FROM (' || array_to_string(parts, ' UNION ALL ') ||
    ') u(source_table, id, content, similarity, created_at) WHERE u.similarity >= $2 ORDER BY u.similarity DESC LIMIT $3'
    USING p_query, p_threshold, p_limit;
END
$$;
-- @end
COMMENT ON FUNCTION semantic_search IS 'Nearest rows to p_query across the chosen tables, for one embedding model (messages.embedding merged with vector_embeddings)';

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO robbie_app, robbie_auth;
