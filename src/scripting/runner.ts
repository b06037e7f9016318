/**
 * Runs one script function to its reply (Redis's luaCallFunction), on the
 * engine's Lua thread so that a long script can be time-sliced:
 *
 * - A count hook checks the clock, set once the run has gone on a while
 *   (watchdog.ts: a hook costs every Lua instruction a call). Until
 *   busy-reply-threshold the script runs without a break, so nothing
 *   interleaves with it (atomicity).
 * - Past the threshold the run is "timed out": other clients now get
 *   -BUSY (server/dispatch.ts asks busyError()), the hook yields the thread
 *   every SLICE_MS, and the rest runs in later turns of the event loop
 *   while the caller is suspended (its pipeline waits, as in Redis). This
 *   is Redis's processEventsWhileBlocked, turned inside out for one JS thread.
 * - SCRIPT KILL sets `killed`; the hook then raises the kill error and
 *   switches to a per-line hook so pcall cannot swallow it (as Redis does).
 *
 * A script inside MULTI/EXEC cannot be suspended (EXEC answers in one go),
 * so there it runs to the end without time slices.
 */
import { performance } from 'node:perf_hooks';
import { LUA_MULTRET, LuaHookMask, LuaStatus, LuaType, type LuaState, type LuaVm } from './vm/lua-vm.js';
import type { ScriptEngine } from './engine.js';
import { currentRun, endRun, type ScriptRun } from './run-context.js';
import { beginWatch, endWatch, watching } from './watchdog.js';
import type { SliceHost } from './coroutines.js';
import { errorTableInfo, pushErrorTable, writeLuaAsReply, writeLuaScalarAsReply } from './conversions.js';
import { busyThreshold, luaMemoryLimit } from './params.js';
import { as51ErrorText } from './lua51-messages.js';
import { errorStats } from '../server/error-stats.js';
import { failedCall } from '../server/dispatch.js';
import type { Reply } from '../protocol/reply.js';
import { log } from '../log.js';

/** Instructions between two looks at the clock. */
const HOOK_EVERY = 20000;
/** Once timed out, how long a slice runs before other clients are served. */
const SLICE_MS = 20;
const GC_PERIOD = 50;
/** Arguments up to this many bytes are pushed without a protected call, when the state is... */
const DIRECT_PUSH_MAX = 64 * 1024;
/** ...at least this far below its memory limit. */
const DIRECT_PUSH_HEADROOM = 16 * 1024 * 1024;

let sliceStart = 0;

function countHook(vm: LuaVm, L: LuaState): void {
  const run = currentRun();
  if (run === null) return;
  if (run.killed) {
    log.warn('Lua script killed by user with SCRIPT KILL.');
    vm.setHook(L, countHook, LuaHookMask.LINE, 0);
    pushErrorTable(vm, L, 'Script killed by user with SCRIPT KILL...');
    vm.raiseValue(L);
  }
  const now = performance.now();
  if (!run.timedOut) {
    const limit = busyThreshold();
    if (limit <= 0 || now - run.startTime < limit || !canSuspend(run)) return;
    run.timedOut = true;
    log.warn(
      { script: run.funcName },
      `Slow script detected: still in execution after ${Math.round(now - run.startTime)} milliseconds. You can try killing the script using the ${run.evalMode ? 'SCRIPT KILL' : 'FUNCTION KILL'} command.`,
    );
    sliceStart = 0;
  }
  if (now - sliceStart >= SLICE_MS && vm.isYieldable(L)) {
    slicedThread = L;
    vm.yieldFromHook(L);
  }
}

/**
 * The thread the hook last yielded for a time slice: the run's own, or a
 * coroutine of the script's, whose resume (coroutines.ts) then passes the
 * slice up instead of returning as if the coroutine had yielded.
 */
let slicedThread: LuaState = 0;

export const sliceHost: SliceHost = {
  hookThread(vm, co) {
    vm.setHook(co, countHook, LuaHookMask.COUNT, HOOK_EVERY);
  },
  takeSliced(co) {
    if (co !== slicedThread) return false;
    slicedThread = 0;
    return true;
  },
  markSliced(L) {
    slicedThread = L;
  },
};

/** Arms the count hook of the engine's thread (watchdog.ts), mid-run. */
function armHook(engine: ScriptEngine): void {
  if (engine.threadHooked) return;
  engine.vm.setHook(engine.thread, countHook, LuaHookMask.COUNT, HOOK_EVERY);
  engine.threadHooked = true;
}

/** The hook was set once (registering it in the WASM table): arming it mid-run only sets it. */
let hookRegistered = false;
/** The engine of the watched run, and its arm function (one, not a closure per run). */
let watchedEngine: ScriptEngine | null = null;
const armWatched = (): void => {
  if (watchedEngine !== null) armHook(watchedEngine);
};

function canSuspend(run: ScriptRun): boolean {
  return !run.caller.inExec;
}

/**
 * Runs the function that `push` places on the engine thread's stack (with
 * `nargs` arguments above it) for `run`, and answers the caller: now, or
 * after the last time slice.
 */
export function runScript(engine: ScriptEngine, run: ScriptRun, push: (vm: LuaVm, co: LuaState) => number, argBytes = Infinity): void {
  const vm = engine.vm;
  vm.memoryLimit = luaMemoryLimit();
  const co = engine.thread;
  vm.setTop(co, 0);
  let nargs = 0;
  let failed: string | null = null;
  if (argBytes <= DIRECT_PUSH_MAX && vm.used + 2 * argBytes + DIRECT_PUSH_HEADROOM < vm.memoryLimit) {
    // Small arguments far below the memory limit cannot fail to allocate:
    // pushed directly, a protected call (and its trampoline) less per run.
    nargs = push(vm, co);
  } else {
    // Building the arguments can run out of memory: protected, and the
    // function and its arguments stay on the thread's stack (MULTRET).
    failed = vm.protect(
      co,
      (l) => {
        nargs = push(vm, l);
        return nargs + 1;
      },
      0,
      LUA_MULTRET,
    );
  }
  if (failed !== null) {
    vm.setTop(co, 0);
    vm.gcCollect();
    endRun(run);
    run.ctx.r.error(`ERR ${failed}`);
    return;
  }
  // A watched run is hooked only if it runs a while (watchdog.ts). Without
  // the watchdog the hook stays on the thread between runs (it does nothing
  // with no run current). A thread whose hook was changed (SCRIPT KILL)
  // ended in an error and was replaced.
  if (!engine.threadHooked && watching()) {
    if (!hookRegistered) {
      vm.setHook(co, countHook, LuaHookMask.COUNT, HOOK_EVERY);
      vm.setHook(co, null, 0);
      hookRegistered = true;
    }
    watchedEngine = engine;
    beginWatch(armWatched);
  } else if (!engine.threadHooked) armHook(engine);
  step(engine, run, nargs, false);
}

function step(engine: ScriptEngine, run: ScriptRun, nargs: number, suspended: boolean): void {
  const vm = engine.vm;
  const co = engine.thread;
  // A first slice's start is never read: the hook starts slicing (from 0) once the run times out.
  if (suspended) sliceStart = performance.now();
  const ctx = run.ctx;
  let res: { status: number; nresults: number };
  if (suspended) {
    // Another client may have run since: point the shared context back at this run.
    const saved = { client: ctx.client, db: ctx.db, r: ctx.r };
    ctx.client = run.caller;
    ctx.db = run.caller.db;
    try {
      res = vm.resume(co, vm.L, nargs);
    } finally {
      ctx.client = saved.client;
      ctx.db = saved.db;
      ctx.r = saved.r;
    }
  } else {
    res = vm.resume(co, vm.L, nargs);
  }
  if (res.status === LuaStatus.YIELD) {
    slicedThread = 0;
    // A hook's yield carries no values; a yield from a C function (a
    // coroutine's slice passed up) keeps that function's stack below them.
    vm.pop(co, res.nresults);
    if (!suspended) run.caller.suspended = true;
    setImmediate(() => step(engine, run, 0, true));
    return;
  }
  if (suspended) {
    const c = run.caller;
    let answered = false;
    // The script command's call() returned long ago: an error in its late
    // answer makes it failed here, as a blocked command's does.
    const errors0 = errorStats.total;
    const uncounted0 = errorStats.uncounted;
    c.send((r) => {
      answered = true;
      finish(engine, run, res, r);
    });
    if (errorStats.total !== errors0) failedCall(c.lastCommand);
    for (let i = uncounted0; i < errorStats.uncounted; i++) failedCall(c.lastCommand);
    if (!answered) cleanup(engine, run, res.status);
    ctx.server.resume(c);
  } else {
    finish(engine, run, res, ctx.r);
  }
}

function finish(engine: ScriptEngine, run: ScriptRun, res: { status: number; nresults: number }, r: Reply): void {
  const vm = engine.vm;
  const co = engine.thread;
  try {
    if (res.status === LuaStatus.OK) {
      // The first result is the reply (one result, the usual case, is on top already).
      if (res.nresults === 0) vm.pushNil(co);
      else if (res.nresults > 1) vm.setTop(co, vm.getTop(co) - res.nresults + 1);
      const t = vm.type(co, -1);
      if (t !== LuaType.TABLE) {
        // A scalar is read without allocating in Lua (no protection needed)
        // nor pushing (no stack check); cleanup() empties the stack.
        writeLuaScalarAsReply(vm, co, r, run.client.proto, t);
      } else {
        const failed = vm.protect(co, (l) => writeLuaAsReply(vm, l, r, run.client.proto), 1);
        if (failed !== null) r.error(`ERR ${failed}`);
      }
    } else {
      const e = errorText(vm, co, run);
      r.error(e.text, e.counted);
    }
  } finally {
    cleanup(engine, run, res.status);
  }
}

function cleanup(engine: ScriptEngine, run: ScriptRun, status: number): void {
  const vm = engine.vm;
  const co = engine.thread;
  vm.setTop(co, 0);
  if (watching()) {
    endWatch();
    watchedEngine = null;
    // The next run starts unhooked again.
    if (engine.threadHooked && status === LuaStatus.OK) {
      vm.setHook(co, null, 0);
      engine.threadHooked = false;
    }
  }
  if (status !== LuaStatus.OK) {
    // A thread that died of an error raised in a hook (SCRIPT KILL) keeps
    // its hooks disabled for good (5.4 restores allowhook only in pcall), so
    // a failed run gets a fresh thread instead of a reset one.
    vm.resetThread(co);
    vm.unref(vm.L, engine.threadRef);
    engine.thread = vm.newThread(vm.L);
    engine.threadRef = vm.ref(vm.L);
    engine.threadHooked = false;
  }
  // Lua's emergency collection does not always run on a failed allocation;
  // a script that hit the limit leaves its garbage, so collect it now.
  if (status === LuaStatus.ERRMEM || vm.used > vm.memoryLimit * 0.9) vm.gcCollect();
  endRun(run);
  if (++engine.runsSinceGc >= GC_PERIOD) {
    engine.runsSinceGc = 0;
    vm.gcStep(GC_PERIOD);
  }
}

/**
 * The 7.0 error text: "<CODE msg> script: <name>, on @user_script:<line>."
 * with the position of the first Lua frame where the error was raised
 * (the thread's stack is not unwound on error), as Redis's error handler
 * takes it.
 */
function errorText(vm: LuaVm, co: LuaState, run: ScriptRun): { text: string; counted: boolean } {
  // Redis's handler skips one C frame (error, redis.call); our environment
  // also has Lua helpers (chunks named "=..."), skipped the same way.
  let where = null;
  for (let level = 0; ; level++) {
    const w = vm.where(co, level);
    if (w === null) break;
    if (w.what !== 'C' && !w.source.startsWith('=')) {
      where = w;
      break;
    }
  }
  let msg: string;
  // An error redis.call raised was counted when the command failed.
  let counted = true;
  if (vm.type(co, -1) === LuaType.TABLE) {
    const info = errorTableInfo(vm, co, -1);
    msg = info.msg;
    counted = !info.ignoreStats;
  } else {
    const t = vm.type(co, -1);
    const s = t === LuaType.STRING || t === LuaType.NUMBER ? vm.coerceLatin1(co, -1) : t === LuaType.NIL ? 'nil' : t === LuaType.BOOLEAN ? String(vm.toBoolean(co, -1)) : vm.typeName(t);
    msg = `ERR ${t === LuaType.STRING ? as51ErrorText(s!) : s}`;
  }
  if (where === null || where.currentLine < 0) return { text: msg, counted };
  return { text: `${msg} script: ${run.funcName}, on ${where.source}:${where.currentLine}.`, counted };
}
