-- L1 — core (README 01): global identities and platform plumbing.
-- users, nodes, api_keys, user_sessions, system_config, feature_requests, system_logs (all [global]).
-- users.org_id is NOT NULL; its FK to organizations is attached in 002 (organizations comes later).

-- @if !legacy
CREATE TABLE users (
  id            uuid         NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id        uuid         NOT NULL,
  username      varchar(50)  UNIQUE,
  email         varchar(255) NOT NULL UNIQUE,
  password_hash varchar(255) NOT NULL,
  first_name    text,
  last_name     text,
  job_title     text,
  phone         text,
  avatar_url    text,
  timezone      text         DEFAULT 'UTC',
  role          varchar(20)  DEFAULT 'user',
  is_active     boolean      DEFAULT true,
  created_at    timestamptz  DEFAULT now(),
  updated_at    timestamptz  DEFAULT now(),
  last_login    timestamptz,
  preferences   jsonb        DEFAULT '{}',
  linkedin_url  text,
  bio           text,
  metadata      jsonb        NOT NULL DEFAULT '{}'
);
-- @else
-- Legacy Aurora (LEGACY.md §2.1, phase A): the table exists; org_id was added by the upgrade.
-- Append the missing columns (nullable or constant defaults: no rewrite); username may be NULL.
-- Legacy columns keep their types, defaults and CHECK (role IN admin, user, mentor).
ALTER TABLE users
  ALTER COLUMN username DROP NOT NULL,
  ADD COLUMN first_name   text,
  ADD COLUMN last_name    text,
  ADD COLUMN job_title    text,
  ADD COLUMN phone        text,
  ADD COLUMN avatar_url   text,
  ADD COLUMN timezone     text  DEFAULT 'UTC',
  ADD COLUMN linkedin_url text,
  ADD COLUMN bio          text,
  ADD COLUMN metadata     jsonb NOT NULL DEFAULT '{}';
-- @end
COMMENT ON TABLE users IS 'Accounts (global); organization access is decided by organization_memberships';
COMMENT ON COLUMN users.org_id IS 'Home organization (merge strategy step 5: NOT NULL); FK attached in 002';
COMMENT ON COLUMN users.email IS 'Unique; the app stores it lower-cased';
COMMENT ON COLUMN users.password_hash IS 'Readable only by the auth-service role';
COMMENT ON COLUMN users.role IS 'Platform role (admin, user, mentor, ai, developer); organization roles live in organization_memberships';

CREATE TABLE nodes (
  id                uuid         NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  node_key          varchar(100) NOT NULL UNIQUE,
  name              varchar(255) NOT NULL,
  node_type         text         NOT NULL CHECK (node_type IN ('master', 'replica', 'edge')),
  machine_type      text,
  location          text,
  vpn_ip            inet,
  is_online         boolean      NOT NULL DEFAULT false,
  last_seen_at      timestamptz,
  sync_errors_24h   integer      NOT NULL DEFAULT 0,
  total_syncs       integer      NOT NULL DEFAULT 0,
  total_rows_synced bigint       NOT NULL DEFAULT 0,
  org_scope         uuid[],
  schema_version    text,
  clock_offset_ms   integer,
  metadata          jsonb        NOT NULL DEFAULT '{}',
  created_at        timestamptz  NOT NULL DEFAULT now(),
  updated_at        timestamptz  NOT NULL DEFAULT now()
);
COMMENT ON TABLE nodes IS 'Registry of the machines/databases of the network (master, replicas, edges)';
COMMENT ON COLUMN nodes.org_scope IS 'Organizations replicated to this node; NULL = all (sync routing scope, not FKs)';
COMMENT ON COLUMN nodes.schema_version IS 'Last applied migration id + checksum, compared before every sync exchange';
COMMENT ON COLUMN nodes.metadata IS 'Never connection strings or credentials';

CREATE TABLE api_keys (
  id           uuid         NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  user_id      uuid         NOT NULL REFERENCES users (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  name         varchar(100) NOT NULL,
  key_hash     varchar(255) NOT NULL UNIQUE,
  permissions  jsonb        NOT NULL DEFAULT '[]',
  last_used_at timestamptz,
  expires_at   timestamptz,
  is_active    boolean      NOT NULL DEFAULT true,
  created_at   timestamptz  NOT NULL DEFAULT now(),
  updated_at   timestamptz  NOT NULL DEFAULT now()
);
COMMENT ON TABLE api_keys IS 'Service/API keys of a user (hash only); the organization is chosen per request';
COMMENT ON COLUMN api_keys.key_hash IS 'Hash of the key, never the key itself';

CREATE TABLE user_sessions (
  id               uuid         NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  user_id          uuid         NOT NULL REFERENCES users (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  token_jti        varchar(255) NOT NULL UNIQUE,
  token_hash       varchar(255),
  node_id          uuid         REFERENCES nodes (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  ip_address       inet,
  user_agent       text,
  expires_at       timestamptz  NOT NULL,
  last_activity_at timestamptz  NOT NULL DEFAULT now(),
  revoked_at       timestamptz,
  created_at       timestamptz  NOT NULL DEFAULT now(),
  updated_at       timestamptz  NOT NULL DEFAULT now()
);
COMMENT ON TABLE user_sessions IS 'Login sessions (JWT id, optional refresh-token hash, issuing node); active while not revoked and not expired';

CREATE TABLE system_config (
  id           uuid         NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  key          varchar(255) NOT NULL UNIQUE,
  value        jsonb        NOT NULL,
  category     varchar(100) NOT NULL DEFAULT 'system',
  description  text,
  is_sensitive boolean      NOT NULL DEFAULT false,
  updated_by   uuid         REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  created_at   timestamptz  NOT NULL DEFAULT now(),
  updated_at   timestamptz  NOT NULL DEFAULT now()
);
COMMENT ON TABLE system_config IS 'Platform-wide settings keyed by dotted names; never secrets';

-- @if !legacy
CREATE TABLE feature_requests (
  id              uuid         NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  user_id         uuid         REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  title           varchar(255) NOT NULL,
  description     text,
  status          varchar(20)  NOT NULL DEFAULT 'open'
                  CHECK (status IN ('open', 'in_progress', 'closed', 'rejected')),
  priority        varchar(10)  NOT NULL DEFAULT 'medium'
                  CHECK (priority IN ('low', 'medium', 'high', 'critical')),
  github_issue_id integer      UNIQUE,
  assigned_to     uuid         REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  metadata        jsonb        NOT NULL DEFAULT '{}',
  created_at      timestamptz  NOT NULL DEFAULT now(),
  updated_at      timestamptz  NOT NULL DEFAULT now()
);
-- @else
-- Legacy Aurora: every column exists. NOT NULLs, delete rules (user_id cascades) and the
-- deferrability of the foreign keys stay legacy until phase B.
-- @end
COMMENT ON TABLE feature_requests IS 'Product backlog of the platform itself (not tenant data)';
COMMENT ON COLUMN feature_requests.github_issue_id IS 'GitHub''s own issue number (not a FK)';

-- @if !legacy
CREATE TABLE system_logs (
  id         uuid        NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  level      varchar(10) NOT NULL CHECK (level IN ('DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL')),
  component  varchar(50) NOT NULL,
  message    text        NOT NULL,
  user_id    uuid        REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  node_id    uuid        REFERENCES nodes (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  metadata   jsonb       NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now()
);
-- @else
-- Legacy Aurora: append node_id (its foreign key NOT VALID, validated by the upgrade afterwards).
-- Appended last, so the legacy positional 7-value insert still works.
ALTER TABLE system_logs
  ADD COLUMN node_id uuid,
  ADD CONSTRAINT system_logs_node_id_fkey FOREIGN KEY (node_id) REFERENCES nodes (id)
    ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE NOT VALID;
-- @end
COMMENT ON TABLE system_logs IS 'Append-only application/platform log lines (not an audit trail; retention 90 days)';
