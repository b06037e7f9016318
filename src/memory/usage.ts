/**
 * used_memory: what the dataset and the server cost, as Redis's
 * zmalloc_used_memory() counts live allocations.
 *
 * V8's heapUsed counts garbage until the next major GC, so evicting on it
 * would evict live keys to make room for garbage (the dataset would shrink
 * to a fraction of maxmemory and swing with the GC cycle). Instead:
 *
 *   used_memory = live heap measured after the last major GC
 *               + (the dataset's accounted cost now - what it was then)
 *               + external memory (Buffers: client output, snapshot frames)
 *               + the cells of string values kept outside the heap
 *                 (keyspace/value-store.ts: exact at every moment; their
 *                 slabs are not in V8's external memory, so a freed cell
 *                 waiting for reuse is not counted as used)
 *
 * The accounted cost is an O(1) estimate per value (valueCost), kept as
 * deltas by db.set/delete/modified; it only has to be right between two
 * major GCs, since each GC measures the truth again. So estimation errors
 * (collection elements of unknown size, the table's own overhead) cannot
 * accumulate: at worst used_memory jumps at the next GC and eviction
 * catches up.
 *
 * What keeps RSS near used_memory is then the garbage between GCs: V8 lets
 * the old generation grow up to 4x its live size before a major GC. While
 * maxmemory is set, gc-pacing.ts lowers that growth so garbage stays a bounded
 * fraction of the limit.
 */
import v8 from 'node:v8';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import type { Value } from '../types/value.js';
import { fullGc } from './gc.js';
import { oldGenerationUsed } from './v8-heap.js';
import { fitsOffHeap, keyFitsOffHeap, offHeapLiveBytes, offHeapSlabBytes } from '../keyspace/value-store.js';
import { slotsChunkBytes, slotsLiveBytes } from '../keyspace/slot-pool.js';

/** Sum of valueCost over all keys, kept as deltas (absolute value meaningless after a load or reload). */
let accounted = 0;
/** Live heap (the old generation's bytes) right after the last major GC, and `accounted` at that moment. */
let liveAfterGc = 0;
let accountedAtGc = 0;
/** The old generation as the last major GC left it (not the least of a window, as liveAfterGc). */
let heapAtGc = 0;
let majorGcs = 0;
let lastGcAt = 0;
const recentBases: number[] = [];
const BASE_WINDOW = 8;
/** Heap in use once the server is up, before any data: Redis's used_memory_startup. */
let startup = 0;
let peak = 0;

const align8 = (n: number) => (n + 7) & ~7;

/**
 * Bytes one key costs, measured on this layout (test/ and bench/ figures:
 * a 16-byte key with a 1000-byte value costs 1159 bytes of live heap):
 * the table's entries and metadata (~112, 34 of them now slots counted by
 * the slot pool: TABLE_ENTRY_COST), the key and the value strings
 * with their headers. Collections keep their element sizes private, so they
 * count a flat cost per element; the GC measurement corrects the rest.
 */
export function valueCost(key: string, v: Value | number): number {
  // A key (almost always) and a string value kept outside the heap (a
  // number: its length, from lookupShape) have their cells counted in
  // offHeapLiveBytes: the heap pays the table entry.
  const base = TABLE_ENTRY_COST + (keyFitsOffHeap(key.length) ? 0 : align8(12 + key.length));
  if (typeof v === 'number') return base;
  if (typeof v === 'string') return fitsOffHeap(v.length) ? base : base + align8(12 + v.length);
  return base + (v.memoryCost !== undefined ? v.memoryCost() : 96 + v.size * 64);
}

/**
 * Collections change in place (HSET on an existing hash), so the cost
 * last accounted for each one is kept on it, to account the difference.
 */
const COST = Symbol('accountedCost');
type Costed = { [COST]?: number };

/** The cost accounted for v now (what db.set/delete add or take away). */
export function accountedCost(key: string, v: Value | number): number {
  if (typeof v !== 'object') return valueCost(key, v);
  const c = (v as Costed)[COST];
  return c === undefined ? valueCost(key, v) : c;
}

/** A value entered the keyspace; returns its cost. */
export function accountAdd(key: string, v: Value): number {
  const c = valueCost(key, v);
  if (typeof v !== 'string') (v as Costed)[COST] = c;
  accounted += c;
  return c;
}

/** A value left the keyspace; returns its cost. */
export function accountRemove(key: string, v: Value | number): number {
  const c = accountedCost(key, v);
  accounted -= c;
  return c;
}

/** A collection changed in place: account the difference. Returns it. */
export function accountChange(key: string, v: Value): number {
  if (typeof v === 'string') return 0;
  const before = (v as Costed)[COST] ?? valueCost(key, v);
  const now = valueCost(key, v);
  (v as Costed)[COST] = now;
  accounted += now - before;
  return now - before;
}

/** A whole table went (FLUSHDB/FLUSHALL) with this accounted cost. */
export function accountDrop(cost: number): void {
  accounted -= cost;
}

/**
 * used_memory - accounted, refreshed at most every REFRESH_MS by the batch
 * that finds it older (refreshUsageIfStale) and after each major GC, so
 * usedMemory() is one addition: the dispatcher asks before every command
 * while maxmemory is set, and reading V8's statistics each time would cost
 * a few percent of throughput. Not by a timer: a 5 ms interval woke an idle
 * server 200 times a second (2.4% of a core doing nothing), and what the
 * base follows (the heap, client buffers) moves only while commands run.
 */
let base = 0;
const REFRESH_MS = 5;
let refreshedAt = -Infinity;

/** Called with the batch clock before each batch of commands (server/dispatch.ts). */
export function refreshUsageIfStale(now: number): void {
  if (now - refreshedAt >= REFRESH_MS) {
    refreshedAt = now;
    refreshBase();
  }
}

function refreshBase(): void {
  const h = v8.getHeapStatistics();
  // Before the first major GC there is no measurement of the live heap:
  // the heap at start-up plus the accounted data (heapUsed would count the
  // start-up's garbage, and every reply's, as data).
  const heap = majorGcs === 0 ? startup : liveAfterGc - accountedAtGc;
  const external = (h as unknown as { external_memory: number }).external_memory;
  base = heap + external;
  const used = base + accounted + offHeapLiveBytes() + slotsLiveBytes();
  if (used > peak) peak = used;
}

/**
 * What a full collection now has to mark: the old generation the last
 * major GC left, plus what was accounted since. Not derived from
 * used_memory: that one's base is the least of several GCs (a floor, right
 * for used_memory, too low for a pause: 17.7 MB where 30 MB were live, over
 * 1.5M keys), and its client buffers (external memory) are not marked.
 */
export function heapLiveBytes(): number {
  return Math.max(0, heapAtGc + accounted - accountedAtGc);
}

export function usedMemory(): number {
  return Math.max(0, base + accounted + offHeapLiveBytes() + slotsLiveBytes());
}

/** The figures INFO and MEMORY report: used_memory as the last eviction check saw it. */
export function memoryFacts() {
  const m = process.memoryUsage();
  return {
    used: usedMemory(),
    peak,
    startup,
    rss: m.rss,
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    // Client buffers and snapshot frames (the value slabs are not external memory to V8; node counts them as ArrayBuffers).
    external: m.external,
    arrayBuffers: Math.max(0, m.arrayBuffers - offHeapSlabBytes() - slotsChunkBytes()),
    offHeapLive: offHeapLiveBytes(),
    offHeapSlabs: offHeapSlabBytes(),
    /** The key tables' segment slots (keyspace/slot-pool.ts): views in use, chunks held. */
    slotsLive: slotsLiveBytes(),
    slotsChunks: slotsChunkBytes(),
    /** What our allocators (V8, Buffers, the value slabs) hand out, garbage included, and what they hold. */
    allocated: m.heapUsed + m.external + offHeapLiveBytes() + slotsLiveBytes(),
    active: m.heapTotal + m.external + offHeapSlabBytes() + slotsChunkBytes(),
    liveAfterGc,
    majorGcs,
    lastGcAt,
    accounted,
  };
}

export function resetPeak(): void {
  peak = 0;
}

let observing = false;

/**
 * A load installed tables whose keys were never accounted (loaders fill
 * tables directly, not through db.set): the heap grew by all of them, and
 * the window of measureLive would keep taking the smallest, pre-load
 * measurement for the next BASE_WINDOW major GCs (used_memory after a
 * 20M-key boot read 180 MB of heap where 835 MB were live, so eviction,
 * and idle-release's pause estimate, saw too little). Start the window
 * again from the old generation as it is now: a load's garbage is young,
 * so this is close to live.
 */
export function heapGrewByLoad(): void {
  recentBases.length = 0;
  measureLive(false);
}

/**
 * Takes the live heap as measured now, right after a major GC. One after a
 * concurrent GC over-states what is not data by the garbage allocated while
 * V8 was marking (taken as live: MBs under a write load, every cycle), so
 * the least of the last BASE_WINDOW is used; a real rise of the overhead
 * shows after that many GCs. One after a full atomic GC (`exact`) has none
 * of it and replaces the window.
 */
function measureLive(exact: boolean): void {
  // The old generation only: the young one's fill at the moment of reading (up to
  // a semi-space of request garbage) moved used_memory by MBs from one GC to the next.
  const live = oldGenerationUsed();
  heapAtGc = live;
  if (exact) recentBases.length = 0;
  recentBases.push(live - accounted);
  if (recentBases.length > BASE_WINDOW) recentBases.shift();
  liveAfterGc = Math.min(...recentBases) + accounted;
  accountedAtGc = accounted;
  lastGcAt = Date.now();
  if (majorGcs === 0) majorGcs = 1;
  refreshBase();
}

/** Start measuring after major GCs; `startup` is taken now (call once the server is up). */
export function startUsageTracking(): void {
  if (observing) return;
  observing = true;
  // One GC of the small start-up heap (~20 ms) so that used_memory_startup,
  // and the first figures, are live data rather than module-loading garbage.
  fullGc();
  startup = oldGenerationUsed();
  heapAtGc = startup;
  refreshBase();
  const obs = new PerformanceObserver((list) => {
    let majors = 0;
    for (const e of list.getEntries()) {
      if ((e as unknown as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majors++;
    }
    if (majors === 0) return;
    // Entries arrive a little after their GC (several may come at once);
    // what was promoted since is in the old generation, taken as live.
    measureLive(false);
    majorGcs += majors;
  });
  obs.observe({ entryTypes: ['gc'] });
}

/**
 * How used_memory splits, as Redis's INFO and MEMORY STATS report it:
 * overhead is the empty server (startup), the clients' buffers and the key
 * table's per-key entries; the dataset is the rest.
 */
export function memoryOverhead(f: ReturnType<typeof memoryFacts>, keys = keyCount()) {
  const clients = f.external;
  const table = keys * TABLE_ENTRY_COST + f.slotsLive;
  const overhead = Math.min(f.used, f.startup + clients + table);
  return { overhead, clients, table, dataset: f.used - overhead };
}

/**
 * Of valueCost's fixed part, what the key table's entries take on the heap
 * (the rest is the key string). Their slots are off the heap since the slot
 * pool (keyspace/slot-pool.ts), counted as segments are laid out
 * (slotsLiveBytes): 34 bytes a key of the 112 measured with them on the heap
 * (1.5M keys: 33.8 B a key of slots, bench/RESULTS.md).
 */
export const TABLE_ENTRY_COST = 78;

let keyCount: () => number = () => 0;
export function setKeyCounter(f: () => number): void {
  keyCount = f;
}
