/**
 * Every error the toolkit raises on purpose carries a stable `code`, a message that says
 * what happened, and a `hint` that says what to do next. The CLI maps codes to exit codes.
 */
export type ErrorCode =
  | 'E_USAGE'
  | 'E_CONFIG'
  | 'E_CONNECT'
  | 'E_HOME_LOCKED'
  | 'E_MIGRATION_FILES'
  | 'E_MIGRATION_DRIFT'
  | 'E_MIGRATION_FAILED'
  | 'E_MIGRATION_LOCK_TIMEOUT'
  | 'E_QUERY'
  | 'E_LEGACY_DATABASE'
  | 'E_FOREIGN_DATABASE'
  | 'E_BACKUP'
  | 'E_NOT_SUPPORTED'
  | 'E_SYNC_SCHEMA_MISMATCH'
  | 'E_SYNC_REFUSED'
  | 'E_SYNC_RESEED'
  | 'E_EMBEDDER';

export class RobbieverseError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { hint?: string; cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'RobbieverseError';
    this.code = code;
    this.hint = opts.hint;
    this.details = opts.details;
  }
}

/** Exit codes shared by every command (documented in `robbieverse --help`). */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  drift: 3,
  locked: 4,
  connect: 5,
} as const;

export function exitCodeFor(err: unknown): number {
  if (!(err instanceof RobbieverseError)) return EXIT.failure;
  switch (err.code) {
    case 'E_USAGE':
    case 'E_CONFIG':
      return EXIT.usage;
    case 'E_MIGRATION_DRIFT':
    case 'E_MIGRATION_FILES':
    case 'E_LEGACY_DATABASE':
    case 'E_FOREIGN_DATABASE':
    case 'E_SYNC_SCHEMA_MISMATCH':
      return EXIT.drift;
    case 'E_HOME_LOCKED':
    case 'E_MIGRATION_LOCK_TIMEOUT':
      return EXIT.locked;
    case 'E_CONNECT':
      return EXIT.connect;
    default:
      return EXIT.failure;
  }
}

/** The fields node-postgres and PGlite both put on a server error. */
export interface ServerErrorFields {
  message: string;
  code?: string;
  position?: string | number;
  detail?: string;
  hint?: string;
  where?: string;
  constraint?: string;
}

export function asServerError(err: unknown): ServerErrorFields | undefined {
  if (err && typeof err === 'object' && 'message' in err) {
    const e = err as Record<string, unknown>;
    if (typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)) return e as unknown as ServerErrorFields;
  }
  return undefined;
}
