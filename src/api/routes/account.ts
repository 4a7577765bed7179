import type { FastifyInstance } from 'fastify';
import type { Queryable } from '../../db/types.js';
import { atLeast, weaker, type Role } from '../auth/roles.js';
import { insertApiKey } from '../auth/keys.js';
import { forbidden, notFound } from '../errors.js';
import type { RequestContext } from '../request-context.js';

const uuid = { type: 'string', format: 'uuid' } as const;
const idParams = { type: 'object', required: ['id'], properties: { id: uuid }, additionalProperties: false } as const;
const err = { '4xx': { $ref: 'error#' } } as const;
const one = async (tx: Queryable, sql: string, args: unknown[]) => (await tx.query<{ r: unknown }>(sql, args)).rows[0]?.r;

const PROFILE = ['first_name', 'last_name', 'job_title', 'phone', 'avatar_url', 'timezone', 'preferences', 'bio', 'linkedin_url'];

/** The signed-in user, their organizations and memberships, API keys and personality settings. */
export async function accountRoutes(api: FastifyInstance, rc: RequestContext): Promise<void> {
  api.get('/me', { schema: { tags: ['Account'], summary: 'The signed-in user, organization and role', response: err } }, async (req) =>
    rc.run(req, 'viewer', async (tx, p) => {
      const user = await one(tx, `SELECT row_to_json(x) AS r FROM (SELECT id, email, username, ${PROFILE.join(', ')}, last_login, created_at FROM users WHERE id = $1) x`, [p.userId]);
      const org = await one(tx, `SELECT row_to_json(x) AS r FROM (SELECT id, name, domain, org_type, status, settings FROM organizations WHERE id = $1) x`, [p.orgId]);
      return { user, organization: org, role: p.role, via: p.via };
    }));

  api.patch('/me', {
    schema: {
      tags: ['Account'], summary: 'Change your own profile',
      body: {
        type: 'object', additionalProperties: false, minProperties: 1,
        properties: {
          first_name: { type: ['string', 'null'], maxLength: 200 }, last_name: { type: ['string', 'null'], maxLength: 200 },
          job_title: { type: ['string', 'null'], maxLength: 200 }, phone: { type: ['string', 'null'], maxLength: 50 },
          avatar_url: { type: ['string', 'null'], maxLength: 2000 }, timezone: { type: 'string', maxLength: 100 },
          preferences: { type: 'object' }, bio: { type: ['string', 'null'], maxLength: 10000 }, linkedin_url: { type: ['string', 'null'], maxLength: 2000 },
        },
      },
      response: err,
    },
  }, async (req) => rc.run(req, 'viewer', async (tx, p) => {
    const body = req.body as Record<string, unknown>;
    const args: unknown[] = [p.userId];
    const sets = Object.entries(body).map(([k, v]) => {
      args.push(k === 'preferences' ? JSON.stringify(v) : v);
      return `${k} = $${args.length}${k === 'preferences' ? '::jsonb' : ''}`;
    });
    return one(tx, `WITH u AS (UPDATE users SET ${sets.join(', ')} WHERE id = $1 RETURNING *)
                    SELECT row_to_json(x) AS r FROM (SELECT id, email, username, ${PROFILE.join(', ')} FROM u) x`, args);
  }));

  // Organizations ---------------------------------------------------------------------------
  api.get('/organizations', { schema: { tags: ['Organizations'], summary: 'Organizations you belong to, with your role in each', response: err } }, async (req) =>
    rc.run(req, 'viewer', async (tx, p) => {
      const { rows } = await tx.query<{ r: unknown }>(
        `SELECT row_to_json(x) AS r FROM (
           SELECT o.id, o.name, o.domain, o.org_type, o.status, m.role, (o.id = $2) AS current
             FROM organization_memberships m JOIN organizations o ON o.id = m.org_id
            WHERE m.user_id = $1 AND m.is_active ORDER BY o.name, o.id) x`,
        [p.userId, p.orgId],
      );
      return { data: rows.map((r) => r.r), next_cursor: null };
    }));

  api.post('/organizations', {
    schema: {
      tags: ['Organizations'], summary: 'Found a new organization (you become its owner)',
      description: 'To act in it, sign in again with its org_id.',
      body: {
        type: 'object', additionalProperties: false, required: ['name'],
        properties: { name: { type: 'string', minLength: 1, maxLength: 200 }, domain: { type: ['string', 'null'], maxLength: 255 }, org_type: { type: 'string', enum: ['personal', 'corporate', 'nonprofit'] } },
      },
      response: err,
    },
  }, async (req, reply) => {
    const b = req.body as { name: string; domain?: string | null; org_type?: string };
    const org = await rc.run(req, 'viewer', async (tx) => {
      const id = (await tx.query<{ id: string }>(`SELECT app_create_organization($1, $2, $3) AS id`, [b.name, b.domain ?? null, b.org_type ?? 'corporate'])).rows[0]!.id;
      return one(tx, `SELECT row_to_json(x) AS r FROM (SELECT id, name, domain, org_type, status, 'owner' AS role FROM organizations WHERE id = $1) x`, [id]);
    });
    reply.code(201);
    return org;
  });

  api.get('/organizations/current', { schema: { tags: ['Organizations'], summary: 'The organization this token acts in', response: err } }, async (req) =>
    rc.run(req, 'viewer', (tx, p) => one(tx, `SELECT row_to_json(x) AS r FROM (SELECT id, name, domain, org_type, status, settings, created_at FROM organizations WHERE id = $1) x`, [p.orgId])));

  api.patch('/organizations/current', {
    schema: {
      tags: ['Organizations'], summary: 'Change the current organization (admin)',
      body: {
        type: 'object', additionalProperties: false, minProperties: 1,
        properties: { name: { type: 'string', minLength: 1, maxLength: 200 }, domain: { type: ['string', 'null'], maxLength: 255 }, org_type: { type: 'string', enum: ['personal', 'corporate', 'nonprofit'] }, settings: { type: 'object' } },
      },
      response: err,
    },
  }, async (req) => rc.run(req, 'admin', async (tx, p) => {
    const body = req.body as Record<string, unknown>;
    const args: unknown[] = [p.orgId];
    const sets = Object.entries(body).map(([k, v]) => {
      args.push(k === 'settings' ? JSON.stringify(v) : v);
      return `${k} = $${args.length}${k === 'settings' ? '::jsonb' : ''}`;
    });
    const r = await one(tx, `WITH o AS (UPDATE organizations SET ${sets.join(', ')} WHERE id = $1 RETURNING *)
                             SELECT row_to_json(x) AS r FROM (SELECT id, name, domain, org_type, status, settings FROM o) x`, args);
    if (!r) throw forbidden('only owners and admins change the organization');
    return r;
  }));

  // API keys ----------------------------------------------------------------------------------
  const keySelect = `SELECT row_to_json(x) AS r FROM (SELECT id, name, key_prefix, role, created_at, expires_at, revoked_at, last_used_at FROM api_keys k WHERE %) x`;
  api.get('/keys', { schema: { tags: ['Account'], summary: 'Your API keys in this organization', response: err } }, async (req) =>
    rc.run(req, 'viewer', async (tx) => {
      const { rows } = await tx.query<{ r: unknown }>(keySelect.replace('%', 'true ORDER BY created_at'), []);
      return { data: rows.map((r) => r.r), next_cursor: null };
    }));

  api.post('/keys', {
    schema: {
      tags: ['Account'], summary: 'Create an API key for a program (shown once)',
      description: 'The key acts as you in this organization, with at most `role` (default and ceiling: your own role).',
      body: {
        type: 'object', additionalProperties: false, required: ['name'],
        properties: { name: { type: 'string', minLength: 1, maxLength: 100 }, role: { type: 'string', enum: ['admin', 'member', 'viewer'] }, expires_at: { type: 'string', format: 'date-time' } },
      },
      response: err,
    },
  }, async (req, reply) => {
    const b = req.body as { name: string; role?: 'admin' | 'member' | 'viewer'; expires_at?: string };
    const r = await rc.run(req, 'viewer', async (tx, p) => {
      if (p.via === 'api_key') throw forbidden('an API key cannot create keys; sign in as a user');
      const own: Role = p.role === 'owner' ? 'admin' : p.role;
      const role = weaker(own, b.role);
      if (b.role && !atLeast(own, b.role)) throw forbidden(`you are ${p.role}; a key cannot have more rights than you`);
      // As the principal: the row passes the keys' row-level security (own user, this organization).
      const { id, key } = await insertApiKey(tx, { userId: p.userId, orgId: p.orgId, name: b.name, role: role as 'admin' | 'member' | 'viewer', expiresAt: b.expires_at });
      return { key, ...(await one(tx, keySelect.replace('%', 'id = $1'), [id]) as object) };
    });
    reply.code(201);
    return r;
  });

  api.delete('/keys/:id', { schema: { tags: ['Account'], summary: 'Revoke one of your API keys', params: idParams, response: err } }, async (req, reply) => {
    const id = (req.params as { id: string }).id;
    await rc.run(req, 'viewer', async (tx) => {
      const { rows } = await tx.query(`UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()), is_active = false WHERE id = $1 RETURNING id`, [id]);
      if (!rows.length) throw notFound(`API key ${id}`);
    });
    reply.code(204);
    return null;
  });

  // Personality settings (one row per user; the user_id NULL row holds the defaults) ------------
  const settingsCols = 'id, user_id, flirt_mode, gandhi_genghis, genghis_gandhi_intensity, cocktail_lightning_energy, current_mood, current_expression, personality_mode, updated_at';
  api.get('/personality-settings', { schema: { tags: ['AI'], summary: 'Your personality dials (the defaults until you change one)', response: err } }, async (req) =>
    rc.run(req, 'viewer', (tx, p) => one(tx,
      `SELECT row_to_json(x) AS r FROM (SELECT ${settingsCols}, (user_id IS NULL) AS is_default FROM personality_settings
        WHERE user_id = $1 OR user_id IS NULL ORDER BY user_id NULLS LAST LIMIT 1) x`, [p.userId])));

  api.patch('/personality-settings', {
    schema: {
      tags: ['AI'], summary: 'Change your personality dials',
      body: {
        type: 'object', additionalProperties: false, minProperties: 1,
        properties: {
          flirt_mode: { type: 'integer', minimum: 1, maximum: 10 }, gandhi_genghis: { type: 'integer', minimum: 1, maximum: 10 },
          genghis_gandhi_intensity: { type: 'integer', minimum: 0, maximum: 100 }, cocktail_lightning_energy: { type: 'integer', minimum: 0, maximum: 100 },
          current_mood: { type: 'string', maxLength: 50 }, current_expression: { type: 'string', maxLength: 50 }, personality_mode: { type: 'string', maxLength: 50 },
        },
      },
      response: err,
    },
  }, async (req) => rc.run(req, 'viewer', async (tx, p) => {
    const body = req.body as Record<string, unknown>;
    const keys = Object.keys(body);
    // A first change copies the defaults row for the user, then applies the change.
    await tx.query(
      `INSERT INTO personality_settings (user_id, flirt_mode, gandhi_genghis, genghis_gandhi_intensity, cocktail_lightning_energy, current_mood, current_expression, personality_mode)
       SELECT $1, d.flirt_mode, d.gandhi_genghis, d.genghis_gandhi_intensity, d.cocktail_lightning_energy, d.current_mood, d.current_expression, coalesce(d.personality_mode, 'professional')
         FROM (SELECT 1) one LEFT JOIN personality_settings d ON d.user_id IS NULL
       ON CONFLICT (user_id) DO NOTHING`,
      [p.userId],
    );
    return one(tx,
      `WITH t AS (UPDATE personality_settings SET ${keys.map((k, i) => `${k} = $${i + 2}`).join(', ')} WHERE user_id = $1 RETURNING *)
       SELECT row_to_json(x) AS r FROM (SELECT ${settingsCols}, false AS is_default FROM t) x`,
      [p.userId, ...keys.map((k) => body[k])]);
  }));
}
