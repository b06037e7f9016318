/**
 * string.find, string.match and string.gmatch as Lua 5.1's (Redis 7.0's
 * Lua), on 5.4's matcher:
 *
 * - Patterns are read as 5.1 reads them (lua51-pattern.ts: cut at a NUL,
 *   %g the letter), with 5.1's error texts and the caller's position.
 * - find and match clamp the start into the string (find('abc', '', 10)
 *   is 4; 5.4 answers nil) and truncate a fractional start; find searches
 *   plainly when the pattern has no special character before a NUL.
 * - gmatch still tries an empty match right after a non-empty one
 *   (gmatch('a,b', '[^,]*') gives "a", "", "b", ""; 5.4 skips the empty
 *   ones), reads a leading '^' as the character, and takes no start.
 */
import { LUA_MULTRET, LuaStatus, LuaType, upvalueIndex, type LuaState, type LuaVm } from '../vm/lua-vm.js';
import { numberToString51, typeError51 } from './lua51.js';
import { patternError51, patternInfo } from './lua51-pattern.js';
import { optInt64 } from './lua51-string.js';

/** 5.1's SPECIALS: a pattern without them (before a NUL: 5.1 uses strpbrk) is searched plainly by find. */
const SPECIALS = /[\^$*+?.([%-]/;

/** Upvalue 1 of find and match: 5.4's own. */
const ORIGINAL = upvalueIndex(1);

/**
 * Argument idx as luaL_checklstring of 5.1: a string stays where it is
 * (null returned); a number's 5.1 text replaces it on the stack (returned).
 */
function stringArg(vm: LuaVm, L: LuaState, idx: number): string | null {
  const t = vm.type(L, idx);
  if (t === LuaType.STRING) return null;
  if (t !== LuaType.NUMBER) typeError51(vm, L, idx, 'string');
  const s = numberToString51(vm.toNumber(L, idx)!);
  vm.pushString(L, s);
  vm.replace(L, idx);
  return s;
}

/**
 * Calls 5.4's find or match on the stack's nargs arguments, protected when
 * the pattern may raise (malformed, or captures left unfinished): its error
 * reworded as 5.1's and raised with the caller's position (raised inside a
 * nested C call, 5.4's has none).
 */
function call54(vm: LuaVm, L: LuaState, nargs: number, mayRaise: boolean): number {
  vm.pushValue(L, ORIGINAL);
  vm.insert(L, 1);
  if (!mayRaise) {
    vm.call(L, nargs, LUA_MULTRET);
    return vm.getTop(L);
  }
  if (vm.pcall(L, nargs, LUA_MULTRET) !== LuaStatus.OK) {
    if (vm.type(L, -1) !== LuaType.STRING) return vm.raiseValue(L); // out of memory
    return vm.raise(L, patternError51(vm.toLatin1(L, -1)!));
  }
  return vm.getTop(L);
}

/**
 * Whether 5.4's find or match answers as 5.1's on the arguments as they
 * are (the common case, checked from one scan of the arguments): strings,
 * a start that is an integer not past the end (5.1 clamps it; 5.4 answers
 * nil), and a plain search or a pattern both read the same way.
 */
function sameIn54(vm: LuaVm, L: LuaState, isFind: boolean): boolean {
  const argc = vm.scanArgs(L);
  if (argc < 2 || vm.scanType(0) !== LuaType.STRING || vm.scanType(1) !== LuaType.STRING) return false;
  vm.scanString(0);
  const len = vm.spanLength;
  const t3 = argc >= 3 ? vm.scanType(2) : LuaType.NONE;
  if (t3 !== LuaType.NONE && t3 !== LuaType.NIL) {
    if (t3 !== LuaType.NUMBER) return false;
    const init = vm.toNumber(L, 3)!;
    if (!Number.isInteger(init) || init > len + 1) return false;
  }
  const pattern = vm.scanRecurring(1);
  if (pattern.includes('\0')) return false;
  if (isFind && argc >= 4) {
    const t4 = vm.scanType(3);
    if (t4 !== LuaType.NIL && (t4 !== LuaType.BOOLEAN || vm.toBoolean(L, 4))) return true; // plain
  }
  const info = patternInfo(pattern);
  return info.pattern54 === pattern && !info.malformed && info.unfinished.length === 0;
}

/** 5.1's str_find_aux (find or match) in front of 5.4's. */
function findAux(vm: LuaVm, L: LuaState, isFind: boolean): number {
  if (sameIn54(vm, L, isFind)) {
    vm.pushValue(L, ORIGINAL);
    vm.insert(L, 1);
    vm.call(L, vm.getTop(L) - 1, LUA_MULTRET);
    return vm.getTop(L);
  }
  const subject = stringArg(vm, L, 1);
  const converted = stringArg(vm, L, 2);
  const len = subject !== null ? subject.length : vm.rawLen(L, 1);
  // 5.1 clamps the start into [1, len + 1]
  let init = optInt64(vm, L, 3, 1);
  if (init < 0) init += len + 1;
  if (init < 1) init = 1;
  else if (init > len + 1) init = len + 1;
  const pattern = converted ?? vm.recurringStringAt(L, 2);
  const nul = pattern.indexOf('\0');
  const plain = isFind && (vm.toBoolean(L, 4) || !SPECIALS.test(nul < 0 ? pattern : pattern.slice(0, nul)));
  vm.setTop(L, 3);
  vm.pushInteger(L, init);
  vm.replace(L, 3);
  if (plain) {
    vm.pushBoolean(L, true);
    return call54(vm, L, 4, false);
  }
  const info = patternInfo(pattern);
  if (info.pattern54 !== pattern) {
    vm.pushString(L, info.pattern54);
    vm.replace(L, 2);
  }
  const n = call54(vm, L, 3, info.malformed);
  // pattern54 closes captures the pattern leaves open: where it matches, 5.1 reads an unfinished one
  if (info.unfinished.length > 0 && vm.type(L, 1) !== LuaType.NIL) vm.raise(L, 'unfinished capture');
  return n;
}

function find(vm: LuaVm, L: LuaState): number {
  return findAux(vm, L, true);
}

function match(vm: LuaVm, L: LuaState): number {
  return findAux(vm, L, false);
}

/**
 * gmatch's iterator: 5.1's gmatch_aux, a C function as there (so its errors
 * carry its caller's position, also in a tail call). Upvalues: 5.4's find,
 * 5.4's match, the subject, the pattern for 5.4, where the next search
 * starts, and what the pattern is (flags below). Each call looks for the
 * next match from there; after an empty match the next search starts one
 * byte further, with no rule against an empty match after a non-empty one.
 */
const IT_FIND54 = upvalueIndex(1);
const IT_MATCH54 = upvalueIndex(2);
const IT_SUBJECT = upvalueIndex(3);
const IT_PATTERN = upvalueIndex(4);
const IT_SRC = upvalueIndex(5);
const IT_FLAGS = upvalueIndex(6);
const MALFORMED = 1;
const UNFINISHED = 2;
const CAPTURES = 4;

function gmatchNext(vm: LuaVm, L: LuaState): number {
  const src = Number(vm.toNumber(L, IT_SRC));
  const len = vm.rawLen(L, IT_SUBJECT);
  if (src > len + 1) return 0;
  const flags = Number(vm.toNumber(L, IT_FLAGS));
  const base = vm.getTop(L);
  if (flags & MALFORMED) {
    // It never matches (see PatternInfo): 5.4's match (find would search
    // plainly for a pattern like "a)") raises 5.1's error, or finds nothing.
    vm.pushValue(L, IT_MATCH54);
    vm.pushValue(L, IT_SUBJECT);
    vm.pushValue(L, IT_PATTERN);
    vm.pushInteger(L, src);
    if (vm.pcall(L, 3, 1) !== LuaStatus.OK) {
      if (vm.type(L, -1) !== LuaType.STRING) return vm.raiseValue(L);
      return vm.raise(L, patternError51(vm.toLatin1(L, -1)!));
    }
    vm.pushInteger(L, len + 2);
    vm.replace(L, IT_SRC);
    return 0;
  }
  vm.pushValue(L, IT_FIND54);
  vm.pushValue(L, IT_SUBJECT);
  vm.pushValue(L, IT_PATTERN);
  vm.pushInteger(L, src);
  vm.call(L, 3, LUA_MULTRET);
  if (vm.type(L, base + 1) === LuaType.NIL) {
    vm.pushInteger(L, len + 2);
    vm.replace(L, IT_SRC);
    return 0;
  }
  const st = Number(vm.toNumber(L, base + 1));
  const e = Number(vm.toNumber(L, base + 2));
  vm.pushInteger(L, e >= st ? e + 1 : st + 1);
  vm.replace(L, IT_SRC);
  if (flags & UNFINISHED) vm.raise(L, 'unfinished capture');
  if (flags & CAPTURES) return vm.getTop(L) - base - 2;
  vm.pushHeapBytes(L, vm.stringSpan(L, IT_SUBJECT) + st - 1, e - st + 1);
  return 1;
}

function gmatch(vm: LuaVm, L: LuaState): number {
  stringArg(vm, L, 1);
  const pattern = stringArg(vm, L, 2) ?? vm.recurringStringAt(L, 2);
  const info = patternInfo(pattern, false);
  if (!info.mayMatchEmpty && info.pattern54 === pattern && !info.malformed && info.unfinished.length === 0) {
    // No empty match, nothing to translate: 5.4's own iterator answers as 5.1's (and costs less)
    vm.setTop(L, 2);
    vm.pushValue(L, upvalueIndex(3));
    vm.insert(L, 1);
    vm.call(L, 2, 1);
    return 1;
  }
  vm.setTop(L, 1);
  vm.pushValue(L, upvalueIndex(1));
  vm.pushValue(L, upvalueIndex(2));
  vm.pushValue(L, 1);
  vm.pushString(L, info.pattern54);
  vm.pushInteger(L, 1);
  vm.pushInteger(L, (info.malformed ? MALFORMED : 0) | (info.unfinished.length > 0 ? UNFINISHED : 0) | (info.captures > 0 ? CAPTURES : 0));
  vm.pushFunction(L, gmatchNext, 6);
  return 1;
}

/** Replaces find, match and gmatch in the string table; run while it is still writable. */
export function installStringFind51(vm: LuaVm): void {
  const L = vm.L;
  vm.getGlobal(L, 'string');
  vm.getField(L, -1, 'find');
  vm.getField(L, -2, 'match');
  // string, find54, match54: gmatch's upvalues are both, for its iterators, and 5.4's gmatch
  vm.pushValue(L, -2);
  vm.pushValue(L, -2);
  vm.getField(L, -5, 'gmatch');
  vm.pushFunction(L, gmatch, 3);
  vm.setField(L, -4, 'gmatch');
  vm.pushFunction(L, match, 1);
  vm.setField(L, -3, 'match');
  vm.pushFunction(L, find, 1);
  vm.setField(L, -2, 'find');
  vm.pop(L);
}
