/**
 * The clients users run unchanged: ioredis v6 (negotiates RESP3 with HELLO
 * 3), ioredis v5 (RESP2), node-redis v5 and redis-cli, each running a mix of
 * string and key commands, binary values and pipelines.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Redis from 'ioredis';
import Redis5 from 'ioredis5';
import { createClient, RESP_TYPES } from 'redis';
import { RawClient, redisCli, startServer, type TestServer } from './helpers/server.js';

let srv: TestServer;
beforeAll(async () => {
  srv = await startServer([]);
});
afterAll(async () => srv.stop());

const BIN = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80, 0x0d, 0x0a, 0x24, 0x2a, 0xc3, 0x28]);
const BINKEY = Buffer.from([0xff, 0x00, 0x20, 0x0a]);
const field = (line: string, name: string) => new RegExp(`(?:^| )${name}=(\\S*)`).exec(line)?.[1];

type IoLike = Redis | Redis5;

/** The same workload for both ioredis majors; `prefix` keeps their keys apart. */
async function ioredisWorkload(r: IoLike, prefix: string): Promise<void> {
  const k = (s: string) => `${prefix}:${s}`;
  expect(await r.set(k('a'), 'hello')).toBe('OK');
  expect(await r.get(k('a'))).toBe('hello');
  expect(await r.exists(k('a'), k('nope'))).toBe(1);
  expect(await r.type(k('a'))).toBe('string');
  expect(await r.expire(k('a'), 100)).toBe(1);
  expect(await r.ttl(k('a'))).toBeGreaterThan(90);
  expect(await r.persist(k('a'))).toBe(1);
  expect(await r.rename(k('a'), k('b'))).toBe('OK');
  expect(await r.copy(k('b'), k('c'))).toBe(1);
  expect((await r.keys(`${prefix}:*`)).sort()).toEqual([k('b'), k('c')]);
  const [cursor, keys] = await r.scan('0', 'MATCH', `${prefix}:*`, 'COUNT', 1000);
  expect(cursor).toBe('0');
  expect(keys.sort()).toEqual([k('b'), k('c')]);
  expect(await r.object('ENCODING', k('b'))).toBe('embstr');
  expect(await r.del(k('b'), k('c'), k('nope'))).toBe(2);

  // Binary key and value, every byte kept.
  const bk = Buffer.concat([Buffer.from(prefix), BINKEY]);
  expect(await r.set(bk, BIN)).toBe('OK');
  expect((await r.getBuffer(bk))!.equals(BIN)).toBe(true);
  expect(await r.pexpire(bk, 100000)).toBe(1);
  expect(await r.del(bk)).toBe(1);

  // A pipeline of 500 commands answered in order.
  const p = r.pipeline();
  for (let i = 0; i < 250; i++) {
    p.set(k(`p${i}`), `v${i}`);
    p.get(k(`p${i}`));
  }
  const res = (await p.exec())!;
  expect(res.length).toBe(500);
  for (let i = 0; i < 250; i++) {
    expect(res[2 * i]).toEqual([null, 'OK']);
    expect(res[2 * i + 1]).toEqual([null, `v${i}`]);
  }
  const errs = await r.pipeline().get(k('p1')).expire(k('p1'), 'x' as never).ttl(k('p1')).exec();
  expect(errs![0]).toEqual([null, 'v1']);
  expect((errs![1][0] as Error).message).toBe('ERR value is not an integer or out of range');
  expect(errs![2]).toEqual([null, -1]);
}

describe('ioredis v6', () => {
  it('negotiates RESP3 (CLIENT INFO says resp=3) and runs the workload', async () => {
    const r = new Redis({ port: srv.port });
    const info = (await r.client('INFO')) as string;
    expect(field(info, 'resp')).toBe('3');
    await ioredisWorkload(r, 'io6');
    r.disconnect();
  });
});

describe('ioredis v5', () => {
  it('speaks RESP2 (CLIENT INFO says resp=2) and runs the workload', async () => {
    const r = new Redis5({ port: srv.port });
    const info = (await r.client('INFO')) as string;
    expect(field(info, 'resp')).toBe('2');
    await ioredisWorkload(r, 'io5');
    r.disconnect();
  });
});

describe('node-redis v5', () => {
  for (const RESP of [2, 3] as const) {
    it(`RESP${RESP}: string and key commands, binary values, pipelining`, async () => {
      const c = createClient({ socket: { port: srv.port, host: '127.0.0.1' }, RESP });
      await c.connect();
      try {
        const k = (s: string) => `nr${RESP}:${s}`;
        const info = (await c.sendCommand(['CLIENT', 'INFO'])) as string;
        expect(field(String(info), 'resp')).toBe(String(RESP));
        expect(await c.set(k('a'), 'hello')).toBe('OK');
        expect(await c.get(k('a'))).toBe('hello');
        expect(await c.exists([k('a'), k('nope')])).toBe(1);
        expect(await c.type(k('a'))).toBe('string');
        expect(await c.pExpire(k('a'), 100000)).toBe(1);
        expect(await c.pTTL(k('a'))).toBeGreaterThan(90000);
        expect(await c.expireTime(k('a'))).toBeGreaterThan(Date.now() / 1000);
        expect(await c.rename(k('a'), k('b'))).toBe('OK');
        expect(await c.renameNX(k('b'), k('b'))).toBe(0);
        expect(await c.copy(k('b'), k('c'), { REPLACE: true })).toBe(1);
        const scanned = await c.scan('0', { MATCH: `nr${RESP}:*`, COUNT: 1000 });
        expect(scanned.keys.sort()).toEqual([k('b'), k('c')]);
        expect(await c.del([k('b'), k('c')])).toBe(2);

        const bin = c.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
        const bk = Buffer.concat([Buffer.from(`nr${RESP}`), BINKEY]);
        await bin.set(bk, BIN);
        expect((await bin.get(bk) as unknown as Buffer).equals(BIN)).toBe(true);
        await bin.del(bk);

        // Commands issued together go out as one pipeline.
        const sets = Array.from({ length: 200 }, (_, i) => c.set(k(`p${i}`), `v${i}`));
        const gets = Array.from({ length: 200 }, (_, i) => c.get(k(`p${i}`)));
        expect((await Promise.all(sets)).every((x) => x === 'OK')).toBe(true);
        expect(await Promise.all(gets)).toEqual(Array.from({ length: 200 }, (_, i) => `v${i}`));
        const piped = await c.multi().set(k('x'), '1').get(k('x')).ttl(k('x')).execAsPipeline();
        expect(piped).toEqual(['OK', '1', -1]);
        await expect(c.sendCommand(['EXPIRE', k('x'), 'bad'])).rejects.toThrow('ERR value is not an integer or out of range');
      } finally {
        await c.quit().catch(() => c.destroy());
      }
    });
  }
});

describe('redis-cli', () => {
  it('runs commands, including binary values given with escapes', async () => {
    expect((await redisCli(srv.port, ['SET', 'cli:a', 'hello'])).trim()).toBe('OK');
    expect((await redisCli(srv.port, ['GET', 'cli:a'])).trim()).toBe('hello');
    expect((await redisCli(srv.port, ['EXPIRE', 'cli:a', '100'])).trim()).toBe('1');
    expect(Number((await redisCli(srv.port, ['TTL', 'cli:a'])).trim())).toBeGreaterThan(90);
    expect((await redisCli(srv.port, ['TYPE', 'cli:a'])).trim()).toBe('string');
    expect((await redisCli(srv.port, ['--no-raw', 'GET', 'cli:nope'])).trim()).toBe('(nil)');
    // Interactive-style input on stdin: quoting and \x escapes as redis-cli parses them.
    const out = await redisCli(srv.port, ['--no-raw'], 'SET cli:bin "\\x00\\xff\\r\\n"\nGET cli:bin\n');
    expect(out).toContain('OK');
    expect(out).toContain('"\\x00\\xff\\r\\n"');
    expect((await redisCli(srv.port, ['--no-raw', 'EXPIRE', 'cli:a', 'x'])).trim()).toBe('(error) ERR value is not an integer or out of range');
  });

  it('pipes a RESP stream with --pipe', async () => {
    let data = '';
    for (let i = 0; i < 1000; i++) data += `*3\r\n$3\r\nSET\r\n$${`pipe:${i}`.length}\r\npipe:${i}\r\n$1\r\nx\r\n`;
    const out = await redisCli(srv.port, ['--pipe'], data);
    expect(out).toMatch(/errors: 0, replies: 1000/);
    expect((await redisCli(srv.port, ['EXISTS', 'pipe:0', 'pipe:999'])).trim()).toBe('2');
  });

  it('shows key-command hints from COMMAND DOCS (the reply redis-cli reads at start)', async () => {
    // redis-cli 7 builds its hints from COMMAND DOCS; the hint for EXPIRE is its argument list.
    const out = await redisCli(srv.port, ['--no-raw', 'COMMAND', 'DOCS', 'expire']);
    expect(out).toContain('"arguments"');
    expect(out).toContain('"seconds"');
    expect(out).toContain('"NX"');
  });
});

describe('maxclients and the open files limit', () => {
  it('refuses the client past maxclients with Redis error text', async () => {
    const s = await startServer(['--save', '', '--maxclients', '2']);
    try {
      const a = await RawClient.connect(s.port);
      const b = await RawClient.connect(s.port);
      const c = await RawClient.connect(s.port);
      expect(await c.readUntil('\r\n')).toBe('-ERR max number of clients reached\r\n');
      a.close();
      b.close();
      c.close();
    } finally {
      await s.stop();
    }
  });

  it('lowers maxclients to what a small open files limit allows, and says so', async () => {
    const s = await startServer(['--save', '', '--maxclients', '1000'], { wrap: ['prlimit', '--nofile=256:256'] });
    try {
      const line = await s.waitForLog((l) => /maxclients has been reduced to 224/.test(l.msg));
      expect(line.level).toBe(40);
      const cl = new Redis({ port: s.port });
      expect(await cl.config('GET', 'maxclients')).toEqual(['maxclients', '224']);
      await expect(cl.config('SET', 'maxclients', '5000')).rejects.toThrow('The operating system is not able to handle the specified number of clients, try with 224');
      cl.disconnect();
    } finally {
      await s.stop();
    }
  });
});
