/**
 * The limits that protect the server from one client, over raw sockets and
 * side by side with redis-server 7.0: the request sizes allowed before AUTH,
 * client-query-buffer-limit and proto-max-bulk-len changed with CONFIG SET
 * (applying to connections already open, as Redis's globals do), and
 * client-output-buffer-limit for pub/sub subscribers (hard, and soft with
 * its seconds) set with CONFIG SET.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Redis from 'ioredis';
import { RawClient, resp, startServer, type TestServer } from './helpers/server.js';
import { startRedis, type Oracle } from './helpers/redis-oracle.js';

const PASS = 'limits-pw';
let srv: TestServer;
let oracle: Oracle;
let a: Redis;
let ra: Redis;

beforeAll(async () => {
  srv = await startServer(['--save', '', '--requirepass', PASS]);
  oracle = await startRedis();
  a = new Redis({ port: srv.port, password: PASS });
  ra = new Redis({ port: oracle.port });
  // Set after start: the oracle's readiness probe is an unauthenticated PING.
  await ra.config('SET', 'requirepass', PASS);
  await ra.auth(PASS);
});

afterAll(async () => {
  a?.disconnect();
  ra?.disconnect();
  oracle?.stop();
  await srv?.stop();
});

const both = () => [
  ['damselfly', srv.port],
  ['redis-server', oracle.port],
] as const;

/** What the server answers to `payload` before the connection is either closed or has answered `lines` lines. */
async function exchange(port: number, payload: string, lines: number): Promise<{ got: string; closed: boolean }> {
  const c = await RawClient.connect(port);
  c.write(payload);
  let got = '';
  for (let i = 0; i < lines && !c.closed; i++) got += await c.readUntil('\r\n');
  if (!c.closed) {
    // Still open: PING shows it (answered -NOAUTH, before AUTH).
    c.write('PING\r\n');
    got += await c.readUntil('\r\n');
  }
  const closed = c.closed;
  c.close();
  return { got, closed };
}

describe('before AUTH, as redis-server', () => {
  const bulk = (n: number) => `*2\r\n$4\r\nECHO\r\n$${n}\r\n${'x'.repeat(n)}\r\n`;
  const cases = [
    { what: 'a 10-argument request is answered (-NOAUTH)', payload: '*10\r\n' + '$1\r\na\r\n'.repeat(10), lines: 1 },
    { what: 'an 11-argument count closes the connection', payload: '*11\r\n', lines: 1 },
    { what: 'a huge argument count closes it', payload: '*1048576\r\n', lines: 1 },
    { what: 'a 16384-byte argument is answered', payload: bulk(16384), lines: 1 },
    { what: 'a 16385-byte argument closes it', payload: bulk(16385), lines: 1 },
    { what: 'after AUTH both limits are lifted', payload: resp('AUTH', PASS) + '*11\r\n' + '$1\r\na\r\n'.repeat(11) + bulk(100000), lines: 3 },
  ];
  for (const c of cases) {
    it(c.what, async () => {
      const [ours, theirs] = await Promise.all(both().map(([, port]) => exchange(port, c.payload, c.lines)));
      expect(ours).toEqual(theirs);
    });
  }
  it('the texts are Redis 7.0\'s', async () => {
    expect((await exchange(srv.port, '*11\r\n', 1)).got).toBe('-ERR Protocol error: unauthenticated multibulk length\r\n');
    expect((await exchange(srv.port, bulk(16385), 1)).got).toBe('-ERR Protocol error: unauthenticated bulk length\r\n');
  });
});

describe('CONFIG SET of the request limits applies to connections already open', () => {
  it('client-query-buffer-limit: an open connection is closed once its unparsed input passes the new limit', async () => {
    const conns = await Promise.all(both().map(([, port]) => RawClient.connect(port)));
    for (const c of conns) {
      c.write(resp('AUTH', PASS));
      expect(await c.readUntil('\r\n')).toBe('+OK\r\n');
    }
    try {
      for (const r of [a, ra]) await r.config('SET', 'client-query-buffer-limit', '1mb');
      // A 3 MB argument arriving: the query buffer passes 1 MB on the way.
      for (const c of conns) c.write('*3\r\n$3\r\nSET\r\n$2\r\nqb\r\n$3000000\r\n' + 'q'.repeat(1_500_000));
      for (const c of conns) await c.waitClosed();
      await srv.waitForLog((l) => /max query buffer length/.test(l.msg));
    } finally {
      for (const r of [a, ra]) await r.config('SET', 'client-query-buffer-limit', '1gb');
    }
    // Raised again, the same request goes through on a connection opened before.
    const c = await RawClient.connect(srv.port);
    c.write(resp('AUTH', PASS) + resp('SET', 'qb', 'q'.repeat(3_000_000)));
    expect(await c.readUntil('+OK\r\n+OK\r\n', 10000)).toBe('+OK\r\n+OK\r\n');
    c.close();
  });

  it('proto-max-bulk-len: an open connection gets the invalid bulk length error', async () => {
    const conns = await Promise.all(both().map(([, port]) => RawClient.connect(port)));
    for (const c of conns) {
      c.write(resp('AUTH', PASS));
      expect(await c.readUntil('\r\n')).toBe('+OK\r\n');
    }
    try {
      for (const r of [a, ra]) await r.config('SET', 'proto-max-bulk-len', '1mb');
      for (const c of conns) c.write('*2\r\n$4\r\nECHO\r\n$1048577\r\n');
      const got = [];
      for (const c of conns) {
        got.push(await c.readUntil('\r\n'));
        await c.waitClosed();
      }
      expect(got).toEqual(['-ERR Protocol error: invalid bulk length\r\n', '-ERR Protocol error: invalid bulk length\r\n']);
    } finally {
      for (const r of [a, ra]) await r.config('SET', 'proto-max-bulk-len', '512mb');
    }
  });
});

/** A subscriber that reads nothing after its SUBSCRIBE is confirmed; its CLIENT ID. */
async function stuckSubscriber(port: number, channel: string): Promise<{ c: RawClient; id: number }> {
  const c = await RawClient.connect(port);
  c.write(resp('AUTH', PASS) + resp('CLIENT', 'ID') + resp('SUBSCRIBE', channel));
  await c.readUntil('+OK\r\n');
  const id = Number((await c.readUntil('\r\n')).slice(1, -2));
  await c.readUntil(`$${channel.length}\r\n${channel}\r\n:1\r\n`);
  c.sock.pause();
  return { c, id };
}

const listed = async (r: Redis, id: number) => ((await r.client('LIST', 'ID', String(id))) as string).trim() !== '';
/** The subscriber's pending output as the server reports it (CLIENT LIST omem). */
const omem = async (r: Redis, id: number) => Number(/omem=(\d+)/.exec((await r.client('LIST', 'ID', String(id))) as string)?.[1] ?? -1);

describe('client-output-buffer-limit for pub/sub clients, set with CONFIG SET', () => {
  const msg = 'm'.repeat(64 * 1024);

  it('hard limit: a subscriber that does not read is closed once its pending output passes it', async () => {
    for (const r of [a, ra]) await r.config('SET', 'client-output-buffer-limit', 'pubsub 1mb 0 0');
    try {
      for (const [who, port] of both()) {
        const r = port === srv.port ? a : ra;
        const { c, id } = await stuckSubscriber(port, 'hard.ch');
        let published = 0;
        // Kernel buffers take a few MB first; 64 MB would be far past any of them.
        while ((await listed(r, id)) && published < 1024) {
          await r.publish('hard.ch', msg);
          published++;
        }
        expect(await listed(r, id), who).toBe(false);
        c.close();
      }
      const line = await srv.waitForLog((l) => l.limit === 'hard' && l.class === 'pubsub');
      expect(line.msg).toBe('Client scheduled to be closed ASAP for overcoming of output buffer limits.');
    } finally {
      for (const r of [a, ra]) await r.config('SET', 'client-output-buffer-limit', 'pubsub 32mb 8mb 60');
    }
  });

  it('soft limit: over it for longer than its seconds closes the subscriber, not before', async () => {
    for (const r of [a, ra]) await r.config('SET', 'client-output-buffer-limit', 'pubsub 0 512kb 2');
    try {
      for (const [who, port] of both()) {
        const r = port === srv.port ? a : ra;
        const { c, id } = await stuckSubscriber(port, 'soft.ch');
        // Publish until the server holds more than the soft limit for it.
        let published = 0;
        while ((await omem(r, id)) < 512 * 1024 && published < 1024) {
          await r.publish('soft.ch', msg);
          published++;
        }
        const over = Date.now();
        expect(await omem(r, id), who).toBeGreaterThanOrEqual(512 * 1024);
        // Still there within the soft seconds (Redis counts whole seconds: more than 2 have to pass).
        while (Date.now() - over < 1500) {
          expect(await listed(r, id), who).toBe(true);
          await new Promise((res) => setTimeout(res, 100));
        }
        // Redis looks again when more output is added; damselfly also from its cron, without more output.
        const deadline = Date.now() + 8000;
        while ((await listed(r, id)) && Date.now() < deadline) {
          if (port === oracle.port) await r.publish('soft.ch', 'x');
          await new Promise((res) => setTimeout(res, 100));
        }
        expect(await listed(r, id), who).toBe(false);
        expect(Date.now() - over, who).toBeGreaterThanOrEqual(1900);
        c.close();
      }
      await srv.waitForLog((l) => l.limit === 'soft' && l.class === 'pubsub');
    } finally {
      for (const r of [a, ra]) await r.config('SET', 'client-output-buffer-limit', 'pubsub 32mb 8mb 60');
    }
  }, 30000);
});
