import type { FastifyInstance } from 'fastify';
import type { Db } from '../../db/types.js';
import { login, logout, refresh, type SessionLifetimes } from '../auth/sessions.js';
import { admitSignIn, pruneThrottle, signInSucceeded, throttleSubjects, type ThrottleLimits } from '../auth/throttle.js';
import { credentialFrom, tokenKind } from '../auth/tokens.js';
import { ApiError, unauthorized } from '../errors.js';

const sessionSchema = {
  type: 'object',
  properties: {
    token: { type: 'string', description: 'access token: send as "Authorization: Bearer <token>"' },
    expires_at: { type: 'string', format: 'date-time' },
    refresh_token: { type: 'string', description: 'exchange at POST /api/auth/refresh before expires_at; keep it secret' },
    refresh_expires_at: { type: 'string', format: 'date-time' },
    user: {
      type: 'object',
      properties: {
        id: { type: 'string' }, email: { type: 'string' }, first_name: { type: ['string', 'null'] }, last_name: { type: ['string', 'null'] },
        role: { type: 'string' }, org_id: { type: 'string' },
      },
    },
  },
};

export async function authRoutes(api: FastifyInstance, db: Db, lifetimes: SessionLifetimes, throttle: ThrottleLimits): Promise<void> {
  api.post('/auth/login', {
    config: { public: true },
    schema: {
      tags: ['Auth'], summary: 'Sign in with e-mail and password', security: [],
      description:
        'Returns a short-lived access token and a refresh token. Wrong e-mail and wrong password give the same 401. ' +
        'Repeated failures for one e-mail (known or not) or from one address slow sign-in down and then lock it for a while: ' +
        '429 too_many_attempts with Retry-After, also for the right password.',
      body: {
        type: 'object', additionalProperties: false, required: ['email', 'password'],
        properties: {
          email: { type: 'string', minLength: 3, maxLength: 255 },
          password: { type: 'string', minLength: 1, maxLength: 1024 },
          org_id: { type: 'string', format: 'uuid', description: 'organization to act in (default: your home organization)' },
        },
      },
      response: { 200: sessionSchema, '4xx': { $ref: 'error#' } },
    },
  }, async (req) => {
    const b = req.body as { email: string; password: string; org_id?: string };
    const subjects = throttleSubjects(b.email, req.ip);
    await admitSignIn(db, subjects, throttle);
    try {
      const session = await login(db, { email: b.email, password: b.password, orgId: b.org_id }, {
        lifetimes, requestId: String(req.id), client: { ip: req.ip, userAgent: req.headers['user-agent'] },
      });
      await signInSucceeded(db, subjects, throttle);
      return session;
    } catch (err) {
      // The password was right but something else refused (no membership): not a guess.
      if (err instanceof ApiError && err.code !== 'invalid_credentials') await signInSucceeded(db, subjects, throttle);
      else {
        req.log.info({ throttle: 'failed sign-in' }, 'failed sign-in');
        await pruneThrottle(db, throttle);
      }
      throw err;
    }
  });

  api.post('/auth/refresh', {
    config: { public: true },
    schema: {
      tags: ['Auth'], summary: 'Exchange a refresh token for new tokens', security: [],
      description: 'Both tokens rotate: the old access and refresh tokens stop working.',
      body: { type: 'object', additionalProperties: false, required: ['refresh_token'], properties: { refresh_token: { type: 'string', minLength: 1, maxLength: 200 } } },
      response: { 200: sessionSchema, '4xx': { $ref: 'error#' } },
    },
  }, async (req) => {
    const token = (req.body as { refresh_token: string }).refresh_token;
    if (tokenKind(token) !== 'refresh') throw new ApiError(401, 'invalid_refresh_token', 'that is not a refresh token; send the refresh_token that login returned');
    return refresh(db, token, {
      lifetimes, requestId: String(req.id), client: { ip: req.ip, userAgent: req.headers['user-agent'] },
      onReuse: (r) => req.log.warn({ session_id: r.sessionId, user_id: r.userId, revoked: r.revokedNow }, 'refresh token reused: session revoked'),
    });
  });

  api.post('/auth/logout', {
    schema: { tags: ['Auth'], summary: 'Sign out: revoke this access token\'s session', response: { 204: { type: 'null' }, '4xx': { $ref: 'error#' } } },
  }, async (req, reply) => {
    const token = credentialFrom(req.headers);
    if (!token || tokenKind(token) !== 'access') throw unauthorized('send the access token to sign out as "Authorization: Bearer <token>"');
    if (!(await logout(db, token, String(req.id)))) throw new ApiError(401, 'unauthorized', 'that session is unknown or already signed out');
    reply.code(204);
    return null;
  });
}
