import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addOperator } from '../../src/api/auth/operators.js';
import { purgeSyncLog } from '../../src/sync/purge.js';
import { engineName } from '../helpers/db.js';
import { startApi, type ApiHarness } from '../helpers/api.js';

describe(`GET /api/sync/status (${engineName})`, () => {
  let h: ApiHarness;
  let operator: string;
  let orgAdmin: string;
  let member: string;

  beforeAll(async () => {
    h = await startApi();
    const org = await h.org('Sync Status Org');
    operator = (await h.user(org, 'ops@sync-status.test', 'member')).token;
    await addOperator(h.db, { email: 'ops@sync-status.test' });
    orgAdmin = (await h.user(org, 'admin@sync-status.test', 'owner')).token;
    member = (await h.user(org, 'member@sync-status.test', 'member')).token;
  });
  afterAll(async () => h?.close());

  it('on a database that does not sync: role null and no nodes (and there is no log to purge)', async () => {
    const r = await h.call('GET', '/api/sync/status', { token: operator });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toEqual({ role: null, node_key: null, nodes: [] });
    await expect(purgeSyncLog(h.db)).rejects.toMatchObject({ code: 'E_USAGE' });
  });

  it('overview on a database that does not sync: every branded node, health null, sync standalone', async () => {
    const r = await h.call('GET', '/api/sync/overview', { token: operator });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ role: null, node_key: null, attention: false });
    // the seed brands four nodes; none has deployed
    expect(r.body.nodes.map((n: { node_key: string }) => n.node_key)).toEqual(['aurora-town-local', 'collaboration-local', 'fluenti-local', 'vengeance-local']);
    for (const n of r.body.nodes) {
      expect(n).toMatchObject({ sync: 'standalone', health: null, lag_ms: null, inbound_backlog: null, attention: false });
      for (const a of n.apps) expect(a).toMatchObject({ enabled: true, last_deploy: null, in_progress: null });
    }
  });

  it('refuses organization owners and members who are not platform operators (403, the error shape), and anonymous callers (401)', async () => {
    for (const path of ['/api/sync/status', '/api/sync/overview']) {
      for (const token of [orgAdmin, member]) {
        const r = await h.call('GET', path, { token });
        expect(r.status).toBe(403);
        expect(r.body.error).toMatchObject({ code: 'operator_required' });
        expect(r.body.error.message).toMatch(/operators add/);
        expect(typeof r.body.error.request_id).toBe('string');
      }
      expect((await h.call('GET', path)).status).toBe(401);
    }
  });

  it('app_sync_overview() itself refuses a session that is not an operator\'s', async () => {
    await expect(h.db.transaction(async (tx) => {
      await tx.exec('SET LOCAL ROLE robbie_app');
      await tx.query('SELECT app_sync_overview()');
    })).rejects.toThrow(/the sync overview is for platform operators/);
  });

  it('on the master: one row per registered node with the status fields', async () => {
    await h.db.query(`SELECT sync.become_hub('status-master')`);
    await h.db.query(`SELECT sync.register_node('status-node-a', NULL, NULL)`);
    const r = await h.call('GET', '/api/sync/status', { token: operator });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ role: 'hub', node_key: 'status-master' });
    // register_node alone does not make a node visible to status until it has contacted the hub;
    // a hello does
    await h.db.query(`SELECT sync.hello('status-node-a', sync.schema_version())`);
    const s = await h.call('GET', '/api/sync/status', { token: operator });
    const node = s.body.nodes.find((n: { node_key: string }) => n.node_key === 'status-node-a');
    expect(node).toMatchObject({ node_type: 'replica', enabled: true, health: 'never_synced', schema_match: true, parked: 0, conflicts_24h: 0, last_error: null });
    expect(Object.keys(node).sort()).toEqual(
      ['clock_offset_ms', 'conflicts_24h', 'enabled', 'health', 'inbound_backlog', 'last_contact_at', 'last_error', 'last_pull_at', 'last_push_at', 'node_id', 'node_key',
        'node_type', 'outbound_backlog', 'parked', 'schema_match', 'schema_version'],
    );
    expect(node.last_contact_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect((await h.call('GET', '/api/sync/status', { token: member })).status).toBe(403);
  });

  it('is in the OpenAPI document with its response schema', async () => {
    const r = await h.call('GET', '/openapi.json');
    const op = r.body.paths['/api/sync/status'].get;
    expect(op.responses['200'].content['application/json'].schema.properties.nodes.items.properties.health.enum).toContain('never_synced');
    const ov = r.body.paths['/api/sync/overview'].get.responses['200'].content['application/json'].schema;
    expect(ov.properties.nodes.items.properties.apps.items.properties.last_deploy.properties.status.enum).toEqual(['success', 'failed', 'skipped']);
    expect(ov.properties.nodes.items.properties.lag_ms.description).toMatch(/oldest change waiting/);
  });
});
