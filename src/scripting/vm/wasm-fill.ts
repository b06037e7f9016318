/**
 * Building an array of strings in one boundary crossing: a tiny WASM
 * module, hand-assembled like wasm-args.ts, that imports the Lua module's
 * lua_createtable, lua_pushlstring, lua_pushboolean, lua_rawseti and
 * memory, and does what the JS side did per element:
 *
 *   lua_createtable(L, n, 0);
 *   for i = 1..n: push the string at (ptr_i, len_i), or false when len_i < 0;
 *                 lua_rawseti(L, -2, i);
 *
 * (ptr_i, len_i) are i32 pairs at desc + 8*(i-1) in the Lua module's memory.
 * EVAL's KEYS and ARGV and redis.call's array replies are built this way:
 * per element, the JS side made two JS -> WASM calls (push, rawseti).
 * `refill` is the loop alone, storing into the table already on top (EVAL
 * reuses its KEYS and ARGV tables: lua-vm.ts pushStringArrayInto).
 * `keysArgv` refills both of EVAL's kept tables and stores them as KEYS and
 * ARGV in the globals' backing table, where the JS side made eleven calls
 * for a script with one key and one argument (lua-vm.ts setKeysArgv):
 *
 *   lua_rawgeti(L, REG, backing);
 *   lua_rawgeti(L, REG, keys);  refill nk;  lua_setfield(L, -2, "KEYS");
 *   lua_rawgeti(L, REG, argv);  refill na;  lua_setfield(L, -2, "ARGV");
 *   lua_settop(L, -2);
 */
import type { Ptr, RawLua } from './wasm-module.js';
import { BLOCK, LOOP, IF, ELSE, END, BR, BR_IF, CALL, DROP, LOCAL_GET, LOCAL_SET, LOCAL_TEE, I32_LOAD, I32_CONST, I32_LT_S, I32_GT_S, I32_ADD, I64_EXTEND_I32_U, I64_TRUNC_F64_S, VOID, I32, I64, F64, FUNC, MINUS_TWO, moduleBytes, instantiateHelper, name, body } from './wasm-asm.js';

export interface ArrayFill {
  /** A new table of the n strings (or false) described at desc, pushed on L. */
  fill: (L: Ptr, n: number, desc: Ptr) => void;
  /** The same n values stored at 1..n of the table on top of L (a reused one). */
  refill: (L: Ptr, n: number, desc: Ptr) => void;
  /** lua_pushinteger of a safe integer given as a double: no BigInt made for the i64 on the JS side. */
  pushint: (L: Ptr, n: number) => void;
  /**
   * keysArgv(L, nk, desc, 0, 0, na, keysRef, argvRef, backingRef, keysName,
   * argvName, registryIndex): nk + na descriptors at desc, keys first.
   */
  keysArgv: (L: Ptr, nk: number, desc: Ptr, i: 0, len: 0, na: number, keysRef: number, argvRef: number, backingRef: number, keysName: Ptr, argvName: Ptr, registry: number) => void;
}


// Imports: 0 lua_createtable(L, narr, nrec), 1 lua_pushlstring(L, s, len), 2 lua_pushboolean(L, b), 3 lua_rawseti(L, idx, n), 4 lua_pushinteger(L, n),
// 5 lua_rawgeti(L, idx, n), 6 lua_setfield(L, idx, k), 7 lua_settop(L, idx).
// Locals: 0 L, 1 n, 2 desc (advanced by 8 per element), 3 i, 4 len; keysArgv's parameters go on from 5.
/** pushint(L, d): lua_pushinteger(L, (i64)d). */
const PUSHINT = [LOCAL_GET, 0, LOCAL_GET, 1, I64_TRUNC_F64_S, CALL, 4, END];
const CREATE = [LOCAL_GET, 0, LOCAL_GET, 1, I32_CONST, 0, CALL, 0];
const STORE = [
  I32_CONST, 1, LOCAL_SET, 3,
  BLOCK, VOID,
    LOOP, VOID,
      LOCAL_GET, 3, LOCAL_GET, 1, I32_GT_S, BR_IF, 1,
      LOCAL_GET, 2, I32_LOAD, 2, 4, LOCAL_TEE, 4,
      I32_CONST, 0, I32_LT_S, IF, VOID,
        LOCAL_GET, 0, I32_CONST, 0, CALL, 2,
      ELSE,
        LOCAL_GET, 0, LOCAL_GET, 2, I32_LOAD, 2, 0, LOCAL_GET, 4, CALL, 1, DROP,
      END,
      LOCAL_GET, 0, I32_CONST, MINUS_TWO, LOCAL_GET, 3, I64_EXTEND_I32_U, CALL, 3,
      LOCAL_GET, 2, I32_CONST, 8, I32_ADD, LOCAL_SET, 2,
      LOCAL_GET, 3, I32_CONST, 1, I32_ADD, LOCAL_SET, 3,
      BR, 0,
    END,
  END,
  END,
];

// keysArgv's parameters after the five STORE uses: 5 na, 6 keysRef, 7 argvRef, 8 backingRef, 9 keysName, 10 argvName, 11 the registry index.
const registryGet = (ref: number): number[] => [LOCAL_GET, 0, LOCAL_GET, 11, LOCAL_GET, ref, I64_EXTEND_I32_U, CALL, 5, DROP];
const setFieldOfBelow = (nameLocal: number): number[] => [LOCAL_GET, 0, I32_CONST, MINUS_TWO, LOCAL_GET, nameLocal, CALL, 6];
/** STORE without the function's closing END. */
const STORE_LOOP = STORE.slice(0, -1);
const KEYS_ARGV = [
  ...registryGet(8),
  ...registryGet(6), ...STORE_LOOP, ...setFieldOfBelow(9),
  LOCAL_GET, 5, LOCAL_SET, 1,
  ...registryGet(7), ...STORE_LOOP, ...setFieldOfBelow(10),
  LOCAL_GET, 0, I32_CONST, MINUS_TWO, CALL, 7,
  END,
];

function helperModule(): ArrayBuffer {
  const types = [
    8,
    FUNC, 3, I32, I32, I32, 0, // 0: (i32 i32 i32) -> ()   createtable, fill
    FUNC, 3, I32, I32, I32, 1, I32, // 1: (i32 i32 i32) -> i32  pushlstring
    FUNC, 2, I32, I32, 0, // 2: (i32 i32) -> ()   pushboolean
    FUNC, 3, I32, I32, I64, 0, // 3: (i32 i32 i64) -> ()   rawseti
    FUNC, 2, I32, I64, 0, // 4: (i32 i64) -> ()   pushinteger
    FUNC, 2, I32, F64, 0, // 5: (i32 f64) -> ()   pushint
    FUNC, 3, I32, I32, I64, 1, I32, // 6: (i32 i32 i64) -> i32  rawgeti
    FUNC, 12, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, 0, // 7: keysArgv
  ];
  const imports = [
    9,
    ...name('m'), ...name('createtable'), 0x00, 0,
    ...name('m'), ...name('pushlstring'), 0x00, 1,
    ...name('m'), ...name('pushboolean'), 0x00, 2,
    ...name('m'), ...name('rawseti'), 0x00, 3,
    ...name('m'), ...name('pushinteger'), 0x00, 4,
    ...name('m'), ...name('rawgeti'), 0x00, 6,
    ...name('m'), ...name('setfield'), 0x00, 0,
    ...name('m'), ...name('settop'), 0x00, 2,
    ...name('m'), ...name('mem'), 0x02, 0x00, 0,
  ];
  // Defined functions follow the 8 imported ones: 8 fill, 9 refill, 10 pushint, 11 keysArgv.
  const functions = [4, 0, 0, 5, 7];
  const exports = [4, ...name('fill'), 0x00, 8, ...name('refill'), 0x00, 9, ...name('pushint'), 0x00, 10, ...name('keysArgv'), 0x00, 11];
  const code = [4, ...body(2, [...CREATE, ...STORE]), ...body(2, STORE), ...body(0, PUSHINT), ...body(0, KEYS_ARGV)];
  return moduleBytes({ types, imports, functions, exports, code });
}

/** The filler over the module's own functions and memory; null when they are not at hand (the caller pushes element by element). */
export function createArrayFill(m: RawLua): ArrayFill | null {
  const ex = instantiateHelper(helperModule(), m.__memory, {
    createtable: m._lua_createtable,
    pushlstring: m._lua_pushlstring,
    pushboolean: m._lua_pushboolean,
    rawseti: m._lua_rawseti,
    pushinteger: m._lua_pushinteger,
    rawgeti: m._lua_rawgeti,
    setfield: m._lua_setfield,
    settop: m._lua_settop,
  });
  return ex === null
    ? null
    : { fill: ex.fill as ArrayFill['fill'], refill: ex.refill as ArrayFill['refill'], pushint: ex.pushint as ArrayFill['pushint'], keysArgv: ex.keysArgv as ArrayFill['keysArgv'] };
}

