/**
 * INFO memory's scripting fields, as Redis 7.0 names them. The function
 * engine fills `functionsInfo` with its own figures.
 */
import { evalVmMemory, scriptCount, scriptsMemory } from './script-cache.js';

export const functionsInfo = {
  /** Bytes of the FUNCTION Lua state. */
  vmMemory: (): number => 0,
  /** Bytes of the libraries' code and metadata. */
  memory: (): number => 0,
  functions: (): number => 0,
  libraries: (): number => 0,
};

export function scriptingMemoryInfo(human: (n: number) => string): [string, string | number][] {
  const evalVm = evalVmMemory();
  const fnVm = functionsInfo.vmMemory();
  const scripts = scriptsMemory();
  const fns = functionsInfo.memory();
  return [
    ['used_memory_lua', evalVm],
    ['used_memory_vm_eval', evalVm],
    ['used_memory_lua_human', human(evalVm)],
    ['used_memory_scripts_eval', scripts],
    ['number_of_cached_scripts', scriptCount()],
    ['number_of_functions', functionsInfo.functions()],
    ['number_of_libraries', functionsInfo.libraries()],
    ['used_memory_vm_functions', fnVm],
    ['used_memory_vm_total', evalVm + fnVm],
    ['used_memory_vm_total_human', human(evalVm + fnVm)],
    ['used_memory_functions', fns],
    ['used_memory_scripts', scripts + fns],
    ['used_memory_scripts_human', human(scripts + fns)],
  ];
}
