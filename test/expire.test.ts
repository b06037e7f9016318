/**
 * Expiry (what Redis's tests/unit/expire.tcl covers): EXPIRE family with
 * NX/XX/GT/LT and Redis's overflow errors, TTL/PTTL/EXPIRETIME/PEXPIRETIME,
 * PERSIST, lazy expiry, and the active cycle really removing keys.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import Redis from 'ioredis';
import { readFileSync } from 'node:fs';
import { startServer, type TestServer } from './helpers/server.js';

let srv: TestServer;
let r: Redis;
beforeAll(async () => {
  srv = await startServer(['--enable-debug-command', 'yes', '--hz', '50']);
  r = new Redis({ port: srv.port, lazyConnect: true });
  await r.connect();
});
afterAll(async () => {
  r.disconnect();
  await srv.stop();
});
beforeEach(async () => {
  await r.debug('set-active-expire', '1');
  await r.flushall();
});

const err = (p: Promise<unknown>) => p.then(() => 'no error', (e: Error) => e.message);

async function waitUntil(cond: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((res) => setTimeout(res, 10));
  }
}

describe('EXPIRE family', () => {
  it('sets timeouts, repeatedly, and answers 0 for a missing key', async () => {
    await r.set('x', 'foobar');
    expect(await r.expire('x', 5)).toBe(1);
    expect(await r.ttl('x')).toBe(5);
    expect(await r.expire('x', 10)).toBe(1);
    expect(await r.ttl('x')).toBe(10);
    expect(await r.expire('nokey', 10)).toBe(0);
  });

  it('EXPIREAT and PEXPIREAT take absolute times', async () => {
    await r.set('x', 'v');
    const at = Math.floor(Date.now() / 1000) + 100;
    expect(await r.expireat('x', at)).toBe(1);
    expect(await r.expiretime('x')).toBe(at);
    const pat = Date.now() + 100000;
    expect(await r.pexpireat('x', pat)).toBe(1);
    expect(await r.pexpiretime('x')).toBe(pat);
    expect(await r.expiretime('x')).toBe(Math.floor(pat / 1000));
  });

  it('a time in the past deletes the key and still answers 1', async () => {
    await r.set('x', 'v');
    expect(await r.expire('x', -10)).toBe(1);
    expect(await r.exists('x')).toBe(0);
    await r.set('y', 'v');
    expect(await r.pexpireat('y', 1)).toBe(1);
    expect(await r.ttl('y')).toBe(-2);
  });

  it('answers Redis\'s overflow errors and leaves the key alone', async () => {
    await r.set('foo', 'bar');
    for (const v of ['9223370399119966', '9223372036854776', '10000000000000000', '18446744073709561', '-9223372036854776', '-9999999999999999']) {
      expect(await err(r.expire('foo', v))).toBe("ERR invalid expire time in 'expire' command");
    }
    expect(await err(r.pexpire('foo', '9223372036854770000'))).toBe("ERR invalid expire time in 'pexpire' command");
    expect(await r.ttl('foo')).toBe(-1);
    expect(await err(r.expire('foo', ''))).toBe('ERR value is not an integer or out of range');
    expect(await r.pexpireat('foo', '9223372036854770000')).toBe(1);
    await r.set('foo', 'bar');
    await r.pexpireat('foo', '-9223372036854770000');
    expect(await r.ttl('foo')).toBe(-2);
  });

  it('NX / XX / GT / LT follow Redis (no TTL counts as infinite)', async () => {
    const fresh = async (ttl?: number) => {
      await r.set('foo', 'bar');
      if (ttl) await r.expire('foo', ttl);
    };
    await fresh(100);
    expect(await r.expire('foo', 200, 'NX')).toBe(0);
    await fresh();
    expect(await r.expire('foo', 200, 'NX')).toBe(1);
    await fresh(100);
    expect(await r.expire('foo', 200, 'XX')).toBe(1);
    await fresh();
    expect(await r.expire('foo', 200, 'XX')).toBe(0);
    await fresh(100);
    expect(await r.expire('foo', 200, 'GT')).toBe(1);
    await fresh(200);
    expect(await r.expire('foo', 100, 'GT')).toBe(0);
    await fresh();
    expect(await r.expire('foo', 200, 'GT')).toBe(0);
    expect(await r.ttl('foo')).toBe(-1);
    await fresh(100);
    expect(await r.expire('foo', 200, 'LT')).toBe(0);
    await fresh(200);
    expect(await r.expire('foo', 100, 'LT')).toBe(1);
    await fresh();
    expect(await r.expire('foo', 100, 'LT')).toBe(1);
    await fresh();
    expect(await r.expire('foo', 200, 'LT', 'XX')).toBe(0);
    for (const f of ['NX', 'XX', 'GT', 'LT']) expect(await r.call('EXPIRE', 'none', '100', f)).toBe(0);
  });

  it('answers Redis\'s errors for bad option combinations', async () => {
    expect(await err(r.call('EXPIRE', 'foo', '200', 'LT', 'GT'))).toBe('ERR GT and LT options at the same time are not compatible');
    expect(await err(r.call('EXPIRE', 'foo', '200', 'NX', 'GT'))).toBe('ERR NX and XX, GT or LT options at the same time are not compatible');
    expect(await err(r.call('EXPIRE', 'foo', '200', 'NX', 'XX'))).toBe('ERR NX and XX, GT or LT options at the same time are not compatible');
    expect(await err(r.call('EXPIRE', 'foo', '200', 'AB'))).toBe('ERR Unsupported option AB');
    expect(await err(r.call('EXPIRE', 'foo', '200', 'XX', 'AB'))).toBe('ERR Unsupported option AB');
  });

  it('a write replacing the value clears the TTL', async () => {
    await r.set('foo', 'bar');
    await r.expire('foo', 100);
    await r.set('foo', 'baz');
    expect(await r.ttl('foo')).toBe(-1);
  });
});

describe('TTL family and PERSIST', () => {
  it('-2 for a missing key, -1 for no TTL', async () => {
    await r.set('foo', 'bar');
    for (const c of ['ttl', 'pttl', 'expiretime', 'pexpiretime'] as const) {
      expect(await r[c]('foo')).toBe(-1);
      expect(await r[c]('nokey')).toBe(-2);
    }
  });

  it('TTL rounds to the nearest second, PTTL is in milliseconds', async () => {
    await r.set('x', 'v');
    await r.pexpire('x', 2600);
    expect(await r.ttl('x')).toBe(3);
    const pttl = await r.pttl('x');
    expect(pttl).toBeGreaterThan(2400);
    expect(pttl).toBeLessThanOrEqual(2600);
  });

  it('PERSIST removes a TTL; 0 for missing or persistent keys', async () => {
    await r.set('x', 'foo');
    await r.expire('x', 50);
    expect(await r.persist('x')).toBe(1);
    expect(await r.ttl('x')).toBe(-1);
    expect(await r.persist('x')).toBe(0);
    expect(await r.persist('nokey')).toBe(0);
  });
});

describe('expiry really removes keys', () => {
  it('millisecond precision: a key expiring in 100ms is gone soon after', async () => {
    await r.set('x', 'somevalue');
    await r.pexpire('x', 100);
    expect(await r.get('x')).toBe('somevalue');
    await waitUntil(async () => (await r.get('x')) === null, 2000);
  });

  it('the active cycle removes keys nobody reads (DBSIZE and expired_keys drop)', async () => {
    for (const k of ['key1', 'key2', 'key3']) {
      await r.set(k, 'a');
      await r.pexpire(k, 100);
    }
    expect(await r.dbsize()).toBe(3);
    // DBSIZE does not look keys up: only the active cycle can lower it.
    await waitUntil(async () => (await r.dbsize()) === 0, 10000);
    const info = await r.info('stats');
    expect(Number(/expired_keys:(\d+)/.exec(info)![1])).toBeGreaterThanOrEqual(3);
  });

  it('with DEBUG SET-ACTIVE-EXPIRE 0 only access reclaims keys (lazy expiry)', async () => {
    await r.debug('set-active-expire', '0');
    for (const k of ['key1', 'key2', 'key3']) {
      await r.set(k, 'a');
      await r.pexpire(k, 50);
    }
    await waitUntil(async () => (await r.pttl('key1')) === -2);
    // key1 was reclaimed by PTTL's lookup; the others still occupy the table.
    const n = Date.now();
    while (Date.now() - n < 200) await new Promise((res) => setTimeout(res, 20));
    expect(await r.dbsize()).toBe(2);
    expect(await r.get('key2')).toBeNull();
    expect(await r.get('key3')).toBeNull();
    expect(await r.dbsize()).toBe(0);
  });

  it('EXPIRE does not resurrect an expired key', async () => {
    await r.debug('set-active-expire', '0');
    await r.set('foo', 'bar');
    await r.pexpire('foo', 50);
    await new Promise((res) => setTimeout(res, 120));
    expect(await r.expire('foo', 10)).toBe(0);
    expect(await r.exists('foo')).toBe(0);
  });

  it('many volatile keys all disappear through the active cycle', async () => {
    const p = r.pipeline();
    for (let i = 0; i < 2000; i++) {
      p.set(`v:${i}`, 'x');
      p.pexpire(`v:${i}`, 50 + (i % 100));
    }
    for (let i = 0; i < 100; i++) p.set(`keep:${i}`, 'x');
    await p.exec();
    await waitUntil(async () => (await r.dbsize()) === 100, 15000);
    const info = await r.info('keyspace');
    expect(info).toMatch(/db0:keys=100,expires=0,avg_ttl=0/);
  });
});

describe('the active expire cycle samples, as Redis does', () => {
  it('an idle server holding 500k keys with a TTL, none due, spends almost no CPU on it', async () => {
    const s = await startServer(['--enable-debug-command', 'yes']);
    const c = new Redis({ port: s.port });
    try {
      expect(await c.call('debug', 'populate', '500000', 'key')).toBe('OK');
      for (let i = 0; i < 500_000; i += 10_000) {
        const p = c.pipeline();
        for (let j = i; j < i + 10_000; j++) p.expire(`key:${j}`, 3600);
        await p.exec();
      }
      expect(Number(/expires=(\d+)/.exec(await c.info('keyspace'))![1])).toBe(500_000);
      const ticks = () => {
        const f = readFileSync(`/proc/${s.pid}/stat`, 'utf8').split(') ')[1].split(' ');
        return Number(f[11]) + Number(f[12]);
      };
      // CPU over 1 s windows, until the fill's garbage collections have
      // settled. Walking every TTL each cron tick used 17-20% of a core here
      // for as long as the keys lived; sampling 20 of them, under 2%.
      let best = Infinity;
      for (let k = 0; k < 10 && best > 5; k++) {
        const t0 = ticks();
        await new Promise((res) => setTimeout(res, 1000));
        best = Math.min(best, ticks() - t0);
      }
      expect(best).toBeLessThanOrEqual(5); // clock ticks (1/100 s) in one second
      // Nothing due was removed, nothing not due either.
      expect(await c.dbsize()).toBe(500_000);
    } finally {
      await c.quit();
      await s.stop();
    }
  }, 120_000);
});
