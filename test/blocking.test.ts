/**
 * Blocking list commands (BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP) with several
 * clients: who gets served, in which order, timeouts, disconnects, CLIENT
 * UNBLOCK and transactions. Blocked state is observed through CLIENT LIST.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import Redis from 'ioredis';
import Redis5 from 'ioredis5';
import { RawClient, resp, startServer, type TestServer } from './helpers/server.js';

let srv: TestServer;
let r: Redis;
const opened: Redis[] = [];
beforeAll(async () => {
  srv = await startServer();
  r = client();
});
afterAll(async () => {
  for (const c of opened) c.disconnect();
  await srv.stop();
});
let n = 0;
let k: string;
beforeEach(() => {
  k = `bl:${++n}`;
});

function client(): Redis {
  const c = new Redis5({ port: srv.port, enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null }) as unknown as Redis;
  opened.push(c);
  return c;
}

/** Wait (bounded) until `count` clients are blocked. */
async function blockedClients(count: number): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const list = (await r.client('LIST')) as string;
    const blocked = list.split('\n').filter((l) => / flags=\w*b/.test(l)).length;
    if (blocked === count) return;
    if (Date.now() > deadline) throw new Error(`expected ${count} blocked clients, have ${blocked}:\n${list}`);
    await new Promise((res) => setImmediate(res));
  }
}

describe('serving blocked clients', () => {
  it('answers at once when a list has data', async () => {
    await r.rpush(k, 'a', 'b');
    expect(await r.blpop(k, 0)).toEqual([k, 'a']);
    expect(await r.brpop('nokey', k, 0)).toEqual([k, 'b']);
    expect(await r.llen(k)).toBe(0);
  });

  it('BLPOP/BRPOP wake on a push from another client, and the emptied key is gone', async () => {
    const c = client();
    const p = c.blpop(k + 'x', k, 0);
    await blockedClients(1);
    expect(await r.rpush(k, 'v1')).toBe(1);
    expect(await p).toEqual([k, 'v1']);
    expect(await r.llen(k)).toBe(0);
    const q = c.brpop(k, 0);
    await blockedClients(1);
    await r.rpush(k, 'a', 'b', 'c');
    expect(await q).toEqual([k, 'c']);
    expect(await r.lrange(k, 0, -1)).toEqual(['a', 'b']);
  });

  it('serves clients blocked on the same key first come, first served', async () => {
    const cs = [client(), client(), client()];
    const ps: Promise<unknown>[] = [];
    for (let i = 0; i < 3; i++) {
      ps.push(cs[i].blpop(k, 0));
      await blockedClients(i + 1);
    }
    await r.rpush(k, 'one', 'two');
    expect(await ps[0]).toEqual([k, 'one']);
    expect(await ps[1]).toEqual([k, 'two']);
    await blockedClients(1);
    await r.lpush(k, 'three');
    expect(await ps[2]).toEqual([k, 'three']);
  });

  it('times out after a sub-second timeout with a null (RESP2 *-1, RESP3 _)', async () => {
    const t0 = Date.now();
    expect(await r.blpop(k, 0.2)).toBeNull();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    const raw = await RawClient.connect(srv.port);
    raw.write(resp('BRPOP', k, '0.05') + resp('BLMOVE', k, 'x', 'LEFT', 'LEFT', '0.01') + resp('BLMPOP', '0.01', '1', k, 'LEFT'));
    expect(await raw.read(15)).toBe('*-1\r\n*-1\r\n*-1\r\n');
    raw.write(resp('HELLO', '3'));
    await raw.readUntil('modules\r\n*0\r\n');
    raw.write(resp('BLPOP', k, '0.01'));
    expect(await raw.read(3)).toBe('_\r\n');
    raw.close();
  });

  it('refuses bad timeouts with Redis errors', async () => {
    await expect(r.blpop(k, -1)).rejects.toThrow('ERR timeout is negative');
    await expect(r.call('brpop', k, 'abc')).rejects.toThrow('ERR timeout is not a float or out of range');
    await expect(r.call('blmove', k, 'x', 'left', 'left', '-0.5')).rejects.toThrow('ERR timeout is negative');
    await expect(r.call('blmpop', 'x', '1', k, 'left')).rejects.toThrow('ERR timeout is not a float or out of range');
    await expect(r.call('blmpop', '0', '0', k, 'left')).rejects.toThrow('ERR numkeys should be greater than 0');
    await expect(r.call('blmove', k, 'x', 'up', 'left', '0')).rejects.toThrow('ERR syntax error');
  });

  it('a client that disconnects while blocked leaves nothing behind', async () => {
    const c = client();
    c.blpop(k, 0).catch(() => {});
    await blockedClients(1);
    c.disconnect();
    await blockedClients(0);
    await r.rpush(k, 'kept');
    expect(await r.lrange(k, 0, -1)).toEqual(['kept']);
  });

  it('CLIENT UNBLOCK answers as a timeout or with an UNBLOCKED error', async () => {
    const c = client();
    const id = (await c.client('ID')) as number;
    const p = c.blpop(k, 0);
    await blockedClients(1);
    expect(await r.client('UNBLOCK', id)).toBe(1);
    expect(await p).toBeNull();
    const q = expect(c.brpoplpush(k, k + 'd', 0)).rejects.toThrow('UNBLOCKED client unblocked via CLIENT UNBLOCK');
    await blockedClients(1);
    expect(await r.client('UNBLOCK', id, 'ERROR')).toBe(1);
    await q;
    expect(await r.client('UNBLOCK', id)).toBe(0);
  });

  it('serves a client blocked in another database only from its own database', async () => {
    const c = client();
    await c.select(3);
    const p = c.blpop(k, 0);
    await blockedClients(1);
    await r.rpush(k, 'db0');
    await r.select(3);
    await r.rpush(k, 'db3');
    await r.select(0);
    expect(await p).toEqual([k, 'db3']);
    expect(await r.lrange(k, 0, -1)).toEqual(['db0']);
  });
});

describe('BLMOVE / BRPOPLPUSH / BLMPOP', () => {
  it('BLMOVE wakes and moves, and LMOVE into a waited key wakes its client', async () => {
    const c = client();
    const p = c.blmove(k, k + 'd', 'RIGHT', 'LEFT', 0);
    await blockedClients(1);
    await r.rpush(k + 's', 'm');
    await r.lmove(k + 's', k, 'LEFT', 'LEFT');
    expect(await p).toBe('m');
    expect(await r.lrange(k + 'd', 0, -1)).toEqual(['m']);
    expect(await r.llen(k)).toBe(0);
  });

  it('BLMOVE where source and destination are the same key', async () => {
    const c = client();
    const p = c.blmove(k, k, 'LEFT', 'RIGHT', 0);
    await blockedClients(1);
    await r.rpush(k, 'a');
    expect(await p).toBe('a');
    expect(await r.lrange(k, 0, -1)).toEqual(['a']);
  });

  it('a blocked BLMOVE whose destination has the wrong type gets WRONGTYPE and the element stays', async () => {
    const c = client();
    await r.set(k + 'd', 'string');
    const p = expect(c.blmove(k, k + 'd', 'LEFT', 'LEFT', 0)).rejects.toThrow(/^WRONGTYPE/);
    await blockedClients(1);
    await r.rpush(k, 'stay');
    await p;
    expect(await r.lrange(k, 0, -1)).toEqual(['stay']);
    expect(await r.get(k + 'd')).toBe('string');
  });

  it('chained BRPOPLPUSH clients each get the element in turn', async () => {
    const a = client();
    const b = client();
    const pa = a.brpoplpush(k + '1', k + '2', 0);
    await blockedClients(1);
    const pb = b.brpoplpush(k + '2', k + '3', 0);
    await blockedClients(2);
    await r.rpush(k + '1', 'x');
    expect(await pa).toBe('x');
    expect(await pb).toBe('x');
    expect(await r.llen(k + '1')).toBe(0);
    expect(await r.llen(k + '2')).toBe(0);
    expect(await r.lrange(k + '3', 0, -1)).toEqual(['x']);
  });

  it('BLMPOP pops up to COUNT from the first key that gets data', async () => {
    const c = client();
    const p = c.call('blmpop', '0', '2', k + 'a', k + 'b', 'RIGHT', 'COUNT', '2');
    await blockedClients(1);
    await r.rpush(k + 'b', '1', '2', '3');
    expect(await p).toEqual([k + 'b', ['3', '2']]);
    expect(await r.call('blmpop', '0', '1', k + 'b', 'LEFT', 'COUNT', '10')).toEqual([k + 'b', ['1']]);
  });

  it('a RESP3 client gets the same shapes when woken', async () => {
    const raw = await RawClient.connect(srv.port);
    raw.write(resp('HELLO', '3'));
    await raw.readUntil('modules\r\n*0\r\n');
    raw.write(resp('BLPOP', k, '0'));
    await blockedClients(1);
    await r.rpush(k, 'v');
    const want = `*2\r\n$${k.length}\r\n${k}\r\n$1\r\nv\r\n`;
    expect(await raw.read(want.length)).toBe(want);
    raw.close();
  });
});

describe('transactions', () => {
  it('blocking commands inside MULTI do not block; a push in MULTI wakes after EXEC', async () => {
    const t = client();
    const res = await t.multi().blpop(k, 0).brpoplpush(k, k + 'd', 0).call('blmpop', '0', '1', k, 'LEFT').exec();
    expect(res).toEqual([[null, null], [null, null], [null, null]]);
    const c = client();
    const p = c.blpop(k, 0);
    await blockedClients(1);
    const tx = await t.multi().rpush(k, 'a').rpush(k, 'b').lpop(k).exec();
    expect(tx).toEqual([[null, 1], [null, 2], [null, 'a']]);
    expect(await p).toEqual([k, 'b']);
  });
});
