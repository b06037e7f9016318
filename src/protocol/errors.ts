/**
 * Errors a handler throws to answer a client; the dispatcher writes them as
 * `-<message>`. Shared Redis texts live here so every family says them the
 * same way.
 */
export class ReplyError extends Error {
  /** `message` includes the code: "ERR ...", "WRONGTYPE ...". */
  constructor(message: string) {
    super(message);
  }
}

export const ERR = {
  syntax: 'ERR syntax error',
  notInt: 'ERR value is not an integer or out of range',
  notFloat: 'ERR value is not a valid float',
  overflow: 'ERR increment or decrement would overflow',
  noSuchKey: 'ERR no such key',
  wrongType: 'WRONGTYPE Operation against a key holding the wrong kind of value',
  dbIndex: 'ERR DB index is out of range',
  noAuth: 'NOAUTH Authentication required.',
  loading: 'LOADING Redis is loading the dataset in memory',
  invalidExpire: (cmd: string) => `ERR invalid expire time in '${cmd}' command`,
  arity: (cmd: string) => `ERR wrong number of arguments for '${cmd}' command`,
} as const;

/** Redis string2ll: the whole string must be a canonical 64-bit integer. */
export function parseIntArg(s: string, err: string = ERR.notInt): number {
  const n = toSafeInt(s);
  if (n === null) throw new ReplyError(err);
  return n;
}

/**
 * Integer argument, or null. Accepts what Redis's string2ll accepts: no
 * spaces, no '+', no leading zeros. Values beyond 2^53 are refused unless
 * they fit int64 exactly as a BigInt is not needed (callers that need full
 * int64, INCRBY, use parseInt64).
 */
export function toSafeInt(s: string): number | null {
  const len = s.length;
  if (len === 0 || len > 20) return null;
  // A loop over the char codes: the regex test this replaced showed in
  // profiles (every count, index and timestamp argument comes through here).
  const neg = s.charCodeAt(0) === 45; /* - */
  let i = neg ? 1 : 0;
  if (i === len) return null;
  // Canonical only: "0", never "-0" or a leading zero.
  if (s.charCodeAt(i) === 48) return len === 1 ? 0 : null;
  let n = 0;
  for (; i < len; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return null;
    n = n * 10 + d;
  }
  // Up to 15 digits the sum is exact; longer ones are parsed (and may not be safe).
  if (len > 15) {
    const big = Number(s);
    return Number.isSafeInteger(big) ? big : null;
  }
  return neg ? -n : n;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Full int64 parse (string2ll), or null. */
export function parseInt64(s: string): bigint | null {
  // Up to 15 characters every integer is safe: no regex, no string BigInt parse.
  if (s.length <= 15) {
    const n = toSafeInt(s);
    return n === null ? null : BigInt(n);
  }
  if (s.length > 20) return null;
  if (!/^(-?[1-9][0-9]*|0)$/.test(s)) return null;
  const n = BigInt(s);
  if (n < INT64_MIN || n > INT64_MAX) return null;
  return n;
}

/** parseInt64 as a number (precision past 2^53 lost), without a BigInt for the usual short ones. */
export function int64AsNumber(s: string): number | null {
  const n = toSafeInt(s);
  if (n !== null || s.length <= 15) return n;
  const b = parseInt64(s);
  return b === null ? null : Number(b);
}

export function inInt64(n: bigint): boolean {
  return n >= INT64_MIN && n <= INT64_MAX;
}

/** Redis's strtod-based float argument: "inf", "-inf", decimals, exponents; no NaN, no spaces. */
export function parseFloatArg(s: string, err: string = ERR.notFloat): number {
  const n = toFloat(s);
  if (n === null) throw new ReplyError(err);
  return n;
}

export function toFloat(s: string): number | null {
  const len = s.length;
  if (len === 0) return null;
  // Plain decimals ([-]digits[.digits]: scores, timestamps) match the pattern
  // below and parse as Number parses them: no regex, no lower-cased copy.
  const neg = s.charCodeAt(0) === 45;
  let i = neg ? 1 : 0;
  let digits = 0;
  let dot = false;
  // An integer of up to 15 digits (16 below 2^53) is summed exactly as it is read (timestamps, ids, 0):
  // Number() of it went through V8's general strtod.
  let v = 0;
  for (; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      digits++;
      v = v * 10 + (c - 48);
    } else if (c === 46 && !dot) dot = true;
    else break;
  }
  // 16 digits are exact too while the sum stays a safe integer (BullMQ's
  // (timestamp + 1) * 0x1000 - 1 score bound); past it the sum may have rounded.
  if (i === len && digits > 0) return !dot && (digits <= 15 || (digits === 16 && v <= Number.MAX_SAFE_INTEGER)) ? (neg ? -v : v) : Number(s);
  if (/^\s|\s$/.test(s)) return null;
  const l = s.toLowerCase();
  if (l === 'inf' || l === '+inf' || l === 'infinity' || l === '+infinity') return Infinity;
  if (l === '-inf' || l === '-infinity') return -Infinity;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(s)) return null;
  const n = Number(s);
  return Number.isNaN(n) ? null : n;
}
