/**
 * Function libraries in snapshots (src/snapshot/functions-section.ts): the
 * code of every library is saved; loading compiles them into a staging set
 * that is installed with the keys, so a snapshot whose libraries do not load
 * changes nothing.
 */
import { functionsSection, type StagedFunctions } from '../../snapshot/functions-section.js';
import { LuaVm } from '../vm/lua-vm.js';
import { libraries, libraryCodes, newLibrarySet, swapLibraries } from './registry.js';

functionsSection.save = libraryCodes;

functionsSection.stage = async (codes: string[]): Promise<StagedFunctions | string> => {
  // The Lua module loads on first use (src/server/lua-start.ts): libraries need it now.
  if (codes.length > 0) {
    try {
      await LuaVm.init();
    } catch (e) {
      return `the Lua module could not be loaded: ${(e as Error).message}`;
    }
  }
  const staged = newLibrarySet();
  for (const code of codes) {
    // rdbFunctionLoad: no load timeout; a library twice in one snapshot is an error.
    const res = staged.create(code, false, 0);
    if (typeof res !== 'string') {
      staged.clear();
      return res.error;
    }
  }
  return {
    install(mode) {
      if (mode === 'replace-all') {
        swapLibraries(staged);
        return null;
      }
      const err = libraries().join(staged, mode === 'merge');
      if (err !== null) {
        staged.clear();
        return err.error;
      }
      return null;
    },
  };
};
