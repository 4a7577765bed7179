import { sqlLiteral, type Scalar } from '../../db/literal.js';
import type { Db, Queryable } from '../../db/types.js';
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

// The first statement of every request's transaction, sent in the same round trip as BEGIN:
// api_authenticate() (migration 028) finds the live session or key by the hash, sets the
// transaction-local tenant context (app.org_id, app.user_id, actor, request id) and drops to
// the application role, so row-level security applies to everything the route does
// afterwards. Nothing survives the transaction on the pooled connection. The arguments are
// inlined as literals (simple protocol): a hex hash, a fixed kind, and a request id that is
// restricted to [A-Za-z0-9._:-] and quoted anyway.
function authenticateSql(kind: 'access' | 'key', hash: string, requestId: string): string {
  if (!/^[0-9a-f]{64}$/.test(hash)) throw new Error('credential hash must be hex SHA-256');
  return `SELECT credential_id::text, user_id::text, org_id::text, role, role_cap, email FROM api_authenticate(${[kind, hash, cleanRequestId(requestId)].map(sqlLiteral).join(', ')})`;
}

const cleanRequestId = (id: string) => id.replace(/[^A-Za-z0-9._:-]/g, '').slice(0, 64);

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
  const { kind, hash } = parseCredential(credential);
  return db.transaction(async (tx, first) => {
    const row = first?.rows[0] as Row | undefined;
    if (!row) throw await explainRefusal(tx, kind, hash);
    const p = principalFrom(row, kind);
    const role = p.role;
    if (!atLeast(role, needed)) {
      throw forbidden(`this needs the ${needed} role or higher in the organization; ${p.via === 'api_key' ? 'this API key acts' : 'you are'} ${role}`);
    }
    return fn(tx, p);
  }, { first: authenticateSql(kind, hash, requestId) });
}

function parseCredential(credential: string | undefined): { kind: 'access' | 'key'; hash: string } {
  if (!credential) throw unauthorized();
  const kind = tokenKind(credential);
  if (kind !== 'access' && kind !== 'key') {
    throw unauthorized(
      kind === 'refresh'
        ? 'that is a refresh token: exchange it at POST /api/auth/refresh and send the access token it returns'
        : 'the credential is not a Robbieverse access token or API key; sign in at POST /api/auth/login',
    );
  }
  return { kind, hash: hashToken(credential) };
}

function principalFrom(row: Row, kind: 'access' | 'key'): Principal {
  return {
    userId: row.user_id,
    orgId: row.org_id,
    role: weaker(row.role, row.role_cap),
    email: row.email,
    via: kind === 'access' ? 'session' : 'api_key',
    credentialId: row.credential_id,
  };
}

/**
 * A read in one round trip: the credential check (which refuses inside the database, so
 * nothing after it runs) and one prepared statement in a single message (Db.readOnce). The
 * statement runs as the principal under row-level security, exactly as in withPrincipal.
 */
export async function readAsPrincipal<R>(
  db: Db,
  credential: string | undefined,
  requestId: string,
  needed: Role,
  sql: string,
  params: Scalar[],
): Promise<{ principal: Principal; rows: R[] }> {
  const { kind, hash } = parseCredential(credential);
  try {
    const r = await db.readOnce(
      { sql: 'SELECT credential_id::text, user_id::text, org_id::text, role, role_cap, email FROM api_authenticate($1, $2, $3, $4)', params: [kind, hash, cleanRequestId(requestId), needed] },
      { sql, params },
    );
    return { principal: principalFrom(r.first.rows[0] as unknown as Row, kind), rows: r.result.rows as R[] };
  } catch (err) {
    const e = err as { code?: string; message?: string; detail?: string };
    if (e.code === '28000') throw await db.transaction((tx) => explainRefusal(tx, kind, hash));
    if (e.code === '42501' && e.message === 'role too weak') {
      throw forbidden(`this needs the ${needed} role or higher in the organization; ${kind === 'key' ? 'this API key acts' : 'you are'} ${e.detail ?? 'below it'}`);
    }
    throw err;
  }
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
