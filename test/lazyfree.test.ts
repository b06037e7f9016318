/**
 * INFO lazyfreed_objects / lazyfree_pending_objects against redis-server
 * 7.0: the same steps on both, the same counters after each (UNLINK of a
 * big and a small value, DEL with and without lazyfree-lazy-user-del,
 * FLUSHDB/FLUSHALL ASYNC, a stream with consumer groups, CONFIG RESETSTAT).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { startServer, type TestServer } from './helpers/server.js';
import { startRedis, type Oracle } from './helpers/redis-oracle.js';

let srv: TestServer;
let redis: Oracle;
let ours: Redis;
let real: Redis;
beforeAll(async () => {
  [srv, redis] = await Promise.all([startServer(['--save', '']), startRedis()]);
  ours = new Redis(srv.port, '127.0.0.1');
  real = new Redis(redis.port, '127.0.0.1');
});
afterAll(async () => {
  ours?.disconnect();
  real?.disconnect();
  redis?.stop();
  await srv?.stop();
});

/** Run the same commands on both servers. */
async function onBoth(...cmds: (string | number)[][]): Promise<void> {
  for (const c of [ours, real]) for (const [name, ...args] of cmds) await c.call(String(name), ...args.map(String));
}

/** lazyfreed_objects once nothing is pending (Redis's background thread may still be at work). */
async function freed(c: Redis): Promise<number> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const info = await c.info('memory');
    const pending = Number(/lazyfree_pending_objects:(\d+)/.exec(info)![1]);
    if (pending === 0 || Date.now() > deadline) return Number(/lazyfreed_objects:(\d+)/.exec(info)![1]);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function expectSame(expected: number): Promise<void> {
  const [o, r] = await Promise.all([freed(ours), freed(real)]);
  expect(r).toBe(expected);
  expect(o).toBe(r);
}

const members = (n: number) => Array.from({ length: n }, (_, i) => `m${i}`);

describe('lazyfree counters', () => {
  it('count what UNLINK, DEL, FLUSHDB ASYNC hand to background freeing, as redis-server', async () => {
    await onBoth(['CONFIG', 'RESETSTAT']);
    await expectSame(0);
    // 200 members: a hashtable set, 200 allocations.
    await onBoth(['SADD', 'big', ...members(200)], ['UNLINK', 'big']);
    await expectSame(1);
    await onBoth(['SADD', 'small', ...members(10)], ['UNLINK', 'small']);
    await expectSame(1);
    await onBoth(['SADD', 'big', ...members(200)], ['DEL', 'big']);
    await expectSame(1);
    await onBoth(['CONFIG', 'SET', 'lazyfree-lazy-user-del', 'yes'], ['SADD', 'big', ...members(200)], ['DEL', 'big'], ['CONFIG', 'SET', 'lazyfree-lazy-user-del', 'no']);
    await expectSame(2);
    await onBoth(['SET', 'a', '1'], ['SET', 'b', '2'], ['SET', 'c', '3'], ['FLUSHDB', 'ASYNC']);
    await expectSame(5);
    await onBoth(['SET', 'a', '1'], ['FLUSHDB', 'SYNC'], ['SET', 'a', '1'], ['SELECT', '1'], ['SET', 'b', '1'], ['SELECT', '0'], ['FLUSHALL', 'ASYNC']);
    await expectSame(7);
    await onBoth(['CONFIG', 'RESETSTAT']);
    await expectSame(0);
  });

  it('count a stream by its nodes and consumer groups', async () => {
    await onBoth(['CONFIG', 'RESETSTAT'], ['CONFIG', 'SET', 'stream-node-max-entries', '5']);
    for (let j = 0; j < 500; j++) await onBoth(['XADD', 'st', `1-${j + 1}`, 'f', j]);
    await onBoth(['XGROUP', 'CREATE', 'st', 'g', '0'], ['XREADGROUP', 'GROUP', 'g', 'alice', 'COUNT', '2', 'STREAMS', 'st', '>'], ['UNLINK', 'st']);
    await expectSame(1);
    await onBoth(['XADD', 's', '*', 'a', 'b'], ['XGROUP', 'CREATE', 's', 'bla', '$'], ['XGROUP', 'DESTROY', 's', 'bla'], ['UNLINK', 's']);
    await expectSame(1);
    await onBoth(['CONFIG', 'SET', 'stream-node-max-entries', '100']);
  });
});
