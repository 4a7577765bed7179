-- L7 — service tables (README 14): connected outside accounts and their encrypted credentials,
-- outgoing webhooks, the widget marketplace, GPU training jobs and outside-service health.
-- integrations, secrets, webhooks, training_jobs [tenant]; widgets, widget_usage, api_connectivity_status [global].

-- @if !legacy
CREATE TABLE integrations (
  id                  uuid        NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id              uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  user_id             uuid        REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  service             varchar(50) NOT NULL CHECK (service IN (
                        'hubspot', 'google_workspace', 'slack', 'linkedin', 'github', 'calendly',
                        'openai', 'ollama', 'stripe', 'supabase', 'other')),
  name                text,
  external_account_id text,
  config              jsonb       NOT NULL DEFAULT '{}',
  status              text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'error', 'disconnected')),
  last_sync_at        timestamptz,
  last_error          text,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT integrations_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT integrations_org_id_service_external_account_id_key UNIQUE (org_id, service, external_account_id)
);
-- @else
-- Legacy Aurora (LEGACY.md §2.1, phase A): append SCHEMA.md's new columns; the tenant keys and the
-- new CHECK NOT VALID (validated after the backfill), UNIQUE (org_id, id) on the index the upgrade
-- built concurrently. Legacy columns stay as they are until phase B: service (no CHECK: legacy
-- rows and writes use other services), config (no default), is_active, last_sync (renamed to
-- last_sync_at in phase B), user_id (ON DELETE CASCADE).
ALTER TABLE integrations
  ADD COLUMN name                text,
  ADD COLUMN external_account_id text,
  ADD COLUMN status              text NOT NULL DEFAULT 'active',
  ADD COLUMN last_error          text,
  ADD CONSTRAINT integrations_org_id_fkey FOREIGN KEY (org_id) REFERENCES organizations (id)
    ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE NOT VALID,
  ADD CONSTRAINT integrations_status_check CHECK (status IN ('active', 'paused', 'error', 'disconnected')) NOT VALID,
  ADD CONSTRAINT integrations_org_id_id_key UNIQUE USING INDEX integrations_org_id_id_key,
  ADD CONSTRAINT integrations_org_id_service_external_account_id_key UNIQUE (org_id, service, external_account_id);
-- @end
COMMENT ON TABLE integrations IS 'Connected outside accounts of an organization (HubSpot portal, Google domain, Slack workspace, ...)';
COMMENT ON COLUMN integrations.user_id IS 'Who connected it';
COMMENT ON COLUMN integrations.external_account_id IS 'Portal id / Slack team id / Google domain';
COMMENT ON COLUMN integrations.config IS 'Non-secret settings only; credentials live in secrets';

CREATE TABLE secrets (
  id                  uuid        NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id              uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  integration_id      uuid,
  service             text        NOT NULL CHECK (service IN (
                        'hubspot', 'google_workspace', 'slack', 'linkedin', 'github', 'calendly',
                        'openai', 'ollama', 'stripe', 'supabase', 'other')),
  key_name            text        NOT NULL,
  key_value_encrypted text        NOT NULL,
  key_version         integer     NOT NULL DEFAULT 1,
  metadata            jsonb       NOT NULL DEFAULT '{}',
  created_by          uuid        REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  expires_at          timestamptz,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT secrets_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT secrets_org_id_service_key_name_integration_id_key
    UNIQUE NULLS NOT DISTINCT (org_id, service, key_name, integration_id),
  CONSTRAINT secrets_integration_id_fkey FOREIGN KEY (org_id, integration_id)
    REFERENCES integrations (org_id, id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE
);
COMMENT ON TABLE secrets IS 'Encrypted credentials of an organization (ciphertext only; the key is held by the service)';
COMMENT ON COLUMN secrets.key_value_encrypted IS 'Ciphertext only; never logged or audited; no SELECT for the app role';
COMMENT ON COLUMN secrets.key_version IS 'Version of the encryption key';

-- @if !legacy
CREATE TABLE webhooks (
  id                uuid         NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id            uuid         NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  user_id           uuid         REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  name              varchar(100) NOT NULL,
  url               varchar(500) NOT NULL,
  events            text[]       NOT NULL,
  secret_id         uuid,
  is_active         boolean      NOT NULL DEFAULT true,
  last_triggered_at timestamptz,
  failure_count     integer      NOT NULL DEFAULT 0,
  created_at        timestamptz  NOT NULL DEFAULT now(),
  updated_at        timestamptz  NOT NULL DEFAULT now(),
  CONSTRAINT webhooks_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT webhooks_secret_id_fkey FOREIGN KEY (org_id, secret_id)
    REFERENCES secrets (org_id, id) ON DELETE SET NULL (secret_id) DEFERRABLE INITIALLY IMMEDIATE
);
-- @else
-- Legacy Aurora: append secret_id and updated_at (now() is evaluated once: no rewrite); the tenant
-- keys NOT VALID, UNIQUE (org_id, id) on the index the upgrade built. secret (plaintext) and
-- last_triggered stay until phase B moves the secret into secrets and renames the column.
ALTER TABLE webhooks
  ADD COLUMN secret_id  uuid,
  ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now(),
  ADD CONSTRAINT webhooks_org_id_fkey FOREIGN KEY (org_id) REFERENCES organizations (id)
    ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE NOT VALID,
  ADD CONSTRAINT webhooks_org_id_id_key UNIQUE USING INDEX webhooks_org_id_id_key,
  ADD CONSTRAINT webhooks_secret_id_fkey FOREIGN KEY (org_id, secret_id)
    REFERENCES secrets (org_id, id) ON DELETE SET NULL (secret_id) DEFERRABLE INITIALLY IMMEDIATE NOT VALID;
-- @end
COMMENT ON TABLE webhooks IS 'Outgoing webhooks of an organization; the signing secret is a secrets row';

CREATE TABLE widgets (
  id           uuid         NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  name         varchar(100) NOT NULL UNIQUE,
  description  text,
  category     varchar(50),
  site         varchar(50),
  component_id uuid         REFERENCES robbieblocks_components (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  inputs       jsonb        NOT NULL DEFAULT '{}',
  outputs      jsonb        NOT NULL DEFAULT '{}',
  demo_url     varchar(255),
  code_snippet text,
  price_tier   varchar(20)  NOT NULL DEFAULT 'free',
  metadata     jsonb        NOT NULL DEFAULT '{}',
  created_at   timestamptz  NOT NULL DEFAULT now(),
  updated_at   timestamptz  NOT NULL DEFAULT now()
);
COMMENT ON TABLE widgets IS 'Marketplace listings of embeddable widgets; code of CMS-implemented widgets lives in robbieblocks_components';
COMMENT ON COLUMN widgets.site IS 'Primary site';
COMMENT ON COLUMN widgets.code_snippet IS 'Embed snippet for third-party pages';

CREATE TABLE widget_usage (
  id           uuid        NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  widget_id    uuid        NOT NULL REFERENCES widgets (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  site_name    varchar(50) NOT NULL,
  usage_count  integer     NOT NULL DEFAULT 0,
  last_used_at timestamptz,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT widget_usage_widget_id_site_name_key UNIQUE (widget_id, site_name)
);
COMMENT ON TABLE widget_usage IS 'Usage counter per widget and site';

CREATE TABLE training_jobs (
  id               uuid             NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id           uuid             NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  created_by       uuid             REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  model_name       varchar(100)     NOT NULL,
  base_model       varchar(100)     NOT NULL,
  training_data    text             NOT NULL,
  epochs           integer          NOT NULL CHECK (epochs > 0),
  learning_rate    double precision NOT NULL CHECK (learning_rate > 0),
  status           varchar(20)      NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'queued', 'running', 'completed', 'failed', 'cancelled')),
  progress         double precision NOT NULL DEFAULT 0 CHECK (progress >= 0 AND progress <= 1),
  current_epoch    integer          NOT NULL DEFAULT 0,
  loss             double precision,
  eta_minutes      integer,
  assigned_node_id uuid             REFERENCES nodes (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  started_at       timestamptz,
  completed_at     timestamptz,
  error_message    text,
  metadata         jsonb            NOT NULL DEFAULT '{}',
  created_at       timestamptz      NOT NULL DEFAULT now(),
  updated_at       timestamptz      NOT NULL DEFAULT now(),
  CONSTRAINT training_jobs_org_id_id_key UNIQUE (org_id, id)
);
COMMENT ON TABLE training_jobs IS 'Model fine-tuning jobs of an organization, run on GPU nodes';
COMMENT ON COLUMN training_jobs.training_data IS 'Dataset reference (URI/path), not the data';

CREATE TABLE api_connectivity_status (
  id               uuid        NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  node_id          uuid        NOT NULL REFERENCES nodes (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  service          text        NOT NULL,
  status           text        NOT NULL CHECK (status IN ('ok', 'degraded', 'down', 'unknown')),
  response_time_ms integer,
  last_error       text,
  last_check_at    timestamptz NOT NULL DEFAULT now(),
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT api_connectivity_status_node_id_service_key UNIQUE (node_id, service)
);
COMMENT ON TABLE api_connectivity_status IS 'Health of each outside service as seen from each node';
