/**
 * Synthetic vectors for search tests and the benchmark: clustered (unit vectors scattered around
 * random centres, as embeddings of related texts are), a seeded generator, bulk insertion as
 * sticky notes with their chunks, and the exact nearest neighbours as ground truth.
 */
import type { Db } from '../../src/db/types.js';

/** A deterministic generator in [0, 1). */
export function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function gaussian(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(rand() || 1e-12)) * Math.cos(2 * Math.PI * rand());
}

const unit = (v: number[]) => {
  const n = Math.hypot(...v) || 1;
  return v.map((x) => x / n);
};

const centres = new Map<string, number[][]>();

/** n unit vectors around `clusters` centres (the same centres for the same dims and count). */
export function clusteredVectors(rand: () => number, n: number, dims: number, clusters: number, spread = 0.35): number[][] {
  const key = `${dims}/${clusters}`;
  if (!centres.has(key)) {
    const r = seeded(dims * 1000 + clusters);
    centres.set(key, Array.from({ length: clusters }, () => unit(Array.from({ length: dims }, () => gaussian(r)))));
  }
  const cs = centres.get(key)!;
  return Array.from({ length: n }, () => {
    const c = cs[Math.floor(rand() * cs.length)]!;
    return unit(c.map((x) => x + (spread * gaussian(rand)) / Math.sqrt(dims) * 3));
  });
}

/**
 * Stores each vector as a sticky note of its organization plus one chunk of `model` (the queue
 * rows the notes raise are removed: the vectors are given, not embedded).
 */
export async function insertVectors(db: Db, model: string, items: { org: string; v: number[] }[], batch = 1000): Promise<{ id: string; org: string; v: number[] }[]> {
  const { rows: t } = await db.query<{ t: string }>(`SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = 'memory.chunks'::regclass AND attname = 'embedding'`);
  const vector = t[0]!.t === 'vector';
  const out: { id: string; org: string; v: number[] }[] = [];
  for (let i = 0; i < items.length; i += batch) {
    const part = items.slice(i, i + batch);
    const { rows } = await db.query<{ id: string; n: number }>(
      `INSERT INTO sticky_notes (org_id, content) SELECT (e ->> 'org')::uuid, 'vector row ' || (e ->> 'n')
         FROM jsonb_array_elements($1::jsonb) e RETURNING id::text, substr(content, 12)::int AS n`,
      [JSON.stringify(part.map((p, k) => ({ org: p.org, n: i + k })))],
    );
    const byN = new Map(rows.map((r) => [Number(r.n), r.id]));
    const chunks = part.map((p, k) => ({
      id: byN.get(i + k)!, org: p.org, e: vector ? `[${p.v.join(',')}]` : `{${p.v.join(',')}}`,
    }));
    await db.query(
      `INSERT INTO memory.chunks (source_table, source_id, model_key, chunk_index, org_id, privacy_level, content_sha256, embedding)
       SELECT 'sticky_notes', id, $2, 0, org, 'team', 'given', e::${vector ? 'vector' : 'real[]'}
         FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, org uuid, e text)`,
      [JSON.stringify(chunks), model],
    );
    part.forEach((p, k) => out.push({ id: byN.get(i + k)!, org: p.org, v: p.v }));
  }
  await db.query(`DELETE FROM memory.queue WHERE source_table = 'sticky_notes'`);
  return out;
}

/** The ids of the k rows closest to q by cosine (vectors are unit length: the dot product). */
export function nearest(rows: { id: string; v: number[] }[], q: number[], k: number): string[] {
  return rows
    .map((r) => ({ id: r.id, s: r.v.reduce((a, x, i) => a + x * q[i]!, 0) }))
    .sort((a, b) => b.s - a.s)
    .slice(0, k)
    .map((r) => r.id);
}
