import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, revokeApiKey } from '../../src/api/auth/keys.js';
import { hashToken } from '../../src/api/auth/tokens.js';
import { engineName } from '../helpers/db.js';
import { PASSWORD, startApi, type ApiHarness } from '../helpers/api.js';

describe(`API authentication: sessions, refresh, logout, keys, secrets (${engineName})`, () => {
  let h: ApiHarness;
  let org: string;
  let user: { id: string; token: string };
  const logLines: string[] = [];

  beforeAll(async () => {
    const sink = new Writable({ write(chunk, _enc, cb) { logLines.push(String(chunk)); cb(); } });
    h = await startApi({ logger: pino({ level: 'trace' }, sink) });
    org = await h.org('Acme');
    user = await h.user(org, 'user@acme.test', 'member');
  });
  afterAll(() => h.close());

  it('a wrong password and an unknown e-mail get the same 401', async () => {
    const wrong = await h.call('POST', '/api/auth/login', { body: { email: 'user@acme.test', password: 'not it' } });
    const nobody = await h.call('POST', '/api/auth/login', { body: { email: 'nobody@acme.test', password: 'not it' } });
    expect(wrong.status).toBe(401);
    expect(nobody.status).toBe(401);
    expect(wrong.body.error.message).toBe(nobody.body.error.message);
    expect(wrong.body.error.code).toBe('invalid_credentials');
  });

  it('login returns tokens and the user; e-mail case does not matter', async () => {
    const r = await h.call('POST', '/api/auth/login', { body: { email: 'USER@acme.test', password: PASSWORD } });
    expect(r.status).toBe(200);
    expect(r.body.token).toMatch(/^rva_/);
    expect(r.body.refresh_token).toMatch(/^rvr_/);
    expect(new Date(r.body.expires_at).getTime()).toBeGreaterThan(Date.now());
    expect(r.body.user).toMatchObject({ id: user.id, email: 'user@acme.test', role: 'member', org_id: org });
  });

  it('refresh rotates both tokens: the old access and refresh tokens stop working', async () => {
    const first = (await h.call('POST', '/api/auth/login', { body: { email: 'user@acme.test', password: PASSWORD } })).body;
    const next = await h.call('POST', '/api/auth/refresh', { body: { refresh_token: first.refresh_token } });
    expect(next.status).toBe(200);
    expect(next.body.token).not.toBe(first.token);
    expect((await h.call('GET', '/api/me', { token: next.body.token })).status).toBe(200);
    expect((await h.call('GET', '/api/me', { token: first.token })).status).toBe(401);
    const reuse = await h.call('POST', '/api/auth/refresh', { body: { refresh_token: first.refresh_token } });
    expect(reuse.status).toBe(401);
    expect(reuse.body.error.code).toBe('refresh_token_reused');
    const wrongKind = await h.call('GET', '/api/me', { token: next.body.refresh_token });
    expect(wrongKind.status).toBe(401);
    expect(wrongKind.body.error.message).toMatch(/refresh token/);
  });

  it('a rotated-out refresh token presented again revokes the whole session (its newer tokens too), audited and logged', async () => {
    const first = (await h.call('POST', '/api/auth/login', { body: { email: 'user@acme.test', password: PASSWORD } })).body;
    const other = (await h.call('POST', '/api/auth/login', { body: { email: 'user@acme.test', password: PASSWORD } })).body;
    const second = (await h.call('POST', '/api/auth/refresh', { body: { refresh_token: first.refresh_token } })).body;
    const third = (await h.call('POST', '/api/auth/refresh', { body: { refresh_token: second.refresh_token } })).body;
    expect((await h.call('GET', '/api/me', { token: third.token })).status).toBe(200);
    // the thief (or the victim) presents the first refresh token again
    const reuse = await h.call('POST', '/api/auth/refresh', { body: { refresh_token: first.refresh_token } });
    expect(reuse.status).toBe(401);
    expect(reuse.body.error.code).toBe('refresh_token_reused');
    expect(reuse.body.error.message).toMatch(/sign in again/);
    const me = await h.call('GET', '/api/me', { token: third.token });
    expect(me.status).toBe(401);
    expect(me.body.error.code).toBe('token_revoked');
    expect((await h.call('POST', '/api/auth/refresh', { body: { refresh_token: third.refresh_token } })).status).toBe(401);
    expect((await h.call('POST', '/api/auth/refresh', { body: { refresh_token: second.refresh_token } })).body.error.code).toBe('refresh_token_reused');
    // another session of the same user is not touched
    expect((await h.call('GET', '/api/me', { token: other.token })).status).toBe(200);
    const { rows } = await h.db.query<{ action: string; entity_id: string; details: { session_revoked: boolean } }>(
      `SELECT action, entity_id, details FROM audit_log WHERE action = 'refresh_token_reused' AND user_id = $1 ORDER BY created_at`, [user.id]);
    const session = (await h.db.query<{ id: string }>(`SELECT id FROM user_sessions WHERE token_jti = $1`, [hashToken(third.token)])).rows[0]!.id;
    expect(rows.filter((r) => r.entity_id === session).map((r) => r.details.session_revoked)).toEqual([true, false]);
    expect(logLines.some((l) => l.includes('refresh token reused') && l.includes(session))).toBe(true);
  });

  it('an expired access token is refused with a hint to refresh; the refresh token still works', async () => {
    const s = (await h.call('POST', '/api/auth/login', { body: { email: 'user@acme.test', password: PASSWORD } })).body;
    await h.db.query(`UPDATE user_sessions SET access_expires_at = now() - interval '1 second' WHERE token_jti = $1`, [hashToken(s.token)]);
    const r = await h.call('GET', '/api/me', { token: s.token });
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe('token_expired');
    expect(r.body.error.message).toMatch(/refresh/);
    const again = await h.call('POST', '/api/auth/refresh', { body: { refresh_token: s.refresh_token } });
    expect(again.status).toBe(200);
    expect((await h.call('GET', '/api/me', { token: again.body.token })).status).toBe(200);
  });

  it('a session past its end cannot be refreshed', async () => {
    const s = (await h.call('POST', '/api/auth/login', { body: { email: 'user@acme.test', password: PASSWORD } })).body;
    await h.db.query(`UPDATE user_sessions SET expires_at = now() - interval '1 second' WHERE token_hash = $1`, [hashToken(s.refresh_token)]);
    expect((await h.call('GET', '/api/me', { token: s.token })).body.error.code).toBe('session_expired');
    expect((await h.call('POST', '/api/auth/refresh', { body: { refresh_token: s.refresh_token } })).status).toBe(401);
  });

  it('logout revokes the session', async () => {
    const s = (await h.call('POST', '/api/auth/login', { body: { email: 'user@acme.test', password: PASSWORD } })).body;
    expect((await h.call('POST', '/api/auth/logout', { token: s.token })).status).toBe(204);
    const r = await h.call('GET', '/api/me', { token: s.token });
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe('token_revoked');
    expect((await h.call('POST', '/api/auth/refresh', { body: { refresh_token: s.refresh_token } })).status).toBe(401);
  });

  it('a deactivated membership ends access at once', async () => {
    const other = await h.user(org, 'leaver@acme.test', 'member');
    expect((await h.call('GET', '/api/me', { token: other.token })).status).toBe(200);
    await h.db.query(`UPDATE organization_memberships SET is_active = false WHERE user_id = $1`, [other.id]);
    expect((await h.call('GET', '/api/me', { token: other.token })).status).toBe(401);
  });

  it('API keys: work until revoked or expired; revocation is immediate', async () => {
    const { key, info } = await createApiKey(h.db, { userId: user.id, orgId: org, name: 'bot' });
    const me = await h.call('GET', '/api/me', { token: key });
    expect(me.body).toMatchObject({ via: 'api_key', role: 'member' });
    const viaHeader = await h.call('GET', '/api/me', { headers: { 'x-api-key': key } });
    expect(viaHeader.status).toBe(200);
    const write = await h.call('POST', '/api/tasks', { token: key, body: { title: 'from a program' } });
    expect(write.status).toBe(201);
    const audit = await h.db.query<{ actor_type: string; key: string }>(`SELECT actor_type, details->>'api_key_id' AS key FROM audit_log WHERE entity_id = $1`, [write.body.id]);
    expect(audit.rows).toEqual([{ actor_type: 'api_key', key: info.id }]);
    await revokeApiKey(h.db, info.id);
    const after = await h.call('GET', '/api/me', { token: key });
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe('key_revoked');

    await expect(createApiKey(h.db, { userId: user.id, orgId: org, name: 'past', expiresAt: new Date(Date.now() - 1000) })).rejects.toThrow(/in the past/);
    const expiring = await createApiKey(h.db, { userId: user.id, orgId: org, name: 'short', expiresAt: new Date(Date.now() + 60_000) });
    await h.db.query(`UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1`, [expiring.info.id]);
    expect((await h.call('GET', '/api/me', { token: expiring.key })).body.error.code).toBe('key_expired');
  });

  it('keys made through the API are shown once, capped at their role, and revocable by their owner', async () => {
    const made = await h.call('POST', '/api/keys', { token: user.token, body: { name: 'reader', role: 'viewer' } });
    expect(made.status).toBe(201);
    expect(made.body.key).toMatch(/^rvk_/);
    expect((await h.call('POST', '/api/tasks', { token: made.body.key, body: { title: 'x' } })).status).toBe(403);
    expect((await h.call('POST', '/api/keys', { token: user.token, body: { name: 'too much', role: 'admin' } })).status).toBe(403);
    const listed = await h.call('GET', '/api/keys', { token: user.token });
    expect(JSON.stringify(listed.body)).not.toContain(made.body.key);
    expect((await h.call('DELETE', `/api/keys/${made.body.id}`, { token: user.token })).status).toBe(204);
    expect((await h.call('GET', '/api/me', { token: made.body.key })).status).toBe(401);
  });

  it('passwords and tokens are never stored or logged in clear', async () => {
    logLines.length = 0;
    const s = (await h.call('POST', '/api/auth/login', { body: { email: 'user@acme.test', password: PASSWORD } })).body;
    await h.call('GET', '/api/me', { token: s.token });
    await h.call('POST', '/api/auth/login', { body: { email: 'user@acme.test', password: 'a wrong password guess' } });
    const logs = logLines.join('');
    expect(logs).toContain('/api/auth/login'); // the requests were logged...
    expect(logs).not.toContain(PASSWORD); // ...without their secrets
    expect(logs).not.toContain('a wrong password guess');
    expect(logs).not.toContain(s.token);

    const { rows } = await h.db.query<{ password_hash: string }>(`SELECT password_hash FROM users WHERE email = 'user@acme.test'`);
    expect(rows[0]!.password_hash).toMatch(/^\$argon2id\$/);
    expect(rows[0]!.password_hash).not.toContain(PASSWORD);
    const stored = await h.db.query<{ t: string }>(`SELECT token_jti || coalesce(token_hash, '') AS t FROM user_sessions`);
    expect(stored.rows.map((r) => r.t).join()).not.toContain(s.token.slice(4));
    const audit = await h.db.query<{ t: string }>(`SELECT coalesce(old_values::text, '') || coalesce(new_values::text, '') AS t FROM audit_log`);
    const all = audit.rows.map((r) => r.t).join();
    expect(all).not.toMatch(/password_hash|token_jti|token_hash|key_hash/);
  });

  it('request ids: generated, or taken from the caller, in the header and in errors', async () => {
    const r = await h.call('GET', '/api/me', { token: user.token, headers: { 'x-request-id': 'trace-123' } });
    expect(r.headers.get('x-request-id')).toBe('trace-123');
    const e = await h.call('GET', '/api/me');
    expect(e.body.error.request_id).toBe(e.headers.get('x-request-id'));
    expect(e.body.error.request_id).toMatch(/^[0-9a-f-]{36}$/);
  });
});
