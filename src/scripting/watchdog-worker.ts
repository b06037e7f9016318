/**
 * The watchdog thread of watchdog.ts. It reads the id of the script run in
 * progress every tick; a run still in progress one tick after it was first
 * seen has run a while, and the main thread is asked, once per run, to arm
 * the run's count hook. The request goes through the inspector because that
 * is what reaches a main thread busy in WASM: the message is delivered as a
 * V8 interrupt, which runs at the next loop back-edge of the Lua interpreter.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Session } from 'node:inspector';

/** [0]: the id of the run in progress (0: none); [1]: 1 while this thread sleeps (see the tick). */
const current = new Int32Array(workerData.shared as SharedArrayBuffer);
/** Ticks without a run before this thread sleeps until the next one starts. */
const PARK_TICKS = Math.ceil(1000 / (workerData.tickMs as number));

/**
 * Has the main thread call its arm function with id. A session only while
 * it is needed: one still connected when the process exits makes Node print
 * "Waiting for the debugger to disconnect...".
 */
function arm(id: number, done: (ok: boolean) => void): void {
  const session = new Session();
  session.connectToMainThread();
  session.post('Runtime.evaluate', { expression: `globalThis[Symbol.for('${workerData.armKey}')](${id})`, silent: true }, (err, res) => {
    session.disconnect();
    done(err === null && res.exceptionDetails === undefined);
  });
}

// The way there is tried once (id 0 arms nothing) before the main thread
// relies on it; meanwhile the ticks already run (they keep this thread's
// loop alive: a pending inspector reply does not).
let ready = false;
let seen = 0;
let armed = 0;
let idle = 0;
setInterval(() => {
  if (!ready) return;
  const id = Atomics.load(current, 0);
  if (id !== 0 && id === seen && id !== armed) {
    armed = id;
    arm(id, () => {});
  }
  seen = id;
  idle = id === 0 ? idle + 1 : 0;
  if (idle >= PARK_TICKS) {
    // An idle server should not wake 50 times a second for this. Sleep until
    // a run starts: beginWatch stores the id, then wakes this thread if it
    // finds [1] set. Either order is safe: the wait returns at once when
    // [0] is no longer 0, and a wake that comes before it is not needed.
    Atomics.store(current, 1, 1);
    parentPort!.postMessage('parked');
    Atomics.wait(current, 0, 0);
    Atomics.store(current, 1, 0);
    idle = 0;
    seen = 0; // the run that woke us is seen at the next tick, armed at the one after, as any other
  }
}, workerData.tickMs as number);
arm(0, (ok) => {
  if (!ok) throw new Error('Runtime.evaluate on the main thread failed');
  ready = true;
  parentPort!.postMessage('ready');
});
