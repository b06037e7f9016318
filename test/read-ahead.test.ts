/**
 * Pipelines on a keyspace big enough that the server reads commands ahead
 * to warm their keys (server/read-ahead.ts): every reply, its order, and
 * what each command sees must be what redis-server gives for the same bytes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { startServer, RawClient, resp, type TestServer } from './helpers/server.js';
import { startRedis, type Oracle } from './helpers/redis-oracle.js';
import { session } from './helpers/resp-session.js';

// Read-ahead is on from 2^11 segments (KeyTable.warmPays, about 30k keys);
// 200k keys put the directory at 2^12-2^13, well past it.
const KEYS = '200000';

let srv: TestServer;
let oracle: Oracle;
const ports = (): [string, number][] => [
  ['damselfly', srv.port],
  ['redis', oracle.port],
];

beforeAll(async () => {
  [srv, oracle] = await Promise.all([startServer(['--save', '', '--enable-debug-command', 'yes']), startRedis(['--enable-debug-command', 'yes'])]);
  for (const [, port] of ports()) {
    const c = new Redis(port, { lazyConnect: true });
    await c.connect();
    expect(await c.call('debug', 'populate', KEYS, 'key')).toBe('OK');
    await c.quit();
  }
}, 60000);

afterAll(async () => {
  await srv?.stop();
  oracle?.stop();
});

/** Both servers' raw bytes for one connection that writes `bytes` at once and reads until `end` (or close). */
async function rawBoth(bytes: string, end: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [name, port] of ports()) {
    const c = await RawClient.connect(port);
    c.write(bytes);
    out[name] = await c.readUntil(end, 10000);
    c.sock.destroy();
  }
  return out;
}

describe('pipelines on a big keyspace (read-ahead)', () => {
  it('a long mixed pipeline gets redis-server\'s replies byte for byte', async () => {
    const cmds: string[][] = [];
    for (let i = 0; i < 40; i++) cmds.push(['GET', `key:${(i * 7919) % 200000}`]);
    cmds.push(
      ['SET', 'key:1', 'one'],
      ['GET', 'key:1'],
      ['INCR', 'ra:counter'],
      ['INCR', 'ra:counter'],
      ['DEL', 'key:3', 'key:4', 'nokey'],
      ['EXISTS', 'key:3', 'key:5'],
      ['MGET', 'key:1', 'key:3', 'key:6'],
      ['SELECT', '1'],
      ['GET', 'key:1'],
      ['SET', 'key:1', 'db1'],
      ['GET', 'key:1'],
      ['SELECT', '0'],
      ['GET', 'key:1'],
      ['MULTI'],
      ['SET', 'key:7', 'queued'],
      ['GET', 'key:7'],
      ['INCR', 'key:7'],
      ['EXEC'],
      ['GET', 'key:7'],
      ['GET', 'key:8', 'extra'],
      ['NOSUCHCOMMAND', 'key:9'],
      ['HSET', 'ra:h', 'f', 'v'],
      ['GET', 'ra:h'],
      ['HGET', 'ra:h', 'f'],
      ['RPUSH', 'ra:l', 'a', 'b'],
      ['LRANGE', 'ra:l', '0', '-1'],
      ['EXPIRE', 'key:10', '1000'],
      ['TTL', 'key:10'],
      ['PERSIST', 'key:10'],
      ['TTL', 'key:10'],
      ['EVAL', "return redis.call('INCR', KEYS[1])", '1', 'ra:counter'],
      ['EVAL', 'return 1', '0'],
      ['EVAL', 'return 1', 'notanumber', 'key:19'],
      ['ZUNIONSTORE', 'ra:z', '1', 'key:20'],
      ['GET', 'key:21'],
      ['CLIENT', 'SETNAME', 'ra'],
      ['GETDEL', 'key:11'],
      ['GET', 'key:11'],
      ['ECHO', 'done'],
    );
    // Many-key commands past one warm() batch of 16 keys, with repeats and missing keys.
    const many = (n: number, mul: number): string[] => Array.from({ length: n }, (_, i) => `key:${(i * mul) % 200000}`);
    cmds.push(
      ['MGET', ...many(40, 7727), 'nokey', 'key:1'],
      ['MSET', ...many(40, 6151).flatMap((k, i) => [k, `m${i}`])],
      ['MGET', ...many(40, 6151)],
      ['MSETNX', ...many(20, 3301).flatMap((k) => [k, 'nx'])],
      ['MSETNX', 'ra:new1', 'a', 'ra:new2', 'b'],
      ['TOUCH', ...many(35, 4001), 'nokey'],
      ['EXISTS', ...many(35, 4001), 'key:3', 'key:3'],
      ['UNLINK', ...many(33, 9973)],
      ['DEL', ...many(33, 9973), ...many(20, 1009)],
      ['MGET', ...many(33, 9973)],
    );
    for (let i = 0; i < 60; i++) cmds.push(i % 3 === 0 ? ['SET', `key:${(i * 104729) % 200000}`, `v${i}`] : ['GET', `key:${(i * 104729) % 200000}`]);
    const [mine, theirs] = await Promise.all([session(srv.port, 2, cmds), session(oracle.port, 2, cmds)]);
    expect(mine).toEqual(theirs);
    const [mine3, theirs3] = await Promise.all([session(srv.port, 3, cmds), session(oracle.port, 3, cmds)]);
    expect(mine3).toEqual(theirs3);
  });

  it('a protocol error after key commands: they run, their replies come first, then the error and the close', async () => {
    const bytes = resp('SET', 'pe:a', '1') + resp('SET', 'pe:b', '2') + resp('GET', 'key:12') + resp('GET', 'pe:a') + '*1\r\n$x\r\n' + resp('SET', 'pe:c', '3');
    const got = await rawBoth(bytes, '\u0000never');
    expect(got.damselfly).toBe(got.redis);
    expect(got.damselfly).toMatch(/-ERR Protocol error: invalid bulk length\r\n$/);
    for (const [, port] of ports()) {
      const c = new Redis(port);
      expect(await c.mget('pe:a', 'pe:b', 'pe:c')).toEqual(['1', '2', null]);
      await c.quit();
    }
  });

  it('a blocking command in the pipeline holds the commands after it until it is served', async () => {
    for (const [, port] of ports()) {
      const a = await RawClient.connect(port);
      const b = new Redis(port);
      const before = await b.get('key:13');
      a.write(resp('GET', 'key:14') + resp('BLPOP', 'bq:list', '0') + resp('SET', 'key:13', 'after') + resp('GET', 'key:13') + resp('ECHO', 'done'));
      // The GET before BLPOP is answered; then the client blocks.
      await a.readUntil('\r\n', 5000);
      await a.readUntil('\r\n', 5000);
      const deadline = Date.now() + 5000;
      while (!/blocked_clients:1/.test(await b.info('clients'))) {
        if (Date.now() > deadline) throw new Error('client never blocked');
        await new Promise((r) => setImmediate(r));
      }
      expect(await b.get('key:13')).toBe(before);
      await b.rpush('bq:list', 'x');
      const rest = await a.readUntil('$4\r\ndone\r\n');
      expect(rest).toBe('*2\r\n$7\r\nbq:list\r\n$1\r\nx\r\n+OK\r\n$5\r\nafter\r\n$4\r\ndone\r\n');
      expect(await b.get('key:13')).toBe('after');
      await b.set('key:13', before!);
      a.sock.destroy();
      await b.quit();
    }
  });

  it('CLIENT PAUSE WRITE holds a pipelined write and everything after it, in order', async () => {
    for (const [, port] of ports()) {
      const a = await RawClient.connect(port);
      const b = new Redis(port);
      await b.set('cp:k', 'old');
      await b.call('client', 'pause', '100000', 'write');
      a.write(resp('GET', 'cp:k') + resp('SET', 'cp:k', 'new') + resp('GET', 'cp:k') + resp('GET', 'key:15') + resp('ECHO', 'done'));
      expect(await a.readUntil('old\r\n')).toBe('$3\r\nold\r\n');
      expect(await b.get('cp:k')).toBe('old');
      await b.call('client', 'unpause');
      const rest = await a.readUntil('$4\r\ndone\r\n');
      expect(rest).toMatch(/^\+OK\r\n\$3\r\nnew\r\n\$\d+\r\nvalue:15\r\n\$4\r\ndone\r\n$/);
      a.sock.destroy();
      await b.quit();
    }
  });

  it('many clients one command at a time (run as one batch per turn, server/ready-batch.ts): each gets its own replies, in order', async () => {
    const n = 40;
    const rounds = 50;
    const keyOf = (id: number, r: number): string => `key:${(id * 7001 + r * 131) % 200000}`;
    // What the populated keys hold now (tests before this one rewrote some).
    const expected = new Map<string, string | null>();
    const probe = new Redis(srv.port);
    for (let id = 0; id < n; id++) {
      const ks = Array.from({ length: rounds }, (_, r) => keyOf(id, r));
      (await probe.mget(...ks)).forEach((v, i) => expected.set(ks[i], v));
    }
    await probe.quit();
    const clients = await Promise.all(Array.from({ length: n }, () => RawClient.connect(srv.port)));
    try {
      await Promise.all(
        clients.map(async (c, id) => {
          for (let r = 0; r < rounds; r++) {
            // A write, a read of this client's own key, a read of a populated key, an increment of a shared one.
            c.write(resp('SET', `rb:${id}`, `${id}:${r}`));
            expect(await c.readUntil('\r\n', 5000)).toBe('+OK\r\n');
            c.write(resp('GET', `rb:${id}`));
            const mine = `${id}:${r}`;
            expect(await c.readUntil(mine + '\r\n', 5000)).toBe(`$${mine.length}\r\n${mine}\r\n`);
            c.write(resp('GET', keyOf(id, r)));
            const v = expected.get(keyOf(id, r));
            if (v === null || v === undefined) expect(await c.readUntil('\r\n', 5000)).toBe('$-1\r\n');
            else expect(await c.readUntil(v + '\r\n', 5000)).toBe(`$${v.length}\r\n${v}\r\n`);
            c.write(resp('INCR', 'rb:shared'));
            expect(await c.readUntil('\r\n', 5000)).toMatch(/^:\d+\r\n$/);
          }
        }),
      );
    } finally {
      for (const c of clients) c.sock.destroy();
    }
    const c = new Redis(srv.port);
    expect(await c.get('rb:shared')).toBe(String(n * rounds));
    await c.quit();
  });

  it('CONFIG SET of a parser limit applies to the commands after it in the same pipeline', async () => {
    // Only the header of the big argument: with its data unread the close would be a reset that loses the replies.
    const bytes = resp('GET', 'key:16') + resp('CONFIG', 'SET', 'proto-max-bulk-len', '1048576') + '*3\r\n$3\r\nSET\r\n$6\r\nkey:17\r\n$1572864\r\n';
    try {
      const got = await rawBoth(bytes, '\u0000never');
      expect(got.damselfly).toBe(got.redis);
      expect(got.damselfly).toMatch(/\+OK\r\n-ERR Protocol error: invalid bulk length\r\n$/);
    } finally {
      for (const [, port] of ports()) {
        const c = new Redis(port);
        await c.config('SET', 'proto-max-bulk-len', '536870912');
        await c.quit();
      }
    }
  });
});
