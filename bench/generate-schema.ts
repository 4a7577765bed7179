/**
 * A synthetic full-size schema for benchmarking the migration runner until the unified schema
 * replaces it: ~90 tables in ~18 migration files, ~4,000 lines, with the shapes the real schema
 * uses (uuid keys, tenant composite foreign keys, CHECKs, indexes, comments, triggers, views,
 * plpgsql functions and a pgvector/real[] capability section).
 */
import fs from 'node:fs';
import path from 'node:path';

export function generateSchema(dir: string, tables = 72, perFile = 4): { files: number; lines: number } {
  fs.mkdirSync(dir, { recursive: true });
  let lines = 0;
  const write = (name: string, body: string) => {
    fs.writeFileSync(path.join(dir, name), body);
    lines += body.split('\n').length;
  };
  write(
    '000-base.sql',
    `-- @if vector
CREATE EXTENSION IF NOT EXISTS vector;
-- @end
CREATE TABLE bench_orgs (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE bench_orgs IS 'benchmark tenants';
CREATE FUNCTION bench_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END
$$;
`,
  );
  let file = 1;
  for (let start = 0; start < tables; start += perFile, file++) {
    const parts: string[] = [`-- benchmark module ${file}: tables ${start + 1}–${Math.min(tables, start + perFile)}`];
    for (let i = start; i < Math.min(tables, start + perFile); i++) {
      const t = `bench_t${String(i + 1).padStart(3, '0')}`;
      const parent = i > 0 ? `bench_t${String(i).padStart(3, '0')}` : null;
      parts.push(`
CREATE TABLE ${t} (
  id            uuid NOT NULL DEFAULT gen_random_uuid(),
  org_id        uuid NOT NULL REFERENCES bench_orgs (id) ON DELETE CASCADE,
  ${parent ? `parent_id     uuid,` : `parent_id     uuid,`}
  name          text NOT NULL,
  description   text,
  status        text NOT NULL DEFAULT 'active',
  priority      integer NOT NULL DEFAULT 3,
  score         numeric(6,2),
  amount_cents  bigint NOT NULL DEFAULT 0,
  currency      varchar(3) NOT NULL DEFAULT 'USD',
  tags          text[] NOT NULL DEFAULT '{}',
  metadata      jsonb NOT NULL DEFAULT '{}',
  is_archived   boolean NOT NULL DEFAULT false,
  due_date      date,
  started_at    timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id),
  CONSTRAINT ${t}_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT ${t}_status_check CHECK (status IN ('active', 'paused', 'done', 'cancelled')),
  CONSTRAINT ${t}_priority_check CHECK (priority BETWEEN 1 AND 5),
  CONSTRAINT ${t}_score_check CHECK (score IS NULL OR score BETWEEN 0 AND 100)${
    parent
      ? `,
  CONSTRAINT ${t}_parent_fk FOREIGN KEY (org_id, parent_id) REFERENCES ${parent} (org_id, id)
    ON DELETE SET NULL (parent_id) DEFERRABLE INITIALLY IMMEDIATE`
      : ''
  }
);
COMMENT ON TABLE ${t} IS 'benchmark table ${i + 1}';
COMMENT ON COLUMN ${t}.status IS 'lifecycle: active, paused, done or cancelled';
COMMENT ON COLUMN ${t}.amount_cents IS 'money in cents, with currency';
COMMENT ON COLUMN ${t}.metadata IS 'free-form attributes';
CREATE UNIQUE INDEX ${t}_name_key ON ${t} (org_id, lower(name)) WHERE NOT is_archived;
CREATE INDEX ${t}_due_idx ON ${t} (org_id, due_date) WHERE due_date IS NOT NULL;
CREATE INDEX ${t}_parent_idx ON ${t} (org_id, parent_id);
CREATE INDEX ${t}_status_idx ON ${t} (org_id, status) WHERE NOT is_archived;
CREATE INDEX ${t}_metadata_idx ON ${t} USING gin (metadata);
CREATE TRIGGER ${t}_touch BEFORE UPDATE ON ${t} FOR EACH ROW EXECUTE FUNCTION bench_touch();
ALTER TABLE ${t} ENABLE ROW LEVEL SECURITY;
CREATE POLICY ${t}_tenant ON ${t}
  USING (org_id = nullif(current_setting('app.org_id', true), '')::uuid)
  WITH CHECK (org_id = nullif(current_setting('app.org_id', true), '')::uuid);
CREATE VIEW ${t}_open WITH (security_invoker = true) AS
  SELECT id, org_id, name, status, priority FROM ${t} WHERE status = 'active' AND NOT is_archived;
CREATE FUNCTION ${t}_count(p_org uuid) RETURNS bigint LANGUAGE plpgsql STABLE AS $fn$
DECLARE n bigint;
BEGIN
  SELECT count(*) INTO n FROM ${t} WHERE org_id = p_org; -- counted per tenant
  RETURN n;
END
$fn$;
INSERT INTO bench_orgs (name) VALUES ('org for ${t}');`);
    }
    parts.push(`
-- @if vector
CREATE TABLE bench_emb_${file} (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), embedding vector(384));
-- @else
CREATE TABLE bench_emb_${file} (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), embedding real[]);
-- @end
`);
    write(`${String(file).padStart(3, '0')}-bench-module-${file}.sql`, parts.join('\n'));
  }
  return { files: file, lines };
}
