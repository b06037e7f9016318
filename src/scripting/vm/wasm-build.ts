/**
 * Building nested Lua values in one boundary crossing: a tiny WASM module,
 * hand-assembled like wasm-fill.ts, that runs a list of push and set
 * operations the JS side wrote into the Lua module's memory:
 *
 *   STR   lua_pushlstring(L, ptr, len)     (the bytes already in the heap)
 *   INT   lua_pushinteger(L, (i64)d)
 *   NUM   lua_pushnumber(L, d)
 *   BOOL  lua_pushboolean(L, b)
 *   NIL   lua_pushnil(L)
 *   TABLE lua_createtable(L, 0, 0)
 *   SET   lua_rawset(L, idx)               (key and value on top)
 *
 * Each operation is 16 bytes: i32 kind, i32 operand (b or idx), then an f64
 * (d) or two i32s (ptr, len). cmsgpack.unpack decodes a message this way:
 * per value it made three or four JS -> WASM calls (an 11-field map of
 * BullMQ's options took about 40).
 */
import type { Ptr, RawLua } from './wasm-module.js';
import { BLOCK, LOOP, IF, ELSE, END, BR, BR_IF, CALL, DROP, LOCAL_GET, LOCAL_SET, I32_LOAD, F64_LOAD, I32_CONST, I32_EQ, I32_EQZ, I32_ADD, I32_SUB, I64_TRUNC_F64_S, VOID, I32, I64, F64, FUNC, moduleBytes, instantiateHelper, name, body } from './wasm-asm.js';

export const OP_STR = 0;
export const OP_INT = 1;
export const OP_NUM = 2;
export const OP_BOOL = 3;
export const OP_NIL = 4;
export const OP_TABLE = 5;
export const OP_SET = 6;
/** Bytes per operation. */
export const OP_SIZE = 16;

/** build(L, ops, n): runs the n operations at ops. */
export type ValueBuild = (L: Ptr, ops: Ptr, n: number) => void;

// Imports: 0 lua_pushlstring, 1 lua_pushinteger, 2 lua_pushnumber, 3 lua_pushboolean,
// 4 lua_pushnil, 5 lua_createtable, 6 lua_rawset. Locals: 0 L, 1 ops (advanced by 16), 2 n (counted down), 3 kind.
const is = (kind: number): number[] => [LOCAL_GET, 3, I32_CONST, kind, I32_EQ, IF, VOID];
const BUILD = [
  BLOCK, VOID,
    LOOP, VOID,
      LOCAL_GET, 2, I32_EQZ, BR_IF, 1,
      LOCAL_GET, 1, I32_LOAD, 2, 0, LOCAL_SET, 3,
      ...is(OP_STR),
        LOCAL_GET, 0, LOCAL_GET, 1, I32_LOAD, 2, 8, LOCAL_GET, 1, I32_LOAD, 2, 12, CALL, 0, DROP,
      ELSE, ...is(OP_INT),
        LOCAL_GET, 0, LOCAL_GET, 1, F64_LOAD, 3, 8, I64_TRUNC_F64_S, CALL, 1,
      ELSE, ...is(OP_NUM),
        LOCAL_GET, 0, LOCAL_GET, 1, F64_LOAD, 3, 8, CALL, 2,
      ELSE, ...is(OP_BOOL),
        LOCAL_GET, 0, LOCAL_GET, 1, I32_LOAD, 2, 4, CALL, 3,
      ELSE, ...is(OP_NIL),
        LOCAL_GET, 0, CALL, 4,
      ELSE, ...is(OP_TABLE),
        LOCAL_GET, 0, I32_CONST, 0, I32_CONST, 0, CALL, 5,
      ELSE,
        LOCAL_GET, 0, LOCAL_GET, 1, I32_LOAD, 2, 4, CALL, 6,
      END, END, END, END, END, END,
      LOCAL_GET, 1, I32_CONST, OP_SIZE, I32_ADD, LOCAL_SET, 1,
      LOCAL_GET, 2, I32_CONST, 1, I32_SUB, LOCAL_SET, 2,
      BR, 0,
    END,
  END,
  END,
];

function helperModule(): ArrayBuffer {
  const types = [
    6,
    FUNC, 3, I32, I32, I32, 1, I32, // 0: (i32 i32 i32) -> i32   pushlstring
    FUNC, 2, I32, I64, 0, // 1: (i32 i64) -> ()                   pushinteger
    FUNC, 2, I32, F64, 0, // 2: (i32 f64) -> ()                   pushnumber
    FUNC, 2, I32, I32, 0, // 3: (i32 i32) -> ()                   pushboolean, rawset
    FUNC, 1, I32, 0, // 4: (i32) -> ()                            pushnil
    FUNC, 3, I32, I32, I32, 0, // 5: (i32 i32 i32) -> ()          createtable, build
  ];
  const imports = [
    8,
    ...name('m'), ...name('pushlstring'), 0x00, 0,
    ...name('m'), ...name('pushinteger'), 0x00, 1,
    ...name('m'), ...name('pushnumber'), 0x00, 2,
    ...name('m'), ...name('pushboolean'), 0x00, 3,
    ...name('m'), ...name('pushnil'), 0x00, 4,
    ...name('m'), ...name('createtable'), 0x00, 5,
    ...name('m'), ...name('rawset'), 0x00, 3,
    ...name('m'), ...name('mem'), 0x02, 0x00, 0,
  ];
  const functions = [1, 5];
  const exports = [1, ...name('build'), 0x00, 7];
  const code = [1, ...body(1, BUILD)];
  return moduleBytes({ types, imports, functions, exports, code });
}

/** The builder over the module's own functions and memory; null when they are not at hand (the caller pushes value by value). */
export function createValueBuild(m: RawLua): ValueBuild | null {
  const ex = instantiateHelper(helperModule(), m.__memory, {
    pushlstring: m._lua_pushlstring,
    pushinteger: m._lua_pushinteger,
    pushnumber: m._lua_pushnumber,
    pushboolean: m._lua_pushboolean,
    pushnil: m._lua_pushnil,
    createtable: m._lua_createtable,
    rawset: m._lua_rawset,
  });
  return ex === null ? null : (ex.build as ValueBuild);
}
