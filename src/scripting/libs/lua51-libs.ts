/**
 * The string and table functions whose Lua 5.4 versions differ observably
 * from Redis's Lua 5.1 ones, replaced by 5.1's behaviour (lua51-*.ts):
 * table.sort, string.gsub (their callbacks run where a script can be
 * time-sliced), string.format, sub, byte, char, rep, find, match, gmatch,
 * table.insert, remove, concat, unpack and select. Checked byte for byte
 * against redis-server by test/scripting-lua51-libs.test.ts.
 *
 * Installed by lua-env.ts before the 5.1 compatibility chunk, while the
 * library tables are still writable and `debug` still exists. The order
 * matters: the Lua bodies of sort and gsub capture 5.4's string functions
 * (which they call with arguments 5.4 reads as 5.1 would) before those are
 * replaced.
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
