/**
 * Memory goes back after a spike. V8 gives pages of its heap back to the
 * system only after a full collection, and a Buffer's or a large external
 * string's memory (replies queued for a slow reader, a client's query
 * buffer, big values) only after the collection that finds it unreachable;
 * a server that goes quiet after a burst runs no collection at all, so its
 * resident size stayed at the peak (measured: 600 MB resident, indefinitely,
 * after FLUSHALL of 430 MB of keys).
 *
 * So when the server is quiet (under QUIET_CMDS commands in the last
 * CHECK_MS) and clients hold little in socket queues and query buffers
 * (a collection cannot free those, and would take them for the dataset),
 * one full collection runs if:
 *  - resident size grew well past what it was after the last one (a spike
 *    of output, input or data), or
 *  - the key count fell by a quarter or more from its peak since (FLUSHALL, mass DEL), or
 *  - resident size is far above what was live after the last one and that
 *    was small, retried with a doubling back-off while it does not help.
 * And, busy or not, one when FLUSHALL/FLUSHDB dropped 64 MB or more of value
 * slabs (DROPPED_SLABS_MIN).
 * A full collection is atomic: it pauses the server for a time that grows
 * with the live heap (about 50 ms for a small one, 2 s for the 410 MB of 4M
 * keys on the test VM). Redis never stalls like that, so it runs only when
 * its expected pause (the live heap estimate, used_memory, at the rate the
 * last collections took) is within PAUSE_BUDGET_MS, when the server is
 * quiet, and at most once per MIN_INTERVAL_MS. Above that, V8's own
 * incremental collections (short steps) are what return memory. MEMORY
 * PURGE runs one now, whatever it costs: the operator asked.
 */
import type { Server } from '../server/server.js';
import { fullGc } from './gc.js';
import { heapLiveBytes } from './usage.js';
import { clearDroppedSlabBytes, droppedSlabBytes } from '../keyspace/value-store.js';
import { log } from '../log.js';

const CHECK_MS = 1000;
const QUIET_CMDS = 1000;
/** Longest expected pause an unrequested collection may cause (issue 9: no pause over 100 ms). */
const PAUSE_BUDGET_MS = 100;
/** Growth over the post-collection size that counts as a spike: x1.25 + 32 MB. */
const GROWTH_FACTOR = 1.25;
const GROWTH_BYTES = 32 * 1024 * 1024;
/** Resident over live that is worth a retry: x1.5 + 64 MB. */
const SLACK_FACTOR = 1.5;
const SLACK_BYTES = 64 * 1024 * 1024;
/**
 * Retries only while the live heap is small enough for a full collection to
 * be short (tens of ms); a large dataset is collected on growth and key-count
 * drops only.
 */
const SLACK_LIVE_MAX = 512 * 1024 * 1024;
/** Between two collections at least this; each trigger needs a new change, so they stay rare. */
const MIN_INTERVAL_MS = 2000;
const FIRST_BACKOFF_MS = 5000;
const MAX_BACKOFF_MS = 30 * 60 * 1000;
/**
 * Value slabs of dropped tables (FLUSHALL, FLUSHDB) above which a collection
 * runs even while the server is busy, if it is short: V8 does not count
 * them, so under a steady load nothing else would free them before the
 * refill had doubled the process.
 */
const DROPPED_SLABS_MIN = 64 * 1024 * 1024;
/** Client-held bytes (socket queues, unparsed input) above which the collection waits. */
const HELD_MAX = 16 * 1024 * 1024;

let rssAfter = process.memoryUsage.rss();
let liveAfter = 0;
/** Most keys seen since the last collection. */
let keysPeak = 0;
let lastRun = 0;
let backoff = FIRST_BACKOFF_MS;
/**
 * Milliseconds of full collection per byte of live heap: MS_PER_BYTE_MIN
 * until one has run here, then what the last one took, but never under
 * MS_PER_BYTE_MIN: a small heap collects faster per byte than a large one
 * (31 MB in 0.7 ms per MB here), and extrapolating from it would allow
 * multi-second pauses. With keys, values and slots off the heap, 1.5M keys
 * leave a 30 MB heap collected in 62-70 ms (2.2 ms per MB); when keys were
 * heap strings, 4M small keys made 413 MB collected in 2.1 s (5 ms per MB).
 */
const MS_PER_BYTE_MIN = 2.5 / (1024 * 1024);
let msPerByte = MS_PER_BYTE_MIN;

/** What a full collection has to look at: the heap and Buffers, not the value slabs (plain bytes to V8). */
function live(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

/**
 * Full collections now, two by default: measured, one left ~60% of a
 * flushed 450 MB of large values resident (their external memory goes with
 * the second).
 */
export function purgeMemory(stores: readonly { trim(): number }[], collections = 2): { before: number; after: number } {
  const before = process.memoryUsage.rss();
  // Value slabs left empty by deletes go with the collection (the keyspace's
  // stores: a dropped table's go whole, with the table).
  for (const s of stores) s.trim();
  for (let i = 0; i < collections; i++) fullGc();
  lastRun = Date.now();
  rssAfter = process.memoryUsage.rss();
  liveAfter = live();
  return { before, after: rssAfter };
}

/** What `collections` full collections now are expected to cost: marking is proportional to the live heap. */
function expectedPauseMs(collections: number): number {
  return heapLiveBytes() * msPerByte * collections;
}

function heldByClients(server: Server): number {
  let n = 0;
  // A request still arriving holds its parsed arguments too: a giant one is
  // not a quiet moment, and its memory is not garbage to collect.
  for (const c of server.clients.values()) n += c.socket.writableLength + c.parser.buffered + c.parser.argvMemory;
  return n;
}

function keyCount(server: Server): number {
  let n = 0;
  for (const db of server.ks.dbs) n += db.size;
  return n;
}

export function installIdleRelease(server: Server): void {
  let seen = server.stats.commands;
  keysPeak = keyCount(server);
  const timer = setInterval(() => {
    const cmds = server.stats.commands;
    const busy = cmds - seen >= QUIET_CMDS;
    seen = cmds;
    const now = Date.now();
    // A boot load's growth is all live data: a full collection mid-load frees nothing and costs seconds.
    if (server.loading || now - lastRun < MIN_INTERVAL_MS) return;
    const slabsDropped = droppedSlabBytes() >= DROPPED_SLABS_MIN;
    if (busy && !slabsDropped) return;
    if (!slabsDropped && heldByClients(server) > HELD_MAX) return;
    const rss = process.memoryUsage.rss();
    const keys = keyCount(server);
    if (keys > keysPeak) keysPeak = keys;
    let why: string | null = null;
    if (slabsDropped) why = 'slabs-dropped';
    else if (rss > rssAfter * GROWTH_FACTOR + GROWTH_BYTES) why = 'grown';
    else if (keys < keysPeak * 0.75) why = 'keys-dropped';
    else if (liveAfter < SLACK_LIVE_MAX && rss > liveAfter * SLACK_FACTOR + SLACK_BYTES && now - lastRun >= backoff) why = 'slack';
    if (why === null) return;
    // A busy server gets one collection (what frees the dropped slabs), a quiet one two:
    // back to back, one pause, which the budget bounds.
    const collections = busy ? 1 : 2;
    if (expectedPauseMs(collections) > PAUSE_BUDGET_MS) {
      // Too long a pause: the dropped slabs wait for V8's own next major collection.
      clearDroppedSlabBytes();
      return;
    }
    clearDroppedSlabBytes();
    const t0 = performance.now();
    const { before, after } = purgeMemory(server.ks.dbs.flatMap((db) => db.table.stores), collections);
    const ms = performance.now() - t0;
    // Each collection over about the same live heap (marking is of the heap, not of Buffers).
    const heapAfter = process.memoryUsage().heapUsed;
    if (heapAfter > 0) msPerByte = Math.max(MS_PER_BYTE_MIN, ms / collections / heapAfter);
    keysPeak = keys;
    // A retry that gave back little waits twice as long next time.
    if (why === 'slack' && after > before * 0.9) backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    else backoff = FIRST_BACKOFF_MS;
    log.info(
      { reason: why, rssBefore: before, rssAfter: after, live: liveAfter, ms: Math.round(ms) },
      'quiet after a memory spike: ran a full garbage collection to give memory back',
    );
  }, CHECK_MS);
  timer.unref();
}
