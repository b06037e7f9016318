/**
 * LATENCY over real TCP: the latency monitor (latency-monitor-threshold,
 * LATEST, HISTORY, RESET, GRAPH, DOCTOR) and per-command latency
 * histograms (LATENCY HISTOGRAM, INFO latencystats, latency-tracking and
 * its percentiles), with Redis's reply shapes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { startServer, type TestServer } from './helpers/server.js';

let srv: TestServer;
let c: Redis;
beforeAll(async () => {
  srv = await startServer(['--save', '', '--enable-debug-command', 'yes']);
  c = new Redis({ port: srv.port });
});
afterAll(async () => {
  c?.disconnect();
  await srv?.stop();
});

const histo = async (...cmds: string[]) => {
  const flat = (await c.call('LATENCY', 'HISTOGRAM', ...cmds)) as unknown[];
  const out = new Map<string, { calls: number; buckets: [number, number][] }>();
  for (let i = 0; i < flat.length; i += 2) {
    const [, calls, , b] = flat[i + 1] as [string, number, string, number[]];
    const buckets: [number, number][] = [];
    for (let j = 0; j < b.length; j += 2) buckets.push([b[j], b[j + 1]]);
    out.set(flat[i] as string, { calls, buckets });
  }
  return out;
};

describe('LATENCY HISTOGRAM and INFO latencystats', () => {
  it('counts each command, including CONFIG RESETSTAT itself, with cumulative power-of-two buckets', async () => {
    await c.config('RESETSTAT');
    let h = await histo();
    expect([...h.keys()]).toEqual(['config|resetstat']);
    await c.set('a', 'b');
    await c.set('c', 'd');
    await c.get('a');
    await c.client('ID');
    await c.client('LIST');
    h = await histo('set', 'client', 'nosuchcommand', 'get');
    expect([...h.keys()].sort()).toEqual(['client|id', 'client|list', 'get', 'set']);
    const set = h.get('set')!;
    expect(set.calls).toBe(2);
    // Cumulative counts that grow at increasing power-of-two microsecond bounds, ending at the total.
    expect(set.buckets.at(-1)![1]).toBe(2);
    for (let i = 1; i < set.buckets.length; i++) {
      expect(set.buckets[i][0]).toBeGreaterThan(set.buckets[i - 1][0]);
      expect(set.buckets[i][1]).toBeGreaterThan(set.buckets[i - 1][1]);
    }
    expect([...(await histo('client|id')).keys()]).toEqual(['client|id']);
  });

  it('INFO latencystats gives the configured percentiles; latency-tracking no stops recording', async () => {
    await c.config('RESETSTAT');
    await c.call('DEBUG', 'SLEEP', '0.02');
    let info = await c.info('latencystats');
    const m = /latency_percentiles_usec_debug:p50=([\d.]+),p99=([\d.]+),p99\.9=([\d.]+)/.exec(info);
    expect(m).not.toBeNull();
    // 20 ms, known within the histogram's 1% precision.
    expect(Number(m![1])).toBeGreaterThan(19000);
    expect(Number(m![1])).toBeLessThan(40000);
    expect(await c.info()).not.toContain('# Latencystats');
    await c.config('SET', 'latency-tracking-info-percentiles', '50.0 99.5');
    expect(await c.config('GET', 'latency-tracking-info-percentiles')).toEqual(['latency-tracking-info-percentiles', '50 99.5']);
    info = await c.info('latencystats');
    expect(info).toMatch(/latency_percentiles_usec_debug:p50=[\d.]+,p99\.5=[\d.]+\r\n/);
    await expect(c.config('SET', 'latency-tracking-info-percentiles', '101')).rejects.toThrow('latency-tracking-info-percentiles parameters should sit between [0.0,100.0]');
    await c.config('SET', 'latency-tracking-info-percentiles', '50 99 99.9');
    await c.config('SET', 'latency-tracking', 'no');
    await c.config('RESETSTAT');
    await c.get('x');
    expect(await histo('get')).toEqual(new Map());
    await c.config('SET', 'latency-tracking', 'yes');
  });
});

describe('latency monitor', () => {
  it('records commands slower than the threshold, one sample per second, and reports them', async () => {
    await c.config('SET', 'latency-monitor-threshold', '0');
    await c.call('LATENCY', 'RESET');
    await c.call('DEBUG', 'SLEEP', '0.05');
    expect(await c.call('LATENCY', 'LATEST')).toEqual([]);
    expect(await c.call('LATENCY', 'DOCTOR')).toMatch(/Latency monitoring is disabled/);
    await c.config('SET', 'latency-monitor-threshold', '30');
    await c.call('DEBUG', 'SLEEP', '0.05');
    await c.call('DEBUG', 'SLEEP', '0.07');
    await c.get('fast');
    const latest = (await c.call('LATENCY', 'LATEST')) as [string, number, number, number][];
    expect(latest).toHaveLength(1);
    const [name, time, last, max] = latest[0];
    expect(name).toBe('command');
    expect(Math.abs(time - Date.now() / 1000)).toBeLessThan(5);
    expect(max).toBeGreaterThanOrEqual(70);
    expect(last).toBeGreaterThanOrEqual(50);
    const hist = (await c.call('LATENCY', 'HISTORY', 'command')) as [number, number][];
    // Both sleeps fell in one or two seconds: one sample each second, holding its maximum.
    expect(hist.length).toBeGreaterThanOrEqual(1);
    expect(Math.max(...hist.map((h) => h[1]))).toBe(max);
    expect(await c.call('LATENCY', 'HISTORY', 'nosuchevent')).toEqual([]);
    expect(await c.call('LATENCY', 'GRAPH', 'command')).toMatch(/^command - high \d+ ms, low \d+ ms \(all time high \d+ ms\)/);
    await expect(c.call('LATENCY', 'GRAPH', 'nosuchevent')).rejects.toThrow("ERR No samples available for event 'nosuchevent'");
    expect(await c.call('LATENCY', 'DOCTOR')).toMatch(/1\. command: \d+ latency spikes/);
    expect(await c.call('LATENCY', 'RESET', 'nosuchevent')).toBe(0);
    expect(await c.call('LATENCY', 'RESET')).toBe(1);
    expect(await c.call('LATENCY', 'LATEST')).toEqual([]);
    await c.config('SET', 'latency-monitor-threshold', '0');
  });

  it('answers HELP as status lines and arity errors as Redis', async () => {
    const help = (await c.call('LATENCY', 'HELP')) as string[];
    expect(help[0]).toBe('LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:');
    expect(help.at(-1)).toBe('    Prints this help.');
    await expect(c.call('LATENCY', 'HELP', 'xxx')).rejects.toThrow("wrong number of arguments for 'latency|help' command");
  });
});
