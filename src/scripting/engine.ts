/**
 * A Lua state set up as Redis 7.0 sets up its scripting states: the 5.1
 * layer, the bundled libraries, the `redis` table, then everything made
 * read-only. EVAL has one (recreated by SCRIPT FLUSH); the function engine
 * creates its own with the same call, as Redis keeps two.
 *
 * Each engine also keeps one Lua thread that runs its scripts, so a run can
 * be suspended between time slices (see runner.ts).
 */
import { LuaVm, type LuaState, type ReusedArray } from './vm/lua-vm.js';
import { installLibraries } from './libs/index.js';
import { installCompat, protectGlobals, type ProtectedEnv } from './lua-env.js';
import { installRedisApi } from './redis-api.js';
import { luaMemoryLimit } from './params.js';
import { sliceHost } from './runner.js';
import { installCoroutines } from './coroutines.js';

export interface ScriptEngine {
  vm: LuaVm;
  env: ProtectedEnv;
  /** The thread scripts run on, and its registry ref (kept alive). */
  thread: LuaState;
  threadRef: number;
  /** Runs since the last GC step (Redis steps the GC every 50 runs). */
  runsSinceGc: number;
  /** The run-time count hook is set on `thread` now (runner.ts: set for a long run, or for all without the watchdog). */
  threadHooked: boolean;
  /** EVAL's KEYS and ARGV tables, kept by length from one run to the next (LuaVm.pushStringArrayInto). */
  keysTables: ReusedArray[];
  argvTables: ReusedArray[];
}

/**
 * `extend` runs after the redis table exists and before protection: the
 * function engine adds redis.register_function there. `evalState`: the
 * EVAL state (one global more, see lua-env.ts).
 */
export function createEngine(extend?: (vm: LuaVm) => void, evalState = false): ScriptEngine {
  const vm = LuaVm.create({ memoryLimit: luaMemoryLimit() });
  installCompat(vm, evalState);
  installCoroutines(vm, sliceHost);
  installLibraries(vm);
  installRedisApi(vm);
  extend?.(vm);
  const env = protectGlobals(vm);
  // A script run leaves nearly all it made as garbage (KEYS/ARGV strings,
  // reply tables, the closures a big script defines on every run) over a
  // heap of compiled scripts that stays: what generational collection is
  // for. Incremental mode marked the whole heap again for each run's
  // garbage. Scripts see no difference (Redis's 5.1 has no mode to ask).
  vm.useGenerationalGc();
  const thread = vm.newThread(vm.L);
  const threadRef = vm.ref(vm.L);
  return { vm, env, thread, threadRef, runsSinceGc: 0, threadHooked: false, keysTables: [], argvTables: [] };
}

/** Bytes the engine's Lua state holds (used_memory_lua / used_memory_vm_eval). */
export function engineMemory(e: ScriptEngine): number {
  return e.vm.used;
}
