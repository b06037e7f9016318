/**
 * The per-key access metadata Redis keeps in robj->lru (evict.c, object.c),
 * stored by the key table as a 24-bit number per key:
 *  - under an LRU (or any non-LFU) policy, the LRU clock of the last access:
 *    seconds, wrapping at 2^24;
 *  - under an LFU policy, (minutes & 0xffff) << 8 | a logarithmic counter
 *    that starts at LFU_INIT_VAL, grows by LFULogIncr and decays by one per
 *    `lfu-decay-time` minutes.
 * Switching policy at runtime leaves the old meaning in place until keys are
 * touched again, as in Redis.
 */
import { KeyTable } from '../keyspace/table.js';
import { mem, settingsListeners } from './settings.js';

export const LRU_CLOCK_MAX = (1 << 24) - 1;
const LRU_CLOCK_RESOLUTION = 1000;
export const LFU_INIT_VAL = 5;

/** Redis's server.lruclock / LFUGetTimeInMinutes, refreshed by a 100 ms timer (Redis: serverCron at hz 10). */
let lruClockNow = 0;
let minutesNow = 0;

function refreshClock(): void {
  const ms = Date.now();
  lruClockNow = Math.floor(ms / LRU_CLOCK_RESOLUTION) & LRU_CLOCK_MAX;
  minutesNow = Math.floor(ms / 60000) & 0xffff;
  KeyTable.newKeyMeta = freshMeta();
}

/** What a newly created value gets (Redis createObject). */
export function freshMeta(): number {
  return mem.lfu ? (minutesNow << 8) | LFU_INIT_VAL : lruClockNow;
}

/** Milliseconds since the access an LRU meta records (estimateObjectIdleTime). */
export function idleMs(meta: number): number {
  const c = lruClockNow;
  return (c >= meta ? c - meta : c + (LRU_CLOCK_MAX - meta)) * LRU_CLOCK_RESOLUTION;
}

function lfuTimeElapsed(ldt: number): number {
  return minutesNow >= ldt ? minutesNow - ldt : 65535 - ldt + minutesNow;
}

/** The counter of an LFU meta after the decay its age calls for (LFUDecrAndReturn). */
export function lfuDecrAndReturn(meta: number): number {
  let counter = meta & 255;
  const periods = mem.lfuDecayTime ? Math.floor(lfuTimeElapsed(meta >>> 8) / mem.lfuDecayTime) : 0;
  if (periods) counter = periods > counter ? 0 : counter - periods;
  return counter;
}

/** LFULogIncr: the more hits a key has, the less likely one more raises it. */
function lfuLogIncr(counter: number): number {
  if (counter === 255) return 255;
  const base = Math.max(0, counter - LFU_INIT_VAL);
  return Math.random() < 1 / (base * mem.lfuLogFactor + 1) ? counter + 1 : counter;
}

/** The meta after one access (lookupKey's updateLFU, or val->lru = LRU_CLOCK()). */
export function touched(meta: number): number {
  if (!mem.lfu) return lruClockNow;
  return (minutesNow << 8) | lfuLogIncr(lfuDecrAndReturn(meta));
}

settingsListeners.push(refreshClock);

/** Starts the 100 ms clock (Redis refreshes server.lruclock in serverCron). */
export function startAccessClock(): void {
  refreshClock();
  setInterval(refreshClock, 100).unref();
}
