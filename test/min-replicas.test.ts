/**
 * min-replicas-to-write / min-replicas-max-lag (server/min-replicas.ts):
 * with no replica attached, a primary with the check on refuses every
 * write with -NOREPLICAS, in commands, transactions and scripts, and
 * serves reads. Compared reply for reply with redis-server, which has no
 * replica attached either.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { startServer, type TestServer } from './helpers/server.js';
import { startRedis, type Oracle } from './helpers/redis-oracle.js';
import { session } from './helpers/resp-session.js';

let srv: TestServer;
let oracle: Oracle;

beforeAll(async () => {
  [srv, oracle] = await Promise.all([startServer(['--save', '']), startRedis([])]);
}, 60000);

afterAll(async () => {
  await srv?.stop();
  oracle?.stop();
});

const both = (cmds: string[][]) => Promise.all([session(srv.port, 2, cmds), session(oracle.port, 2, cmds)]);

describe('min-replicas-to-write with no replica attached', () => {
  it('refuses writes with NOREPLICAS (commands, MULTI/EXEC, scripts) and serves reads, as redis-server', async () => {
    const cmds: string[][] = [
      ['SET', 'mr:x', 'some value'],
      ['CONFIG', 'SET', 'min-replicas-to-write', '1'],
      ['CONFIG', 'GET', 'min-slaves-to-write'],
      ['SET', 'mr:x', 'other'],
      ['INCR', 'mr:n'],
      ['GET', 'mr:x'],
      ['DEL', 'mr:x'],
      ['EXISTS', 'mr:x'],
      ['MULTI'],
      ['GET', 'mr:x'],
      ['SET', 'mr:x', 'in multi'],
      ['EXEC'],
      ['EVAL', "#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])", '1', 'mr:x'],
      ['EVAL', "return redis.call('get', KEYS[1])", '1', 'mr:x'],
      ['EVAL', "#!lua\nreturn redis.call('get', KEYS[1])", '1', 'mr:x'],
      ['EVAL', "return redis.call('set', KEYS[1], 1)", '1', 'mr:x'],
      ['EVAL', "return redis.pcall('set', KEYS[1], 1)['err']", '1', 'mr:x'],
      // The check needs both settings: a lag of 0 turns it off.
      ['CONFIG', 'SET', 'min-replicas-max-lag', '0'],
      ['SET', 'mr:y', 'lag off'],
      ['CONFIG', 'SET', 'min-slaves-max-lag', '10'],
      ['CONFIG', 'GET', 'min-replicas-max-lag'],
      ['SET', 'mr:y', 'lag on'],
      ['CONFIG', 'SET', 'min-replicas-to-write', '0'],
      ['SET', 'mr:x', 'after'],
      ['MGET', 'mr:x', 'mr:y'],
    ];
    const [mine, theirs] = await both(cmds);
    expect(mine).toEqual(theirs);
    // Not vacuous: the writes were refused.
    expect(mine[3]).toBe('-NOREPLICAS Not enough good replicas to write.\r\n');
    expect(mine[11]).toMatch(/^-EXECABORT/);
    expect(mine[15]).toMatch(/^-NOREPLICAS Not enough good replicas to write\. script: /);
  });

  it('shows min_slaves_good_slaves in INFO replication only while the check is on', async () => {
    for (const port of [srv.port, oracle.port]) {
      const c = new Redis(port);
      expect(await c.info('replication')).not.toMatch(/min_slaves_good_slaves/);
      await c.config('SET', 'min-replicas-to-write', '2');
      expect(await c.info('replication')).toMatch(/\r\nmin_slaves_good_slaves:0\r\n/);
      await c.config('SET', 'min-replicas-to-write', '0');
      await c.quit();
    }
  });
});
