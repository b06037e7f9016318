/**
 * The libraries Redis bundles into its Lua states (cjson, cmsgpack, struct,
 * bit), installed into a fresh state before its globals are made read-only.
 * Both the EVAL state and the FUNCTION state call this at creation.
 */
import type { LuaVm } from '../vm/lua-vm.js';

export function installLibraries(vm: LuaVm): void {
  void vm; // the libraries land here (issue 11, bundled-libraries part)
}
