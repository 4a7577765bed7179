/**
 * The hybrid logical clock (SYNC.md §4.4), the same rules as the SQL one in schema/031
 * (sync.hlc_next, sync.hlc_observe, sync.hlc_encode, sync.newer).
 *
 * A stamp is one bigint: physical milliseconds × 65536 + a 16-bit counter. Its text form is 16
 * lower-case hex digits, so string order is numeric order. Versions are ordered by
 * (stamp, node id as text); the node id breaks ties, so every node agrees on one order.
 * Stamps exceed 2^53: they are BigInt everywhere, never number.
 */
import { RobbieverseError } from '../errors.js';

/** Counter values per millisecond: a stamp is `ms * HLC_SCALE + counter`. */
export const HLC_SCALE = 65536n;
/** The largest stamp a PostgreSQL bigint holds. */
const HLC_MAX = 2n ** 63n - 1n;
const HEX16 = /^[0-9a-f]{16}$/;

function toBigInt(v: number | bigint, what: string): bigint {
  if (typeof v === 'bigint') return v;
  if (!Number.isSafeInteger(v)) {
    throw new RobbieverseError('E_USAGE', `${what} must be a whole number of milliseconds, got ${String(v)}`, {
      hint: 'pass Date.now() or another integer (or a bigint)',
    });
  }
  return BigInt(v);
}

function checkStamp(h: bigint, what: string): bigint {
  if (typeof h !== 'bigint' || h < 0n || h > HLC_MAX) {
    throw new RobbieverseError('E_USAGE', `${what} ${String(h)} is not a version stamp (a bigint from 0 to 2^63-1)`, {
      hint: 'stamps come from HybridClock.next(), decodeHlc() or a bigint column read as text',
    });
  }
  return h;
}

/** One node's clock. `last` is the last stamp issued or seen (0n for a clock that never ran). */
export class HybridClock {
  #last: bigint;

  constructor(last: bigint = 0n) {
    this.#last = checkStamp(last, 'the starting stamp');
  }

  get last(): bigint {
    return this.#last;
  }

  /** A new stamp for a local write: max(last + 1, wall × 65536). Strictly above every earlier one. */
  next(wallMs: number | bigint): bigint {
    const floor = toBigInt(wallMs, 'the wall clock') * HLC_SCALE;
    const v = this.#last + 1n > floor ? this.#last + 1n : floor;
    this.#last = checkStamp(v, 'the next stamp');
    return v;
  }

  /** After applying a change stamped `seen`: every later `next()` is above it. */
  observe(seen: bigint): void {
    checkStamp(seen, 'the observed stamp');
    if (seen > this.#last) this.#last = seen;
  }
}

/** The text form: 16 lower-case hex digits, zero padded (sync.hlc_encode). */
export function encodeHlc(h: bigint): string {
  return checkStamp(h, 'the stamp').toString(16).padStart(16, '0');
}

/** The inverse of encodeHlc; refuses anything but 16 lower-case hex digits of a bigint. */
export function decodeHlc(s: string): bigint {
  if (typeof s !== 'string' || !HEX16.test(s)) {
    throw new RobbieverseError('E_USAGE', `"${String(s).slice(0, 40)}" is not a version stamp`, {
      hint: 'a stamp is written as 16 lower-case hex digits, e.g. 0001a2b3c4d50000',
    });
  }
  const h = BigInt('0x' + s);
  if (h > HLC_MAX) {
    throw new RobbieverseError('E_USAGE', `"${s}" is beyond the largest version stamp (7fffffffffffffff)`, {
      hint: 'the first hex digit of a stamp is 0 to 7',
    });
  }
  return h;
}

export interface Stamp {
  hlc: bigint;
  nodeId: string;
}

/**
 * The one order every node agrees on: by stamp, then by node id as text (sync.newer). Node ids
 * compare as given; pass them as PostgreSQL prints a uuid (lower case).
 */
export function compareStamps(a: Stamp, b: Stamp): -1 | 0 | 1 {
  if (a.hlc !== b.hlc) return a.hlc < b.hlc ? -1 : 1;
  if (a.nodeId === b.nodeId) return 0;
  return a.nodeId < b.nodeId ? -1 : 1;
}

/** Milliseconds since the epoch (exact: at most 2^47, i.e. before the year 6429). */
export function hlcPhysicalMs(h: bigint): number {
  return Number(checkStamp(h, 'the stamp') / HLC_SCALE);
}

/** The counter within the millisecond, 0 to 65535. */
export function hlcCounter(h: bigint): number {
  return Number(checkStamp(h, 'the stamp') % HLC_SCALE);
}

/** For people: ISO time and counter, e.g. `2026-12-07T01:02:03.456Z+5`. */
export function formatHlc(h: bigint): string {
  return `${new Date(hlcPhysicalMs(h)).toISOString()}+${hlcCounter(h)}`;
}

/**
 * True when a stamp is further ahead of this wall clock than `maxSkewMs`:
 * h > (wall + maxSkew) × 65536, the rule sync.apply_batch parks changes by (kind clock_skew).
 */
export function isSkewed(h: bigint, wallMs: number | bigint, maxSkewMs: number | bigint): boolean {
  return h > (toBigInt(wallMs, 'the wall clock') + toBigInt(maxSkewMs, 'the skew bound')) * HLC_SCALE;
}
