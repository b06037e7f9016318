/**
 * An ordered map from stream IDs to values: the pending-entries lists of
 * consumer groups and consumers (Redis keeps them in radix trees keyed by
 * the 128-bit ID). Sorted chunks of at most CHUNK keys with a binary search
 * over the chunks' first keys: seek, insert and delete are O(log n + CHUNK),
 * iteration is in ID order, and appends in increasing order (the usual
 * delivery pattern) land at the end of the last chunk.
 */
import { cmpId, type StreamID } from './stream-id.js';

const CHUNK = 128;

interface Chunk<V> {
  keys: StreamID[];
  vals: V[];
}

export class IdMap<V> {
  private chunks: Chunk<V>[] = [];
  size = 0;

  /** Index of the chunk that holds (or would hold) id. */
  private chunkFor(id: StreamID): number {
    const cs = this.chunks;
    let lo = 0;
    let hi = cs.length - 1;
    // Last chunk whose first key <= id (0 if none).
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (cmpId(cs[mid].keys[0], id) <= 0) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** First position in keys with key >= id. */
  private static lower(keys: StreamID[], id: StreamID): number {
    let lo = 0;
    let hi = keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cmpId(keys[mid], id) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  get(id: StreamID): V | undefined {
    if (this.size === 0) return undefined;
    const c = this.chunks[this.chunkFor(id)];
    const i = IdMap.lower(c.keys, id);
    return i < c.keys.length && cmpId(c.keys[i], id) === 0 ? c.vals[i] : undefined;
  }

  has(id: StreamID): boolean {
    return this.get(id) !== undefined;
  }

  /** Insert or replace. */
  set(id: StreamID, v: V): void {
    if (this.size === 0) {
      this.chunks.push({ keys: [id], vals: [v] });
      this.size = 1;
      return;
    }
    const ci = this.chunkFor(id);
    const c = this.chunks[ci];
    const keys = c.keys;
    // The common case: after the last key.
    if (cmpId(keys[keys.length - 1], id) < 0) {
      keys.push(id);
      c.vals.push(v);
    } else {
      const i = IdMap.lower(keys, id);
      if (i < keys.length && cmpId(keys[i], id) === 0) {
        c.vals[i] = v;
        return;
      }
      keys.splice(i, 0, id);
      c.vals.splice(i, 0, v);
    }
    this.size++;
    if (keys.length > CHUNK * 2) {
      const half = keys.length >> 1;
      this.chunks.splice(ci + 1, 0, { keys: keys.splice(half), vals: c.vals.splice(half) });
    }
  }

  delete(id: StreamID): V | undefined {
    if (this.size === 0) return undefined;
    const ci = this.chunkFor(id);
    const c = this.chunks[ci];
    const i = IdMap.lower(c.keys, id);
    if (i >= c.keys.length || cmpId(c.keys[i], id) !== 0) return undefined;
    const v = c.vals[i];
    c.keys.splice(i, 1);
    c.vals.splice(i, 1);
    this.size--;
    if (c.keys.length === 0) this.chunks.splice(ci, 1);
    return v;
  }

  first(): [StreamID, V] | undefined {
    if (this.size === 0) return undefined;
    const c = this.chunks[0];
    return [c.keys[0], c.vals[0]];
  }

  last(): [StreamID, V] | undefined {
    if (this.size === 0) return undefined;
    const c = this.chunks[this.chunks.length - 1];
    return [c.keys[c.keys.length - 1], c.vals[c.vals.length - 1]];
  }

  /**
   * Entries with key >= from, in order. Deleting the entry just yielded is
   * allowed (the walk re-seeks after a change).
   */
  *from(from: StreamID): Generator<[StreamID, V]> {
    let at = from;
    let inclusive = true;
    for (;;) {
      if (this.size === 0) return;
      let ci = this.chunkFor(at);
      let c = this.chunks[ci];
      let i = IdMap.lower(c.keys, at);
      if (!inclusive && i < c.keys.length && cmpId(c.keys[i], at) === 0) i++;
      const version = this.size;
      for (;;) {
        while (i >= c.keys.length) {
          ci++;
          if (ci >= this.chunks.length) return;
          c = this.chunks[ci];
          i = 0;
        }
        const k = c.keys[i];
        yield [k, c.vals[i]];
        if (this.size !== version || this.chunks[ci] !== c || c.keys[i] !== k) {
          at = k;
          inclusive = false;
          break;
        }
        i++;
      }
    }
  }

  *entries(): Generator<[StreamID, V]> {
    for (const c of this.chunks) for (let i = 0; i < c.keys.length; i++) yield [c.keys[i], c.vals[i]];
  }
}
