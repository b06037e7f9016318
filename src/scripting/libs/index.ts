/**
 * The libraries Redis bundles into its Lua states (cjson, cmsgpack, struct,
 * bit), installed into a fresh state before its globals are made read-only.
 * Both the EVAL state and the FUNCTION state call this at creation.
 *
 * They are TypeScript rewrites of Redis 7.0's C libraries (deps/lua/src),
 * checked byte for byte against redis-server by test/scripting-libs-*.test.ts.
 * Known differences, all from running on Lua 5.4 instead of 5.1:
 * - A table with several non-array keys is encoded (cjson object, msgpack
 *   map) in 5.4's traversal order, which is not 5.1's: same members, other
 *   order. One-key objects and arrays are byte-exact.
 * - cjson's array test keeps the largest key in a C int, so a key beyond
 *   INT_MAX mixed with small ones gives an order-dependent answer in Redis
 *   too; with a different order it may differ here.
 * - A -0 decoded by cjson/cmsgpack/struct prints "-0.0" with `..` (5.4's
 *   float format); integral results below 1e14 are pushed as 5.4 integers
 *   so they print "5" as in 5.1, larger ones as floats ("1e+15" as in 5.1).
 * - struct.pack with missing arguments past 8 KB of output: Redis's error
 *   may name one of its luaL_Buffer pieces ("got string"); here "got no value".
 */
import type { LuaVm } from '../vm/lua-vm.js';
import { bitFunctions } from './bit.js';
import { pushCjsonModule } from './cjson.js';
import { cmsgpackFields, cmsgpackFunctions } from './cmsgpack.js';
import { structFunctions } from './struct.js';

export function installLibraries(vm: LuaVm): void {
  const L = vm.L;
  pushCjsonModule(vm, L);
  vm.setGlobal(L, 'cjson');
  vm.registerLibrary('struct', structFunctions);
  vm.registerLibrary('cmsgpack', cmsgpackFunctions);
  vm.getGlobal(L, 'cmsgpack');
  for (const [k, v] of Object.entries(cmsgpackFields)) {
    vm.pushString(L, v);
    vm.setField(L, -2, k);
  }
  vm.pop(L);
  vm.registerLibrary('bit', bitFunctions);
}
