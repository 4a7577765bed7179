-- L16 — slack (README 13).
-- Raw Slack data with no core equivalent: workspaces, channels and messages.
-- Slack users map to users/contacts through external_refs (system 'slack').

CREATE TABLE slack_workspaces (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  integration_id uuid,
  team_id text NOT NULL,
  name text,
  domain text,
  is_active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT slack_workspaces_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT slack_workspaces_org_id_team_id_key UNIQUE (org_id, team_id),
  CONSTRAINT slack_workspaces_integration_id_fkey FOREIGN KEY (org_id, integration_id)
    REFERENCES integrations (org_id, id) ON DELETE SET NULL (integration_id) DEFERRABLE INITIALLY IMMEDIATE
);
COMMENT ON TABLE slack_workspaces IS 'Slack workspaces (teams) connected to an organization';

CREATE TABLE slack_channels (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  workspace_id uuid NOT NULL,
  channel_id text NOT NULL,
  name text,
  is_private boolean NOT NULL DEFAULT false,
  is_archived boolean NOT NULL DEFAULT false,
  is_monitored boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT slack_channels_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT slack_channels_workspace_id_channel_id_key UNIQUE (org_id, workspace_id, channel_id),
  CONSTRAINT slack_channels_workspace_id_fkey FOREIGN KEY (org_id, workspace_id)
    REFERENCES slack_workspaces (org_id, id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE
);
COMMENT ON TABLE slack_channels IS 'Slack channels of a workspace; is_monitored says whether Robbie ingests it';

CREATE TABLE slack_messages (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  slack_channel_id uuid NOT NULL,
  message_ts text NOT NULL,
  thread_ts text,
  slack_user_id text NOT NULL,
  user_id uuid REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  contact_id uuid,
  username text,
  text text NOT NULL,
  is_from_bot boolean NOT NULL DEFAULT false,
  is_important boolean NOT NULL DEFAULT false,
  requires_action boolean NOT NULL DEFAULT false,
  sentiment text CHECK (sentiment IN ('positive', 'neutral', 'negative')),
  embedding_model text REFERENCES embedding_models (model_key) ON UPDATE CASCADE ON DELETE RESTRICT DEFERRABLE INITIALLY IMMEDIATE,
  metadata jsonb NOT NULL DEFAULT '{}',
  posted_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT slack_messages_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT slack_messages_slack_channel_id_message_ts_key UNIQUE (org_id, slack_channel_id, message_ts),
  CONSTRAINT slack_messages_slack_channel_id_fkey FOREIGN KEY (org_id, slack_channel_id)
    REFERENCES slack_channels (org_id, id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  CONSTRAINT slack_messages_contact_id_fkey FOREIGN KEY (org_id, contact_id)
    REFERENCES contacts (org_id, id) ON DELETE SET NULL (contact_id) DEFERRABLE INITIALLY IMMEDIATE
);
-- @if vector
ALTER TABLE slack_messages ADD COLUMN embedding vector;
-- @else
ALTER TABLE slack_messages ADD COLUMN embedding real[];
-- @end
ALTER TABLE slack_messages ADD CONSTRAINT slack_messages_embedding_pair_check
  CHECK ((embedding IS NULL) = (embedding_model IS NULL));
COMMENT ON TABLE slack_messages IS 'Raw Slack messages of monitored channels';
COMMENT ON COLUMN slack_messages.message_ts IS 'Slack message timestamp id, unique per channel';
COMMENT ON COLUMN slack_messages.slack_user_id IS 'Slack''s own user id (U…); user_id/contact_id are resolved through external_refs at ingest';
