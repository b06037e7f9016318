/**
 * Memory goes back after a spike: replies queued for a slow reader, big
 * pipelined requests, a dataset flushed. RSS is polled (no fixed sleeps)
 * until it falls under a bound or a deadline passes. The server's pid is
 * INFO's process_id (it may run under a launcher).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import Redis from 'ioredis';
import { resp, startServer, type TestServer } from './helpers/server.js';
import { MB, rss, serverPid, SlowReader } from './helpers/memory.js';
import { mallocEnv } from '../src/memory/malloc-env.js';

let srv: TestServer;
let a: Redis;
let pid = 0;
let base = 0;

beforeEach(async () => {
  // The launcher starts the server with these glibc settings (without them
  // ~200 MB more stays in malloc's arenas after this spike).
  srv = await startServer(['--save', ''], { env: mallocEnv({}) });
  a = new Redis({ port: srv.port });
  pid = await serverPid(srv.port);
  base = rss(pid);
});

afterEach(async () => {
  await a?.quit();
  await srv?.stop();
});

/** Resolves with the time it took RSS to fall under `bound`; fails after `ms`. */
async function rssFallsUnder(bound: number, ms: number): Promise<number> {
  const t0 = Date.now();
  let last = rss(pid);
  while (last >= bound) {
    if (Date.now() - t0 > ms) throw new Error(`RSS still ${(last / MB).toFixed(0)} MB after ${ms} ms (bound ${(bound / MB).toFixed(0)} MB, base ${(base / MB).toFixed(0)} MB)`);
    await new Promise((r) => setTimeout(r, 100));
    last = rss(pid);
  }
  return Date.now() - t0;
}

/** Send `n` pipelined SETs of `size`-byte values and wait for their replies. */
async function bigSets(n: number, size: number): Promise<void> {
  const c = net.connect(srv.port, '127.0.0.1');
  await new Promise((r) => c.once('connect', r));
  let oks = 0;
  const done = new Promise<void>((resolve) =>
    c.on('data', (d) => {
      oks += d.toString('latin1').split('+OK').length - 1;
      if (oks >= n) resolve();
    }),
  );
  const v = Buffer.alloc(size, 'q');
  for (let i = 0; i < n; i++) {
    c.write(`*3\r\n$3\r\nSET\r\n$${String(i).length + 3}\r\nbig${i}\r\n$${size}\r\n`);
    c.write(v);
    c.write('\r\n');
  }
  await done;
  c.destroy();
}

/**
 * An output spike: `n` GETs of the 1 MB key 'mb' queued for a client that
 * does not read, until RSS is `grow` above `from`; then the client reads it
 * all and goes.
 */
async function outputSpike(port: number, serverPid: number, n: number, from: number, grow: number): Promise<void> {
  const slow = await SlowReader.connect(port);
  slow.sock.write(resp('GET', 'mb').repeat(n));
  const t0 = Date.now();
  while (rss(serverPid) < from + grow) {
    if (Date.now() - t0 > 30000) throw new Error('no spike: RSS ' + rss(serverPid) / MB);
    await new Promise((r) => setTimeout(r, 20));
  }
  await slow.drain(n * MB, 30000);
  slow.sock.destroy();
}

describe('memory goes back after a spike', () => {
  it('after replies queued for a slow reader were read', async () => {
    await a.set('mb', 'x'.repeat(MB));
    // The spike: hundreds of MB queued for a client that does not read.
    await outputSpike(srv.port, pid, 400, base, 200 * MB);
    const took = await rssFallsUnder(base + 120 * MB, 10000);
    console.log(`output spike: back under base+120 MB in ${took} ms`);
  }, 120000);

  it('after big pipelined requests made a dataset that was flushed', async () => {
    await bigSets(20, 20 * MB);
    expect(rss(pid)).toBeGreaterThan(base + 350 * MB);
    await a.flushall();
    const took = await rssFallsUnder(base + 120 * MB, 8000);
    console.log(`query/dataset spike: back under base+120 MB in ${took} ms`);
  }, 120000);

  it('FLUSHALL of value slabs under a steady write load: one collection frees them without waiting for quiet', async () => {
    // 300 MB of 1 KiB values (the value store's slabs: memory V8 does not count).
    const v = 'v'.repeat(1000);
    for (let b = 0; b < 30; b++) {
      const p = a.pipeline();
      for (let i = 0; i < 10000; i++) p.set(`k${b}:${i}`, v);
      await p.exec();
    }
    expect(rss(pid)).toBeGreaterThan(base + 250 * MB);
    // A client that never lets the server be quiet (well over 1,000 commands a second).
    const w = new Redis({ port: srv.port });
    let writing = true;
    const load = (async () => {
      while (writing) {
        const p = w.pipeline();
        for (let i = 0; i < 200; i++) p.set(`w${i}`, 'x');
        await p.exec();
      }
    })();
    try {
      await a.flushall();
      const line = await srv.waitForLog((l) => l.msg.startsWith('quiet after a memory spike') && l.reason === 'slabs-dropped', 10000);
      expect(line.reason).toBe('slabs-dropped');
      await rssFallsUnder(base + 150 * MB, 5000);
    } finally {
      writing = false;
      await load;
      w.disconnect();
    }
  }, 120000);

  it('MEMORY PURGE gives it back at once', async () => {
    await bigSets(20, 20 * MB);
    await a.flushall();
    const before = rss(pid);
    expect(before).toBeGreaterThan(base + 350 * MB);
    const idleRuns = () => srv.logs.filter((l) => l.msg.startsWith('quiet after a memory spike')).length;
    const n = idleRuns();
    expect(await a.call('MEMORY', 'PURGE')).toBe('OK');
    // Freed memory leaves the process within moments (some of it is
    // unmapped by V8's background threads), well before an idle check.
    const took = await rssFallsUnder(base + 120 * MB, 1000);
    console.log(`MEMORY PURGE: under base+120 MB ${took} ms after its reply`);
    expect(idleRuns()).toBe(n);
  }, 120000);
});

describe('no unasked-for full collection that would pause the server long', () => {
  it('a spike over a large live dataset is left to V8; a flush of it is collected', async () => {
    const s = await startServer(['--save', '', '--enable-debug-command', 'yes'], { env: mallocEnv({}) });
    const c = new Redis({ port: s.port });
    try {
      // A live heap a full collection would take hundreds of ms to mark:
      // 150k small hashes (~65 MB of heap objects). Strings would not do:
      // keys, their values and the table's slots live outside the heap
      // (1.5M string keys leave ~18 MB of heap).
      for (let i = 0; i < 150_000; i += 1000) {
        const p = c.pipeline();
        for (let j = i; j < i + 1000; j++) p.hset(`h${j}`, 'a', j, 'b', 'x', 'c', 'y', 'd', 'z');
        await p.exec();
      }
      await c.set('mb', 'x'.repeat(MB));
      const runs = () => s.logs.filter((l) => l.msg.startsWith('quiet after a memory spike'));
      const n0 = runs().length;
      const p = await serverPid(s.port);
      await outputSpike(s.port, p, 300, rss(p), 150 * MB);
      // Absence can only be waited for: a few of the once-a-second checks.
      await new Promise((r) => setTimeout(r, 3500));
      expect(runs().slice(n0)).toEqual([]);
      // What the budget allows: once the data is gone the collection is short, and runs.
      await c.flushall();
      await s.waitForLog((l) => l.msg.startsWith('quiet after a memory spike') && runs().length > n0, 10000);
      expect(runs().length).toBe(n0 + 1);
    } finally {
      await c.quit();
      await s.stop();
    }
  }, 120000);
});
