import type { Logger } from 'pino';
import { PostgresDb } from '../db/postgres.js';
import type { Db, Queryable } from '../db/types.js';
import { RobbieverseError } from '../errors.js';
import { exchange, recordFailedExchange, type ExchangeResult } from './exchange.js';
import { redactMasterUrl, requireSyncSettings, type SyncSettings } from './settings.js';

/** Opens the hub as this node's role; an unreachable hub is E_CONNECT (exit 5). */
export async function openHub(settings: SyncSettings, logger?: Logger): Promise<Db> {
  try {
    return await PostgresDb.open(settings.masterUrl, { max: 1, applicationName: `robbieverse-sync ${settings.nodeKey}`, logger });
  } catch (err) {
    throw new RobbieverseError('E_CONNECT', `the master ${redactMasterUrl(settings.masterUrl)} is unreachable: ${((err as Error).cause as Error | undefined)?.message ?? (err as Error).message}`, {
      hint: 'local changes are kept in the change log and move once it is reachable; check the network and that the master runs',
      cause: err,
    });
  }
}

/** `sync once`: one push and one pull, both drained. */
export async function syncOnce(local: Db, home: string, o: { logger?: Logger; batchSize?: number } = {}): Promise<ExchangeResult> {
  const settings = requireSyncSettings(home);
  await assertJoined(local, settings);
  const startedAt = new Date();
  let hub: Db;
  try {
    hub = await openHub(settings, o.logger);
  } catch (err) {
    await recordFailedExchange(local, startedAt, err as Error);
    throw err;
  }
  try {
    return await exchange({ local, hub, nodeKey: settings.nodeKey, batchSize: o.batchSize, logger: o.logger });
  } finally {
    await hub.close();
  }
}

/** The settings file and the database must describe the same node. */
export async function assertJoined(local: Queryable, settings: SyncSettings): Promise<void> {
  const { rows } = await local.query<{ node_id: string; role: string }>('SELECT node_id::text, role FROM sync.local');
  const l = rows[0];
  if (!l || l.role !== 'node' || l.node_id !== settings.nodeId) {
    throw new RobbieverseError('E_USAGE', l ? `this database is not node "${settings.nodeKey}" of the sync settings file` : 'this database has not joined a master (its sync settings belong to another database)', {
      hint: 'run `robbieverse sync join --master URL --node KEY` for this database',
    });
  }
}
