/**
 * GET /metrics over HTTP on the main port: Prometheus text that a parser
 * accepts, with the figures INFO reports (clients, commands, keys, memory,
 * snapshots); Redis clients on the same port are unaffected.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { startServer, until, type TestServer } from './helpers/server.js';

let srv: TestServer;
let c: Redis;
beforeAll(async () => {
  srv = await startServer([]);
  c = new Redis({ port: srv.port });
});
afterAll(async () => {
  c?.disconnect();
  await srv?.stop();
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A strict reader of the text format: every line a comment (HELP/TYPE) or a well-formed sample. */
function parse(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  expect(text.endsWith('\n')).toBe(true);
  for (const line of text.trimEnd().split('\n')) {
    let m: RegExpExecArray | null;
    if ((m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge)$/.exec(line))) types.set(m[1], m[2]);
    else if (/^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .+$/.test(line)) continue;
    else if ((m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (-?[0-9.e+-]+)$/.exec(line))) {
      const labels: Record<string, string> = {};
      for (const [, k, v] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[k] = v;
      samples.push({ name: m[1], labels, value: Number(m[3]) });
    } else throw new Error(`not Prometheus text: ${line}`);
  }
  for (const s of samples) {
    expect(types.has(s.name), s.name).toBe(true);
    if (types.get(s.name) === 'counter') expect(s.name.endsWith('_total'), s.name).toBe(true);
  }
  return { samples, types };
}

const scrape = async () => {
  const res = await fetch(`http://127.0.0.1:${srv.port}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
  return parse(await res.text()).samples;
};
const value = (ss: Sample[], name: string, labels: Record<string, string> = {}) =>
  ss.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

describe('GET /metrics', () => {
  it('reports clients, commands, keys, memory and snapshots as INFO does', async () => {
    await c.mset('m1', 'a', 'm2', 'b', 'm3', 'c');
    await c.expire('m1', 100);
    await c.select(2);
    await c.set('other', 'x');
    await c.select(0);
    await c.save();
    const ss = await scrape();
    expect(value(ss, 'damselfly_up')).toBe(1);
    expect(value(ss, 'damselfly_db_keys', { db: '0' })).toBe(3);
    expect(value(ss, 'damselfly_db_expiring_keys', { db: '0' })).toBe(1);
    expect(value(ss, 'damselfly_db_keys', { db: '2' })).toBe(1);
    expect(value(ss, 'damselfly_command_calls_total', { cmd: 'mset' })).toBe(1);
    // The scrape itself is not a Redis client.
    expect(value(ss, 'damselfly_connected_clients')).toBe(1);
    expect(value(ss, 'damselfly_snapshot_last_status_ok')).toBe(1);
    expect(value(ss, 'damselfly_snapshot_saves_total')).toBeGreaterThanOrEqual(1);
    expect(value(ss, 'damselfly_snapshot_last_keys')).toBe(4);
    expect(value(ss, 'damselfly_snapshot_last_size_bytes')).toBeGreaterThan(0);
    expect(Math.abs(value(ss, 'damselfly_snapshot_last_success_timestamp_seconds')! - Date.now() / 1000)).toBeLessThan(10);
    const info = await c.info('memory');
    const maxmemory = Number(/maxmemory:(\d+)/.exec(info)![1]);
    expect(value(ss, 'damselfly_memory_max_bytes')).toBe(maxmemory);
    expect(value(ss, 'damselfly_memory_rss_bytes')).toBeGreaterThan(10 * 1024 * 1024);
    const processed = Number(/total_commands_processed:(\d+)/.exec(await c.info('stats'))![1]);
    expect(value(ss, 'damselfly_commands_processed_total')).toBeLessThanOrEqual(processed);
  });

  it('answers 404 elsewhere, HEAD without a body, and Redis clients on the same port still work', async () => {
    const res = await fetch(`http://127.0.0.1:${srv.port}/nothing`);
    expect(res.status).toBe(404);
    const head = await fetch(`http://127.0.0.1:${srv.port}/metrics`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    expect(await c.ping()).toBe('PONG');
    // An inline Redis command that starts like a request line is still Redis.
    const raw = await (await import('./helpers/server.js')).RawClient.connect(srv.port);
    raw.write('GET m2\r\n');
    expect(await raw.read(7)).toBe('$1\r\nb\r\n');
    raw.close();
  });

  it('reports each snapshot location when there are several', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const second = mkdtempSync((await import('node:path')).join(tmpdir(), 'damselfly-metrics-replica-'));
    const s = await startServer(['--save', '', '--snapshot_replicas', second]);
    try {
      const r = new Redis({ port: s.port });
      await r.set('k', 'v');
      await r.save();
      const res = await fetch(`http://127.0.0.1:${s.port}/metrics`);
      const ss = parse(await res.text()).samples;
      const ok = ss.filter((x) => x.name === 'damselfly_snapshot_location_ok');
      expect(ok.map((x) => [x.labels.role, x.value])).toEqual([
        ['primary', 1],
        ['replica', 1],
      ]);
      expect(ss.find((x) => x.name === 'damselfly_snapshot_location_last_commit_timestamp_seconds' && x.labels.role === 'replica')!.value).toBeGreaterThan(Date.now() / 1000 - 60);
      expect(ss.find((x) => x.name === 'damselfly_snapshot_split_brain')?.value).toBe(0);
      r.disconnect();
    } finally {
      await s.stop();
      rmSync(second, { recursive: true, force: true });
    }
  });

  it('counts failed snapshots and says how the last one went', async () => {
    const { mkdirSync, rmSync, writeFileSync } = await import('node:fs');
    const s = await startServer(['--save', '']);
    const r = new Redis({ port: s.port });
    try {
      const get = async () => parse(await (await fetch(`http://127.0.0.1:${s.port}/metrics`)).text()).samples;
      let ss = await get();
      expect(value(ss, 'damselfly_snapshot_failures_total')).toBe(0);
      expect(value(ss, 'damselfly_snapshot_last_failure_timestamp_seconds')).toBe(0);
      await r.set('k', 'v');
      // A file where the snapshot folder was: nothing can be written there, even as root.
      rmSync(s.dir, { recursive: true, force: true });
      writeFileSync(s.dir, 'not a folder');
      await r.bgsave();
      await until(async () => value(await get(), 'damselfly_snapshot_failures_total') === 1, 'the failed BGSAVE counted');
      ss = await get();
      expect(value(ss, 'damselfly_snapshot_last_status_ok')).toBe(0);
      expect(Math.abs(value(ss, 'damselfly_snapshot_last_failure_timestamp_seconds')! - Date.now() / 1000)).toBeLessThan(10);
      // The one location has its series too, as each of several would.
      const loc = ss.find((x) => x.name === 'damselfly_snapshot_location_ok');
      expect(loc?.labels).toMatchObject({ location: `file://${s.dir}`, role: 'primary' });
      expect(loc?.value).toBe(0);
      // A failed SAVE is a failure too (it leaves the bgsave status alone, as in Redis).
      await expect(r.save()).rejects.toThrow();
      expect(value(await get(), 'damselfly_snapshot_failures_total')).toBe(2);
      rmSync(s.dir, { force: true });
      mkdirSync(s.dir);
      await r.save();
      ss = await get();
      expect(value(ss, 'damselfly_snapshot_failures_total')).toBe(2);
      expect(value(ss, 'damselfly_snapshot_last_status_ok')).toBe(1);
      expect(ss.find((x) => x.name === 'damselfly_snapshot_location_ok')?.value).toBe(1);
      expect(ss.find((x) => x.name === 'damselfly_snapshot_location_last_commit_timestamp_seconds')!.value).toBeGreaterThan(Date.now() / 1000 - 60);
    } finally {
      r.disconnect();
      await s.stop();
    }
  });

  it("reports boot's load: its result and how long it took", async () => {
    const { mkdtempSync, rmSync, statSync, truncateSync, readdirSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const dir = mkdtempSync(path.join(tmpdir(), 'damselfly-metrics-boot-'));
    const bootMetrics = async (flags: string[], save = true) => {
      const s = await startServer(['--dir', dir, '--save', '', ...flags], { keepDir: true });
      try {
        const ss = parse(await (await fetch(`http://127.0.0.1:${s.port}/metrics`)).text()).samples;
        const results = Object.fromEntries(ss.filter((x) => x.name === 'damselfly_boot_load_result').map((x) => [x.labels.result, x.value]));
        if (save) {
          const r = new Redis({ port: s.port });
          for (let i = 0; i < 5000; i++) r.set(`key:${i}`, 'v'.repeat(100));
          await r.save();
          r.disconnect();
        }
        return { results, seconds: value(ss, 'damselfly_boot_load_duration_seconds')!, keys: value(ss, 'damselfly_boot_keys_loaded') };
      } finally {
        await s.stop();
      }
    };
    try {
      const first = await bootMetrics([]);
      expect(first.results).toEqual({ loaded: 0, fallback: 0, empty: 1, fenced: 0 });
      const second = await bootMetrics([]);
      expect(second.results).toEqual({ loaded: 1, fallback: 0, empty: 0, fenced: 0 });
      expect(second.keys).toBe(5000);
      expect(second.seconds).toBeGreaterThan(0);
      expect(second.seconds).toBeLessThan(60);
      // The newest of the two snapshots damaged: an older one is loaded without strict.
      const newest = readdirSync(dir).filter((n) => !n.endsWith('.json') && !n.startsWith('.')).sort().at(-1)!;
      truncateSync(path.join(dir, newest), statSync(path.join(dir, newest)).size - 5);
      expect((await bootMetrics(['--nosnapshot_strict'])).results).toEqual({ loaded: 0, fallback: 1, empty: 0, fenced: 0 });
      // Nothing readable at all: empty and fenced.
      for (const n of readdirSync(dir).filter((x) => !x.endsWith('.json') && !x.startsWith('.'))) truncateSync(path.join(dir, n), 10);
      expect((await bootMetrics(['--nosnapshot_strict'], false)).results).toEqual({ loaded: 0, fallback: 0, empty: 0, fenced: 1 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('--primary_port_http_enabled no: an HTTP request is an unknown Redis command', async () => {
    const s = await startServer(['--primary_port_http_enabled=no', '--save', '']);
    try {
      const raw = await (await import('./helpers/server.js')).RawClient.connect(s.port);
      raw.write('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n');
      expect(await raw.readUntil('\r\n')).toMatch(/^-ERR wrong number of arguments for 'get' command/);
      raw.close();
    } finally {
      await s.stop();
    }
  });
});
