import type { Db, Queryable } from '../../db/types.js';
import { APP_ROLE } from '../../tenancy/with-tenant.js';
import { ApiError, forbidden, unauthorized } from '../errors.js';
import { atLeast, weaker, type Role } from './roles.js';
import { hashToken, tokenKind } from './tokens.js';

/** Who is acting, in which organization, with which role: derived from the token, never from the body. */
export interface Principal {
  userId: string;
  orgId: string;
  role: Role;
  email: string;
  via: 'session' | 'api_key';
  /** user_sessions.id or api_keys.id */
  credentialId: string;
}

// One statement checks the credential and, for a valid one, sets the transaction's tenant
// context (app.org_id, app.user_id, actor, request id) and drops to the application role, so
// row-level security applies to everything the route does afterwards. set_config(..., true) is
// transaction-local: nothing survives on the pooled connection.
const CONTEXT_COLUMNS = `
       set_config('app.org_id', x.org_id::text, true) AS _org,
       set_config('app.user_id', x.user_id::text, true) AS _user,
       set_config('app.actor', x.actor, true) AS _actor,
       set_config('app.api_key_id', x.key_id, true) AS _key,
       set_config('app.request_id', $2::text, true) AS _request,
       set_config('role', '${APP_ROLE}', true) AS _role`;

const SESSION_SQL = `
SELECT x.*, ${CONTEXT_COLUMNS}
  FROM (SELECT s.id::text AS credential_id, s.user_id, s.org_id, m.role, NULL::text AS role_cap, u.email,
               'user'::text AS actor, ''::text AS key_id
          FROM user_sessions s
          JOIN users u ON u.id = s.user_id AND u.is_active
          JOIN organization_memberships m ON m.org_id = s.org_id AND m.user_id = s.user_id AND m.is_active
         WHERE s.token_jti = $1 AND s.revoked_at IS NULL AND s.access_expires_at > now() AND s.expires_at > now()) x`;

const KEY_SQL = `
SELECT x.*, ${CONTEXT_COLUMNS}
  FROM (SELECT k.id::text AS credential_id, k.user_id, k.org_id, m.role, k.role AS role_cap, u.email,
               'api_key'::text AS actor, k.id::text AS key_id
          FROM api_keys k
          JOIN users u ON u.id = k.user_id AND u.is_active
          JOIN organization_memberships m ON m.org_id = k.org_id AND m.user_id = k.user_id AND m.is_active
         WHERE k.key_hash = $1 AND k.is_active AND k.revoked_at IS NULL
           AND (k.expires_at IS NULL OR k.expires_at > now())) x`;

interface Row {
  credential_id: string;
  user_id: string;
  org_id: string;
  role: Role;
  role_cap: Role | null;
  email: string;
}

/**
 * Runs `fn` in one transaction as the principal behind `credential`, with row-level security
 * on. Refuses (401) a missing, unknown, expired or revoked credential and (403) a role weaker
 * than `needed`; nothing of `fn` runs then.
 */
export async function withPrincipal<T>(
  db: Db,
  credential: string | undefined,
  requestId: string,
  needed: Role,
  fn: (tx: Queryable, p: Principal) => Promise<T>,
): Promise<T> {
  if (!credential) throw unauthorized();
  const kind = tokenKind(credential);
  if (kind !== 'access' && kind !== 'key') {
    throw unauthorized(
      kind === 'refresh'
        ? 'that is a refresh token: exchange it at POST /api/auth/refresh and send the access token it returns'
        : 'the credential is not a Robbieverse access token or API key; sign in at POST /api/auth/login',
    );
  }
  const hash = hashToken(credential);
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<Row>(kind === 'access' ? SESSION_SQL : KEY_SQL, [hash, requestId]);
    const row = rows[0];
    if (!row) throw await explainRefusal(tx, kind, hash);
    const role = weaker(row.role, row.role_cap);
    const p: Principal = {
      userId: row.user_id,
      orgId: row.org_id,
      role,
      email: row.email,
      via: kind === 'access' ? 'session' : 'api_key',
      credentialId: row.credential_id,
    };
    if (!atLeast(role, needed)) {
      throw forbidden(`this needs the ${needed} role or higher in the organization; ${p.via === 'api_key' ? 'this API key acts' : 'you are'} ${role}`);
    }
    return fn(tx, p);
  });
}

/** Why a credential was refused, in words a client can act on (still a 401). */
async function explainRefusal(tx: Queryable, kind: 'access' | 'key', hash: string): Promise<ApiError> {
  if (kind === 'access') {
    const { rows } = await tx.query<{ revoked: boolean; expired: boolean; session_over: boolean }>(
      `SELECT revoked_at IS NOT NULL AS revoked, access_expires_at <= now() AS expired, expires_at <= now() AS session_over
         FROM user_sessions WHERE token_jti = $1`,
      [hash],
    );
    const r = rows[0];
    if (r?.revoked) return new ApiError(401, 'token_revoked', 'this session was signed out; sign in again at POST /api/auth/login');
    if (r?.session_over) return new ApiError(401, 'session_expired', 'the session has ended; sign in again at POST /api/auth/login');
    if (r?.expired) return new ApiError(401, 'token_expired', 'the access token has expired; get a new one at POST /api/auth/refresh with your refresh token');
    if (r) return new ApiError(401, 'no_membership', 'your account or its membership in this organization is no longer active');
    return new ApiError(401, 'unauthorized', 'unknown or replaced access token; sign in at POST /api/auth/login');
  }
  const { rows } = await tx.query<{ revoked: boolean; expired: boolean }>(
    `SELECT revoked_at IS NOT NULL OR NOT is_active AS revoked, coalesce(expires_at <= now(), false) AS expired FROM api_keys WHERE key_hash = $1`,
    [hash],
  );
  const r = rows[0];
  if (r?.revoked) return new ApiError(401, 'key_revoked', 'this API key was revoked; create a new one with `robbieverse keys create`');
  if (r?.expired) return new ApiError(401, 'key_expired', 'this API key has expired; create a new one with `robbieverse keys create`');
  if (r) return new ApiError(401, 'no_membership', "the key's user is no longer an active member of its organization");
  return new ApiError(401, 'unauthorized', 'unknown API key');
}
