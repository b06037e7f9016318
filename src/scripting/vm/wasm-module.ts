/**
 * The Lua 5.4 WASM module (wasmoon 1.16.0), loaded once per process and
 * used only through its raw emscripten exports (`_lua_*`).
 *
 * Why only the raw exports: wasmoon's high-level API converts strings as
 * UTF-8 C strings (a NUL cuts a value, bytes >= 0x80 are re-encoded), and is
 * 10-20x slower (see the research note on Lua scripting). Pointers and
 * lengths over HEAPU8 are binary-safe.
 *
 * Nothing outside src/scripting/vm/ should touch this module: it is the seam
 * where another Lua build could be put in.
 */
import { LuaFactory } from 'wasmoon';
import { nilKeysTakeNodesAs51, reinsertAsLua51 } from './table-order.js';
import { integersPrintAs51 } from './integer-text.js';
import { numberKeysAs51 } from './number-keys.js';

export type Ptr = number;

/** The exports we use, with the C signatures (pointers are numbers, lua_Integer is a BigInt). */
export interface RawLua {
  HEAPU8: Uint8Array;
  HEAP32: Int32Array;
  HEAPU32: Uint32Array;
  _malloc(n: number): Ptr;
  _free(p: Ptr): void;
  _realloc(p: Ptr, n: number): Ptr;
  addFunction(fn: (...a: number[]) => number | void, sig: string): Ptr;
  removeFunction(p: Ptr): void;

  _lua_newstate(alloc: Ptr, ud: number): Ptr;
  _lua_close(L: Ptr): void;
  _luaL_openlibs(L: Ptr): void;
  _luaL_checktype(L: Ptr, arg: number, t: number): void;
  _luaL_where(L: Ptr, level: number): void;
  _lua_atpanic(L: Ptr, f: Ptr): Ptr;
  _lua_setallocf(L: Ptr, f: Ptr, ud: number): void;
  _lua_newthread(L: Ptr): Ptr;
  _lua_resetthread(L: Ptr): number;
  _lua_absindex(L: Ptr, idx: number): number;
  _lua_gettop(L: Ptr): number;
  _lua_settop(L: Ptr, idx: number): void;
  _lua_pushvalue(L: Ptr, idx: number): void;
  _lua_rotate(L: Ptr, idx: number, n: number): void;
  _lua_copy(L: Ptr, from: number, to: number): void;
  _lua_checkstack(L: Ptr, n: number): number;
  _lua_xmove(from: Ptr, to: Ptr, n: number): void;
  _lua_type(L: Ptr, idx: number): number;
  _lua_isinteger(L: Ptr, idx: number): number;
  _lua_isnumber(L: Ptr, idx: number): number;
  _lua_isstring(L: Ptr, idx: number): number;
  _lua_iscfunction(L: Ptr, idx: number): number;
  _lua_tonumberx(L: Ptr, idx: number, isnum: Ptr): number;
  _lua_tointegerx(L: Ptr, idx: number, isnum: Ptr): bigint;
  _lua_toboolean(L: Ptr, idx: number): number;
  _lua_tolstring(L: Ptr, idx: number, len: Ptr): Ptr;
  _lua_touserdata(L: Ptr, idx: number): Ptr;
  _lua_tothread(L: Ptr, idx: number): Ptr;
  _lua_topointer(L: Ptr, idx: number): Ptr;
  _lua_rawlen(L: Ptr, idx: number): number;
  _lua_rawequal(L: Ptr, a: number, b: number): number;
  _lua_pushnil(L: Ptr): void;
  _lua_pushnumber(L: Ptr, n: number): void;
  _lua_pushinteger(L: Ptr, n: bigint): void;
  _lua_pushlstring(L: Ptr, s: Ptr, len: number): Ptr;
  _lua_pushstring(L: Ptr, s: Ptr): Ptr;
  _lua_pushcclosure(L: Ptr, fn: Ptr, n: number): void;
  _lua_pushboolean(L: Ptr, b: number): void;
  _lua_pushlightuserdata(L: Ptr, p: Ptr): void;
  _lua_pushthread(L: Ptr): number;
  _lua_getglobal(L: Ptr, name: Ptr): number;
  _lua_setglobal(L: Ptr, name: Ptr): void;
  _lua_gettable(L: Ptr, idx: number): number;
  _lua_getfield(L: Ptr, idx: number, k: Ptr): number;
  _lua_setfield(L: Ptr, idx: number, k: Ptr): void;
  _lua_rawget(L: Ptr, idx: number): number;
  _lua_rawset(L: Ptr, idx: number): void;
  _lua_rawgeti(L: Ptr, idx: number, n: bigint): number;
  _lua_rawseti(L: Ptr, idx: number, n: bigint): void;
  _lua_createtable(L: Ptr, narr: number, nrec: number): void;
  _lua_getmetatable(L: Ptr, idx: number): number;
  _lua_setmetatable(L: Ptr, idx: number): number;
  _lua_next(L: Ptr, idx: number): number;
  _lua_error(L: Ptr): number;
  _lua_callk(L: Ptr, nargs: number, nres: number, ctx: number, k: Ptr): void;
  _lua_pcallk(L: Ptr, nargs: number, nres: number, msgh: number, ctx: number, k: Ptr): number;
  _luaL_loadbufferx(L: Ptr, buf: Ptr, size: number, name: Ptr, mode: Ptr): number;
  _luaL_ref(L: Ptr, t: number): number;
  _luaL_unref(L: Ptr, t: number, ref: number): void;
  _luaL_traceback(L: Ptr, L1: Ptr, msg: Ptr, level: number): void;
  _lua_resume(L: Ptr, from: Ptr, narg: number, nres: Ptr): number;
  _lua_status(L: Ptr): number;
  _lua_yieldk(L: Ptr, nres: number, ctx: number, k: Ptr): number;
  _lua_isyieldable(L: Ptr): number;
  _lua_sethook(L: Ptr, f: Ptr, mask: number, count: number): void;
  _lua_getstack(L: Ptr, level: number, ar: Ptr): number;
  _lua_getinfo(L: Ptr, what: Ptr, ar: Ptr): number;
  _lua_stringtonumber(L: Ptr, s: Ptr): number;
  _lua_concat(L: Ptr, n: number): void;
  _lua_len(L: Ptr, idx: number): void;
  _lua_compare(L: Ptr, a: number, b: number, op: number): number;
  _lua_setcstacklimit?(L: Ptr, limit: number): number;
  /** The instance's function table (what C function pointers index), when the raw exports were captured. */
  __table?: WebAssembly.Table;
  /** The instance's memory, when the raw exports were captured (for modules that import it: wasm-args.ts). */
  __memory?: WebAssembly.Memory;
}

let loading: Promise<RawLua> | undefined;
/** Whether the module's tables were made to place keys as Lua 5.1 does: re-inserted in 5.1's order, nil stores taking nodes (table-order.ts). */
export let tablesRehashAs51 = false;
/** Whether integers were made to turn into text as 5.1's doubles do (integer-text.ts). */
export let integersAs51 = false;
/** Whether number keys were made to hash as 5.1 hashes them (number-keys.ts). */
export let numberKeysHashAs51 = false;
/** The function table's length as instantiated: its entries are the module's own C functions (before any addFunction). */
let initialTableLength = 0;
let loaded: RawLua | undefined;

/**
 * Instantiates the module (about 30-40 ms); later calls share it.
 *
 * Emscripten's `Module._lua_*` are debug wrappers: each call checks that the
 * runtime is up, looks the export up by name and forwards `arguments` with
 * apply() — about a fifth of the time of a Lua API call in profiles. The
 * instance's own exports do the same work without that, so they are
 * captured as the module is instantiated and put in front of the wrappers.
 */
export function loadLuaModule(): Promise<RawLua> {
  loading ??= (async () => {
    let exports: WebAssembly.Exports | undefined;
    const instantiate = WebAssembly.instantiate;
    WebAssembly.instantiate = async function (this: unknown, ...a: unknown[]) {
      fixClock(a[1]);
      const src = a[0];
      const bytes = src instanceof ArrayBuffer ? new Uint8Array(src) : ArrayBuffer.isView(src) ? new Uint8Array(src.buffer, src.byteOffset, src.byteLength) : null;
      // Both shape where keys land; each is applied when found.
      const reinserted = bytes !== null && reinsertAsLua51(bytes);
      const nilKeys = bytes !== null && nilKeysTakeNodesAs51(bytes);
      tablesRehashAs51 = reinserted && nilKeys;
      integersAs51 = bytes !== null && integersPrintAs51(bytes);
      const withHash51 = bytes === null ? null : numberKeysAs51(bytes);
      numberKeysHashAs51 = withHash51 !== null;
      if (withHash51 !== null) a[0] = withHash51;
      leanInvoke(a[1], () => exports);
      const res = await (instantiate as (...x: unknown[]) => Promise<WebAssembly.WebAssemblyInstantiatedSource | WebAssembly.Instance>).apply(this, a);
      exports ??= 'instance' in res ? res.instance.exports : res.exports;
      const t = exports.__indirect_function_table;
      if (t instanceof WebAssembly.Table && initialTableLength === 0) initialTableLength = t.length;
      return res;
    } as typeof WebAssembly.instantiate;
    let module: RawLua;
    try {
      module = (await new LuaFactory().getLuaModule()).module as unknown as RawLua;
    } finally {
      WebAssembly.instantiate = instantiate;
    }
    loaded = exports === undefined ? module : direct(module, exports);
    return loaded;
  })();
  return loading;
}

/**
 * The module's only clock is time(), which Lua reads once per state to seed
 * its string hashes (and math.random's seed, replaced by Redis's own). A
 * seed taken from the clock makes the order in which pairs()/next() walk a
 * table, and so what cjson/cmsgpack encode, change from run to run; Redis's
 * Lua 5.1 walks the same table the same way every time. lua-vm.ts sets the
 * seed itself to 0 once the state exists; the constant clock keeps anything
 * else that reads time() (nothing a script can reach) from varying.
 */
function fixClock(imports: unknown): void {
  const env = (imports as { env?: Record<string, unknown> } | undefined)?.env;
  if (env !== undefined && typeof env.emscripten_date_now === 'function') env.emscripten_date_now = () => 0;
}

type InvokeTarget = (a: number, b: number) => void;

/**
 * emscripten's `invoke_vii`, the import through which every lua_pcall and
 * lua_resume runs (Lua's setjmp: luaD_rawrunprotected calls it, and a Lua
 * error or yield comes back to it as a thrown longjmp). The glue's version
 * reaches stackSave through a debug wrapper (two assertions, a lookup by
 * name, apply()) and reads the function table twice per call; this one
 * makes the same calls on the instance's own exports, in the same order:
 * save the stack pointer, call the table entry, and on a longjmp (a thrown
 * number) restore the stack pointer and set the threw flag; anything else
 * thrown passes on. Once per script run, and once per pcall a script makes.
 */
function leanInvoke(imports: unknown, exportsOf: () => WebAssembly.Exports | undefined): void {
  const env = (imports as { env?: Record<string, unknown> } | undefined)?.env;
  if (env === undefined || typeof env.invoke_vii !== 'function') return;
  const glue = env.invoke_vii as (index: number, a: number, b: number) => void;
  let stackSave: (() => number) | undefined;
  let stackRestore: (sp: number) => void = () => {};
  let setThrew: (threw: number, value: number) => void = () => {};
  let table: WebAssembly.Table | undefined;
  // Table.get costs more than the rest of a call: entries are kept by
  // index. Only those of the module's own C functions (the table's initial
  // part, what Lua's setjmp callers pass: f_call, resume, ...), which never
  // change; an entry past them (added at run time, possibly replaced later)
  // is read from the table each time.
  const targets: (InvokeTarget | undefined)[] = [];
  let fixedEntries = 0;
  env.invoke_vii = (index: number, a: number, b: number): void => {
    if (stackSave === undefined) {
      const ex = exportsOf();
      const t = ex?.__indirect_function_table;
      if (ex === undefined || typeof ex.stackSave !== 'function' || typeof ex.stackRestore !== 'function' || typeof ex.setThrew !== 'function' || !(t instanceof WebAssembly.Table)) {
        return glue(index, a, b);
      }
      stackRestore = ex.stackRestore as typeof stackRestore;
      setThrew = ex.setThrew as typeof setThrew;
      table = t;
      fixedEntries = initialTableLength;
      stackSave = ex.stackSave as () => number;
    }
    let target = targets[index];
    if (target === undefined) {
      target = table!.get(index) as InvokeTarget;
      if (index < fixedEntries) targets[index] = target;
    }
    const sp = stackSave();
    try {
      target(a, b);
    } catch (e) {
      stackRestore(sp);
      // emscripten's longjmp throws a number (Infinity); a JS error is not one.
      if (e !== (e as number) + 0) throw e;
      setThrew(1, 0);
    }
  };
}

/**
 * `module` with every `_name` export it wraps replaced by the instance's
 * `name` (HEAP views and helpers still read through, from its prototype).
 *
 * Built as one object literal (by generated code, as protocol/latin1.ts
 * builds its slicers): the binding calls `m._lua_*` thousands of times per
 * script, and an object given 150 properties one keyed store at a time
 * turns into a dictionary (V8 gives up fast properties after a dozen keyed
 * additions), where every such call looks its function up by hash. A
 * literal's properties stay fast (its own fixed shape).
 */
function direct(module: RawLua, exports: WebAssembly.Exports): RawLua {
  const names: string[] = [];
  for (const key of Object.keys(module)) {
    if (key[0] !== '_' || !/^[_$A-Za-z0-9]+$/.test(key)) continue;
    if (typeof exports[key.slice(1)] === 'function') names.push(key);
  }
  const table = exports.__indirect_function_table;
  const memory = exports.memory;
  const fields = names.map((k) => `${k}: e[${JSON.stringify(k.slice(1))}]`);
  const make = new Function('m', 'e', 't', 'mem', `return { __proto__: m, ${[...fields, '__table: t', '__memory: mem'].join(', ')} };`) as (
    m: RawLua,
    e: WebAssembly.Exports,
    t: WebAssembly.Table | undefined,
    mem: WebAssembly.Memory | undefined,
  ) => RawLua;
  return make(module, exports, table instanceof WebAssembly.Table ? table : undefined, memory instanceof WebAssembly.Memory ? memory : undefined);
}

/** The module once loadLuaModule() has resolved (on first use of scripting: src/server/lua-start.ts). */
export function luaModule(): RawLua {
  if (!loaded) throw new Error('the Lua module is not loaded (it failed to load, or LuaVm.init() was not awaited)');
  return loaded;
}
