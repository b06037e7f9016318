/**
 * Stream entry IDs (`ms-seq`, two unsigned 64-bit integers), as t_stream.c's
 * streamID. Each half is a JS number while it is a safe integer (every ID a
 * clock makes) and a BigInt only above 2^53 - 1, so the common path does no
 * BigInt arithmetic while 18446744073709551615 stays exact.
 */
import { ReplyError } from '../protocol/errors.js';

/** A u64: a number when <= Number.MAX_SAFE_INTEGER, else a bigint (never a small bigint). */
export type U64 = number | bigint;

export interface StreamID {
  ms: U64;
  seq: U64;
}

export const U64_MAX = 18446744073709551615n;
const SAFE = 9007199254740991n;

export const ZERO_ID: StreamID = Object.freeze({ ms: 0, seq: 0 });
export const MAX_ID: StreamID = Object.freeze({ ms: U64_MAX, seq: U64_MAX });

export const INVALID_ID = 'ERR Invalid stream ID specified as stream command argument';

/** The canonical form of a u64 held as a bigint. */
export function norm(b: bigint): U64 {
  return b <= SAFE ? Number(b) : b;
}

export function cmpU64(a: U64, b: U64): number {
  if (typeof a === 'number') {
    if (typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
    // A bigint is always above every safe number (normalized form): no conversion.
    return -1;
  }
  if (typeof b === 'number') return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export function cmpId(a: StreamID, b: StreamID): number {
  const c = cmpU64(a.ms, b.ms);
  return c !== 0 ? c : cmpU64(a.seq, b.seq);
}

export function isZero(id: StreamID): boolean {
  return id.ms === 0 && id.seq === 0;
}

export function isMax(x: U64): boolean {
  return x === U64_MAX;
}

export function addU64(a: U64, n: number): U64 {
  if (typeof a === 'number') {
    const r = a + n;
    if (Number.isSafeInteger(r)) return r;
  }
  return norm(BigInt(a) + BigInt(n));
}

export function subU64(a: U64, b: U64): U64 {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return norm(BigInt(a) - BigInt(b));
}

/** The next ID, or null past the last possible one (streamIncrID). */
export function incrId(id: StreamID): StreamID | null {
  if (isMax(id.seq)) {
    if (isMax(id.ms)) return null;
    return { ms: addU64(id.ms, 1), seq: 0 };
  }
  return { ms: id.ms, seq: addU64(id.seq, 1) };
}

/** The previous ID, or null before 0-0 (streamDecrID). */
export function decrId(id: StreamID): StreamID | null {
  if (id.seq === 0) {
    if (id.ms === 0) return null;
    return { ms: subU64(id.ms, 1), seq: U64_MAX };
  }
  return { ms: id.ms, seq: subU64(id.seq, 1) };
}

export function idStr(id: StreamID): string {
  return id.ms + '-' + id.seq;
}

/** string2ull: decimal digits only, at most 2^64 - 1. */
function parseU64(s: string): U64 | null {
  const n = s.length;
  if (n === 0 || n > 20) return null;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return null;
  }
  if (n <= 15) return Number(s);
  const b = BigInt(s);
  return b > U64_MAX ? null : norm(b);
}

export interface ParsedId {
  id: StreamID;
  /** False for `ms-*` (XADD only). */
  seqGiven: boolean;
}

/**
 * streamGenericParseIDOrReply: `-` and `+` (unless strict), `ms` (seq =
 * missingSeq), `ms-seq`, and `ms-*` when allowSeqStar. Throws the Redis
 * error text on anything else.
 */
export function parseId(s: string, missingSeq: U64, strict: boolean, allowSeqStar = false): ParsedId {
  if (s.length > 127) throw new IdError();
  if (s === '-' || s === '+') {
    if (strict) throw new IdError();
    return { id: s === '-' ? ZERO_ID : MAX_ID, seqGiven: true };
  }
  const dash = s.indexOf('-');
  const ms = parseU64(dash < 0 ? s : s.slice(0, dash));
  if (ms === null) throw new IdError();
  if (dash < 0) return { id: { ms, seq: missingSeq }, seqGiven: true };
  const tail = s.slice(dash + 1);
  if (allowSeqStar && tail === '*') return { id: { ms, seq: 0 }, seqGiven: false };
  const seq = parseU64(tail);
  if (seq === null) throw new IdError();
  return { id: { ms, seq }, seqGiven: true };
}

export class IdError extends ReplyError {
  constructor() {
    super(INVALID_ID);
  }
}
