/**
 * The `bit` library Redis bundles (LuaBitOp 1.0.2): 32-bit operations whose
 * results are signed 32-bit numbers. Arguments are converted as LuaBitOp
 * does on 5.1 with doubles: add 2^52+2^51 and keep the low 32 bits of the
 * sum's bit pattern (so fractions round to nearest even and large values
 * wrap exactly as in Redis).
 */
import { LuaType, type LuaState, type LuaVm } from '../vm/lua-vm.js';
import { toNumber51, typeError51 } from './lua51.js';

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

/** LuaBitOp's barg: the argument's 32 bits (unsigned). */
function barg(vm: LuaVm, L: LuaState, idx: number): number {
  const n = toNumber51(vm, L, idx);
  f64[0] = (n ?? 0) + 6755399441055744.0;
  const b = u32[0]!;
  // 5.1's lua_tonumber gives 0 for a non-number; only then is the type checked
  if (b === 0 && n === null) typeError51(vm, L, idx, 'number');
  return b;
}

function ret(vm: LuaVm, L: LuaState, b: number): number {
  vm.pushInteger(L, b | 0);
  return 1;
}

function tobit(vm: LuaVm, L: LuaState): number {
  return ret(vm, L, barg(vm, L, 1));
}
function bnot(vm: LuaVm, L: LuaState): number {
  return ret(vm, L, ~barg(vm, L, 1));
}
// The C loops read the arguments from the last down to the second, so a bad
// argument is reported from the end.
function band(vm: LuaVm, L: LuaState): number {
  let b = barg(vm, L, 1);
  for (let i = vm.getTop(L); i > 1; i--) b &= barg(vm, L, i);
  return ret(vm, L, b);
}
function bor(vm: LuaVm, L: LuaState): number {
  let b = barg(vm, L, 1);
  for (let i = vm.getTop(L); i > 1; i--) b |= barg(vm, L, i);
  return ret(vm, L, b);
}
function bxor(vm: LuaVm, L: LuaState): number {
  let b = barg(vm, L, 1);
  for (let i = vm.getTop(L); i > 1; i--) b ^= barg(vm, L, i);
  return ret(vm, L, b);
}
function shiftArgs(vm: LuaVm, L: LuaState): [number, number] {
  const b = barg(vm, L, 1);
  return [b, barg(vm, L, 2) & 31];
}
function lshift(vm: LuaVm, L: LuaState): number {
  const [b, n] = shiftArgs(vm, L);
  return ret(vm, L, b << n);
}
function rshift(vm: LuaVm, L: LuaState): number {
  const [b, n] = shiftArgs(vm, L);
  return ret(vm, L, b >>> n);
}
function arshift(vm: LuaVm, L: LuaState): number {
  const [b, n] = shiftArgs(vm, L);
  return ret(vm, L, (b | 0) >> n);
}
function rol(vm: LuaVm, L: LuaState): number {
  const [b, n] = shiftArgs(vm, L);
  // C's b >> 32 when n is 0 is b on x86 (the count is masked): the OR keeps b either way
  return ret(vm, L, (b << n) | (b >>> (32 - n)));
}
function ror(vm: LuaVm, L: LuaState): number {
  const [b, n] = shiftArgs(vm, L);
  return ret(vm, L, (b << (32 - n)) | (b >>> n));
}
function bswap(vm: LuaVm, L: LuaState): number {
  const b = barg(vm, L, 1);
  return ret(vm, L, (b >>> 24) | ((b >>> 8) & 0xff00) | ((b & 0xff00) << 8) | (b << 24));
}
function tohex(vm: LuaVm, L: LuaState): number {
  let b = barg(vm, L, 1);
  let n = vm.type(L, 2) === LuaType.NONE ? 8 : barg(vm, L, 2) | 0;
  let digits = '0123456789abcdef';
  // CVE-2024-31449's fix (Debian backports it): -INT_MIN cannot be negated
  if (n === -2147483648) n = -2147483647;
  if (n < 0) {
    n = -n;
    digits = '0123456789ABCDEF';
  }
  if (n > 8) n = 8;
  let s = '';
  for (let i = 0; i < n; i++) {
    s = digits[b & 15] + s;
    b >>>= 4;
  }
  vm.pushString(L, s);
  return 1;
}

export const bitFunctions = { tobit, bnot, band, bor, bxor, lshift, rshift, arshift, rol, ror, bswap, tohex };
