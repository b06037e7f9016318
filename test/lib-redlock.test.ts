/**
 * redlock (v5, on ioredis), unchanged, against the server: its locks are
 * EVALSHA scripts (falling back to EVAL on NOSCRIPT). Acquire, contention,
 * extend, release, and a lock over several resources.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import Redlock, { ExecutionError } from 'redlock';
import { startServer, type TestServer } from './helpers/server.js';

let srv: TestServer;
let client: Redis;
let other: Redis;
let redlock: Redlock;
beforeAll(async () => {
  srv = await startServer();
  client = new Redis(srv.port, '127.0.0.1');
  other = new Redis(srv.port, '127.0.0.1');
  // No retries: contention must show at once.
  redlock = new Redlock([client], { retryCount: 0 });
});
afterAll(async () => {
  client?.disconnect();
  other?.disconnect();
  await srv?.stop();
});

describe('redlock', () => {
  it('acquires a lock: the key holds the lock value with the TTL asked for', async () => {
    await client.script('FLUSH'); // the first EVALSHA gets NOSCRIPT and redlock falls back to EVAL
    const lock = await redlock.acquire(['rl:a'], 5000);
    expect(await other.get('rl:a')).toBe(lock.value);
    const ttl = await other.pttl('rl:a');
    expect(ttl).toBeGreaterThan(4000);
    expect(ttl).toBeLessThanOrEqual(5000);
    await lock.release();
  });

  it('refuses a lock someone else holds, and grants it once released', async () => {
    const lock = await redlock.acquire(['rl:b'], 5000);
    const second = new Redlock([other], { retryCount: 0 });
    await expect(second.acquire(['rl:b'], 5000)).rejects.toBeInstanceOf(ExecutionError);
    expect(await other.get('rl:b')).toBe(lock.value);
    await lock.release();
    const again = await second.acquire(['rl:b'], 5000);
    expect(await other.get('rl:b')).toBe(again.value);
    await again.release();
  });

  it('extends a held lock, but not one that expired and was taken by another', async () => {
    const lock = await redlock.acquire(['rl:c'], 1000);
    const longer = await lock.extend(60000);
    expect(await other.pttl('rl:c')).toBeGreaterThan(50000);
    expect(longer.expiration).toBeGreaterThan(lock.expiration);
    // Someone else's lock now (as after expiry): extending must fail and leave it.
    await other.set('rl:c', 'someone-else', 'PX', 60000);
    await expect(longer.extend(60000)).rejects.toBeInstanceOf(ExecutionError);
    expect(await other.get('rl:c')).toBe('someone-else');
    await other.del('rl:c');
  });

  it("releases only its own lock: a stale release leaves another holder's key", async () => {
    const lock = await redlock.acquire(['rl:d'], 5000);
    await lock.release();
    expect(await other.exists('rl:d')).toBe(0);
    await other.set('rl:d', 'someone-else', 'PX', 60000);
    await expect(lock.release()).rejects.toBeInstanceOf(ExecutionError);
    expect(await other.get('rl:d')).toBe('someone-else');
    await other.del('rl:d');
  });

  it('locks several resources at once, all or none', async () => {
    const held = await redlock.acquire(['rl:e2'], 5000);
    await expect(redlock.acquire(['rl:e1', 'rl:e2', 'rl:e3'], 5000)).rejects.toBeInstanceOf(ExecutionError);
    expect(await other.exists('rl:e1', 'rl:e3')).toBe(0);
    await held.release();
    const result = await redlock.using(['rl:e1', 'rl:e2', 'rl:e3'], 5000, async () => other.exists('rl:e1', 'rl:e2', 'rl:e3'));
    expect(result).toBe(3);
    expect(await other.exists('rl:e1', 'rl:e2', 'rl:e3')).toBe(0);
  });
});
