/**
 * C printf's %.<P>g, as glibc prints it, for the number texts scripts can
 * observe: Redis formats Lua numbers passed to redis.call with %.17g, Lua
 * 5.1's tostring and cjson use %.14g. JS's toPrecision switches to exponent
 * form at different thresholds and writes exponents as "e+5" instead of
 * "e+05", so it cannot be used directly.
 */
export function formatG(n: number, precision: number): string {
  if (Number.isNaN(n)) return nanIsNegative(n) ? '-nan' : 'nan';
  if (n === Infinity) return 'inf';
  if (n === -Infinity) return '-inf';
  if (n === 0) return Object.is(n, -0) ? '-0' : '0';
  const p = Math.min(precision === 0 ? 1 : precision, 99);
  if (Number.isSafeInteger(n)) {
    const s = String(n); // the common case: exact, no exponent form needed
    if (s.length - (n < 0 ? 1 : 0) <= p) return s;
  }
  const { digits, exp: x } = roundDigits(Math.abs(n), p);
  const sign = n < 0 ? '-' : '';
  if (x < -4 || x >= p) {
    const frac = digits.slice(1).replace(/0+$/, '');
    const ax = Math.abs(x);
    return `${sign}${digits[0]}${frac ? '.' + frac : ''}e${x < 0 ? '-' : '+'}${ax < 10 ? '0' : ''}${ax}`;
  }
  let int: string;
  let frac: string;
  if (x >= 0) {
    int = digits.slice(0, x + 1);
    frac = digits.slice(x + 1);
  } else {
    int = '0';
    frac = '0'.repeat(-x - 1) + digits;
  }
  frac = frac.replace(/0+$/, '');
  return `${sign}${int}${frac ? '.' + frac : ''}`;
}

/**
 * The first p significant decimal digits of a positive finite a, rounded to
 * nearest with ties to even as glibc does on the exact binary value (JS's
 * toExponential breaks ties upward: 123456789012345 at 14 digits is
 * ...234e+14 in C, ...235e+14 in JS), and the decimal exponent.
 */
function roundDigits(a: number, p: number): { digits: string; exp: number } {
  const full = a.toExponential(99); // the exact expansion, for any tie that matters
  const eAt = full.indexOf('e');
  const all = full[0] + full.slice(2, eAt);
  let exp = Number(full.slice(eAt + 1));
  const rest = all.slice(p);
  let keep = all.slice(0, p);
  const up = rest[0]! > '5' || (rest[0] === '5' && (/[1-9]/.test(rest.slice(1)) || (Number(keep[p - 1]) & 1) === 1));
  if (up) {
    const bumped = (BigInt(keep) + 1n).toString();
    if (bumped.length > p) {
      exp += 1;
      keep = bumped.slice(0, p);
    } else keep = bumped.padStart(p, '0');
  }
  return { digits: keep, exp };
}

/** Lua 5.1's tostring of a number (LUA_NUMBER_FMT "%.14g"). */
export function lua51NumberToString(n: number): string {
  return formatG(n, 14);
}

const f64 = new Float64Array(1);
const f64bytes = new Uint8Array(f64.buffer);
/** glibc prints a NaN's sign bit (x86's 0/0 is negative: "-nan"). */
function nanIsNegative(n: number): boolean {
  f64[0] = n;
  return (f64bytes[7]! & 0x80) !== 0;
}
