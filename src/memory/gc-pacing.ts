/**
 * How much garbage V8 may pile up between major GCs while maxmemory is set.
 *
 * V8 lets the old generation grow to up to 4x its live size before the next
 * major GC (its heap-growing factor is dynamic, and large under a steady
 * write load). Eviction keeps the live dataset at maxmemory, but the
 * evicted values are garbage until that GC: measured with 300 MB live and
 * sustained replacement, RSS peaked at 630-740 MB with V8's default and at
 * ~290 MB with a fixed 10-20% growth. In the server (bench/maxmemory-rss.mjs,
 * maxmemory 512 MB of 1 KiB values), 20% left the heap at 1.35x the live
 * data once fragmentation is added, 10% at 1.2x. So while maxmemory is set
 * the factor is pinned at 1 + HEAP_GROWING_PERCENT/100: more frequent major
 * GCs (their marking is concurrent) for an RSS that stays near the limit.
 */
import v8 from 'node:v8';
import { mem, settingsListeners } from './settings.js';

export const HEAP_GROWING_PERCENT = 10;

let applied = -1;

function apply(): void {
  const want = mem.maxmemory > 0 ? HEAP_GROWING_PERCENT : 0;
  if (want === applied) return;
  // 0 restores V8's own dynamic factor. The flag is read at every GC, so
  // changing it at runtime takes effect from the next one.
  v8.setFlagsFromString(`--heap-growing-percent=${want}`);
  applied = want;
}

export function installGcPacing(): void {
  settingsListeners.push(apply);
  apply();
}
