-- L21 — crm sync (README 17).
-- The common mechanism for every outside system (HubSpot, Google, Slack, LinkedIn …):
-- local row <-> outside object map, sync job history, and per-integration field mappings.

CREATE TABLE external_refs (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  integration_id uuid,
  system text NOT NULL CHECK (system IN (
    'hubspot', 'google_workspace', 'slack', 'linkedin', 'github', 'calendly', 'openai', 'ollama',
    'stripe', 'supabase', 'other')),
  entity_type text NOT NULL,
  local_id uuid NOT NULL,
  external_type text,
  external_id text NOT NULL,
  external_parent_id text,
  sync_state text NOT NULL DEFAULT 'synced' CHECK (sync_state IN (
    'synced', 'pending_push', 'pending_pull', 'conflict', 'error', 'deleted_remote', 'deleted_local')),
  local_version integer NOT NULL DEFAULT 1,
  external_version text,
  external_updated_at timestamptz,
  last_synced_at timestamptz,
  last_pulled_at timestamptz,
  last_pushed_at timestamptz,
  retry_count integer NOT NULL DEFAULT 0,
  error_message text,
  external_snapshot jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT external_refs_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT external_refs_org_id_system_entity_type_external_id_key
    UNIQUE (org_id, system, entity_type, external_id),
  -- One link per local row and integration; `system` is part of the key so that links made
  -- without an integration row (integration_id NULL) can still exist once per outside system.
  UNIQUE NULLS NOT DISTINCT (org_id, system, integration_id, entity_type, local_id),
  CONSTRAINT external_refs_integration_id_fkey FOREIGN KEY (org_id, integration_id)
    REFERENCES integrations (org_id, id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE
);
COMMENT ON TABLE external_refs IS 'Maps one local row (registry entity_type + local_id) to one object in an outside system, with its sync state';
COMMENT ON COLUMN external_refs.external_snapshot IS 'Last raw payload: HubSpot-only properties, LinkedIn extras, Drive sharing …';

CREATE TABLE external_sync_runs (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  integration_id uuid NOT NULL,
  entity_type text NOT NULL,
  scope jsonb NOT NULL DEFAULT '{}',
  direction text NOT NULL CHECK (direction IN ('pull', 'push', 'bidirectional')),
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'completed', 'failed', 'partial', 'cancelled')),
  items_total integer NOT NULL DEFAULT 0,
  items_processed integer NOT NULL DEFAULT 0,
  items_new integer NOT NULL DEFAULT 0,
  items_updated integer NOT NULL DEFAULT 0,
  items_deleted integer NOT NULL DEFAULT 0,
  error_count integer NOT NULL DEFAULT 0,
  error_message text,
  cursor_before text,
  cursor_after text,
  started_at timestamptz,
  completed_at timestamptz,
  duration_seconds integer,
  metadata jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT external_sync_runs_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT external_sync_runs_integration_id_fkey FOREIGN KEY (org_id, integration_id)
    REFERENCES integrations (org_id, id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE
);
COMMENT ON TABLE external_sync_runs IS 'One row per sync job with an outside system (HubSpot, Google, Slack, LinkedIn)';
COMMENT ON COLUMN external_sync_runs.cursor_after IS 'Incremental token to resume from';

CREATE TABLE external_field_mappings (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  integration_id uuid NOT NULL,
  entity_type text NOT NULL,
  local_column text NOT NULL,
  external_object text NOT NULL,
  external_property text NOT NULL,
  direction text NOT NULL DEFAULT 'bidirectional' CHECK (direction IN ('pull', 'push', 'bidirectional')),
  transform jsonb NOT NULL DEFAULT '{}',
  is_active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT external_field_mappings_org_id_id_key UNIQUE (org_id, id),
  UNIQUE (org_id, integration_id, entity_type, local_column, external_property),
  CONSTRAINT external_field_mappings_integration_id_fkey FOREIGN KEY (org_id, integration_id)
    REFERENCES integrations (org_id, id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE
);
COMMENT ON TABLE external_field_mappings IS 'Per-integration mapping between a local column and an outside property (with a declarative transform)';
