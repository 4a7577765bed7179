import type { Db, Queryable } from '../../db/types.js';
import { RobbieverseError } from '../../errors.js';
import type { Role } from './roles.js';
import { newToken } from './tokens.js';
import { isUuid } from '../ids.js';

export interface ApiKeyInfo {
  id: string;
  name: string;
  key_prefix: string;
  user_id: string;
  email: string;
  org_id: string;
  role: Role | null;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
}

/**
 * Creates an API key for a user's membership in one organization. The key is returned once;
 * only its SHA-256 is stored. `role` caps what the key may do (default: the membership's role).
 */
export async function createApiKey(
  db: Db,
  input: { userId: string; orgId: string; name: string; role?: 'admin' | 'member' | 'viewer'; expiresAt?: Date },
): Promise<{ key: string; info: ApiKeyInfo }> {
  return db.transaction(async (tx) => {
    const m = await tx.query(`SELECT 1 FROM organization_memberships WHERE org_id = $1 AND user_id = $2 AND is_active`, [input.orgId, input.userId]);
    if (!m.rows.length) {
      throw new RobbieverseError('E_USAGE', 'that user is not an active member of that organization', {
        hint: 'add the membership first: robbieverse users create --org <org> … (or an admin adds them in the API)',
      });
    }
    const { id, key } = await insertApiKey(tx, input);
    const info = (await listApiKeys(tx as Db, { id }))[0]!;
    return { key, info };
  });
}

/** The key row itself: a new random key, stored as its hash and shown prefix. Returns the key once. */
export async function insertApiKey(
  q: Queryable,
  input: { userId: string; orgId: string; name: string; role?: 'admin' | 'member' | 'viewer' | null; expiresAt?: Date | string | null },
): Promise<{ id: string; key: string }> {
  if (input.expiresAt != null) {
    const at = new Date(input.expiresAt).getTime();
    if (!Number.isFinite(at) || at <= Date.now()) {
      const shown = typeof input.expiresAt === 'string' ? input.expiresAt : Number.isFinite(at) ? new Date(at).toISOString() : 'an invalid date';
      throw new RobbieverseError('E_USAGE', `expires_at ${shown} is in the past or not a moment; nothing was created`, {
        hint: 'give a moment in the future (e.g. 90d from now), or none for a key that does not expire',
      });
    }
  }
  const { token, hash } = newToken('key');
  const { rows } = await q.query<{ id: string }>(
    `INSERT INTO api_keys (user_id, org_id, name, key_hash, key_prefix, role, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
    [input.userId, input.orgId, input.name, hash, token.slice(0, 12), input.role ?? null, input.expiresAt ?? null],
  );
  return { id: rows[0]!.id, key: token };
}

export async function listApiKeys(db: Pick<Db, 'query'>, where: { id?: string; orgId?: string; userId?: string } = {}): Promise<ApiKeyInfo[]> {
  const { rows } = await db.query<ApiKeyInfo>(
    `SELECT k.id, k.name, k.key_prefix, k.user_id, u.email, k.org_id, k.role,
            to_json(k.created_at) #>> '{}' AS created_at, to_json(k.expires_at) #>> '{}' AS expires_at,
            to_json(k.revoked_at) #>> '{}' AS revoked_at, to_json(k.last_used_at) #>> '{}' AS last_used_at
       FROM api_keys k JOIN users u ON u.id = k.user_id
      WHERE ($1::uuid IS NULL OR k.id = $1) AND ($2::uuid IS NULL OR k.org_id = $2) AND ($3::uuid IS NULL OR k.user_id = $3)
      ORDER BY k.created_at`,
    [where.id ?? null, where.orgId ?? null, where.userId ?? null],
  );
  return rows;
}

/** Revokes a key by id or by its shown prefix; returns the revoked key, undefined when none matched. */
export async function revokeApiKey(db: Db, idOrPrefix: string): Promise<ApiKeyInfo | undefined> {
  const uuid = isUuid(idOrPrefix);
  const match = uuid ? 'id = $1::uuid' : 'key_prefix = $1';
  const found = await db.query<{ id: string }>(`SELECT id FROM api_keys WHERE ${match}`, [idOrPrefix]);
  if (found.rows.length > 1) {
    throw new RobbieverseError('E_USAGE', `prefix ${idOrPrefix} matches ${found.rows.length} keys; nothing was revoked`, { hint: 'revoke by id (robbieverse keys list)' });
  }
  const { rows } = await db.query<{ id: string }>(
    `UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()), is_active = false WHERE ${match} RETURNING id`,
    [idOrPrefix],
  );
  return rows[0] ? (await listApiKeys(db, { id: rows[0].id }))[0] : undefined;
}
