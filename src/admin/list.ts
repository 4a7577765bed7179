import type { Queryable } from '../db/types.js';
import { RobbieverseError } from '../errors.js';

/** Read-only listings for account administration; they run as the database owner (all organizations). */

export interface OrganizationRow {
  id: string;
  name: string;
  domain: string | null;
  org_type: string | null;
  status: string | null;
  members: number;
  created_at: string;
}

export async function listOrganizations(q: Queryable): Promise<OrganizationRow[]> {
  const { rows } = await q.query<OrganizationRow>(
    `SELECT o.id, o.name, o.domain, o.org_type, o.status,
            (SELECT count(*) FROM organization_memberships m WHERE m.org_id = o.id AND m.is_active)::int AS members,
            to_json(o.created_at) #>> '{}' AS created_at
       FROM organizations o ORDER BY o.created_at, o.name`,
  );
  return rows;
}

export interface UserRow {
  id: string;
  email: string;
  first_name: string | null;
  last_name: string | null;
  org_id: string;
  organization: string;
  role: string;
  membership_active: boolean;
  user_active: boolean;
  /** Whether the account has a password it can sign in with (argon2id). */
  can_sign_in: boolean;
  last_login: string | null;
}

/** One row per membership (a user in two organizations appears twice). */
export async function listUsers(q: Queryable, where: { orgId?: string } = {}): Promise<UserRow[]> {
  const { rows } = await q.query<UserRow>(
    `SELECT u.id, u.email, u.first_name, u.last_name, m.org_id, o.name AS organization, m.role,
            m.is_active AS membership_active, coalesce(u.is_active, true) AS user_active,
            (u.password_hash LIKE '$argon2%') AS can_sign_in,
            to_json(u.last_login) #>> '{}' AS last_login
       FROM users u
       JOIN organization_memberships m ON m.user_id = u.id
       JOIN organizations o ON o.id = m.org_id
      WHERE ($1::uuid IS NULL OR m.org_id = $1::uuid)
      ORDER BY o.name, u.email`,
    [where.orgId ?? null],
  );
  return rows;
}

export async function findUserByEmail(q: Queryable, email: string): Promise<{ id: string; email: string }> {
  const { rows } = await q.query<{ id: string; email: string }>(`SELECT id, email FROM users WHERE lower(email) = lower($1)`, [email.trim()]);
  if (!rows[0]) throw new RobbieverseError('E_USAGE', `no account with e-mail ${email}`, { hint: 'list them with robbieverse users list, or create one with robbieverse users create' });
  return rows[0];
}
