/**
 * objectSetLRUOrLFU (object.c): the access metadata a key gets from
 * RESTORE's IDLETIME / FREQ or an RDB file's IDLE / FREQ records. Under an
 * LFU policy only a frequency applies, under any other only an idle time.
 */
import { freshMeta, LRU_CLOCK_MAX } from '../memory/lru.js';
import { mem } from '../memory/settings.js';

/** The key table's meta word, or null to leave the fresh one. */
export function accessMeta(freq: number, idleSeconds: number): number | null {
  const now = freshMeta();
  if (mem.lfu) return freq >= 0 ? (now & ~0xff) | freq : null;
  if (idleSeconds < 0) return null;
  let abs = now - idleSeconds;
  // A wrapped clock: half-way round, so the key still looks long idle.
  if (abs < 0) abs = (now + Math.floor(LRU_CLOCK_MAX / 2)) % LRU_CLOCK_MAX;
  return abs;
}
