/**
 * Bytes in V8's old generation (old, code, large-object and shared spaces).
 * The young generation is left out: it holds up to a semi-space of
 * short-lived request data, so counting it makes any figure swing by that
 * much with the moment it is read, and what survives there is promoted at
 * the next scavenge. What V8's heap limit and its out-of-memory rules count,
 * and the steadier measure of live data after a major GC (heap.ts, usage.ts).
 */
import v8 from 'node:v8';

export function oldGenerationUsed(): number {
  let used = 0;
  for (const s of v8.getHeapSpaceStatistics()) {
    if (s.space_name !== 'new_space' && s.space_name !== 'new_large_object_space') used += s.space_used_size;
  }
  return used;
}
