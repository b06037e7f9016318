/**
 * LuaVm: one Lua state over the WASM module, and the small C-API-shaped
 * surface everything else (the `redis` table, cjson, cmsgpack, struct, bit,
 * EVAL, FUNCTION) is written against. It mirrors the Lua C API on purpose:
 * library code ported from C keeps its shape, and this file is the only
 * place that knows it is wasmoon underneath.
 *
 * Conventions
 * - `L` is a lua_State pointer: the main state or a thread (coroutine). A
 *   C function receives the L it runs on, which is not always `vm.L`.
 * - Byte strings are Damselfly's latin1 JS strings (one char per byte), or
 *   Buffers; both cross binary-safe (NUL and bytes >= 0x80 included).
 * - Integers are 64-bit: read them as BigInt, push number or BigInt.
 * - Raising an error (`raise`, `raiseValue`, `argError`) unwinds the JS
 *   frames in between: it does not return. Do not wrap VM calls in a JS
 *   try/catch that swallows what it catches: Lua's errors and yields travel
 *   as an emscripten longjmp (a thrown number) and must reach the VM.
 * - A JS exception thrown by a C function (a bug) becomes a Lua error
 *   `internal error in <name>: <message>`, never a crash of the server.
 */
import { integersAs51, loadLuaModule, luaModule, numberKeysHashAs51, tablesRehashAs51, type Ptr, type RawLua } from './wasm-module.js';
import { blockRequest, createWasmAllocator, SLOTS, type WasmAllocator } from './wasm-alloc.js';
import { createArgScan, type ArgScan } from './wasm-args.js';
import { createArrayFill, type ArrayFill } from './wasm-fill.js';
import { createReplyReader, type ReplyReader } from './wasm-reply.js';
import { createValueBuild, OP_SIZE, type ValueBuild } from './wasm-build.js';
import { latin1 } from '../../protocol/latin1.js';
import { printFloatsAs51 } from './float-text.js';
import { readInfNanAs51 } from './number-parse.js';
import { log } from '../../log.js';

export type LuaState = Ptr;
/** A C function: reads its arguments from L's stack, pushes results, returns how many. */
export type LuaCFunction = (vm: LuaVm, L: LuaState) => number;
/** A hook: `event` is one of LuaHookEvent. */
export type LuaHook = (vm: LuaVm, L: LuaState, event: number) => void;
/** A continuation of a C function that yielded (lua_KFunction): called with the status and the context it yielded with. */
export type LuaKFunction = (vm: LuaVm, L: LuaState, status: number) => number;

export const LuaType = {
  NONE: -1,
  NIL: 0,
  BOOLEAN: 1,
  LIGHTUSERDATA: 2,
  NUMBER: 3,
  STRING: 4,
  TABLE: 5,
  FUNCTION: 6,
  USERDATA: 7,
  THREAD: 8,
} as const;

export const LuaStatus = { OK: 0, YIELD: 1, ERRRUN: 2, ERRSYNTAX: 3, ERRMEM: 4, ERRERR: 5 } as const;
export const LuaHookMask = { CALL: 1, RET: 2, LINE: 4, COUNT: 8 } as const;
export const LuaHookEvent = { CALL: 0, RET: 1, LINE: 2, COUNT: 3, TAILCALL: 4 } as const;

export const LUA_REGISTRYINDEX = -1001000;
/** A Table's type tag (LUA_VTABLE = LUA_TTABLE, variant 0). */
const LUA_VTABLE = 5;

/** A table pushStringArrayInto keeps between calls: its registry ref (0: none yet), address and length. */
export interface ReusedArray {
  ref: number;
  table: Ptr;
  n: number;
}
export const newReusedArray = (): ReusedArray => ({ ref: 0, table: 0, n: 0 });
export const LUA_MULTRET = -1;
/** Pseudo-index of a C closure's i-th upvalue (1-based). */
export const upvalueIndex = (i: number): number => LUA_REGISTRYINDEX - i;

/** Where a stack level is running (lua_getinfo "Sl"). */
export interface LuaWhere {
  /** "Lua", "C" or "main". */
  what: string;
  /** The chunk name as given to load, e.g. "@user_script". */
  source: string;
  /** -1 when not known (C functions). */
  currentLine: number;
}

export interface LuaVmOptions {
  /**
   * Bytes the state may allocate; past it an allocation fails and Lua raises
   * "not enough memory" (catchable by the host as LuaStatus.ERRMEM). The WASM
   * memory itself cannot exceed 2 GiB nor shrink, so every state needs one.
   */
  memoryLimit: number;
}

/** Thrown (as a JS exception) if Lua panics: an error outside any protected call. The VM is unusable after it. */
export class LuaPanic extends Error {}

// lua_Debug for Lua 5.4 on wasm32: event@0 name@4 namewhat@8 what@12 source@16
// srclen@20 currentline@24 linedefined@28 lastlinedefined@32 nups..ntransfer@36-43
// short_src[60]@44 i_ci@104; 108 bytes.
const AR_SIZE = 112;
const AR_WHAT = 12;
const AR_SOURCE = 16;
const AR_SRCLEN = 20;
const AR_CURRENTLINE = 24;

interface ModuleGlue {
  m: RawLua;
  vms: (LuaVm | undefined)[];
  /** The only open state, when there is exactly one (vmOf needs no lookup then). */
  only: LuaVm | undefined;
  /** The JS allocator, for states the WASM one has no slot for. */
  alloc: Ptr;
  /**
   * The allocator a state is created with: the JS one, which also sets the
   * state's string hash seed to 0 before the state makes its first string
   * (see zeroSeed). Lua 5.4 seeds its string hashes from the state's address
   * and the clock; the seed decides the order pairs() walks a table in,
   * which cjson and cmsgpack encode. Redis's Lua 5.1 has no seed, and with
   * seed 0 Lua 5.4 hashes a string under 32 bytes exactly as 5.1 does: every
   * state, EVAL's and FUNCTION's, after SCRIPT FLUSH too, walks a table as
   * Redis does (unless the table was rehashed: 5.4 re-inserts the other way).
   */
  stateAlloc: Ptr;
  /** The slot whose state is being created (-1: none), then its main block until its seed is set. */
  placingMain: number;
  seeding: Ptr;
  seedingSize: number;
  wasmAlloc: WasmAllocator | null;
  /** Reads the types (and string addresses) of stack slots 1..n in one call; null: argument by argument. */
  argScan: ArgScan | null;
  /** argScan's out block: ARG_SCAN_MAX entries of 12 bytes, then ARG_SCAN_MAX doubles (numbers' values). */
  argOut: Ptr;
  /** Builds an array of strings in one call (wasm-fill.ts); null: element by element. */
  arrayFill: ArrayFill | null;
  /** Tables read as LuaVm.isFreshArray expects: undefined until checked. */
  tableLayoutChecked: boolean | undefined;
  /** Reads a returned table's special fields and array part in one call each (wasm-reply.ts); null: field by field. */
  replyReader: ReplyReader | null;
  /** Address blocks of name lists for replyReader.probe, by list. */
  nameLists: Map<readonly string[], Ptr>;
  /** Runs a list of push and set operations in one call (wasm-build.ts); null: value by value. */
  valueBuild: ValueBuild | null;
  /** valueBuild's operation block (BUILD_MAX operations); 0 until first used. */
  buildOps: Ptr;
  /** arrayType's out block (ARRAY_TYPE_MAX entries of 12 bytes); 0 until first used. */
  typesOut: Ptr;
  /** arrayFill's block (descriptors, then bytes) and its size; 0 until first used. */
  fillBuf: Ptr;
  fillCap: number;
  panic: Ptr;
  /** C function pointers by JS function, so a function is added to the WASM table once per process. */
  fns: Map<LuaCFunction, Ptr>;
  hooks: Map<LuaHook, Ptr>;
  continuations: Map<LuaKFunction, Ptr>;
  /** Interned NUL-terminated names (field and global names), never freed: they are few. */
  cstrings: Map<string, Ptr>;
  /** One lua_Debug, one size_t out-slot, one int out-slot. */
  ar: Ptr;
  lenp: Ptr;
  intp: Ptr;
  /** Scratch bytes for pushing strings (grown on demand, shrunk back after big ones). */
  scratch: Ptr;
  scratchCap: number;
  /** Views of the WASM memory (see heap()). */
  heapBuf: Buffer;
  i32: Int32Array;
  u32: Uint32Array;
  f64: Float64Array;
}

const SCRATCH_KEEP = 64 * 1024;
const SHORT_STRING = 24;
/** recurringStringAt's cache: strings up to this long, this many addresses. */
const RECURRING_MAX = 40;
const RECURRING_ENTRIES = 1024; // a power of two
const RECURRING_WORDS = RECURRING_MAX / 4;
/** The low `i` bytes of a little-endian word. */
const BYTE_MASKS = [0, 0xff, 0xffff, 0xffffff];
/** Arrays shorter than this are built element by element: the helper's own cost is not won back (a rate limiter's KEYS and ARGV of one element each measured no faster). */
const FILL_MIN = 4;
/** arrayFill's block is kept up to this size between calls. */
const FILL_KEEP = 1 << 20;
/**
 * Set while arrayFill runs: a __gc finalizer run by one of its allocations
 * may build an array itself, and must not overwrite the block in use.
 */
let fillBusy = false;
/** Operations valueBuild runs at most in one call (16 bytes each). */
export const BUILD_MAX = 2048;
/** Set while valueBuild runs (as fillBusy: a finalizer must not overwrite the block in use). */
let buildBusy = false;
/** Arguments readArgs reads in one crossing; more go argument by argument. */
const ARG_SCAN_MAX = 64;
/** Elements scanArray reads at most. */
export const ARRAY_SCAN_MAX = ARG_SCAN_MAX;
/** Elements arrayType reads at most (its block: 12 bytes each). */
const ARRAY_TYPE_MAX = 4096;
let glue: ModuleGlue | undefined;

function setupGlue(m: RawLua): ModuleGlue {
  if (!printFloatsAs51(m.HEAPU8)) log.warn('Lua module: could not make floats print as Lua 5.1 does (10/2 stays "5.0" in scripts)');
  if (!readInfNanAs51(m.HEAPU8)) log.warn("Lua module: could not make strings read as numbers as Lua 5.1 does (tonumber('inf') stays nil in scripts)");
  if (!integersAs51) log.warn("Lua module: could not make integers turn into text as Lua 5.1's numbers do ('k' .. 1796672035681 * 4096 keeps all its digits in scripts)");
  if (!numberKeysHashAs51) log.warn('Lua module: could not make number keys hash as Lua 5.1 does (pairs() may walk number keys in another order than Redis)');
  if (!tablesRehashAs51) log.warn('Lua module: could not make tables re-hash as Lua 5.1 does (pairs() may walk a table in another order than Redis)');
  const g: ModuleGlue = {
    m,
    vms: [],
    only: undefined,
    alloc: 0,
    stateAlloc: 0,
    placingMain: -1,
    seeding: 0,
    seedingSize: 0,
    wasmAlloc: createWasmAllocator(m),
    argScan: createArgScan(m),
    argOut: m._malloc(ARG_SCAN_MAX * 20),
    arrayFill: createArrayFill(m),
    tableLayoutChecked: undefined,
    replyReader: createReplyReader(m),
    valueBuild: createValueBuild(m),
    buildOps: 0,
    nameLists: new Map(),
    typesOut: 0,
    fillBuf: 0,
    fillCap: 0,
    panic: 0,
    fns: new Map(),
    hooks: new Map(),
    continuations: new Map(),
    cstrings: new Map(),
    ar: m._malloc(AR_SIZE),
    lenp: m._malloc(8),
    intp: m._malloc(8),
    scratch: m._malloc(SCRATCH_KEEP),
    scratchCap: SCRATCH_KEEP,
    heapBuf: Buffer.from(m.HEAPU8.buffer),
    i32: new Int32Array(m.HEAPU8.buffer),
    u32: new Uint32Array(m.HEAPU8.buffer),
    f64: new Float64Array(m.HEAPU8.buffer),
  };
  // Each helper falls back to one call per step when it is missing: slower, and otherwise silent.
  const missing = Object.entries(oneCallHelpers(g)).filter(([, on]) => !on).map(([k]) => k);
  if (missing.length > 0) log.warn({ missing }, 'Lua module: one-call WASM helpers not available, scripts run slower');
  // The allocator accounts per state (ud = the state's slot in g.vms) and
  // refuses past its limit: Lua turns a NULL into "not enough memory".
  const jsAlloc = (ud: number, ptr: number, osize: number, nsize: number): number => {
    const vm = g.vms[ud]!;
    if (ptr === 0) osize = 0; // osize then encodes the type of the new object
    if (nsize === 0) {
      if (ptr !== 0) {
        m._free(ptr);
        vm.used -= osize;
      }
      return 0;
    }
    if (nsize > osize && vm.used + nsize - osize > vm.memoryLimit) return 0;
    // Sized as the WASM allocator sizes blocks: it may later free this one onto a class stack (wasm-alloc.ts).
    const np = m._realloc(ptr, blockRequest(nsize));
    if (np !== 0) vm.used += nsize - osize;
    return np;
  };
  g.alloc = m.addFunction(jsAlloc, 'iiiii');
  g.stateAlloc = m.addFunction((ud: number, ptr: number, osize: number, nsize: number): number => {
    if (ptr === 0 && ud === g.placingMain) {
      // lua_newstate's first allocation: the block that holds the lua_State.
      g.placingMain = -1;
      const b = jsAlloc(ud, ptr, osize, nsize);
      g.seeding = b;
      g.seedingSize = nsize;
      return b;
    }
    if (g.seeding !== 0) {
      // lua_newstate's next allocation (the stack), before any string exists.
      zeroSeed(g, g.seeding, g.seedingSize, ud);
      g.seeding = 0;
    }
    return jsAlloc(ud, ptr, osize, nsize);
  }, 'iiiii');
  g.panic = m.addFunction((L: number): number => {
    const vm = vmOf(L);
    const msg = vm.toLatin1(L, -1) ?? 'unknown error';
    throw new LuaPanic(`Lua panic (error outside a protected call): ${msg}`);
  }, 'ii');
  return g;
}

/**
 * Set the string hash seed of the state being built in `block` to 0 (see
 * ModuleGlue.stateAlloc). Offsets are Lua 5.4's on wasm32 (4-byte pointers):
 * the lua_State follows LUA_EXTRASPACE (4 bytes) in the block and holds
 * l_G at 16; global_State has frealloc at 0, ud 4, totalbytes 8, the string
 * table at 24-35, l_registry at 40, nilvalue at 56 (its tag at 64) and seed
 * at 72. The seed is written only when all of those read as lua_newstate
 * has just left them, so another build's layout is left alone (the test
 * against redis-server in test/scripting-libs-cjson.test.ts then fails).
 */
function zeroSeed(g: ModuleGlue, block: Ptr, size: number, slot: number): void {
  const i32 = views(g).i32;
  const u8 = g.heapBuf;
  const G = i32[(block + 4 + 16) >> 2]!;
  if (G < block || G + 76 > block + size) return;
  if (i32[G >> 2] !== g.stateAlloc || i32[(G + 4) >> 2] !== slot || i32[(G + 8) >> 2] !== size) return;
  if (i32[(G + 24) >> 2] !== 0 || i32[(G + 28) >> 2] !== 0 || i32[(G + 32) >> 2] !== 0) return;
  // nilvalue holds the integer 0 (tag LUA_VNUMINT) while the state is being built.
  if (u8[G + 64] !== 3 || i32[(G + 56) >> 2] !== 0 || i32[(G + 60) >> 2] !== 0) return;
  i32[(G + 72) >> 2] = 0;
}

function vmOf(L: LuaState): LuaVm {
  const g = glue!;
  if (g.only !== undefined) return g.only;
  // lua_getallocf hands back the ud we gave lua_newstate: the VM's slot.
  (g.m as unknown as { _lua_getallocf(L: Ptr, ud: Ptr): Ptr })._lua_getallocf(L, g.intp);
  return g.vms[views(g).i32[g.intp >> 2]!]!;
}

function updateOnly(g: ModuleGlue): void {
  const open = g.vms.filter((v) => v !== undefined);
  g.only = open.length === 1 ? open[0] : undefined;
}

function heap(g: ModuleGlue): Buffer {
  return views(g).heapBuf;
}

/**
 * The glue with its memory views current. WASM memory growth replaces the
 * ArrayBuffer and detaches the old one, so a view of length 0 is the sign
 * (a length read, where comparing the buffers costs a getter call each).
 */
/** Writes x (an integer, 0 <= x < 1e8) in decimal at p, `width` digits at least (zero-padded); returns the end. */
function writeSmallDecimal(h: Buffer, p: number, x: number, width: number): number {
  // int32 arithmetic: `%` and `/` on doubles call out to fmod, a digit at a time.
  let len = 1;
  for (let t = x; t >= 10; t = (t / 10) | 0) len++;
  if (len < width) len = width;
  for (let i = p + len - 1; i >= p; i--) {
    const q = (x / 10) | 0;
    h[i] = 48 + x - q * 10;
    x = q;
  }
  return p + len;
}

/** Writes a non-negative safe integer in decimal at p; returns the end. */
function writeDecimal(h: Buffer, p: number, n: number): number {
  if (n < 1e8) return writeSmallDecimal(h, p, n | 0, 1);
  const hi = Math.floor(n / 1e8); // below 2^53 / 1e8: fits an int32
  return writeSmallDecimal(h, writeSmallDecimal(h, p, hi, 1), n - hi * 1e8, 8);
}

function views(g: ModuleGlue): ModuleGlue {
  if (g.heapBuf.length === 0) {
    const buf = g.m.HEAPU8.buffer;
    g.heapBuf = Buffer.from(buf);
    g.i32 = new Int32Array(buf);
    g.u32 = new Uint32Array(buf);
    g.f64 = new Float64Array(buf);
  }
  return g;
}

function cstr(g: ModuleGlue, s: string): Ptr {
  let p = g.cstrings.get(s);
  if (p === undefined) {
    const b = Buffer.from(s + '\0', 'latin1');
    p = g.m._malloc(b.length);
    heap(g).set(b, p);
    g.cstrings.set(s, p);
  }
  return p;
}

function cFunctionPtr(g: ModuleGlue, fn: LuaCFunction): Ptr {
  let p = g.fns.get(fn);
  if (p === undefined) {
    const name = fn.name || 'anonymous';
    p = g.m.addFunction((L: number): number => {
      const vm = vmOf(L);
      let bug: unknown;
      try {
        return fn(vm, L);
      } catch (e) {
        // A number is emscripten's longjmp: a Lua error or yield on its way.
        if (typeof e === 'number') throw e;
        bug = e;
      }
      const msg = bug instanceof Error ? bug.message : String(bug);
      return vm.raise(L, `internal error in ${name}: ${msg}`, false);
    }, 'ii');
    g.fns.set(fn, p);
  }
  return p;
}

function continuationPtr(g: ModuleGlue, fn: LuaKFunction): Ptr {
  let p = g.continuations.get(fn);
  if (p === undefined) {
    p = g.m.addFunction((L: number, status: number): number => fn(vmOf(L), L, status), 'iiii');
    g.continuations.set(fn, p);
  }
  return p;
}

function hookPtr(g: ModuleGlue, fn: LuaHook): Ptr {
  let p = g.hooks.get(fn);
  if (p === undefined) {
    p = g.m.addFunction((L: number, ar: number): void => {
      const event = views(g).i32[ar >> 2]!;
      fn(vmOf(L), L, event);
    }, 'vii');
    g.hooks.set(fn, p);
  }
  return p;
}

/** Which hand-assembled one-call helpers (wasm-*.ts) this module runs. */
function oneCallHelpers(g: ModuleGlue): Record<string, boolean> {
  return { wasmAlloc: g.wasmAlloc !== null, argScan: g.argScan !== null, arrayFill: g.arrayFill !== null, replyReader: g.replyReader !== null, valueBuild: g.valueBuild !== null };
}

export class LuaVm {
  /** Loads the WASM module (once; later calls share it): before the first LuaVm.create (src/server/lua-start.ts). */
  static async init(): Promise<void> {
    const m = await loadLuaModule();
    glue ??= setupGlue(m);
  }

  /** A fresh state with the standard Lua 5.4 libraries opened (sandboxing is the caller's business). */
  static create(opts: LuaVmOptions): LuaVm {
    if (!glue) glue = setupGlue(luaModule());
    return new LuaVm(glue, opts);
  }

  /** Which one-call WASM helpers are in use (all of them unless one failed to compile: see setupGlue). */
  static helpers(): Record<string, boolean> {
    if (!glue) glue = setupGlue(luaModule());
    return oneCallHelpers(glue);
  }

  /** The main state. */
  readonly L: LuaState;
  private readonly g: ModuleGlue;
  /** Bytes in use at [stat], the limit at [stat + 1]: the WASM allocator's page, or our own pair. */
  private readonly stats: Float64Array;
  private readonly stat: number;
  private readonly m: RawLua;
  private readonly slot: number;
  private closed = false;
  /**
   * recurringString's cache, direct-mapped by address: the address, length
   * and bytes (as little-endian words, the last one masked) of a string,
   * and the JS string made of them.
   */
  private readonly recurringAt = new Int32Array(RECURRING_ENTRIES);
  private readonly recurringLen = new Int32Array(RECURRING_ENTRIES);
  private readonly recurringWords = new Int32Array(RECURRING_ENTRIES * RECURRING_WORDS);
  private readonly recurringStr = new Array<string>(RECURRING_ENTRIES).fill('');
  private collectRef = 0;

  private constructor(g: ModuleGlue, opts: LuaVmOptions) {
    this.g = g;
    this.m = g.m;
    let slot = g.vms.indexOf(undefined);
    if (slot < 0) slot = g.vms.length;
    g.vms[slot] = this;
    this.slot = slot;
    const wasmAlloc = g.wasmAlloc !== null && slot < SLOTS;
    this.stats = wasmAlloc ? g.wasmAlloc!.stats : new Float64Array(2);
    this.stat = wasmAlloc ? 2 * slot : 0;
    this.used = 0;
    this.memoryLimit = opts.memoryLimit;
    g.placingMain = slot;
    const L = this.m._lua_newstate(g.stateAlloc, slot);
    g.placingMain = -1;
    if (L === 0) {
      g.vms[slot] = undefined;
      throw new Error('cannot create a Lua state (memory limit too low?)');
    }
    this.m._lua_setallocf(L, wasmAlloc ? g.wasmAlloc!.fn : g.alloc, slot);
    this.L = L;
    updateOnly(g);
    this.m._lua_atpanic(L, g.panic);
    this.m._luaL_openlibs(L);
    // Kept privately so the host can step the GC after sandboxing removed it.
    this.getGlobal(L, 'collectgarbage');
    this.collectRef = this.ref(L);
  }

  /** Bytes currently allocated by this state. */
  get used(): number {
    return this.stats[this.stat]!;
  }
  set used(n: number) {
    this.stats[this.stat] = n;
  }
  get memoryLimit(): number {
    return this.stats[this.stat + 1]!;
  }
  set memoryLimit(n: number) {
    this.stats[this.stat + 1] = n;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.m._lua_close(this.L);
    this.g.vms[this.slot] = undefined;
    updateOnly(this.g);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  // ---- stack -------------------------------------------------------------

  getTop(L: LuaState): number {
    return this.m._lua_gettop(L);
  }
  setTop(L: LuaState, idx: number): void {
    this.m._lua_settop(L, idx);
  }
  pop(L: LuaState, n = 1): void {
    this.m._lua_settop(L, -n - 1);
  }
  pushValue(L: LuaState, idx: number): void {
    this.m._lua_pushvalue(L, idx);
  }
  absIndex(L: LuaState, idx: number): number {
    return this.m._lua_absindex(L, idx);
  }
  /** Moves the top element into idx, shifting up (lua_insert). */
  insert(L: LuaState, idx: number): void {
    this.m._lua_rotate(L, idx, 1);
  }
  /** Removes the element at idx, shifting down (lua_remove). */
  remove(L: LuaState, idx: number): void {
    this.m._lua_rotate(L, idx, -1);
    this.m._lua_settop(L, -2);
  }
  /** Makes room for n more slots; false if the stack cannot grow (LUAI_MAXSTACK). */
  checkStack(L: LuaState, n: number): boolean {
    return this.m._lua_checkstack(L, n) !== 0;
  }
  /** Moves n values from one thread's stack to another's (same state). */
  xmove(from: LuaState, to: LuaState, n: number): void {
    this.m._lua_xmove(from, to, n);
  }

  // ---- reading values ------------------------------------------------------

  type(L: LuaState, idx: number): number {
    return this.m._lua_type(L, idx);
  }
  typeName(t: number): string {
    return ['no value', 'nil', 'boolean', 'userdata', 'number', 'string', 'table', 'function', 'userdata', 'thread'][t + 1]!;
  }
  isInteger(L: LuaState, idx: number): boolean {
    return this.m._lua_isinteger(L, idx) !== 0;
  }
  /** True for numbers and strings convertible to numbers (lua_isnumber). */
  isNumber(L: LuaState, idx: number): boolean {
    return this.m._lua_isnumber(L, idx) !== 0;
  }
  /** The value as a double (numbers, and strings Lua can convert); null otherwise. */
  toNumber(L: LuaState, idx: number): number | null {
    const n = this.m._lua_tonumberx(L, idx, this.g.intp);
    return views(this.g).i32[this.g.intp >> 2] ? n : null;
  }
  /** The value as a 64-bit integer if it is one (or a float/string with an exact integer value); null otherwise. */
  toInteger(L: LuaState, idx: number): bigint | null {
    const n = this.m._lua_tointegerx(L, idx, this.g.intp);
    return views(this.g).i32[this.g.intp >> 2] ? n : null;
  }
  toBoolean(L: LuaState, idx: number): boolean {
    return this.m._lua_toboolean(L, idx) !== 0;
  }
  /** A string's bytes as a latin1 JS string; null for anything but a string (numbers are NOT converted). */
  toLatin1(L: LuaState, idx: number): string | null {
    if (this.m._lua_type(L, idx) !== LuaType.STRING) return null;
    const p = this.m._lua_tolstring(L, idx, this.g.lenp);
    const n = views(this.g).u32[this.g.lenp >> 2]!;
    return latin1(heap(this.g), p, n);
  }
  /** The bytes of the string at idx, which the caller knows is a string (type() said so). */
  stringAt(L: LuaState, idx: number): string {
    const p = this.m._lua_tolstring(L, idx, this.g.lenp);
    const g = views(this.g);
    return latin1(g.heapBuf, p, g.u32[g.lenp >> 2]!);
  }
  /**
   * stringAt for strings a script passes again and again (command names):
   * Lua interns short strings, so the same name comes back at the same
   * address, and the JS string made for it the first time (its hash already
   * computed by the command table's lookup) is handed out again once its
   * bytes are checked. An address reused by another string fails the check.
   */
  recurringStringAt(L: LuaState, idx: number): string {
    const p = this.m._lua_tolstring(L, idx, this.g.lenp);
    const g = views(this.g);
    return this.recurringString(g, p, g.u32[g.lenp >> 2]!);
  }
  /** The string of n bytes at p (g's views current): from the cache when its bytes are the same, checked a word at a time. */
  private recurringString(g: ModuleGlue, p: Ptr, n: number): string {
    const h = g.heapBuf;
    if (n > RECURRING_MAX || (p & 3) !== 0) return latin1(h, p, n);
    // Slots by address: string bodies are 8-byte aligned (so word reads at p are aligned too).
    const slot = (p >>> 3) & (RECURRING_ENTRIES - 1);
    const words = this.recurringWords;
    const base = slot * RECURRING_WORDS;
    const i32 = g.i32;
    const w = p >> 2;
    const full = n >> 2;
    const rest = n & 3;
    if (this.recurringAt[slot] === p && this.recurringLen[slot] === n) {
      let k = 0;
      while (k < full && i32[w + k] === words[base + k]) k++;
      // The bytes past the end (the terminating NUL, then the allocator's) are masked off.
      if (k === full && (rest === 0 || (i32[w + full]! & BYTE_MASKS[rest]!) === words[base + full])) return this.recurringStr[slot]!;
    }
    const s = latin1(h, p, n);
    this.recurringAt[slot] = p;
    this.recurringLen[slot] = n;
    for (let k = 0; k < full; k++) words[base + k] = i32[w + k]!;
    if (rest !== 0) words[base + full] = i32[w + full]! & BYTE_MASKS[rest]!;
    this.recurringStr[slot] = s;
    return s;
  }
  /**
   * The C function's arguments (1..lua_gettop) in a new array, its length
   * the argument count: strings as recurringStringAt reads them, undefined
   * in place of any other value (argOthers says how many there were). One
   * WASM call reads the count, every type and every string address
   * (wasm-args.ts), where each argument cost two and the count one.
   */
  readArgs(L: LuaState): (string | undefined)[] {
    const g = this.g;
    const scan = g.argScan;
    let others = 0;
    let argc = scan === null ? -1 : scan(L, ARG_SCAN_MAX, g.argOut);
    this.argsScanned = argc >= 0 && argc <= ARG_SCAN_MAX;
    if (!this.argsScanned) {
      argc = this.m._lua_gettop(L);
      const out = new Array<string | undefined>(argc);
      for (let i = 1; i <= argc; i++) {
        if (this.m._lua_type(L, i) === LuaType.STRING) out[i - 1] = this.recurringStringAt(L, i);
        else others++;
      }
      this.argOthers = others;
      return out;
    }
    const out = new Array<string | undefined>(argc);
    const v = views(g);
    const i32 = v.i32;
    let o = g.argOut >> 2;
    for (let i = 0; i < argc; i++, o += 3) {
      if (i32[o] === LuaType.STRING) out[i] = this.recurringString(v, i32[o + 1]!, i32[o + 2]! >>> 0);
      else others++;
    }
    this.argOthers = others;
    return out;
  }
  /** How many of the arguments the last readArgs read were not strings. */
  argOthers = 0;
  /** Whether the last readArgs read its arguments' types (and numbers) in one call. */
  private argsScanned = false;
  /** Argument i's type (1-based) for the C function whose arguments readArgs just read, L's. */
  argType(L: LuaState, i: number): number {
    return this.argsScanned ? views(this.g).i32[(this.g.argOut >> 2) + 3 * (i - 1)]! : this.m._lua_type(L, i);
  }
  /** Argument i's value (1-based) when argType said it is a number (as toNumber reads it). */
  argNumber(L: LuaState, i: number): number {
    return this.argsScanned ? views(this.g).f64[((this.g.argOut + 12 * ARG_SCAN_MAX) >> 3) + (i - 1)]! : this.toNumber(L, i)!;
  }
  /**
   * readArgs without reading any string: the argument count (-1 when the
   * one-call scanner is not available, or past ARG_SCAN_MAX arguments);
   * then scanType(i) (0-based) is argument i + 1's type, and for a string
   * scanString(i) / scanRecurring(i) its bytes. For C functions that pass
   * big strings on without looking at them.
   */
  scanArgs(L: LuaState): number {
    const scan = this.g.argScan;
    if (scan === null) return -1;
    const argc = scan(L, ARG_SCAN_MAX, this.g.argOut);
    return argc > ARG_SCAN_MAX ? -1 : argc;
  }
  /** String argument i (0-based) of the last scanArgs, as recurringStringAt reads it. */
  scanRecurring(i: number): string {
    const v = views(this.g);
    const o = (this.g.argOut >> 2) + 3 * i;
    return this.recurringString(v, v.i32[o + 1]!, v.i32[o + 2]! >>> 0);
  }
  /**
   * Where the bytes of the string at idx (the caller knows it is one) lie:
   * returns their address in heapBytes(), and their length in spanLength.
   * Valid until Lua next allocates (the heap may grow and move) or the
   * string is collected: for copying them out at once without a JS string.
   */
  stringSpan(L: LuaState, idx: number): Ptr {
    const p = this.m._lua_tolstring(L, idx, this.g.lenp);
    const g = views(this.g);
    this.spanLength = g.u32[g.lenp >> 2]!;
    return p;
  }
  spanLength = 0;
  /** The WASM memory as a Buffer, current as of now (see stringSpan). */
  heapBytes(): Buffer {
    return views(this.g).heapBuf;
  }
  /** A string's bytes copied into a Buffer; null for anything but a string. */
  toBuffer(L: LuaState, idx: number): Buffer | null {
    if (this.m._lua_type(L, idx) !== LuaType.STRING) return null;
    const p = this.m._lua_tolstring(L, idx, this.g.lenp);
    const n = views(this.g).u32[this.g.lenp >> 2]!;
    return Buffer.from(heap(this.g).subarray(p, p + n));
  }
  /**
   * lua_tolstring's coercion: strings as they are, numbers as Lua 5.4 prints
   * them ("5", "5.0", "0.1"); null otherwise. Converts a copy, so it is safe
   * on a key during next().
   */
  coerceLatin1(L: LuaState, idx: number): string | null {
    const t = this.m._lua_type(L, idx);
    if (t === LuaType.STRING) return this.toLatin1(L, idx);
    if (t !== LuaType.NUMBER) return null;
    this.m._lua_pushvalue(L, idx);
    const p = this.m._lua_tolstring(L, -1, this.g.lenp);
    const n = views(this.g).u32[this.g.lenp >> 2]!;
    const s = latin1(heap(this.g), p, n);
    this.m._lua_settop(L, -2);
    return s;
  }
  /** A light userdata's pointer (or a full userdata's block address); 0 otherwise. */
  toUserdata(L: LuaState, idx: number): Ptr {
    return this.m._lua_touserdata(L, idx);
  }
  /** Identity of a table/function/userdata/thread, for cycle and equality checks. */
  toPointer(L: LuaState, idx: number): Ptr {
    return this.m._lua_topointer(L, idx);
  }
  rawEqual(L: LuaState, a: number, b: number): boolean {
    return this.m._lua_rawequal(L, a, b) !== 0;
  }

  // ---- pushing values ------------------------------------------------------

  pushNil(L: LuaState): void {
    this.m._lua_pushnil(L);
  }
  pushBoolean(L: LuaState, b: boolean): void {
    this.m._lua_pushboolean(L, b ? 1 : 0);
  }
  /** Pushes a float (Lua 5.4 number subtype float). */
  pushNumber(L: LuaState, n: number): void {
    this.m._lua_pushnumber(L, n);
  }
  /** Pushes an integer (64-bit; a number must be a safe integer, use a BigInt beyond 2^53). */
  pushInteger(L: LuaState, n: number | bigint): void {
    if (typeof n === 'bigint') return this.m._lua_pushinteger(L, BigInt.asIntN(64, n));
    // A number goes through the WASM helper as a double: redis.call's integer
    // replies (counters, timestamps) are mostly past the cached small BigInts.
    const pushInt = this.g.arrayFill?.pushint;
    if (pushInt !== undefined && Number.isSafeInteger(n)) pushInt(L, n);
    else this.m._lua_pushinteger(L, big(n));
  }
  /** Pushes a byte string given as latin1 JS string. */
  pushString(L: LuaState, s: string): void {
    const n = s.length;
    const p = this.scratchFor(n);
    const h = heap(this.g);
    if (n <= SHORT_STRING) {
      // Below a few dozen bytes a JS loop beats the native call latin1Write makes.
      for (let i = 0; i < n; i++) h[p + i] = s.charCodeAt(i);
    } else h.latin1Write(s, p, n);
    this.m._lua_pushlstring(L, p, n);
    this.releaseScratch(p);
  }
  /**
   * Pushes the string `${a}${sep}${b}` of two non-negative safe integers (a
   * stream ID) with its digits written straight into the WASM heap: no JS
   * string is made (String() of a millisecond timestamp misses V8's number
   * cache, and the concatenation is a cons string the byte copy flattens).
   */
  pushIntPair(L: LuaState, a: number, sep: number, b: number): void {
    const p = this.scratchFor(33); // 16 digits, the separator, 16 digits
    const h = heap(this.g);
    const mid = writeDecimal(h, p, a);
    h[mid] = sep;
    const end = writeDecimal(h, mid + 1, b);
    this.m._lua_pushlstring(L, p, end - p);
    this.releaseScratch(p);
  }
  /**
   * Pushes a new table {items[from], ..., items[to - 1]} (latin1 strings):
   * the bytes are written to the WASM heap and the table built in one call.
   */
  pushStringArray(L: LuaState, items: readonly string[], from: number, to: number): void {
    this.storeStrings(L, items, from, to, false);
  }
  /**
   * pushStringArray into a table kept in `slot` from one call to the next
   * (EVAL's KEYS and ARGV): the kept table is pushed and its 1..n
   * overwritten when it still has a fresh table's shape for n elements
   * (isFreshArray), else a new one is made and kept. A table allocation
   * and its collection are most of what building a short array costs.
   * Only for tables no Lua code can keep past a call (a script's KEYS
   * cannot be stored anywhere that outlives its run).
   */
  pushStringArrayInto(L: LuaState, slot: ReusedArray, items: readonly string[], from: number, to: number): void {
    const n = to - from;
    if (slot.ref !== 0 && slot.n === n && this.isFreshArray(slot.table, n)) {
      this.m._lua_rawgeti(L, LUA_REGISTRYINDEX, big(slot.ref));
      this.storeStrings(L, items, from, to, true);
      return;
    }
    if (this.g.tableLayoutChecked === undefined) this.checkTableLayout();
    this.storeStrings(L, items, from, to, false);
    if (this.g.tableLayoutChecked !== true) return;
    this.m._lua_pushvalue(L, -1);
    const ref = this.m._luaL_ref(L, LUA_REGISTRYINDEX);
    if (slot.ref !== 0) this.m._luaL_unref(L, LUA_REGISTRYINDEX, slot.ref);
    slot.ref = ref;
    slot.table = this.m._lua_topointer(L, -1);
    slot.n = n;
  }
  /**
   * EVAL's KEYS (items[from, mid)) and ARGV (items[mid, to)) refilled into
   * the tables kept for their lengths and stored in the table `backingRef`
   * holds, in one WASM call (wasm-fill.ts keysArgv). Returns false, having
   * done nothing, unless both kept tables are there and still fresh (then
   * pushStringArrayInto and setFieldAt do it step by step).
   */
  setKeysArgv(L: LuaState, backingRef: number, keys: ReusedArray, argv: ReusedArray, items: readonly string[], from: number, mid: number, to: number, keysName: Ptr, argvName: Ptr): boolean {
    const nk = mid - from;
    const na = to - mid;
    if (keys.ref === 0 || keys.n !== nk || argv.ref === 0 || argv.n !== na) return false;
    if (!this.isFreshArray(keys.table, nk) || !this.isFreshArray(argv.table, na)) return false;
    const g = this.g;
    if (g.arrayFill === null || fillBusy) return false;
    const n = to - from;
    let bytes = 0;
    for (let i = from; i < to; i++) bytes += items[i]!.length;
    // No keys and no arguments: nothing is read at the block's address.
    const block = n === 0 ? 0 : this.fillBlock(8 * n + bytes);
    if (block === 0 && n > 0) return false;
    if (n > 0) this.writeDescriptors(items, from, to, block);
    fillBusy = true;
    try {
      g.arrayFill!.keysArgv(L, nk, block, 0, 0, na, keys.ref, argv.ref, backingRef, keysName, argvName, LUA_REGISTRYINDEX);
    } finally {
      this.fillDone();
    }
    return true;
  }
  /**
   * Whether the Table at `t` is as lua_createtable(L, n, 0) made it, as far
   * as Lua code can tell: no metatable, no hash part, an array part of
   * exactly n (alimit is its real size). Then it holds no key but 1..n,
   * and overwriting those makes it a fresh table's equal. Lua 5.4's Table
   * on wasm32: tt at 4, flags at 6 (bit 7: alimit is not the real size),
   * lsizenode at 7, alimit at 8, lastfree at 20 (NULL: no hash part, the
   * dummy node), metatable at 24; checked once per module (tableLayout).
   */
  private isFreshArray(t: Ptr, n: number): boolean {
    const v = views(this.g);
    const h = v.heapBuf;
    const w = t >> 2;
    return h[t + 4] === LUA_VTABLE && (h[t + 6]! & 0x80) === 0 && h[t + 7] === 0 && v.u32[w + 2] === n && v.i32[w + 5] === 0 && v.i32[w + 6] === 0;
  }
  /**
   * Checks once that Tables read as isFreshArray assumes (this build's
   * layout); if not, pushStringArrayInto makes a new table every time.
   */
  private checkTableLayout(): void {
    const g = this.g;
    if (g.tableLayoutChecked !== undefined) return;
    g.tableLayoutChecked = false;
    const L = this.L;
    const top = this.m._lua_gettop(L);
    try {
      this.m._lua_createtable(L, 3, 0);
      const a = this.m._lua_topointer(L, -1);
      this.m._lua_createtable(L, 0, 1);
      const h1 = this.m._lua_topointer(L, -1);
      this.m._lua_createtable(L, 0, 4);
      const h4 = this.m._lua_topointer(L, -1);
      this.m._lua_createtable(L, 0, 0);
      const withMeta = this.m._lua_topointer(L, -1);
      this.m._lua_pushvalue(L, -4);
      this.m._lua_setmetatable(L, -2);
      const v = views(g);
      const ok =
        this.isFreshArray(a, 3) &&
        !this.isFreshArray(a, 2) &&
        this.isFreshArray(withMeta, 0) === false &&
        v.i32[(withMeta >> 2) + 6] === a &&
        v.heapBuf[h1 + 7] === 0 &&
        v.i32[(h1 >> 2) + 5] !== 0 &&
        v.heapBuf[h4 + 7] === 2 &&
        v.i32[(h4 >> 2) + 5] !== 0;
      g.tableLayoutChecked = ok;
    } finally {
      this.m._lua_settop(L, top);
    }
  }
  private storeStrings(L: LuaState, items: readonly string[], from: number, to: number, reuse: boolean): void {
    const n = to - from;
    let bytes = 0;
    for (let i = from; i < to; i++) bytes += items[i]!.length;
    const block = n >= FILL_MIN ? this.fillBlock(8 * n + bytes) : 0;
    if (block === 0) {
      if (!reuse) this.m._lua_createtable(L, n, 0);
      for (let i = from; i < to; i++) {
        this.pushString(L, items[i]!);
        this.m._lua_rawseti(L, -2, big(i - from + 1));
      }
      return;
    }
    this.writeDescriptors(items, from, to, block);
    this.runFill(L, n, block, reuse);
  }
  /** items[from, to) into a fill block: (address, length) pairs, then the bytes they point at. */
  private writeDescriptors(items: readonly string[], from: number, to: number, block: Ptr): void {
    const v = views(this.g);
    const i32 = v.i32;
    const h = v.heapBuf;
    let d = block >> 2;
    let p = block + 8 * (to - from);
    for (let i = from; i < to; i++) {
      const s = items[i]!;
      const len = s.length;
      i32[d] = p;
      i32[d + 1] = len;
      d += 2;
      if (len <= SHORT_STRING) for (let k = 0; k < len; k++) h[p + k] = s.charCodeAt(k);
      else h.latin1Write(s, p, len);
      p += len;
    }
  }
  /**
   * Pushes a new table of the items: strings, and false for each null (an
   * array reply of bulk strings, as redis.call converts RESP2's). The items
   * array must not change meanwhile (a new one per reply).
   */
  pushStringsOrFalse(L: LuaState, items: readonly (string | null)[]): void {
    const n = items.length;
    let bytes = 0;
    for (let i = 0; i < n; i++) {
      const s = items[i];
      if (s !== null) bytes += s!.length;
    }
    const block = n >= FILL_MIN ? this.fillBlock(8 * n + bytes) : 0;
    if (block === 0) {
      this.m._lua_createtable(L, n, 0);
      for (let i = 0; i < n; i++) {
        const s = items[i]!;
        if (s === null) this.m._lua_pushboolean(L, 0);
        else this.pushString(L, s);
        this.m._lua_rawseti(L, -2, big(i + 1));
      }
      return;
    }
    const v = views(this.g);
    const i32 = v.i32;
    const h = v.heapBuf;
    let d = block >> 2;
    let p = block + 8 * n;
    for (let i = 0; i < n; i++) {
      const s = items[i]!;
      i32[d] = p;
      d += 2;
      if (s === null) {
        i32[d - 1] = -1;
        continue;
      }
      const len = s.length;
      i32[d - 1] = len;
      if (len <= SHORT_STRING) for (let k = 0; k < len; k++) h[p + k] = s.charCodeAt(k);
      else h.latin1Write(s, p, len);
      p += len;
    }
    this.runFill(L, n, block);
  }
  /**
   * Pushes a new table of n byte strings of b: element i is
   * b[spans[2i] .. spans[2i] + spans[2i+1]), or false when its length is -1.
   */
  pushBytesArray(L: LuaState, b: Buffer, spans: readonly number[], n: number): void {
    let bytes = 0;
    for (let i = 0; i < n; i++) bytes += Math.max(0, spans[2 * i + 1]!);
    const block = n >= FILL_MIN ? this.fillBlock(8 * n + bytes) : 0;
    if (block === 0) {
      this.m._lua_createtable(L, n, 0);
      for (let i = 0; i < n; i++) {
        const start = spans[2 * i]!;
        const len = spans[2 * i + 1]!;
        if (len < 0) this.m._lua_pushboolean(L, 0);
        else this.pushBytes(L, b, start, start + len);
        this.m._lua_rawseti(L, -2, big(i + 1));
      }
      return;
    }
    const v = views(this.g);
    const i32 = v.i32;
    const h = v.heapBuf;
    let d = block >> 2;
    let p = block + 8 * n;
    for (let i = 0; i < n; i++) {
      const start = spans[2 * i]!;
      const len = spans[2 * i + 1]!;
      i32[d] = p;
      i32[d + 1] = len;
      d += 2;
      if (len <= 0) continue;
      if (len <= SHORT_STRING) for (let k = 0; k < len; k++) h[p + k] = b[start + k]!;
      else b.copy(h, p, start, start + len);
      p += len;
    }
    this.runFill(L, n, block);
  }
  /**
   * The block to write up to BUILD_MAX operations into for runBuild
   * (wasm-build.ts), or 0 when the builder is not usable now (then push
   * value by value). Write them through heapI32() / heapF64().
   */
  buildBlock(): Ptr {
    const g = this.g;
    if (g.valueBuild === null || buildBusy) return 0;
    if (g.buildOps === 0) g.buildOps = this.m._malloc(BUILD_MAX * OP_SIZE);
    return g.buildOps;
  }
  /** The WASM memory as int32s and float64s, current as of now. */
  heapI32(): Int32Array {
    return views(this.g).i32;
  }
  heapF64(): Float64Array {
    return views(this.g).f64;
  }
  /** Runs the n operations written at buildBlock(); the caller made the stack room they need. */
  runBuild(L: LuaState, n: number): void {
    buildBusy = true;
    try {
      this.g.valueBuild!(L, this.g.buildOps, n);
    } finally {
      // Also when a Lua error (a longjmp thrown through here) ends it.
      buildBusy = false;
    }
  }
  /** arrayFill's block with room for `size` bytes, or 0 when the filler is not usable now. */
  private fillBlock(size: number): Ptr {
    const g = this.g;
    if (g.arrayFill === null || fillBusy) return 0;
    if (size > g.fillCap) {
      if (g.fillBuf !== 0) this.m._free(g.fillBuf);
      const cap = Math.max(size, 2 * g.fillCap, 4096);
      g.fillBuf = this.m._malloc(cap);
      g.fillCap = g.fillBuf === 0 ? 0 : cap;
    }
    return g.fillBuf;
  }
  private runFill(L: LuaState, n: number, block: Ptr, reuse = false): void {
    const g = this.g;
    fillBusy = true;
    try {
      if (reuse) g.arrayFill!.refill(L, n, block);
      else g.arrayFill!.fill(L, n, block);
    } finally {
      this.fillDone();
    }
  }
  /** After an arrayFill call, also when a Lua error (a longjmp thrown through it) ended it: the block is free again, and given back if it grew big. */
  private fillDone(): void {
    const g = this.g;
    fillBusy = false;
    if (g.fillCap > FILL_KEEP) {
      this.m._free(g.fillBuf);
      g.fillBuf = 0;
      g.fillCap = 0;
    }
  }
  /**
   * The types of t[name] (raw) for each name, into types[], in one WASM
   * call; false when that reader is not available (read them one by one).
   * The stack is left as it was; t must be an absolute index.
   */
  probeFields(L: LuaState, t: number, names: readonly string[], types: number[]): boolean {
    const g = this.g;
    const reader = g.replyReader;
    if (reader === null || names.length > ARG_SCAN_MAX) return false;
    let list = g.nameLists.get(names);
    if (list === undefined) {
      list = this.m._malloc(4 * names.length);
      if (list === 0) return false;
      for (let k = 0; k < names.length; k++) views(g).i32[(list >> 2) + k] = cstr(g, names[k]!);
      g.nameLists.set(names, list);
    }
    reader.probe(L, t, list, names.length, g.argOut);
    const i32 = views(g).i32;
    const o = g.argOut >> 2;
    for (let k = 0; k < names.length; k++) types[k] = i32[o + k]!;
    return true;
  }
  /**
   * Reads t[1], t[2], ... (raw, t an absolute index) up to the first nil or
   * ARG_SCAN_MAX of them in one WASM call: returns how many, or -1 when
   * that reader is not available. scanType/scanString then tell each one's
   * type and, for strings, where their bytes are (valid until Lua next
   * allocates, or another scan).
   */
  scanArray(L: LuaState, t: number): number {
    const reader = this.g.replyReader;
    if (reader === null) return -1;
    return reader.scan(L, t, ARG_SCAN_MAX, this.g.argOut);
  }
  /**
   * The type t[1], ..., t[n] (raw, t an absolute index) all have, read in
   * one call (for table.sort: are they all numbers, or all strings?); -1
   * when they differ or one is nil, and when n is past ARRAY_TYPE_MAX or
   * the reader is not available (nothing read then).
   */
  arrayType(L: LuaState, t: number, n: number): number {
    const g = this.g;
    const reader = g.replyReader;
    if (reader === null || n < 1 || n > ARRAY_TYPE_MAX) return -1;
    if (g.typesOut === 0) g.typesOut = this.m._malloc(ARRAY_TYPE_MAX * 12);
    if (reader.scan(L, t, n, g.typesOut) < n) return -1;
    const i32 = views(g).i32;
    const o = g.typesOut >> 2;
    const type = i32[o]!;
    for (let k = 3; k < 3 * n; k += 3) if (i32[o + k] !== type) return -1;
    return type;
  }
  /** The type of element i (0-based) of the last scanArray. */
  scanType(i: number): number {
    return views(this.g).i32[(this.g.argOut >> 2) + 3 * i]!;
  }
  /** The address of string element i of the last scanArray (in heapBytes()); its length in spanLength. */
  scanString(i: number): Ptr {
    const g = views(this.g);
    const o = (g.argOut >> 2) + 3 * i;
    this.spanLength = g.u32[o + 2]!;
    return g.i32[o + 1]!;
  }
  /**
   * Pushes the n bytes at address p of the WASM heap as a string: part of
   * a string that stays on the stack meanwhile (scanString / stringSpan
   * gave its address), copied by Lua without a detour through JS.
   */
  pushHeapBytes(L: LuaState, p: Ptr, n: number): void {
    this.m._lua_pushlstring(L, p, n);
  }
  /** Pushes bytes start..end of a Buffer as a string. */
  pushBytes(L: LuaState, b: Buffer, start: number, end: number): void {
    const n = end - start;
    const p = this.scratchFor(n);
    const h = heap(this.g);
    if (n <= SHORT_STRING) {
      for (let i = 0; i < n; i++) h[p + i] = b[start + i]!;
    } else b.copy(h, p, start, end);
    this.m._lua_pushlstring(L, p, n);
    this.releaseScratch(p);
  }
  /** Pushes a byte string given as bytes. */
  pushBuffer(L: LuaState, b: Uint8Array): void {
    const n = b.length;
    const p = this.scratchFor(n);
    heap(this.g).set(b, p);
    this.m._lua_pushlstring(L, p, n);
    this.releaseScratch(p);
  }
  pushLightUserdata(L: LuaState, p: Ptr): void {
    this.m._lua_pushlightuserdata(L, p);
  }
  /**
   * Pushes a JS C function (a closure over the top `upvalues` values, popped).
   * Each distinct JS function takes one WASM table slot for the process's
   * life: register module-level functions, not fresh closures per call.
   */
  pushFunction(L: LuaState, fn: LuaCFunction, upvalues = 0): void {
    this.m._lua_pushcclosure(L, cFunctionPtr(this.g, fn), upvalues);
  }
  /** luaL_checktype: raises luaL_typeerror's "bad argument" error unless the value at arg has type t. */
  checkType(L: LuaState, arg: number, t: number): void {
    this.m._luaL_checktype(L, arg, t);
  }
  /** luaL_where: pushes "chunk:line: " of the function at level (empty for a C function). */
  pushWhere(L: LuaState, level: number): void {
    this.m._luaL_where(L, level);
  }
  concat(L: LuaState, n: number): void {
    this.m._lua_concat(L, n);
  }
  status(L: LuaState): number {
    return this.m._lua_status(L);
  }
  /**
   * From a C function: yields L with no values; when L is resumed, `k` is
   * called to go on, on the stack the function had. Return right after.
   */
  yieldTo(L: LuaState, k: LuaKFunction): number {
    return this.m._lua_yieldk(L, 0, 0, continuationPtr(this.g, k));
  }
  /** The thread at idx, or 0 if that value is not one. */
  toThread(L: LuaState, idx: number): LuaState {
    return this.m._lua_tothread(L, idx);
  }
  /** Pushes the running thread; true if it is the main thread. */
  pushThread(L: LuaState): boolean {
    return this.m._lua_pushthread(L) === 1;
  }

  // ---- tables ----------------------------------------------------------------

  newTable(L: LuaState, narr = 0, nrec = 0): void {
    this.m._lua_createtable(L, narr, nrec);
  }
  /** Pushes t[name] (metamethods apply); returns its type. */
  getField(L: LuaState, idx: number, name: string): number {
    return this.m._lua_getfield(L, idx, cstr(this.g, name));
  }
  /** t[name] = top, popping it (metamethods apply). */
  setField(L: LuaState, idx: number, name: string): void {
    this.m._lua_setfield(L, idx, cstr(this.g, name));
  }
  /**
   * A field name as setFieldAt takes it: its NUL-terminated bytes in the
   * module's memory, made once per process (valid for every state, after
   * SCRIPT FLUSH too). For names set on every script run (KEYS, ARGV).
   */
  fieldName(name: string): Ptr {
    return cstr(this.g, name);
  }
  /** setField with a name from fieldName(): no lookup of the name's bytes. */
  setFieldAt(L: LuaState, idx: number, name: Ptr): void {
    this.m._lua_setfield(L, idx, name);
  }
  /** Pushes t[key] without metamethods for a byte-string key; returns its type. */
  rawGetField(L: LuaState, idx: number, key: string): number {
    const t = this.m._lua_absindex(L, idx);
    this.pushString(L, key);
    return this.m._lua_rawget(L, t);
  }
  /** t[key] = top without metamethods, popping the value. */
  rawSetField(L: LuaState, idx: number, key: string): void {
    const t = this.m._lua_absindex(L, idx);
    this.pushString(L, key);
    this.m._lua_rotate(L, -2, 1);
    this.m._lua_rawset(L, t);
  }
  /**
   * rawGetField for a fixed name (no NUL, never data): the name is interned
   * as a C string, as getField's are, so no bytes are copied per call.
   */
  rawGetName(L: LuaState, idx: number, name: string): number {
    const t = this.m._lua_absindex(L, idx);
    this.m._lua_pushstring(L, cstr(this.g, name));
    return this.m._lua_rawget(L, t);
  }
  /** rawSetField for a fixed name, as rawGetName. */
  rawSetName(L: LuaState, idx: number, name: string): void {
    const t = this.m._lua_absindex(L, idx);
    this.m._lua_pushstring(L, cstr(this.g, name));
    this.m._lua_rotate(L, -2, 1);
    this.m._lua_rawset(L, t);
  }
  /** Pushes t[k] for the key below the top (pops the key); returns the type. */
  rawGet(L: LuaState, idx: number): number {
    return this.m._lua_rawget(L, idx);
  }
  /** t[k] = v with k, v on top (pops both), no metamethods. */
  rawSet(L: LuaState, idx: number): void {
    this.m._lua_rawset(L, idx);
  }
  /** t[k] = v with k, v on top (pops both), metamethods apply. */
  setTable(L: LuaState, idx: number): void {
    (this.m as unknown as { _lua_settable(L: Ptr, i: number): void })._lua_settable(L, idx);
  }
  /** Pushes t[k] for the key on top (pops it), metamethods apply; returns the type. */
  getTable(L: LuaState, idx: number): number {
    return this.m._lua_gettable(L, idx);
  }
  /** Pushes t[i] without metamethods; returns its type. */
  rawGetI(L: LuaState, idx: number, i: number): number {
    return this.m._lua_rawgeti(L, idx, big(i));
  }
  /** t[i] = top without metamethods, popping it. */
  rawSetI(L: LuaState, idx: number, i: number): void {
    this.m._lua_rawseti(L, idx, big(i));
  }
  /** The raw length (# without __len) of a table or string. */
  rawLen(L: LuaState, idx: number): number {
    // lua_rawlen returns a 64-bit lua_Unsigned, which the WASM_BIGINT glue hands over as a BigInt.
    return Number(this.m._lua_rawlen(L, idx));
  }
  /**
   * Table traversal step (lua_next): pops a key, pushes the next key and its
   * value and returns true, or returns false at the end. Start with pushNil.
   * Do not convert the key in place between steps (see coerceLatin1).
   */
  next(L: LuaState, idx: number): boolean {
    return this.m._lua_next(L, idx) !== 0;
  }
  /**
   * Calls fn for each key/value of the table at idx, with the key at -2 and
   * the value at -1; the stack is restored after each call.
   */
  forEach(L: LuaState, idx: number, fn: () => void): void {
    const t = this.m._lua_absindex(L, idx);
    this.m._lua_pushnil(L);
    while (this.m._lua_next(L, t) !== 0) {
      const top = this.m._lua_gettop(L);
      fn();
      this.m._lua_settop(L, top - 1);
    }
  }
  /** Pushes the metatable and returns true, or pushes nothing and returns false. */
  getMetatable(L: LuaState, idx: number): boolean {
    return this.m._lua_getmetatable(L, idx) !== 0;
  }
  /** Pops a table (or nil) and sets it as the metatable of the value at idx. */
  setMetatable(L: LuaState, idx: number): void {
    this.m._lua_setmetatable(L, idx);
  }

  // ---- globals, registry, functions ------------------------------------------

  getGlobal(L: LuaState, name: string): number {
    return this.m._lua_getglobal(L, cstr(this.g, name));
  }
  /** Pops the top into global `name` (metamethods on _G apply). */
  setGlobal(L: LuaState, name: string): void {
    this.m._lua_setglobal(L, cstr(this.g, name));
  }
  /** Sets each JS function as a field of the table at idx (luaL_setfuncs with no upvalues). */
  setFunctions(L: LuaState, idx: number, fns: Record<string, LuaCFunction>): void {
    const t = this.m._lua_absindex(L, idx);
    for (const [name, fn] of Object.entries(fns)) {
      this.pushFunction(L, fn);
      this.m._lua_setfield(L, t, cstr(this.g, name));
    }
  }
  /** Creates (or extends) global table `name` with the functions, as a C library's luaopen does. */
  registerLibrary(name: string, fns: Record<string, LuaCFunction>): void {
    const L = this.L;
    if (this.getGlobal(L, name) !== LuaType.TABLE) {
      this.pop(L);
      this.newTable(L, 0, Object.keys(fns).length);
    }
    this.setFunctions(L, -1, fns);
    this.setGlobal(L, name);
  }
  /** Pops the top into the registry; returns the reference. */
  ref(L: LuaState): number {
    return this.m._luaL_ref(L, LUA_REGISTRYINDEX);
  }
  pushRef(L: LuaState, ref: number): number {
    return this.m._lua_rawgeti(L, LUA_REGISTRYINDEX, big(ref));
  }
  unref(L: LuaState, ref: number): void {
    this.m._luaL_unref(L, LUA_REGISTRYINDEX, ref);
  }

  // ---- loading and calling -----------------------------------------------------

  /**
   * Compiles a text chunk (binary chunks are refused, as in Redis) and pushes
   * the function; returns null, or the error message with nothing pushed.
   */
  load(L: LuaState, code: string | Uint8Array, chunkName: string): string | null {
    // Its own copy, not the shared scratch: the parser allocates, so a GC
    // finalizer could run Lua code that pushes strings while it reads.
    const n = code.length;
    const p = this.m._malloc(Math.max(n, 1));
    if (p === 0) return 'not enough memory';
    if (typeof code === 'string') heap(this.g).latin1Write(code, p, n);
    else heap(this.g).set(code, p);
    const status = this.m._luaL_loadbufferx(L, p, n, cstr(this.g, chunkName), cstr(this.g, 't'));
    this.m._free(p);
    if (status === LuaStatus.OK) return null;
    const msg = this.toLatin1(L, -1) ?? 'unknown error';
    this.pop(L);
    return msg;
  }
  /** lua_pcall: returns a LuaStatus; on error the error value is on top. */
  pcall(L: LuaState, nargs: number, nresults: number, msgh = 0): number {
    return this.m._lua_pcallk(L, nargs, nresults, msgh, 0, 0);
  }
  /** lua_call: errors propagate (only inside a C function or a protected call). */
  call(L: LuaState, nargs: number, nresults: number): void {
    this.m._lua_callk(L, nargs, nresults, 0, 0);
  }
  /**
   * lua_callk from a C function: like call, but the called function may
   * yield (the run's count hook can then time-slice it). When it does, this
   * call never returns: once L is resumed and the callee has returned, `k`
   * is called in its place, on the function's stack with the results on
   * top, and what k returns is the C function's result count. So a C
   * function ends with `vm.callK(...); return k(vm, L, LuaStatus.OK)`.
   */
  callK(L: LuaState, nargs: number, nresults: number, k: LuaKFunction): void {
    this.m._lua_callk(L, nargs, nresults, 0, continuationPtr(this.g, k));
  }
  /** Replaces the value at idx with the top one, popping it (lua_replace). */
  replace(L: LuaState, idx: number): void {
    this.m._lua_copy(L, -1, idx);
    this.m._lua_settop(L, -2);
  }
  /**
   * Runs fn inside a protected call on L, so that Lua errors raised by the
   * API calls it makes (out of memory, __index errors) come back as a
   * message instead of a panic. fn runs as a C function: it sees the top
   * `nargs` values of L as its arguments 1..nargs (they are consumed), and
   * what it pushes is lost unless it returns a count (kept with nresults =
   * LUA_MULTRET or a fixed number). Returns null or the error message.
   */
  protect(L: LuaState, fn: (L: LuaState) => number | void, nargs = 0, nresults = 0): string | null {
    const prev = pendingProtected;
    pendingProtected = fn;
    this.pushFunction(L, runPendingProtected);
    if (nargs > 0) this.insert(L, -nargs - 1);
    const status = this.pcall(L, nargs, nresults);
    pendingProtected = prev;
    if (status === LuaStatus.OK) return null;
    const msg = this.coerceLatin1(L, -1) ?? (status === LuaStatus.ERRMEM ? 'not enough memory' : 'error object is not a string');
    this.pop(L);
    return msg;
  }

  // ---- errors ------------------------------------------------------------------

  /**
   * Raises a Lua error with a string message. With `position` (the default,
   * as luaL_error) the message is prefixed with the calling Lua code's
   * "chunk:line: ". Never returns.
   */
  raise(L: LuaState, message: string, position = true): never {
    if (position) {
      const w = this.where(L, 1);
      if (w && w.currentLine > 0) message = `${shortSource(w.source)}:${w.currentLine}: ${message}`;
    }
    this.pushString(L, message);
    this.m._lua_error(L);
    throw new Error('unreachable: lua_error returned');
  }
  /** Raises the value on top of the stack as the error object (e.g. a table). Never returns. */
  raiseValue(L: LuaState): never {
    this.m._lua_error(L);
    throw new Error('unreachable: lua_error returned');
  }
  /**
   * luaL_argerror: "bad argument #arg to 'fname' (extramsg)"; for a method
   * call (obj:f()) the self argument is not counted, and a bad self reads
   * "calling 'fname' on bad self (extramsg)", as in Lua. Never returns.
   */
  argError(L: LuaState, arg: number, extramsg: string): never {
    const fname = this.functionName(L, 0) ?? '?';
    if (this.functionNameWhat(L, 0) === 'method') {
      arg--;
      if (arg === 0) return this.raise(L, `calling '${fname}' on bad self (${extramsg})`);
    }
    return this.raise(L, `bad argument #${arg} to '${fname}' (${extramsg})`);
  }
  /** How the function at `level` was named by its caller: "global", "local", "method", "field", "upvalue" or "". */
  private functionNameWhat(L: LuaState, level: number): string {
    const m = this.m;
    const ar = this.g.ar;
    if (m._lua_getstack(L, level, ar) === 0) return '';
    m._lua_getinfo(L, cstr(this.g, 'n'), ar);
    const p = views(this.g).u32[(ar + 8) >> 2]!;
    if (p === 0) return '';
    const h = heap(this.g);
    return h.latin1Slice(p, h.indexOf(0, p));
  }
  /** Where stack level `level` of L is running (0 = the running function), or null past the top. */
  where(L: LuaState, level: number): LuaWhere | null {
    const m = this.m;
    const ar = this.g.ar;
    if (m._lua_getstack(L, level, ar) === 0) return null;
    m._lua_getinfo(L, cstr(this.g, 'Sl'), ar);
    const h = heap(this.g);
    const whatP = views(this.g).u32[(ar + AR_WHAT) >> 2]!;
    const srcP = views(this.g).u32[(ar + AR_SOURCE) >> 2]!;
    const srcLen = views(this.g).u32[(ar + AR_SRCLEN) >> 2]!;
    return {
      what: h.latin1Slice(whatP, h.indexOf(0, whatP)),
      source: h.latin1Slice(srcP, srcP + srcLen),
      currentLine: views(this.g).i32[(ar + AR_CURRENTLINE) >> 2]!,
    };
  }
  /** The name a function at `level` was called by, if Lua knows it. */
  functionName(L: LuaState, level: number): string | null {
    const m = this.m;
    const ar = this.g.ar;
    if (m._lua_getstack(L, level, ar) === 0) return null;
    m._lua_getinfo(L, cstr(this.g, 'n'), ar);
    const p = views(this.g).u32[(ar + 4) >> 2]!;
    if (p === 0) return null;
    const h = heap(this.g);
    return h.latin1Slice(p, h.indexOf(0, p));
  }

  // ---- threads, hooks and time slicing -------------------------------------------

  /** Creates a thread, pushes it on L and returns it; keep it referenced (ref) while it is in use. */
  newThread(L: LuaState): LuaState {
    return this.m._lua_newthread(L);
  }
  /**
   * Starts or continues a thread with nargs arguments on its stack. Returns
   * the status (OK: finished, YIELD: suspended, else an error with the error
   * value on top of co) and how many results it left on co's stack.
   */
  resume(co: LuaState, from: LuaState, nargs: number): { status: number; nresults: number } {
    const status = this.m._lua_resume(co, from, nargs, this.g.intp);
    return { status, nresults: views(this.g).i32[this.g.intp >> 2]! };
  }
  /** Closes a thread's pending to-be-closed variables and resets it to be reusable (lua_resetthread). */
  resetThread(co: LuaState): number {
    return this.m._lua_resetthread(co);
  }
  /** lua_sethook: mask from LuaHookMask; a null hook removes it. */
  setHook(L: LuaState, hook: LuaHook | null, mask: number, count = 0): void {
    this.m._lua_sethook(L, hook ? hookPtr(this.g, hook) : 0, hook ? mask : 0, count);
  }
  /** True if L may yield now (not inside a C call boundary such as table.sort's comparator). */
  isYieldable(L: LuaState): boolean {
    return this.m._lua_isyieldable(L) !== 0;
  }
  /**
   * From inside a hook: asks Lua to suspend the thread once the hook returns
   * (lua_resume then returns YIELD; a later resume continues where it
   * stopped). Check isYieldable first, and return from the hook right after.
   */
  yieldFromHook(L: LuaState): void {
    this.m._lua_yieldk(L, 0, 0, 0);
  }

  // ---- memory ----------------------------------------------------------------------

  /** One incremental GC step of about `kb` KiB of work (collectgarbage("step", kb)). */
  gcStep(kb: number): void {
    const L = this.L;
    this.pushRef(L, this.collectRef);
    this.pushString(L, 'step');
    this.pushInteger(L, kb);
    if (this.pcall(L, 2, 0) !== LuaStatus.OK) this.pop(L);
  }
  /**
   * Switches the collector to Lua 5.4's generational mode
   * (collectgarbage("generational")): young collections look at what was
   * made since the last one (and old objects written to since), not the
   * whole heap.
   */
  useGenerationalGc(): void {
    const L = this.L;
    this.pushRef(L, this.collectRef);
    this.pushString(L, 'generational');
    if (this.pcall(L, 1, 0) !== LuaStatus.OK) this.pop(L);
  }
  /** A full collection (collectgarbage("collect")). */
  gcCollect(): void {
    const L = this.L;
    this.pushRef(L, this.collectRef);
    this.pushString(L, 'collect');
    if (this.pcall(L, 1, 0) !== LuaStatus.OK) this.pop(L);
  }

  // ---- internals ---------------------------------------------------------------------

  private scratchFor(n: number): Ptr {
    const g = this.g;
    if (n <= g.scratchCap) return g.scratch;
    const p = this.m._malloc(n);
    if (p === 0) throw new Error(`cannot allocate ${n} bytes in the Lua module's memory`);
    return p;
  }
  private releaseScratch(p: Ptr): void {
    if (p !== this.g.scratch) this.m._free(p);
  }
}

/** lua_Integer arguments cross as BigInt: the small ones (array indexes, registry refs, counters) are made once. */
const SMALL_BIGINTS = Array.from({ length: 1024 }, (_, i) => BigInt(i));
function big(n: number): bigint {
  return n >= 0 && n < 1024 && Number.isInteger(n) ? SMALL_BIGINTS[n]! : BigInt(n);
}

let pendingProtected: ((L: LuaState) => number | void) | undefined;
function runPendingProtected(_vm: LuaVm, L: LuaState): number {
  const fn = pendingProtected!;
  pendingProtected = undefined;
  return fn(L) ?? 0;
}

/** luaO_chunkid's short form for "@name" and "=name" sources, as error prefixes show them. */
export function shortSource(source: string): string {
  if (source.startsWith('@') || source.startsWith('=')) return source.slice(1);
  return `[string "${source.split('\n')[0]}"]`;
}
