/**
 * Lua 5.1's view of values, for the bundled C libraries. Redis's Lua is 5.1
 * with doubles only; our VM is 5.4. The libraries read arguments and report
 * errors the way 5.1's auxiliary library does (lua_tonumber also converts
 * strings with C's strtod, luaL_checkinteger truncates, messages say
 * "number expected, got no value"), so scripts see Redis's behaviour.
 */
import { LuaType, type LuaState, type LuaVm } from '../vm/lua-vm.js';
import { formatG } from '../vm/number-format.js';

/** Lua 5.1's LUAI_MAXCSTACK: how many slots a C function may use; its checkstack fails past it. */
export const LUA51_MAX_CSTACK = 8000;

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

/** A NaN with the sign bit set (what x86 computes for 0/0, printed "-nan" by glibc). */
export function negativeNaN(): number {
  u32[0] = 0;
  u32[1] = 0xfff80000;
  return f64[0]!;
}
function positiveNaN(): number {
  u32[0] = 0;
  u32[1] = 0x7ff80000;
  return f64[0]!;
}

const isSpace = (c: number): boolean => c === 32 || (c >= 9 && c <= 13);
const isDigit = (c: number): boolean => c >= 48 && c <= 57;
function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  if (l >= 97 && l <= 102) return l - 87;
  return -1;
}
function startsWithCI(s: string, i: number, word: string): boolean {
  return s.slice(i, i + word.length).toLowerCase() === word;
}

/**
 * glibc's strtod on the latin1 string s from index `start` (the string ends
 * at s.length or at a NUL, as in C): decimal and hexadecimal forms, inf,
 * infinity and nan[(chars)] in any case, leading spaces and sign. Returns
 * the value and the index just after what it used (`start` when nothing).
 */
export function strtod(s: string, start: number): { value: number; end: number } {
  const n = s.length;
  const at = (i: number): number => (i < n ? s.charCodeAt(i) : 0);
  let i = start;
  while (isSpace(at(i))) i++;
  let neg = false;
  if (at(i) === 43 || at(i) === 45) {
    neg = at(i) === 45;
    i++;
  }
  const sign = (v: number): number => (neg ? -v : v);
  if (startsWithCI(s, i, 'inf')) {
    const end = startsWithCI(s, i, 'infinity') ? i + 8 : i + 3;
    return { value: sign(Infinity), end };
  }
  if (startsWithCI(s, i, 'nan')) {
    let end = i + 3;
    if (at(end) === 40) {
      let j = end + 1;
      while (/[0-9A-Za-z_]/.test(s[j] ?? '')) j++;
      if (at(j) === 41) end = j + 1;
    }
    return { value: neg ? negativeNaN() : positiveNaN(), end };
  }
  if (at(i) === 48 && (at(i + 1) | 0x20) === 120) {
    const hex = parseHexFloat(s, i + 2, at);
    if (hex) return { value: sign(hex.value), end: hex.end };
    // "0x" without hex digits: just the "0"
    return { value: sign(0), end: i + 1 };
  }
  const m0 = i;
  let digits = 0;
  while (isDigit(at(i))) {
    i++;
    digits++;
  }
  if (at(i) === 46) {
    i++;
    while (isDigit(at(i))) {
      i++;
      digits++;
    }
  }
  if (digits === 0) return { value: 0, end: start };
  let end = i;
  if ((at(i) | 0x20) === 101) {
    let j = i + 1;
    if (at(j) === 43 || at(j) === 45) j++;
    if (isDigit(at(j))) {
      while (isDigit(at(j))) j++;
      end = j;
    }
  }
  let text = s.slice(m0, end);
  if (text.startsWith('.')) text = '0' + text;
  if (/\.(e|E|$)/.test(text)) text = text.replace('.', '.0');
  return { value: sign(Number(text)), end };
}

/** A hex float after "0x": digits, optional fraction, optional p exponent; correctly rounded. */
function parseHexFloat(s: string, i: number, at: (i: number) => number): { value: number; end: number } | null {
  let mant = 0n;
  let any = false;
  let fracDigits = 0;
  while (hexVal(at(i)) >= 0) {
    mant = mant * 16n + BigInt(hexVal(at(i)));
    i++;
    any = true;
  }
  if (at(i) === 46) {
    let j = i + 1;
    let fracAny = false;
    while (hexVal(at(j)) >= 0) {
      mant = mant * 16n + BigInt(hexVal(at(j)));
      j++;
      fracDigits++;
      fracAny = true;
    }
    if (any || fracAny) {
      i = j;
      any = true;
    }
  }
  if (!any) return null;
  let exp2 = -4 * fracDigits;
  if ((at(i) | 0x20) === 112) {
    let j = i + 1;
    let eneg = false;
    if (at(j) === 43 || at(j) === 45) {
      eneg = at(j) === 45;
      j++;
    }
    if (isDigit(at(j))) {
      let e = 0;
      while (isDigit(at(j))) {
        e = Math.min(e * 10 + (at(j) - 48), 1e6);
        j++;
      }
      exp2 += eneg ? -e : e;
      i = j;
    }
  }
  return { value: scaleBinary(mant, exp2), end: i };
}

/** mant * 2^exp2 rounded to the nearest double (ties to even), subnormals included. */
function scaleBinary(mant: bigint, exp2: number): number {
  if (mant === 0n) return 0;
  const bits = mant.toString(2).length;
  const top = bits - 1 + exp2; // exponent of the leading bit
  if (top > 1023) return Infinity;
  // Keep 53 significant bits, or fewer where the result is subnormal (2^-1074 is the last bit).
  const keep = Math.min(53, top + 1074 + 1);
  if (keep <= 0) {
    // below half of the smallest subnormal, or exactly half (ties to even: 0)
    if (keep === 0 && mant !== 1n << BigInt(bits - 1)) return 5e-324;
    return 0;
  }
  let shift = bits - keep;
  let m = mant;
  if (shift > 0) {
    const half = 1n << BigInt(shift - 1);
    const rem = m & ((1n << BigInt(shift)) - 1n);
    m >>= BigInt(shift);
    if (rem > half || (rem === half && (m & 1n) === 1n)) m += 1n;
  } else shift = 0;
  // m has at most 54 bits and fits the target precision: both products are exact
  const e = exp2 + shift;
  return e < -1000 ? Number(m) * 2 ** (e + 600) * 2 ** -600 : Number(m) * 2 ** e;
}

/**
 * Lua 5.1's luaO_str2d: the whole C string (up to a NUL) must be a number,
 * surrounding spaces allowed; strtod's forms, so "0x10", "inf" and "nan"
 * are numbers too. Null when it is not a number.
 */
export function str2d51(s: string): number | null {
  // The common case first: a plain decimal integer of up to 15 digits (exact as a double)
  const n = s.length;
  if (n > 0 && n <= 15) {
    let i = s.charCodeAt(0) === 45 ? 1 : 0;
    if (i < n) {
      while (i < n && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) i++;
      if (i === n) return Number(s);
    }
  }
  const z = s.indexOf('\0');
  if (z >= 0) s = s.slice(0, z);
  const r = strtod(s, 0);
  if (r.end === 0) return null;
  let end = r.end;
  // 5.1 retries with strtoul at an 'x'; glibc's strtod has parsed all that strtoul would
  if (s[end] === 'x' || s[end] === 'X') return null;
  while (end < s.length && isSpace(s.charCodeAt(end))) end++;
  return end === s.length ? r.value : null;
}

/** lua_tonumber of 5.1: numbers (as doubles) and numeric strings; null otherwise. */
export function toNumber51(vm: LuaVm, L: LuaState, idx: number): number | null {
  const t = vm.type(L, idx);
  if (t === LuaType.NUMBER) return vm.toNumber(L, idx);
  if (t === LuaType.STRING) return str2d51(vm.toLatin1(L, idx)!);
  return null;
}

/** Lua 5.1's tostring of a number (%.14g). */
export const numberToString51 = (n: number): string => formatG(n, 14);

/** lua_tolstring of 5.1: strings, and numbers printed with %.14g; null otherwise. */
export function toString51(vm: LuaVm, L: LuaState, idx: number): string | null {
  const t = vm.type(L, idx);
  if (t === LuaType.STRING) return vm.toLatin1(L, idx);
  if (t === LuaType.NUMBER) return numberToString51(vm.toNumber(L, idx)!);
  return null;
}

/** luaL_typerror: "bad argument #n to 'f' (<tname> expected, got <type>)". */
export function typeError51(vm: LuaVm, L: LuaState, idx: number, tname: string): never {
  return vm.argError(L, idx, `${tname} expected, got ${vm.typeName(vm.type(L, idx))}`);
}

/** luaL_checknumber of 5.1. */
export function checkNumber51(vm: LuaVm, L: LuaState, idx: number): number {
  const n = toNumber51(vm, L, idx);
  if (n === null) return typeError51(vm, L, idx, 'number');
  return n;
}

/**
 * C's (int64_t) cast of a double on x86-64 (cvttsd2si): truncation toward
 * zero; NaN and out-of-range values give INT64_MIN.
 */
export function doubleToInt64(n: number): bigint {
  if (!(n > -9223372036854775808 - 1 && n < 9223372036854775808)) return -9223372036854775808n;
  return BigInt(Math.trunc(n));
}

/** C's (int) cast of a double on x86-64: truncation; NaN and out-of-range give INT_MIN. */
export function doubleToInt32(n: number): number {
  if (!(n > -2147483649 && n < 2147483648)) return -2147483648;
  return Math.trunc(n);
}

/** luaL_checkinteger of 5.1 (lua_Integer is 64-bit there): a number or numeric string, truncated. */
export function checkInteger51(vm: LuaVm, L: LuaState, idx: number): bigint {
  const n = toNumber51(vm, L, idx);
  if (n === null) return typeError51(vm, L, idx, 'number');
  return doubleToInt64(n);
}

/** luaL_optinteger of 5.1. */
export function optInteger51(vm: LuaVm, L: LuaState, idx: number, def: bigint): bigint {
  const t = vm.type(L, idx);
  if (t === LuaType.NIL || t === LuaType.NONE) return def;
  return checkInteger51(vm, L, idx);
}

/** luaL_checklstring of 5.1 (numbers are converted as 5.1 prints them). */
export function checkString51(vm: LuaVm, L: LuaState, idx: number): string {
  const s = toString51(vm, L, idx);
  if (s === null) return typeError51(vm, L, idx, 'string');
  return s;
}

/**
 * Pushes what 5.1 would hold as the double n: integral values that 5.1
 * prints without an exponent become 5.4 integers (so `..` prints "5", not
 * "5.0"); the rest (fractions, -0, NaN, inf, |n| >= 1e14, which 5.1
 * prints as 1e+14) stay floats, which 5.4 prints as 5.1 does.
 */
export function pushNumber51(vm: LuaVm, L: LuaState, n: number): void {
  if (Number.isInteger(n) && n < 1e14 && n > -1e14 && !Object.is(n, -0)) vm.pushInteger(L, n);
  else vm.pushNumber(L, n);
}

/**
 * luaL_checkstack of 5.1 in a C function: fails once the function's frame
 * would hold more than LUAI_MAXCSTACK values ("stack overflow (msg)"); also
 * grows the 5.4 stack for real.
 */
export function checkStack51(vm: LuaVm, L: LuaState, n: number, msg: string): void {
  if (vm.getTop(L) + n > LUA51_MAX_CSTACK || !vm.checkStack(L, n)) vm.raise(L, `stack overflow (${msg})`);
}

/** lua_checkstack of 5.1 (false past LUAI_MAXCSTACK), growing the 5.4 stack when it succeeds. */
export function canGrowStack51(vm: LuaVm, L: LuaState, n: number): boolean {
  return vm.getTop(L) + n <= LUA51_MAX_CSTACK && vm.checkStack(L, n);
}
