/**
 * Reading a C function's arguments in one boundary crossing: a tiny WASM
 * module, hand-assembled below like the allocator (wasm-alloc.ts), that
 * imports the Lua module's lua_gettop, lua_type, lua_tolstring and memory
 * and, for stack slots 1..n (n the argument count, at most a maximum),
 * writes each value's type and, for strings, their address and length to
 * an out block in the Lua module's memory; it returns the count.
 *
 * redis.call reads every argument this way: per argument, the JS side made
 * two JS -> WASM calls (lua_type, lua_tolstring); BullMQ's scripts make
 * ~40 redis.calls of 2-12 arguments per job.
 *
 * Out block layout, 12 bytes per argument i (1-based) at out + 12*(i-1):
 * type (i32), then for strings the address (i32) and length (u32, written
 * by lua_tolstring through its len pointer). lua_tolstring never converts
 * or allocates for a value that already is a string. After the `max`
 * entries, 8 bytes per argument: a number's value as a double (lua_tonumberx),
 * so redis.call's numeric arguments (BullMQ's timestamps) cost no call more.
 */
import type { Ptr, RawLua } from './wasm-module.js';
import { BLOCK, LOOP, IF, END, BR, BR_IF, CALL, LOCAL_GET, LOCAL_SET, LOCAL_TEE, I32_STORE, F64_STORE, I32_CONST, I32_EQ, I32_GT_S, I32_LT_S, I32_ADD, I32_MUL, VOID, I32, F64, FUNC, moduleBytes, instantiateHelper, name, body } from './wasm-asm.js';

/** Scans slots 1..min(lua_gettop(L), max) into out; returns lua_gettop(L) (the argument count). `out` holds 20 * max bytes. */
export type ArgScan = (L: Ptr, max: number, out: Ptr) => number;

const LUA_TNUMBER = 3;
const LUA_TSTRING = 4;

// Imports: function 0 lua_type(L, idx), function 1 lua_tolstring(L, idx, len*), function 2 lua_gettop(L),
// function 3 lua_tonumberx(L, idx, isnum*).
// Locals: 0 L, 1 max (then how many to scan), 2 out (advanced by 12 per argument), 3 i, 4 type, 5 top,
// 6 where argument i's number goes (out + 12 * max, advanced by 8).
const BODY = [
  LOCAL_GET, 2, LOCAL_GET, 1, I32_CONST, 12, I32_MUL, I32_ADD, LOCAL_SET, 6,
  // top = lua_gettop(L); scan min(top, max)
  LOCAL_GET, 0, CALL, 2, LOCAL_TEE, 5, LOCAL_GET, 1, I32_LT_S, IF, VOID, LOCAL_GET, 5, LOCAL_SET, 1, END,
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
      LOCAL_GET, 4, I32_CONST, LUA_TNUMBER, I32_EQ, IF, VOID,
        LOCAL_GET, 6,
        LOCAL_GET, 0, LOCAL_GET, 3, I32_CONST, 0, CALL, 3,
        F64_STORE, 3, 0,
      END,
      LOCAL_GET, 6, I32_CONST, 8, I32_ADD, LOCAL_SET, 6,
      LOCAL_GET, 2, I32_CONST, 12, I32_ADD, LOCAL_SET, 2,
      LOCAL_GET, 3, I32_CONST, 1, I32_ADD, LOCAL_SET, 3,
      BR, 0,
    END,
  END,
  LOCAL_GET, 5,
  END,
];


function helperModule(): ArrayBuffer {
  // Types: 0 (i32 i32) -> i32, 1 (i32 i32 i32) -> i32, 2 (i32) -> i32, 3 (i32 i32 i32) -> f64.
  const types = [4, FUNC, 2, I32, I32, 1, I32, FUNC, 3, I32, I32, I32, 1, I32, FUNC, 1, I32, 1, I32, FUNC, 3, I32, I32, I32, 1, F64];
  const imports = [
    5,
    ...name('m'), ...name('type'), 0x00, 0,
    ...name('m'), ...name('tolstring'), 0x00, 1,
    ...name('m'), ...name('gettop'), 0x00, 2,
    ...name('m'), ...name('tonumberx'), 0x00, 3,
    ...name('m'), ...name('mem'), 0x02, 0x00, 0,
  ];
  const functions = [1, 1];
  const exports = [1, ...name('scan'), 0x00, 4];
  const code = [1, ...body(4, BODY)];
  return moduleBytes({ types, imports, functions, exports, code });
}

/** The scanner over the module's own functions and memory; null when they are not at hand (the caller reads argument by argument). */
export function createArgScan(m: RawLua): ArgScan | null {
  const ex = instantiateHelper(helperModule(), m.__memory, { type: m._lua_type, tolstring: m._lua_tolstring, gettop: m._lua_gettop, tonumberx: m._lua_tonumberx });
  return ex === null ? null : (ex.scan as ArgScan);
}

