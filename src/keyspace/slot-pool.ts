/**
 * SlotPool: the memory of a KeyTable's segment slots, outside V8's heap.
 *
 * Why: each scavenge (young-generation GC, every few MB of request garbage)
 * visits every page of the old generation, at 1-2 us a page on this class
 * of machine. Slot arrays kept as V8 arrays made the old generation ~730 MB
 * at 20M keys (~2,900 pages): scavenges of 4-6 ms at -P 1, several a
 * second under load, which is where p99 latency came from. In process, with
 * 500k segments of 64 slots and request-like garbage: 7.6 ms a scavenge as
 * double arrays, 2.9 ms as views into pooled buffers (bench/RESULTS.md).
 * Major GCs also stop visiting ~500k backing stores.
 *
 * A segment's slots are a run of doubles in a chunk (a 1 MiB shared buffer,
 * which V8 does not count as external memory either, as the value slabs:
 * value-store.ts). The segment holds the chunk's one Float64Array and the
 * run's offset, not a view of its own: a view per segment was a second heap
 * object per segment for every major GC to mark (~600k at 20M keys, the
 * mark-compacts of 100-500 ms during snapshots and boot) and a second
 * dependent cache miss on every lookup (segment, view, slots), where the
 * few hundred chunk arrays stay cached. Runs are reused by length: the
 * capacities a segment takes are few (multiples of 8 slots up to 64, see
 * table.ts), so a free list per length finds one without splitting or
 * merging. A length past the pooled ones (a segment of crafted keys sharing
 * their low hash bits) gets a buffer of its own. A segment's expiries (one
 * double a slot, when any key in it has one) are runs here too: as V8
 * arrays, a dataset of keys with TTLs (a cache) would have brought back the
 * old generation every scavenge walks. After mass deletes, memory
 * purges give back the chunks no segment uses any more (trim).
 */
import { noteDroppedSlabBytes } from './value-store.js';

const CHUNK_BYTES = 1 << 20;
const CHUNK_DOUBLES = CHUNK_BYTES / 8;
/** Longest run kept in the pool, in doubles (64 slots of 3 words). */
const POOLED_MAX = 64 * 3;

/** A lazy segment's slots (table.ts): no memory until its first key. */
export const NO_SLOTS = new Float64Array(0);
const NO_CHUNK = -1;

/** Where a segment's slots are; the pool sets these fields, table.ts reads them. */
export interface SlotRun {
  /** The chunk's array (or a run's own one, or NO_SLOTS). */
  s: Float64Array;
  /** First double of the run in s. */
  o: number;
  /** Doubles in the run (0: none). */
  words: number;
}

/** Bytes of runs handed out across every pool in use: used_memory counts them, as the stores' cells. */
let liveBytes = 0;
/** Bytes of chunks across every pool in use: what the process holds for them. */
let chunkBytes = 0;

export function slotsLiveBytes(): number {
  return liveBytes;
}
export function slotsChunkBytes(): number {
  return chunkBytes;
}

interface Held {
  /** Bytes of chunks. */
  bytes: number;
  /** Bytes of runs handed out (and not given back). */
  live: number;
}

/** A pool dropped without forget() stops counting when V8 collects it (and its chunks with it). */
const poolsGone = new FinalizationRegistry<Held>((held) => {
  chunkBytes -= held.bytes;
  liveBytes -= held.live;
});

export class SlotPool {
  /** The chunks, by index (null: given back by trim, index free for reuse). */
  private readonly chunks: (Float64Array | null)[] = [];
  /** Each chunk's index (runs are given back rarely: segments do not carry it). */
  private readonly indexOf = new Map<Float64Array, number>();
  /** Runs in use per chunk: a chunk with none can be given back (trim). */
  private readonly inUse: number[] = [];
  /** Indexes trim freed. */
  private readonly spareIndexes: number[] = [];
  /** Free runs per length (index: length in doubles), as ci * CHUNK_DOUBLES + offset. */
  private readonly free: number[][] = Array.from({ length: POOLED_MAX + 1 }, () => []);
  /** The chunk being carved, and how many of its doubles are handed out. */
  private cur = NO_CHUNK;
  private used = CHUNK_DOUBLES;
  /** What this pool counts in the off-heap totals (until forget()). */
  private readonly held: Held = { bytes: 0, live: 0 };
  /** forget() was called: nothing here counts any more (a snapshot may still be reading the table). */
  private forgotten = false;
  /** Between beginMove() and endMove(): runs given back are not reused. */
  private moving = false;
  /** The array of the run the last takeRun() handed out. */
  taken: Float64Array = NO_SLOTS;

  constructor() {
    poolsGone.register(this, this.held);
  }

  /** Bytes of chunks held. */
  get chunkBytes(): number {
    return (this.chunks.length - this.spareIndexes.length) * CHUNK_BYTES;
  }

  /** Point `run` at a run of `len` doubles (contents unspecified: the caller lays it out). */
  take(run: SlotRun, len: number): void {
    run.o = this.takeRun(len);
    run.s = this.taken;
    run.words = len;
  }

  /** Give run's slots back for reuse (they must not be read or written again); run is left empty. */
  give(run: SlotRun): void {
    this.giveRun(run.s, run.o, run.words);
    run.s = NO_SLOTS;
    run.o = 0;
    run.words = 0;
  }

  /**
   * A run of `len` doubles (contents unspecified): returns its offset in
   * `this.taken`, the array it is in. For a segment's expiries, which have
   * no SlotRun of their own.
   */
  takeRun(len: number): number {
    if (len > POOLED_MAX) {
      this.taken = new Float64Array(len);
      return 0;
    }
    if (!this.forgotten) {
      this.held.live += len * 8;
      liveBytes += len * 8;
    }
    const list = this.free[len];
    if (list.length > 0) {
      const a = list.pop()!;
      const ci = Math.floor(a / CHUNK_DOUBLES);
      this.taken = this.chunks[ci]!;
      this.inUse[ci]++;
      return a - ci * CHUNK_DOUBLES;
    }
    if (this.used + len > CHUNK_DOUBLES) this.newChunk();
    const ci = this.cur;
    const o = this.used;
    this.taken = this.chunks[ci]!;
    this.used += len;
    this.inUse[ci]++;
    return o;
  }

  private newChunk(): void {
    const s = new Float64Array(new SharedArrayBuffer(CHUNK_BYTES));
    const ci = this.spareIndexes.length > 0 ? this.spareIndexes.pop()! : this.chunks.length;
    this.chunks[ci] = s;
    this.indexOf.set(s, ci);
    this.inUse[ci] = 0;
    this.cur = ci;
    this.used = 0;
    if (!this.forgotten) {
      this.held.bytes += CHUNK_BYTES;
      chunkBytes += CHUNK_BYTES;
    }
  }

  /** Give back the run of `len` doubles at `o` in `s` (it must not be read or written again). */
  giveRun(s: Float64Array, o: number, len: number): void {
    const ci = this.indexOf.get(s) ?? NO_CHUNK;
    if (ci === NO_CHUNK || len === 0) return;
    if (!this.moving) this.free[len].push(ci * CHUNK_DOUBLES + o);
    this.inUse[ci]--;
    if (this.forgotten) return;
    this.held.live -= len * 8;
    liveBytes -= len * 8;
  }

  /**
   * Runs in use fill less than half the chunks: after mass deletes the
   * runs left are spread over chunks trim cannot give back. The table then
   * moves every run (beginMove, take and give each, endMove), and trim
   * frees the old chunks.
   */
  get sparse(): boolean {
    return this.held.live * 2 < this.held.bytes;
  }

  /** Runs taken from now on come from new chunks, and runs given back are not reused, until endMove(). */
  beginMove(): void {
    for (const list of this.free) list.length = 0;
    this.cur = NO_CHUNK;
    this.used = CHUNK_DOUBLES;
    this.moving = true;
  }

  endMove(): void {
    this.moving = false;
  }

  /**
   * Give back the chunks no segment uses (mass deletes shrank the segments
   * whose slots they held): their runs leave the free lists, and V8 frees
   * the chunks. Memory purges call it (MEMORY PURGE, idle release).
   * Returns the bytes released.
   */
  trim(): number {
    const empty = new Set<number>();
    for (let ci = 0; ci < this.chunks.length; ci++) if (this.chunks[ci] !== null && this.inUse[ci] === 0) empty.add(ci);
    if (empty.size === 0) return 0;
    for (const list of this.free) {
      let w = 0;
      for (let i = 0; i < list.length; i++) if (!empty.has(Math.floor(list[i] / CHUNK_DOUBLES))) list[w++] = list[i];
      list.length = w;
    }
    for (const ci of empty) {
      this.indexOf.delete(this.chunks[ci]!);
      this.chunks[ci] = null;
      this.spareIndexes.push(ci);
    }
    // The chunk being carved goes too: the next run starts a new one.
    if (empty.has(this.cur)) {
      this.cur = NO_CHUNK;
      this.used = CHUNK_DOUBLES;
    }
    const bytes = empty.size * CHUNK_BYTES;
    if (!this.forgotten) {
      this.held.bytes -= bytes;
      chunkBytes -= bytes;
    }
    return bytes;
  }

  /** The table was dropped: its chunks stop counting now (they go when V8 collects the segments). */
  forget(): void {
    chunkBytes -= this.held.bytes;
    liveBytes -= this.held.live;
    noteDroppedSlabBytes(this.held.bytes);
    this.held.bytes = 0;
    this.held.live = 0;
    this.forgotten = true;
  }
}
