import { RobbieverseError } from '../errors.js';
import type { Db, Queryable } from '../db/types.js';

/** The application role of the schema (module 026): row-level security applies to it. */
export const APP_ROLE = 'robbie_app';

export interface TenantContext {
  orgId: string;
  /** The acting user. When set, the database checks an active membership (app_set_context). */
  userId?: string;
  /** The database role to act as; default robbie_app. */
  role?: string;
}

const ROLE_NAME = /^[a-z_][a-z0-9_]*$/;

/**
 * Runs `fn` in one transaction as organization `orgId` (and user `userId`), under the
 * application role, so every statement is filtered by row-level security. The settings are
 * transaction-local: nothing leaks to the next user of a pooled connection.
 */
export async function withTenant<T>(db: Db, ctx: TenantContext, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  const role = ctx.role ?? APP_ROLE;
  if (!ROLE_NAME.test(role)) throw new RobbieverseError('E_USAGE', `"${role}" is not a valid role name`);
  return db.transaction(async (tx) => {
    if (ctx.userId) {
      // Checks the membership as the definer, then sets app.org_id and app.user_id locally.
      await tx.query('SELECT app_set_context($1::uuid, $2::uuid)', [ctx.orgId, ctx.userId]);
    } else {
      await tx.query(`SELECT set_config('app.org_id', $1::uuid::text, true), set_config('app.user_id', '', true)`, [ctx.orgId]);
    }
    await tx.exec(`SET LOCAL ROLE ${role}`);
    return fn(tx);
  });
}
