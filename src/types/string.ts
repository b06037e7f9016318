/**
 * Numbers kept in string values: the integer form INCR and friends accept,
 * and the x87 80-bit long double arithmetic INCRBYFLOAT does in Redis.
 *
 * INCRBYFLOAT must print what Redis prints ("%.17Lf" of a long double, then
 * trailing zeros cut), and a JS double gives different digits (10.5 + 0.1
 * prints 10.59999999999999964 at 17 decimals as a double, 10.6 as a long
 * double). So the long double is emulated exactly with BigInt: a 64-bit
 * mantissa, round-half-even, the same overflow point. It is not on a hot
 * path, exactness matters more than speed here.
 */

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * The integer a stored string holds (Redis string2ll: canonical decimal,
 * no sign '+', no leading zeros, no spaces), or null. Small values come
 * back as numbers (the INCR fast path), larger ones as bigint.
 */
export function parseStoredInt(s: string): number | bigint | null {
  const len = s.length;
  if (len === 0 || len > 20) return null;
  let i = 0;
  if (s.charCodeAt(0) === 45 /* - */) {
    if (len === 1) return null;
    i = 1;
  }
  const first = s.charCodeAt(i);
  if (first === 48 /* 0 */) return len === 1 ? 0 : null;
  if (first < 49 || first > 57) return null;
  // Summed as it is checked: exact up to 15 digits, and Number(s) was a
  // general string-to-double conversion per INCR.
  let v = first - 48;
  for (let j = i + 1; j < len; j++) {
    const c = s.charCodeAt(j);
    if (c < 48 || c > 57) return null;
    v = v * 10 + (c - 48);
  }
  if (len <= 15) return i === 1 ? -v : v;
  const b = BigInt(s);
  return b < INT64_MIN || b > INT64_MAX ? null : b;
}

export function fitsInt64(n: bigint): boolean {
  return n >= INT64_MIN && n <= INT64_MAX;
}

// ---- 80-bit long double ----

/** value = (neg ? -1 : 1) * m * 2^e; m is 0 (zero), in [2^63, 2^64), or smaller for subnormals. */
export interface LongDouble {
  neg: boolean;
  m: bigint;
  e: number;
  inf: boolean;
}

const TWO63 = 1n << 63n;
const TWO64 = 1n << 64n;
/** Largest exponent e with m*2^e finite (max long double is (2^64-1)*2^16320). */
const MAX_E = 16383 - 63;
/** The exponent of the smallest normal's last bit; subnormals keep it with fewer mantissa bits. */
const MIN_E = -16382 - 63;
/** Redis's MAX_LONG_DOUBLE_CHARS: longer inputs are not numbers to it. */
export const MAX_LONG_DOUBLE_CHARS = 5 * 1024;

const ZERO: LongDouble = { neg: false, m: 0n, e: 0, inf: false };

function bitLength(n: bigint): number {
  if (n === 0n) return 0;
  const h = n.toString(16);
  return (h.length - 1) * 4 + (32 - Math.clz32(parseInt(h[0], 16)));
}

/**
 * Round n*2^e (plus a bit more if `sticky`) to a long double, ties to even:
 * 64 mantissa bits, fewer for subnormals (glibc's strtold returns those, and
 * Redis accepts them), zero below half the smallest subnormal.
 */
function round64(neg: boolean, n: bigint, e: number, sticky: boolean): LongDouble {
  if (n === 0n) return { neg, m: 0n, e: 0, inf: false };
  const target = Math.max(e + bitLength(n) - 64, MIN_E);
  let m: bigint;
  if (target <= e) {
    m = n << BigInt(e - target);
  } else {
    const shift = BigInt(target - e);
    m = n >> shift;
    const rem = n & ((1n << shift) - 1n);
    const half = 1n << (shift - 1n);
    if (rem > half || (rem === half && (sticky || (m & 1n) === 1n))) m++;
  }
  e = target;
  if (m === TWO64) {
    m = TWO63;
    e++;
  }
  if (e > MAX_E) return { neg, m: 0n, e: 0, inf: true };
  if (m === 0n) return { neg, m: 0n, e: 0, inf: false };
  return { neg, m, e, inf: false };
}

/** Nearest long double to num/den (both > 0). */
function fromRatio(neg: boolean, num: bigint, den: bigint): LongDouble {
  const k = Math.max(0, 66 + bitLength(den) - bitLength(num));
  const scaled = num << BigInt(k);
  const q = scaled / den;
  return round64(neg, q, -k, q * den !== scaled);
}

const DEC_RE = /^([+-]?)(?:(\d+)\.?(\d*)|\.(\d+))(?:[eE]([+-]?\d+))?$/;
const HEX_RE = /^([+-]?)0[xX](?:([0-9a-fA-F]+)\.?([0-9a-fA-F]*)|\.([0-9a-fA-F]+))(?:[pP]([+-]?\d+))?$/;
const SPECIAL_RE = /^([+-]?)(inf|infinity|nan|nan\([0-9a-zA-Z_]*\))$/i;

/**
 * Redis string2ld: what strtold takes as a whole (decimal, hex, inf), no
 * leading space, no NaN, no overflow or underflow to zero. Null if not.
 */
export function parseLongDouble(s: string): LongDouble | null {
  if (s.length === 0 || s.length >= MAX_LONG_DOUBLE_CHARS) return null;
  let m = DEC_RE.exec(s);
  if (m !== null) {
    const neg = m[1] === '-';
    const intPart = m[2] ?? '';
    const frac = m[3] ?? m[4] ?? '';
    const digits = (intPart + frac).replace(/^0+/, '');
    if (digits === '') return { ...ZERO, neg };
    const exp = m[5] === undefined ? 0 : Number(m[5]);
    const exp10 = exp - frac.length;
    const magnitude = digits.length + exp10; // value is below 10^magnitude
    if (magnitude > 4933) return null; // overflow (ERANGE, HUGE_VAL)
    if (magnitude < -4960) return null; // underflow to zero (ERANGE)
    const n = BigInt(digits);
    const r = exp10 >= 0 ? round64(neg, n * 10n ** BigInt(exp10), 0, false) : fromRatio(neg, n, 10n ** BigInt(-exp10));
    if (r.inf || r.m === 0n) return null;
    return r;
  }
  m = HEX_RE.exec(s);
  if (m !== null) {
    const neg = m[1] === '-';
    const frac = m[3] ?? m[4] ?? '';
    const hex = ((m[2] ?? '') + frac).replace(/^0+/, '');
    if (hex === '') return { ...ZERO, neg };
    const e = (m[5] === undefined ? 0 : Number(m[5])) - 4 * frac.length;
    if (e + hex.length * 4 > 16400 || e + hex.length * 4 < -16600) return null;
    const r = round64(neg, BigInt('0x' + hex), e, false);
    if (r.inf || r.m === 0n) return null;
    return r;
  }
  m = SPECIAL_RE.exec(s);
  if (m !== null && m[2].toLowerCase().startsWith('inf')) return { neg: m[1] === '-', m: 0n, e: 0, inf: true };
  return null;
}

/** a + b rounded to long double; null if the result is NaN (inf - inf). */
export function addLongDouble(a: LongDouble, b: LongDouble): LongDouble | null {
  if (a.inf || b.inf) {
    if (a.inf && b.inf && a.neg !== b.neg) return null;
    return a.inf ? a : b;
  }
  if (a.m === 0n) return b.m === 0n ? { ...ZERO, neg: a.neg && b.neg } : b;
  if (b.m === 0n) return a;
  // Far apart, the smaller cannot move the larger by even half an ulp.
  if (a.e - b.e > 130) return a;
  if (b.e - a.e > 130) return b;
  const e = Math.min(a.e, b.e);
  const av = a.m << BigInt(a.e - e);
  const bv = b.m << BigInt(b.e - e);
  const sum = (a.neg ? -av : av) + (b.neg ? -bv : bv);
  if (sum === 0n) return ZERO;
  return round64(sum < 0n, sum < 0n ? -sum : sum, e, false);
}

const TEN17 = 10n ** 17n;

/**
 * Redis's "human" long double text: printf "%.17Lf" (exact value, ties to
 * even), trailing zeros and a trailing dot removed, "-0" written as "0".
 */
export function formatLongDouble(x: LongDouble): string {
  if (x.inf) return x.neg ? '-inf' : 'inf';
  if (x.m === 0n) return '0';
  let text: string;
  if (x.e >= 0) {
    text = (x.m << BigInt(x.e)).toString();
  } else {
    const k = BigInt(-x.e);
    const scaled = x.m * TEN17;
    let q = scaled >> k;
    const rem = scaled - (q << k);
    const half = 1n << (k - 1n);
    if (rem > half || (rem === half && (q & 1n) === 1n)) q++;
    const digits = q.toString().padStart(18, '0');
    const intPart = digits.slice(0, -17);
    const frac = digits.slice(-17).replace(/0+$/, '');
    text = frac === '' ? intPart : intPart + '.' + frac;
  }
  if (x.neg && text !== '0') text = '-' + text;
  return text;
}
