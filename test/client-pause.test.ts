/**
 * CLIENT PAUSE / UNPAUSE over real TCP: WRITE holds what may write (write
 * and may_replicate commands, scripts that may write, an EXEC whose queue
 * writes) and lets reads through; ALL holds everything; held commands run
 * in arrival order, ahead of the rest of their pipeline, when the pause is
 * lifted or times out; expiry and eviction wait too.
 */
import { afterAll, beforeAll, afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { startServer, until, type TestServer } from './helpers/server.js';

let srv: TestServer;
let admin: Redis;
const extra: Redis[] = [];
beforeAll(async () => {
  srv = await startServer(['--save', '']);
  admin = new Redis({ port: srv.port });
});
afterAll(async () => {
  admin?.disconnect();
  await srv?.stop();
});
afterEach(async () => {
  await admin.client('UNPAUSE');
  for (const c of extra.splice(0)) c.disconnect();
});

function client(): Redis {
  const c = new Redis({ port: srv.port, maxRetriesPerRequest: 0 });
  extra.push(c);
  return c;
}

const blocked = async () => Number(/blocked_clients:(\d+)/.exec(await admin.info('clients'))![1]);
const waitBlocked = (n: number) => until(async () => (await blocked()) === n, `${n} blocked clients`);

describe('CLIENT PAUSE WRITE', () => {
  it('holds writes until UNPAUSE, lets reads through', async () => {
    await admin.set('pw', 'old');
    await admin.client('PAUSE', 100000, 'WRITE');
    const w = client();
    const r = client();
    const write = w.set('pw', 'new');
    expect(await r.get('pw')).toBe('old');
    expect(await r.ping()).toBe('PONG');
    await waitBlocked(1);
    expect(await admin.get('pw')).toBe('old');
    await admin.client('UNPAUSE');
    expect(await write).toBe('OK');
    expect(await admin.get('pw')).toBe('new');
    expect(await blocked()).toBe(0);
  });

  it('runs held commands in arrival order, each ahead of its own pipeline', async () => {
    await admin.del('order');
    await admin.client('PAUSE', 100000, 'WRITE');
    const a = client();
    const b = client();
    const pa = a.pipeline().rpush('order', 'a1').lrange('order', 0, -1).exec();
    await waitBlocked(1);
    const pb = b.rpush('order', 'b1');
    await waitBlocked(2);
    await admin.client('UNPAUSE');
    const [[, n], [, seen]] = (await pa) as [[null, number], [null, string[]]];
    expect(n).toBe(1);
    expect(seen).toEqual(['a1']);
    expect(await pb).toBe(2);
    expect(await admin.lrange('order', 0, -1)).toEqual(['a1', 'b1']);
  });

  it('holds PUBLISH (may_replicate), an EXEC that writes and scripts that may write; not read-only ones', async () => {
    await admin.set('pk', 'v');
    await admin.function('LOAD', 'REPLACE', "#!lua name=pauselib\nredis.register_function{function_name='ro_f', callback=function() return 'ro' end, flags={'no-writes'}}\nredis.register_function('rw_f', function() return 'rw' end)");
    const m = client();
    await m.call('MULTI');
    await m.call('SET', 'pk', 'x');
    await admin.client('PAUSE', 100000, 'WRITE');
    const r = client();
    // Not held: reads, read-only scripts and functions, a read-only transaction.
    expect(await r.eval('#!lua flags=no-writes\nreturn 1', 0)).toBe(1);
    expect(await r.call('EVAL_RO', "return redis.call('get', KEYS[1])", 1, 'pk')).toBe('v');
    expect(await r.fcall('ro_f', 0)).toBe('ro');
    expect(await r.multi().get('pk').ping().exec()).toEqual([[null, 'v'], [null, 'PONG']]);
    // Held: each of these.
    const held = [client().publish('ch', 'm'), m.call('EXEC'), client().eval('return 1', 0), client().eval('#!lua\nreturn 2', 0), client().fcall('rw_f', 0)];
    await waitBlocked(5);
    await admin.client('UNPAUSE');
    const out = await Promise.all(held);
    expect(out.slice(2)).toEqual([1, 2, 'rw']);
    expect(await admin.get('pk')).toBe('x');
  });
});

describe('CLIENT PAUSE ALL and time limits', () => {
  it('ALL holds reads too; the pause ends by itself when its time is up', async () => {
    await admin.set('pa', 'v');
    const t0 = Date.now();
    await admin.client('PAUSE', 300, 'ALL');
    const read = client().get('pa');
    expect(await read).toBe('v');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
  });

  it('a pause already on keeps the more restrictive type and the later end', async () => {
    const t0 = Date.now();
    // In one transaction, so that the first pause does not hold the second.
    await admin.multi().client('PAUSE', 300, 'WRITE').client('PAUSE', 10, 'ALL').exec();
    // ALL (reads held) until the later end.
    expect(await client().get('x')).toBe(null);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
  });

  it('answers errors for a bad mode or timeout, and arity errors at once', async () => {
    await expect(admin.client('PAUSE', 100, 'NOPE')).rejects.toThrow('ERR CLIENT PAUSE mode must be WRITE or ALL');
    await expect(admin.client('PAUSE', 'abc')).rejects.toThrow('ERR timeout is not an integer or out of range');
    await expect(admin.client('PAUSE', -1)).rejects.toThrow('ERR timeout is negative');
    await admin.client('PAUSE', 100000, 'WRITE');
    await expect(client().call('SET', 'only-key')).rejects.toThrow("ERR wrong number of arguments for 'set' command");
  });

  it('a held client that disconnects is forgotten', async () => {
    await admin.client('PAUSE', 100000, 'WRITE');
    const w = client();
    void w.set('gone', 'x').catch(() => {});
    await waitBlocked(1);
    w.disconnect();
    await waitBlocked(0);
    await admin.client('UNPAUSE');
    expect(await admin.exists('gone')).toBe(0);
  });
});

describe('expiry while paused', () => {
  it('expired keys read as missing but are not removed until the pause ends', async () => {
    const before = Number(/expired_keys:(\d+)/.exec(await admin.info('stats'))![1]);
    await admin.multi().set('e1', 'v', 'PX', 10).set('e2', 'v', 'PX', 10).client('PAUSE', 100000, 'WRITE').exec();
    await until(async () => (await admin.get('e1')) === null && (await admin.get('e2')) === null, 'keys logically expired');
    expect(Number(/expired_keys:(\d+)/.exec(await admin.info('stats'))![1])).toBe(before);
    await admin.client('UNPAUSE');
    await admin.get('e1');
    await admin.get('e2');
    expect(Number(/expired_keys:(\d+)/.exec(await admin.info('stats'))![1])).toBe(before + 2);
  });
});
