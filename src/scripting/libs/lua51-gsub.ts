/**
 * string.gsub as Lua 5.1's (Redis 7.0's Lua), instead of 5.4's:
 *
 * - After a non-empty match 5.1 still tries an empty one at the same place
 *   (gsub('abc', '%w*', '-') is "--", 2); 5.4 skips it ("-", 1).
 * - In a replacement string, '%' before a non-digit adds that character
 *   ('%x' is "x", a final '%' adds a NUL); 5.4 raises an error.
 * - Arguments as 5.1 reads them: numbers become strings as 5.1 prints them,
 *   the count is truncated, the 3rd argument's error reads
 *   "string/function/table expected".
 * - Replacement functions and tables (their __index) are called from Lua
 *   code, where the run's count hook can yield: a script looping forever in
 *   one is time-sliced instead of holding the server (5.4's C gsub calls
 *   them with lua_call, across which nothing can yield).
 *
 * The entry point is a C function (here in JS), so argument errors carry the
 * caller's position and name as luaL_argerror's do. It hands the cases where
 * 5.4's C gsub answers as 5.1's (a replacement string without 5.1-only '%'
 * uses, a pattern that cannot match empty or is anchored) to that C gsub on
 * the pattern as 5.4 must read it (lua51-pattern.ts); the rest runs in the
 * Lua body below, which finds matches with 5.4's string.find and does 5.1's
 * loop, called with a continuation (callK) so it can yield.
 */
import { LuaStatus, LuaType, upvalueIndex, type LuaState, type LuaVm } from '../vm/lua-vm.js';
import { numberToString51, typeError51 } from './lua51.js';
import { checkInt32 } from './lua51-string.js';
import { patternError51, patternInfo, type PatternInfo } from './lua51-pattern.js';

/**
 * The chunk returning the body: body(s, p, repl, max, anchored, unfinished,
 * ncap) with s a string, p the pattern for 5.4's find, repl a string,
 * function or table, max an integer or nil (#s + 1), unfinished nil or a
 * set of unfinished capture indices, ncap the pattern's capture count. Its errors are raised at level 3: the body 1, the C entry 2, the
 * caller 3 (helpers return an error text to the body instead of raising).
 */
const GSUB_BODY = `
local type, error, select, find, sub, byte, char, concat, format =
      type, error, select, string.find, string.sub, string.byte, string.char, table.concat, string.format

-- add_value's check of what a function or table answered: nil or false
-- keep the match, numbers are added as 5.1 prints them.
local function value(v, s, st, e)
  if not v then return sub(s, st, e) end
  local tv = type(v)
  if tv == 'string' then return v end
  if tv == 'number' then return format('%.14g', v) end
  return nil, 'invalid replacement value (a ' .. tv .. ')'
end

-- One match of find (st, e, captures...) and its replacement text by a
-- function: st, e, text (or nil, error text), or nothing when no match.
local function byfunction(f, s, unfinished, st, e, ...)
  if st == nil then return nil end
  if unfinished then return st, e, nil, 'unfinished capture' end
  local v
  if select('#', ...) == 0 then v = f(sub(s, st, e)) else v = f(...) end
  return st, e, value(v, s, st, e)
end

local function bytable(t, s, unfinished, st, e, c1)
  if st == nil then return nil end
  if unfinished and unfinished[1] then return st, e, nil, 'unfinished capture' end
  if c1 == nil then c1 = sub(s, st, e) end
  return st, e, value(t[c1], s, st, e)
end

-- A replacement string read as 5.1's add_s reads it: an array of literal
-- texts and capture numbers (0: the whole match); or one text when it has
-- no captures in it.
local function template(r)
  local parts, lit = {}, {}
  local i, n = 1, #r
  while i <= n do
    local c = byte(r, i)
    if c ~= 37 then -- '%'
      lit[#lit + 1] = sub(r, i, i)
    else
      i = i + 1
      local d = byte(r, i) or 0 -- a final '%': 5.1 reads the string's terminating NUL
      if d >= 48 and d <= 57 then
        parts[#parts + 1] = concat(lit)
        parts[#parts + 1] = d - 48
        lit = {}
      else
        lit[#lit + 1] = char(d)
      end
    end
    i = i + 1
  end
  parts[#parts + 1] = concat(lit)
  if #parts == 1 then return parts[1] end
  return parts
end

local function bytemplate(tpl, s, unfinished, st, e, ...)
  if st == nil then return nil end
  local out = {}
  local ncap = select('#', ...)
  for i = 1, #tpl do
    local x = tpl[i]
    if type(x) == 'string' then
      out[i] = x
    elseif x == 0 or (x == 1 and ncap == 0) then
      out[i] = sub(s, st, e)
    elseif x > ncap then
      return st, e, nil, 'invalid capture index'
    elseif unfinished and unfinished[x] then
      return st, e, nil, 'unfinished capture'
    else
      local c = select(x, ...)
      out[i] = type(c) == 'number' and format('%.14g', c) or c
    end
  end
  return st, e, concat(out)
end

return function(s, p, repl, max, anchored, unfinished, ncap)
  local len = #s
  if max == nil then max = len + 1 end
  local tr = type(repl)
  local text, step
  if tr == 'string' then
    text = template(repl)
    if type(text) == 'table' then step = bytemplate; repl = text; text = nil end
  elseif ncap > 0 or unfinished then
    step = tr == 'table' and bytable or byfunction
  end
  -- src: where the next search starts; last: where the text not added yet starts
  local src, last, n = 1, 1, 0
  local out, k = {}, 0
  while n < max do
    local st, e, v, err
    if text then
      st, e = find(s, p, src)
      v = text
    elseif step then
      st, e, v, err = step(repl, s, unfinished, find(s, p, src))
      if err then error(err, 3) end
    else
      -- a function or table replacement and no captures: the common case inline
      st, e = find(s, p, src)
      if st == nil then break end
      local whole = sub(s, st, e)
      if tr == 'function' then v = repl(whole) else v = repl[whole] end
      if not v then
        v = whole
      elseif type(v) ~= 'string' then
        if type(v) ~= 'number' then error('invalid replacement value (a ' .. type(v) .. ')', 3) end
        v = format('%.14g', v)
      end
    end
    if st == nil then break end
    n = n + 1
    if e >= st then
      -- the text before the match, its replacement, and on after it
      if st > last then
        k = k + 1
        out[k] = sub(s, last, st - 1)
      end
      if v ~= '' then
        k = k + 1
        out[k] = v
      end
      src = e + 1
      last = src
    else
      -- an empty match: its replacement goes before the byte at st, which stays
      if v ~= '' then
        if st > last then
          k = k + 1
          out[k] = sub(s, last, st - 1)
        end
        k = k + 1
        out[k] = v
        last = st
      end
      if st > len then break end
      src = st + 1
    end
    if anchored then break end
  end
  if k == 0 and last == 1 then return s, n end
  if last <= len then
    k = k + 1
    out[k] = sub(s, last)
  end
  return concat(out, '', 1, k), n
end
`;

/** Upvalues of the entry point. */
const GSUB54 = upvalueIndex(1);
const BODY = upvalueIndex(2);

/** Type of argument i, from the one-call scan when there was one (argc >= 0). */
function argType(vm: LuaVm, L: LuaState, argc: number, i: number): number {
  if (argc < 0) return vm.type(L, i);
  return i <= argc ? vm.scanType(i - 1) : LuaType.NONE;
}

/** String argument i (the caller knows it is one), from the scan when there was one. */
function argString(vm: LuaVm, L: LuaState, argc: number, i: number): string {
  return argc < 0 ? vm.recurringStringAt(L, i) : vm.scanRecurring(i - 1);
}

/**
 * Whether 5.4's add_s reads the replacement string r as 5.1's does for
 * this pattern: every '%' starts "%%" or a capture the pattern has.
 */
function replacementAgrees(r: string, info: PatternInfo): boolean {
  let i = r.indexOf('%');
  while (i >= 0) {
    const d = r.charCodeAt(i + 1);
    if (d !== 37) {
      const k = d - 48;
      if (!(k >= 0 && k <= 9)) return false;
      if (k > Math.max(info.captures, 1)) return false;
    }
    i = r.indexOf('%', i + 2);
  }
  return true;
}

/** What gsub read from its arguments: strings as 5.1's luaL_checklstring gives them. */
interface GsubArgs {
  /** The subject when it was a number (its 5.1 text); null: argument 1 is the string. */
  subject: string | null;
  pattern: string;
  /** Argument 2 is the pattern string itself (not a number's text). */
  patternIsArg: boolean;
  /** A replacement string (a number's 5.1 text); null for a function or table. */
  repl: string | null;
  /** Argument 3 is that replacement string itself. */
  replIsArg: boolean;
  /** The count, when given. */
  max: number | null;
}

const args: GsubArgs = { subject: null, pattern: '', patternIsArg: true, repl: null, replIsArg: false, max: null };

/** Reads gsub's arguments in 5.1's order (subject, pattern, count, replacement type), raising 5.1's errors. */
function readArgs(vm: LuaVm, L: LuaState): GsubArgs {
  const argc = vm.scanArgs(L);
  const t1 = argType(vm, L, argc, 1);
  const t2 = argType(vm, L, argc, 2);
  const t3 = argType(vm, L, argc, 3);
  const t4 = argType(vm, L, argc, 4);
  const a = args;
  a.subject = null;
  if (t1 !== LuaType.STRING) {
    if (t1 !== LuaType.NUMBER) typeError51(vm, L, 1, 'string');
    a.subject = numberToString51(vm.toNumber(L, 1)!);
  }
  a.patternIsArg = t2 === LuaType.STRING;
  if (a.patternIsArg) a.pattern = argString(vm, L, argc, 2);
  else {
    if (t2 !== LuaType.NUMBER) typeError51(vm, L, 2, 'string');
    a.pattern = numberToString51(vm.toNumber(L, 2)!);
  }
  // (luaL_optint reads its argument before the replacement's type is checked)
  a.max = t4 === LuaType.NONE || t4 === LuaType.NIL ? null : checkInt32(vm, L, 4);
  a.replIsArg = t3 === LuaType.STRING;
  if (a.replIsArg) a.repl = argString(vm, L, argc, 3);
  else if (t3 === LuaType.NUMBER) a.repl = numberToString51(vm.toNumber(L, 3)!);
  else if (t3 === LuaType.FUNCTION || t3 === LuaType.TABLE) a.repl = null;
  else vm.argError(L, 3, 'string/function/table expected');
  return a;
}

function gsub(vm: LuaVm, L: LuaState): number {
  const a = readArgs(vm, L);
  const info = patternInfo(a.pattern);
  if (info.malformed) {
    // It never matches (see PatternInfo): 5.4's gsub fails or raises as 5.1's does.
    return gsub54(vm, L, a, info, true);
  }
  if (a.repl !== null && info.unfinished.length === 0 && (info.anchored || !info.mayMatchEmpty) && replacementAgrees(a.repl, info)) {
    return gsub54(vm, L, a, info, false);
  }
  vm.pushValue(L, BODY);
  pushSubject(vm, L, a);
  pushPattern54(vm, L, a, info);
  pushRepl(vm, L, a);
  if (a.max === null) vm.pushNil(L);
  else vm.pushInteger(L, a.max);
  vm.pushBoolean(L, info.anchored);
  if (info.unfinished.length === 0) vm.pushNil(L);
  else {
    vm.newTable(L);
    for (const k of info.unfinished) {
      vm.pushBoolean(L, true);
      vm.rawSetI(L, -2, k);
    }
  }
  vm.pushInteger(L, info.captures);
  vm.callK(L, 7, 2, replaced);
  return 2;
}

function replaced(): number {
  return 2;
}

function pushSubject(vm: LuaVm, L: LuaState, a: GsubArgs): void {
  if (a.subject === null) vm.pushValue(L, 1);
  else vm.pushString(L, a.subject);
}

/** Pushes the pattern as 5.4 is to read it: argument 2 when that is it. */
function pushPattern54(vm: LuaVm, L: LuaState, a: GsubArgs, info: PatternInfo): void {
  if (a.patternIsArg && info.pattern54 === a.pattern) vm.pushValue(L, 2);
  else vm.pushString(L, info.pattern54);
}

function pushRepl(vm: LuaVm, L: LuaState, a: GsubArgs): void {
  if (a.repl === null || a.replIsArg) vm.pushValue(L, 3);
  else vm.pushString(L, a.repl);
}

/**
 * 5.4's C gsub on the arguments as 5.1 reads them: called on the arguments
 * where they are (slots holding another value for 5.4 replaced), which
 * costs fewer calls into the VM than pushing them again. Protected when the
 * pattern is malformed: its error is reworded as 5.1's and raised with the
 * caller's position (inside a nested C call, 5.4's has none).
 */
function gsub54(vm: LuaVm, L: LuaState, a: GsubArgs, info: PatternInfo, malformed: boolean): number {
  if (a.subject !== null) {
    vm.pushString(L, a.subject);
    vm.replace(L, 1);
  }
  if (!a.patternIsArg || info.pattern54 !== a.pattern) {
    vm.pushString(L, info.pattern54);
    vm.replace(L, 2);
  }
  if (a.repl !== null && !a.replIsArg) {
    vm.pushString(L, a.repl);
    vm.replace(L, 3);
  }
  let nargs = 3;
  if (a.max !== null) {
    vm.pushInteger(L, a.max);
    vm.replace(L, 4);
    nargs = 4;
  }
  vm.setTop(L, nargs);
  vm.pushValue(L, GSUB54);
  vm.insert(L, 1);
  if (!malformed) {
    vm.call(L, nargs, 2);
    return 2;
  }
  if (vm.pcall(L, nargs, 2) !== LuaStatus.OK) {
    if (vm.type(L, -1) !== LuaType.STRING) return vm.raiseValue(L); // out of memory
    return vm.raise(L, patternError51(vm.toLatin1(L, -1)!));
  }
  return 2;
}

/** Replaces string.gsub; run while the standard library tables are still writable. */
export function installStringGsub51(vm: LuaVm): void {
  const L = vm.L;
  vm.getGlobal(L, 'string');
  vm.getField(L, -1, 'gsub');
  const err = vm.load(L, GSUB_BODY, '=lua51-gsub');
  if (err !== null) throw new Error(`lua51-gsub: ${err}`);
  vm.call(L, 0, 1);
  vm.pushFunction(L, gsub, 2);
  vm.setField(L, -2, 'gsub');
  vm.pop(L);
}
