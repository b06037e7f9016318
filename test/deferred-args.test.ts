/**
 * Giant DEL / UNLINK / EXISTS / TOUCH, PFADD / PFCOUNT / PFMERGE and set
 * algebra requests keep their arguments as bytes until they run
 * (protocol/deferred-args.ts). What a client sees must not
 * change: every reply, and what MULTI, ACL key patterns, SLOWLOG, MONITOR,
 * keyspace notifications and CLIENT PAUSE do with such a request, compared
 * with redis-server for the same bytes. The parser tests check that the
 * deferral is really taken (the TCP tests would pass without it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { startServer, RawClient, type TestServer } from './helpers/server.js';
import { startRedis, type Oracle } from './helpers/redis-oracle.js';
import { RequestParser, clientLimits } from '../src/protocol/parser.js';
import { DEFER_MIN, deferArgs, isDeferred } from '../src/protocol/deferred-args.js';

const N = DEFER_MIN + 4000;
const BIG = 'B'.repeat(40_000); // a bulk the parser gathers in its own buffer
const HUGE = 'H'.repeat(1_200_000); // longer than an arena chunk
const BINARY = 'bin\0\r\n\xff\x80key';

/** N keys: the populated key:i for even i, missing ones for odd i, then the special ones and a duplicate. */
function keyList(): string[] {
  const keys: string[] = [];
  for (let i = 0; i < N; i++) keys.push(i % 2 === 0 ? `key:${i}` : `missing:${i}`);
  keys.push(BIG, HUGE, BINARY, '', 'key:0');
  return keys;
}

function request(args: string[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) parts.push(Buffer.from(`$${a.length}\r\n${a}\r\n`, 'latin1'));
  return Buffer.concat(parts);
}

/** Write `bytes` in small pieces, as a client streaming a big request does, and read one reply line. */
async function streamed(port: number, bytes: Buffer, end = '\r\n'): Promise<string> {
  const c = await RawClient.connect(port);
  try {
    for (let o = 0; o < bytes.length; o += 4096) c.write(bytes.subarray(o, o + 4096));
    return await c.readUntil(end, 30000);
  } finally {
    c.close();
  }
}

let srv: TestServer;
let oracle: Oracle;
const both = (): [string, number][] => [
  ['damselfly', srv.port],
  ['redis', oracle.port],
];

async function fill(port: number): Promise<void> {
  const c = new Redis(port);
  await c.flushall();
  expect(await c.call('debug', 'populate', String(N), 'key')).toBe('OK');
  await c.set(BIG, 'big');
  await c.set(HUGE, 'huge');
  await c.set(Buffer.from(BINARY, 'latin1'), 'binary');
  await c.set('', 'empty');
  await c.quit();
}

beforeAll(async () => {
  [srv, oracle] = await Promise.all([startServer(['--save', '', '--enable-debug-command', 'yes']), startRedis(['--enable-debug-command', 'yes'])]);
}, 60000);

afterAll(async () => {
  await srv?.stop();
  oracle?.stop();
});

describe('the parser defers giant requests of key-only commands', () => {
  deferArgs('del', 'unlink', 'exists', 'touch');
  const parse = (bytes: Buffer, pieces = 1000): string[] => {
    const p = new RequestParser(clientLimits(false));
    let got: string[] | null = null;
    for (let o = 0; o < bytes.length && got === null; o += pieces) {
      p.feed(bytes.subarray(o, o + pieces));
      got = p.next();
    }
    expect(got).not.toBeNull();
    return got!;
  };

  it('keeps the arguments as bytes and gives every one back, in any case of the name', () => {
    const keys = keyList();
    const args = parse(request(['dEl', ...keys]), 3000);
    expect(isDeferred(args)).toBe(true);
    expect(args.length).toBe(keys.length + 1);
    expect(args[0]).toBe('dEl');
    for (let i = 0; i < keys.length; i++) if (args[i + 1] !== keys[i]) throw new Error(`argument ${i + 1} differs`);
    expect(args[keys.length + 1]).toBeUndefined();
    // What generic code does with an argument list works on it too.
    expect(args.slice(0, 3)).toEqual(['dEl', 'key:0', 'missing:1']);
    expect([...args].length).toBe(keys.length + 1);
    expect(args.indexOf(BINARY)).toBe(keys.length - 2);
    expect(args[keys.length - 1]).toBe('');
  });

  it('PFADD, PFCOUNT, PFMERGE and the set algebra commands ask for it too', async () => {
    await import('../src/commands/sets.js');
    await import('../src/commands/hyperloglog.js');
    for (const name of ['pfadd', 'pfcount', 'pfmerge', 'sunion', 'sinter', 'sdiff', 'sunionstore', 'sinterstore', 'sdiffstore']) {
      expect(isDeferred(parse(request([name.toUpperCase(), ...keyList()]), 50_000)), name).toBe(true);
    }
  });

  it('leaves other commands, and smaller requests, as plain arrays', () => {
    expect(isDeferred(parse(request(['SADD', 's', ...keyList()])))).toBe(false);
    expect(isDeferred(parse(request(['DEL', ...keyList().slice(0, DEFER_MIN - 2)])))).toBe(false);
    const exact = parse(request(['DEL', ...keyList().slice(0, DEFER_MIN - 1)]));
    expect(isDeferred(exact)).toBe(true);
    expect(exact.length).toBe(DEFER_MIN);
  });
});

describe('giant key-only requests over TCP, against redis-server', () => {
  it('EXISTS, TOUCH, DEL and UNLINK reply as redis-server does and leave the same keyspace', async () => {
    const out: Record<string, string[]> = {};
    for (const [name, port] of both()) {
      await fill(port);
      const keys = keyList();
      const r: string[] = [];
      r.push(await streamed(port, request(['EXISTS', ...keys])));
      r.push(await streamed(port, request(['TOUCH', ...keys])));
      r.push(await streamed(port, request(['DEL', ...keys.filter((_, i) => i % 4 < 2)])));
      r.push(await streamed(port, request(['EXISTS', ...keys])));
      r.push(await streamed(port, request(['UNLINK', ...keys])));
      const c = new Redis(port);
      r.push(String(await c.dbsize()), String(await c.exists('key:2', 'key:0', BIG)));
      await c.quit();
      out[name] = r;
    }
    expect(out.damselfly).toEqual(out.redis);
    // Not vacuous: keys existed and went.
    expect(out.redis[0]).toBe(`:${N / 2 + 5}\r\n`);
  }, 120000);

  it('a giant DEL queued in MULTI runs at EXEC', async () => {
    const out: Record<string, string> = {};
    for (const [name, port] of both()) {
      await fill(port);
      const c = await RawClient.connect(port);
      c.write('MULTI\r\n');
      c.write(request(['DEL', ...keyList()]));
      c.write('DBSIZE\r\nEXEC\r\n');
      out[name] = await c.readUntil('*2\r\n', 30000);
      out[name] += await c.readUntil('\r\n:', 30000);
      out[name] += await c.readUntil('\r\n', 30000);
      c.close();
    }
    expect(out.damselfly).toBe(out.redis);
    expect(out.redis).toContain(`:${N / 2 + 4}\r\n:`);
  }, 120000);

  it('ACL key patterns are checked on every key of a giant DEL', async () => {
    const out: Record<string, string[]> = {};
    for (const [name, port] of both()) {
      await fill(port);
      const admin = new Redis(port);
      await admin.call('acl', 'setuser', 'limited', 'on', 'nopass', '~key:*', '~missing:*', '+@all');
      const c = new Redis(port, { username: 'limited', password: 'x' });
      const keys = keyList().slice(0, N);
      const r: string[] = [];
      r.push(String(await c.call('del', ...keys.slice(0, N - 1), 'other:1').catch((e: Error) => e.message)));
      r.push(String(await admin.dbsize()));
      r.push(String(await c.call('del', ...keys)));
      const [entry] = (await admin.call('acl', 'log', '1')) as unknown[][];
      const field = (f: string) => String(entry[entry.indexOf(f) + 1]);
      r.push(['reason', 'context', 'object', 'username'].map(field).join(' '));
      await c.quit();
      await admin.call('acl', 'deluser', 'limited');
      await admin.quit();
      out[name] = r;
    }
    expect(out.damselfly).toEqual(out.redis);
    expect(out.redis[0]).toMatch(/^NOPERM/);
  }, 120000);

  it('SLOWLOG keeps the first arguments of a giant DEL and counts the rest', async () => {
    const out: Record<string, unknown> = {};
    for (const [name, port] of both()) {
      await fill(port);
      const c = new Redis(port);
      await c.config('set', 'slowlog-log-slower-than', '0');
      await c.slowlog('reset');
      await streamed(port, request(['DEL', ...keyList()]));
      const entries = (await c.slowlog('get', 10)) as unknown[][];
      await c.config('set', 'slowlog-log-slower-than', '10000');
      out[name] = entries.map((e) => e[3]).find((a) => (a as string[])[0] === 'DEL');
      await c.quit();
    }
    expect(out.damselfly).toEqual(out.redis);
    expect((out.redis as string[]).at(-1)).toMatch(/more arguments/);
  }, 120000);

  it('keyspace notifications and MONITOR see every deleted key', async () => {
    const out: Record<string, string[]> = {};
    for (const [name, port] of both()) {
      await fill(port);
      const admin = new Redis(port);
      await admin.config('set', 'notify-keyspace-events', 'Eg');
      const sub = new Redis(port);
      const events: string[] = [];
      await sub.subscribe('__keyevent@0__:del');
      sub.on('message', (_ch: string, key: string) => events.push(key));
      const mon = await RawClient.connect(port);
      mon.write('MONITOR\r\n');
      await mon.readUntil('+OK\r\n');
      const keys = keyList().slice(0, N);
      const reply = await streamed(port, request(['DEL', ...keys]));
      const line = await mon.readUntil('\r\n', 30000);
      // A marker published after the DEL arrives after all of its events.
      await admin.publish('__keyevent@0__:del', 'END');
      while (events.at(-1) !== 'END') await new Promise((r) => sub.once('message', r));
      out[name] = [reply, String(events.length), events.slice(0, 3).join(','), events.at(-2)!, line.slice(line.indexOf(']') + 2, 200), String(line.length - line.indexOf(']'))];
      await admin.config('set', 'notify-keyspace-events', '');
      mon.close();
      await sub.quit();
      await admin.quit();
    }
    expect(out.damselfly).toEqual(out.redis);
    expect(out.redis[1]).toBe(String(N / 2 + 1));
  }, 120000);

  it('CLIENT PAUSE WRITE holds a giant DEL until it is lifted', async () => {
    const out: Record<string, string[]> = {};
    for (const [name, port] of both()) {
      await fill(port);
      const admin = new Redis(port);
      await admin.call('client', 'pause', '60000', 'write');
      const c = await RawClient.connect(port);
      const bytes = request(['DEL', ...keyList()]);
      for (let o = 0; o < bytes.length; o += 4096) c.write(bytes.subarray(o, o + 4096));
      c.write('PING\r\n');
      // Held: nothing answered while paused, though the whole request arrived.
      const held = await c.readUntil('\r\n', 500).then((s) => `answered ${s}`, () => 'held');
      const size = String(await admin.dbsize());
      await admin.call('client', 'unpause');
      const after = await c.readUntil('+PONG\r\n', 30000);
      out[name] = [held, size, after, String(await admin.dbsize())];
      c.close();
      await admin.quit();
    }
    expect(out.damselfly).toEqual(out.redis);
    expect(out.redis[0]).toBe('held');
  }, 120000);

  it('PFADD, PFCOUNT, PFMERGE and the set algebra commands with giant argument lists: replies and values as redis-server', async () => {
    const out: Record<string, string[]> = {};
    const names = keyList().map((k) => `x${k}`); // none exists: all missing keys, or new elements
    for (const [name, port] of both()) {
      const c = new Redis(port);
      await c.flushall();
      await c.sadd('sa', 'a', 'b', 'c');
      await c.sadd('sb', 'b', 'c', 'd');
      await c.pfadd('h1', 'a', 'b');
      const r: string[] = [];
      r.push(await streamed(port, request(['PFADD', 'hll', ...keyList()])));
      r.push(await streamed(port, request(['PFADD', 'hll', ...keyList()]))); // dense now, nothing raised
      r.push(await streamed(port, request(['PFCOUNT', 'hll', ...names, 'h1'])));
      r.push(await streamed(port, request(['PFMERGE', 'merged', 'h1', ...names, 'hll'])));
      r.push(String(await c.pfcount('hll')), String(await c.pfcount('merged')));
      r.push((await c.getBuffer('hll'))!.toString('hex'), (await c.getBuffer('merged'))!.toString('hex'));
      r.push(await streamed(port, request(['SUNIONSTORE', 'u', 'sa', ...names, 'sb'])));
      r.push(await streamed(port, request(['SINTERSTORE', 'i', 'sa', ...names, 'sb'])));
      r.push(await streamed(port, request(['SDIFFSTORE', 'd', 'sa', ...names, 'sb'])));
      r.push(((await c.call('sunion', 'sb', ...names)) as string[]).sort().join(','));
      r.push(await streamed(port, request(['SINTER', 'sa', 'sb', ...names])));
      r.push(await streamed(port, request(['SDIFF', ...names])));
      r.push(await streamed(port, request(['SUNION', ...names, 'hll'])));
      for (const k of ['u', 'i', 'd']) r.push(((await c.smembers(k)) as string[]).sort().join(','));
      await c.quit();
      out[name] = r;
    }
    expect(out.damselfly).toEqual(out.redis);
    // Not vacuous: the HLL counted the elements, the union found the sets across the missing keys.
    expect(Number(out.redis[4])).toBeGreaterThan(N * 0.9);
    expect(out.redis.slice(11)).toEqual(['b,c,d', '*0\r\n', '*0\r\n', expect.stringMatching(/^-WRONGTYPE/), 'a,b,c,d', '', 'a']);
  }, 120000);
});
