import type { Db } from '../db/types.js';
import { RobbieverseError } from '../errors.js';
import { generatePassword } from './accounts.js';
import { grantOperator } from './auth/operators.js';
import { hashPassword } from './auth/passwords.js';

/** The seeded Default Organization (schema/027-seed-data.sql). */
export const DEFAULT_ORG_ID = '00000000-0000-4000-8000-000000000001';
export const DEFAULT_ADMIN_EMAIL = 'admin@localhost';

export type FirstAdmin = { created: false } | { created: true; email: string; password: string; orgId: string };

/**
 * On a database where nobody can sign in (no active user with an argon2id password), creates
 * an owner of the Default Organization, also a platform operator, with a generated password and returns it — the only
 * time it is ever available. Otherwise does nothing. Serialised by an advisory lock, so two
 * processes starting at once create one admin.
 */
export async function ensureFirstAdmin(db: Db, opts: { email?: string } = {}): Promise<FirstAdmin> {
  const email = (opts.email ?? DEFAULT_ADMIN_EMAIL).trim().toLowerCase();
  if (!/^[^\s@]+@[^\s@]+$/.test(email)) {
    throw new RobbieverseError('E_USAGE', `"${opts.email}" is not an e-mail address`, { hint: 'pass --admin-email you@example.com (or set ROBBIEVERSE_ADMIN_EMAIL)' });
  }
  if (await someoneCanSignIn(db)) return { created: false };
  // Hashing is slow (argon2id); do it before taking the lock, and throw it away if we lose the race.
  const password = generatePassword();
  const hash = await hashPassword(password);
  return db.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('robbieverse.first-admin'))`);
    if (await someoneCanSignIn(tx)) return { created: false } as const;
    await tx.query(
      `INSERT INTO organizations (id, name, org_type, status, settings)
       VALUES ($1::uuid, 'Default Organization', 'personal', 'active', '{}') ON CONFLICT (id) DO NOTHING`,
      [DEFAULT_ORG_ID],
    );
    // An existing account with that e-mail (e.g. one without a usable password) becomes the admin.
    const { rows } = await tx.query<{ id: string }>(
      `WITH existing AS (
         UPDATE users SET password_hash = $3, is_active = true, role = 'admin', updated_at = now()
          WHERE lower(email) = $2 RETURNING id
       ), created AS (
         INSERT INTO users (org_id, email, password_hash, first_name, last_name, role)
         SELECT $1::uuid, $2, $3, 'Admin', NULL, 'admin' WHERE NOT EXISTS (SELECT 1 FROM existing)
         RETURNING id
       )
       SELECT id FROM existing UNION ALL SELECT id FROM created`,
      [DEFAULT_ORG_ID, email, hash],
    );
    const userId = rows[0]!.id;
    await tx.query(
      `INSERT INTO organization_memberships (org_id, user_id, role) VALUES ($1::uuid, $2::uuid, 'owner')
       ON CONFLICT (org_id, user_id) DO UPDATE SET role = 'owner', is_active = true`,
      [DEFAULT_ORG_ID, userId],
    );
    await grantOperator(tx, userId, 'the first admin robbieverse up created');
    return { created: true, email, password, orgId: DEFAULT_ORG_ID } as const;
  });
}

async function someoneCanSignIn(q: Pick<Db, 'query'>): Promise<boolean> {
  const { rows } = await q.query<{ yes: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM users WHERE coalesce(is_active, true) AND password_hash LIKE '$argon2%') AS yes`,
  );
  return rows[0]!.yes;
}
