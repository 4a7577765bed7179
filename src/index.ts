// The library: every CLI command is a thin shell over these.
export { resolveConfig, type Config } from './config.js';
export { RobbieverseError, EXIT, type ErrorCode } from './errors.js';
export { openDatabase, type OpenedDb } from './db/open.js';
export { PgliteDb } from './db/pglite.js';
export { PostgresDb } from './db/postgres.js';
export { listen, type Listener, type ListenHandlers, type ListenOptions } from './db/listen.js';
export { serveSocket } from './db/socket.js';
export { detectCapabilities, type Capabilities, type Db, type DbCapabilities, type Queryable, type QueryResult } from './db/types.js';
export { migrate, type MigrateEvent, type MigrateResult } from './migrate/runner.js';
export { migrationStatus } from './migrate/status.js';
export { renderBundle } from './migrate/bundle.js';
export { embeddedMigrations } from './migrate/embedded.js';
export { loadMigrationsFromDir, type MigrationFile } from './migrate/files.js';
export { verifyDatabase, type VerifyReport, type CheckResult } from './verify/index.js';
export { withTenant, APP_ROLE, type TenantContext } from './tenancy/with-tenant.js';
export {
  startBlocksWorker,
  releaseSite,
  registerComponentLibrary,
  componentLibrarySql,
  seedDemoContent,
  requestDeploy,
  rollbackRelease,
  blocksStatus,
  listDeploys,
  listPages,
  type BlocksWorker,
  type BlocksWorkerOptions,
  type ReleaseSiteOptions,
  type BlocksEvent,
} from './blocks/index.js';
export { HybridClock, encodeHlc, decodeHlc, compareStamps, formatHlc, type Stamp } from './sync/hlc.js';
export { syncOverview, type SyncOverview, type OverviewNode, type OverviewApp, type OverviewDeploy } from './sync/overview.js';
