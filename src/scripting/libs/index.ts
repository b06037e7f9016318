/**
 * The libraries Redis bundles into its Lua states (cjson, cmsgpack, struct,
 * bit), installed into a fresh state before its globals are made read-only.
 * Both the EVAL state and the FUNCTION state call this at creation.
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
