/**
 * The "LUA" function engine (Redis 7.0's function_lua.c). All libraries
 * share one Lua state, separate from EVAL's, built by the same
 * createEngine() (5.1 layer, bundled libraries, the runtime `redis` table,
 * read-only globals).
 *
 * The globals table is a read-only proxy whose metatable's __index points
 * at the real globals. While FUNCTION LOAD runs a library's code, that
 * __index is switched to the load-time API instead: a table holding only
 * `redis` = { register_function, log, LOG_*, REDIS_VERSION(_NUM) }, both
 * raising "Script attempted to access nonexistent global variable" for
 * anything else, so load-time code cannot call redis.call, math.random and
 * so on; functions registered there run later with the full globals.
 */
import { LuaHookMask, LuaStatus, LuaType, type LuaState, type LuaVm } from '../vm/lua-vm.js';
import { createEngine, type ScriptEngine } from '../engine.js';
import { pushErrorTable } from '../conversions.js';
import { flagBit, NAME_ERROR, validName, type FunctionEngine, type FunctionInfo, type LibraryInfo } from './libraries.js';

/** Lua-side setup: the load-time globals, returned with the real globals proxy. */
const LIBRARY_API = `
local register, proxy, nonexistent = ...
local redis, setmetatable = redis, setmetatable
local lib = {
  register_function = register,
  log = redis.log,
  LOG_DEBUG = redis.LOG_DEBUG,
  LOG_VERBOSE = redis.LOG_VERBOSE,
  LOG_NOTICE = redis.LOG_NOTICE,
  LOG_WARNING = redis.LOG_WARNING,
  REDIS_VERSION = redis.REDIS_VERSION,
  REDIS_VERSION_NUM = redis.REDIS_VERSION_NUM,
}
setmetatable(lib, { __index = nonexistent })
local G = { redis = proxy(lib) }
setmetatable(G, { __index = nonexistent })
return G, _G
`;

/** Redis's LOAD_TIMEOUT_MS: FUNCTION LOAD code should only register functions. */
export const LOAD_TIMEOUT_MS = 500;
const LOAD_HOOK_EVERY = 100000;

interface LoadCtx {
  li: LibraryInfo;
  start: number;
  timeoutMs: number;
}

let loadCtx: LoadCtx | null = null;

function raiseError(vm: LuaVm, L: LuaState, msg: string): never {
  pushErrorTable(vm, L, msg);
  return vm.raiseValue(L);
}

function loadHook(vm: LuaVm, L: LuaState): void {
  const ctx = loadCtx;
  if (ctx === null || ctx.timeoutMs <= 0) return;
  if (performance.now() - ctx.start > ctx.timeoutMs) {
    // Per line from now on, so a pcall in the library cannot keep it running.
    vm.setHook(L, loadHook, LuaHookMask.LINE, 0);
    raiseError(vm, L, 'FUNCTION LOAD timeout');
  }
}

/** luaProtectedTableError: the __index of the load-time tables (a C function, so the error names the caller's line). */
function nonexistentGlobal(vm: LuaVm, L: LuaState): number {
  const t = vm.type(L, 2);
  const name = t === LuaType.STRING || t === LuaType.NUMBER ? vm.coerceLatin1(L, 2) : null;
  if (name === null) vm.raise(L, 'Second argument to luaProtectedTableError must be a string or number');
  return vm.raise(L, `Script attempted to access nonexistent global variable '${name}'`);
}

/** luaGetStringSds: a string (or number, converted), else null. */
function stringArg(vm: LuaVm, L: LuaState, idx: number): string | null {
  const t = vm.type(L, idx);
  return t === LuaType.STRING || t === LuaType.NUMBER ? vm.coerceLatin1(L, idx) : null;
}

/** redis.register_function(name, callback) or redis.register_function{function_name=, callback=, flags=, description=}. */
function registerFunction(vm: LuaVm, L: LuaState): number {
  const ctx = loadCtx;
  if (ctx === null) raiseError(vm, L, 'redis.register_function can only be called on FUNCTION LOAD command');
  const argc = vm.getTop(L);
  if (argc < 1 || argc > 2) raiseError(vm, L, 'wrong number of arguments to redis.register_function');
  let name: string | null = null;
  let desc: string | null = null;
  let ref = -1;
  let flags = 0;
  let err: string | null = null;
  if (argc === 2) {
    name = stringArg(vm, L, 1);
    if (name === null) err = 'first argument to redis.register_function must be a string';
    else if (vm.type(L, 2) !== LuaType.FUNCTION) err = 'second argument to redis.register_function must be a function';
    else {
      vm.pushValue(L, 2);
      ref = vm.ref(L);
    }
  } else if (vm.type(L, 1) !== LuaType.TABLE) {
    err = 'calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).';
  } else {
    vm.pushNil(L);
    while (err === null && vm.next(L, 1)) {
      const kt = vm.type(L, -2);
      if (kt !== LuaType.STRING && kt !== LuaType.NUMBER) {
        err = 'named argument key given to redis.register_function is not a string';
        break;
      }
      const key = (vm.coerceLatin1(L, -2) ?? '').toLowerCase();
      if (key === 'function_name') {
        if ((name = stringArg(vm, L, -1)) === null) err = 'function_name argument given to redis.register_function must be a string';
      } else if (key === 'description') {
        if ((desc = stringArg(vm, L, -1)) === null) err = 'description argument given to redis.register_function must be a string';
      } else if (key === 'callback') {
        if (vm.type(L, -1) !== LuaType.FUNCTION) err = 'callback argument given to redis.register_function must be a function';
        else {
          if (ref >= 0) vm.unref(L, ref);
          vm.pushValue(L, -1);
          ref = vm.ref(L);
        }
      } else if (key === 'flags') {
        if (vm.type(L, -1) !== LuaType.TABLE) err = 'flags argument to redis.register_function must be a table representing function flags';
        else {
          const f = readFlags(vm, L);
          if (f === null) err = 'unknown flag given';
          else flags = f;
        }
      } else {
        err = 'unknown argument given to redis.register_function';
      }
      vm.pop(L); // the value; the key stays for next()
    }
    if (err === null && name === null) err = 'redis.register_function must get a function name argument';
    if (err === null && ref < 0) err = 'redis.register_function must get a callback argument';
  }
  if (err === null && !validName(name!)) err = NAME_ERROR;
  if (err === null && ctx.li.functions.has(name!)) err = 'Function already exists in the library';
  if (err !== null) {
    if (ref >= 0) vm.unref(L, ref);
    raiseError(vm, L, err);
  }
  ctx.li.functions.set(name!, { name: name!, library: ctx.li, handle: ref, desc, flags });
  return 0;
}

/** luaRegisterFunctionReadFlags on the table at the top: the flag bits, or null for an unknown one. */
function readFlags(vm: LuaVm, L: LuaState): number | null {
  let flags = 0;
  for (let j = 1; ; j++) {
    vm.pushInteger(L, j);
    const t = vm.getTable(L, -2);
    if (t === LuaType.NIL) {
      vm.pop(L);
      return flags;
    }
    const s = t === LuaType.STRING || t === LuaType.NUMBER ? vm.coerceLatin1(L, -1) : null;
    vm.pop(L);
    const bit = s === null ? 0 : flagBit(s);
    if (bit === 0) return null;
    flags |= bit;
  }
}

export class LuaFunctionEngine implements FunctionEngine {
  readonly name = 'LUA';
  readonly engine: ScriptEngine;
  /** Registry refs: the load-time globals, the globals proxy, the real globals. */
  private readonly libApiRef: number;
  private readonly globalsRef: number;

  constructor() {
    this.engine = createEngine();
    const vm = this.engine.vm;
    const L = vm.L;
    const err = vm.load(L, LIBRARY_API, '=library_api');
    if (err !== null) throw new Error(`library api: ${err}`);
    vm.pushFunction(L, registerFunction);
    vm.pushRef(L, this.engine.env.proxyRef);
    vm.pushFunction(L, nonexistentGlobal);
    if (vm.pcall(L, 3, 2) !== LuaStatus.OK) throw new Error(`library api: ${vm.coerceLatin1(L, -1)}`);
    this.globalsRef = vm.ref(L);
    this.libApiRef = vm.ref(L);
  }

  get vm(): LuaVm {
    return this.engine.vm;
  }

  /** Points the globals proxy's __index at `ref`'s table (the load-time API or the real globals). */
  private switchGlobals(ref: number): void {
    const vm = this.engine.vm;
    const L = vm.L;
    vm.pushRef(L, this.globalsRef);
    if (!vm.getMetatable(L, -1)) throw new Error('globals proxy has no metatable');
    vm.pushRef(L, ref);
    vm.rawSetField(L, -2, '__index');
    vm.pop(L, 2);
  }

  create(li: LibraryInfo, body: string, timeoutMs: number): string | null {
    const vm = this.engine.vm;
    const L = vm.L;
    const top = vm.getTop(L);
    this.switchGlobals(this.libApiRef);
    loadCtx = { li, start: performance.now(), timeoutMs };
    try {
      const cerr = vm.load(L, body, '@user_function');
      if (cerr !== null) return `Error compiling function: ${cerr}`;
      vm.setHook(L, loadHook, LuaHookMask.COUNT, LOAD_HOOK_EVERY);
      const status = vm.pcall(L, 0, 0);
      vm.setHook(L, null, 0);
      if (status !== LuaStatus.OK) {
        const msg = errorMessage(vm, L);
        for (const fi of li.functions.values()) vm.unref(L, fi.handle);
        li.functions.clear();
        return `Error registering functions: ${msg}`;
      }
      return null;
    } finally {
      loadCtx = null;
      vm.setTop(L, top);
      this.switchGlobals(this.engine.env.backingRef);
    }
  }

  free(fi: FunctionInfo): void {
    if (fi.handle >= 0) this.engine.vm.unref(this.engine.vm.L, fi.handle);
    fi.handle = -1;
  }

  /** Bytes the Lua state holds (used_memory_vm_functions). */
  memory(): number {
    return this.engine.vm.used;
  }
}

/** luaExtractErrorInformation's message: "ERR <string>", or a table's err field. */
function errorMessage(vm: LuaVm, L: LuaState): string {
  const t = vm.type(L, -1);
  if (t === LuaType.STRING || t === LuaType.NUMBER) return `ERR ${vm.coerceLatin1(L, -1)}`;
  if (t === LuaType.TABLE) {
    const ft = vm.rawGetField(L, -1, 'err');
    const msg = ft === LuaType.STRING || ft === LuaType.NUMBER ? (vm.coerceLatin1(L, -1) ?? '') : '';
    vm.pop(L);
    return msg;
  }
  return '';
}
