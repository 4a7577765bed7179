-- L0 — extensions and the shared functions every later module uses.
-- Optional extensions are created only where the server has them (see `-- @if` sections).

-- @if vector
CREATE EXTENSION IF NOT EXISTS vector;
-- @end

-- @if pg_trgm
CREATE EXTENSION IF NOT EXISTS pg_trgm;
-- @end

-- @if pgcrypto
CREATE EXTENSION IF NOT EXISTS pgcrypto;
-- @end

-- The one updated_at trigger function of the schema. Writes flagged as a data backfill
-- (robbieverse.backfill = on, set by the legacy upgrade) keep their updated_at.
CREATE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('robbieverse.backfill', true) = 'on' THEN
    RETURN NEW;
  END IF;
  NEW.updated_at := now();
  RETURN NEW;
END
$$;
COMMENT ON FUNCTION set_updated_at() IS 'BEFORE UPDATE trigger: keeps updated_at current';

-- The tenant of the current transaction. Once a connection has set app.org_id, later reads
-- return '' rather than NULL, hence nullif: an unset tenant is NULL and sees no rows.
CREATE FUNCTION app_current_org_id() RETURNS uuid
LANGUAGE sql STABLE AS $$
  SELECT nullif(current_setting('app.org_id', true), '')::uuid
$$;
COMMENT ON FUNCTION app_current_org_id() IS 'Organization of the current transaction (setting app.org_id), NULL when unset';

CREATE FUNCTION app_current_user_id() RETURNS uuid
LANGUAGE sql STABLE AS $$
  SELECT nullif(current_setting('app.user_id', true), '')::uuid
$$;
COMMENT ON FUNCTION app_current_user_id() IS 'User of the current transaction (setting app.user_id), NULL when unset';

-- @if !vector
-- Without pgvector, embeddings are real[] and similarity is computed exactly.
CREATE FUNCTION cosine_similarity(a real[], b real[]) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT CASE WHEN norm_a = 0 OR norm_b = 0 THEN NULL ELSE dot / (sqrt(norm_a) * sqrt(norm_b)) END
  FROM (
    SELECT sum(x::double precision * y) AS dot,
           sum(x::double precision * x) AS norm_a,
           sum(y::double precision * y) AS norm_b
    FROM unnest(a, b) AS t(x, y)
  ) s
$$;
COMMENT ON FUNCTION cosine_similarity(real[], real[]) IS 'Exact cosine similarity for real[] embeddings (used when pgvector is absent)';
-- @end

-- Polymorphic references ("any entity" = a type column + a uuid column) cannot be foreign keys.
-- check_entity_ref() validates them; purge_entity_refs() cleans up after the target is deleted.
-- Both are plpgsql with dynamic SQL: the tables they touch are resolved when they run, so tables
-- created by later modules need not exist yet. SECURITY DEFINER because, like a foreign-key check,
-- the existence test must not depend on what the writer may read under row-level security.

-- BEFORE INSERT OR UPDATE trigger. Arguments: the type column and the id column,
-- e.g. check_entity_ref('related_to_type', 'related_to_id'). The entity registry is fixed here.
CREATE FUNCTION check_entity_ref() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_type_col text;
  v_id_col   text;
  v_new      jsonb := to_jsonb(NEW);
  v_old      jsonb;
  v_type     text;
  v_id       uuid;
  v_org      uuid;
  v_table    text;
  v_found    integer;
BEGIN
  IF TG_NARGS <> 2 THEN
    RAISE EXCEPTION 'check_entity_ref on %: expected 2 trigger arguments (type column, id column), got %',
      TG_TABLE_NAME, TG_NARGS;
  END IF;
  v_type_col := TG_ARGV[0];
  v_id_col := TG_ARGV[1];
  IF NOT (v_new ? v_type_col AND v_new ? v_id_col AND v_new ? 'org_id') THEN
    RAISE EXCEPTION 'check_entity_ref on %: table needs columns %, % and org_id', TG_TABLE_NAME, v_type_col, v_id_col;
  END IF;

  v_type := v_new ->> v_type_col;
  v_id := (v_new ->> v_id_col)::uuid;
  v_org := (v_new ->> 'org_id')::uuid;

  IF v_type IS NULL AND v_id IS NULL THEN
    RETURN NEW;
  END IF;
  IF v_type IS NULL OR v_id IS NULL THEN
    RAISE EXCEPTION 'new row for relation "%" sets only one of % and %', TG_TABLE_NAME, v_type_col, v_id_col
      USING ERRCODE = 'check_violation', TABLE = TG_TABLE_NAME,
            HINT = 'a polymorphic reference needs both its type and its id, or neither';
  END IF;

  -- Like a foreign key, an unchanged reference is not re-checked (this also lets purge_entity_refs
  -- update other columns of rows whose target is being deleted).
  IF TG_OP = 'UPDATE' THEN
    v_old := to_jsonb(OLD);
    IF (v_old ->> v_type_col) IS NOT DISTINCT FROM v_type
       AND (v_old ->> v_id_col)::uuid IS NOT DISTINCT FROM v_id
       AND (v_old ->> 'org_id')::uuid IS NOT DISTINCT FROM v_org THEN
      RETURN NEW;
    END IF;
  END IF;

  v_table := CASE v_type
    WHEN 'user'                       THEN 'users'
    WHEN 'contact'                    THEN 'contacts'
    WHEN 'company'                    THEN 'companies'
    WHEN 'deal'                       THEN 'deals'
    WHEN 'task'                       THEN 'tasks'
    WHEN 'calendar_event'             THEN 'calendar_events'
    WHEN 'conversation'               THEN 'conversations'
    WHEN 'message'                    THEN 'messages'
    WHEN 'sticky_note'                THEN 'sticky_notes'
    WHEN 'knowledge_base'             THEN 'knowledge_base'
    WHEN 'document'                   THEN 'documents'
    WHEN 'email_thread'               THEN 'email_threads'
    WHEN 'email_message'              THEN 'email_messages'
    WHEN 'email_attachment'           THEN 'email_attachments'
    WHEN 'slack_channel'              THEN 'slack_channels'
    WHEN 'slack_message'              THEN 'slack_messages'
    WHEN 'interaction'                THEN 'interactions'
    WHEN 'linkedin_post'              THEN 'linkedin_posts'
    WHEN 'shared_enriched_record'     THEN 'shared_enriched_records'
    WHEN 'shared_market_intelligence' THEN 'shared_market_intelligence'
    WHEN 'testpilot_simulation'       THEN 'testpilot_simulations'
    WHEN 'code_conversation'          THEN 'code_conversations'
  END;
  IF v_table IS NULL THEN
    RAISE EXCEPTION 'new row for relation "%": % = ''%'' is not an entity type', TG_TABLE_NAME, v_type_col, v_type
      USING ERRCODE = 'check_violation', TABLE = TG_TABLE_NAME,
            HINT = 'entity types: user, contact, company, deal, task, calendar_event, conversation, message, '
                   'sticky_note, knowledge_base, document, email_thread, email_message, email_attachment, '
                   'slack_channel, slack_message, interaction, linkedin_post, shared_enriched_record, '
                   'shared_market_intelligence, testpilot_simulation, code_conversation';
  END IF;
  IF v_org IS NULL THEN
    RAISE EXCEPTION 'new row for relation "%": org_id is NULL, so % % cannot be checked', TG_TABLE_NAME, v_type, v_id
      USING ERRCODE = 'not_null_violation', TABLE = TG_TABLE_NAME;
  END IF;

  -- FOR KEY SHARE, as a foreign-key check does: the target cannot be deleted until this commits.
  IF v_type = 'user' THEN
    -- users are global: the user must be an active member of the row's organization
    PERFORM 1 FROM public.organization_memberships
     WHERE org_id = v_org AND user_id = v_id AND is_active
     FOR KEY SHARE;
    GET DIAGNOSTICS v_found = ROW_COUNT;
  ELSIF to_regclass(format('public.%I', v_table)) IS NULL THEN
    RAISE EXCEPTION 'new row for relation "%": entity type % needs table %, which does not exist', TG_TABLE_NAME, v_type, v_table
      USING ERRCODE = 'undefined_table';
  ELSE
    EXECUTE format('SELECT 1 FROM public.%I WHERE org_id = $1 AND id = $2 FOR KEY SHARE', v_table)
      USING v_org, v_id;
    GET DIAGNOSTICS v_found = ROW_COUNT;
  END IF;

  IF v_found = 0 THEN
    RAISE EXCEPTION 'insert or update on table "%" violates entity reference (%, %)', TG_TABLE_NAME, v_type_col, v_id_col
      USING ERRCODE = 'foreign_key_violation', TABLE = TG_TABLE_NAME,
            DETAIL = CASE WHEN v_type = 'user'
                          THEN format('User %s is not an active member of organization %s.', v_id, v_org)
                          ELSE format('Key (%s)=(%s) is not present in table "%s" for organization %s.', v_id_col, v_id, v_table, v_org)
                     END;
  END IF;
  RETURN NEW;
END
$$;
COMMENT ON FUNCTION check_entity_ref() IS
  'BEFORE INSERT/UPDATE trigger, args (type column, id column): the polymorphic reference must name a registry entity that exists in the same org_id (user: an active member); both columns set or neither';

-- AFTER DELETE trigger on every registry table. The entity type is derived from the table name
-- (mirror of check_entity_ref's registry) or given as the first trigger argument.
CREATE FUNCTION purge_entity_refs() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_type text;
  v_id   uuid := OLD.id;
BEGIN
  IF TG_NARGS > 0 THEN
    v_type := TG_ARGV[0];
  ELSE
    v_type := CASE TG_TABLE_NAME
      WHEN 'users'                      THEN 'user'
      WHEN 'contacts'                   THEN 'contact'
      WHEN 'companies'                  THEN 'company'
      WHEN 'deals'                      THEN 'deal'
      WHEN 'tasks'                      THEN 'task'
      WHEN 'calendar_events'            THEN 'calendar_event'
      WHEN 'conversations'              THEN 'conversation'
      WHEN 'messages'                   THEN 'message'
      WHEN 'sticky_notes'               THEN 'sticky_note'
      WHEN 'knowledge_base'             THEN 'knowledge_base'
      WHEN 'documents'                  THEN 'document'
      WHEN 'email_threads'              THEN 'email_thread'
      WHEN 'email_messages'             THEN 'email_message'
      WHEN 'email_attachments'          THEN 'email_attachment'
      WHEN 'slack_channels'             THEN 'slack_channel'
      WHEN 'slack_messages'             THEN 'slack_message'
      WHEN 'interactions'               THEN 'interaction'
      WHEN 'linkedin_posts'             THEN 'linkedin_post'
      WHEN 'shared_enriched_records'    THEN 'shared_enriched_record'
      WHEN 'shared_market_intelligence' THEN 'shared_market_intelligence'
      WHEN 'testpilot_simulations'      THEN 'testpilot_simulation'
      WHEN 'code_conversations'         THEN 'code_conversation'
    END;
  END IF;
  IF v_type IS NULL THEN
    RAISE EXCEPTION 'purge_entity_refs: table % is not in the entity registry', TG_TABLE_NAME;
  END IF;

  IF to_regclass('public.external_refs') IS NOT NULL THEN
    EXECUTE 'DELETE FROM public.external_refs WHERE entity_type = $1 AND local_id = $2' USING v_type, v_id;
  END IF;
  IF to_regclass('public.permission_requests') IS NOT NULL THEN
    EXECUTE 'UPDATE public.permission_requests SET status = ''cancelled''
              WHERE resource_type = $1 AND resource_id = $2 AND status = ''pending''' USING v_type, v_id;
  END IF;
  IF to_regclass('public.resource_grants') IS NOT NULL THEN
    EXECUTE 'DELETE FROM public.resource_grants WHERE resource_type = $1 AND resource_id = $2' USING v_type, v_id;
  END IF;
  IF to_regclass('public.vector_embeddings') IS NOT NULL THEN
    EXECUTE 'DELETE FROM public.vector_embeddings WHERE source_entity_type = $1 AND source_id = $2' USING v_type, v_id;
  END IF;
  IF to_regclass('public.tasks') IS NOT NULL THEN
    EXECUTE 'UPDATE public.tasks SET related_to_type = NULL, related_to_id = NULL
              WHERE related_to_type = $1 AND related_to_id = $2' USING v_type, v_id;
  END IF;
  IF to_regclass('public.sticky_notes') IS NOT NULL THEN
    EXECUTE 'UPDATE public.sticky_notes SET related_to_type = NULL, related_to_id = NULL
              WHERE related_to_type = $1 AND related_to_id = $2' USING v_type, v_id;
  END IF;
  IF to_regclass('public.context_tracking') IS NOT NULL THEN
    EXECUTE 'UPDATE public.context_tracking SET entity_type = NULL, entity_id = NULL
              WHERE entity_type = $1 AND entity_id = $2' USING v_type, v_id;
  END IF;
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION purge_entity_refs() IS
  'AFTER DELETE trigger on registry tables: deletes the entity''s external_refs, resource_grants and vector_embeddings, cancels its pending permission_requests, nulls pointers to it in tasks, sticky_notes and context_tracking';
