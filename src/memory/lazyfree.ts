/**
 * Redis 7.0's lazy-free counters: INFO `lazyfree_pending_objects` and
 * `lazyfreed_objects` (lazyfree.c). Here every dropped value is freed by
 * the garbage collector, off the command path; what is counted is what
 * Redis would hand to its background thread: a value of more than 64
 * allocations deleted by UNLINK (or DEL with lazyfree-lazy-user-del), and
 * every key of a FLUSHDB/FLUSHALL ASYNC. The hand-off is the whole job, so
 * nothing is ever pending.
 */
import type { Value } from '../types/value.js';
import { StreamValue } from '../types/stream.js';
import { valueCost } from './usage.js';

/** Below this many allocations Redis frees synchronously: it is faster. */
const LAZYFREE_THRESHOLD = 64;
/** A quicklist node holds about this much (list-max-listpack-size -2). */
const LIST_NODE_BYTES = 8192;

let freed = 0;

/** lazyfreeGetFreeEffort: how many allocations freeing `v` takes in Redis. */
export function freeEffort(key: string, v: Value): number {
  if (typeof v === 'string') return 1;
  switch (v.type) {
    case 'list':
      return Math.max(1, Math.ceil(valueCost(key, v) / LIST_NODE_BYTES));
    case 'set':
    case 'hash':
      return v.encoding() === 'hashtable' ? v.size : 1;
    case 'zset':
      return v.encoding() === 'skiplist' ? v.size : 1;
    case 'stream': {
      const s = v as StreamValue;
      // Every node is an allocation, and so is each group with its PEL (the first group's PEL stands for all, as Redis estimates).
      let effort = s.nodes.length;
      const groups = s.groups;
      if (groups !== null && groups.size > 0) effort += groups.size * (1 + groups.values().next().value!.pel.size);
      return effort;
    }
    default:
      return 1;
  }
}

/** A value deleted the lazy way (UNLINK). */
export function freeLazily(key: string, v: Value): void {
  if (freeEffort(key, v) > LAZYFREE_THRESHOLD) freed++;
}

/** A database emptied the lazy way (FLUSHDB/FLUSHALL ASYNC): Redis counts its keys. */
export function freeKeysLazily(keys: number): void {
  freed += keys;
}

export function lazyfreedObjects(): number {
  return freed;
}

/** CONFIG RESETSTAT. */
export function resetLazyfreeStats(): void {
  freed = 0;
}
