/**
 * Fixed-point text of doubles as glibc's printf writes it: the exact binary
 * value rounded to the digits asked, ties to even. JS's toFixed is exact
 * too but breaks ties upwards, so the rare exact tie (a value with at most
 * digits+1 binary fraction bits) is redone with BigInt.
 */

function exactFixed(x: number, digits: number): string {
  const neg = x < 0 || Object.is(x, -0);
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, Math.abs(x));
  const hi = buf.getUint32(0);
  const lo = buf.getUint32(4);
  const expBits = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let exp: number;
  if (expBits === 0) exp = -1074;
  else {
    mant |= 1n << 52n;
    exp = expBits - 1075;
  }
  const scale = 10n ** BigInt(digits);
  let q: bigint;
  if (exp >= 0) q = (mant << BigInt(exp)) * scale;
  else {
    const num = mant * scale;
    const sh = BigInt(-exp);
    q = num >> sh;
    const rem = num - (q << sh);
    const half = 1n << (sh - 1n);
    if (rem > half || (rem === half && (q & 1n) === 1n)) q++;
  }
  let s = q.toString().padStart(digits + 1, '0');
  if (digits > 0) s = s.slice(0, -digits) + '.' + s.slice(-digits);
  return neg ? '-' + s : s;
}

/** printf("%.<digits>f", x) for a finite x. */
export function fixedHalfEven(x: number, digits: number): string {
  if (Math.abs(x) >= 1e21 || Number.isInteger(x * 2 ** (digits + 1))) return exactFixed(x, digits);
  const s = x.toFixed(digits);
  return Object.is(x, -0) || (x < 0 && !s.startsWith('-')) ? '-' + s : s;
}

/** Redis's "human" long double text of a double (ld2string LD_STR_HUMAN): %.17Lf, zeros trimmed, "-0" as "0". */
export function humanDouble(d: number): string {
  if (d === Infinity) return 'inf';
  if (d === -Infinity) return '-inf';
  let s = fixedHalfEven(d, 17);
  if (s.includes('.')) {
    let end = s.length;
    while (s.charCodeAt(end - 1) === 48) end--;
    if (s.charCodeAt(end - 1) === 46) end--;
    s = s.slice(0, end);
  }
  return s === '-0' ? '0' : s;
}
