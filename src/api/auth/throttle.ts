import { createHash } from 'node:crypto';
import type { Db, Queryable } from '../../db/types.js';
import { ApiError } from '../errors.js';

/** Limits for one kind of subject (an account, or a client address). */
export interface ThrottleRule {
  /** Failures within the window that cost nothing. */
  freeFailures: number;
  /** Failures within the window that lock the subject for `lockSec`. */
  lockAfter: number;
}

/**
 * Sign-in throttling. After `freeFailures` failed attempts within `windowSec`, each further
 * attempt must wait `backoffBaseSec · 2^(n − free)` seconds (at most `backoffMaxSec`) after the
 * previous one; after `lockAfter` failures the subject is locked for `lockSec`. A refused
 * attempt (429) does not check the password, so a correct one is refused too, and costs no
 * argon2 time. State lives in the database (auth_throttle), so every process serving the same
 * database shares it and a restart forgets nothing.
 */
export interface ThrottleLimits {
  account: ThrottleRule;
  address: ThrottleRule;
  windowSec: number;
  backoffBaseSec: number;
  backoffMaxSec: number;
  lockSec: number;
}

export const DEFAULT_THROTTLE: ThrottleLimits = {
  account: { freeFailures: 5, lockAfter: 10 },
  address: { freeFailures: 20, lockAfter: 100 },
  windowSec: 15 * 60,
  backoffBaseSec: 1,
  backoffMaxSec: 60,
  lockSec: 15 * 60,
};

export interface ThrottleSubject {
  scope: 'account' | 'address';
  subject: string;
}

/** The account (hash of the lower-cased e-mail, whether or not it exists) and the client address. */
export function throttleSubjects(email: string, address: string | undefined): ThrottleSubject[] {
  const out: ThrottleSubject[] = [];
  // Locked in this order everywhere (address, then account), so two attempts never deadlock.
  if (address) out.push({ scope: 'address', subject: address.slice(0, 100) });
  out.push({ scope: 'account', subject: createHash('sha256').update(email.trim().toLowerCase()).digest('hex') });
  return out;
}

export class ThrottledError extends ApiError {
  constructor(readonly retryAfterSec: number, locked: boolean) {
    super(
      429,
      'too_many_attempts',
      locked
        ? `too many failed sign-ins: signing in is locked for ${retryAfterSec} s; wait, or ask an admin to set a new password (robbieverse users passwd)`
        : `too many failed sign-ins: wait ${retryAfterSec} s before the next attempt`,
      { retry_after_seconds: retryAfterSec, locked },
      { 'retry-after': String(retryAfterSec) },
    );
  }
}

interface Decision {
  scope: string;
  wait_sec: number | null;
  locked: boolean;
}

/**
 * Admits one sign-in attempt or refuses it (throws ThrottledError). An admitted attempt is
 * counted as a failure at once, before the password is checked, so concurrent guesses cannot
 * all slip through one gap; `signInSucceeded` takes it back.
 */
export async function admitSignIn(db: Db, subjects: ThrottleSubject[], l: ThrottleLimits): Promise<void> {
  const refused = await db.transaction(async (tx) => {
    let worst: Decision | undefined;
    for (const s of subjects) {
      const rule = l[s.scope];
      await tx.query(`INSERT INTO auth_throttle (scope, subject) VALUES ($1, $2) ON CONFLICT (scope, subject) DO NOTHING`, [s.scope, s.subject]);
      // Within the window: locked → wait for the lock; past the free failures → wait for the backoff.
      const { rows } = await tx.query<Decision>(
        `SELECT scope,
                CASE WHEN locked_until > now() THEN ceil(extract(epoch FROM locked_until - now()))::int
                     WHEN fresh AND failures >= $3 AND $5::float8 > 0
                          AND last_failure_at + make_interval(secs => least($5::float8 * power(2, failures - $3), $6::float8)) > now()
                     THEN greatest(1, ceil(extract(epoch FROM last_failure_at + make_interval(secs => least($5::float8 * power(2, failures - $3), $6::float8)) - now())))::int
                END AS wait_sec,
                coalesce(locked_until > now(), false) AS locked
           FROM (SELECT *, window_started_at > now() - make_interval(secs => $4::float8) AS fresh
                   FROM auth_throttle WHERE scope = $1 AND subject = $2 FOR UPDATE) t`,
        [s.scope, s.subject, rule.freeFailures, l.windowSec, l.backoffBaseSec, l.backoffMaxSec],
      );
      const d = rows[0];
      if (d?.wait_sec != null && (!worst || d.wait_sec > worst.wait_sec!)) worst = d;
    }
    if (worst) return worst;
    for (const s of subjects) await countFailure(tx, s, l);
    return undefined;
  });
  if (refused) throw new ThrottledError(refused.wait_sec!, refused.locked);
}

async function countFailure(tx: Queryable, s: ThrottleSubject, l: ThrottleLimits): Promise<void> {
  await tx.query(
    `UPDATE auth_throttle AS t
        SET failures = n.failures, window_started_at = n.window_started_at, last_failure_at = now(),
            locked_until = CASE WHEN n.failures >= $3 THEN now() + make_interval(secs => $5::float8) ELSE NULL END
       FROM (SELECT scope, subject,
                    CASE WHEN window_started_at > now() - make_interval(secs => $4::float8) THEN failures + 1 ELSE 1 END AS failures,
                    CASE WHEN window_started_at > now() - make_interval(secs => $4::float8) THEN window_started_at ELSE now() END AS window_started_at
               FROM auth_throttle WHERE scope = $1 AND subject = $2) n
      WHERE t.scope = n.scope AND t.subject = n.subject`,
    [s.scope, s.subject, l[s.scope].lockAfter, l.windowSec, l.lockSec],
  );
}

/**
 * The password was right: the account starts afresh; the address gives back the attempt it
 * was charged (it keeps its other failures, so signing in to one's own account between guesses
 * at others does not reset the per-address count).
 */
export async function signInSucceeded(db: Db, subjects: ThrottleSubject[], l: ThrottleLimits): Promise<void> {
  await db.transaction(async (tx) => {
    for (const s of subjects) {
      if (s.scope === 'account') {
        await tx.query(`DELETE FROM auth_throttle WHERE scope = $1 AND subject = $2`, [s.scope, s.subject]);
      } else {
        await tx.query(
          `UPDATE auth_throttle SET failures = greatest(failures - 1, 0),
                  locked_until = CASE WHEN failures - 1 >= $3 THEN locked_until END
            WHERE scope = $1 AND subject = $2`,
          [s.scope, s.subject, l.address.lockAfter],
        );
      }
    }
  });
}

/** Forgets rows whose window and lock are both over (called after failed attempts; cheap with the index). */
export async function pruneThrottle(db: Db, l: ThrottleLimits): Promise<void> {
  await db.query(
    `DELETE FROM auth_throttle
      WHERE last_failure_at < now() - make_interval(secs => greatest($1::float8, $2::float8))
        AND (locked_until IS NULL OR locked_until < now())`,
    [l.windowSec, l.backoffMaxSec],
  );
}
