import { asServerError } from '../errors.js';

/**
 * The one error shape of the HTTP API:
 *   { "error": { "code": "validation_failed", "message": "...", "details": [...], "request_id": "..." } }
 * `code` is stable and machine-readable; `message` says what to do.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    /** Extra response headers (e.g. Retry-After on a 429). */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const unauthorized = (message = 'sign in first: send "Authorization: Bearer <token>" (POST /api/auth/login) or an API key') =>
  new ApiError(401, 'unauthorized', message);
export const forbidden = (message: string) => new ApiError(403, 'forbidden', message);
export const notFound = (what: string) => new ApiError(404, 'not_found', `${what} was not found`);
export const badRequest = (message: string, details?: unknown) => new ApiError(400, 'bad_request', message, details);

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown; request_id: string };
}

/** What a database error means to a client; undefined = a server fault (500). */
export function apiErrorFromDatabase(err: unknown): ApiError | undefined {
  const e = asServerError(err);
  if (!e?.code) return undefined;
  const detail = e.detail ? ` (${e.detail})` : '';
  switch (e.code) {
    case '23505':
      return new ApiError(409, 'conflict', `a row with the same unique value already exists${detail}`, { constraint: e.constraint });
    case '23503':
      return new ApiError(
        422,
        'invalid_reference',
        `a referenced row does not exist in this organization${e.constraint ? ` (${e.constraint})` : ''}; check the ids you sent`,
        { constraint: e.constraint },
      );
    case '23514':
      return new ApiError(422, 'check_failed', `a value is not allowed${e.constraint ? ` by ${e.constraint}` : ''}`, { constraint: e.constraint });
    case '23502':
      return new ApiError(422, 'missing_value', e.message.replace(/^null value in column/, 'a value is required for column'));
    case '22P02':
    case '22007':
    case '22008':
    case '22003':
    case '22001':
    case '22023':
    case '2201W':
    case '2201X':
    case '22021': // a NUL or invalid byte in text
    case '22P05': // \u0000 in jsonb
    case '22P03':
      return new ApiError(400, 'bad_value', e.message);
    case '54001':
      return new ApiError(400, 'bad_value', 'a value is nested too deeply; send flatter data');
    case '42501':
      // Row-level security refused a write (WITH CHECK) or a grant is missing for the app role.
      return new ApiError(403, 'forbidden', 'this write is not allowed for your role or organization');
    case 'P0001':
      return new ApiError(422, 'rejected', e.message);
    default:
      return undefined;
  }
}
