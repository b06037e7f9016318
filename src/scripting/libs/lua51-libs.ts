/**
 * The string and table functions whose Lua 5.4 versions differ observably
 * from Redis's Lua 5.1 ones, replaced by 5.1's behaviour (lua51-*.ts).
 * Installed by lua-env.ts before the 5.1 compatibility chunk, while the
 * library tables are still writable and `debug` still exists.
 */
import type { LuaVm } from '../vm/lua-vm.js';
import { installStringFind51 } from './lua51-find.js';
import { installStringFormat51 } from './lua51-format.js';
import { installStringGsub51 } from './lua51-gsub.js';
import { installStringFunctions51 } from './lua51-string.js';
import { installTableSort51 } from './lua51-table.js';
import { installTableFunctions51 } from './lua51-table-functions.js';

export function installLua51Libs(vm: LuaVm): void {
  installTableSort51(vm);
  installStringGsub51(vm);
  installStringFormat51(vm);
  installStringFunctions51(vm);
  installStringFind51(vm);
  installTableFunctions51(vm);
}
