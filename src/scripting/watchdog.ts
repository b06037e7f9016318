/**
 * Lets a script run without a count hook until it has run for a while.
 *
 * The run-time count hook (runner.ts) is what keeps a long script from
 * making the server unreachable: past busy-reply-threshold it answers -BUSY
 * to others, time-slices the run and lets SCRIPT KILL in. But a count hook
 * in Lua 5.4 is not free: it sends every VM instruction through
 * luaG_traceexec (5.1, Redis's Lua, decrements a counter inline). Measured
 * here: a 1,000-iteration loop ran in 38.5 us of server CPU hooked, 23 us
 * without, 18.5 us on redis-server.
 *
 * So a run starts unhooked and a watchdog thread (watchdog-worker.ts) has
 * the hook armed when the same run is still going one tick later (20-40 ms
 * in, far below the 5 s threshold); lua_sethook is documented as safe to
 * call while the thread runs. Until that thread is up, or if it cannot
 * start (a Node built without the inspector), every run is hooked from its
 * start, as before. After a second with no script the thread sleeps
 * (Atomics.wait) until beginWatch wakes it, so an idle server stays idle.
 */
import { Worker } from 'node:worker_threads';
import { log } from '../log.js';

const TICK_MS = 20;
/** Where the arm function is found on globalThis: one per copy of this module (benches load two builds in one process). */
const ARM_KEY = `damselfly.armScriptHook.${Math.random().toString(36).slice(2)}`;

/** [0]: the id of the run in progress (0: none); [1]: 1 while the watchdog thread sleeps, waiting for a run. */
const current = new Int32Array(new SharedArrayBuffer(8));
let state: 'off' | 'starting' | 'on' | 'failed' = 'off';
let lastId = 0;
let runId = 0;
let arm: (() => void) | null = null;

/**
 * Whether runs are watched now: false while the watchdog is starting (it is
 * started by the first call) and for good when it cannot run. A caller told
 * false hooks the run from its start.
 */
export function watching(): boolean {
  if (state === 'on') return true;
  if (state === 'off') start();
  return false;
}

function start(): void {
  state = 'starting';
  (globalThis as Record<symbol, unknown>)[Symbol.for(ARM_KEY)] = onArm;
  const failed = (why: string) => {
    if (state === 'failed') return;
    state = 'failed';
    log.warn({ reason: why }, 'script watchdog unavailable: every script run is hooked from its start (slower Lua, same behaviour)');
  };
  try {
    const w = new Worker(new URL('./watchdog-worker.js', import.meta.url), { workerData: { shared: current.buffer, tickMs: TICK_MS, armKey: ARM_KEY } });
    w.unref();
    w.on('message', (m) => {
      if (m === 'parked') {
        log.debug('script watchdog sleeping: no script for a second, it wakes when the next one starts');
        return;
      }
      if (state !== 'starting') return;
      state = 'on';
      log.info({ tickMs: TICK_MS }, 'script watchdog running: a script gets its count hook once it has run a tick or two');
    });
    w.once('error', (e) => failed(e.message));
    w.once('exit', (code) => {
      if (state === 'starting') failed(`the watchdog thread exited (${code}) before it was ready`);
      // Once running it exits with the process: nothing to say then.
      else state = 'failed';
    });
  } catch (e) {
    failed((e as Error).message);
  }
}

/** A watched run starts: `armHook` is called (from an interrupt, mid-run) if it is still going after a tick or two. */
export function beginWatch(armHook: () => void): void {
  lastId = lastId === 0x7fffffff ? 1 : lastId + 1;
  runId = lastId;
  arm = armHook;
  Atomics.store(current, 0, runId);
  // Only after an idle second: a busy server pays one shared load here.
  if (Atomics.load(current, 1) === 1) Atomics.notify(current, 0);
}

/** The watched run is over. */
export function endWatch(): void {
  Atomics.store(current, 0, 0);
  runId = 0;
  arm = null;
}

function onArm(id: number): void {
  if (id !== runId || arm === null) return;
  const f = arm;
  arm = null;
  f();
}
