/**
 * maxmemory, eviction policies, -OOM and the access metadata behind them,
 * over real TCP. What applies of Redis 7.0's tests/unit/maxmemory.tcl (every
 * test there needs its own server, so it cannot run against ours in
 * external mode) is ported here: the limit is honoured under each policy,
 * only allkeys-* remove keys without a TTL, volatile-* remove only keys
 * with one, eviction caused by client output buffers; plus what the issue
 * asks (which keys each policy keeps, noeviction, MULTI, tenacity).
 *
 * Limits are set relative to the current used_memory, as Redis's tests do,
 * but with a few MB of room rather than 100 KB: used_memory is re-measured
 * after each major GC (src/memory/usage.ts), and a V8 heap moves by more
 * than 100 KB between two of them.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { startServer, until, type TestServer } from './helpers/server.js';

const OOM = "OOM command not allowed when used memory > 'maxmemory'.";
const MB = 1024 * 1024;
const VALUE = 'v'.repeat(1000);

let srv: TestServer;
let r: Redis;

beforeAll(async () => {
  srv = await startServer(['--save', '']);
  r = new Redis(srv.port, { maxRetriesPerRequest: 0 });
});
afterAll(async () => {
  r.disconnect();
  await srv.stop();
});

async function info(field: string, client: Redis = r): Promise<number> {
  const text = await client.info();
  const m = new RegExp(`^${field}:(.*)$`, 'm').exec(text);
  if (m === null) throw new Error(`INFO has no ${field}`);
  return Number(m[1]);
}

beforeEach(async () => {
  await r.config('SET', 'maxmemory', '0');
  await r.config('SET', 'maxmemory-policy', 'noeviction');
  await r.config('SET', 'maxmemory-samples', '5');
  await r.config('SET', 'maxmemory-eviction-tenacity', '10');
  await r.flushall();
  // Collected now, so that each test starts from a measured heap: the last
  // test's keys would otherwise count as garbage (heap, Buffers, value
  // slabs) until V8's next major GC, in the middle of this one.
  await r.memory('PURGE');
  await r.config('RESETSTAT');
});

/** SET keys (name(i), 1000-byte values, optional TTL) in pipelined batches until used_memory is within 64 KB of limit (a batch is ~36 KB). */
async function fillTo(limit: number, name: (i: number) => string, ttl?: (i: number) => number): Promise<number> {
  let n = 0;
  for (;;) {
    const p = r.pipeline();
    for (let j = 0; j < 32; j++, n++) {
      if (ttl) p.set(name(n), VALUE, 'EX', ttl(n));
      else p.set(name(n), VALUE);
    }
    const res = await p.exec();
    for (let j = 0; j < res!.length; j++) {
      const e = res![j][0];
      // Full already (a policy with nothing to evict refused the rest of the batch).
      if (e?.message === OOM) return n - res!.length + j;
      if (e) throw e;
    }
    if ((await info('used_memory')) + 64 * 1024 > limit) return n;
    if (n > 200_000) throw new Error('used_memory does not grow');
  }
}

/** Runs fn for each of n keys in pipelined batches; returns the errors' messages. */
async function writeMany(n: number, fn: (p: ReturnType<Redis['pipeline']>, i: number) => void): Promise<string[]> {
  const errors: string[] = [];
  for (let i = 0; i < n; ) {
    const p = r.pipeline();
    for (let j = 0; j < 32 && i < n; j++, i++) fn(p, i);
    for (const [e] of (await p.exec())!) if (e) errors.push(e.message);
  }
  return errors;
}

async function setLimit(policy: string, room = 4 * MB): Promise<number> {
  const limit = (await info('used_memory')) + room;
  await r.config('SET', 'maxmemory', String(limit));
  await r.config('SET', 'maxmemory-policy', policy);
  return limit;
}

/**
 * Retried (up to twice): used_memory is an estimate that every major GC
 * measures again (src/memory/usage.ts), and within one of these tests that
 * re-measurement moved it by 1-2 MB of a 4-8 MB room, up or down: 2-6 of 10
 * runs of this file failed when every value was a heap string. With the
 * values' bytes outside the heap and counted exactly, and a MEMORY PURGE
 * between tests, 1 of 6 runs failed without retries (2026-12-07: "used_memory
 * follows the data"); with the LRU clock's 1 s resolution the keys of a
 * short test are also equals for the sampling. A failure that repeats three
 * times is a real one.
 */
const FLAKY = { retry: 2 };

describe('the limit is honoured (maxmemory.tcl: is the memory limit honoured?)', FLAKY, () => {
  for (const policy of ['allkeys-random', 'allkeys-lru', 'allkeys-lfu', 'volatile-lru', 'volatile-lfu', 'volatile-random', 'volatile-ttl']) {
    it(policy, async () => {
      const limit = await setLimit(policy);
      const n = await fillTo(limit, (i) => `a:${i}`, () => 10000);
      expect(n).toBeGreaterThan(10);
      // As many keys again: evictions make room for them.
      const errors = await writeMany(n, (p, i) => p.set(`b:${i}`, VALUE, 'EX', 10000));
      expect(errors).toEqual([]);
      expect(await info('used_memory')).toBeLessThan(limit + 4096);
      expect(await info('evicted_keys')).toBeGreaterThan(0);
      expect(await r.exists(`b:${n - 1}`)).toBe(1);
    });
  }
});

describe('which keys go', FLAKY, () => {
  for (const policy of ['allkeys-random', 'allkeys-lru', 'volatile-lru', 'volatile-random', 'volatile-ttl']) {
    it(`only allkeys-* remove keys without a TTL (${policy})`, async () => {
      const limit = await setLimit(policy);
      const n = await fillTo(limit, (i) => `a:${i}`);
      const errors = await writeMany(n, (p, i) => p.set(`b:${i}`, VALUE));
      if (policy.startsWith('allkeys-')) {
        expect(errors).toEqual([]);
        expect(await info('used_memory')).toBeLessThan(limit + 4096);
      } else {
        // Nothing evictable: -OOM, and nothing was evicted.
        expect(errors.length).toBeGreaterThan(0);
        expect(new Set(errors)).toEqual(new Set([OOM]));
        expect(await info('evicted_keys')).toBe(0);
      }
    });
  }

  for (const policy of ['volatile-lru', 'volatile-lfu', 'volatile-random', 'volatile-ttl']) {
    it(`${policy} removes only keys with a TTL`, async () => {
      const limit = await setLimit(policy);
      // Odd keys volatile, even ones not (as maxmemory.tcl).
      const n = await fillTo(limit, (i) => `key:${i}`, undefined);
      await writeMany(n, (p, i) => (i % 2 ? p.expire(`key:${i}`, 10000) : p.ping()));
      const errors = await writeMany(n, (p, i) => p.set(`foo:${i}`, VALUE, 'EX', 10000));
      expect(errors).toEqual([]);
      expect(await info('used_memory')).toBeLessThan(limit + 4096);
      const p = r.pipeline();
      for (let i = 0; i < n; i += 2) p.exists(`key:${i}`);
      expect((await p.exec())!.every(([, v]) => v === 1)).toBe(true);
      expect(await info('evicted_keys')).toBeGreaterThan(0);
    });
  }

  it('volatile-ttl evicts the nearest expiries first', async () => {
    const limit = await setLimit('volatile-ttl');
    // Key i expires in 1000 + i seconds: the lower i, the sooner.
    const n = await fillTo(limit, (i) => `t:${i}`, (i) => 1000 + i);
    // Write until a quarter of them went.
    for (let i = 0; (await info('evicted_keys')) < n / 4; i++) {
      await writeMany(32, (p, j) => p.set(`new:${i}:${j}`, VALUE, 'EX', 100000));
      if (i > n) throw new Error('no eviction');
    }
    const p = r.pipeline();
    for (let i = 0; i < n; i++) p.exists(`t:${i}`);
    const alive = (await p.exec())!.map(([, v]) => v === 1);
    const gone = alive.filter((a) => !a).length;
    // Sampling approximates the order: the latest-expiring third stays, and
    // the gone ones are mostly among the earliest.
    // (The very first evictions pick the best of a few samples only, as in
    // Redis, so a late key may go then: at most 1% of them.)
    const goneLate = alive.map((a, i) => (a ? -1 : i)).filter((i) => i >= Math.floor((2 * n) / 3));
    expect(goneLate.length, `n ${n}, gone ${gone}, late ones: ${goneLate}`).toBeLessThanOrEqual(Math.ceil(gone / 100));
    const goneEarly = alive.slice(0, Math.ceil(gone * 1.5)).filter((a) => !a).length;
    expect(goneEarly).toBeGreaterThan(0.75 * gone);
  });

  /** Fill with cold keys and a hot set, age the cold ones by a tick of the LRU clock, then write past the limit while reading the hot set. */
  async function hotSetSurvives(policy: string, prepareHot: (hot: string[], n: number) => Promise<void>): Promise<void> {
    const limit = await setLimit(policy, 8 * MB);
    const n = await fillTo(limit, (i) => `cold:${i}`);
    // The hot keys come after the fill (a re-measurement crossing the limit
    // during it would evict among equals); small values: 5000 GET replies of
    // 1 KB in one pipeline would be 5 MB of output buffers, which count in
    // used_memory (as in Redis) and evict.
    const hot = Array.from({ length: 50 }, (_, i) => `hot:${i}`);
    // Each read at once: under LFU a new key has the cold keys' counter until then.
    await writeMany(hot.length, (p, i) => p.set(hot[i], 'h').get(hot[i]));
    await prepareHot(hot, n);
    // A quarter of the cold keys' worth: the evictions stay among the cold
    // ones even if a major GC re-measures the heap a little higher meanwhile.
    const errors = await writeMany(Math.floor(n / 4), (p, i) => {
      p.set(`new:${i}`, VALUE);
      // The hot set is read all along.
      if (i % 32 === 0) for (const k of hot) p.get(k);
    });
    expect(errors).toEqual([]);
    expect(await info('evicted_keys')).toBeGreaterThan(n / 8);
    expect(await r.exists(...hot)).toBe(hot.length);
  }

  it('allkeys-lru keeps a hot set that is read continuously', async () => {
    await hotSetSurvives('allkeys-lru', async (hot, n) => {
      // The LRU clock has a 1 s resolution (as Redis's): let every cold key age one tick.
      await until(async () => (await r.object('IDLETIME', `cold:${n - 1}`)) >= 1, 'cold keys idle for 1 s', 4000);
      for (const k of hot) await r.get(k);
    });
  });

  it('allkeys-lfu keeps frequently used keys', async () => {
    await hotSetSurvives('allkeys-lfu', async (hot) => {
      const p = r.pipeline();
      for (let j = 0; j < 100; j++) for (const k of hot) p.get(k);
      await p.exec();
      expect(await r.object('FREQ', hot[0])).toBeGreaterThan(5);
      expect(await r.object('FREQ', 'cold:0')).toBeLessThanOrEqual(5);
    });
  });
});

describe('noeviction', FLAKY, () => {
  it('answers -OOM to writes while GET and DEL work, and writes resume once DEL frees memory', async () => {
    const limit = await setLimit('noeviction');
    let n = 0;
    let refused = '';
    while (refused === '') {
      const errors = await writeMany(32, (p, i) => p.set(`k:${n + i}`, VALUE));
      n += 32;
      if (errors.length > 0) refused = errors[0];
      if (n > 100_000) throw new Error('never refused');
    }
    expect(refused).toBe(OOM);
    expect(await info('used_memory')).toBeLessThan(limit + 64 * 1024);
    // At the limit, more writes are refused. used_memory is an estimate a GC
    // may lower (an idle-time full collection measures the live heap
    // exactly, without the garbage a concurrent one counted: seen admitting
    // a whole batch under a loaded machine, and once, in a full CI run, all
    // of 8 batches = 256 KB), so within a quarter of the 4 MB of room
    // (32 batches of 32 KB) writes must meet the refusal again.
    const refusedSoon = async (fn: (p: ReturnType<Redis['pipeline']>, i: number, b: number) => void): Promise<string | undefined> => {
      for (let b = 0; b < 32; b++) {
        const errors = await writeMany(32, (p, i) => fn(p, i, b));
        if (errors.length > 0) return errors[0];
      }
      return undefined;
    };
    expect(await refusedSoon((p, i, b) => p.set(`more:${b}:${i}`, VALUE))).toBe(OOM);
    // denyoom only: reads, deletes and commands that cannot grow memory run.
    expect(await r.get('k:0')).toBe(VALUE);
    expect(await r.strlen('k:1')).toBe(1000);
    expect(await r.expire('k:2', 100)).toBe(1);
    expect(await r.ping()).toBe('PONG');
    // Other denyoom writes meet the refusal too (in batches, for the same GC reason as above).
    expect(await refusedSoon((p, i) => p.append(`k:${3 + i}`, 'x'))).toBe(OOM);
    expect(await refusedSoon((p) => p.rpush('list', 'x'))).toBe(OOM);
    expect(await info('evicted_keys')).toBe(0);
    const del = r.pipeline();
    for (let i = 0; i < n / 2; i++) del.del(`k:${i}`);
    await del.exec();
    expect(await r.set('one-more', 'x')).toBe('OK');
  });
});

describe('eviction is a deletion', () => {
  it('counts evicted_keys, invalidates WATCH, and empties the keyspace when the limit is tiny', async () => {
    await writeMany(100, (p, i) => p.set(`w:${i}`, VALUE));
    const watcher = new Redis(srv.port);
    try {
      await watcher.watch('w:7');
      await r.config('SET', 'maxmemory-policy', 'allkeys-random');
      // Below what the empty server uses: every key goes, then writes are refused.
      await r.config('SET', 'maxmemory', '1');
      await until(async () => (await r.dbsize()) === 0, 'every key evicted');
      expect(await info('evicted_keys')).toBe(100);
      await expect(r.set('x', 'y')).rejects.toThrow(OOM);
      await r.config('SET', 'maxmemory', '0');
      const tx = await watcher.multi().set('w:7', 'mine').exec();
      expect(tx).toBeNull();
    } finally {
      watcher.disconnect();
    }
  });
});

describe('MULTI under OOM (Redis 7.0 multi.tcl)', () => {
  it('refuses queueing while OOM, aborts EXEC with a denyoom command, runs EXEC of reads, never refuses DISCARD', async () => {
    const other = new Redis(srv.port);
    try {
      await r.set('x', 'value');
      const c = new Redis(srv.port);
      // EXEC with only read commands is not rejected.
      await c.call('MULTI');
      await c.call('GET', 'x');
      await c.call('PING');
      await other.config('SET', 'maxmemory', '1');
      expect(await c.call('EXEC')).toEqual(['value', 'PONG']);
      await other.config('SET', 'maxmemory', '0');

      // EXEC with at least one use-memory command fails.
      await c.call('MULTI');
      expect(await c.call('SET', 'x', '1')).toBe('QUEUED');
      expect(await c.call('GET', 'x')).toBe('QUEUED');
      await other.config('SET', 'maxmemory', '1');
      await expect(c.call('EXEC')).rejects.toThrow(`EXECABORT Transaction discarded because of: ${OOM}`);
      // The transaction is gone: a new EXEC has no MULTI.
      await expect(c.call('EXEC')).rejects.toThrow('ERR EXEC without MULTI');

      // Inside MULTI while OOM every command but EXEC/DISCARD/QUIT/RESET is refused; DISCARD works.
      await c.call('MULTI');
      await expect(c.call('SET', 'x', '1')).rejects.toThrow(OOM);
      await expect(c.call('GET', 'x')).rejects.toThrow(OOM);
      expect(await c.call('DISCARD')).toBe('OK');
      // A refused command makes the transaction's EXEC fail.
      await c.call('MULTI');
      await expect(c.call('SET', 'x', '2')).rejects.toThrow(OOM);
      await expect(c.call('EXEC')).rejects.toThrow('EXECABORT Transaction discarded because of previous errors.');
      await other.config('SET', 'maxmemory', '0');
      expect(await c.call('PING')).toBe('PONG');
      c.disconnect();
    } finally {
      other.disconnect();
    }
  });
});

describe('access metadata', () => {
  it('OBJECT IDLETIME grows, and only touching lookups reset it', async () => {
    await r.set('k', 'v');
    await r.rpush('l', 'a');
    await until(async () => (await r.object('IDLETIME', 'k')) >= 1 && (await r.object('IDLETIME', 'l')) >= 1, 'idle time to reach 1 s', 4000);
    // LOOKUP_NOTOUCH commands do not make a key look used.
    await r.type('k');
    await r.exists('k');
    await r.ttl('k');
    await r.pttl('k');
    await r.object('ENCODING', 'k');
    expect(await r.object('IDLETIME', 'k')).toBeGreaterThanOrEqual(1);
    await r.get('k');
    expect(await r.object('IDLETIME', 'k')).toBe(0);
    await r.touch('l');
    expect(await r.object('IDLETIME', 'l')).toBe(0);
    await expect(r.object('FREQ', 'k')).rejects.toThrow(/An LFU maxmemory policy is not selected/);
  });

  it('OBJECT FREQ counts accesses logarithmically under an LFU policy, as Redis', async () => {
    await r.config('SET', 'maxmemory-policy', 'allkeys-lfu');
    await r.set('f', 'v');
    // LFU_INIT_VAL, then the first hits always count (probability 1 below base 5).
    expect(await r.object('FREQ', 'f')).toBe(5);
    await r.get('f');
    expect(await r.object('FREQ', 'f')).toBe(6);
    const p = r.pipeline();
    for (let i = 0; i < 1000; i++) p.get('f');
    await p.exec();
    const after1000 = await r.object('FREQ', 'f');
    // lfu-log-factor 10: ~1000 hits take the counter to about 10-20, far from 255.
    expect(after1000).toBeGreaterThan(8);
    expect(after1000).toBeLessThan(30);
    // Factor 0: every hit counts.
    await r.config('SET', 'lfu-log-factor', '0');
    const q = r.pipeline();
    for (let i = 0; i < 100; i++) q.get('f');
    await q.exec();
    expect(await r.object('FREQ', 'f')).toBe(after1000 + 100);
    await r.config('SET', 'lfu-log-factor', '10');
    await expect(r.object('IDLETIME', 'f')).rejects.toThrow(/An LFU maxmemory policy is selected/);
  });
});

describe('tenacity', () => {
  /**
   * 100k small keys under allkeys-random; returns a maxmemory that leaves room for about a third of them.
   * (40k were too few once values left the heap: the background could evict two thirds of them
   * before the test's first poll.)
   */
  async function fillSmall(): Promise<number> {
    await r.config('SET', 'maxmemory-policy', 'allkeys-random');
    const p = r.pipeline();
    for (let i = 0; i < 100_000; i++) p.set(`s:${i}`, 'x'.repeat(100));
    await p.exec();
    // Two thirds of the data's worth below what is used now.
    const perKey = await r.memory('USAGE', 's:0');
    return (await info('used_memory')) - Math.floor((2 * 100_000 * perKey) / 3);
  }

  /** CONFIG SET maxmemory and INFO in one pipeline: INFO runs right after, in the same read. */
  async function lowerLimitThenInfo(limit: number): Promise<{ evicted: number; used: number }> {
    const res = (await r.pipeline().config('SET', 'maxmemory', String(limit)).info().exec())!;
    const text = res[1][1] as string;
    const field = (f: string) => Number(new RegExp(`^${f}:(.*)\r?$`, 'm').exec(text)![1]);
    return { evicted: field('evicted_keys'), used: field('used_memory') };
  }

  it('at 0 a command evicts one slice (16 keys) and the background carries on, the server answering meanwhile', async () => {
    const limit = await fillSmall();
    await r.config('SET', 'maxmemory-eviction-tenacity', '0');
    const first = await lowerLimitThenInfo(limit);
    expect(first.evicted).toBeGreaterThan(0);
    expect(first.evicted).toBeLessThanOrEqual(32);
    expect(first.used).toBeGreaterThan(limit);
    // PINGs are served while the eviction goes on. Each command sent here may evict one
    // slice itself; count them, so the background's share can be told apart.
    const lat: number[] = [];
    let commands = 2;
    let under = false;
    while (lat.length < 10000) {
      commands++;
      if ((await info('used_memory')) <= limit) {
        under = true;
        break;
      }
      const t0 = performance.now();
      await r.ping();
      lat.push(performance.now() - t0);
      commands++;
    }
    // The background proc, not these polls (one slice of at most 32 keys each), brought it
    // under the limit. (How many keys that takes depends on the estimate after the last GC,
    // and the estimate may drift above the limit again later: the loop's reading is the one.)
    expect(under).toBe(true);
    expect(lat.length).toBeGreaterThan(1);
    lat.sort((x, y) => x - y);
    expect(lat[Math.floor(lat.length * 0.9)]).toBeLessThan(100);
    expect(await info('evicted_keys')).toBeGreaterThan(32 * commands);
  });

  it('at 100 the first command evicts everything needed before it runs', async () => {
    const limit = await fillSmall();
    await r.config('SET', 'maxmemory-eviction-tenacity', '100');
    const first = await lowerLimitThenInfo(limit);
    expect(first.evicted).toBeGreaterThan(10000);
    expect(first.used).toBeLessThanOrEqual(limit);
  });
});

describe('eviction due to client output buffers (maxmemory.tcl)', () => {
  it('replies piling up for clients that do not read make keys go', async () => {
    // 50 keys of 100 KB, maxmemory 11 MB above the empty server.
    const p = r.pipeline();
    for (let j = 0; j < 50; j++) p.setrange(String(j), 100000, 'x');
    await p.exec();
    await r.config('SET', 'maxmemory-policy', 'allkeys-lru');
    await r.config('SET', 'maxmemory', String((await info('used_memory')) + 6 * MB));
    expect(await r.dbsize()).toBe(50);
    // 20 clients that send MGET and never read their replies.
    const net = await import('node:net');
    const socks = await Promise.all(
      Array.from({ length: 20 }, () => new Promise<import('node:net').Socket>((res) => {
        const s = net.connect(srv.port, '127.0.0.1', () => res(s));
        s.pause();
      })),
    );
    try {
      const req = '*2\r\n$4\r\nMGET\r\n$1\r\n1\r\n'.repeat(50);
      await until(async () => {
        for (const s of socks) s.write(req);
        return (await info('evicted_keys')) > 0;
      }, 'an eviction caused by output buffers', 20000);
      expect(await r.dbsize()).toBeLessThan(50);
    } finally {
      for (const s of socks) s.destroy();
    }
    // Their buffers go once the server has seen them close.
    await until(async () => (await info('connected_clients')) === 1, 'the non-reading clients gone', 10000);
  });
});

describe('MEMORY and INFO', FLAKY, () => {
  it('used_memory follows the data, MEMORY USAGE agrees with it, MEMORY STATS and DOCTOR answer', async () => {
    // MEMORY PURGE runs a full GC, after which used_memory is measured exactly
    // (concurrent GCs leave it a few MB off under load).
    // Client buffers (mem_clients_normal) aside: they come and go with replies.
    const heapUsed = async () => (await info('used_memory')) - (await info('mem_clients_normal'));
    await r.memory('PURGE');
    const before = await heapUsed();
    await writeMany(4000, (p, i) => p.set(`m:${i}`, VALUE));
    await r.memory('PURGE');
    const after = await heapUsed();
    const usage = await r.memory('USAGE', 'm:1');
    expect(usage).toBeGreaterThan(1000);
    expect(usage).toBeLessThan(1400);
    // 4000 keys of ~usage bytes each (a major GC in between may re-measure the heap).
    expect(after - before).toBeGreaterThan(0.7 * 4000 * usage);
    expect(after - before).toBeLessThan(1.6 * 4000 * usage);
    const stats = (await r.call('MEMORY', 'STATS')) as (string | number | unknown[])[];
    const names = stats.filter((_, i) => i % 2 === 0);
    expect(names.slice(0, 3)).toEqual(['peak.allocated', 'total.allocated', 'startup.allocated']);
    expect(names).toContain('keys.count');
    expect(names).toContain('dataset.bytes');
    expect(names).toContain('db.0');
    expect(stats[names.indexOf('keys.count') * 2 + 1]).toBe(4000);
    const doctor = (await r.call('MEMORY', 'DOCTOR')) as string;
    expect(doctor).toMatch(/Sam/);
    await r.config('SET', 'maxmemory', '100mb');
    await r.config('SET', 'maxmemory-policy', 'volatile-ttl');
    const mem = await r.info('memory');
    expect(mem).toMatch(/^maxmemory:104857600\r?$/m);
    expect(mem).toMatch(/^maxmemory_policy:volatile-ttl\r?$/m);
    expect(Number(/^mem_fragmentation_ratio:(.*)\r?$/m.exec(mem)![1])).toBeGreaterThan(0);
    const field = (f: string) => Number(new RegExp(`^${f}:(.*)\r?$`, 'm').exec(mem)![1]);
    expect(field('used_memory_dataset')).toBeGreaterThan(0);
    expect(field('used_memory_dataset') + field('used_memory_overhead')).toBe(field('used_memory'));
  });

  it('keys, and string values of 16 B to 64 KiB, are held outside the heap, counted exactly and given back', async () => {
    const offHeap = () => info('values_offheap_used');
    const start = await offHeap();
    // Every key here takes a 16-byte cell (the smallest class).
    const K = 16;
    // 1000 bytes go into 1024-byte cells; 10 and 70,000 bytes stay JS strings.
    await writeMany(4000, (p, i) => p.set(`o:${i}`, VALUE));
    await r.set('short', 'x'.repeat(10));
    await r.set('long', 'y'.repeat(70_000));
    expect((await offHeap()) - start).toBe(4000 * 1024 + 4002 * K);
    const bin = Buffer.from(Array.from({ length: 300 }, (_, i) => i % 256));
    await r.set('bin', bin);
    expect(await r.getBuffer('bin')).toEqual(bin);
    expect(await r.get('o:7')).toBe(VALUE);
    expect(await r.memory('USAGE', 'o:7')).toBeGreaterThan(1024);
    // Overwrites reuse cells; DEL and a shrinking APPEND-free overwrite give them back.
    await writeMany(4000, (p, i) => p.set(`o:${i}`, VALUE));
    expect((await offHeap()) - start).toBe(4000 * 1024 + 320 + 4003 * K);
    await writeMany(1000, (p, i) => p.del(`o:${i}`));
    await r.set('o:1000', 'short now');
    expect((await offHeap()) - start).toBe(2999 * 1024 + 320 + 3003 * K);
    const slabs = async () => Number(/^values_offheap_slabs:(\d+)/m.exec(await r.info('memory'))![1]);
    expect(await slabs()).toBeGreaterThanOrEqual(4000 * 1024);
    // Slabs emptied by DEL (not only by FLUSHALL) go back at a quiet moment; MEMORY PURGE is one.
    await writeMany(4000, (p, i) => p.del(`o:${i}`));
    expect((await offHeap()) - start).toBe(320 + 3 * K);
    await r.memory('PURGE');
    // The 320-byte class's one slab, kept by 'bin', and the key store's 16-byte class's, kept by the three keys left.
    expect(await slabs()).toBeLessThanOrEqual(2 << 20);
    await writeMany(2000, (p, i) => p.set(`o:${i}`, VALUE + i));
    expect(await r.get('o:1999')).toBe(VALUE + 1999);
    expect(await r.getBuffer('bin')).toEqual(bin);
    expect((await offHeap()) - start).toBe(2000 * 1024 + 320 + 2003 * K);
    expect(await slabs()).toBeGreaterThanOrEqual(2 << 20);
    await r.flushall();
    expect(await offHeap()).toBe(0);
  });

  it('the memory parameters are real ones, with Redis ranges', async () => {
    const got = (await r.config('GET', '*')) as string[];
    for (const name of ['maxmemory', 'maxmemory-policy', 'maxmemory-samples', 'maxmemory-eviction-tenacity', 'lfu-log-factor', 'lfu-decay-time']) expect(got).toContain(name);
    await expect(r.config('SET', 'maxmemory-eviction-tenacity', '101')).rejects.toThrow(
      "ERR CONFIG SET failed (possibly related to argument 'maxmemory-eviction-tenacity') - argument must be between 0 and 100 inclusive",
    );
    // A failed multi-parameter CONFIG SET restores maxmemory for eviction too, not only in CONFIG GET.
    await expect(r.config('SET', 'maxmemory', '1', 'maxmemory-samples', '0')).rejects.toThrow(/maxmemory-samples/);
    expect(await r.config('GET', 'maxmemory')).toEqual(['maxmemory', '0']);
    expect(await r.set('still', 'writable')).toBe('OK');
  });
});
