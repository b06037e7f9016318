/**
 * Generic key commands (what Redis's tests/unit/keyspace.tcl covers):
 * DEL UNLINK EXISTS TYPE KEYS SCAN RANDOMKEY RENAME RENAMENX COPY MOVE TOUCH
 * OBJECT, through ioredis (RESP3) against the real server.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import Redis from 'ioredis';
import { startServer, type TestServer } from './helpers/server.js';

let srv: TestServer;
let r: Redis;
beforeAll(async () => {
  srv = await startServer(['--enable-debug-command', 'yes']);
  r = new Redis({ port: srv.port, lazyConnect: true });
  await r.connect();
});
afterAll(async () => {
  r.disconnect();
  await srv.stop();
});
beforeEach(async () => {
  await r.select(0);
  await r.flushall();
});

const err = (p: Promise<unknown>) => p.then(() => 'no error', (e: Error) => e.message);

describe('DEL / UNLINK / EXISTS / TYPE / TOUCH', () => {
  it('deletes single and many keys, counting only existing ones', async () => {
    await r.set('foo', 'bar');
    expect(await r.del('foo')).toBe(1);
    expect(await r.get('foo')).toBeNull();
    await r.set('a', '1');
    await r.set('b', '2');
    expect(await r.del('a', 'b', 'c')).toBe(2);
    await r.set('x', '1');
    expect(await r.unlink('x', 'x', 'y')).toBe(1);
  });

  it('DEL and UNLINK of thousands of keys, shuffled with repeats and missing ones, count and delete exactly the existing ones', async () => {
    const keys = Array.from({ length: 10_000 }, (_, i) => `many:${i}`);
    for (let i = 0; i < keys.length; i += 1000) await r.mset(...keys.slice(i, i + 1000).flatMap((k) => [k, 'v']));
    await r.set('keep', 'v');
    // Existing keys, missing ones and repeats, shuffled.
    const args = [...keys, ...keys.slice(0, 500), ...Array.from({ length: 2000 }, (_, i) => `missing:${i}`)].sort(() => Math.random() - 0.5);
    expect(await r.del(...args.slice(0, 6000))).toBe(new Set(args.slice(0, 6000).filter((k) => k.startsWith('many:'))).size);
    expect(await r.unlink(...args)).toBe(new Set(args.slice(6000).filter((k) => k.startsWith('many:') && !args.slice(0, 6000).includes(k))).size);
    expect(await r.dbsize()).toBe(1);
    expect(await r.get('keep')).toBe('v');
  });

  it('DEL of thousands of keys publishes its del events in argument order', async () => {
    const keys = Array.from({ length: 5000 }, (_, i) => `ev:${i}`);
    await r.mset(...keys.flatMap((k) => [k, 'v']));
    await r.config('SET', 'notify-keyspace-events', 'Eg');
    const sub = new Redis({ port: srv.port });
    try {
      const got: string[] = [];
      const all = new Promise<void>((resolve) =>
        sub.on('message', (_ch: string, key: string) => {
          got.push(key);
          if (got.length === keys.length) resolve();
        }),
      );
      await sub.subscribe('__keyevent@0__:del');
      const args = [...keys].reverse();
      expect(await r.del(...args)).toBe(keys.length);
      await all;
      expect(got).toEqual(args);
    } finally {
      sub.disconnect();
      await r.config('SET', 'notify-keyspace-events', '');
    }
  });

  it('EXISTS counts repeated keys each time', async () => {
    await r.set('k', 'v');
    expect(await r.exists('k', 'k', 'nokey')).toBe(2);
    expect(await r.exists('nokey')).toBe(0);
  });

  it('TYPE answers none for a missing key and string for a string', async () => {
    await r.set('s', 'v');
    expect(await r.type('s')).toBe('string');
    expect(await r.type('missing')).toBe('none');
  });

  it('TOUCH counts existing keys', async () => {
    await r.set('a', '1');
    expect(await r.touch('a', 'b')).toBe(1);
  });

  it('a zero-length value and a zero-length key are real keys', async () => {
    await r.set('emptykey', '');
    expect(await r.exists('emptykey')).toBe(1);
    expect(await r.get('emptykey')).toBe('');
    await r.set('', 'v');
    expect(await r.exists('')).toBe(1);
  });

  it('DEL against an expired key answers 0', async () => {
    await r.set('k', 'v');
    await r.pexpire('k', 1);
    await waitUntil(async () => (await r.pttl('k')) === -2);
    expect(await r.del('k')).toBe(0);
  });
});

describe('KEYS', () => {
  it('matches glob patterns', async () => {
    for (const k of ['key_x', 'key_y', 'key_z', 'foo_a', 'foo_b', 'foo_c']) await r.set(k, 'hello');
    expect((await r.keys('foo*')).sort()).toEqual(['foo_a', 'foo_b', 'foo_c']);
    expect((await r.keys('*')).sort()).toEqual(['foo_a', 'foo_b', 'foo_c', 'key_x', 'key_y', 'key_z']);
    expect((await r.keys('key_[xy]')).sort()).toEqual(['key_x', 'key_y']);
    expect(await r.dbsize()).toBe(6);
  });

  it('does not hang on a pathological pattern', async () => {
    await r.set('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', '1');
    expect(await r.keys('a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b')).toEqual([]);
  });

  it('hides expired keys', async () => {
    await r.set('live', '1');
    await r.set('dead', '1');
    await r.pexpire('dead', 1);
    await waitUntil(async () => (await r.pttl('dead')) === -2);
    expect(await r.keys('*')).toEqual(['live']);
  });
});

describe('SCAN', () => {
  it('returns every key exactly once over a full cycle with default COUNT', async () => {
    const p = r.pipeline();
    for (let i = 0; i < 1000; i++) p.set(`key:${i}`, 'x');
    await p.exec();
    const seen = new Set<string>();
    let cursor = '0';
    let rounds = 0;
    do {
      const [next, keys] = await r.scan(cursor);
      for (const k of keys) seen.add(k);
      cursor = next;
      rounds++;
    } while (cursor !== '0');
    expect(seen.size).toBe(1000);
    expect(rounds).toBeGreaterThan(1);
  });

  it('never misses a key present for the whole scan while the table grows', async () => {
    const p = r.pipeline();
    for (let i = 0; i < 500; i++) p.set(`old:${i}`, 'x');
    await p.exec();
    const seen = new Set<string>();
    let cursor = '0';
    let added = 0;
    do {
      const [next, keys] = await r.scan(cursor, 'COUNT', 20);
      for (const k of keys) seen.add(k);
      cursor = next;
      // Grow the table between steps so segments split and the directory doubles.
      if (added < 4000) {
        const q = r.pipeline();
        for (let i = 0; i < 40; i++) q.set(`new:${added++}`, 'x');
        await q.exec();
      }
    } while (cursor !== '0');
    for (let i = 0; i < 500; i++) expect(seen.has(`old:${i}`)).toBe(true);
  });

  it('filters by MATCH and TYPE and honours COUNT', async () => {
    const p = r.pipeline();
    for (let i = 0; i < 100; i++) p.set(i % 2 ? `odd:${i}` : `even:${i}`, 'x');
    await p.exec();
    const all: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', 'odd:*', 'COUNT', 100);
      all.push(...keys);
      cursor = next;
    } while (cursor !== '0');
    expect(all.length).toBe(50);
    expect(all.every((k) => k.startsWith('odd:'))).toBe(true);
    const [, strings] = await r.scan('0', 'TYPE', 'string', 'COUNT', 1000);
    expect(strings.length).toBe(100);
    const [, lists] = await r.scan('0', 'TYPE', 'list', 'COUNT', 1000);
    expect(lists).toEqual([]);
  });

  it('answers Redis\'s errors for a bad cursor and bad options', async () => {
    expect(await err(r.scan('abc'))).toBe('ERR invalid cursor');
    expect(await err(r.scan('0', 'COUNT', 0))).toBe('ERR syntax error');
    expect(await err(r.scan('0', 'COUNT', 'x'))).toBe('ERR value is not an integer or out of range');
    expect(await err(r.scan('0', 'FOO', 'bar'))).toBe('ERR syntax error');
  });

  it('reclaims expired keys it meets and does not return them', async () => {
    await r.set('a', '1');
    await r.pexpire('a', 1);
    await waitUntil(async () => {
      const [, keys] = await r.scan('0', 'COUNT', 100);
      return keys.length === 0;
    });
  });
});

describe('RANDOMKEY', () => {
  it('returns existing keys, and null on an empty db', async () => {
    expect(await r.randomkey()).toBeNull();
    await r.set('foo', 'x');
    await r.set('bar', 'y');
    const seen = new Set<string>();
    for (let i = 0; i < 100; i++) seen.add((await r.randomkey())!);
    expect([...seen].sort()).toEqual(['bar', 'foo']);
  });

  it('skips and reclaims expired keys', async () => {
    await r.debug('set-active-expire', '0');
    try {
      await r.set('gone', '1');
      await r.pexpire('gone', 1);
      await r.set('here', '1');
      await waitUntil(async () => (await r.pttl('gone')) === -2);
      for (let i = 0; i < 20; i++) expect(await r.randomkey()).toBe('here');
    } finally {
      await r.debug('set-active-expire', '1');
    }
  });
});

describe('RENAME / RENAMENX', () => {
  it('moves the value and the TTL', async () => {
    await r.set('mykey', 'hello');
    await r.pexpire('mykey', 100000);
    expect(await r.rename('mykey', 'mykey1')).toBe('OK');
    expect(await r.exists('mykey')).toBe(0);
    expect(await r.get('mykey1')).toBe('hello');
    expect(await r.pttl('mykey1')).toBeGreaterThan(90000);
  });

  it('overwrites the target and does not inherit the target\'s TTL', async () => {
    await r.set('src', 'a');
    await r.set('dst', 'b');
    await r.expire('dst', 100);
    await r.rename('src', 'dst');
    expect(await r.get('dst')).toBe('a');
    expect(await r.ttl('dst')).toBe(-1);
  });

  it('RENAMENX refuses an existing target', async () => {
    await r.set('a', '1');
    await r.set('b', '2');
    expect(await r.renamenx('a', 'b')).toBe(0);
    expect(await r.get('b')).toBe('2');
    expect(await r.renamenx('a', 'c')).toBe(1);
    expect(await r.get('c')).toBe('1');
  });

  it('errors on a missing source, and treats same-name as a no-op', async () => {
    expect(await err(r.rename('nokey', 'x'))).toBe('ERR no such key');
    expect(await err(r.renamenx('nokey', 'x'))).toBe('ERR no such key');
    await r.set('same', 'v');
    expect(await r.rename('same', 'same')).toBe('OK');
    expect(await r.renamenx('same', 'same')).toBe(0);
    expect(await err(r.rename('nokey', 'nokey'))).toBe('ERR no such key');
  });
});

describe('COPY / MOVE', () => {
  it('copies a string with its TTL, and the copy is independent', async () => {
    await r.set('mykey', 'foobar');
    await r.expire('mykey', 100);
    expect(await r.copy('mykey', 'mynewkey')).toBe(1);
    expect(await r.get('mynewkey')).toBe('foobar');
    expect(await r.ttl('mynewkey')).toBeGreaterThan(90);
    await r.set('mykey', 'changed');
    expect(await r.get('mynewkey')).toBe('foobar');
  });

  it('does not create a TTL when the source has none', async () => {
    await r.set('mykey', 'foobar');
    await r.copy('mykey', 'mynewkey');
    expect(await r.ttl('mynewkey')).toBe(-1);
  });

  it('needs REPLACE to overwrite, and copies across databases', async () => {
    await r.set('a', 'x');
    await r.set('b', 'y');
    expect(await r.copy('a', 'b')).toBe(0);
    expect(await r.copy('a', 'b', 'REPLACE')).toBe(1);
    expect(await r.get('b')).toBe('x');
    expect(await r.copy('a', 'a', 'DB', 9)).toBe(1);
    await r.select(9);
    expect(await r.get('a')).toBe('x');
  });

  it('answers Redis\'s errors', async () => {
    await r.set('a', 'x');
    expect(await err(r.copy('a', 'a'))).toBe('ERR source and destination objects are the same');
    expect(await err(r.copy('a', 'b', 'DB', 'notanumber'))).toBe('ERR value is not an integer or out of range');
    expect(await err(r.copy('a', 'b', 'DB', 99))).toBe('ERR DB index is out of range');
    expect(await err(r.copy('a', 'b', 'FOO'))).toBe('ERR syntax error');
    expect(await r.copy('missing', 'b')).toBe(0);
  });

  it('MOVE moves value and TTL, and refuses an existing target', async () => {
    await r.set('mykey', 'hello');
    await r.expire('mykey', 100);
    expect(await r.move('mykey', 10)).toBe(1);
    expect(await r.exists('mykey')).toBe(0);
    await r.select(10);
    expect(await r.get('mykey')).toBe('hello');
    expect(await r.ttl('mykey')).toBeGreaterThan(90);
    await r.select(0);
    await r.set('mykey', 'other');
    expect(await r.move('mykey', 10)).toBe(0);
    expect(await err(r.move('mykey', 'notanumber'))).toBe('ERR value is not an integer or out of range');
    expect(await err(r.move('mykey', 0))).toBe('ERR source and destination objects are the same');
    expect(await err(r.move('mykey', 100))).toBe('ERR DB index is out of range');
  });
});

describe('OBJECT', () => {
  it('reports string encodings as Redis does', async () => {
    await r.set('i', '12345');
    await r.set('neg', '-9223372036854775808');
    await r.set('notcanon', '012');
    await r.set('short', 'x'.repeat(44));
    await r.set('long', 'x'.repeat(45));
    expect(await r.object('ENCODING', 'i')).toBe('int');
    expect(await r.object('ENCODING', 'neg')).toBe('int');
    expect(await r.object('ENCODING', 'notcanon')).toBe('embstr');
    expect(await r.object('ENCODING', 'short')).toBe('embstr');
    expect(await r.object('ENCODING', 'long')).toBe('raw');
    expect(await r.object('ENCODING', 'missing')).toBeNull();
    expect(await r.object('REFCOUNT', 'i')).toBeGreaterThanOrEqual(1);
    // Set just now: idle 0, or 1 if the 1 s LRU clock ticked in between.
    expect(await r.object('IDLETIME', 'i')).toBeLessThanOrEqual(1);
  });

  it('FREQ needs an LFU policy, and HELP lists the subcommands', async () => {
    await r.set('k', 'v');
    expect(await err(r.object('FREQ', 'k'))).toMatch(/^ERR An LFU maxmemory policy is not selected/);
    const help = (await r.call('OBJECT', 'HELP')) as string[];
    expect(help.some((l) => l.startsWith('ENCODING'))).toBe(true);
    expect(await err(r.call('OBJECT', 'FOO', 'k'))).toMatch(/^ERR unknown subcommand 'FOO'/);
  });
});

describe('binary keys', () => {
  it('keeps every byte of keys through RENAME, COPY and KEYS', async () => {
    const k = Buffer.from([0, 0xff, 0x80, 0x0d, 0x0a, 0x41]);
    const k2 = Buffer.from([0xc3, 0x28]);
    await r.set(k, Buffer.from([1, 2, 3]));
    await r.rename(k, k2);
    const keys = await r.keysBuffer('*');
    expect(keys.length).toBe(1);
    expect(keys[0].equals(k2)).toBe(true);
    expect((await r.getBuffer(k2))!.equals(Buffer.from([1, 2, 3]))).toBe(true);
  });
});

async function waitUntil(cond: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((res) => setTimeout(res, 10));
  }
}
