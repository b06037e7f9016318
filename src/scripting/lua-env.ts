/**
 * The Lua environment Redis 7.0 scripts see, built on a Lua 5.4 state:
 * Lua 5.1 functions scripts rely on, the globals Redis removes, and the
 * read-only globals and library tables with Redis's messages.
 *
 * Read-only tables: Redis patched its Lua with a per-table readonly flag.
 * Unpatched 5.4 cannot refuse writes to keys a table already has, so every
 * protected table is an empty proxy: reads go through `__index` to the real
 * table (a table chain, no function call on the hot path), writes hit
 * `__newindex` and raise "Attempt to modify a readonly table". The globals
 * table itself is such a proxy over a backing table that holds the real
 * globals, and whose own `__index` raises "Script attempted to access
 * nonexistent global variable". rawset, setmetatable, rawget and next are
 * replaced so they see through proxies and refuse protected tables, as
 * they do in Redis. getmetatable of a protected table answers an empty
 * read-only table, so the metatable cannot be edited either.
 *
 * The host writes KEYS and ARGV into the backing table (raw) before each
 * EVAL; the function engine can use `backing` the same way.
 */
import { LuaStatus, LuaType, type LuaState, type LuaVm } from './vm/lua-vm.js';
import { installLua51Libs } from './libs/lua51-libs.js';

/** Lua 5.1 functions missing from 5.4, and what Redis removes or replaces. */
const COMPAT_51 = `
local math, table, string, load0, type, error, collectgarbage =
      math, table, string, load, type, error, collectgarbage
unpack = table.unpack
table.getn = function(t) return #t end
table.setn = function() error("'setn' is obsolete", 2) end
table.maxn = function(t)
  local max = 0
  for k in next, t do
    if type(k) == 'number' and k > max then max = k end
  end
  return max
end
table.foreach = function(t, f)
  for k, v in next, t do
    local r = f(k, v)
    if r ~= nil then return r end
  end
end
table.foreachi = function(t, f)
  for i = 1, #t do
    local r = f(i, t[i])
    if r ~= nil then return r end
  end
end
math.mod = math.fmod
math.pow = function(x, y) return x ^ y end
math.ldexp = function(m, e) return m * 2.0 ^ e end
math.frexp = function(x)
  if x == 0 or x ~= x or x == math.huge or x == -math.huge then return x, 0 end
  local e = math.floor(math.log(math.abs(x), 2)) + 1
  local m = x / 2.0 ^ e
  if math.abs(m) >= 1 then m = m / 2; e = e + 1 elseif math.abs(m) < 0.5 then m = m * 2; e = e - 1 end
  return m, e
end
math.cosh = function(x) return (math.exp(x) + math.exp(-x)) / 2 end
math.sinh = function(x) return (math.exp(x) - math.exp(-x)) / 2 end
math.tanh = function(x)
  if x > 20 then return 1.0 elseif x < -20 then return -1.0 end
  local a, b = math.exp(x), math.exp(-x)
  return (a - b) / (a + b)
end
math.log10 = function(x) return math.log(x, 10) end
string.gfind = string.gmatch
-- Text chunks only: Redis's Lua refuses binary chunks (loadstring(string.dump(f)) is nil).
loadstring = function(s, chunkname)
  return load0(s, chunkname, 't')
end
load = function(chunk, chunkname, mode, env)
  if env == nil then return load0(chunk, chunkname, 't') end
  return load0(chunk, chunkname, 't', env)
end
gcinfo = function() return math.floor(collectgarbage('count')) end
-- Lua 5.4 additions Redis's 5.1 does not have.
table.unpack = nil
table.pack = nil
table.move = nil
string.pack = nil
string.unpack = nil
string.packsize = nil
math.type = nil
math.tointeger = nil
math.ult = nil
math.maxinteger = nil
math.mininteger = nil
coroutine.close = nil
coroutine.isyieldable = nil
-- Removed in Redis (and the Debian 7.0.15 build the tests compare with).
io = nil
os = nil
package = nil
require = nil
dofile = nil
loadfile = nil
print = nil
debug = nil
utf8 = nil
warn = nil
rawlen = nil
`;

/**
 * Redis's pcall: an error object that is a table with a string \`err\` field
 * (what redis.call raises) comes back as that string. Any other table comes
 * back with its \`err\` field after it (Redis's C pcall leaves the field it
 * read on the stack: pcall(error, {}) is false, {}, nil: three values).
 * Written in Lua so a script is still time-sliced inside pcall (a C pcall
 * cannot yield).
 */
const PCALL = `
local pcall_, type, rawget = pcall, type, rawget
local function fix(ok, ...)
  if ok then return true, ... end
  local e = ...
  if type(e) == 'table' then
    local s = e.err
    if type(s) == 'string' or type(s) == 'number' then return false, s end
    return false, e, s
  end
  return false, e
end
pcall = function(f, ...)
  return fix(pcall_(f, ...))
end
`;

/**
 * Protection, run last. It receives the backing-table builder from the host
 * and returns the globals proxy's backing table and the proxy-of function.
 */
const PROTECT = `
local setmetatable_, getmetatable_, rawset_, rawget_, next_, type_, error_, tostring_ =
      setmetatable, getmetatable, rawset, rawget, next, type, error, tostring
local realOf = setmetatable_({}, { __mode = 'k' })   -- proxy -> real table
local protected = setmetatable_({}, { __mode = 'k' }) -- every table that refuses writes
local function refuse() error_('Attempt to modify a readonly table', 2) end
local emptyMeta
local function proxy(real)
  local p = {}
  realOf[p] = real
  protected[p] = true
  setmetatable_(p, {
    __index = real,
    __newindex = refuse,
    __pairs = function() return next_, real, nil end,
    __len = function() return #real end,
    __metatable = emptyMeta,
  })
  return p
end
emptyMeta = {}
setmetatable_(emptyMeta, { __newindex = refuse, __metatable = false })
protected[emptyMeta] = true

-- The replacements see through proxies and refuse protected tables.
rawset = function(t, k, v)
  if protected[t] then error_('Attempt to modify a readonly table', 0) end
  return rawset_(t, k, v)
end
rawget = function(t, k)
  return rawget_(realOf[t] or t, k)
end
next = function(t, k)
  return next_(realOf[t] or t, k)
end
setmetatable = function(t, mt)
  if protected[t] then error_('Attempt to modify a readonly table', 0) end
  return setmetatable_(t, mt)
end

-- Lua 5.1's error() puts the position in front of a number too (error(42) is
-- "user_script:1: 42"); 5.4 only does it for strings. This wrapper is one
-- more level between error and the caller's code.
local error0, tostring0 = error, tostring
error = function(m, level)
  if type_(m) == 'number' then m = tostring0(m) end
  if level == nil then level = 1 end
  if level > 0 then level = level + 1 end
  error0(m, level)
end

local G = _G
local backing = {}
for k, v in next_, G do backing[k] = v end
-- Library tables (and the string metatable's view of string) become proxies.
for k, v in next_, backing do
  if type_(v) == 'table' and k ~= '_G' then backing[k] = proxy(v) end
end
local strmeta = getmetatable_('')
strmeta.__index = backing.string
strmeta.__metatable = emptyMeta
backing._G = G
setmetatable_(backing, {
  __index = function(_, k)
    error_("Script attempted to access nonexistent global variable '" .. tostring_(k) .. "'", 2)
  end,
})
for k in next_, backing do rawset_(G, k, nil) end
realOf[G] = backing
protected[G] = true
setmetatable_(G, {
  __index = backing,
  __newindex = refuse,
  __pairs = function() return next_, backing, nil end,
  __metatable = emptyMeta,
})
return backing, proxy
`;

/** Runs a Lua chunk in the state, throwing with its message if it fails. */
export function runChunk(vm: LuaVm, code: string, name: string, nresults = 0): void {
  const L = vm.L;
  const err = vm.load(L, code, name);
  if (err !== null) throw new Error(`${name}: ${err}`);
  if (vm.pcall(L, 0, nresults) !== LuaStatus.OK) {
    const msg = vm.coerceLatin1(L, -1);
    vm.pop(L);
    throw new Error(`${name}: ${msg}`);
  }
}

export interface ProtectedEnv {
  /** Registry ref of the table that really holds the globals (write KEYS/ARGV there, raw). */
  backingRef: number;
  /** Registry ref of the Lua function that wraps a table in a read-only proxy. */
  proxyRef: number;
}

/**
 * The global EVAL's state has in Redis (eval.c defines it and uses it as
 * its pcall message handler; scripts can see and call it). Here errors are
 * located by the runner, so it is only there to be what scripts find.
 */
const EVAL_ERR_HANDLER = `
local dbg = debug
function __redis__err__handler(err)
  local i = dbg.getinfo(2,'nSl')
  if i and i.what == 'C' then
    i = dbg.getinfo(3,'nSl')
  end
  if type(err) ~= 'table' then
    err = {err='ERR ' .. tostring(err)}
  end
  if i then
    err['source'] = i.source
    err['line'] = i.currentline
  end
  return err
end
`;

/**
 * The 5.1 layer and Redis's pcall; run before libraries and the redis table
 * are added. `evalState`: the EVAL state, which has one more global.
 */
export function installCompat(vm: LuaVm, evalState = false): void {
  if (evalState) runChunk(vm, EVAL_ERR_HANDLER, '@err_handler_def');
  // First: the Lua bodies capture debug.getmetatable, which COMPAT_51 removes.
  installLua51Libs(vm);
  runChunk(vm, COMPAT_51, '=compat51');
  runChunk(vm, PCALL, '=pcall');
}

/** Makes globals and every library table read-only; run once everything is installed. */
export function protectGlobals(vm: LuaVm): ProtectedEnv {
  runChunk(vm, PROTECT, '=protect', 2);
  const L = vm.L;
  if (vm.type(L, -2) !== LuaType.TABLE) throw new Error('protect chunk did not return the backing table');
  const proxyRef = vm.ref(L);
  const backingRef = vm.ref(L);
  return { backingRef, proxyRef };
}
