import { randomBytes } from 'node:crypto';
import type { Db, Queryable } from '../db/types.js';
import { RobbieverseError } from '../errors.js';
import { hashToken } from '../api/auth/tokens.js';
import type { Role } from '../api/auth/roles.js';

/**
 * Invitations to an organization (migration 029). The token is shown once, when the invitation is
 * made; only its SHA-256 is stored. The invitee accepts signed in as the invited e-mail (API), or
 * an operator accepts with the token for the account that has that e-mail (CLI).
 */

export const INVITATION_PREFIX = 'rvi_';
export const INVITATION_DAYS = 7;

export interface InvitationRow {
  id: string;
  org_id: string;
  email: string;
  role: Role;
  status: 'pending' | 'accepted' | 'declined' | 'revoked' | 'expired';
  created_at: string;
  expires_at: string;
}

/** What creating an invitation answers: the same whether or not the e-mail has an account. */
export interface CreatedInvitation extends InvitationRow {
  token: string;
}

export function newInvitationToken(): { token: string; hash: string } {
  const token = INVITATION_PREFIX + randomBytes(32).toString('base64url');
  return { token, hash: hashToken(token) };
}

export function normalizeEmail(email: string): string {
  const e = email.trim().toLowerCase();
  if (!/^[^\s@]+@[^\s@]+$/.test(e) || e.length > 255) throw new RobbieverseError('E_USAGE', `"${email}" is not an e-mail address`);
  return e;
}

const STATUS = `CASE WHEN i.revoked_at IS NOT NULL THEN 'revoked' WHEN i.accepted_at IS NOT NULL THEN 'accepted'
                     WHEN i.declined_at IS NOT NULL THEN 'declined' WHEN i.expires_at <= now() THEN 'expired' ELSE 'pending' END`;
const COLUMNS = `i.id, i.org_id, i.email, i.role, ${STATUS} AS status,
                 to_json(i.created_at) #>> '{}' AS created_at, to_json(i.expires_at) #>> '{}' AS expires_at`;

/**
 * Makes an invitation in `orgId` (as an admin under row-level security in the API, or as the
 * database owner in the CLI). An open invitation for the same e-mail is replaced (revoked).
 */
export async function insertInvitation(
  tx: Queryable,
  input: { orgId: string; email: string; role: Role; invitedBy?: string | null; days?: number },
): Promise<CreatedInvitation> {
  const email = normalizeEmail(input.email);
  const days = input.days ?? INVITATION_DAYS;
  if (!Number.isInteger(days) || days < 1 || days > 90) throw new RobbieverseError('E_USAGE', 'an invitation lives 1 to 90 days');
  const { token, hash } = newInvitationToken();
  await tx.query(
    `UPDATE organization_invitations SET revoked_at = now(), revoked_by = $3
      WHERE org_id = $1 AND email = $2 AND accepted_at IS NULL AND declined_at IS NULL AND revoked_at IS NULL`,
    [input.orgId, email, input.invitedBy ?? null],
  );
  const { rows } = await tx.query<InvitationRow>(
    `WITH i AS (
       INSERT INTO organization_invitations (org_id, email, role, token_hash, invited_by, expires_at)
       VALUES ($1, $2, $3, $4, $5, now() + make_interval(days => $6::int)) RETURNING *)
     SELECT ${COLUMNS} FROM i`,
    [input.orgId, email, input.role, hash, input.invitedBy ?? null, days],
  );
  return { ...rows[0]!, token };
}

/** Invitations of one organization (or all, as the database owner), newest first. */
export async function listInvitations(q: Queryable, where: { orgId?: string; openOnly?: boolean } = {}): Promise<(InvitationRow & { organization: string })[]> {
  const { rows } = await q.query<InvitationRow & { organization: string }>(
    `SELECT ${COLUMNS}, o.name AS organization FROM organization_invitations i JOIN organizations o ON o.id = i.org_id
      WHERE ($1::uuid IS NULL OR i.org_id = $1::uuid)
        AND (NOT $2::boolean OR (i.accepted_at IS NULL AND i.declined_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > now()))
      ORDER BY i.created_at DESC, i.id`,
    [where.orgId ?? null, where.openOnly ?? false],
  );
  return rows;
}

/** Revokes an open invitation; `undefined` when there is none with that id (in view). */
export async function revokeInvitation(tx: Queryable, id: string, by?: string | null): Promise<InvitationRow | 'closed' | undefined> {
  const { rows } = await tx.query<InvitationRow>(
    `WITH i AS (
       UPDATE organization_invitations SET revoked_at = now(), revoked_by = $2
        WHERE id = $1 AND accepted_at IS NULL AND declined_at IS NULL AND revoked_at IS NULL RETURNING *)
     SELECT ${COLUMNS} FROM i`,
    [id, by ?? null],
  );
  if (rows[0]) return rows[0];
  const exists = await tx.query(`SELECT 1 FROM organization_invitations WHERE id = $1`, [id]);
  return exists.rows.length ? 'closed' : undefined;
}

export type AnswerOutcome = 'accepted' | 'declined' | 'not_found' | 'expired' | 'revoked' | 'used' | 'already_member';

export interface Answer {
  outcome: AnswerOutcome;
  invitation_id: string | null;
  org_id: string | null;
  role: Role | null;
  membership_id: string | null;
}

/** Accepts or declines as the current user (app.user_id): app_answer_invitation(), by id or token. */
export async function answerInvitation(tx: Queryable, by: { id?: string; token?: string }, accept: boolean): Promise<Answer> {
  const { rows } = await tx.query<Answer>(
    `SELECT outcome, invitation_id, org_id, role, membership_id FROM app_answer_invitation($1::uuid, $2, $3)`,
    [by.id ?? null, by.token ? hashToken(by.token.trim()) : null, accept],
  );
  return rows[0]!;
}

/** What an outcome means, for the CLI and the API alike. */
export const OUTCOME_TEXT: Record<Exclude<AnswerOutcome, 'accepted' | 'declined'>, string> = {
  not_found: 'no such invitation for your e-mail address',
  expired: 'this invitation has expired; ask an admin of the organization for a new one',
  revoked: 'this invitation was revoked; ask an admin of the organization for a new one',
  used: 'this invitation was already answered',
  already_member: 'you are already an active member of that organization',
};

/**
 * The CLI's accept/decline (as the database owner): the invitation named by its token is answered
 * for the account with the invited e-mail, which must exist (create it with `users create`).
 */
export async function answerInvitationByToken(db: Db, token: string, accept: boolean): Promise<Answer & { email: string; organization: string }> {
  return db.transaction(async (tx) => {
    const inv = (await tx.query<{ email: string; organization: string }>(
      `SELECT i.email, o.name AS organization FROM organization_invitations i JOIN organizations o ON o.id = i.org_id WHERE i.token_hash = $1`,
      [hashToken(token.trim())],
    )).rows[0];
    if (!inv) throw new RobbieverseError('E_USAGE', 'no invitation has that token', { hint: 'copy the whole token (rvi_…) printed by robbieverse invitations create' });
    const user = (await tx.query<{ id: string }>(`SELECT id FROM users WHERE lower(email) = $1`, [inv.email])).rows[0];
    if (!user) {
      throw new RobbieverseError('E_USAGE', `there is no account with e-mail ${inv.email} yet`, {
        hint: `create it first (robbieverse users create --email ${inv.email} --org <its home organization>), then accept again`,
      });
    }
    await tx.query(`SELECT set_config('app.user_id', $1, true), set_config('app.actor', 'system', true)`, [user.id]);
    const answer = await answerInvitation(tx, { token }, accept);
    if (answer.outcome !== 'accepted' && answer.outcome !== 'declined') {
      throw new RobbieverseError('E_USAGE', OUTCOME_TEXT[answer.outcome].replace(/^you are/, `${inv.email} is`), { hint: 'see robbieverse invitations list' });
    }
    return { ...answer, ...inv };
  });
}
