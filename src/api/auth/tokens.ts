import { createHash, randomBytes } from 'node:crypto';

/**
 * Opaque bearer tokens. Random 256-bit secrets with a kind prefix; only their SHA-256 is stored
 * (user_sessions.token_jti / token_hash, api_keys.key_hash). A fast hash is enough for secrets
 * of this entropy; passwords get argon2 instead.
 */
export type TokenKind = 'access' | 'refresh' | 'key';

const PREFIX: Record<TokenKind, string> = { access: 'rva_', refresh: 'rvr_', key: 'rvk_' };

export function newToken(kind: TokenKind): { token: string; hash: string } {
  const token = PREFIX[kind] + randomBytes(32).toString('base64url');
  return { token, hash: hashToken(token) };
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function tokenKind(token: string): TokenKind | undefined {
  for (const [kind, prefix] of Object.entries(PREFIX)) if (token.startsWith(prefix)) return kind as TokenKind;
  return undefined;
}

/** `Authorization: Bearer <token>`, or an API key in `X-API-Key`. */
export function credentialFrom(headers: Record<string, string | string[] | undefined>): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m) return m[1];
  }
  const key = headers['x-api-key'];
  if (typeof key === 'string' && key.trim()) return key.trim();
  return undefined;
}
