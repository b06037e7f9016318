/**
 * The Lua states' allocator (lua_Alloc) as a tiny WASM module of its own,
 * hand-assembled below, instead of a JS function.
 *
 * Every allocation Lua makes (a table, a string, each closure and upvalue
 * a script's `local function` creates on every run) calls the allocator.
 * A JS allocator costs two boundary crossings per call (WASM -> JS for the
 * callback, JS -> WASM for realloc/free): a third of a BullMQ-sized
 * script's run went there. This one imports the Lua module's own realloc
 * and free (WASM to WASM calls) and sits in the Lua module's function
 * table, so Lua calls it like any C function.
 *
 * It does what the JS allocator did, with the same arithmetic (doubles):
 * per state slot `ud`, bytes in use and the limit live at ud*16 and
 * ud*16+8 of its own memory (one page: SLOTS slots); an allocation that
 * would pass the limit returns NULL, which Lua turns into "not enough
 * memory". The host reads and writes both through `stats`.
 */
import type { Ptr, RawLua } from './wasm-module.js';
import { IF, ELSE, END, RETURN, CALL, LOCAL_GET, LOCAL_SET, LOCAL_TEE, I32_LOAD, I32_STORE, F64_LOAD, F64_STORE, I32_CONST, I32_EQZ, I32_EQ, I32_LT_U, I32_LE_U, I32_GT_U, F64_GT, I32_ADD, I32_SUB, I32_SHL, I32_SHR_U, F64_ADD, F64_SUB, F64_CONVERT_I32_U, VOID, I32, FUNC, moduleBytes, isWasmFunction, name, body, i32Const } from './wasm-asm.js';

/** State slots the allocator's page holds (16 bytes each); a state past them uses the JS allocator. */
export const SLOTS = 4096;

export interface WasmAllocator {
  /** The allocator's index in the Lua module's function table (a lua_Alloc pointer). */
  fn: Ptr;
  /** [2*slot]: bytes in use, [2*slot+1]: the limit. */
  stats: Float64Array;
}

// Small blocks. A freed block of up to MAX_SMALL bytes goes onto a stack
// of its size class (8 bytes wide) instead of back to malloc, and a new one
// of that class is taken from there first: a script run makes and drops
// dozens of small objects (closures, upvalues, tables, strings), and
// malloc/free were a fifth of a BullMQ-sized script's run. The stacks hold
// pointers only (in this module's memory), PER_CLASS of them per class; a
// block past that is freed. Lua passes a block's size when it frees or
// resizes it, so no header is needed: every block handed out for a size of
// class c has room for the class's largest size, CLASS_BYTES(c) = 8c + 4
// (malloc is asked for that much; lua-vm.ts's JS allocator asks the same),
// so any block of a class serves any size of it.
export const MAX_SMALL = 252;
const CLASSES = 32;
const PER_CLASS = 512;
/** Where the stacks' depths (i32 per class) and the stacks themselves lie, after the stats page. */
const COUNTS = SLOTS * 16;
const STACKS = COUNTS + CLASSES * 4;
const PAGES = Math.ceil((STACKS + CLASSES * PER_CLASS * 4) / 65536);

/** The size malloc is asked for a block of n bytes (lua-vm.ts's JS allocator uses it too). */
export function blockRequest(n: number): number {
  return n <= MAX_SMALL ? (((n + 3) >>> 3) << 3) + 4 : n;
}

// Imports are functions 0 (realloc) and 1 (free); locals: 0 ud, 1 ptr, 2 osize, 3 nsize,
// 4 slot address, 5 new pointer, 6 class, 7 address of the class's depth, 8 depth, 9 bytes asked of realloc.
const used = [LOCAL_GET, 4, F64_LOAD, 3, 0];
const limit = [LOCAL_GET, 4, F64_LOAD, 3, 8];
const storeUsed = [F64_STORE, 3, 0];
/** used + nsize - osize, evaluated as the JS allocator did. */
const usedAfter = [...used, LOCAL_GET, 3, F64_CONVERT_I32_U, F64_ADD, LOCAL_GET, 2, F64_CONVERT_I32_U, F64_SUB];
/** The size class of local x: (x + 3) >> 3. */
const classOf = (x: number) => [LOCAL_GET, x, I32_CONST, 3, I32_ADD, I32_CONST, 3, I32_SHR_U];
/** Sets local 7 to the address of class (local 6)'s depth and leaves the depth on the stack. */
const depth = [...i32Const(COUNTS), LOCAL_GET, 6, I32_CONST, 2, I32_SHL, I32_ADD, LOCAL_TEE, 7, I32_LOAD, 2, 0];
/** The address of entry (local 8) of class (local 6)'s stack. */
const entry = [...i32Const(STACKS), LOCAL_GET, 6, I32_CONST, 11, I32_SHL, I32_ADD, LOCAL_GET, 8, I32_CONST, 2, I32_SHL, I32_ADD];

const BODY = [
  // addr = ud << 4
  LOCAL_GET, 0, I32_CONST, 4, I32_SHL, LOCAL_SET, 4,
  // a NULL ptr: osize encodes the new object's type, not a size
  LOCAL_GET, 1, I32_EQZ, IF, VOID, I32_CONST, 0, LOCAL_SET, 2, END,
  // free
  LOCAL_GET, 3, I32_EQZ, IF, VOID,
    LOCAL_GET, 1, IF, VOID,
      LOCAL_GET, 4, ...used, LOCAL_GET, 2, F64_CONVERT_I32_U, F64_SUB, ...storeUsed,
      // a small block onto its class's stack while there is room
      LOCAL_GET, 2, ...i32Const(MAX_SMALL), I32_LE_U, IF, VOID,
        ...classOf(2), LOCAL_SET, 6,
        ...depth, LOCAL_TEE, 8, ...i32Const(PER_CLASS), I32_LT_U, IF, VOID,
          ...entry, LOCAL_GET, 1, I32_STORE, 2, 0,
          LOCAL_GET, 7, LOCAL_GET, 8, I32_CONST, 1, I32_ADD, I32_STORE, 2, 0,
          I32_CONST, 0, RETURN,
        END,
      END,
      LOCAL_GET, 1, CALL, 1,
    END,
    I32_CONST, 0, RETURN,
  END,
  // growing past the limit fails
  LOCAL_GET, 3, LOCAL_GET, 2, I32_GT_U, IF, VOID,
    ...usedAfter, ...limit, F64_GT, IF, VOID, I32_CONST, 0, RETURN, END,
  END,
  LOCAL_GET, 3, ...i32Const(MAX_SMALL), I32_LE_U, IF, VOID,
    ...classOf(3), LOCAL_SET, 6,
    LOCAL_GET, 1, I32_EQZ, IF, VOID,
      // a new small block: the last one freed of its class, if any
      ...depth, LOCAL_TEE, 8, IF, VOID,
        LOCAL_GET, 7, LOCAL_GET, 8, I32_CONST, 1, I32_SUB, LOCAL_TEE, 8, I32_STORE, 2, 0,
        LOCAL_GET, 4, ...usedAfter, ...storeUsed,
        ...entry, I32_LOAD, 2, 0, RETURN,
      END,
    ELSE,
      // resized within its class: the block already has room
      LOCAL_GET, 2, ...i32Const(MAX_SMALL), I32_LE_U, IF, VOID,
        ...classOf(2), LOCAL_GET, 6, I32_EQ, IF, VOID,
          LOCAL_GET, 4, ...usedAfter, ...storeUsed,
          LOCAL_GET, 1, RETURN,
        END,
      END,
    END,
    // the class's largest size, so the block serves any size of its class
    LOCAL_GET, 6, I32_CONST, 3, I32_SHL, I32_CONST, 4, I32_ADD, LOCAL_SET, 9,
  ELSE,
    LOCAL_GET, 3, LOCAL_SET, 9,
  END,
  // np = realloc(ptr, bytes); counted if it succeeded
  LOCAL_GET, 1, LOCAL_GET, 9, CALL, 0, LOCAL_TEE, 5, IF, VOID,
    LOCAL_GET, 4, ...usedAfter, ...storeUsed,
  END,
  LOCAL_GET, 5,
  END,
];


function helperModule(): ArrayBuffer {
  const types = [3, FUNC, 4, I32, I32, I32, I32, 1, I32, FUNC, 2, I32, I32, 1, I32, FUNC, 1, I32, 0];
  const imports = [2, ...name('m'), ...name('realloc'), 0x00, 1, ...name('m'), ...name('free'), 0x00, 2];
  const functions = [1, 0];
  const memory = [1, 0x00, PAGES];
  const exports = [2, ...name('alloc'), 0x00, 2, ...name('mem'), 0x02, 0];
  const code = [1, ...body(6, BODY)];
  return moduleBytes({ types, imports, functions, memory, exports, code });
}

/**
 * Builds the allocator over the module's realloc and free and puts it in
 * its function table; null when the module's raw exports or table are not
 * at hand (the caller keeps its JS allocator then).
 */
export function createWasmAllocator(m: RawLua): WasmAllocator | null {
  const table = m.__table;
  if (table === undefined || !isWasmFunction(m._realloc) || !isWasmFunction(m._free)) return null;
  const inst = new WebAssembly.Instance(new WebAssembly.Module(helperModule()), { m: { realloc: m._realloc, free: m._free } });
  const alloc = inst.exports.alloc as (...a: number[]) => number;
  const mem = inst.exports.mem as WebAssembly.Memory;
  const fn = table.grow(1);
  table.set(fn, alloc);
  return { fn, stats: new Float64Array(mem.buffer, 0, SLOTS * 2) };
}

