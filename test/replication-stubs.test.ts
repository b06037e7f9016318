/**
 * The replication-facing commands of a server without replicas, and the
 * module commands of a server without modules, against redis-server where
 * the answer is the same: WAIT, ROLE, REPLICAOF/SLAVEOF, MODULE, LOLWUT.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { startServer, until, type TestServer } from './helpers/server.js';
import { rawReply, startRedis, type Oracle } from './helpers/redis-oracle.js';

let srv: TestServer;
let oracle: Oracle;
let c: Redis;
beforeAll(async () => {
  [srv, oracle] = await Promise.all([startServer(['--save', '']), startRedis()]);
  c = new Redis({ port: srv.port });
});
afterAll(async () => {
  c?.disconnect();
  oracle?.stop();
  await srv?.stop();
});

describe('as redis-server answers without replicas or modules', () => {
  it.each([
    [['WAIT', '0', '0']],
    [['WAIT', 'x', '0']],
    [['WAIT', '1', '-1']],
    [['ROLE']],
    [['MODULE', 'LIST']],
    [['MODULE', 'LOAD', '/tmp/nosuch.so']],
    [['MODULE', 'UNLOAD', 'x']],
    [['LOLWUT']],
  ])('%j', async (args) => {
    for (const proto of [2, 3] as const) {
      const mine = await rawReply(srv.port, proto, args);
      const theirs = await rawReply(oracle.port, proto, args);
      expect(mine).toBe(theirs);
    }
  });
});

describe('WAIT and REPLICAOF', () => {
  it('WAIT for replicas waits its timeout out and counts 0; CLIENT UNBLOCK ends a WAIT 0', async () => {
    const t0 = Date.now();
    expect(await c.call('WAIT', '1', '150')).toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    const b = c.duplicate();
    const id = (await b.client('ID')) as number;
    const waiting = b.call('WAIT', '1', '0');
    await until(async () => /blocked_clients:1/.test(await c.info('clients')), 'a blocked WAIT');
    expect(await c.client('UNBLOCK', id)).toBe(1);
    expect(await waiting).toBe(0);
    expect(await c.multi().call('WAIT', '1', '0').exec()).toEqual([[null, 0]]);
    b.disconnect();
  });

  it('REPLICAOF NO ONE is accepted (already a master); replicating is refused with a clear error', async () => {
    expect(await c.call('REPLICAOF', 'NO', 'ONE')).toBe('OK');
    await expect(c.call('REPLICAOF', '127.0.0.1', '6379')).rejects.toThrow(/REPLICAOF is not supported: this server has no replication/);
    await expect(c.call('SLAVEOF', '127.0.0.1', '6379')).rejects.toThrow(/no replication/);
  });
});
