import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Logger } from 'pino';
import type { Db } from '../db/types.js';
import { RobbieverseError } from '../errors.js';
import { DEFAULT_LIFETIMES, type SessionLifetimes } from './auth/sessions.js';
import { readColumns } from './catalog.js';
import { registerResource } from './crud.js';
import { credentialFrom, tokenKind } from './auth/tokens.js';
import { ApiError, apiErrorFromDatabase, unauthorized, type ErrorBody } from './errors.js';
import { requestContext } from './request-context.js';
import { RESOURCES } from './resource.js';
import { authRoutes } from './routes/auth.js';
import { accountRoutes } from './routes/account.js';
import { membersRoutes } from './routes/members.js';
import { aiRoutes } from './routes/ai.js';
import { blocksRoutes } from './routes/blocks.js';
import { systemRoutes } from './routes/system.js';
import { syncRoutes } from './routes/sync.js';
import { searchRoutes, type SearchRouteOptions } from './routes/search.js';
import { DEFAULT_THROTTLE, type ThrottleLimits } from './auth/throttle.js';
import { securityHeaders } from './security-headers.js';
import { inputProblem, jsonDepthExceeds, MAX_JSON_DEPTH, validatorCompiler } from './validation.js';

export interface ApiOptions {
  db: Db;
  /** pino logger for requests; default: none */
  logger?: Logger;
  lifetimes?: SessionLifetimes;
  /** Origins allowed to call the API from a browser besides its own (CORS). */
  corsOrigins?: string[];
  /** Largest accepted request body in bytes (default 1 MiB). */
  bodyLimit?: number;
  /** Where this process keeps the RobbieBlocks releases (enables rollback through the API). */
  blocks?: { deployRoot: string };
  /** Extra text for the OpenAPI description (e.g. where the node sites are). */
  description?: string;
  /** Sign-in throttling (default DEFAULT_THROTTLE); tests pass small windows. */
  throttle?: Partial<ThrottleLimits>;
  /** The memory embedder's API key and timeout, for query embeddings (GET /api/search). */
  embed?: SearchRouteOptions;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * The HTTP API as a Fastify instance (not yet listening): JSON REST under /api, the OpenAPI
 * document at /openapi.json and a browsable reference at /docs. Other plugins (a node's site)
 * may be registered on it before `listen`.
 */
export async function createApiServer(opts: ApiOptions): Promise<FastifyInstance> {
  const fastifyOpts: FastifyServerOptions = {
    bodyLimit: opts.bodyLimit ?? 1024 * 1024,
    // A factory, not setValidatorCompiler: contexts that add shared schemas build their own
    // schema controller, and only the factory reaches those.
    schemaController: { compilersFactory: { buildValidator: (() => validatorCompiler()) as unknown as NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>['buildValidator'] } },
    // The client's x-request-id is taken only when it passes REQUEST_ID (with requestIdHeader set,
    // Fastify would take any value as it came and never call genReqId).
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    // Requests the router cannot take (a malformed URL, a path parameter past maxParamLength) and
    // requests Node's HTTP parser refuses (headers too large, garbage) get the error shape too.
    frameworkErrors: (error, req, reply) => {
      const status = (error as FastifyError).statusCode ?? 400;
      const body: ErrorBody = { error: { code: status === 414 ? 'uri_too_long' : 'bad_request', message: error.message, request_id: String(req.id) } };
      reply.header('x-request-id', String(req.id));
      (reply as unknown as { code(n: number): { type(t: string): { send(b: unknown): void } } }).code(status).type('application/json').send(body);
    },
    clientErrorHandler: (err: NodeJS.ErrnoException, socket) => {
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
      const reason = status === 431 ? 'Request Header Fields Too Large' : 'Bad Request';
      const requestId = randomUUID();
      const body = JSON.stringify({
        error: { code: status === 431 ? 'headers_too_large' : 'bad_request', message: status === 431 ? 'the request headers (or its URL) are too large' : 'the request could not be parsed as HTTP', request_id: requestId },
      });
      if (socket.writable) {
        socket.end(
          `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
            `X-Request-Id: ${requestId}\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${body}`,
        );
      } else socket.destroy();
    },
  };
  const app: FastifyInstance = Fastify(opts.logger ? { ...fastifyOpts, loggerInstance: opts.logger as unknown as FastifyBaseLogger } : fastifyOpts);
  // Callback-style hooks: no promise per request on the hot path.
  app.addHook('onRequest', (req, reply, done) => {
    reply.header('x-request-id', req.id);
    done();
  });
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const e = toApiError(err);
    if (e.status >= 500) req.log.error({ err }, 'request failed');
    if (e.headers) reply.headers(e.headers);
    const body: ErrorBody = { error: { code: e.code, message: e.message, request_id: String(req.id), ...(e.details === undefined ? {} : { details: e.details }) } };
    reply.code(e.status).type('application/json').send(body);
  });
  app.setNotFoundHandler((req, reply) => {
    const body: ErrorBody = { error: { code: 'no_route', message: `no route ${req.method} ${req.url.split('?')[0]}; the API reference is at /docs`, request_id: String(req.id) } };
    reply.code(404).send(body);
  });

  // JSON bodies: refused past MAX_JSON_DEPTH levels before the parser (or anything recursive) sees them.
  // (the default parser underneath, with the server's own __proto__ / constructor refusal)
  const parseJson = app.getDefaultJsonParser(app.initialConfig.onProtoPoisoning ?? 'error', app.initialConfig.onConstructorPoisoning ?? 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (typeof body === 'string' && jsonDepthExceeds(body)) {
      return done(new ApiError(400, 'too_deep', `the JSON body is nested more than ${MAX_JSON_DEPTH} levels deep; send flatter data`), undefined);
    }
    return parseJson(req, body as string, done);
  });
  // Values PostgreSQL cannot store (NUL characters, numbers beyond float8) are a 400 naming the
  // field, before validation and before any statement runs.
  app.addHook('preValidation', (req, _reply, done) => {
    const problem = inputProblem(req.params, 'params') ?? inputProblem(req.query, 'querystring') ?? inputProblem(req.body, 'body');
    if (!problem) return done();
    done(new ApiError(400, 'validation_failed', `${problem.path}: ${problem.message}`, [problem]));
  });

  await securityHeaders(app);

  // CORS: browsers on the configured origins may call the API (preflight answered 204 with the
  // methods and headers the API uses); a preflight from any other origin is a 403.
  const corsOrigins = new Set((opts.corsOrigins ?? []).map((o) => o.trim().replace(/\/+$/, '')).filter(Boolean));
  app.addHook('onRequest', (req, _reply, done) => {
    const origin = req.headers.origin;
    if (req.method === 'OPTIONS' && typeof origin === 'string' && req.headers['access-control-request-method'] && !corsOrigins.has(origin)) {
      return done(new ApiError(403, 'cors_refused', `the origin ${origin.slice(0, 200)} may not call this API from a browser; add it to ROBBIEVERSE_CORS_ORIGINS (or corsOrigins in robbieverse.config.json)`));
    }
    done();
  });
  if (corsOrigins.size) {
    const cors = (await import('@fastify/cors')).default;
    await app.register(cors, {
      origin: [...corsOrigins],
      credentials: false,
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: ['authorization', 'content-type', 'x-api-key', 'x-request-id'],
      exposedHeaders: ['x-request-id', 'retry-after'],
      maxAge: 600,
      strictPreflight: true,
    });
  }

  const swagger = (await import('@fastify/swagger')).default;
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Robbieverse API',
        version: '0.1.0',
        description:
          'Every request acts as one user in one organization, derived from the token: row-level security in the database ' +
          'applies to all of it. Sign in with POST /api/auth/login, then send `Authorization: Bearer <token>`; programs use an ' +
          'API key (`robbieverse keys create`) the same way. Errors have one shape: {"error": {"code", "message", "details"?, "request_id"}}.' +
          (opts.description ? `\n\n${opts.description}` : ''),
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'access token or API key' } } },
      security: [{ bearer: [] }],
    },
  });
  app.addSchema({
    $id: 'error',
    type: 'object',
    properties: {
      error: {
        type: 'object',
        properties: { code: { type: 'string' }, message: { type: 'string' }, details: {}, request_id: { type: 'string' } },
        required: ['code', 'message', 'request_id'],
      },
    },
  });

  const rc = requestContext(opts.db);
  const tables = new Map<string, Awaited<ReturnType<typeof readColumns>>>();
  for (const def of RESOURCES) if (!tables.has(def.table)) tables.set(def.table, await readColumns(opts.db, def.table));
  await app.register(
    async (api) => {
      // No credential at all: 401 before the body is even parsed. (The credential itself is
      // checked against the database inside each route's transaction.)
      api.addHook('onRequest', (req, _reply, done) => {
        if ((req.routeOptions.config as { public?: boolean }).public) return done();
        const token = credentialFrom(req.headers);
        if (!token) return done(unauthorized());
        if (!tokenKind(token)) return done(unauthorized('the credential is not a Robbieverse access token or API key; sign in at POST /api/auth/login'));
        done();
      });
      await authRoutes(api, opts.db, opts.lifetimes ?? DEFAULT_LIFETIMES, { ...DEFAULT_THROTTLE, ...opts.throttle });
      await accountRoutes(api, rc);
      await membersRoutes(api, rc);
      for (const def of RESOURCES) registerResource(api, def, tables.get(def.table)!, rc);
      await aiRoutes(api, rc);
      await systemRoutes(api, rc);
      await syncRoutes(api, rc);
      await blocksRoutes(api, rc, { deployRoot: opts.blocks?.deployRoot });
      await searchRoutes(api, rc, opts.embed);
    },
    { prefix: '/api' },
  );

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  const swaggerUi = (await import('@fastify/swagger-ui')).default;
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list', deepLinking: true } });
  return app;
}

function toApiError(err: FastifyError): ApiError {
  if (err instanceof ApiError) return err;
  if (err.validation) {
    const where = err.validationContext ?? 'request';
    const details = err.validation.map((v) => {
      const path = `${where}${v.instancePath.replace(/\//g, '.')}`;
      const p = v.params as Record<string, unknown>;
      if (v.keyword === 'additionalProperties') return { path, message: `unknown field "${String(p.additionalProperty)}"` };
      if (v.keyword === 'enum') return { path, message: `must be one of: ${(p.allowedValues as unknown[]).map(String).join(', ')}` };
      if (v.keyword === 'required') return { path, message: `missing required field "${String(p.missingProperty)}"` };
      return { path, message: v.message ?? v.keyword };
    });
    const first = details[0]!;
    return new ApiError(400, 'validation_failed', `${first.path}: ${first.message}${details.length > 1 ? ` (and ${details.length - 1} more problem${details.length > 2 ? 's' : ''})` : ''}`, details);
  }
  const db = apiErrorFromDatabase(err);
  if (db) return db;
  if (err instanceof RobbieverseError && err.code === 'E_USAGE') {
    return new ApiError(/not found|no such|unknown/i.test(err.message) ? 404 : 400, 'bad_request', err.hint ? `${err.message}; ${err.hint}` : err.message);
  }
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError(413, 'body_too_large', 'the request body is too large; send less data per request');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ApiError(400, 'invalid_json', `the body is not valid JSON: ${err.message}`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError(415, 'unsupported_media_type', 'send JSON with "Content-Type: application/json"');
  }
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    return new ApiError(err.statusCode, 'bad_request', err.message);
  }
  return new ApiError(500, 'internal', 'the server failed to handle this request; it has been logged with the request id');
}
