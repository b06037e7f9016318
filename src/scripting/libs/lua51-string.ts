/**
 * string.sub, string.byte, string.char and string.rep as Lua 5.1's (Redis
 * 7.0's Lua): their integer arguments are any number, truncated as C's
 * cast truncates (string.sub(s, 1, #s / 2) works on an odd length; 5.4
 * raises "number has no integer representation"), a number given for a
 * string is printed as 5.1 prints it, string.rep has no separator argument,
 * string.char's error reads "invalid value", string.byte stops at 5.1's C
 * stack limit. Written in JS as C functions, so errors carry the caller's
 * position and name as 5.1's do.
 */
import { LuaType, upvalueIndex, type LuaState, type LuaVm } from '../vm/lua-vm.js';
import { checkStack51, numberToString51, toNumber51, typeError51 } from './lua51.js';

/**
 * luaL_checkinteger of 5.1 as a JS number: any number (or numeric string)
 * truncated; NaN and values out of int64's range give INT64_MIN, as x86's
 * conversion does. (Past 2^53 the exact value does not matter here: every
 * use clamps it to a string's length.)
 */
export function checkInt64(vm: LuaVm, L: LuaState, idx: number): number {
  const n = vm.type(L, idx) === LuaType.NUMBER ? vm.toNumber(L, idx)! : toNumber51(vm, L, idx);
  if (n === null) return typeError51(vm, L, idx, 'number');
  return n > -9223372036854775808 - 1 && n < 9223372036854775808 ? Math.trunc(n) : -9223372036854775808;
}

/** luaL_optinteger of 5.1 (checkInt64 when given). */
export function optInt64(vm: LuaVm, L: LuaState, idx: number, def: number): number {
  const t = vm.type(L, idx);
  return t === LuaType.NONE || t === LuaType.NIL ? def : checkInt64(vm, L, idx);
}

/** luaL_checkint of 5.1: C's (int) of checkInt64's value. */
export function checkInt32(vm: LuaVm, L: LuaState, idx: number): number {
  const n = checkInt64(vm, L, idx);
  return n >= -2147483648 && n <= 2147483647 ? n : Number(BigInt.asIntN(32, BigInt(n)));
}

/** A string argument as checkStringArg read it. */
interface StringArg {
  /** The number's 5.1 text; null when the argument is a string (at `address`). */
  text: string | null;
  address: number;
  length: number;
}
const sArg: StringArg = { text: null, address: 0, length: 0 };

/**
 * Argument idx as 5.1's luaL_checklstring reads it. A string argument
 * stays in the VM (its address and length), for copying parts without a
 * detour through JS; a number is printed as 5.1 prints it.
 */
function checkStringArg(vm: LuaVm, L: LuaState, idx: number): StringArg {
  const t = vm.type(L, idx);
  if (t === LuaType.STRING) {
    sArg.text = null;
    sArg.address = vm.stringSpan(L, idx);
    sArg.length = vm.spanLength;
  } else {
    if (t !== LuaType.NUMBER) typeError51(vm, L, idx, 'string');
    sArg.text = numberToString51(vm.toNumber(L, idx)!);
    sArg.length = sArg.text.length;
  }
  return sArg;
}

/** Pushes bytes [from, from + n) of the argument checkStringArg read. */
function pushPart(vm: LuaVm, L: LuaState, s: StringArg, from: number, n: number): void {
  if (s.text === null) vm.pushHeapBytes(L, s.address + from, n);
  else vm.pushString(L, s.text.slice(from, from + n));
}

/** 5.1's posrelat: negative positions count from the end; before the start is 0. */
function posrelat(pos: number, len: number): number {
  if (pos < 0) pos += len + 1;
  return pos >= 0 ? pos : 0;
}

function sub(vm: LuaVm, L: LuaState): number {
  const s = checkStringArg(vm, L, 1);
  const l = s.length;
  let start = posrelat(checkInt64(vm, L, 2), l);
  let end = posrelat(optInt64(vm, L, 3, -1), l);
  if (start < 1) start = 1;
  if (end > l) end = l;
  if (start <= end) pushPart(vm, L, s, start - 1, end - start + 1);
  else vm.pushString(L, '');
  return 1;
}

function byte(vm: LuaVm, L: LuaState): number {
  const s = checkStringArg(vm, L, 1);
  const l = s.length;
  let posi = posrelat(optInt64(vm, L, 2, 1), l);
  let pose = posrelat(optInt64(vm, L, 3, posi), l);
  if (posi <= 0) posi = 1;
  if (pose > l) pose = l;
  if (posi > pose) return 0;
  const n = pose - posi + 1;
  checkStack51(vm, L, n, 'string slice too long');
  if (s.text === null) {
    const bytes = vm.heapBytes();
    // (pushing integers allocates nothing: the addresses stay valid)
    for (let i = 0; i < n; i++) vm.pushInteger(L, bytes[s.address + posi - 1 + i]!);
  } else {
    for (let i = 0; i < n; i++) vm.pushInteger(L, s.text.charCodeAt(posi - 1 + i));
  }
  return n;
}

function char(vm: LuaVm, L: LuaState): number {
  const n = vm.getTop(L);
  let out = '';
  for (let i = 1; i <= n; i++) {
    const c = checkInt32(vm, L, i);
    if (c < 0 || c > 255) vm.argError(L, i, 'invalid value');
    out += String.fromCharCode(c);
  }
  vm.pushString(L, out);
  return 1;
}

const REP54 = upvalueIndex(1);

/** 5.1's rep: no separator; the count is an int. 5.4's C rep builds the result. */
function rep(vm: LuaVm, L: LuaState): number {
  const s = checkStringArg(vm, L, 1);
  const n = checkInt32(vm, L, 2);
  if (n <= 0 || s.length === 0) {
    vm.pushString(L, '');
    return 1;
  }
  vm.pushValue(L, REP54);
  if (s.text === null) vm.pushValue(L, 1);
  else vm.pushString(L, s.text);
  vm.pushInteger(L, n);
  vm.call(L, 2, 1);
  return 1;
}

/** Replaces sub, byte, char and rep in the string table; run while it is still writable. */
export function installStringFunctions51(vm: LuaVm): void {
  const L = vm.L;
  vm.getGlobal(L, 'string');
  vm.pushFunction(L, sub);
  vm.setField(L, -2, 'sub');
  vm.pushFunction(L, byte);
  vm.setField(L, -2, 'byte');
  vm.pushFunction(L, char);
  vm.setField(L, -2, 'char');
  vm.getField(L, -1, 'rep');
  vm.pushFunction(L, rep, 1);
  vm.setField(L, -2, 'rep');
  vm.pop(L);
}
