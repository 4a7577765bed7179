import type { Db } from '../db/types.js';
import { asServerError, RobbieverseError } from '../errors.js';
import { hashPassword, passwordProblem } from './auth/passwords.js';
import type { Role } from './auth/roles.js';
import { isUuid } from './ids.js';

export interface CreatedUser {
  id: string;
  email: string;
  org_id: string;
  role: Role;
}

/** Creates an organization; returns its id. Administrative: runs as the database owner. */
export async function createOrganization(db: Db, input: { name: string; domain?: string; orgType?: 'personal' | 'corporate' | 'nonprofit' }): Promise<{ id: string; name: string }> {
  const { rows } = await db.query<{ id: string; name: string }>(
    `INSERT INTO organizations (name, domain, org_type, status) VALUES ($1, $2, $3, 'active') RETURNING id, name`,
    [input.name, input.domain ?? null, input.orgType ?? 'corporate'],
  );
  return rows[0]!;
}

/** Looks an organization up by id or exact name. */
export async function findOrganization(db: Pick<Db, 'query'>, idOrName: string): Promise<{ id: string; name: string }> {
  const uuid = isUuid(idOrName);
  const { rows } = await db.query<{ id: string; name: string }>(
    `SELECT id, name FROM organizations WHERE ${uuid ? 'id = $1::uuid' : 'name = $1'} ORDER BY created_at LIMIT 2`,
    [idOrName],
  );
  if (!rows.length) throw new RobbieverseError('E_USAGE', `no organization "${idOrName}"`, { hint: 'list them with robbieverse orgs list, or create one with robbieverse orgs create --name …' });
  if (rows.length > 1) throw new RobbieverseError('E_USAGE', `more than one organization is named "${idOrName}"`, { hint: 'pass its id instead (robbieverse orgs list)' });
  return rows[0]!;
}

export type MembershipChange = 'created' | 'role_changed' | 'unchanged';

/** The database's last-owner rule (migration 029) as raised by its trigger. */
export function isLastOwnerError(err: unknown): boolean {
  const e = asServerError(err);
  return e?.code === '23514' && e.constraint === 'organization_memberships_last_owner';
}

/**
 * Creates a user with an argon2id password hash and a membership with `role` (default member)
 * in `orgId`, their home organization. For an e-mail that has an account already nothing about
 * the account changes: a missing membership in `orgId` is added, and an existing one changes
 * only when `role` is given (never leaving the organization without an owner).
 */
export async function createUser(
  db: Db,
  input: { email: string; password: string; orgId: string; role?: Role; firstName?: string; lastName?: string; platformRole?: string },
): Promise<CreatedUser & { existed: boolean; membership: MembershipChange; previousRole?: Role }> {
  const email = input.email.trim().toLowerCase();
  if (!/^[^\s@]+@[^\s@]+$/.test(email)) throw new RobbieverseError('E_USAGE', `"${input.email}" is not an e-mail address`);
  const problem = passwordProblem(input.password);
  if (problem) throw new RobbieverseError('E_USAGE', problem, { hint: 'leave --password out to have a strong one generated and printed once' });
  const hash = await hashPassword(input.password);
  return db.transaction(async (tx) => {
    const existing = await tx.query<{ id: string }>(`SELECT id FROM users WHERE lower(email) = $1`, [email]);
    let id = existing.rows[0]?.id;
    if (!id) {
      const role = input.role ?? 'member';
      id = (await tx.query<{ id: string }>(
        `INSERT INTO users (org_id, email, password_hash, first_name, last_name, role)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
        [input.orgId, email, hash, input.firstName ?? null, input.lastName ?? null, input.platformRole ?? (role === 'owner' || role === 'admin' ? 'admin' : 'user')],
      )).rows[0]!.id;
    }
    const current = (await tx.query<{ role: Role; is_active: boolean }>(
      `SELECT role, is_active FROM organization_memberships WHERE org_id = $1 AND user_id = $2 FOR UPDATE`, [input.orgId, id])).rows[0];
    const base = { id, email, org_id: input.orgId, existed: Boolean(existing.rows[0]) };
    if (!current) {
      const role = input.role ?? 'member';
      await tx.query(`INSERT INTO organization_memberships (org_id, user_id, role) VALUES ($1, $2, $3)`, [input.orgId, id, role]);
      return { ...base, role, membership: 'created' as const };
    }
    if (!input.role || (input.role === current.role && current.is_active)) {
      return { ...base, role: current.role, membership: 'unchanged' as const };
    }
    try {
      await tx.query(`UPDATE organization_memberships SET role = $3, is_active = true, updated_at = now() WHERE org_id = $1 AND user_id = $2`, [input.orgId, id, input.role]);
    } catch (err) {
      if (!isLastOwnerError(err)) throw err;
      throw new RobbieverseError('E_USAGE', `${email} is the last owner of the organization; it keeps at least one owner`, {
        hint: 'make someone else owner first (robbieverse users create --email … --org … --role owner), then change this role',
      });
    }
    return { ...base, role: input.role, membership: 'role_changed' as const, previousRole: current.role };
  });
}

/** Sets a new password (argon2id) for an account. */
export async function setPassword(db: Db, email: string, password: string): Promise<void> {
  const problem = passwordProblem(password);
  if (problem) throw new RobbieverseError('E_USAGE', problem);
  const { rowCount } = await db.query(`UPDATE users SET password_hash = $2 WHERE lower(email) = lower($1)`, [email, await hashPassword(password)]);
  if (!rowCount) throw new RobbieverseError('E_USAGE', `no account with e-mail ${email}`);
}

/** The default password generator: 20 characters from a 56-letter alphabet (~116 bits). */
export function generatePassword(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  const bytes = new Uint32Array(20);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
}
