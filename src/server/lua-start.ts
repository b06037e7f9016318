/**
 * The Lua module (WASM, src/scripting/vm/) is loaded on first use, not at
 * boot: compiled code, the module's memory and emscripten's glue cost an
 * empty server ~3 MB of resident memory and 16 MB of used_memory (the WASM
 * memory is external memory to V8), which a server that never runs a
 * script should not carry; the 3 MB are part of what keeps 1M small keys
 * within 1.5x Redis's RSS (bench/RESULTS.md, issue 9). Its loading is asynchronous (emscripten
 * instantiates the module with WebAssembly.instantiate) while a script runs
 * inside a synchronous command, so the first command of the scripting group
 * (EVAL*, FCALL*, SCRIPT, FUNCTION), or an EXEC whose queue holds one, is
 * put back in front of its client's pipeline and the client waits, as under
 * CLIENT PAUSE, for the 30-40 ms the module takes; then it runs again.
 * Libraries read from a snapshot load the module first themselves
 * (src/scripting/functions/persistence.ts).
 */
import type { Client } from './client.js';
import type { Server } from './server.js';
import type { CommandSpec } from '../commands/spec.js';
import { putBack } from './read-ahead.js';
import { LuaVm } from '../scripting/vm/lua-vm.js';
import { log } from '../log.js';

/** Read on the dispatch path: true once the module is in. */
export const luaState = { loaded: false };

const waiting: Client[] = [];
let loading: Promise<void> | null = null;

/** Whether `spec` cannot run before the module is in. */
export function needsLua(c: Client, spec: CommandSpec): boolean {
  if (spec.group === 'scripting') return c.multi === null;
  return spec.name === 'exec' && c.multi !== null && c.multi.queue.some((q) => q.spec.group === 'scripting');
}

/** Hold c's command until the module is loaded: it then runs again from the front of c's pipeline. */
export function waitForLua(server: Server, c: Client, args: string[]): void {
  putBack(c, args);
  c.suspended = true;
  waiting.push(c);
  loading ??= loadLua().then(() => {
    for (const w of waiting.splice(0)) if (!w.closing) server.resume(w);
  });
}

async function loadLua(): Promise<void> {
  const t0 = Date.now();
  try {
    await LuaVm.init();
    log.info({ ms: Date.now() - t0 }, 'Lua module loaded');
  } catch (e) {
    // The waiting commands run anyway and fail with the engine's own error.
    log.error({ err: (e as Error).message }, 'the Lua module could not be loaded');
  }
  luaState.loaded = true;
}
