import type { FastifyInstance } from 'fastify';
import type { Queryable } from '../../db/types.js';
import { RobbieverseError } from '../../errors.js';
import { answerInvitation, insertInvitation, listInvitations, OUTCOME_TEXT, revokeInvitation, type Answer, type CreatedInvitation } from '../../admin/invitations.js';
import { isLastOwnerError } from '../accounts.js';
import type { Role } from '../auth/roles.js';
import { ApiError, badRequest, forbidden, notFound } from '../errors.js';
import type { Principal } from '../auth/principal.js';
import type { RequestContext } from '../request-context.js';

const uuid = { type: 'string', format: 'uuid' } as const;
const idParams = { type: 'object', required: ['id'], properties: { id: uuid }, additionalProperties: false } as const;
const err = { '4xx': { $ref: 'error#' } } as const;
const roleEnum = { type: 'string', enum: ['owner', 'admin', 'member', 'viewer'] } as const;
const one = async (tx: Queryable, sql: string, args: unknown[]) => (await tx.query<{ r: unknown }>(sql, args)).rows[0]?.r;

const lastOwner = () => new ApiError(409, 'last_owner', 'an organization keeps at least one owner; make someone else owner first');
/** The database's last-owner trigger (migration 029) as the API's 409, whatever the route checked before. */
async function keepingAnOwner<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw isLastOwnerError(e) ? lastOwner() : e;
  }
}

/**
 * Members of the current organization and invitations. People join an organization only by
 * accepting an invitation addressed to their e-mail; no route tells whether an e-mail has an account.
 */
export async function membersRoutes(api: FastifyInstance, rc: RequestContext): Promise<void> {
  const members = (where: string) => `SELECT row_to_json(x) AS r FROM (
      SELECT m.id, m.user_id, u.email, u.first_name, u.last_name, m.role, m.is_active, m.joined_at
        FROM organization_memberships m JOIN users u ON u.id = m.user_id
       WHERE m.org_id = app_current_org_id() AND ${where}) x`;
  const memberSelect = members('m.id = $1');

  api.get('/members', { schema: { tags: ['Organizations'], summary: 'Members of the current organization', response: err } }, async (req) =>
    rc.run(req, 'viewer', async (tx) => {
      const { rows } = await tx.query<{ r: unknown }>(members('true') + ' ORDER BY x.email', []);
      return { data: rows.map((r) => r.r), next_cursor: null };
    }));

  // Invitations (admin side) ---------------------------------------------------------------------
  const inviteBody = {
    type: 'object', additionalProperties: false, required: ['email'],
    properties: { email: { type: 'string', minLength: 3, maxLength: 255 }, role: roleEnum, expires_in_days: { type: 'integer', minimum: 1, maximum: 90 } },
  } as const;
  const invite = (req: Parameters<RequestContext['run']>[0]) => rc.run(req, 'admin', async (tx, p): Promise<CreatedInvitation> => {
    const b = req.body as { email: string; role?: Role; expires_in_days?: number };
    const role = b.role ?? 'member';
    if (role === 'owner' && p.role !== 'owner') throw forbidden('only an owner may invite an owner');
    try {
      return await insertInvitation(tx, { orgId: p.orgId, email: b.email, role, invitedBy: p.userId, days: b.expires_in_days });
    } catch (e) {
      if (e instanceof RobbieverseError && e.code === 'E_USAGE') throw badRequest(e.message);
      throw e;
    }
  });
  const inviteDescription =
    'Answers the same whether or not the e-mail has an account. The invitee accepts signed in as that e-mail ' +
    '(GET /api/me/invitations, POST /api/invitations/{id}/accept) or with the token, which is shown only here. ' +
    'An open invitation for the same e-mail is replaced.';

  api.post('/invitations', {
    schema: { tags: ['Organizations'], summary: 'Invite someone to the current organization (admin)', description: inviteDescription, body: inviteBody, response: err },
  }, async (req, reply) => {
    const r = await invite(req);
    reply.code(201);
    return r;
  });

  api.post('/members', {
    schema: {
      tags: ['Organizations'], summary: 'Invite someone (admin); same as POST /api/invitations',
      description: 'Adds nobody directly: it makes an invitation that the person accepts. ' + inviteDescription,
      body: inviteBody, response: err,
    },
  }, async (req, reply) => {
    const r = await invite(req);
    reply.code(202);
    return r;
  });

  api.get('/invitations', {
    schema: {
      tags: ['Organizations'], summary: 'Invitations of the current organization, newest first (admin)',
      querystring: { type: 'object', additionalProperties: false, properties: { status: { type: 'string', enum: ['pending', 'all'] } } },
      response: err,
    },
  }, async (req) => rc.run(req, 'admin', async (tx, p) => {
    const q = req.query as { status?: 'pending' | 'all' };
    const rows = await listInvitations(tx, { orgId: p.orgId, openOnly: q.status !== 'all' });
    return { data: rows.map(({ organization: _o, ...r }) => r), next_cursor: null };
  }));

  api.delete('/invitations/:id', { schema: { tags: ['Organizations'], summary: 'Revoke an open invitation (admin)', params: idParams, response: err } }, async (req, reply) => {
    const id = (req.params as { id: string }).id;
    await rc.run(req, 'admin', async (tx, p) => {
      const r = await revokeInvitation(tx, id, p.userId);
      if (!r) throw notFound(`invitation ${id}`);
      if (r === 'closed') throw new ApiError(409, 'invitation_closed', 'this invitation was already accepted, declined or revoked');
    });
    reply.code(204);
    return null;
  });

  // Invitations (invitee side) -------------------------------------------------------------------
  const asPerson = (p: Principal) => {
    if (p.via === 'api_key') throw forbidden('invitations are answered by a signed-in user, not an API key');
  };
  api.get('/me/invitations', { schema: { tags: ['Account'], summary: 'Open invitations addressed to your e-mail', response: err } }, async (req) =>
    rc.run(req, 'viewer', async (tx) => {
      const { rows } = await tx.query<{ r: unknown }>(`SELECT row_to_json(x) AS r FROM app_my_invitations() x`, []);
      return { data: rows.map((r) => r.r), next_cursor: null };
    }));

  const answered = async (tx: Queryable, a: Answer) => {
    if (a.outcome === 'not_found') throw new ApiError(404, 'not_found', OUTCOME_TEXT.not_found);
    if (a.outcome === 'expired') throw new ApiError(410, 'invitation_expired', OUTCOME_TEXT.expired);
    if (a.outcome === 'revoked') throw new ApiError(410, 'invitation_revoked', OUTCOME_TEXT.revoked);
    if (a.outcome === 'used') throw new ApiError(409, 'invitation_used', OUTCOME_TEXT.used);
    if (a.outcome === 'already_member') throw new ApiError(409, 'already_member', OUTCOME_TEXT.already_member);
    const org = (await tx.query<{ name: string }>(`SELECT name FROM organizations WHERE id = $1`, [a.org_id])).rows[0];
    return {
      outcome: a.outcome, invitation_id: a.invitation_id, org_id: a.org_id, organization: org?.name ?? null, role: a.role,
      ...(a.outcome === 'accepted' ? { membership_id: a.membership_id, next: 'to act in it, sign in with {"org_id": "<org_id>"} (POST /api/auth/login)' } : {}),
    };
  };
  for (const [verb, accept] of [['accept', true], ['decline', false]] as const) {
    api.post(`/invitations/:id/${verb}`, {
      schema: { tags: ['Account'], summary: `${verb === 'accept' ? 'Accept' : 'Decline'} an invitation addressed to your e-mail`, params: idParams, response: err },
    }, async (req) => rc.run(req, 'viewer', async (tx, p) => {
      asPerson(p);
      return answered(tx, await answerInvitation(tx, { id: (req.params as { id: string }).id }, accept));
    }));
    api.post(`/invitations/${verb}`, {
      schema: {
        tags: ['Account'], summary: `${verb === 'accept' ? 'Accept' : 'Decline'} an invitation by its token (signed in as the invited e-mail)`,
        body: { type: 'object', additionalProperties: false, required: ['token'], properties: { token: { type: 'string', minLength: 10, maxLength: 200 } } },
        response: err,
      },
    }, async (req) => rc.run(req, 'viewer', async (tx, p) => {
      asPerson(p);
      return answered(tx, await answerInvitation(tx, { token: (req.body as { token: string }).token }, accept));
    }));
  }

  // Changing and removing members ----------------------------------------------------------------
  async function guardOwnerChange(tx: Queryable, actor: Role, id: string, next: { role?: Role; is_active?: boolean }): Promise<void> {
    const cur = (await tx.query<{ role: Role; owners: number }>(
      `SELECT m.role, (SELECT count(*)::int FROM organization_memberships o WHERE o.org_id = m.org_id AND o.role = 'owner' AND o.is_active) AS owners
         FROM organization_memberships m WHERE m.id = $1 AND m.org_id = app_current_org_id()`, [id])).rows[0];
    if (!cur) throw notFound(`membership ${id}`);
    const touchesOwner = cur.role === 'owner' || next.role === 'owner';
    if (touchesOwner && actor !== 'owner') throw forbidden('only an owner may change or remove an owner');
    const losesOwner = cur.role === 'owner' && (next.is_active === false || (next.role !== undefined && next.role !== 'owner'));
    if (losesOwner && cur.owners <= 1) throw lastOwner();
  }

  api.patch('/members/:id', {
    schema: {
      tags: ['Organizations'], summary: 'Change a member\'s role or deactivate them (admin)', params: idParams,
      body: { type: 'object', additionalProperties: false, minProperties: 1, properties: { role: roleEnum, is_active: { type: 'boolean' } } },
      response: err,
    },
  }, async (req) => {
    const id = (req.params as { id: string }).id;
    const b = req.body as { role?: Role; is_active?: boolean };
    return rc.run(req, 'admin', async (tx, p) => {
      await guardOwnerChange(tx, p.role, id, b);
      await keepingAnOwner(() => tx.query(
        `UPDATE organization_memberships SET role = coalesce($2, role), is_active = coalesce($3, is_active), updated_at = now() WHERE id = $1`,
        [id, b.role ?? null, b.is_active ?? null]));
      return one(tx, memberSelect, [id]);
    });
  });

  // Removing deactivates: rows that name the member (owner_id, assigned_to, …) stay valid and keep
  // their history, and access ends at once. A new invitation makes them active again.
  api.delete('/members/:id', {
    schema: {
      tags: ['Organizations'], summary: 'Remove a member (admin): their membership is deactivated', params: idParams,
      description: 'Their access ends at once; rows that name them keep doing so. Invite them again to re-activate.',
      response: err,
    },
  }, async (req, reply) => {
    const id = (req.params as { id: string }).id;
    await rc.run(req, 'admin', async (tx, p) => {
      await guardOwnerChange(tx, p.role, id, { is_active: false });
      await keepingAnOwner(() => tx.query(`UPDATE organization_memberships SET is_active = false, updated_at = now() WHERE id = $1`, [id]));
    });
    reply.code(204);
    return null;
  });
}
