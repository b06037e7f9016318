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
import { checkInteger51, numberToString51, typeError51 } from './lua51.js';
import { patternError51, patternInfo, type PatternInfo } from './lua51-pattern.js';

/**
 * The chunk returning the body: body(s, p, repl, max, anchored, unfinished)
 * with s a string, p the pattern for 5.4's find, repl a string, function or
 * table, max an integer, unfinished nil or a set of unfinished capture
 * indices. Its errors are raised at level 3: the body 1, the C entry 2, the
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

return function(s, p, repl, max, anchored, unfinished)
  local step, text
  local tr = type(repl)
  if tr == 'string' then
    text = template(repl)
    if type(text) == 'table' then step = bytemplate; repl = text; text = nil end
  elseif tr == 'table' then step = bytable
  else step = byfunction end
  local len = #s
  local src, n = 1, 0
  local out, k = {}, 0
  while n < max do
    local st, e, v, err
    if text then
      st, e = find(s, p, src)
      v = text
    else
      st, e, v, err = step(repl, s, unfinished, find(s, p, src))
    end
    if st == nil then break end
    if err then error(err, 3) end
    n = n + 1
    if st > src then
      k = k + 1
      out[k] = sub(s, src, st - 1)
    end
    k = k + 1
    out[k] = v
    if e >= st then
      src = e + 1
    elseif st <= len then
      -- an empty match: the byte after it is kept, the search goes on after it
      k = k + 1
      out[k] = sub(s, st, st)
      src = st + 1
    else
      src = st
      break
    end
    if anchored then break end
  end
  if src <= len then
    k = k + 1
    out[k] = sub(s, src)
  end
  return concat(out, '', 1, k), n
end
`;

/** Upvalues of the entry point. */
const GSUB54 = upvalueIndex(1);
const BODY = upvalueIndex(2);

/**
 * Argument idx as 5.1's luaL_checklstring reads it: null for a string (used
 * as it is), the 5.1 text of a number; raises the 5.1 error otherwise.
 */
function stringArg(vm: LuaVm, L: LuaState, idx: number): string | null {
  const t = vm.type(L, idx);
  if (t === LuaType.STRING) return null;
  if (t !== LuaType.NUMBER) typeError51(vm, L, idx, 'string');
  return numberToString51(vm.toNumber(L, idx)!);
}

/** Pushes argument idx as stringArg read it (`converted`), and returns its length. */
function pushStringArg(vm: LuaVm, L: LuaState, idx: number, converted: string | null): number {
  if (converted !== null) {
    vm.pushString(L, converted);
    return converted.length;
  }
  vm.pushValue(L, idx);
  return vm.rawLen(L, idx);
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

function gsub(vm: LuaVm, L: LuaState): number {
  // 5.1's order: subject, pattern, count, then the replacement's type.
  const subject51 = stringArg(vm, L, 1);
  const pattern51 = stringArg(vm, L, 2);
  const tr = vm.type(L, 3);
  const t4 = vm.type(L, 4);
  const nargs = vm.getTop(L);
  // From here on the stack is: arguments, subject, pattern (as strings).
  const srcl = pushStringArg(vm, L, 1, subject51);
  pushStringArg(vm, L, 2, pattern51);
  const top = nargs + 2;
  const pattern = vm.recurringStringAt(L, top);
  // luaL_optint: the (int) of the truncated value
  const max = t4 === LuaType.NONE || t4 === LuaType.NIL ? srcl + 1 : Number(BigInt.asIntN(32, checkInteger51(vm, L, 4)));
  if (tr !== LuaType.NUMBER && tr !== LuaType.STRING && tr !== LuaType.FUNCTION && tr !== LuaType.TABLE) {
    vm.argError(L, 3, 'string/function/table expected');
  }
  const info = patternInfo(pattern);
  let repl: string | null = null;
  if (tr === LuaType.STRING) repl = vm.recurringStringAt(L, 3);
  else if (tr === LuaType.NUMBER) repl = numberToString51(vm.toNumber(L, 3)!);

  if (info.malformed) {
    // It never matches (see PatternInfo): 5.4's gsub fails or raises as 5.1's does.
    return gsub54(vm, L, info, pattern, top, repl, max, true);
  }
  if (repl !== null && info.unfinished.length === 0 && (info.anchored || !info.mayMatchEmpty) && replacementAgrees(repl, info)) {
    return gsub54(vm, L, info, pattern, top, repl, max, false);
  }
  vm.pushValue(L, BODY);
  vm.pushValue(L, top - 1);
  pushPattern54(vm, L, info, pattern, top);
  if (repl !== null) vm.pushString(L, repl);
  else vm.pushValue(L, 3);
  vm.pushInteger(L, max);
  vm.pushBoolean(L, info.anchored);
  if (info.unfinished.length === 0) vm.pushNil(L);
  else {
    vm.newTable(L);
    for (const k of info.unfinished) {
      vm.pushBoolean(L, true);
      vm.rawSetI(L, -2, k);
    }
  }
  vm.callK(L, 6, 2, replaced);
  return 2;
}

function replaced(): number {
  return 2;
}

/** Pushes the pattern as 5.4 is to read it: the one at `at` when that is it. */
function pushPattern54(vm: LuaVm, L: LuaState, info: PatternInfo, pattern: string, at: number): void {
  if (info.pattern54 === pattern) vm.pushValue(L, at);
  else vm.pushString(L, info.pattern54);
}

/**
 * 5.4's C gsub on the subject and pattern at top-1 and top. Protected when
 * the pattern is malformed: its error is reworded as 5.1's and raised with
 * the caller's position (inside a nested C call, 5.4's has none).
 */
function gsub54(vm: LuaVm, L: LuaState, info: PatternInfo, pattern: string, top: number, repl: string | null, max: number, protect: boolean): number {
  vm.pushValue(L, GSUB54);
  vm.pushValue(L, top - 1);
  pushPattern54(vm, L, info, pattern, top);
  if (repl !== null) vm.pushString(L, repl);
  else vm.pushValue(L, 3);
  vm.pushInteger(L, max);
  if (!protect) {
    vm.call(L, 4, 2);
    return 2;
  }
  if (vm.pcall(L, 4, 2) !== LuaStatus.OK) {
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
