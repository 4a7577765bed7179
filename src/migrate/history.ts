import type { Capabilities, Queryable } from '../db/types.js';

/** The runner's own bookkeeping lives outside `public`, in schema robbieverse_meta. */
export const META_SCHEMA = 'robbieverse_meta';

export const META_DDL = `
CREATE SCHEMA IF NOT EXISTS robbieverse_meta;
CREATE TABLE IF NOT EXISTS robbieverse_meta.schema_migrations (
  version     integer PRIMARY KEY,
  name        text NOT NULL UNIQUE,
  checksum    text NOT NULL,
  applied_at  timestamptz NOT NULL DEFAULT now(),
  duration_ms integer,
  applied_by  text NOT NULL DEFAULT current_user
);
CREATE TABLE IF NOT EXISTS robbieverse_meta.capabilities (
  name        text PRIMARY KEY,
  value       text NOT NULL,
  detected_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE robbieverse_meta.schema_migrations IS 'One row per applied migration file, with the checksum it had when applied';
COMMENT ON TABLE robbieverse_meta.capabilities IS 'What the migration runner last detected on this server (pgvector, server version, embedding type)';
`;

export interface AppliedMigration {
  version: number;
  name: string;
  checksum: string;
  applied_at: string;
  duration_ms: number | null;
}

export async function historyExists(q: Queryable): Promise<boolean> {
  const { rows } = await q.query<{ t: string | null }>(`SELECT to_regclass('robbieverse_meta.schema_migrations')::text AS t`);
  return rows[0]?.t != null;
}

export async function readHistory(q: Queryable): Promise<AppliedMigration[]> {
  if (!(await historyExists(q))) return [];
  const { rows } = await q.query<AppliedMigration & { applied_at: Date | string }>(
    `SELECT version, name, checksum, applied_at, duration_ms FROM robbieverse_meta.schema_migrations ORDER BY version`,
  );
  return rows.map((r) => ({ ...r, applied_at: new Date(r.applied_at).toISOString() }));
}

export async function recordCapabilities(q: Queryable, caps: Capabilities): Promise<void> {
  const values: [string, string][] = [
    ['engine', caps.engine],
    ['server_version_num', String(caps.serverVersionNum)],
    ['vector', String(caps.extensions.vector)],
    ['pg_trgm', String(caps.extensions.pg_trgm)],
    ['pgcrypto', String(caps.extensions.pgcrypto)],
    ['embedding_type', caps.embeddingType],
    ['legacy_upgrade', String(caps.legacyUpgrade)],
  ];
  await q.query(
    `INSERT INTO robbieverse_meta.capabilities (name, value)
     SELECT * FROM unnest($1::text[], $2::text[])
     ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, detected_at = now()`,
    [values.map((v) => v[0]), values.map((v) => v[1])],
  );
}
