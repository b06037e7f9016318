/**
 * table.sort as Lua 5.1's (Redis 7.0's Lua), instead of 5.4's:
 *
 * - 5.1's quicksort (ltablib.c auxsort) is deterministic: median of three,
 *   the same comparisons in the same order. 5.4 picks a random pivot for
 *   big arrays, so with ties under a comparator, or an inconsistent one,
 *   the result or the error differed from Redis's.
 * - The sort runs in Lua, so the comparator (and __lt metamethods) are
 *   called from Lua code, where the run's count hook can yield: a script
 *   looping forever in a comparator is time-sliced (other clients get
 *   -BUSY, SCRIPT KILL works) instead of holding the server. 5.4's C sort
 *   calls the comparator with lua_call, across which nothing can yield.
 *
 * The entry point stays a C function (here in JS) that checks the
 * arguments and calls the Lua body with a continuation (callK): its errors
 * then carry the caller's position and name as luaL_argerror's do, also
 * when a script tail-calls sort (a Lua entry point would lose the caller's
 * frame). Arrays of only numbers or only strings without a comparator are
 * sorted by 5.4's C sort: no Lua code can run in it, and a total order has
 * one sorted permutation whatever the pivots.
 */
import { LuaType, upvalueIndex, type LuaState, type LuaVm } from '../vm/lua-vm.js';
import { checkStack51, typeError51 } from './lua51.js';

/**
 * 5.1's auxsort with its recursion turned into a stack of ranges (the
 * smaller half still done first, so the comparator sees the same calls in
 * the same order). GET/SET are rewritten to plain indexing for tables
 * without a metatable, or rawget/rawset (what 5.1 does) for the others.
 * Levels of error(): auxsort 1, the body 2, the C entry 3, the caller 4.
 */
const AUXSORT = `
function(t, lo, up, lt)
  local stack, sp = nil, 0
  while true do
    while lo < up do
      local a, b = GET(lo), GET(up)
      if lt(b, a) then SET(lo, b) SET(up, a) end
      if up - lo == 1 then break end
      local i = (lo + up) // 2
      a, b = GET(i), GET(lo)
      if lt(a, b) then
        SET(i, b) SET(lo, a)
      else
        b = GET(up)
        if lt(b, a) then SET(i, b) SET(up, a) end
      end
      if up - lo == 2 then break end
      local P = GET(i)
      a = GET(up - 1)
      SET(i, a) SET(up - 1, P)
      local j
      i, j = lo, up - 1
      while true do
        i = i + 1
        a = GET(i)
        while lt(a, P) do
          if i > up then error('invalid order function for sorting', 4) end
          i = i + 1
          a = GET(i)
        end
        j = j - 1
        b = GET(j)
        while lt(P, b) do
          if j < lo then error('invalid order function for sorting', 4) end
          j = j - 1
          b = GET(j)
        end
        if j < i then break end
        SET(i, b) SET(j, a)
      end
      a, b = GET(up - 1), GET(i)
      SET(up - 1, b) SET(i, a)
      if i - lo < up - i then
        j = lo; i = i - 1; lo = i + 2
      else
        j = i + 1; i = up; up = j - 2
      end
      -- the smaller half [j, i] first; the larger [lo, up] waits on the stack
      if stack == nil then stack = {} end
      stack[sp + 1] = lo; stack[sp + 2] = up; sp = sp + 2
      lo, up = j, i
    end
    if sp == 0 then return end
    lo, up = stack[sp - 1], stack[sp]
    sp = sp - 2
  end
end`;

/** AUXSORT with GET(i) and SET(i, v) (arguments without parentheses) spelled out. */
const auxsort = (access: 'plain' | 'raw'): string =>
  access === 'plain'
    ? AUXSORT.replace(/GET\(([^()]*)\)/g, 't[$1]').replace(/SET\(([^,()]*), ([^()]*)\)/g, 't[$1] = $2')
    : AUXSORT.replace(/GET\(([^()]*)\)/g, 'rawget(t, $1)').replace(/SET\(([^,()]*), ([^()]*)\)/g, 'rawset(t, $1, $2)');

/**
 * The chunk returning the body sort(t, comparator or nil, n, kind) calls (kind: see
 * total()); loaded before the globals change.
 */
const SORT_BODY = `
local type, mtype, error, rawget, rawset, rawequal, getmetatable, sub, sort54 =
      type, math.type, error, rawget, rawset, rawequal, debug.getmetatable, string.sub, table.sort

-- 5.1's luaG_ordererror: "two" when the type names share their third letter
-- (so a string and a thread are "two string values"). Raised inside the C
-- sort in 5.1, so without a position.
local function ordererror(a, b)
  local t1, t2 = type(a), type(b)
  if sub(t1, 3, 3) == sub(t2, 3, 3) then error('attempt to compare two ' .. t1 .. ' values', 0) end
  error('attempt to compare ' .. t1 .. ' with ' .. t2, 0)
end

-- 5.1's lua_lessthan: same types only; __lt only when both operands have the same one.
local function lessthan(a, b)
  local ta = type(a)
  if ta ~= type(b) then ordererror(a, b) end
  if ta == 'number' or ta == 'string' then return a < b end
  local mt = getmetatable(a)
  local h = mt and rawget(mt, '__lt')
  if h ~= nil then
    local mt2 = getmetatable(b)
    if rawequal(h, mt2 and rawget(mt2, '__lt')) then return not not h(a, b) end
  end
  ordererror(a, b)
end

-- Whether 5.4's C sort gives 5.1's result: only numbers (no NaN, which
-- orders inconsistently; at most one zero, as 0 and -0 tie but print
-- differently) or only strings, compared with no Lua code involved. The C
-- entry tells when all elements are numbers or all are strings (kind 3 or
-- 4, read in one call); without it (big arrays) they are read here, where
-- math.type is the cheapest test (a C call per element is most of the cost).
local function total(t, n, kind)
  if kind == 4 then return true end
  if kind ~= 3 then
    local v = t[1]
    if type(v) == 'string' then
      for i = 2, n do
        if type(t[i]) ~= 'string' then return false end
      end
      return true
    end
    for i = 1, n do
      if not mtype(t[i]) then return false end
    end
  end
  local zeros = 0
  for i = 1, n do
    local v = t[i]
    if v ~= v then return false end
    if v == 0 then
      zeros = zeros + 1
      if zeros > 1 then return false end
    end
  end
  return true
end

local auxsort_plain = ${auxsort('plain')}
local auxsort_raw = ${auxsort('raw')}

return function(t, cmp, n, kind)
  local plain = getmetatable(t) == nil
  if cmp == nil then
    if plain and total(t, n, kind) then
      sort54(t)
      return
    end
    cmp = lessthan
  end
  if plain then auxsort_plain(t, 1, n, cmp) else auxsort_raw(t, 1, n, cmp) end
end
`;

/** The C entry point: 5.1's sort() argument checks, then the Lua body. */
function sort(vm: LuaVm, L: LuaState): number {
  if (vm.type(L, 1) !== LuaType.TABLE) typeError51(vm, L, 1, 'table');
  const n = vm.rawLen(L, 1);
  checkStack51(vm, L, 40, '');
  const t2 = vm.type(L, 2);
  if (t2 !== LuaType.NONE && t2 !== LuaType.NIL && t2 !== LuaType.FUNCTION) typeError51(vm, L, 2, 'function');
  vm.setTop(L, 2);
  // all numbers or all strings (the common case without a comparator)?
  const kind = t2 === LuaType.FUNCTION ? -1 : vm.arrayType(L, 1, n);
  vm.pushValue(L, upvalueIndex(1));
  vm.pushValue(L, 1);
  vm.pushValue(L, 2);
  vm.pushInteger(L, n);
  if (kind === LuaType.NUMBER || kind === LuaType.STRING) vm.pushInteger(L, kind);
  else vm.pushNil(L);
  vm.callK(L, 4, 0, sorted);
  return 0;
}

function sorted(): number {
  return 0;
}

/** Replaces table.sort; run while the standard library tables are still writable. */
export function installTableSort51(vm: LuaVm): void {
  const L = vm.L;
  const err = vm.load(L, SORT_BODY, '=lua51-sort');
  if (err !== null) throw new Error(`lua51-sort: ${err}`);
  vm.call(L, 0, 1);
  vm.pushFunction(L, sort, 1);
  vm.getGlobal(L, 'table');
  vm.insert(L, -2);
  vm.setField(L, -2, 'sort');
  vm.pop(L);
}
