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
 * A segment's slots are a Float64Array view into a chunk (a 1 MiB shared
 * buffer, which V8 does not count as external memory either, as the value
 * slabs: value-store.ts). Views are reused by length: the capacities a
 * segment takes are few (multiples of 8 slots up to 64, see table.ts), so a
 * free list per length finds one without splitting or merging. A length
 * past the pooled ones (a segment of crafted keys sharing their low hash
 * bits) gets a buffer of its own. After mass deletes, memory purges give
 * back the chunks no segment uses any more (trim).
 */
import { noteDroppedSlabBytes } from './value-store.js';

const CHUNK_BYTES = 1 << 20;
const CHUNK_DOUBLES = CHUNK_BYTES / 8;
/** Longest view kept in the pool, in doubles (64 slots of 3 words). */
const POOLED_MAX = 64 * 3;

/** A lazy segment's slots (table.ts): no memory until its first key. */
export const NO_SLOTS = new Float64Array(0);

/** Bytes of views handed out across every pool in use: used_memory counts them, as the stores' cells. */
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
  /** Bytes of views handed out (and not given back). */
  live: number;
}

/** A pool dropped without forget() stops counting when V8 collects it (and its chunks with it). */
const poolsGone = new FinalizationRegistry<Held>((held) => {
  chunkBytes -= held.bytes;
  liveBytes -= held.live;
});

export class SlotPool {
  /** Free views per length (index: length in doubles). */
  private readonly free: Float64Array[][] = Array.from({ length: POOLED_MAX + 1 }, () => []);
  private chunk: SharedArrayBuffer | null = null;
  /** Views in use per chunk: a chunk with none can be given back (trim). */
  private readonly inUse = new Map<ArrayBufferLike, number>();
  /** Doubles of the current chunk handed out. */
  private used = CHUNK_DOUBLES;
  /** What this pool counts in the off-heap totals (until forget()). */
  private readonly held: Held = { bytes: 0, live: 0 };
  /** forget() was called: nothing here counts any more (a snapshot may still be reading the table). */
  private forgotten = false;

  constructor() {
    poolsGone.register(this, this.held);
  }

  /** A view of `len` doubles (contents unspecified: the caller lays it out). */
  take(len: number): Float64Array {
    if (len > POOLED_MAX) return new Float64Array(len);
    if (!this.forgotten) {
      this.held.live += len * 8;
      liveBytes += len * 8;
    }
    const list = this.free[len];
    if (list.length > 0) {
      const v = list.pop()!;
      this.inUse.set(v.buffer, this.inUse.get(v.buffer)! + 1);
      return v;
    }
    if (this.used + len > CHUNK_DOUBLES) {
      this.chunk = new SharedArrayBuffer(CHUNK_BYTES);
      this.inUse.set(this.chunk, 0);
      this.used = 0;
      if (!this.forgotten) {
        this.held.bytes += CHUNK_BYTES;
        chunkBytes += CHUNK_BYTES;
      }
    }
    const v = new Float64Array(this.chunk!, this.used * 8, len);
    this.used += len;
    this.inUse.set(this.chunk!, this.inUse.get(this.chunk!)! + 1);
    return v;
  }

  /** Give a view back for reuse: it must not be read or written again. */
  give(v: Float64Array): void {
    const len = v.length;
    if (len === 0 || len > POOLED_MAX) return;
    this.free[len].push(v);
    this.inUse.set(v.buffer, this.inUse.get(v.buffer)! - 1);
    if (this.forgotten) return;
    this.held.live -= len * 8;
    liveBytes -= len * 8;
  }

  /**
   * Give back the chunks no segment uses (mass deletes shrank the segments
   * whose slots they held): their views leave the free lists, and V8 frees
   * the chunks with them. Memory purges call it (MEMORY PURGE, idle release).
   * Returns the bytes released.
   */
  trim(): number {
    const empty = new Set<ArrayBufferLike>();
    for (const [chunk, n] of this.inUse) if (n === 0) empty.add(chunk);
    if (empty.size === 0) return 0;
    for (const list of this.free) {
      let w = 0;
      for (let i = 0; i < list.length; i++) if (!empty.has(list[i].buffer)) list[w++] = list[i];
      list.length = w;
    }
    for (const chunk of empty) this.inUse.delete(chunk);
    // The chunk being carved goes too: the next view starts a new one.
    if (this.chunk !== null && empty.has(this.chunk)) {
      this.chunk = null;
      this.used = CHUNK_DOUBLES;
    }
    const bytes = empty.size * CHUNK_BYTES;
    if (!this.forgotten) {
      this.held.bytes -= bytes;
      chunkBytes -= bytes;
    }
    return bytes;
  }

  /** The table was dropped: its chunks stop counting now (they go when V8 collects the views). */
  forget(): void {
    chunkBytes -= this.held.bytes;
    liveBytes -= this.held.live;
    noteDroppedSlabBytes(this.held.bytes);
    this.held.bytes = 0;
    this.held.live = 0;
    this.forgotten = true;
  }
}
