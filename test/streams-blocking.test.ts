/**
 * Blocking XREAD / XREADGROUP with several clients: wake-ups by XADD in the
 * order clients blocked, `$` semantics, timeouts, MULTI, the deleted-key,
 * retyped-key, flushed-db and destroyed-group answers; then a consumer-group
 * workload through ioredis: consumers reading with BLOCK, one that dies with
 * pending entries, XAUTOCLAIM handing them to the others.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import Redis from 'ioredis';
import { RawClient, resp, startServer, type TestServer } from './helpers/server.js';

let srv: TestServer;
let r: Redis;
const opened: Redis[] = [];
beforeAll(async () => {
  srv = await startServer(['--save', '']);
  r = client();
});
afterAll(async () => {
  for (const c of opened) c.disconnect();
  await srv.stop();
});
let n = 0;
let k: string;
beforeEach(() => {
  k = `bs:${++n}`;
});

function client(): Redis {
  const c = new Redis({ port: srv.port, enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
  opened.push(c);
  return c;
}

/** Wait (bounded) until `count` clients are blocked. */
async function blockedClients(count: number): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const info = (await r.info('clients')) as string;
    const blocked = Number(/blocked_clients:(\d+)/.exec(info)![1]);
    if (blocked === count) return;
    if (Date.now() > deadline) throw new Error(`expected ${count} blocked clients, have ${blocked}`);
    await new Promise((res) => setTimeout(res, 5));
  }
}

describe('blocking XREAD', () => {
  it('answers at once when there is data after the ID, blocks otherwise and wakes on XADD', async () => {
    await r.xadd(k, '1-0', 'a', '1');
    expect(await r.xread('BLOCK', 0, 'STREAMS', k, '0')).toEqual([[k, [['1-0', ['a', '1']]]]]);
    const c = client();
    const p = c.xread('BLOCK', 0, 'STREAMS', k, '$');
    await blockedClients(1);
    await r.xadd(k, '2-0', 'b', '2');
    expect(await p).toEqual([[k, [['2-0', ['b', '2']]]]]);
  });

  it('serves every client blocked on a key, in the order they blocked', async () => {
    const order: number[] = [];
    const ps = [0, 1, 2].map(async (i) => {
      const c = client();
      // Each blocks only after the previous one is blocked: a known order.
      const got = await c.xread('BLOCK', 0, 'STREAMS', k, '$');
      order.push(i);
      return got;
    });
    await blockedClients(3);
    await r.xadd(k, '5-0', 'f', 'v');
    const got = await Promise.all(ps);
    for (const g of got) expect(g).toEqual([[k, [['5-0', ['f', 'v']]]]]);
    expect(order.length).toBe(3);
  });

  it('XREADGROUP clients are served one at a time: each new entry goes to one consumer, FIFO', async () => {
    await r.xgroup('CREATE', k, 'g', '$', 'MKSTREAM');
    const a = client();
    const b = client();
    const pa = a.xreadgroup('GROUP', 'g', 'alice', 'COUNT', 1, 'BLOCK', 0, 'STREAMS', k, '>');
    await blockedClients(1);
    const pb = b.xreadgroup('GROUP', 'g', 'bob', 'COUNT', 1, 'BLOCK', 0, 'STREAMS', k, '>');
    await blockedClients(2);
    await r.xadd(k, '1-0', 'n', '1');
    expect(await pa).toEqual([[k, [['1-0', ['n', '1']]]]]);
    await blockedClients(1);
    await r.xadd(k, '2-0', 'n', '2');
    expect(await pb).toEqual([[k, [['2-0', ['n', '2']]]]]);
    const pend = (await r.xpending(k, 'g')) as [number, string, string, [string, string][]];
    expect(pend[0]).toBe(2);
    expect(pend[3]).toEqual([
      ['alice', '1'],
      ['bob', '1'],
    ]);
  });

  it('times out with a null reply; BLOCK inside MULTI does not block', async () => {
    const t0 = Date.now();
    expect(await r.xread('BLOCK', 50, 'STREAMS', k, '$')).toBeNull();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(45);
    const res = await r.multi().xread('BLOCK', 0, 'STREAMS', k, '$').xadd(k, '1-0', 'a', 'b').xread('BLOCK', 0, 'STREAMS', k, '0').exec();
    expect(res).toEqual([
      [null, null],
      [null, '1-0'],
      [null, [[k, [['1-0', ['a', 'b']]]]]],
    ]);
  });

  it('several streams: served from the one that gets data, RESP3 as a map', async () => {
    const raw = await RawClient.connect(srv.port);
    raw.write(resp('HELLO', '3'));
    await raw.readUntil('proto');
    await raw.readUntil('modules\r\n*0\r\n');
    raw.write(resp('XREAD', 'BLOCK', '0', 'STREAMS', k + 'a', k + 'b', '$', '$'));
    await blockedClients(1);
    await r.xadd(k + 'b', '7-0', 'f', 'v');
    expect(await raw.readUntil('v\r\n')).toBe(`%1\r\n$${(k + 'b').length}\r\n${k}b\r\n*1\r\n*2\r\n$3\r\n7-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n`);
    raw.sock.destroy();
  });

  it('a client that disconnects while blocked is forgotten', async () => {
    await r.xgroup('CREATE', k, 'g', '$', 'MKSTREAM');
    const c = client();
    void c.xreadgroup('GROUP', 'g', 'gone', 'BLOCK', 0, 'STREAMS', k, '>').catch(() => {});
    await blockedClients(1);
    c.disconnect();
    await blockedClients(0);
    await r.xadd(k, '1-0', 'a', 'b');
    expect(((await r.xpending(k, 'g')) as unknown[])[0]).toBe(0);
  });
});

describe('XREADGROUP clients answered when their stream or group goes', () => {
  /** A client blocked in XREADGROUP on k (wrapped: an async function would wait for the inner promise). */
  async function blockedReader(): Promise<{ p: Promise<unknown> }> {
    await r.del(k);
    await r.xadd(k, '1-0', 'f', 'v');
    await r.xgroup('CREATE', k, 'g', '$');
    const c = client();
    const p = c.xreadgroup('GROUP', 'g', 'alice', 'BLOCK', 0, 'STREAMS', k, '>').then(
      (v) => v,
      (e: Error) => e.message,
    );
    await blockedClients(1);
    return { p };
  }

  it('DEL', async () => {
    const { p } = await blockedReader();
    await r.del(k);
    expect(await p).toBe('UNBLOCKED the stream key no longer exists');
  });

  it('SET over the key, and a transaction that retypes it', async () => {
    let { p } = await blockedReader();
    await r.set(k, 'x');
    expect(await p).toBe('UNBLOCKED the stream key no longer exists');
    ({ p } = await blockedReader());
    await r.multi().del(k).sadd(k, 'e').exec();
    expect(await p).toBe('UNBLOCKED the stream key no longer exists');
  });

  it('FLUSHALL, expiry and XGROUP DESTROY', async () => {
    let { p } = await blockedReader();
    await r.flushall();
    expect(await p).toBe('UNBLOCKED the stream key no longer exists');
    ({ p } = await blockedReader());
    await r.pexpire(k, 20);
    // Active expiry finds it; a read would too.
    const deadline = Date.now() + 5000;
    while ((await r.exists(k)) === 1 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 10));
    expect(await p).toBe('UNBLOCKED the stream key no longer exists');
    ({ p } = await blockedReader());
    await r.xgroup('DESTROY', k, 'g');
    expect(await p).toBe('NOGROUP the consumer group this client was blocked on no longer exists');
  });

  it('plain XREAD clients keep waiting through DEL and are served by the next XADD', async () => {
    await r.xadd(k, '1-0', 'f', 'v');
    const c = client();
    const p = c.xread('BLOCK', 0, 'STREAMS', k, '$');
    await blockedClients(1);
    await r.del(k);
    await r.set(k, 'str');
    await r.del(k);
    await r.xadd(k, '3-0', 'new', 'x');
    expect(await p).toEqual([[k, [['3-0', ['new', 'x']]]]]);
  });
});

describe('a consumer-group workload', () => {
  it('consumers share the stream, a dead one\'s entries are claimed by XAUTOCLAIM, nothing is lost', async () => {
    const key = k;
    await r.xgroup('CREATE', key, 'workers', '$', 'MKSTREAM');
    const total = 600;
    const processed = new Map<string, string>();
    let stop = false;
    // The dying consumer reads a batch and never acknowledges it.
    const dying = client();
    const producer = (async () => {
      for (let i = 0; i < total; i++) await r.xadd(key, '*', 'job', String(i));
    })();
    const dyingBatch = (await dying.xreadgroup('GROUP', 'workers', 'dying', 'COUNT', 25, 'BLOCK', 0, 'STREAMS', key, '>')) as [string, [string, string[]][]][];
    const lost = dyingBatch[0][1].map(([id]) => id);
    expect(lost.length).toBeGreaterThan(0);
    dying.disconnect();
    const worker = async (name: string) => {
      const c = client();
      while (!stop) {
        const got = (await c.xreadgroup('GROUP', 'workers', name, 'COUNT', 10, 'BLOCK', 100, 'STREAMS', key, '>')) as [string, [string, string[]][]][] | null;
        if (got === null) continue;
        const ids: string[] = [];
        for (const [id, fv] of got[0][1]) {
          processed.set(id, fv[1]);
          ids.push(id);
        }
        await c.xack(key, 'workers', ...ids);
      }
    };
    const workers = ['w1', 'w2', 'w3'].map(worker);
    await producer;
    const deadline = Date.now() + 20000;
    while (processed.size < total - lost.length && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
    // The survivors claim what the dead consumer held (idle > 0 ms), then process it.
    let cursor = '0-0';
    const claimed: string[] = [];
    do {
      const [next, entries] = (await r.xautoclaim(key, 'workers', 'w1', 0, cursor, 'COUNT', 10)) as [string, [string, string[]][], string[]];
      for (const [id, fv] of entries) {
        if (lost.includes(id)) claimed.push(id);
        processed.set(id, fv[1]);
        await r.xack(key, 'workers', id);
      }
      cursor = next;
    } while (cursor !== '0-0');
    stop = true;
    await Promise.all(workers);
    expect(claimed.sort()).toEqual([...lost].sort());
    expect(processed.size).toBe(total);
    expect(new Set(processed.values()).size).toBe(total);
    expect(((await r.xpending(key, 'workers')) as unknown[])[0]).toBe(0);
    const groups = (await r.xinfo('GROUPS', key)) as unknown[][];
    expect(groups[0]).toEqual(['name', 'workers', 'consumers', 4, 'pending', 0, 'last-delivered-id', expect.any(String), 'entries-read', total, 'lag', 0]);
  });
});

describe('BLOCK from scripts', () => {
  it('XREAD and XREADGROUP refuse BLOCK inside a script with Redis 7.0 texts, and do not block', async () => {
    const err = (p: Promise<unknown>) => p.then(() => 'no error', (e: Error) => e.message);
    expect(await err(r.eval(`return redis.call('xread','BLOCK',0,'STREAMS',KEYS[1],'$')`, 1, k))).toMatch(
      /^ERR xread command is not allowed with BLOCK option from scripts script: [0-9a-f]{40}, on @user_script:1\.$/,
    );
    expect(await r.eval(`return redis.pcall('XREADGROUP','GROUP','g','c','BLOCK',0,'STREAMS',KEYS[1],'>')`, 1, k).catch((e: Error) => e.message)).toBe(
      'ERR XREADGROUP command is not allowed with BLOCK option from scripts',
    );
    // Without BLOCK a script still reads.
    await r.xadd(k, '1-1', 'f', 'v');
    expect(await r.eval(`return redis.call('XREAD','STREAMS',KEYS[1],'0')`, 1, k)).toEqual([[k, [['1-1', ['f', 'v']]]]]);
  });
});
