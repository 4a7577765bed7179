-- L19 — data sharing (README 07).
-- Enrichment records and market intelligence that towns of one organization share:
-- privacy_level public = every town, team = the source town, plus resource_grants to named towns.

CREATE TABLE shared_enriched_records (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  source_town_id uuid,
  record_type varchar(50) NOT NULL,
  external_id varchar(255) NOT NULL,
  enrichment_source varchar(100),
  enrichment_data jsonb NOT NULL,
  enriched_at timestamptz NOT NULL DEFAULT now(),
  privacy_level text NOT NULL DEFAULT 'public' CHECK (privacy_level IN ('public', 'team', 'private', 'boss_only')),
  embedding_model text REFERENCES embedding_models (model_key) ON UPDATE CASCADE ON DELETE RESTRICT DEFERRABLE INITIALLY IMMEDIATE,
  created_by uuid REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  metadata jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT shared_enriched_records_org_id_id_key UNIQUE (org_id, id),
  UNIQUE NULLS NOT DISTINCT (org_id, record_type, external_id, enrichment_source),
  CONSTRAINT shared_enriched_records_source_town_id_fkey FOREIGN KEY (org_id, source_town_id)
    REFERENCES towns (org_id, id) ON DELETE SET NULL (source_town_id) DEFERRABLE INITIALLY IMMEDIATE
);
-- @if vector
ALTER TABLE shared_enriched_records ADD COLUMN embedding vector;
-- @else
ALTER TABLE shared_enriched_records ADD COLUMN embedding real[];
-- @end
ALTER TABLE shared_enriched_records ADD CONSTRAINT shared_enriched_records_embedding_pair_check
  CHECK ((embedding IS NULL) = (embedding_model IS NULL));
COMMENT ON TABLE shared_enriched_records IS 'Third-party enrichment results (company/person/domain data) that towns may share';
COMMENT ON COLUMN shared_enriched_records.privacy_level IS 'public = whole organization; team = source town plus towns granted through resource_grants';

CREATE TABLE shared_market_intelligence (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  source_town_id uuid,
  company_id uuid,
  company_domain varchar(255),
  company_name varchar(255),
  intelligence_type varchar(100) NOT NULL,
  intelligence_data jsonb NOT NULL,
  confidence_score integer NOT NULL DEFAULT 0 CHECK (confidence_score BETWEEN 0 AND 100),
  privacy_level text NOT NULL DEFAULT 'public' CHECK (privacy_level IN ('public', 'team', 'private', 'boss_only')),
  embedding_model text REFERENCES embedding_models (model_key) ON UPDATE CASCADE ON DELETE RESTRICT DEFERRABLE INITIALLY IMMEDIATE,
  created_by uuid REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  metadata jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT shared_market_intelligence_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT shared_market_intelligence_source_town_id_fkey FOREIGN KEY (org_id, source_town_id)
    REFERENCES towns (org_id, id) ON DELETE SET NULL (source_town_id) DEFERRABLE INITIALLY IMMEDIATE,
  CONSTRAINT shared_market_intelligence_company_id_fkey FOREIGN KEY (org_id, company_id)
    REFERENCES companies (org_id, id) ON DELETE SET NULL (company_id) DEFERRABLE INITIALLY IMMEDIATE
);
-- @if vector
ALTER TABLE shared_market_intelligence ADD COLUMN embedding vector;
-- @else
ALTER TABLE shared_market_intelligence ADD COLUMN embedding real[];
-- @end
ALTER TABLE shared_market_intelligence ADD CONSTRAINT shared_market_intelligence_embedding_pair_check
  CHECK ((embedding IS NULL) = (embedding_model IS NULL));
COMMENT ON TABLE shared_market_intelligence IS 'Market/competitor intelligence about companies, shareable between towns';

-- Enrichment records a town may use: the current organization's rows that are public, sourced
-- by the town, or granted to it (unexpired). SECURITY INVOKER: RLS of the caller still applies.
CREATE FUNCTION get_shared_enriched_records(p_town_id uuid) RETURNS SETOF shared_enriched_records
LANGUAGE sql STABLE AS $$
  SELECT r.*
    FROM shared_enriched_records r
   WHERE r.org_id = app_current_org_id()
     AND (r.privacy_level = 'public'
          OR r.source_town_id = p_town_id
          OR EXISTS (
               SELECT 1
                 FROM resource_grants g
                WHERE g.org_id = r.org_id
                  AND g.resource_type = 'shared_enriched_record'
                  AND g.resource_id = r.id
                  AND g.grantee_town_id = p_town_id
                  AND (g.expires_at IS NULL OR g.expires_at > now())))
   ORDER BY r.enriched_at DESC
$$;
COMMENT ON FUNCTION get_shared_enriched_records(uuid) IS 'Enrichment records visible to a town: public ones, its own, and those granted to it';

-- Grants one record to several towns of the current organization; returns how many grants were
-- created (existing grants are left as they are). Town membership in the organization, the
-- resource's existence and the access value are enforced by the constraints and triggers of
-- resource_grants; RLS decides whether the caller may write grants at all.
CREATE FUNCTION share_with_towns(p_resource_type text, p_resource_id uuid, p_town_ids uuid[], p_access text DEFAULT 'read')
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  v_org uuid := app_current_org_id();
  v_count integer;
BEGIN
  IF v_org IS NULL THEN
    RAISE EXCEPTION 'share_with_towns: no organization in the current context (call app_set_context first)'
      USING ERRCODE = '42501';
  END IF;
  INSERT INTO resource_grants (org_id, resource_type, resource_id, grantee_town_id, access, granted_by)
  SELECT DISTINCT v_org, p_resource_type, p_resource_id, t.town_id, p_access, app_current_user_id()
    FROM unnest(p_town_ids) AS t(town_id)
   WHERE t.town_id IS NOT NULL
  ON CONFLICT DO NOTHING;
  GET DIAGNOSTICS v_count = ROW_COUNT;
  RETURN v_count;
END
$$;
COMMENT ON FUNCTION share_with_towns(text, uuid, uuid[], text) IS 'Creates resource_grants of one record to the given towns; returns the number created';
