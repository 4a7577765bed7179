/**
 * The legacy "Aurora" database (LEGACY.md §1) as a test fixture: the 8 tables, 10 indexes,
 * the updated_at trigger function with its 4 triggers and the mentor seed, built from the
 * legacy definitions (never from the new schema), then filled with deterministic data (§1.1).
 *
 * Everything the fixture writes has fixed ids and fixed timestamps in the past, so two builds
 * on the same engine have equal content checksums and an accidental `updated_at` bump shows.
 * Rows are generated with set-based INSERT … SELECT generate_series so a million messages
 * load in seconds on a server.
 */
import { createHash } from 'node:crypto';
import type { Queryable } from '../../src/db/types.js';

export const LEGACY_TABLES = [
  'users',
  'conversations',
  'messages',
  'mentors',
  'feature_requests',
  'integrations',
  'webhooks',
  'system_logs',
] as const;
export type LegacyTable = (typeof LEGACY_TABLES)[number];
export type LegacyCounts = Record<LegacyTable, number>;

/** Each table's legacy columns in table order (what legacy positional inserts rely on). */
export const LEGACY_COLUMNS: Record<string, string[]> = {
  users: ['id', 'username', 'email', 'password_hash', 'role', 'is_active', 'created_at', 'updated_at', 'last_login', 'preferences'],
  conversations: ['id', 'user_id', 'title', 'created_at', 'updated_at', 'is_archived', 'metadata'],
  messages: ['id', 'conversation_id', 'role', 'content', 'embedding', 'created_at', 'metadata', 'token_count', 'model_used'],
  mentors: ['id', 'name', 'description', 'personality_prompt', 'avatar_url', 'is_active', 'created_at', 'metadata'],
  feature_requests: [
    'id',
    'user_id',
    'title',
    'description',
    'status',
    'priority',
    'github_issue_id',
    'created_at',
    'updated_at',
    'assigned_to',
    'metadata',
  ],
  integrations: ['id', 'user_id', 'service', 'config', 'is_active', 'last_sync', 'created_at', 'updated_at'],
  webhooks: ['id', 'user_id', 'name', 'url', 'events', 'secret', 'is_active', 'created_at', 'last_triggered', 'failure_count'],
  system_logs: ['id', 'level', 'component', 'message', 'user_id', 'metadata', 'created_at'],
};

/** Index names of the legacy script; `idx_messages_embedding` exists only where pgvector does. */
export const LEGACY_INDEXES = [
  'idx_messages_conversation_id',
  'idx_messages_created_at',
  'idx_messages_embedding',
  'idx_conversations_user_id',
  'idx_feature_requests_user_id',
  'idx_feature_requests_status',
  'idx_integrations_user_id',
  'idx_integrations_service',
  'idx_system_logs_level',
  'idx_system_logs_created_at',
] as const;

export const LEGACY_TRIGGERS: Record<string, string> = {
  update_users_updated_at: 'users',
  update_conversations_updated_at: 'conversations',
  update_feature_requests_updated_at: 'feature_requests',
  update_integrations_updated_at: 'integrations',
};

/** What `md5('<key>')::uuid` gives in SQL, so TypeScript can name generated rows. */
export function md5Uuid(key: string): string {
  const h = createHash('md5').update(key).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * Fixed ids of rows both fixtures contain (the large one replaces only the conversations and
 * messages), so LEGACY_WRITES can reference them on either.
 */
export const LEGACY_IDS = {
  admin: 'a0000000-0000-4000-8000-000000000001',
  allan: 'a0000000-0000-4000-8000-000000000002',
  mentorUser: 'a0000000-0000-4000-8000-000000000003',
  inactive: 'a0000000-0000-4000-8000-000000000004',
  guest: 'a0000000-0000-4000-8000-000000000005',
  /** The first generated conversation: Allan's, not archived, with messages. */
  conversation: md5Uuid('conv-1'),
  featureRequest: 'f0000000-0000-4000-8000-000000000001',
} as const;

/** Sizes of the small fixture's generated part (hand-written edge cases come on top). */
const SMALL = { conversations: 34, messages: 3000, embedEvery: 10 };

export interface LegacyEngine {
  /** uuid-ossp can be created: ids default to uuid_generate_v4(), else gen_random_uuid(). */
  uuidOssp: boolean;
  /** pgvector can be created: embedding is vector(1536) with an ivfflat index, else real[]. */
  vector: boolean;
}

/** Asks the server which extensions it could create; PGlite has vector but no uuid-ossp, PostgreSQL 15 here the reverse. */
export async function detectLegacyEngine(db: Queryable): Promise<LegacyEngine> {
  const { rows } = await db.query<{ uuid_ossp: boolean; vector: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'uuid-ossp') AS uuid_ossp,
            EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') AS vector`,
  );
  return { uuidOssp: rows[0]!.uuid_ossp, vector: rows[0]!.vector };
}

/** Tables, trigger function and triggers, as the legacy schema.sql declares them (inline constraints keep its constraint names). */
function schemaSql(e: LegacyEngine): string {
  const id = `id UUID PRIMARY KEY DEFAULT ${e.uuidOssp ? 'uuid_generate_v4()' : 'gen_random_uuid()'}`;
  return `
${e.uuidOssp ? 'CREATE EXTENSION IF NOT EXISTS "uuid-ossp";' : ''}
${e.vector ? 'CREATE EXTENSION IF NOT EXISTS vector;' : ''}

CREATE TABLE users (
  ${id},
  username VARCHAR(50) UNIQUE NOT NULL,
  email VARCHAR(255) UNIQUE NOT NULL,
  password_hash VARCHAR(255) NOT NULL,
  role VARCHAR(20) DEFAULT 'user' CHECK (role IN ('admin', 'user', 'mentor')),
  is_active BOOLEAN DEFAULT true,
  created_at TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP,
  last_login TIMESTAMPTZ,
  preferences JSONB DEFAULT '{}'::jsonb
);

CREATE TABLE conversations (
  ${id},
  user_id UUID REFERENCES users(id) ON DELETE CASCADE,
  title VARCHAR(255),
  created_at TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP,
  is_archived BOOLEAN DEFAULT false,
  metadata JSONB DEFAULT '{}'::jsonb
);

CREATE TABLE messages (
  ${id},
  conversation_id UUID REFERENCES conversations(id) ON DELETE CASCADE,
  role VARCHAR(20) NOT NULL CHECK (role IN ('user', 'assistant', 'system', 'gatekeeper')),
  content TEXT NOT NULL,
  embedding ${e.vector ? 'VECTOR(1536)' : 'REAL[]'},
  created_at TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP,
  metadata JSONB DEFAULT '{}'::jsonb,
  token_count INTEGER DEFAULT 0,
  model_used VARCHAR(100)
);

CREATE TABLE mentors (
  ${id},
  name VARCHAR(100) NOT NULL,
  description TEXT,
  personality_prompt TEXT,
  avatar_url VARCHAR(500),
  is_active BOOLEAN DEFAULT true,
  created_at TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP,
  metadata JSONB DEFAULT '{}'::jsonb
);

CREATE TABLE feature_requests (
  ${id},
  user_id UUID REFERENCES users(id) ON DELETE CASCADE,
  title VARCHAR(255) NOT NULL,
  description TEXT,
  status VARCHAR(20) DEFAULT 'open' CHECK (status IN ('open', 'in_progress', 'closed', 'rejected')),
  priority VARCHAR(10) DEFAULT 'medium' CHECK (priority IN ('low', 'medium', 'high', 'critical')),
  github_issue_id INTEGER UNIQUE,
  created_at TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP,
  assigned_to UUID REFERENCES users(id),
  metadata JSONB DEFAULT '{}'::jsonb
);

CREATE TABLE integrations (
  ${id},
  user_id UUID REFERENCES users(id) ON DELETE CASCADE,
  service VARCHAR(50) NOT NULL,
  config JSONB NOT NULL,
  is_active BOOLEAN DEFAULT true,
  last_sync TIMESTAMPTZ,
  created_at TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE webhooks (
  ${id},
  user_id UUID REFERENCES users(id) ON DELETE CASCADE,
  name VARCHAR(100) NOT NULL,
  url VARCHAR(500) NOT NULL,
  events TEXT[] NOT NULL,
  secret VARCHAR(255),
  is_active BOOLEAN DEFAULT true,
  created_at TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP,
  last_triggered TIMESTAMPTZ,
  failure_count INTEGER DEFAULT 0
);

CREATE TABLE system_logs (
  ${id},
  level VARCHAR(10) NOT NULL CHECK (level IN ('DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL')),
  component VARCHAR(50) NOT NULL,
  message TEXT NOT NULL,
  user_id UUID REFERENCES users(id) ON DELETE SET NULL,
  metadata JSONB DEFAULT '{}'::jsonb,
  created_at TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP
);

CREATE OR REPLACE FUNCTION update_updated_at_column()
RETURNS TRIGGER AS $$
BEGIN
  NEW.updated_at = CURRENT_TIMESTAMP;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER update_users_updated_at BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
CREATE TRIGGER update_conversations_updated_at BEFORE UPDATE ON conversations FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
CREATE TRIGGER update_feature_requests_updated_at BEFORE UPDATE ON feature_requests FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
CREATE TRIGGER update_integrations_updated_at BEFORE UPDATE ON integrations FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
`;
}

/** The legacy indexes; created after the data is in because bulk loading is faster that way and ivfflat needs rows to pick its lists. */
function indexSql(e: LegacyEngine): string {
  return `
CREATE INDEX idx_messages_conversation_id ON messages(conversation_id);
CREATE INDEX idx_messages_created_at ON messages(created_at);
${e.vector ? 'CREATE INDEX idx_messages_embedding ON messages USING ivfflat (embedding vector_cosine_ops) WITH (lists = 10);' : ''}
CREATE INDEX idx_conversations_user_id ON conversations(user_id);
CREATE INDEX idx_feature_requests_user_id ON feature_requests(user_id);
CREATE INDEX idx_feature_requests_status ON feature_requests(status);
CREATE INDEX idx_integrations_user_id ON integrations(user_id);
CREATE INDEX idx_integrations_service ON integrations(service);
CREATE INDEX idx_system_logs_level ON system_logs(level);
CREATE INDEX idx_system_logs_created_at ON system_logs(created_at);
`;
}

/**
 * The legacy mentor seed. Its "ON CONFLICT DO NOTHING" has no unique key to conflict on, so a
 * second run of the script duplicates every mentor; run 1 is the first script version (Robbie
 * an "assistant"), run 2 the later one ("copilot"). Ids and created_at are pinned (the legacy
 * statement left them to defaults) so checksums stay reproducible.
 */
function mentorSeedSql(run: 1 | 2): string {
  const at = run === 1 ? '2023-09-18 12:00:00+00' : '2023-10-09 12:00:00+00';
  const robbie = run === 1 ? 'Your helpful AI assistant' : 'Your helpful AI copilot';
  const row = (name: string, description: string, prompt: string, avatar: string) =>
    `(md5('mentor-${run}-${name}')::uuid, '${name}', '${description}', '${prompt}', '${avatar}', '${at}')`;
  return `
INSERT INTO mentors (id, name, description, personality_prompt, avatar_url, created_at) VALUES
${row('Robbie', robbie, 'You are Robbie, a helpful and enthusiastic AI copilot who loves learning new things.', '/avatars/robbie.png')},
${row('Gatekeeper', 'Safety and security specialist', 'You are the Gatekeeper, responsible for keeping every interaction safe and appropriate.', '/avatars/gatekeeper.png')},
${row('Code Mentor', 'Programming and development expert', 'You are a senior software engineer fluent in many languages and frameworks.', '/avatars/code_mentor.png')},
${row('Business Mentor', 'Entrepreneurship and strategy advisor', 'You are a successful entrepreneur and business strategist.', '/avatars/business_mentor.png')}
ON CONFLICT DO NOTHING;
`;
}

const HASH = '$2b$12$KIXQJ1o6Q0Zq1uY9m8xQ6eXcL3f2d9pT5bq0u1Yk2WJ3zR7sD4e1a';

/** Users, feature requests, integrations, webhooks and system logs both fixtures share. */
function baseRowsSql(): string {
  const u = LEGACY_IDS;
  return `
INSERT INTO users (id, username, email, password_hash, role, is_active, created_at, updated_at, last_login, preferences) VALUES
('${u.admin}', 'admin', 'admin@aurora.example', '${HASH}', 'admin', true, '2022-11-01 09:00:00+00', '2024-05-02 08:30:00+00', '2024-06-30 07:45:12.345678+00', '{"theme": "dark", "notifications": {"email": true}}'),
('${u.allan}', 'Allan Peretz', 'allan@testpilotcpg.example', '${HASH}', 'user', true, '2022-11-02 10:15:00+00', '2024-04-11 16:20:00+00', '2024-06-29 21:03:00+00', '{"flirt": 7, "gandhi_genghis": 5, "theme": "dark"}'),
('${u.mentorUser}', 'code_mentor', 'mentor@aurora.example', '${HASH}', 'mentor', true, '2023-01-05 12:00:00+00', '2023-01-05 12:00:00+00', NULL, '{}'),
('${u.inactive}', 'old.account', 'old@aurora.example', '${HASH}', 'user', false, '2022-12-24 23:59:59+00', '2023-03-01 00:00:00+00', '2023-02-28 18:00:00+00', NULL),
('${u.guest}', 'Þórunn Guðmundsdóttir', 'thorunn@aurora.example', '${HASH}', 'user', true, '2023-06-15 06:30:00+00', '2024-01-10 11:11:11+00', NULL, '{"greeting": "こんにちは 👋", "city": "Þórshöfn"}');

INSERT INTO feature_requests (id, user_id, title, description, status, priority, github_issue_id, created_at, updated_at, assigned_to, metadata) VALUES
('${u.featureRequest}', '${u.allan}', 'Dark mode for the mentor panel', 'Everything else is dark already.', 'open', 'medium', 101, '2023-07-01 10:00:00+00', '2023-07-01 10:00:00+00', '${u.admin}', '{"votes": 12}'),
('f0000000-0000-4000-8000-000000000002', '${u.guest}', 'Support for Þ, ð and 東京 in search', NULL, 'in_progress', 'high', 102, '2023-07-03 09:00:00+00', '2023-08-15 14:00:00+00', '${u.mentorUser}', '{"labels": ["i18n", "search"]}'),
('f0000000-0000-4000-8000-000000000003', '${u.admin}', 'Export conversations as PDF', 'Requested by three customers.', 'closed', 'low', 205, '2023-02-10 08:00:00+00', '2023-09-01 12:00:00+00', '${u.admin}', '{}'),
('f0000000-0000-4000-8000-000000000004', '${u.inactive}', 'Remove the gatekeeper 🙃', 'No.', 'rejected', 'critical', NULL, '2023-02-20 08:00:00+00', '2023-02-21 08:00:00+00', NULL, NULL),
('f0000000-0000-4000-8000-000000000005', NULL, 'Anonymous: faster replies', NULL, 'open', 'high', NULL, '2024-02-29 23:00:00+00', '2024-02-29 23:00:00+00', NULL, '{}');

INSERT INTO integrations (id, user_id, service, config, is_active, last_sync, created_at, updated_at) VALUES
('e0000000-0000-4000-8000-000000000001', '${u.allan}', 'slack', '{"workspace": "testpilot", "channels": ["#general", "#sales"], "bot_token": "xoxb-legacy-plaintext"}', true, '2024-06-30 06:00:00+00', '2023-03-01 10:00:00+00', '2024-06-30 06:00:00+00'),
('e0000000-0000-4000-8000-000000000002', '${u.allan}', 'google_calendar', '{"calendar_id": "primary", "refresh_token": "1//legacy", "scopes": ["calendar.readonly"]}', true, NULL, '2023-03-02 10:00:00+00', '2023-03-02 10:00:00+00'),
('e0000000-0000-4000-8000-000000000003', '${u.admin}', 'github', '{"repo": "aurora/robbieverse", "token": "ghp_legacy", "sync_issues": true}', false, '2023-12-01 00:00:00+00', '2023-01-10 10:00:00+00', '2023-12-01 00:00:00+00'),
('e0000000-0000-4000-8000-000000000004', NULL, 'hubspot', '{}', true, NULL, '2024-01-01 00:00:00+00', '2024-01-01 00:00:00+00');

INSERT INTO webhooks (id, user_id, name, url, events, secret, is_active, created_at, last_triggered, failure_count) VALUES
('d0000000-0000-4000-8000-000000000001', '${u.allan}', 'CRM sync', 'https://hooks.example.com/crm', ARRAY['message.created', 'conversation.archived'], 'whsec_9f8e7d6c5b4a', true, '2023-04-01 10:00:00+00', '2024-06-30 05:59:00+00', 0),
('d0000000-0000-4000-8000-000000000002', '${u.admin}', 'Alerts → Slack', 'https://hooks.slack.example/T000/B000', ARRAY['system.error'], NULL, true, '2023-04-02 10:00:00+00', NULL, 3),
('d0000000-0000-4000-8000-000000000003', '${u.inactive}', 'Old Zapier', 'https://hooks.zapier.example/catch/1/abc', '{}', 'legacy-secret', false, '2022-12-30 10:00:00+00', '2023-01-15 10:00:00+00', 17);

INSERT INTO system_logs (id, level, component, message, user_id, metadata, created_at) VALUES
('b0000000-0000-4000-8000-000000000001', 'INFO', 'auth', 'User logged in', '${u.allan}', '{"ip": "203.0.113.7"}', '2024-06-29 21:03:00+00'),
('b0000000-0000-4000-8000-000000000002', 'DEBUG', 'embeddings', 'Embedded 24 messages', NULL, '{"batch": 24, "ms": 812}', '2024-06-29 21:04:00+00'),
('b0000000-0000-4000-8000-000000000003', 'WARNING', 'gatekeeper', 'Flagged message in «Þórshöfn» thread', '${u.guest}', '{"score": 0.71}', '2024-06-29 21:05:00+00'),
('b0000000-0000-4000-8000-000000000004', 'ERROR', 'webhooks', 'Delivery failed: 502 Bad Gateway', '${u.admin}', '{"webhook": "d0000000-0000-4000-8000-000000000002"}', '2024-06-30 01:00:00+00'),
('b0000000-0000-4000-8000-000000000005', 'CRITICAL', 'database', 'Connection pool exhausted', NULL, NULL, '2024-06-30 01:00:01+00'),
('b0000000-0000-4000-8000-000000000006', 'INFO', 'integrations', 'Slack sync finished 🎉', '${u.allan}', '{}', '2024-06-30 06:00:00+00'),
('b0000000-0000-4000-8000-000000000007', 'INFO', 'auth', 'Login refused for inactive account', '${u.inactive}', '{"reason": "inactive"}', '2024-06-30 06:30:00+00'),
('b0000000-0000-4000-8000-000000000008', 'DEBUG', 'scheduler', E'multi-line\\nmessage with a \\t tab and \\\\ backslash', NULL, '{}', '2024-06-30 07:00:00+00');
`;
}

/** Edge cases only the small fixture has: archived, user-less, untitled, unicode, an orphan message. */
function handWrittenSql(e: LegacyEngine): string {
  const u = LEGACY_IDS;
  const c = (n: number) => `c0000000-0000-4000-8000-00000000000${n}`;
  const m = (n: number) => `'90000000-0000-4000-8000-0000000000${String(n).padStart(2, '0')}'`;
  const vec = `(SELECT array_agg(sin(99999 + i)::real ORDER BY i) FROM generate_series(1, 1536) i)${e.vector ? '::vector' : ''}`;
  return `
INSERT INTO conversations (id, user_id, title, created_at, updated_at, is_archived, metadata) VALUES
('${c(1)}', '${u.allan}', 'Archived: Q3 planning', '2023-05-01 09:00:00+00', '2023-05-02 09:00:00+00', true, '{"archived_by": "user"}'),
('${c(2)}', NULL, 'Anonymous widget session', '2023-05-03 09:00:00+00', '2023-05-03 09:30:00+00', false, '{"source": "widget"}'),
('${c(3)}', '${u.guest}', 'Þórshöfn trip 🚀 東京 — 회의', '2023-05-04 09:00:00+00', '2023-05-04 12:00:00+00', false, '{"lang": ["is", "ja", "ko"]}'),
('${c(4)}', '${u.allan}', NULL, '2023-05-05 09:00:00+00', '2023-05-05 09:00:00+00', false, NULL),
('${c(5)}', '${u.mentorUser}', 'Code review: pgvector', '2023-05-06 09:00:00+00', '2023-05-06 10:00:00+00', false, '{}'),
('${c(6)}', '${u.inactive}', 'ping', '2023-01-06 09:00:00+00', '2023-01-06 09:00:00+00', true, '{}');

INSERT INTO messages (id, conversation_id, role, content, embedding, created_at, metadata, token_count, model_used) VALUES
(${m(1)}, '${c(1)}', 'user', 'Can we archive the Q3 plan?', NULL, '2023-05-01 09:00:00+00', '{}', 8, NULL),
(${m(2)}, '${c(1)}', 'assistant', 'Done ✅', NULL, '2023-05-01 09:00:05+00', '{"latency_ms": 640}', 3, 'gpt-4'),
(${m(3)}, '${c(2)}', 'user', 'Hvar er Þórshöfn?', NULL, '2023-05-03 09:00:00+00', '{}', 6, NULL),
(${m(4)}, '${c(2)}', 'gatekeeper', 'Request allowed.', NULL, '2023-05-03 09:00:01+00', '{"decision": "allow", "score": 0.02}', 0, 'gatekeeper-v1'),
(${m(5)}, '${c(3)}', 'system', 'You are Robbie.', NULL, '2023-05-04 09:00:00+00', NULL, NULL, NULL),
(${m(6)}, '${c(3)}', 'user', '東京でのミーティングは何時ですか？ 회의는 언제예요?', NULL, '2023-05-04 09:01:00+00', '{"lang": "ja"}', 31, NULL),
(${m(7)}, '${c(3)}', 'assistant', 'Um 10:00 Uhr — 👩‍💻🚀 see you in Þórshöfn', ${vec}, '2023-05-04 09:01:03+00', '{"sources": [{"id": 1, "title": "Calendar"}]}', 17, 'claude-3-opus'),
(${m(8)}, '${c(4)}', 'user', '', NULL, '2023-05-05 09:00:00+00', '{}', 0, NULL),
(${m(9)}, '${c(4)}', 'assistant', E'Line 1\\nLine "2" with \\\\ backslash and ''quotes''', NULL, '2023-05-05 09:00:02+00', '{}', 12, 'gpt-3.5-turbo'),
(${m(10)}, '${c(5)}', 'assistant', repeat('Use an ivfflat index with cosine ops. ', 200), NULL, '2023-05-06 09:10:00+00', '{"long": true}', 1600, 'gpt-4'),
(${m(11)}, '${c(6)}', 'user', 'ping', NULL, '2023-01-06 09:00:00+00', '{}', 1, NULL),
(${m(12)}, NULL, 'system', 'Orphaned message (its conversation id was cleared by hand)', NULL, '2023-06-01 00:00:00+00', '{}', 0, NULL);
`;
}

/** Base of generated timestamps; the whole series spans at most two years from here, all in the past. */
const T0 = `'2023-01-01 00:00:00+00'::timestamptz`;
const SPAN_MS = 2 * 365 * 24 * 3600 * 1000;

/** Extra users for the large fixture, so batching over users has something to walk. */
function generatedUsersSql(k: number): string {
  return `
INSERT INTO users (id, username, email, password_hash, role, is_active, created_at, updated_at, last_login, preferences)
SELECT md5('user-' || g)::uuid, 'user_' || g, 'user' || g || '@aurora.example', '${HASH}',
       CASE WHEN g % 25 = 0 THEN 'mentor' ELSE 'user' END, g % 17 <> 0,
       '2022-06-01 00:00:00+00'::timestamptz + g * interval '1 minute',
       '2022-12-01 00:00:00+00'::timestamptz + g * interval '1 minute',
       CASE WHEN g % 3 = 0 THEN NULL ELSE '2024-06-01 00:00:00+00'::timestamptz + g * interval '1 second' END,
       CASE WHEN g % 5 = 0 THEN NULL ELSE jsonb_build_object('theme', CASE WHEN g % 2 = 0 THEN 'dark' ELSE 'light' END) END
  FROM generate_series(1, ${k}) g;
`;
}

/**
 * Conversation c owns messages ((c-1)·M/C, c·M/C], so its timestamps bracket theirs.
 * Every 50th has no user, every 7th is archived, every 13th is untitled; conversation 1 is Allan's.
 */
function conversationsSql(conversations: number, messages: number, generatedUsers: number): string {
  const u = LEGACY_IDS;
  const step = `interval '1 millisecond' * ${Math.floor(SPAN_MS / messages)}`;
  const owner = [u.admin, u.allan, u.mentorUser, u.inactive, u.guest].map((id) => `'${id}'`).join(', ');
  const generatedOwner = generatedUsers > 0 ? `WHEN c % 2 = 0 THEN md5('user-' || (1 + (c / 2) % ${generatedUsers}))::uuid` : '';
  return `
INSERT INTO conversations (id, user_id, title, created_at, updated_at, is_archived, metadata)
SELECT md5('conv-' || c)::uuid,
       CASE WHEN c % 50 = 0 THEN NULL ${generatedOwner} ELSE (ARRAY[${owner}]::uuid[])[1 + c % 5] END,
       CASE WHEN c % 13 = 0 THEN NULL
            ELSE (ARRAY['Weekly planning', 'Þórshöfn itinerary', 'デプロイ手順', '🚀 Launch checklist', 'Code review', 'Pricing & margins'])[1 + c % 6] || ' #' || c END,
       ${T0} + ((c - 1) * ${messages} / ${conversations}) * ${step},
       ${T0} + (c * ${messages} / ${conversations}) * ${step},
       c % 7 = 0,
       CASE WHEN c % 11 = 0 THEN NULL
            ELSE jsonb_build_object('channel', (ARRAY['web', 'slack', 'api'])[1 + c % 3], 'seq', c) END
  FROM generate_series(1::bigint, ${conversations}) c;
`;
}

/**
 * Messages in all 4 roles, mostly user/assistant turns. Embeddings come from a pool of 64
 * deterministic vectors (sin of a counter) joined in, so a million rows cost no trigonometry.
 */
function messagesSql(e: LegacyEngine, conversations: number, messages: number, embedEvery: number): string {
  const step = `interval '1 millisecond' * ${Math.floor(SPAN_MS / messages)}`;
  return `
WITH vecs AS MATERIALIZED (
  SELECT k, array_agg(sin(k * 1536 + i)::real ORDER BY i)${e.vector ? '::vector' : ''} AS v
    FROM generate_series(0, 63) k, generate_series(1, 1536) i
   GROUP BY k
)
INSERT INTO messages (id, conversation_id, role, content, embedding, created_at, metadata, token_count, model_used)
SELECT md5('msg-' || g)::uuid,
       md5('conv-' || (1 + (g - 1) * ${conversations} / ${messages}))::uuid,
       r.role,
       (ARRAY['Hello Robbie, can you summarise the meeting?', 'Sure — here is the summary.', 'Hvar er Þórshöfn? 🗺️',
              '東京の会議は10時からです', 'Deploy went fine 🚀✅', 'Please keep it under 100 words.',
              'Ünïcödé and "quotes" and ''apostrophes''', 'Next steps: 1) call 2) email 3) close'])[1 + g % 8] || ' [' || g || ']',
       vecs.v,
       ${T0} + g * ${step},
       CASE WHEN g % 7 = 0 THEN NULL
            WHEN g % 3 = 0 THEN jsonb_build_object('source', 'web', 'seq', g, 'tags', jsonb_build_array('a', 'ß'))
            ELSE '{}'::jsonb END,
       CASE WHEN g % 97 = 0 THEN NULL ELSE (g * 7919) % 500 END,
       CASE WHEN r.role = 'assistant' THEN (ARRAY['gpt-4', 'gpt-3.5-turbo', 'claude-3-opus'])[1 + g % 3]
            WHEN r.role = 'gatekeeper' THEN 'gatekeeper-v1' END
  FROM generate_series(1::bigint, ${messages}) g
  CROSS JOIN LATERAL (SELECT CASE WHEN g % 20 = 0 THEN 'system' WHEN g % 20 = 10 THEN 'gatekeeper'
                                  WHEN g % 2 = 1 THEN 'user' ELSE 'assistant' END AS role) r
  LEFT JOIN vecs ON g % ${embedEvery} = 0 AND vecs.k = g % 64;
`;
}

/** One log line per conversation for the large fixture, half of them tied to a user. */
function generatedLogsSql(n: number): string {
  return `
INSERT INTO system_logs (id, level, component, message, user_id, metadata, created_at)
SELECT md5('log-' || g)::uuid,
       (ARRAY['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'])[1 + g % 5],
       (ARRAY['chat', 'auth', 'embeddings', 'webhooks'])[1 + g % 4],
       'event ' || g,
       CASE WHEN g % 2 = 0 THEN '${LEGACY_IDS.allan}'::uuid END,
       CASE WHEN g % 9 = 0 THEN NULL ELSE jsonb_build_object('n', g) END,
       ${T0} + g * interval '1 minute'
  FROM generate_series(1, ${n}) g;
`;
}

function positiveInt(v: number, what: string): number {
  if (!Number.isSafeInteger(v) || v < 1) throw new Error(`${what} must be a positive integer, got ${v}`);
  return v;
}

/**
 * Creates the legacy Aurora database in an empty `public` schema and fills it.
 * No size options: the small fixture (LEGACY.md §1.1). `messages` and/or `conversations`:
 * the large fixture with exactly that many generated conversations and messages (a missing
 * size is derived at 100 messages per conversation) on top of the shared base rows.
 * Embeddings: every 10th message (small) or every 100th (large); `embeddings: true` gives
 * every message one.
 */
export async function createLegacyAurora(
  db: Queryable,
  opts: { messages?: number; conversations?: number; embeddings?: boolean } = {},
): Promise<LegacyCounts> {
  const engine = await detectLegacyEngine(db);
  const large = opts.messages !== undefined || opts.conversations !== undefined;
  const conversations = large
    ? positiveInt(opts.conversations ?? Math.max(1, Math.ceil(opts.messages! / 100)), 'conversations')
    : SMALL.conversations;
  const messages = large ? positiveInt(opts.messages ?? conversations * 100, 'messages') : SMALL.messages;
  const embedEvery = opts.embeddings ? 1 : large ? 100 : SMALL.embedEvery;
  const generatedUsers = large ? Math.ceil(conversations / 10) : 0;

  await db.exec(schemaSql(engine));
  // The legacy script ran twice on real installations, which is how the duplicates came about.
  await db.exec(mentorSeedSql(1));
  await db.exec(mentorSeedSql(2));
  await db.exec(baseRowsSql());
  if (generatedUsers > 0) await db.exec(generatedUsersSql(generatedUsers));
  if (!large) await db.exec(handWrittenSql(engine));
  await db.exec(conversationsSql(conversations, messages, generatedUsers));
  await db.exec(messagesSql(engine, conversations, messages, embedEvery));
  if (large) await db.exec(generatedLogsSql(conversations));
  await db.exec(indexSql(engine));
  // An installation that has run for months has statistics; later tests plan against them.
  await db.exec(`ANALYZE ${LEGACY_TABLES.join(', ')}`);
  return legacyCounts(db);
}

export async function legacyCounts(db: Queryable): Promise<LegacyCounts> {
  const { rows } = await db.query<Record<LegacyTable, number | string>>(
    `SELECT ${LEGACY_TABLES.map((t) => `(SELECT count(*) FROM ${t}) AS ${t}`).join(', ')}`,
  );
  const r = rows[0]!;
  return Object.fromEntries(LEGACY_TABLES.map((t) => [t, Number(r[t])])) as LegacyCounts;
}

/**
 * The legacy application's statements (LEGACY.md "Legacy write workload"). None names org_id;
 * all but one name their columns, so they keep working after phase A appends columns. The one
 * positional insert lists exactly the 7 legacy system_logs columns in legacy order. Fresh ids
 * and unique values come from gen_random_uuid(), so the list can run any number of times.
 */
export const LEGACY_WRITES: { name: string; sql: string; params?: unknown[] }[] = [
  {
    name: 'insert user (id from the column default)',
    sql: `INSERT INTO users (username, email, password_hash, role, preferences)
          VALUES ('lw_' || gen_random_uuid(), 'lw_' || gen_random_uuid() || '@aurora.example', $1, 'user', '{"theme": "light"}')`,
    params: [HASH],
  },
  {
    name: 'insert conversation',
    sql: `INSERT INTO conversations (id, user_id, title, metadata) VALUES (gen_random_uuid(), $1, 'New chat from the legacy app', '{"source": "legacy-app"}')`,
    params: [LEGACY_IDS.allan],
  },
  {
    name: 'insert conversation without user',
    sql: `INSERT INTO conversations (user_id, title) VALUES (NULL, 'Widget session')`,
  },
  {
    name: 'insert message',
    sql: `INSERT INTO messages (id, conversation_id, role, content, embedding, metadata, token_count, model_used)
          VALUES (gen_random_uuid(), $1, 'user', 'Hallo Þórshöfn 👋 東京', NULL, '{"client": "legacy"}', 7, NULL)`,
    params: [LEGACY_IDS.conversation],
  },
  {
    name: 'insert assistant reply into the user’s newest conversation',
    sql: `INSERT INTO messages (conversation_id, role, content, token_count, model_used)
          SELECT id, 'assistant', 'Reply from the legacy app', 5, 'gpt-4'
            FROM conversations WHERE user_id = $1 ORDER BY created_at DESC LIMIT 1`,
    params: [LEGACY_IDS.allan],
  },
  {
    name: 'insert system log',
    sql: `INSERT INTO system_logs (level, component, message, metadata) VALUES ('INFO', 'chat', 'message stored', '{"via": "legacy"}')`,
  },
  {
    name: 'insert system log, positional (no column list)',
    sql: `INSERT INTO system_logs VALUES (gen_random_uuid(), 'WARNING', 'legacy-app', 'positional insert from legacy code', $1, '{"positional": true}', now())`,
    params: [LEGACY_IDS.admin],
  },
  {
    name: 'insert feature request',
    sql: `INSERT INTO feature_requests (user_id, title, description, priority, assigned_to, metadata)
          VALUES ($1, 'Keyboard shortcuts', 'Ctrl+K to search', 'low', $2, '{}')`,
    params: [LEGACY_IDS.guest, LEGACY_IDS.admin],
  },
  {
    name: 'insert integration',
    sql: `INSERT INTO integrations (user_id, service, config) VALUES ($1, 'notion', '{"workspace": "legacy", "token": "secret_legacy"}')`,
    params: [LEGACY_IDS.allan],
  },
  {
    name: 'insert webhook',
    sql: `INSERT INTO webhooks (user_id, name, url, events, secret)
          VALUES ($1, 'Legacy hook', 'https://hooks.example.com/legacy', ARRAY['message.created', 'user.login'], 'whsec_legacy')`,
    params: [LEGACY_IDS.admin],
  },
  {
    name: 'update conversation title',
    sql: `UPDATE conversations SET title = $2 WHERE id = $1`,
    params: [LEGACY_IDS.conversation, 'Renamed by the legacy app'],
  },
  {
    name: 'update user last_login',
    sql: `UPDATE users SET last_login = now() WHERE id = $1`,
    params: [LEGACY_IDS.allan],
  },
  {
    name: 'update feature request status',
    sql: `UPDATE feature_requests SET status = 'in_progress' WHERE id = $1`,
    params: [LEGACY_IDS.featureRequest],
  },
  {
    name: 'select a user’s conversations with their messages',
    sql: `SELECT c.id, c.title, c.updated_at, m.id AS message_id, m.role, m.content, m.created_at
            FROM conversations c JOIN messages m ON m.conversation_id = c.id
           WHERE c.user_id = $1 AND c.is_archived = false
           ORDER BY c.updated_at DESC, m.created_at
           LIMIT 200`,
    params: [LEGACY_IDS.allan],
  },
  {
    name: 'select latest messages',
    sql: `SELECT m.id, m.role, m.content, m.created_at, c.title, u.username
            FROM messages m
            JOIN conversations c ON c.id = m.conversation_id
            LEFT JOIN users u ON u.id = c.user_id
           ORDER BY m.created_at DESC
           LIMIT 50`,
  },
  {
    name: 'select message counts per role',
    sql: `SELECT role, count(*) AS n FROM messages GROUP BY role ORDER BY role`,
  },
];
