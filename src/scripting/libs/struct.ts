/**
 * The `struct` library Redis bundles (Roberto Ierusalimschy's lstruct):
 * pack, unpack and size of binary records. Sizes are those of Redis's
 * build, the x86-64 C ABI (short 2, int 4, long and size_t 8, max
 * alignment 8), native order little endian; integers go through C's
 * 64-bit long conversions, whose x86 results for out-of-range doubles
 * (INT64_MIN, or 0 at 2^64 and above) Redis's output shows.
 */
import type { LuaState, LuaVm } from '../vm/lua-vm.js';
import {
  checkNumber51,
  checkStack51,
  checkString51,
  doubleToInt64,
  optInteger51,
  pushNumber51,
  toNumber51,
  typeError51,
} from './lua51.js';

const MAXINTSIZE = 32;
const MAXALIGN = 8;
const INT_MAX = 2147483647;
const BIG = 0;
const LITTLE = 1;

interface Header {
  endian: number;
  align: number;
}
/** The format being read: the string and the position of the next character. */
interface Fmt {
  s: string;
  i: number;
}

const isDigitAt = (f: Fmt): boolean => {
  const c = f.s.charCodeAt(f.i);
  return c >= 48 && c <= 57;
};

function getnum(vm: LuaVm, L: LuaState, f: Fmt, df: number): number {
  if (!isDigitAt(f)) return df;
  let a = 0;
  do {
    const d = f.s.charCodeAt(f.i) - 48;
    if (a > Math.floor(INT_MAX / 10) || a * 10 > INT_MAX - d) vm.raise(L, 'integral size overflow');
    a = a * 10 + d;
    f.i++;
  } while (isDigitAt(f));
  return a;
}

function optsize(vm: LuaVm, L: LuaState, opt: string, f: Fmt): number {
  switch (opt) {
    case 'B':
    case 'b':
    case 'x':
      return 1;
    case 'H':
    case 'h':
      return 2;
    case 'L':
    case 'l':
    case 'T':
    case 'd':
      return 8;
    case 'f':
      return 4;
    case 'c':
      return getnum(vm, L, f, 1);
    case 'i':
    case 'I': {
      const sz = getnum(vm, L, f, 4);
      if (sz > MAXINTSIZE) vm.raise(L, `integral size ${sz} is larger than limit of ${MAXINTSIZE}`);
      return sz;
    }
    default:
      return 0;
  }
}

function gettoalign(len: number, h: Header, opt: string, size: number): number {
  if (size === 0 || opt === 'c') return 0;
  if (size > h.align) size = h.align;
  // size is a power of 2 here unless an odd i<n> size met a larger alignment: C's & arithmetic either way
  return Number((BigInt(size) - (BigInt(len) & BigInt(size - 1))) & BigInt(size - 1));
}

function controloptions(vm: LuaVm, L: LuaState, opt: string, f: Fmt, h: Header): void {
  switch (opt) {
    case ' ':
      return;
    case '>':
      h.endian = BIG;
      return;
    case '<':
      h.endian = LITTLE;
      return;
    case '!': {
      const a = getnum(vm, L, f, MAXALIGN);
      if (!(a > 0 && (a & (a - 1)) === 0)) vm.raise(L, `alignment ${a} is not a power of 2`);
      h.align = a;
      return;
    }
    default:
      vm.argError(L, 1, `invalid format option '${opt}'`);
  }
}

/** The format as C sees it: up to the first NUL. */
function formatArg(vm: LuaVm, L: LuaState): Fmt {
  const s = checkString51(vm, L, 1);
  const z = s.indexOf('\0');
  return { s: z >= 0 ? s.slice(0, z) : s, i: 0 };
}

/**
 * Arguments past the last one: pack pushes a nil mark right after them, so
 * the first missing argument reads as nil and the next ones as no value.
 */
function packArg(vm: LuaVm, L: LuaState, arg: number, nargs: number, want: 'number' | 'string'): never {
  if (arg === nargs + 1) return vm.argError(L, arg, `${want} expected, got nil`);
  return typeError51(vm, L, arg, want);
}

function packNumber(vm: LuaVm, L: LuaState, arg: number, nargs: number): number {
  if (arg > nargs) packArg(vm, L, arg, nargs, 'number');
  return checkNumber51(vm, L, arg);
}

/**
 * C's (unsigned long)d as gcc compiles it on x86-64: below 2^63 (and NaN,
 * whose compare fails) a signed conversion, so negatives wrap and NaN gives
 * 2^63; above, 2^63 is subtracted first, so 2^64 and more (and inf) give 0.
 */
function doubleToUint64(d: number): bigint {
  if (!(d >= 9223372036854775808)) return BigInt.asUintN(64, doubleToInt64(d));
  // subtract 2^63, convert signed, flip the top bit: 2^64 and above (and inf) give 0
  return BigInt.asUintN(64, doubleToInt64(d - 9223372036854775808)) ^ (1n << 63n);
}

function putinteger(bytes: number[], n: number, endian: number, size: number): void {
  let value = n < 0 ? BigInt.asUintN(64, doubleToInt64(n)) : doubleToUint64(n);
  const out = new Array<number>(size);
  for (let k = 0; k < size; k++) {
    const idx = endian === LITTLE ? k : size - 1 - k;
    out[idx] = Number(value & 0xffn);
    value >>= 8n;
  }
  for (const b of out) bytes.push(b);
}

const f32 = new Float32Array(1);
const f32b = new Uint8Array(f32.buffer);
const f64 = new Float64Array(1);
const f64b = new Uint8Array(f64.buffer);

function pushBytes(bytes: number[], src: Uint8Array, endian: number): void {
  if (endian === LITTLE) for (let k = 0; k < src.length; k++) bytes.push(src[k]!);
  else for (let k = src.length - 1; k >= 0; k--) bytes.push(src[k]!);
}

function pack(vm: LuaVm, L: LuaState): number {
  const f = formatArg(vm, L);
  const nargs = vm.getTop(L);
  const h: Header = { endian: LITTLE, align: 1 };
  let arg = 2;
  let total = 0;
  const bytes: number[] = [];
  let out = '';
  const flush = (): void => {
    out += String.fromCharCode(...bytes);
    bytes.length = 0;
  };
  while (f.i < f.s.length) {
    const opt = f.s[f.i++]!;
    let size = optsize(vm, L, opt, f);
    let toalign = gettoalign(total, h, opt, size);
    total += toalign;
    while (toalign-- > 0) bytes.push(0);
    switch (opt) {
      case 'b':
      case 'B':
      case 'h':
      case 'H':
      case 'l':
      case 'L':
      case 'T':
      case 'i':
      case 'I':
        putinteger(bytes, packNumber(vm, L, arg++, nargs), h.endian, size);
        break;
      case 'x':
        bytes.push(0);
        break;
      case 'f':
        f32[0] = packNumber(vm, L, arg++, nargs);
        pushBytes(bytes, f32b, h.endian);
        break;
      case 'd':
        f64[0] = packNumber(vm, L, arg++, nargs);
        pushBytes(bytes, f64b, h.endian);
        break;
      case 'c':
      case 's': {
        if (arg > nargs) packArg(vm, L, arg, nargs, 'string');
        const s = checkString51(vm, L, arg++);
        if (size === 0) size = s.length;
        // the C code reports the argument after the string (arg was already advanced)
        if (s.length < size) vm.argError(L, arg, 'string too short');
        flush();
        out += s.length === size ? s : s.slice(0, size);
        if (opt === 's') {
          bytes.push(0);
          size++;
        }
        break;
      }
      default:
        controloptions(vm, L, opt, f, h);
    }
    total += size;
    if (bytes.length > 4096) flush();
  }
  flush();
  vm.pushString(L, out);
  return 1;
}

function getinteger(data: string, pos: number, endian: number, signed: boolean, size: number): number {
  let l = 0n;
  for (let k = 0; k < size; k++) {
    const idx = endian === BIG ? pos + k : pos + size - 1 - k;
    l = ((l << 8n) | BigInt(data.charCodeAt(idx))) & 0xffffffffffffffffn;
  }
  if (!signed) return Number(l);
  // C shifts ~0 by size*8-1, which x86 takes modulo 64 (i0 and sizes above 8 included)
  const mask = (0xffffffffffffffffn << BigInt((((size * 8 - 1) % 64) + 64) % 64)) & 0xffffffffffffffffn;
  if (l & mask) l |= mask;
  return Number(BigInt.asIntN(64, l));
}

function unpack(vm: LuaVm, L: LuaState): number {
  const f = formatArg(vm, L);
  const data = checkString51(vm, L, 2);
  const ld = data.length;
  // size_t pos = luaL_optinteger(...): negative offsets wrap to huge values
  let pos = BigInt.asUintN(64, optInteger51(vm, L, 3, 1n));
  if (pos === 0n) vm.argError(L, 3, 'offset must be 1 or greater');
  pos -= 1n;
  let n = 0;
  const h: Header = { endian: LITTLE, align: 1 };
  const tooShort = (size: number, p: bigint): boolean => !(size <= ld && p <= BigInt(ld - size));
  while (f.i < f.s.length) {
    const opt = f.s[f.i++]!;
    let size = optsize(vm, L, opt, f);
    pos = BigInt.asUintN(64, pos + BigInt(gettoalign(Number(pos & 0xffffffffn), h, opt, size)));
    if (tooShort(size, pos)) vm.argError(L, 2, 'data string too short');
    checkStack51(vm, L, 2, 'too many results');
    const p = Number(pos);
    switch (opt) {
      case 'b':
      case 'B':
      case 'h':
      case 'H':
      case 'l':
      case 'L':
      case 'T':
      case 'i':
      case 'I':
        pushNumber51(vm, L, getinteger(data, p, h.endian, opt >= 'a', size));
        n++;
        break;
      case 'x':
        break;
      case 'f':
        for (let k = 0; k < 4; k++) f32b[h.endian === LITTLE ? k : 3 - k] = data.charCodeAt(p + k);
        pushNumber51(vm, L, f32[0]!);
        n++;
        break;
      case 'd':
        for (let k = 0; k < 8; k++) f64b[h.endian === LITTLE ? k : 7 - k] = data.charCodeAt(p + k);
        pushNumber51(vm, L, f64[0]!);
        n++;
        break;
      case 'c': {
        if (size === 0) {
          const prev = n === 0 ? null : toNumber51(vm, L, -1);
          if (prev === null) vm.raise(L, "format 'c0' needs a previous size");
          // (size_t) of the double, as C converts it
          size = Number(doubleToUint64(prev));
          vm.pop(L);
          n--;
          if (tooShort(size, pos)) vm.argError(L, 2, 'data string too short');
        }
        vm.pushString(L, data.slice(p, p + size));
        n++;
        break;
      }
      case 's': {
        const e = data.indexOf('\0', p);
        if (e < 0) vm.raise(L, 'unfinished string in data');
        size = e - p + 1;
        vm.pushString(L, data.slice(p, e));
        n++;
        break;
      }
      default:
        controloptions(vm, L, opt, f, h);
    }
    pos = BigInt.asUintN(64, pos + BigInt(size));
  }
  // lua_pushinteger((ptrdiff_t)(pos + 1)): a wrapped position comes back negative
  vm.pushInteger(L, BigInt.asIntN(64, pos + 1n));
  return n + 1;
}

function size(vm: LuaVm, L: LuaState): number {
  const f = formatArg(vm, L);
  let pos = 0;
  const h: Header = { endian: LITTLE, align: 1 };
  while (f.i < f.s.length) {
    const opt = f.s[f.i++]!;
    const sz = optsize(vm, L, opt, f);
    pos += gettoalign(pos, h, opt, sz);
    if (opt === 's') vm.argError(L, 1, "option 's' has no fixed size");
    else if (opt === 'c' && sz === 0) vm.argError(L, 1, "option 'c0' has no fixed size");
    // unknown letters and digits are skipped here, where pack would refuse them
    if (!/[0-9A-Za-z]/.test(opt)) controloptions(vm, L, opt, f, h);
    pos += sz;
  }
  vm.pushInteger(L, pos);
  return 1;
}

export const structFunctions = { pack, unpack, size };