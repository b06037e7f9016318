/**
 * Client-side caching over real TCP: CLIENT TRACKING in default, BCAST,
 * OPTIN/OPTOUT and NOLOOP modes, RESP3 push invalidations and RESP2
 * redirection to __redis__:invalidate, the ordering of a client's own
 * invalidations after its replies, flushes, the table limit, the
 * introspection commands, and node-redis's client-side cache serving reads
 * from its cache until another client writes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createClient, BasicClientSideCache } from 'redis';
import { RawClient, resp, startServer, until, type TestServer } from './helpers/server.js';

let srv: TestServer;
let w: Redis;
beforeAll(async () => {
  srv = await startServer(['--save', '']);
  w = new Redis({ port: srv.port });
});
afterAll(async () => {
  w?.disconnect();
  await srv?.stop();
});

const bulk = (s: string) => `$${s.length}\r\n${s}\r\n`;
const invalidate = (...keys: string[]) => `>2\r\n$10\r\ninvalidate\r\n*${keys.length}\r\n${keys.map(bulk).join('')}`;

async function resp3(): Promise<RawClient> {
  const c = await RawClient.connect(srv.port);
  c.write(resp('HELLO', '3'));
  await c.readUntil('modules\r\n*0\r\n');
  return c;
}

async function exchange(c: RawClient, want: string, ...cmds: string[][]): Promise<void> {
  c.write(cmds.map((a) => resp(...a)).join(''));
  expect(await c.read(want.length)).toBe(want);
}

describe('default mode (RESP3 push)', () => {
  it('invalidates a key the client read, once, when another client changes it', async () => {
    const c = await resp3();
    await exchange(c, '+OK\r\n_\r\n', ['CLIENT', 'TRACKING', 'ON'], ['GET', 'k1']);
    await w.set('k1', 'a');
    await w.set('k1', 'b');
    await exchange(c, invalidate('k1') + '$1\r\nb\r\n', ['GET', 'k1']);
    await w.set('k1', 'c');
    await exchange(c, invalidate('k1') + '+PONG\r\n', ['PING']);
    c.close();
  });

  it("sends a client's own invalidations after the reply of the command that caused them (and after EXEC)", async () => {
    const c = await resp3();
    await exchange(c, '+OK\r\n+OK\r\n$1\r\n1\r\n$1\r\n2\r\n', ['CLIENT', 'TRACKING', 'ON'], ['MSET', 'a1', '1', 'b1', '2'], ['GET', 'a1'], ['GET', 'b1']);
    await exchange(c, ':1\r\n' + invalidate('a1'), ['DEL', 'a1']);
    await exchange(c, '+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:3\r\n$1\r\n3\r\n' + invalidate('b1'), ['MULTI'], ['INCRBY', 'b1', '1'], ['GET', 'b1'], ['EXEC']);
    c.close();
  });

  it('NOLOOP skips changes the client made itself; expiry invalidates', async () => {
    const c = await resp3();
    await exchange(c, '+OK\r\n_\r\n_\r\n', ['CLIENT', 'TRACKING', 'ON', 'NOLOOP'], ['GET', 'nl1'], ['GET', 'ex1']);
    await exchange(c, '+OK\r\n', ['SET', 'nl1', 'mine']);
    await w.set('ex1', 'v', 'PX', 5);
    await until(async () => (await w.exists('ex1')) === 0, 'ex1 expired');
    await exchange(c, invalidate('ex1') + '+PONG\r\n', ['PING']);
    c.close();
  });

  it('OPTIN tracks only after CLIENT CACHING yes, OPTOUT all but after CLIENT CACHING no', async () => {
    const c = await resp3();
    await exchange(c, '+OK\r\n_\r\n+OK\r\n_\r\n', ['CLIENT', 'TRACKING', 'ON', 'OPTIN'], ['GET', 'oi1'], ['CLIENT', 'CACHING', 'yes'], ['GET', 'oi2']);
    await w.mset('oi1', 'x', 'oi2', 'y');
    await exchange(c, invalidate('oi2') + '+PONG\r\n', ['PING']);
    await exchange(c, '+OK\r\n+OK\r\n', ['CLIENT', 'TRACKING', 'OFF'], ['CLIENT', 'TRACKING', 'ON', 'OPTOUT']);
    await exchange(c, '+OK\r\n$1\r\nx\r\n$1\r\ny\r\n', ['CLIENT', 'CACHING', 'no'], ['GET', 'oi1'], ['GET', 'oi2']);
    await w.mset('oi1', 'x2', 'oi2', 'y2');
    await exchange(c, invalidate('oi2') + '+PONG\r\n', ['PING']);
    c.close();
  });

  it('FLUSHALL invalidates everything with a null', async () => {
    const c = await resp3();
    await exchange(c, '+OK\r\n_\r\n', ['CLIENT', 'TRACKING', 'ON'], ['GET', 'fl1']);
    await w.flushall();
    await exchange(c, '>2\r\n$10\r\ninvalidate\r\n_\r\n+PONG\r\n', ['PING']);
    c.close();
  });
});

describe('BCAST, redirection and limits', () => {
  it('BCAST sends every change under the prefixes, batched', async () => {
    const c = await resp3();
    await exchange(c, '+OK\r\n', ['CLIENT', 'TRACKING', 'ON', 'BCAST', 'PREFIX', 'user:', 'PREFIX', 'cart:']);
    await w.pipeline().set('user:1', 'a').set('other', 'b').set('user:2', 'c').exec();
    const got = await c.read(invalidate('user:1', 'user:2').length);
    expect(got).toBe(invalidate('user:1', 'user:2'));
    const err = "-ERR Prefix 'use' overlaps with an existing prefix 'user:'. Prefixes for a single client must not overlap.\r\n";
    await exchange(c, err, ['CLIENT', 'TRACKING', 'ON', 'BCAST', 'PREFIX', 'use']);
    c.close();
  });

  it('RESP2 clients get invalidations through a connection subscribed to __redis__:invalidate', async () => {
    const sub = await RawClient.connect(srv.port);
    await exchange(sub, '*3\r\n$9\r\nsubscribe\r\n$20\r\n__redis__:invalidate\r\n:1\r\n', ['SUBSCRIBE', '__redis__:invalidate']);
    const subId = Number(/id=(\d+) [^\n]*cmd=subscribe/.exec((await w.call('CLIENT', 'LIST')) as string)![1]);
    const c = new Redis({ port: srv.port });
    await c.client('TRACKING', 'ON', 'REDIRECT', subId);
    expect(await c.client('GETREDIR')).toBe(subId);
    await c.get('rd1');
    await w.set('rd1', 'v');
    const msg = '*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$3\r\nrd1\r\n';
    expect(await sub.read(msg.length)).toBe(msg);
    expect(await c.call('CLIENT', 'TRACKINGINFO')).toEqual(['flags', ['on'], 'redirect', subId, 'prefixes', []]);
    // The redirection target goes away: the next invalidation marks the redirection broken.
    sub.close();
    await until(async () => !((await w.call('CLIENT', 'LIST')) as string).includes(`id=${subId} `), 'sub gone');
    await c.get('rd1');
    await w.set('rd1', 'w');
    expect(await c.call('CLIENT', 'TRACKINGINFO')).toEqual(['flags', ['on', 'broken_redirect'], 'redirect', subId, 'prefixes', []]);
    c.disconnect();
  });

  it('forgets keys past tracking-table-max-keys, telling their clients; INFO counts them', async () => {
    const c = await resp3();
    await exchange(c, '+OK\r\n*3\r\n_\r\n_\r\n_\r\n', ['CLIENT', 'TRACKING', 'ON'], ['MGET', 'lim1', 'lim2', 'lim3']);
    expect(await w.info('clients')).toMatch(/tracking_clients:[1-9]/);
    expect(Number(/tracking_total_keys:(\d+)/.exec(await w.info('stats'))![1])).toBeGreaterThanOrEqual(3);
    await w.config('SET', 'tracking-table-max-keys', '1');
    await w.ping();
    const want = invalidate('lim1') + invalidate('lim2');
    expect(await c.read(want.length)).toBe(want);
    await w.config('SET', 'tracking-table-max-keys', '1000000');
    c.close();
  });

  it('refuses inconsistent options with Redis errors', async () => {
    const c = new Redis({ port: srv.port });
    await expect(c.client('TRACKING', 'ON', 'PREFIX', 'x')).rejects.toThrow('ERR PREFIX option requires BCAST mode to be enabled');
    await expect(c.client('TRACKING', 'ON', 'BCAST', 'OPTIN')).rejects.toThrow('ERR OPTIN and OPTOUT are not compatible with BCAST');
    await expect(c.client('TRACKING', 'ON', 'OPTIN', 'OPTOUT')).rejects.toThrow("ERR You can't specify both OPTIN mode and OPTOUT mode");
    await expect(c.client('TRACKING', 'ON', 'REDIRECT', '999999')).rejects.toThrow('ERR The client ID you want redirect to does not exist');
    await expect(c.client('CACHING', 'yes')).rejects.toThrow('ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled');
    await c.client('TRACKING', 'ON');
    await expect(c.client('TRACKING', 'ON', 'BCAST')).rejects.toThrow("ERR You can't switch BCAST mode on/off");
    expect(await c.call('CLIENT', 'INFO')).toMatch(/flags=t /);
    c.disconnect();
  });
});

describe('node-redis client-side cache', () => {
  it('serves repeated reads from its cache until another client writes the key', async () => {
    const cache = new BasicClientSideCache({ ttl: 0, maxEntries: 0 });
    const c = createClient({ socket: { port: srv.port }, RESP: 3, clientSideCache: cache });
    await c.connect();
    await w.set('csc', 'v1');
    expect(await c.get('csc')).toBe('v1');
    expect(await c.get('csc')).toBe('v1');
    expect(await c.get('csc')).toBe('v1');
    expect(cache.stats().hitCount).toBe(2);
    await w.set('csc', 'v2');
    await until(async () => (await c.get('csc')) === 'v2', 'the invalidation reached the cache');
    expect(cache.stats().missCount).toBeGreaterThanOrEqual(2);
    await c.quit();
  });
});
