/**
 * string.format as Lua 5.1's (Redis 7.0's Lua) answers, where 5.4's differs:
 *
 * - %d %i %c %o %u %x %X take any number and truncate it as C's cast does
 *   (3.7 is 3; out of range is INT64_MIN's bits); 5.4 raises "number has
 *   no integer representation".
 * - %s takes strings and numbers only ("string expected, got table"; 5.4
 *   calls tostring), numbers printed as 5.1 prints them, and the text stops
 *   at a NUL as C's sprintf stops (unless kept whole: no precision and
 *   100 bytes or more). Every item stops at a NUL (%c of 0 adds nothing).
 * - %q quotes as 5.1 (only " \ newline \r NUL escaped, numbers as strings,
 *   modifiers ignored); no %a; flags in any order, at most five; 5.1's error
 *   texts ("invalid option '%y' to 'format'", "invalid format (...)").
 *
 * Floating-point items (%e %E %f %g %G) are still printed by 5.4's C
 * format, one item per call: C's printf prints them as glibc's does.
 */
import { LuaType, upvalueIndex, type LuaState, type LuaVm } from '../vm/lua-vm.js';
import { checkNumber51, checkString51, doubleToInt32, numberToString51, typeError51 } from './lua51.js';

const FLAGS = '-+ #0';
const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

/** One conversion specification, as 5.1's scanformat reads it. */
interface Spec {
  /** The flags, width and precision as written (without '%' and the conversion). */
  text: string;
  left: boolean;
  plus: boolean;
  space: boolean;
  alt: boolean;
  zero: boolean;
  width: number;
  /** null: none given. */
  precision: number | null;
}

/** C's (unsigned long) cast of a double on x86-64, as gcc compiles it (a JS number when it is one exactly). */
function doubleToUint64(n: number): number | bigint {
  if (n >= 0 && n <= Number.MAX_SAFE_INTEGER) return Math.trunc(n);
  if (n >= 9223372036854775808) {
    // (x - 2^63) converted, then the top bit flipped: 2^64 and up wrap to 0
    const low = n - 9223372036854775808;
    return low < 9223372036854775808 ? BigInt(Math.trunc(low)) + (1n << 63n) : 0n;
  }
  // below 2^63 (and NaN): the signed conversion, INT64_MIN when out of range
  const s = n > -9223372036854775808 - 1 && n < 9223372036854775808 ? BigInt(Math.trunc(n)) : -(1n << 63n);
  return BigInt.asUintN(64, s);
}

/** Pads `body` (after `prefix`: sign or 0x) to the width as printf does for integers. */
function padInteger(spec: Spec, prefix: string, body: string): string {
  const len = prefix.length + body.length;
  if (len >= spec.width) return prefix + body;
  const fill = spec.width - len;
  if (spec.left) return prefix + body + ' '.repeat(fill);
  if (spec.zero && spec.precision === null) return prefix + '0'.repeat(fill) + body;
  return ' '.repeat(fill) + prefix + body;
}

/** printf of a 64-bit integer (its bits in `value`; a safe JS integer when it fits) for d i o u x X. */
function formatInteger(spec: Spec, conv: string, value: number | bigint): string {
  const signed = conv === 'd' || conv === 'i';
  if (typeof value === 'number' && value < 0 && !signed) value = BigInt(value); // its unsigned bits
  let v: number | bigint = typeof value === 'number' ? value : signed ? BigInt.asIntN(64, value) : BigInt.asUintN(64, value);
  let sign = '';
  if (signed) {
    if (v < 0) {
      sign = '-';
      v = -v;
    } else if (spec.plus) sign = '+';
    else if (spec.space) sign = ' ';
  }
  if (typeof v === 'bigint' && !signed) v = BigInt.asUintN(64, v);
  const base = conv === 'o' ? 8 : conv === 'x' || conv === 'X' ? 16 : 10;
  let digits = v == 0 && spec.precision === 0 ? '' : v.toString(base);
  if (conv === 'X') digits = digits.toUpperCase();
  if (spec.precision !== null && digits.length < spec.precision) digits = '0'.repeat(spec.precision - digits.length) + digits;
  let prefix = sign;
  if (spec.alt) {
    if (conv === 'o' && !digits.startsWith('0')) digits = '0' + digits;
    else if ((conv === 'x' || conv === 'X') && v != 0) prefix = conv === 'x' ? '0x' : '0X';
  }
  return padInteger(spec, prefix, digits);
}

/** printf's %s / %c padding: spaces only (glibc ignores '0' there). */
function padText(spec: Spec, s: string): string {
  if (s.length >= spec.width) return s;
  const fill = ' '.repeat(spec.width - s.length);
  return spec.left ? s + fill : fill + s;
}

/** What C's strlen keeps of an item sprintf wrote. */
function cutAtNul(s: string): string {
  const z = s.indexOf('\0');
  return z < 0 ? s : s.slice(0, z);
}

/** 5.1's addquoted. */
function quoted(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '"' || c === '\\' || c === '\n') out += '\\' + c;
    else if (c === '\r') out += '\\r';
    else if (c === '\0') out += '\\000';
    else out += c;
  }
  return out + '"';
}

const FORMAT54 = upvalueIndex(1);

/**
 * The result is built as Lua values concatenated once at the end, so a
 * long string argument kept whole is not copied out of the VM and back.
 */
class Output {
  pending = '';
  pushed = 0;
  constructor(
    private vm: LuaVm,
    private L: LuaState,
  ) {}
  text(s: string): void {
    this.pending += s;
  }
  /** Adds the value at idx (a string) as it is. */
  value(idx: number): void {
    this.flush();
    this.vm.pushValue(this.L, idx);
    this.count();
  }
  private flush(): void {
    if (this.pending === '') return;
    this.vm.pushString(this.L, this.pending);
    this.pending = '';
    this.count();
  }
  private count(): void {
    // concatenated as it goes, so the stack stays small
    if (++this.pushed === 16) {
      this.vm.concat(this.L, 16);
      this.pushed = 1;
    }
  }
  finish(): void {
    this.flush();
    if (this.pushed === 0) this.vm.pushString(this.L, '');
    else if (this.pushed > 1) this.vm.concat(this.L, this.pushed);
  }
}

function format(vm: LuaVm, L: LuaState): number {
  const top = vm.getTop(L);
  const fmt = checkString51(vm, L, 1);
  const out = new Output(vm, L);
  const n = fmt.length;
  let arg = 1;
  let i = 0;
  while (i < n) {
    const pct = fmt.indexOf('%', i);
    if (pct < 0) {
      out.text(fmt.slice(i));
      break;
    }
    if (pct > i) out.text(fmt.slice(i, pct));
    i = pct + 1;
    if (fmt[i] === '%') {
      out.text('%');
      i++;
      continue;
    }
    if (++arg > top) vm.argError(L, arg, 'no value');
    const spec = scanSpec(vm, L, fmt, i);
    i += spec.text.length;
    // past the end, C reads the string's terminating NUL
    const conv = i < n ? fmt[i]! : '\0';
    i++;
    item(vm, L, out, spec, conv, arg);
  }
  out.finish();
  return 1;
}

/** 5.1's scanformat at fmt[i] (just after the '%'). */
function scanSpec(vm: LuaVm, L: LuaState, fmt: string, i: number): Spec {
  let p = i;
  while (p < fmt.length && FLAGS.includes(fmt[p]!)) p++;
  const flags = fmt.slice(i, p);
  if (flags.length > FLAGS.length) vm.raise(L, 'invalid format (repeated flags)');
  let width = 0;
  let precision: number | null = null;
  const w0 = p;
  if (isDigit(fmt[p])) p++;
  if (isDigit(fmt[p])) p++;
  if (p > w0) width = Number(fmt.slice(w0, p));
  if (fmt[p] === '.') {
    p++;
    const p0 = p;
    if (isDigit(fmt[p])) p++;
    if (isDigit(fmt[p])) p++;
    precision = p > p0 ? Number(fmt.slice(p0, p)) : 0;
  }
  if (isDigit(fmt[p])) vm.raise(L, 'invalid format (width or precision too long)');
  return {
    text: fmt.slice(i, p),
    left: flags.includes('-'),
    plus: flags.includes('+'),
    space: flags.includes(' '),
    alt: flags.includes('#'),
    zero: flags.includes('0'),
    width,
    precision,
  };
}

function item(vm: LuaVm, L: LuaState, out: Output, spec: Spec, conv: string, arg: number): void {
  switch (conv) {
    case 'c': {
      const c = doubleToInt32(checkNumber51(vm, L, arg)) & 0xff;
      out.text(cutAtNul(padText(spec, String.fromCharCode(c))));
      return;
    }
    case 'd':
    case 'i':
      out.text(formatInteger(spec, conv, intArg51(vm, L, arg)));
      return;
    case 'o':
    case 'u':
    case 'x':
    case 'X':
      out.text(formatInteger(spec, conv, doubleToUint64(checkNumber51(vm, L, arg))));
      return;
    case 'e':
    case 'E':
    case 'f':
    case 'g':
    case 'G':
      out.text(formatFloat(vm, L, `%${spec.text}${conv}`, checkNumber51(vm, L, arg)));
      return;
    case 'q':
      out.text(quoted(checkString51(vm, L, arg)));
      return;
    case 's': {
      const t = vm.type(L, arg);
      if (t !== LuaType.STRING && t !== LuaType.NUMBER) typeError51(vm, L, arg, 'string');
      const plain = !spec.text.includes('.');
      if (t === LuaType.STRING && plain && vm.rawLen(L, arg) >= 100) {
        out.value(arg); // kept whole, NULs included
        return;
      }
      const s = t === LuaType.STRING ? vm.stringAt(L, arg) : numberToString51(vm.toNumber(L, arg)!);
      if (plain && s.length >= 100) {
        out.text(s);
        return;
      }
      let text = cutAtNul(s);
      if (spec.precision !== null) text = text.slice(0, spec.precision);
      out.text(padText(spec, text));
      return;
    }
    default:
      vm.raise(L, `invalid option '%${cutAtNul(conv)}' to 'format'`);
  }
}

/** luaL_checknumber cast to C's long: the truncated double (a JS number when it is one exactly). */
function intArg51(vm: LuaVm, L: LuaState, arg: number): number | bigint {
  const n = checkNumber51(vm, L, arg);
  if (n > -Number.MAX_SAFE_INTEGER && n < Number.MAX_SAFE_INTEGER) return Math.trunc(n);
  return n > -9223372036854775808 - 1 && n < 9223372036854775808 ? BigInt(Math.trunc(n)) : -(1n << 63n);
}

/** One floating-point item printed by 5.4's C format (all of 5.1's flags are valid there for these). */
function formatFloat(vm: LuaVm, L: LuaState, spec: string, n: number): string {
  vm.pushValue(L, FORMAT54);
  vm.pushString(L, spec);
  vm.pushNumber(L, n);
  vm.call(L, 2, 1);
  const s = vm.toLatin1(L, -1)!;
  vm.pop(L);
  return s;
}

/** Replaces string.format; run while the standard library tables are still writable. */
export function installStringFormat51(vm: LuaVm): void {
  const L = vm.L;
  vm.getGlobal(L, 'string');
  vm.getField(L, -1, 'format');
  vm.pushFunction(L, format, 1);
  vm.setField(L, -2, 'format');
  vm.pop(L);
}
