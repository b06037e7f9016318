/**
 * The per-command latency tracking parameters: `latency-tracking` (yes:
 * every command's time goes to its histogram) and
 * `latency-tracking-info-percentiles` (which percentiles INFO
 * latencystats prints), validated as Redis does.
 */
import { defineParam } from '../config/params.js';
import { latencyTracking } from './latency-histogram.js';

defineParam({
  name: 'latency-tracking',
  type: 'bool',
  default: 'yes',
  mutable: true,
  help: 'keep a latency histogram per command (LATENCY HISTOGRAM, INFO latencystats)',
  apply: (v) => (latencyTracking.on = v === 'yes'),
});

/** Redis prints them as %f with trailing zeros trimmed. */
export function formatPercentile(p: number): string {
  return String(Number(p.toFixed(6)));
}

defineParam({
  name: 'latency-tracking-info-percentiles',
  type: 'string',
  default: '50 99 99.9',
  mutable: true,
  help: 'the percentiles INFO latencystats reports, space-separated, each 0 to 100',
  normalize: (raw) => {
    const parts = raw.split(' ').filter(Boolean);
    const ps = parts.map(Number);
    if (parts.some((p) => !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(p))) throw new Error('Invalid latency-tracking-info-percentiles parameters');
    if (ps.some((p) => p < 0 || p > 100)) throw new Error('latency-tracking-info-percentiles parameters should sit between [0.0,100.0]');
    return ps.map(formatPercentile).join(' ');
  },
  apply: (v) => (latencyTracking.percentiles = v.split(' ').filter(Boolean).map(Number)),
});
