/**
 * The heap guard: writes that may grow memory are refused with -OOM while
 * the V8 heap is close to its limit, instead of V8 aborting the process
 * ("FATAL ERROR: Reached heap limit"), which loses every write since the last
 * snapshot. Reads, deletes, SAVE/BGSAVE and SHUTDOWN keep working, and writes
 * resume once memory is freed. It applies whatever maxmemory says: with
 * maxmemory set the heap is sized so that eviction acts first
 * (heap-limit.ts), and this is the safety net.
 *
 * When to refuse, measured (node 20, --max-old-space-size=768, 1 KiB strings
 * inserted until the end; see the issue-9 report): V8's major GCs paused
 * 12-80 ms while live data stayed under 87% of the limit; at 90% they became
 * 3-3.6 s non-incremental "Mark-Compact (reduce)" collections, and a moment
 * later V8 aborted at 98%. V8 also aborts earlier, with "Ineffective
 * mark-compacts near heap limit", after four major GCs in a row that leave
 * the old generation at 80% or more of its maximum while the mutator ran
 * less than 40% of the time (heap.cc, IsIneffectiveMarkCompact) -- exactly
 * a pipelined fill near the limit. The thresholds are therefore fractions of
 * the old generation's maximum, not of heap_size_limit, which adds the young
 * generation (48 MiB with V8's default semi-space: with a 256 MiB old space,
 * 80% of heap_size_limit was 95% of the old generation, and a fill under
 * load died there). So:
 *  - live data (the old generation's bytes, sampled right after each major GC) at or above
 *    REFUSE_AT (75%) of the old generation refuses; the rest is for garbage
 *    between collections, a snapshot's working memory (frames, before-images
 *    of big collections written during the walk) and client buffers;
 *  - the old generation's bytes right now (garbage included) at or above BRAKE_AT (80%)
 *    refuses too, so that what V8 keeps after a collection stays around its
 *    80% (a test measured 82%; then writes are refused, collections are
 *    rare and V8's rule, which also needs a busy collector, does not fire):
 *    live data grows between major GCs, and V8 spaces them ~90 MiB
 *    apart on a 768 MiB heap, so live data went from 75% to 87% unseen in a
 *    measured pipelined fill. Used memory that high with little live data
 *    is rare (V8 collects long before when live data is small), and a false
 *    alarm ends with the next GC (forced, below).
 * V8 may not run a major GC for a long time after keys are deleted (nothing
 * is being allocated), so while writes are being refused the guard forces
 * one to see freed memory: at most once a second, and at most 5% of the time
 * (but every 10 s at least) unless a tenth of the keys were deleted since.
 *
 * heapRefusal() is on the path of every denyoom command: it answers a
 * cached state, refreshed before a batch of commands when a millisecond has
 * passed (heapTick; v8.getHeapStatistics costs ~1 us), after each major GC,
 * and by a 100 ms timer.
 */
import { constants, PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
import { log } from '../log.js';
import { fullGc } from './gc.js';
import { getInt, paramByName } from '../config/params.js';
import { registerInfoSection } from '../server/info.js';
import { bootSteps } from '../server/lifecycle.js';
import { bulkGuard } from '../protocol/parser.js';
import { MAXMEMORY_EXTRA, MAXMEMORY_FACTOR, oldGenerationLimit, type HeapDecision } from './heap-limit.js';
import { oldGenerationUsed } from './v8-heap.js';
import { offHeapSlabBytes } from '../keyspace/value-store.js';
import { slotsChunkBytes } from '../keyspace/slot-pool.js';

/**
 * What the guard measures: the old generation plus the slabs holding string
 * values and keys outside it (keyspace/value-store.ts) and the key tables'
 * slot chunks (keyspace/slot-pool.ts). The slabs are not V8's to
 * limit, but they are the dataset's, and the old space's limit is the
 * memory share the server was sized for; counting them here keeps the two
 * together under it.
 */
function inUse(): number {
  return oldGenerationUsed() + offHeapSlabBytes() + slotsChunkBytes();
}

export const REFUSE_AT = 0.75;
export const BRAKE_AT = 0.8;
const TIMER_MS = 100;
const LOG_EVERY_MS = 10_000;

const MiB = 1024 * 1024;
const mib = (b: number) => (b >= 10 * 1024 * MiB ? `${(b / 1024 / MiB).toFixed(2)} GiB` : `${(b / MiB).toFixed(1)} MiB`);

interface GuardState {
  decision: HeapDecision;
  /** The old generation's maximum (heap-limit.ts): the guard's thresholds are fractions of it. */
  limit: number;
  /** V8's heap_size_limit: the old generation plus the young generation's semi-spaces. */
  v8Limit: number;
  /** Old-generation bytes sampled just after the last major GC: live data, plus what was allocated since. */
  liveAfterGc: number;
  usedNow: number;
  refusal: string | null;
  refusedSince: number;
  refusedTotal: number;
  /** A write was refused since the last forced GC: someone is waiting for memory. */
  demand: boolean;
  lastForcedGc: number;
  lastForcedGcMs: number;
  forcedGcs: number;
  lastLog: number;
  refusedSinceLog: number;
}

const state: GuardState = {
  decision: { oldSpaceMb: null, reason: 'not started', source: 'default', capped: false },
  limit: currentOldGenerationLimit(),
  v8Limit: v8.getHeapStatistics().heap_size_limit,
  liveAfterGc: 0,
  usedNow: 0,
  refusal: null,
  refusedSince: 0,
  refusedTotal: 0,
  demand: false,
  lastForcedGc: 0,
  lastForcedGcMs: 0,
  forcedGcs: 0,
  lastLog: 0,
  refusedSinceLog: 0,
};

function currentOldGenerationLimit(): number {
  return oldGenerationLimit(v8.getHeapStatistics().heap_size_limit, process.execArgv, process.env.NODE_OPTIONS);
}

let forceGc: (() => unknown) | null = null;
let lastEval = 0;
/**
 * How long heapTick waits between looks, set by each look: as long as the
 * heap, growing at MAX_GROWTH_PER_MS, could not reach the brake from where
 * that look found it; at least 1 ms, at most TIMER_MS (the timer looks then
 * anyway). A look reads V8's heap space statistics: once a millisecond it
 * was 1% of the server's CPU at -P 1, with gigabytes of room.
 */
let lookEvery = 1;
/** Faster than any socket fills the heap (64 GB/s): the bound on what arrives between two looks. */
const MAX_GROWTH_PER_MS = 64 * MiB;

/** The -OOM error text for denyoom commands while the heap is nearly full, else null. */
export function heapRefusal(): string | null {
  if (state.refusal !== null) {
    state.refusedTotal++;
    state.refusedSinceLog++;
    state.demand = true;
    maybeLog();
  }
  return state.refusal;
}

/**
 * Called by the server before each batch of commands from one socket read
 * (`now`: performance.now(), already read there): the heap is looked at
 * again once lookEvery has passed, so what a pipeline adds between two
 * looks is bounded by time (what the network brings meanwhile), not by a
 * command count (one command may carry 512 MB); near the brake, every
 * millisecond.
 */
export function heapTick(now: number): void {
  if (now - lastEval >= lookEvery) evaluate();
}

/** The heap limit this process runs with, in bytes. */
export function heapLimit(): number {
  return state.limit;
}

/** Live data above which writes are refused, in bytes. */
export function refuseThreshold(): number {
  return Math.floor(state.limit * REFUSE_AT);
}

/**
 * For work that adds a lot at once outside the denyoom check (a snapshot
 * load, DEBUG POPULATE): whether live data is still below the refusal
 * threshold. Heap used now counts garbage, so past the threshold a GC is
 * forced to look again, at most once per 5% of the limit grown since the
 * last one (a GC of a large heap is not free).
 */
export function roomToGrow(): boolean {
  const limit = state.limit;
  let used = inUse();
  if (used < limit * REFUSE_AT) return true;
  if (forceGc !== null && used - state.liveAfterGc > limit * 0.05) {
    forceGc();
    state.forcedGcs++;
    used = inUse();
    state.liveAfterGc = used;
  }
  return state.liveAfterGc < limit * REFUSE_AT && used < limit * BRAKE_AT;
}

/** The heap cannot hold what was asked of it (a snapshot at boot): a configuration error, fatal at boot. */
export class HeapTooSmallError extends Error {}

/**
 * The flags to raise so that `bytes` of live data fit below the refusal
 * threshold, for error messages.
 */
export function heapAdvice(bytes: number): string {
  const heapMb = Math.ceil((bytes / REFUSE_AT) * 1.1 / MiB);
  // maxmemory must hold the data itself; the heap it sizes (1.5x + 256 MiB) then has room.
  const maxmemoryMb = Math.ceil((bytes * 1.1) / MiB);
  return `the old space limit is ${mib(state.limit)} (${state.decision.reason}) and writes stop at ${REFUSE_AT * 100}% of it: ` +
    `restart with --maxmemory ${maxmemoryMb}mb or more, or NODE_OPTIONS=--max-old-space-size=${heapMb}`;
}

function evaluate(): void {
  lastEval = performance.now();
  const used = inUse();
  state.usedNow = used;
  const limit = state.limit;
  lookEvery = Math.min(TIMER_MS, Math.max(1, (limit * BRAKE_AT - used) / MAX_GROWTH_PER_MS));
  let why: string | null = null;
  if (state.liveAfterGc >= limit * REFUSE_AT) why = `${mib(state.liveAfterGc)} live after the last GC`;
  else if (used >= limit * BRAKE_AT) why = `${mib(used)} in use`;
  const was = state.refusal;
  state.refusal =
    why === null
      ? null
      : // Redis's sentence first: clients and tests match it (and the OOM prefix).
        `OOM command not allowed when used memory > 'maxmemory'. The JS heap is nearly full (${why}, limit ${mib(limit)}): ` +
        'free keys, or restart with a larger --maxmemory or NODE_OPTIONS=--max-old-space-size.';
  if (was === null && state.refusal !== null) {
    state.refusedSince = Date.now();
    state.lastLog = 0;
    log.warn({ heapUsed: used, liveAfterGc: state.liveAfterGc, heapLimit: limit, refuseAt: REFUSE_AT, brakeAt: BRAKE_AT }, `heap nearly full (${why} of ${mib(limit)}): refusing commands that may grow memory with -OOM`);
  } else if (was !== null && state.refusal === null) {
    log.warn({ heapUsed: used, liveAfterGc: state.liveAfterGc, heapLimit: limit, refusedMs: Date.now() - state.refusedSince }, 'heap has room again: accepting writes');
  }
}

function maybeLog(): void {
  const now = Date.now();
  if (now - state.lastLog < LOG_EVERY_MS) return;
  if (state.lastLog !== 0) {
    log.warn({ refused: state.refusedSinceLog, heapUsed: state.usedNow, liveAfterGc: state.liveAfterGc, heapLimit: state.limit }, 'still refusing writes: the heap is nearly full');
  }
  state.lastLog = now;
  state.refusedSinceLog = 0;
}


/** Keys in all databases (set at boot): keys deleted since the last forced GC are worth a GC at once. */
let keyCount: () => number = () => 0;
let keysAtForcedGc = 0;

function onTimer(): void {
  evaluate();
  if (state.refusal === null || !state.demand || forceGc === null) return;
  const now = Date.now();
  const keys = keyCount();
  // Not more than once a second, and at most 5% of the time in forced collections (but
  // at least every 10 s) unless a tenth of the keys went since the last one (FLUSHALL,
  // DEL): then whoever waits for memory should not wait for the next slot.
  const freedMany = keys < keysAtForcedGc * 0.9;
  const interval = freedMany ? 1000 : Math.max(1000, Math.min(10_000, 20 * state.lastForcedGcMs));
  if (now - state.lastForcedGc < interval) return;
  keysAtForcedGc = keys;
  state.demand = false;
  const t0 = performance.now();
  forceGc();
  state.lastForcedGcMs = performance.now() - t0;
  state.lastForcedGc = Date.now();
  state.forcedGcs++;
  state.liveAfterGc = inUse();
  evaluate();
}

/** A bulk of `len` bytes becomes a `len`-byte string: refused if it would take the heap past BRAKE_AT. */
/** `what`: the parser's words for a request whose many arguments need `len` more bytes. */
function bulkRefusal(len: number, what?: string): string | null {
  const used = inUse();
  if (used + len < state.limit * BRAKE_AT) return null;
  state.refusedTotal++;
  log.warn({ bulkBytes: len, heapUsed: used, heapLimit: state.limit }, 'refused a request argument the JS heap cannot hold now; closing the client');
  return `Protocol error: ${what ?? `a bulk argument of ${len} bytes`} does not fit in the JS heap now (${mib(used)} used of ${mib(state.limit)})`;
}

let started = false;

/** Start watching the heap; logs the one start-up line saying which limit is used and why. */
export function startHeapGuard(decision: HeapDecision): void {
  state.decision = decision;
  state.limit = currentOldGenerationLimit();
  state.v8Limit = v8.getHeapStatistics().heap_size_limit;
  log.info(
    { heapLimit: state.limit, source: decision.source, writesRefusedAbove: refuseThreshold() },
    `heap limit ${mib(state.limit)}: ${decision.reason}; writes get -OOM above ${mib(refuseThreshold())} of live data${decision.semiReason ? `; ${decision.semiReason}` : ''}`,
  );
  warnMaxmemory(getInt('maxmemory'));
  if (started) return;
  started = true;
  watchMaxmemory();
  forceGc = fullGc;
  bulkGuard.check = bulkRefusal;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
        state.liveAfterGc = inUse();
        evaluate();
      }
    }
  }).observe({ entryTypes: ['gc'] });
  setInterval(onTimer, TIMER_MS).unref();
}

/** INFO memory fields (Redis has none: its heap is the machine's, limited only by maxmemory). */
export function heapInfo(): [string, string | number][] {
  return [
    ['heap_size_limit', state.v8Limit],
    ['heap_size_limit_human', mib(state.v8Limit)],
    ['heap_old_space_limit', state.limit],
    ['heap_limit_source', state.decision.source],
    ['heap_used_after_gc', state.liveAfterGc],
    ['heap_oom_threshold', refuseThreshold()],
    ['heap_oom_refusing', state.refusal === null ? 0 : 1],
    ['heap_oom_rejected_commands', state.refusedTotal],
    ['heap_forced_gcs', state.forcedGcs],
  ];
}

/** The largest maxmemory the current heap is sized for (the inverse of heap-limit.ts's formula). */
export function maxmemoryHeapCanHold(): number {
  return Math.max(0, Math.floor((state.limit - MAXMEMORY_EXTRA) / MAXMEMORY_FACTOR));
}

function maxmemoryFits(mm: number): boolean {
  return mm === 0 || mm <= maxmemoryHeapCanHold();
}

function warnMaxmemory(mm: number): void {
  if (maxmemoryFits(mm)) return;
  log.warn(
    { maxmemory: mm, heapLimit: state.limit, maxmemoryHeapCanHold: maxmemoryHeapCanHold() },
    `maxmemory ${mm} is more than this process's heap (${mib(state.limit)}) is sized for (${maxmemoryHeapCanHold()} bytes): writes will get -OOM when the heap is ${REFUSE_AT * 100}% full, before maxmemory is reached; restart with --maxmemory ${mm} to size the heap for it`,
  );
}

/**
 * CONFIG SET maxmemory above what the heap was sized for is accepted, as
 * Redis accepts any maxmemory (it warns only when the new value is below
 * the memory in use): the heap limit cannot change without a restart, the
 * heap guard still prevents a crash (writes get -OOM before maxmemory is
 * reached), and refusing would break tools that set it. It is logged, and
 * INFO memory says heap_fits_maxmemory:0 until a restart sizes the heap.
 */
function watchMaxmemory(): void {
  const def = paramByName('maxmemory');
  if (!def) return;
  const prev = def.onChange;
  def.onChange = (v) => {
    prev?.(v);
    warnMaxmemory(Number(v));
  };
}

bootSteps.push(async (server) => {
  keyCount = () => server.ks.dbs.reduce((n, db) => n + db.size, 0);
  registerInfoSection('memory', 'Memory', () => [...heapInfo(), ['heap_fits_maxmemory', maxmemoryFits(getInt('maxmemory')) ? 1 : 0]]);
});
