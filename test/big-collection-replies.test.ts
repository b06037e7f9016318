/**
 * Listing a big collection (LRANGE, SMEMBERS, HGETALL, ZRANGE ... past a
 * few thousand items) is streamed: the bytes are redis-server's, other
 * clients are served while the reply is produced, and the reply is the
 * value as it was when the command ran, whatever writes come meanwhile.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import Redis from 'ioredis';
import { startServer, resp, type TestServer } from './helpers/server.js';
import { rawReply, startRedis, type Oracle } from './helpers/redis-oracle.js';

let srv: TestServer;
let oracle: Oracle;
let a: Redis;

beforeAll(async () => {
  srv = await startServer(['--save', '']);
  a = new Redis({ port: srv.port, lazyConnect: true });
  await a.connect();
  oracle = await startRedis();
});

afterAll(async () => {
  await a?.quit();
  oracle?.stop();
  await srv?.stop();
});

const N = 6000;
/** Element i: lengths from 0 to ~300 bytes, CR/LF and high latin1 bytes included. */
const elem = (i: number): string => (i % 97 === 0 ? '' : `e${i}:` + 'abc\r\n\xff'.repeat(i % 50));

async function load(port: number): Promise<void> {
  const c = new Redis({ port, lazyConnect: true });
  await c.connect();
  await c.del('L', 'S', 'H', 'Z');
  const p = c.pipeline();
  for (let i = 0; i < N; i += 500) {
    const els: Buffer[] = [];
    const pairs: Buffer[] = [];
    const zs: (string | Buffer)[] = [];
    for (let j = i; j < i + 500; j++) {
      els.push(Buffer.from(elem(j), 'latin1'));
      pairs.push(Buffer.from(`f${j}`, 'latin1'), Buffer.from(elem(j), 'latin1'));
      zs.push(String((j % 1000) / 7 - 50), Buffer.from(`m${j}` + elem(j), 'latin1'));
    }
    p.rpush('L', ...els);
    p.sadd('S', ...els.map((e, k) => Buffer.concat([Buffer.from(`s${i + k}`), e])));
    p.hset('H', ...pairs);
    p.zadd('Z', ...zs);
  }
  await p.exec();
  c.disconnect();
}

/** A RESP2/3 reply cut into header lines and bulk payloads (enough for these replies). */
function tokens(raw: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < raw.length) {
    const nl = raw.indexOf('\r\n', i);
    const line = raw.slice(i, nl);
    i = nl + 2;
    if (line[0] === '$') {
      const n = Number(line.slice(1));
      out.push('$' + raw.slice(i, i + n));
      i += n + 2;
    } else out.push(line);
  }
  return out;
}

describe('big collection replies are byte for byte redis-server', () => {
  beforeAll(async () => {
    await load(srv.port);
    await load(oracle.port);
  }, 180000);

  // Ordered replies: every byte the same.
  const ordered = [
    ['LRANGE', 'L', '0', '-1'],
    ['LRANGE', 'L', '-5000', '5500'],
    ['ZRANGE', 'Z', '0', '-1', 'WITHSCORES'],
    ['ZRANGE', 'Z', '0', '-1'],
    ['ZRANGE', 'Z', '-1', '0', 'REV', 'WITHSCORES'],
    ['ZRANGE', 'Z', '-10', '+inf', 'BYSCORE', 'LIMIT', '5', '4000', 'WITHSCORES'],
    ['ZREVRANGEBYSCORE', 'Z', '+inf', '-inf', 'WITHSCORES'],
    ['ZRANGEBYLEX', 'Z', '-', '+'],
  ];
  // Hash-ordered replies: the same header and the same items in another order.
  const unordered = [
    ['SMEMBERS', 'S'],
    ['HKEYS', 'H'],
    ['HVALS', 'H'],
    ['SUNION', 'S', 'nosuch'],
    ['SDIFF', 'S', 'nosuch'],
    ['KEYS', '*'],
    // A count past the size answers the whole collection.
    ['SRANDMEMBER', 'S', '100000'],
    ['HRANDFIELD', 'H', '100000'],
    ['HRANDFIELD', 'H', '100000', 'WITHVALUES'],
    ['ZRANDMEMBER', 'Z', '100000'],
    ['ZRANDMEMBER', 'Z', '100000', 'WITHSCORES'],
  ];

  for (const proto of [2, 3] as const) {
    it(`RESP${proto}: LRANGE and the ZRANGE family, every byte`, async () => {
      for (const c of ordered) {
        const ours = await rawReply(srv.port, proto, c);
        const theirs = await rawReply(oracle.port, proto, c);
        expect(ours.length, c.join(' ')).toBe(theirs.length);
        expect(ours === theirs, c.join(' ')).toBe(true);
      }
    });

    it(`RESP${proto}: SMEMBERS, HKEYS, HVALS, HGETALL, SUNION: same header, same items`, async () => {
      for (const c of unordered) {
        const ours = tokens(await rawReply(srv.port, proto, c));
        const theirs = tokens(await rawReply(oracle.port, proto, c));
        expect(ours[0], c.join(' ')).toBe(theirs[0]);
        expect(ours.slice(1).sort(), c.join(' ')).toEqual(theirs.slice(1).sort());
      }
      const pairsOf = (t: string[]) => {
        const m: string[] = [];
        for (let i = 1; i < t.length; i += 2) m.push(t[i] + '\0' + t[i + 1]);
        return m.sort();
      };
      const ours = tokens(await rawReply(srv.port, proto, ['HGETALL', 'H']));
      const theirs = tokens(await rawReply(oracle.port, proto, ['HGETALL', 'H']));
      expect(ours[0]).toBe(theirs[0]);
      expect(pairsOf(ours)).toEqual(pairsOf(theirs));
    });

    it(`RESP${proto}: inside EXEC, between its neighbours and before the transaction's own writes`, async () => {
      const c = ['MULTI', 'LRANGE L 0 -1', 'RPUSH L tail', 'ZRANGE Z 0 -1 WITHSCORES', 'ZADD Z 1000 new', 'LLEN L', 'RPOP L', 'ZREM Z new', 'EXEC'];
      const run = async (port: number) => {
        const s = net.connect(port, '127.0.0.1');
        let got = '';
        s.on('data', (d) => (got += d.toString('latin1')));
        await new Promise((r) => s.once('connect', r));
        if (proto === 3) s.write(resp('HELLO', '3'));
        s.write(c.map((x) => resp(...x.split(' '))).join('') + resp('PING'));
        const end = Date.now() + 20000;
        while (!got.endsWith('+PONG\r\n')) {
          if (Date.now() > end) throw new Error('timeout');
          await new Promise((r) => s.once('data', r));
        }
        s.destroy();
        return got.slice(got.indexOf('+OK\r\n'));
      };
      const ours = await run(srv.port);
      const theirs = await run(oracle.port);
      expect(ours.length).toBe(theirs.length);
      expect(ours === theirs).toBe(true);
    });
  }
});

/** A connection that records when its reply is complete (a known byte count). */
function reader(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

describe('other clients are served while a big reply is produced', () => {
  it("a PING sent once the big reply has started is answered before the big reply's client runs its next command", async () => {
    // ~21 MB of LRANGE reply.
    await a.del('big', 'marker');
    const v = 'x'.repeat(100);
    const els: string[] = [];
    for (let i = 0; i < 200000; i++) els.push(`${i}:${v}`);
    for (let i = 0; i < els.length; i += 10000) await a.rpush('big', ...els.slice(i, i + 10000));
    let expectBytes = '*200000\r\n'.length + ':1\r\n'.length;
    for (const e of els) expectBytes += `$${e.length}\r\n`.length + e.length + 2;
    const events: string[] = [];
    // B waits for the command A pipelines behind the big read.
    const b = new Redis({ port: srv.port });
    const unblocked = b.blpop('marker', 0).then(() => events.push('next command ran'));
    const end0 = Date.now() + 5000;
    while (!(await a.client('LIST')).toString().includes('cmd=blpop')) if (Date.now() > end0) throw new Error('BLPOP not blocked');
    const A = await reader(srv.port);
    let got = 0;
    let complete: () => void;
    const completed = new Promise<void>((r) => (complete = r));
    A.on('data', (d) => {
      got += d.length;
      if (got >= expectBytes) complete();
    });
    const firstBytes = new Promise((r) => A.once('data', r));
    A.write(resp('LRANGE', 'big', '0', '-1') + resp('RPUSH', 'marker', 'x'));
    await firstBytes;
    // Built in one step, the whole reply (and A's RPUSH after it) was done
    // before any other client was read: BLPOP returned before the PONG.
    A.pause();
    const c = new Redis({ port: srv.port });
    await c.ping();
    events.push('pong');
    A.resume();
    await unblocked;
    await completed;
    expect(events).toEqual(['pong', 'next command ran']);
    expect(got).toBe(expectBytes);
    A.destroy();
    b.disconnect();
    c.disconnect();
  }, 180000);
});

/** Send `cmd` on a fresh connection, stop reading at its first bytes, run `meanwhile`, then read it all. */
async function readAcross(cmd: string[], meanwhile: () => Promise<void>, proto: 2 | 3 = 2, before: string[][] = []): Promise<Buffer> {
  const s = await reader(srv.port);
  const chunks: Buffer[] = [];
  let skip = 0;
  if (proto === 3 || before.length > 0) {
    // Setup replies are read and dropped first.
    const setup = (proto === 3 ? [['HELLO', '3']] : []).concat(before);
    s.write(setup.map((x) => resp(...x)).join('') + resp('PING'));
    let got = '';
    while (!got.endsWith('+PONG\r\n')) got += ((await new Promise((r) => s.once('data', r))) as Buffer).toString('latin1');
    skip = 0;
  }
  let tail = '';
  let done: () => void;
  const ended = new Promise<void>((r) => (done = r));
  s.on('data', (d) => {
    chunks.push(d);
    tail = (tail + d.subarray(Math.max(0, d.length - 7)).toString('latin1')).slice(-7);
    if (tail === '+PONG\r\n') done();
  });
  const first = new Promise((r) => s.once('data', r));
  s.write(resp(...cmd) + resp('PING'));
  await first;
  s.pause();
  await meanwhile();
  s.resume();
  await ended;
  s.destroy();
  const all = Buffer.concat(chunks);
  return all.subarray(skip, all.length - 7);
}

/** RESP2 bulk strings of a flat array reply. */
function bulks(raw: Buffer): string[] {
  return tokens(raw.toString('latin1')).slice(1).map((t) => t.slice(1));
}

describe('the reply is the value as it was when the command ran', () => {
  // ~25 MB per reply: more than the kernel's socket buffers and the
  // server's high-water mark hold, so the reply is mid-way when the reader pauses.
  const M = 40000;
  const big = (i: number) => `${i}:` + 'y'.repeat(600);

  it('LRANGE: pushes, pops, LSET, LTRIM, RENAME then writes, DEL and a new list meanwhile', async () => {
    await a.del('pl', 'pl2');
    const els = Array.from({ length: M }, (_, i) => big(i));
    for (let i = 0; i < M; i += 5000) await a.rpush('pl', ...els.slice(i, i + 5000));
    const got = await readAcross(['LRANGE', 'pl', '0', '-1'], async () => {
      await a.rpush('pl', 'added');
      await a.lset('pl', 5, 'changed');
      await a.lpop('pl');
      await a.rename('pl', 'pl2');
      await a.ltrim('pl2', 0, 10);
      await a.del('pl2');
      await a.rpush('pl', 'new');
    });
    const items = bulks(got);
    expect(items.length).toBe(M);
    expect(items.every((x, i) => x === els[i])).toBe(true);
  }, 180000);

  it('SMEMBERS: SADD, SREM, SPOP meanwhile', async () => {
    await a.del('ps');
    const els = Array.from({ length: M }, (_, i) => big(i));
    for (let i = 0; i < M; i += 5000) await a.sadd('ps', ...els.slice(i, i + 5000));
    const got = await readAcross(['SMEMBERS', 'ps'], async () => {
      await a.sadd('ps', 'added');
      await a.srem('ps', big(7), big(30000));
      await a.spop('ps', 100);
    });
    expect(bulks(got).sort()).toEqual(els.slice().sort());
  }, 180000);

  it('HGETALL: HSET, HDEL, HINCRBY meanwhile', async () => {
    await a.del('ph');
    const want = new Map<string, string>();
    for (let i = 0; i < M; i += 5000) {
      const args: string[] = [];
      for (let j = i; j < i + 5000; j++) {
        args.push(`f${j}`, big(j));
        want.set(`f${j}`, big(j));
      }
      await a.hset('ph', ...args);
    }
    const got = await readAcross(['HGETALL', 'ph'], async () => {
      await a.hset('ph', 'f3', 'changed', 'fnew', 'v');
      await a.hdel('ph', 'f100', 'f39000');
      await a.hincrby('ph', 'counter', 1);
    });
    const items = bulks(got);
    const seen = new Map<string, string>();
    for (let i = 0; i < items.length; i += 2) seen.set(items[i], items[i + 1]);
    expect(items.length).toBe(2 * M);
    expect(seen).toEqual(want);
  }, 180000);

  it('ZRANGE WITHSCORES: ZADD, ZREM, ZINCRBY, ZPOPMIN meanwhile', async () => {
    await a.del('pz');
    for (let i = 0; i < M; i += 5000) {
      const args: (string | number)[] = [];
      for (let j = i; j < i + 5000; j++) args.push(j, big(j));
      await a.zadd('pz', ...args);
    }
    const got = await readAcross(['ZRANGE', 'pz', '0', '-1', 'WITHSCORES'], async () => {
      await a.zadd('pz', -1, 'first-now', 5, big(39999));
      await a.zrem('pz', big(10), big(39000));
      await a.zincrby('pz', 1000000, big(0));
      await a.zpopmin('pz', 100);
    });
    const items = bulks(got);
    expect(items.length).toBe(2 * M);
    let wrong = 0;
    for (let j = 0; j < M; j++) if (items[2 * j] !== big(j) || items[2 * j + 1] !== String(j)) wrong++;
    expect(wrong).toBe(0);
  }, 180000);

  it('RESP3: a pub/sub message published meanwhile arrives after the reply, not inside it', async () => {
    await a.del('pm');
    const els = Array.from({ length: M }, (_, i) => big(i));
    for (let i = 0; i < M; i += 5000) await a.rpush('pm', ...els.slice(i, i + 5000));
    const got = await readAcross(['LRANGE', 'pm', '0', '-1'], async () => {
      expect(await a.publish('chan', 'hello')).toBe(1);
    }, 3, [['SUBSCRIBE', 'chan']]);
    const text = got.toString('latin1');
    const push = '>3\r\n$7\r\nmessage\r\n$4\r\nchan\r\n$5\r\nhello\r\n';
    expect(text.endsWith(push)).toBe(true);
    const items = bulks(Buffer.from(text.slice(0, text.length - push.length), 'latin1'));
    expect(items.length).toBe(M);
    expect(items.every((x, i) => x === els[i])).toBe(true);
  }, 180000);
});
