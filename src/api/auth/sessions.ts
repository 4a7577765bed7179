import type { Db, Queryable } from '../../db/types.js';
import { ApiError } from '../errors.js';
import { verifyPassword } from './passwords.js';
import type { Role } from './roles.js';
import { hashToken, newToken } from './tokens.js';

export interface SessionLifetimes {
  /** Access token lifetime in seconds (default 15 minutes). */
  accessTtlSec: number;
  /** Refresh token lifetime in seconds, renewed on every refresh (default 7 days). */
  refreshTtlSec: number;
  /** Longest a session may be kept alive by refreshing (default 30 days). */
  sessionTtlSec: number;
}

export const DEFAULT_LIFETIMES: SessionLifetimes = { accessTtlSec: 15 * 60, refreshTtlSec: 7 * 86_400, sessionTtlSec: 30 * 86_400 };

export interface IssuedSession {
  token: string;
  expires_at: string;
  refresh_token: string;
  refresh_expires_at: string;
  user: { id: string; email: string; first_name: string | null; last_name: string | null; role: Role; org_id: string };
}

export interface ClientInfo {
  ip?: string;
  userAgent?: string;
}

const invalidLogin = () => new ApiError(401, 'invalid_credentials', 'email or password is wrong');

/** Actor settings for the audit trigger while the auth code writes as the owner. */
async function actAs(tx: Queryable, userId: string, orgId: string, requestId: string | undefined): Promise<void> {
  await tx.query(
    `SELECT set_config('app.user_id', $1::uuid::text, true), set_config('app.org_id', $2::uuid::text, true),
            set_config('app.actor', 'user', true), set_config('app.request_id', coalesce($3::text, ''), true)`,
    [userId, orgId, requestId ?? null],
  );
}

/**
 * Password login. Chooses the organization: `orgId` if given (an active membership is required),
 * else the user's home organization, else their oldest active membership.
 */
export async function login(
  db: Db,
  input: { email: string; password: string; orgId?: string },
  opts: { lifetimes?: SessionLifetimes; client?: ClientInfo; requestId?: string } = {},
): Promise<IssuedSession> {
  const life = opts.lifetimes ?? DEFAULT_LIFETIMES;
  const email = input.email.trim().toLowerCase();
  const { rows } = await db.query<{ id: string; password_hash: string; is_active: boolean; email: string; first_name: string | null; last_name: string | null; org_id: string }>(
    `SELECT id, password_hash, coalesce(is_active, true) AS is_active, email, first_name, last_name, org_id
       FROM users WHERE lower(email) = $1`,
    [email],
  );
  const user = rows[0];
  const ok = await verifyPassword(user?.password_hash, input.password);
  if (!user || !ok || !user.is_active) throw invalidLogin();

  return db.transaction(async (tx) => {
    const m = await tx.query<{ org_id: string; role: Role }>(
      `SELECT org_id, role FROM organization_memberships
        WHERE user_id = $1 AND is_active AND ($2::uuid IS NULL OR org_id = $2::uuid)
        ORDER BY (org_id = $3::uuid) DESC, joined_at, org_id LIMIT 1`,
      [user.id, input.orgId ?? null, user.org_id],
    );
    const membership = m.rows[0];
    if (!membership) {
      throw input.orgId
        ? new ApiError(403, 'no_membership', 'you are not an active member of that organization; leave org_id out to sign in to your own')
        : new ApiError(403, 'no_membership', 'your account has no active organization membership; ask an organization admin to add you');
    }
    await actAs(tx, user.id, membership.org_id, opts.requestId);
    const access = newToken('access');
    const refresh = newToken('refresh');
    const s = await tx.query<{ expires_at: string; refresh_expires_at: string }>(
      `INSERT INTO user_sessions (user_id, org_id, token_jti, token_hash, ip_address, user_agent,
                                  access_expires_at, refresh_expires_at, expires_at)
       VALUES ($1, $2, $3, $4, $5::inet, $6,
               now() + make_interval(secs => $7::float8), now() + make_interval(secs => least($8::float8, $9::float8)), now() + make_interval(secs => $9::float8))
       RETURNING to_json(access_expires_at) #>> '{}' AS expires_at, to_json(refresh_expires_at) #>> '{}' AS refresh_expires_at`,
      [user.id, membership.org_id, access.hash, refresh.hash, opts.client?.ip ?? null, opts.client?.userAgent?.slice(0, 500) ?? null,
       life.accessTtlSec, life.refreshTtlSec, life.sessionTtlSec],
    );
    // Not on a sync node, where users come from the master and are read-only (its sync_read_only
    // trigger): signing in there must not fail, and last_login stays the master's.
    await tx.query(
      `UPDATE users SET last_login = now()
        WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = 'public.users'::regclass AND tgname = 'sync_read_only')`,
      [user.id],
    );
    return {
      token: access.token,
      expires_at: s.rows[0]!.expires_at,
      refresh_token: refresh.token,
      refresh_expires_at: s.rows[0]!.refresh_expires_at,
      user: { id: user.id, email: user.email, first_name: user.first_name, last_name: user.last_name, role: membership.role, org_id: membership.org_id },
    };
  });
}

/** Exchanges a refresh token for a new access token and a new refresh token (both rotate). */
export async function refresh(
  db: Db,
  refreshToken: string,
  opts: { lifetimes?: SessionLifetimes; requestId?: string; client?: ClientInfo; onReuse?: (r: ReusedRefresh) => void } = {},
): Promise<IssuedSession> {
  const life = opts.lifetimes ?? DEFAULT_LIFETIMES;
  const reused = await revokeOnReuse(db, hashToken(refreshToken), opts);
  if (reused) {
    opts.onReuse?.(reused);
    throw new ApiError(401, 'refresh_token_reused', 'this refresh token was already exchanged: the session has been signed out everywhere for safety; sign in again at POST /api/auth/login');
  }
  return db.transaction(async (tx) => {
    const found = await tx.query<{ id: string; user_id: string; org_id: string; role: Role; email: string; first_name: string | null; last_name: string | null; usable: boolean }>(
      `SELECT s.id, s.user_id, s.org_id, m.role, u.email, u.first_name, u.last_name,
              (s.revoked_at IS NULL AND s.refresh_expires_at > now() AND s.expires_at > now()
               AND coalesce(u.is_active, true) AND m.is_active) AS usable
         FROM user_sessions s
         JOIN users u ON u.id = s.user_id
         JOIN organization_memberships m ON m.org_id = s.org_id AND m.user_id = s.user_id
        WHERE s.token_hash = $1
        FOR UPDATE OF s`,
      [hashToken(refreshToken)],
    );
    const s = found.rows[0];
    if (!s || !s.usable) throw new ApiError(401, 'invalid_refresh_token', 'the refresh token is unknown, used, expired or revoked; sign in again at POST /api/auth/login');
    await actAs(tx, s.user_id, s.org_id, opts.requestId);
    const access = newToken('access');
    const next = newToken('refresh');
    // The token being exchanged is remembered (as its hash): presented again, it is reuse.
    await tx.query(`INSERT INTO user_session_retired_refresh (token_hash, session_id) VALUES ($1, $2) ON CONFLICT (token_hash) DO NOTHING`, [hashToken(refreshToken), s.id]);
    const u = await tx.query<{ expires_at: string; refresh_expires_at: string }>(
      `UPDATE user_sessions
          SET token_jti = $2, token_hash = $3, last_activity_at = now(),
              access_expires_at = least(now() + make_interval(secs => $4::float8), expires_at),
              refresh_expires_at = least(now() + make_interval(secs => $5::float8), expires_at)
        WHERE id = $1
        RETURNING to_json(access_expires_at) #>> '{}' AS expires_at, to_json(refresh_expires_at) #>> '{}' AS refresh_expires_at`,
      [s.id, access.hash, next.hash, life.accessTtlSec, life.refreshTtlSec],
    );
    return {
      token: access.token,
      expires_at: u.rows[0]!.expires_at,
      refresh_token: next.token,
      refresh_expires_at: u.rows[0]!.refresh_expires_at,
      user: { id: s.user_id, email: s.email, first_name: s.first_name, last_name: s.last_name, role: s.role, org_id: s.org_id },
    };
  });
}

/** Revokes the session of an access token. Returns false when there was no such live session. */
export async function logout(db: Db, accessToken: string, requestId?: string): Promise<boolean> {
  return db.transaction(async (tx) => {
    const s = await tx.query<{ user_id: string; org_id: string }>(
      `SELECT user_id, org_id FROM user_sessions WHERE token_jti = $1 AND revoked_at IS NULL`,
      [hashToken(accessToken)],
    );
    const row = s.rows[0];
    if (!row) return false;
    if (row.org_id) await actAs(tx, row.user_id, row.org_id, requestId);
    await tx.query(`UPDATE user_sessions SET revoked_at = now() WHERE token_jti = $1`, [hashToken(accessToken)]);
    return true;
  });
}

export interface ReusedRefresh {
  sessionId: string;
  userId: string;
  orgId: string | null;
  /** True when this reuse revoked a live session (false: it was already revoked). */
  revokedNow: boolean;
}

/**
 * A refresh token the session has already rotated out is presented again: someone holds a copy
 * (or it leaked). Revokes the whole session (its current access and refresh tokens) and writes
 * an audit event; returns what it found, undefined when the token was never retired.
 */
async function revokeOnReuse(db: Db, hash: string, opts: { requestId?: string; client?: ClientInfo }): Promise<ReusedRefresh | undefined> {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<{ session_id: string; user_id: string; org_id: string | null; live: boolean }>(
      `SELECT s.id AS session_id, s.user_id, s.org_id, s.revoked_at IS NULL AS live
         FROM user_session_retired_refresh r JOIN user_sessions s ON s.id = r.session_id
        WHERE r.token_hash = $1
        FOR UPDATE OF s`,
      [hash],
    );
    const r = rows[0];
    if (!r) return undefined;
    if (r.org_id) await actAs(tx, r.user_id, r.org_id, opts.requestId);
    if (r.live) await tx.query(`UPDATE user_sessions SET revoked_at = now(), updated_at = now() WHERE id = $1`, [r.session_id]);
    await tx.query(
      `INSERT INTO audit_log (org_id, user_id, actor_type, action, entity_type, entity_id, details, ip_address, user_agent)
       VALUES ($1, $2, 'system', 'refresh_token_reused', 'user_sessions', $3, $4::jsonb, $5::inet, $6)`,
      [r.org_id, r.user_id, r.session_id, JSON.stringify({ session_revoked: r.live, request_id: opts.requestId ?? null }),
       opts.client?.ip ?? null, opts.client?.userAgent?.slice(0, 500) ?? null],
    );
    return { sessionId: r.session_id, userId: r.user_id, orgId: r.org_id, revokedNow: r.live };
  });
}
