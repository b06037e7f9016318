/**
 * The latency monitor (Redis's latency.c): events that took at least
 * `latency-monitor-threshold` milliseconds ("command", "fast-command",
 * "expire-cycle", "eviction-cycle") are kept as a time series of the last
 * 160 seconds that had one (one sample per second, its maximum), with the
 * all-time maximum. A threshold of 0 turns it off, as in Redis.
 */
import { defineParam } from '../config/params.js';

const TS_LEN = 160;

interface Series {
  times: number[];
  latencies: number[];
  max: number;
}

export const latencySettings = { thresholdMs: 0 };

defineParam({
  name: 'latency-monitor-threshold',
  type: 'int',
  default: '0',
  min: 0,
  max: Number.MAX_SAFE_INTEGER,
  mutable: true,
  help: 'events (commands, expire and eviction cycles) at least this many ms long go to LATENCY LATEST/HISTORY (0: off)',
  apply: (v) => (latencySettings.thresholdMs = Number(v)),
});

const events = new Map<string, Series>();

/** latencyAddSampleIfNeeded. */
export function latencySample(event: string, ms: number): void {
  const t = latencySettings.thresholdMs;
  if (t === 0 || ms < t) return;
  const latency = Math.floor(ms);
  const now = Math.floor(Date.now() / 1000);
  let s = events.get(event);
  if (s === undefined) events.set(event, (s = { times: [], latencies: [], max: 0 }));
  if (latency > s.max) s.max = latency;
  const last = s.times.length - 1;
  if (last >= 0 && s.times[last] === now) {
    if (latency > s.latencies[last]) s.latencies[last] = latency;
    return;
  }
  s.times.push(now);
  s.latencies.push(latency);
  if (s.times.length > TS_LEN) {
    s.times.shift();
    s.latencies.shift();
  }
}

/** LATENCY LATEST: [event, time of the last sample, its latency, all-time max]. */
export function latestEvents(): [string, number, number, number][] {
  return [...events].map(([name, s]) => [name, s.times[s.times.length - 1], s.latencies[s.latencies.length - 1], s.max]);
}

export function eventHistory(event: string): [number, number][] {
  const s = events.get(event);
  return s === undefined ? [] : s.times.map((t, i) => [t, s.latencies[i]]);
}

/** LATENCY RESET: the named events (all when none), returning how many existed. */
export function resetEvents(names: string[]): number {
  if (names.length === 0) {
    const n = events.size;
    events.clear();
    return n;
  }
  let n = 0;
  for (const e of names) if (events.delete(e)) n++;
  return n;
}

export function eventSeries(event: string): { times: number[]; latencies: number[]; max: number } | undefined {
  return events.get(event);
}

export function eventNames(): string[] {
  return [...events.keys()];
}
