import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';

/**
 * The Content-Security-Policy of everything this server answers: the API, /docs (swagger-ui)
 * and the node sites (Vite-built React apps). Scripts only from this origin (neither swagger-ui
 * nor the built apps use inline scripts); inline styles are allowed because both set style
 * attributes and components carry CSS; pages call the API on the same origin; nothing may frame
 * them. No upgrade-insecure-requests: the local servers speak plain HTTP.
 */
export const CONTENT_SECURITY_POLICY = {
  defaultSrc: ["'self'"],
  baseUri: ["'self'"],
  scriptSrc: ["'self'"],
  scriptSrcAttr: ["'none'"],
  styleSrc: ["'self'", "'unsafe-inline'"],
  imgSrc: ["'self'", 'data:', 'https:'],
  fontSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  objectSrc: ["'none'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
  upgradeInsecureRequests: null,
};

/**
 * Security headers on every response (helmet): X-Content-Type-Options nosniff, X-Frame-Options
 * DENY and frame-ancestors 'none', Referrer-Policy no-referrer, the CSP above, and helmet's
 * cross-origin isolation defaults (the CORS plugin still answers allowed origins).
 */
export async function securityHeaders(app: FastifyInstance): Promise<void> {
  await app.register(helmet, {
    global: true,
    contentSecurityPolicy: { useDefaults: false, directives: CONTENT_SECURITY_POLICY },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    crossOriginEmbedderPolicy: false,
  });
}
