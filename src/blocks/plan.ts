import type { Db, Queryable } from '../db/types.js';

const TRIGGERED_BY: Record<string, string> = {
  page_update: 'page_change',
  component_update: 'component_update',
  style_change: 'style_change',
  branding_change: 'branding_change',
};

interface ChangeRow {
  id: string;
  trigger_type: string;
  entity_type: string;
  affected_apps: string[];
  affected_node_ids: string[];
}

export interface PlanResult {
  /** Change rows marked processed. */
  changes: number;
  /** Pending deploys inserted (existing pending ones are reused). */
  deploys: number;
  /** Change rows left for later because a pair they touch is building right now. */
  deferred: number;
}

const BATCH = 500;

/** Inserts the pending deploy of a pair unless the pair already has an active one. */
export async function ensurePending(q: Queryable, nodeId: string, app: string, triggeredBy: string, changeId: string | null, userId: string | null = null): Promise<boolean> {
  const r = await q.query(
    `INSERT INTO robbieblocks_deploys (node_id, app_namespace, triggered_by, change_trigger_id, triggered_by_user_id)
     VALUES ($1::uuid, $2, $3, $4::uuid, $5::uuid)
     ON CONFLICT (node_id, app_namespace) WHERE deploy_status IN ('pending', 'building', 'deploying') DO NOTHING`,
    [nodeId, app, triggeredBy, changeId, userId],
  );
  return r.rowCount > 0;
}

/**
 * The plan stage (BLOCKS.md §2.5): unprocessed change rows → (node, app) pairs → one pending
 * deploy per pair → rows marked processed, all in one short transaction per batch. Pairs are
 * expanded against the current branding of every node, so a builder serving other nodes on the
 * same queue finds its pending deploys waiting; the build stage only claims served nodes.
 */
export async function planDeploys(db: Db): Promise<PlanResult> {
  const total: PlanResult = { changes: 0, deploys: 0, deferred: 0 };
  for (;;) {
    const r = await db.transaction((tx) => planBatch(tx));
    total.changes += r.changes;
    total.deploys += r.deploys;
    total.deferred += r.deferred;
    if (r.seen < BATCH) return total;
  }
}

async function planBatch(tx: Queryable): Promise<PlanResult & { seen: number }> {
  const changes = await tx.query<ChangeRow>(
    `SELECT id, trigger_type, entity_type, affected_apps, affected_node_ids
       FROM robbieblocks_change_triggers
      WHERE processed_at IS NULL AND auto_deploy
      ORDER BY created_at, id
      LIMIT ${BATCH}
      FOR UPDATE SKIP LOCKED`,
  );
  if (!changes.rows.length) return { changes: 0, deploys: 0, deferred: 0, seen: 0 };
  // Only nodes built by this database (robbieblocks_builds_here): in a sync network each node
  // plans and builds for itself, and the hub for the nodes that have not joined it.
  const branding = await tx.query<{ node_id: string; enabled_apps: string[] }>(
    'SELECT node_id, enabled_apps FROM robbieblocks_node_branding WHERE robbieblocks_builds_here(node_id)',
  );
  const enabled = new Map(branding.rows.map((b) => [b.node_id, b.enabled_apps]));
  const mentioned = [...new Set(changes.rows.flatMap((c) => c.affected_node_ids))];
  const existing = new Set(
    mentioned.length
      ? (await tx.query<{ id: string }>('SELECT id FROM nodes WHERE id = ANY($1::uuid[]) AND robbieblocks_builds_here(id)', [mentioned])).rows.map((r) => r.id)
      : [],
  );
  const busy = new Set(
    (await tx.query<{ node_id: string; app_namespace: string }>(
      `SELECT node_id, app_namespace FROM robbieblocks_deploys WHERE deploy_status IN ('building', 'deploying')`,
    )).rows.map((r) => `${r.node_id}/${r.app_namespace}`),
  );

  const processed: string[] = [];
  const pairs = new Map<string, { node: string; app: string; triggeredBy: string; change: string }>();
  let deferred = 0;
  for (const c of changes.rows) {
    const nodes = c.affected_node_ids.length ? c.affected_node_ids.filter((n) => existing.has(n)) : [...enabled.keys()];
    const mine: { node: string; app: string }[] = [];
    for (const node of nodes) {
      const apps = enabled.get(node) ?? [];
      // A branding change names the apps it enabled *and* disabled: the latter are withdrawn.
      const targets = c.entity_type === 'node_branding' ? c.affected_apps : c.affected_apps.length ? c.affected_apps.filter((a) => apps.includes(a)) : apps;
      for (const app of targets) mine.push({ node, app });
    }
    if (mine.some((p) => busy.has(`${p.node}/${p.app}`))) {
      deferred++; // that build read its snapshot before this change: plan again when it ends
      continue;
    }
    for (const p of mine) {
      const k = `${p.node}/${p.app}`;
      if (!pairs.has(k)) pairs.set(k, { ...p, triggeredBy: TRIGGERED_BY[c.trigger_type] ?? 'manual', change: c.id });
    }
    processed.push(c.id);
  }
  let deploys = 0;
  const queuedFor = new Set<string>();
  for (const p of pairs.values()) {
    if (await ensurePending(tx, p.node, p.app, p.triggeredBy, p.change)) {
      deploys++;
      queuedFor.add(p.node);
    }
  }
  if (queuedFor.size) {
    // Wake the other builders: this one planned deploys for their nodes, possibly after they
    // had already looked for work (their NOTIFY for the change came before this commit).
    // (A channel of its own: robbieblocks_change carries exactly one notification per change.)
    await tx.query(`SELECT pg_notify('robbieblocks_planned', $1)`, [JSON.stringify({ node_ids: [...queuedFor] })]);
  }
  if (processed.length) {
    await tx.query('UPDATE robbieblocks_change_triggers SET processed_at = now(), updated_at = now() WHERE id = ANY($1::uuid[])', [processed]);
  }
  return { changes: processed.length, deploys, deferred, seen: changes.rows.length };
}
