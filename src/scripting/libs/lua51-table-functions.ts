/**
 * table.insert, table.remove, table.concat, unpack and select as Lua 5.1's
 * (Redis 7.0's Lua), where 5.4's differ:
 *
 * - positions and counts are any number, truncated (5.4: "number has no
 *   integer representation");
 * - insert at a position past the end sets it (5.4: "position out of
 *   bounds"), remove outside 1..#t returns nothing;
 * - concat prints numbers as 5.1 does (10/2 is "5", not "5.0") and names
 *   the culprit's type in its error; unpack stops at 5.1's C stack limit
 *   ("too many results to unpack");
 * - they read and write the table raw (5.4 calls __index / __newindex /
 *   __len).
 *
 * C functions in JS (errors carry the caller's position and name); where a
 * plain table makes 5.4's C function do exactly 5.1's work, it is called.
 */
import { LUA_MULTRET, LuaType, upvalueIndex, type LuaState, type LuaVm } from '../vm/lua-vm.js';
import { LUA51_MAX_CSTACK, numberToString51, typeError51 } from './lua51.js';
import { checkInt32 } from './lua51-string.js';

/** Upvalue 1: 5.4's own function. */
const ORIGINAL = upvalueIndex(1);

function checkTable(vm: LuaVm, L: LuaState, idx: number): void {
  if (vm.type(L, idx) !== LuaType.TABLE) typeError51(vm, L, idx, 'table');
}

function optInt32(vm: LuaVm, L: LuaState, idx: number, def: number): number {
  const t = vm.type(L, idx);
  return t === LuaType.NONE || t === LuaType.NIL ? def : checkInt32(vm, L, idx);
}

/** Whether the table at idx has a metatable (5.4's functions would use it; 5.1's do not). */
function hasMetatable(vm: LuaVm, L: LuaState, idx: number): boolean {
  if (!vm.getMetatable(L, idx)) return false;
  vm.pop(L);
  return true;
}

/** Calls the original with the values from slot 1 up as arguments. */
function callOriginal(vm: LuaVm, L: LuaState, nargs: number): number {
  vm.setTop(L, nargs);
  vm.pushValue(L, ORIGINAL);
  vm.insert(L, 1);
  vm.call(L, nargs, LUA_MULTRET);
  return vm.getTop(L);
}

function insert(vm: LuaVm, L: LuaState): number {
  checkTable(vm, L, 1);
  let e = vm.rawLen(L, 1) + 1;
  const top = vm.getTop(L);
  if (top === 2) {
    vm.rawSetI(L, 1, e);
    return 0;
  }
  if (top !== 3) return vm.raise(L, "wrong number of arguments to 'insert'");
  const pos = checkInt32(vm, L, 2);
  if (pos >= 1 && pos <= e && !hasMetatable(vm, L, 1)) {
    // 5.4's insert shifts t[pos..] up as 5.1's does
    vm.pushInteger(L, pos);
    vm.replace(L, 2);
    callOriginal(vm, L, 3);
    return 0;
  }
  if (pos > e) e = pos;
  for (let i = e; i > pos; i--) {
    vm.rawGetI(L, 1, i - 1);
    vm.rawSetI(L, 1, i);
  }
  vm.rawSetI(L, 1, pos);
  return 0;
}

function remove(vm: LuaVm, L: LuaState): number {
  checkTable(vm, L, 1);
  const e = vm.rawLen(L, 1);
  let pos = optInt32(vm, L, 2, e);
  if (!(pos >= 1 && pos <= e)) return 0;
  if (!hasMetatable(vm, L, 1)) {
    vm.pushInteger(L, pos);
    vm.replace(L, 2);
    callOriginal(vm, L, 2);
    return 1;
  }
  vm.setTop(L, 1);
  vm.rawGetI(L, 1, pos);
  for (; pos < e; pos++) {
    vm.rawGetI(L, 1, pos + 1);
    vm.rawSetI(L, 1, pos);
  }
  vm.pushNil(L);
  vm.rawSetI(L, 1, e);
  return 1;
}

function concat(vm: LuaVm, L: LuaState): number {
  // 5.1's order: the separator, then the table, then the range
  const ts = vm.type(L, 2);
  let sep = '';
  if (ts !== LuaType.NONE && ts !== LuaType.NIL) {
    if (ts === LuaType.NUMBER) sep = numberToString51(vm.toNumber(L, 2)!);
    else if (ts !== LuaType.STRING) typeError51(vm, L, 2, 'string');
  }
  checkTable(vm, L, 1);
  const n = vm.rawLen(L, 1);
  const first = optInt32(vm, L, 3, 1);
  const last = optInt32(vm, L, 4, n);
  // Only strings in range of a plain table: 5.4's concat joins them as 5.1's does.
  if (first >= 1 && last <= n && ts !== LuaType.NUMBER && !hasMetatable(vm, L, 1) && (first > last || vm.arrayType(L, 1, last) === LuaType.STRING)) {
    vm.setTop(L, 2);
    vm.pushInteger(L, first);
    vm.pushInteger(L, last);
    return callOriginal(vm, L, 4);
  }
  if (ts === LuaType.STRING) sep = vm.stringAt(L, 2);
  const parts: string[] = [];
  for (let i = first; i <= last; i++) {
    const t = vm.rawGetI(L, 1, i);
    if (t === LuaType.STRING) parts.push(vm.stringAt(L, -1));
    else if (t === LuaType.NUMBER) parts.push(numberToString51(vm.toNumber(L, -1)!));
    else vm.raise(L, `invalid value (${vm.typeName(t)}) at index ${i} in table for 'concat'`);
    vm.pop(L);
  }
  vm.pushString(L, parts.join(sep));
  return 1;
}

function unpack(vm: LuaVm, L: LuaState): number {
  if (vm.scanArgs(L) === 1 && vm.scanType(0) === LuaType.TABLE) {
    // unpack(t), the common case: 5.4's, on a plain table within 5.1's stack limit
    const n = vm.rawLen(L, 1);
    if (n + 1 <= LUA51_MAX_CSTACK && !hasMetatable(vm, L, 1)) return callOriginal(vm, L, 1);
  }
  checkTable(vm, L, 1);
  const i = optInt32(vm, L, 2, 1);
  const e = optInt32(vm, L, 3, vm.rawLen(L, 1));
  if (i > e) return 0;
  const n = e - i + 1;
  // 5.1's lua_checkstack: a C function's frame holds at most LUAI_MAXCSTACK values
  if (n <= 0 || n > 2147483647 || vm.getTop(L) + n > LUA51_MAX_CSTACK || !vm.checkStack(L, n)) {
    return vm.raise(L, 'too many results to unpack');
  }
  if (!hasMetatable(vm, L, 1)) {
    vm.setTop(L, 1);
    vm.pushInteger(L, i);
    vm.pushInteger(L, e);
    return callOriginal(vm, L, 3);
  }
  for (let k = i; k <= e; k++) vm.rawGetI(L, 1, k);
  return n;
}

function select(vm: LuaVm, L: LuaState): number {
  const n = vm.getTop(L);
  if (vm.type(L, 1) === LuaType.STRING && vm.stringAt(L, 1).startsWith('#')) {
    vm.pushInteger(L, n - 1);
    return 1;
  }
  let i = checkInt32(vm, L, 1);
  if (i < 0) i = n + i;
  else if (i > n) i = n;
  if (i < 1) vm.argError(L, 1, 'index out of range');
  return n - i;
}

/** Replaces the five; run while the library tables are still writable. */
export function installTableFunctions51(vm: LuaVm): void {
  const L = vm.L;
  vm.getGlobal(L, 'table');
  for (const [name, fn] of [
    ['insert', insert],
    ['remove', remove],
    ['concat', concat],
    ['unpack', unpack],
  ] as const) {
    vm.getField(L, -1, name);
    vm.pushFunction(L, fn, 1);
    vm.setField(L, -2, name);
  }
  vm.pop(L);
  vm.pushFunction(L, select);
  vm.setGlobal(L, 'select');
}
