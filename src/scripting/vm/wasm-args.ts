/**
 * Reading a C function's arguments in one boundary crossing: a tiny WASM
 * module, hand-assembled below like the allocator (wasm-alloc.ts), that
 * imports the Lua module's lua_type, lua_tolstring and memory and, for
 * stack slots 1..n, writes each value's type and, for strings, their
 * address and length to an out block in the Lua module's memory.
 *
 * redis.call reads every argument this way: per argument, the JS side made
 * two JS -> WASM calls (lua_type, lua_tolstring); BullMQ's scripts make
 * ~40 redis.calls of 2-12 arguments per job.
 *
 * Out block layout, 12 bytes per argument i (1-based) at out + 12*(i-1):
 * type (i32), then for strings the address (i32) and length (u32, written
 * by lua_tolstring through its len pointer). lua_tolstring never converts
 * or allocates for a value that already is a string.
 */
import type { Ptr, RawLua } from './wasm-module.js';
import { BLOCK, LOOP, IF, END, BR, BR_IF, CALL, LOCAL_GET, LOCAL_SET, LOCAL_TEE, I32_STORE, I32_CONST, I32_EQ, I32_GT_S, I32_ADD, VOID, I32, FUNC, moduleBytes, isWasmFunction, name, body } from './wasm-asm.js';

export type ArgScan = (L: Ptr, n: number, out: Ptr) => void;

const LUA_TSTRING = 4;

// Imports: function 0 lua_type(L, idx), function 1 lua_tolstring(L, idx, len*).
// Locals: 0 L, 1 n, 2 out (advanced by 12 per argument), 3 i, 4 type.
const BODY = [
  I32_CONST, 1, LOCAL_SET, 3,
  BLOCK, VOID,
    LOOP, VOID,
      LOCAL_GET, 3, LOCAL_GET, 1, I32_GT_S, BR_IF, 1,
      LOCAL_GET, 2,
      LOCAL_GET, 0, LOCAL_GET, 3, CALL, 0, LOCAL_TEE, 4,
      I32_STORE, 2, 0,
      LOCAL_GET, 4, I32_CONST, LUA_TSTRING, I32_EQ, IF, VOID,
        LOCAL_GET, 2,
        LOCAL_GET, 0, LOCAL_GET, 3, LOCAL_GET, 2, I32_CONST, 8, I32_ADD, CALL, 1,
        I32_STORE, 2, 4,
      END,
      LOCAL_GET, 2, I32_CONST, 12, I32_ADD, LOCAL_SET, 2,
      LOCAL_GET, 3, I32_CONST, 1, I32_ADD, LOCAL_SET, 3,
      BR, 0,
    END,
  END,
  END,
];


function helperModule(): ArrayBuffer {
  const types = [3, FUNC, 2, I32, I32, 1, I32, FUNC, 3, I32, I32, I32, 1, I32, FUNC, 3, I32, I32, I32, 0];
  const imports = [
    3,
    ...name('m'), ...name('type'), 0x00, 0,
    ...name('m'), ...name('tolstring'), 0x00, 1,
    ...name('m'), ...name('mem'), 0x02, 0x00, 0,
  ];
  const functions = [1, 2];
  const exports = [1, ...name('scan'), 0x00, 2];
  const code = [1, ...body(2, BODY)];
  return moduleBytes({ types, imports, functions, exports, code });
}

/** The scanner over the module's own functions and memory; null when they are not at hand (the caller reads argument by argument). */
export function createArgScan(m: RawLua): ArgScan | null {
  const mem = m.__memory;
  if (mem === undefined || !isWasmFunction(m._lua_type) || !isWasmFunction(m._lua_tolstring)) return null;
  try {
    const inst = new WebAssembly.Instance(new WebAssembly.Module(helperModule()), { m: { type: m._lua_type, tolstring: m._lua_tolstring, mem } });
    return inst.exports.scan as ArgScan;
  } catch {
    return null;
  }
}

