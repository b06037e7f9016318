/**
 * Migration from Redis: an RDB file that redis-server 7.0 wrote (every type
 * and encoding, expiries, several databases, big and small values, a
 * function library) is loaded at boot when no snapshot of this server
 * exists, and reads back key by key as on redis-server; the next save is
 * native. Damaged, truncated and unloadable files follow the strict-boot
 * rules, never a partly loaded keyspace.
 */
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import Redis from 'ioredis';
import { startServer, type TestServer } from './helpers/server.js';
import { startRedis, type Oracle } from './helpers/redis-oracle.js';
import { describeKey, fillFixture, sameEncodingConfig } from './helpers/rdb-fixtures.js';
import { oldPayloads } from './helpers/rdb-old-encodings.js';
import { crc64 } from '../src/rdb/crc64.js';

vi.setConfig({ testTimeout: 120_000 });

const servers: TestServer[] = [];
const clients: Redis[] = [];
const dirs: string[] = [];

function tmp(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'damselfly-rdb-'));
  dirs.push(d);
  return d;
}

function client(port: number): Redis {
  const c = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1, retryStrategy: () => null });
  c.on('error', () => {});
  clients.push(c);
  return c;
}

async function start(flags: string[], noWait = false): Promise<TestServer> {
  const s = await startServer(flags, { keepDir: true, noWait });
  servers.push(s);
  return s;
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.disconnect();
  for (const s of servers.splice(0)) await s.stop();
});

/** redis-server holding the reference data, and the RDB file it saved. */
let oracle: Oracle;
let redis: Redis;
let rdbDir: string;
let rdbFile: string;
const LIB = "#!lua name=rdblib\nredis.register_function('rdbfunc', function(keys, args) return 'from rdb' end)";

beforeAll(async () => {
  rdbDir = tmp();
  oracle = await startRedis(['--dir', rdbDir, '--dbfilename', 'dump.rdb']);
  redis = new Redis({ port: oracle.port, host: '127.0.0.1' });
  await sameEncodingConfig(redis);
  await fillFixture(redis);
  // Big values, other databases, expiries.
  await redis.set('big:string', 'B'.repeat(3_000_000));
  const p = redis.pipeline();
  for (let i = 0; i < 20; i++) p.rpush('big:list', ...Array.from({ length: 5000 }, (_, j) => `item:${i}:${j}`));
  for (let i = 0; i < 20000; i++) p.set(`small:${i}`, String(i));
  await p.exec();
  await redis.set('ttl:later', 'v', 'EX', 3600);
  await redis.set('ttl:soon', 'v', 'PX', 400);
  await redis.select(5);
  await redis.set('db5:key', 'five');
  await redis.hset('db5:hash', 'a', '1');
  await redis.select(15);
  await redis.zadd('db15:zset', 1, 'x');
  await redis.select(0);
  await redis.call('FUNCTION', 'LOAD', LIB);
  await redis.save();
  rdbFile = path.join(rdbDir, 'dump.rdb');
  // Expired before any server here loads it.
  await new Promise((r) => setTimeout(r, 500));
});

afterAll(async () => {
  redis?.disconnect();
  oracle?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A fresh --dir holding this RDB file as dump.rdb. */
function dirWith(file: Buffer | string): string {
  const d = tmp();
  if (typeof file === 'string') copyFileSync(file, path.join(d, 'dump.rdb'));
  else writeFileSync(path.join(d, 'dump.rdb'), file);
  return d;
}

/** An RDB file body with its CRC-64 appended. */
function sealed(body: Buffer): Buffer {
  return Buffer.concat([body, crc64(body)]);
}

async function exitLog(s: TestServer): Promise<{ code: number | null; text: string }> {
  const code = await s.exited;
  return { code, text: s.logs.map((l) => l.msg).join('\n') };
}

describe('loading a Redis RDB file at boot', () => {
  it('loads every key of every database as redis-server holds it, with TTLs and functions', async () => {
    const dir = dirWith(rdbFile);
    const s = await start(['--dir', dir, '--dbfilename', 'dump.rdb', '--save', '']);
    const c = client(s.port);
    for (const db of [0, 5, 15]) {
      await c.select(db);
      await redis.select(db);
      const keys = (await redis.keys('*')).sort();
      expect((await c.keys('*')).sort()).toEqual(keys);
      for (const k of keys) {
        if (k.startsWith('small:') && k !== 'small:19999') continue;
        expect([db, k, await describeKey(c, k)]).toEqual([db, k, await describeKey(redis, k)]);
      }
    }
    await c.select(0);
    await redis.select(0);
    for (let i = 0; i < 20000; i += 997) expect(await c.get(`small:${i}`)).toBe(String(i));
    expect(await c.exists('ttl:soon')).toBe(0);
    expect(Math.abs((await c.pexpiretime('ttl:later')) - (await redis.pexpiretime('ttl:later')))).toBe(0);
    expect(await c.call('FCALL', 'rdbfunc', 0)).toBe('from rdb');
    const loaded = s.logs.find((l) => l.msg === 'RDB file loaded; the next save writes a native snapshot')!;
    expect(loaded).toMatchObject({ expiredDropped: 1, functions: 1, redisVersion: '7.0.15' });
  });

  it("keeps the file's IDLE and FREQ records: OBJECT IDLETIME / FREQ after boot as on redis-server", async () => {
    // redis-server writes an IDLE record per key under an LRU policy, a FREQ one under LFU.
    for (const [policy, ask, set] of [
      ['allkeys-lru', 'IDLETIME', ['IDLETIME', '5000']],
      ['allkeys-lfu', 'FREQ', ['FREQ', '77']],
    ] as const) {
      const d = tmp();
      const r = await startRedis(['--dir', d, '--dbfilename', 'dump.rdb', '--maxmemory-policy', policy]);
      const rc = new Redis({ port: r.port, host: '127.0.0.1' });
      try {
        await rc.set('seed', 'v');
        const payload = await rc.dumpBuffer('seed');
        await rc.call('RESTORE', 'aged', '0', payload, ...set);
        await rc.set('fresh', 'v');
        await rc.save();
      } finally {
        rc.disconnect();
        r.stop();
      }
      const s = await start(['--dir', d, '--dbfilename', 'dump.rdb', '--save', '', '--maxmemory-policy', policy]);
      const c = client(s.port);
      const aged = Number(await c.call('OBJECT', ask, 'aged'));
      const fresh = Number(await c.call('OBJECT', ask, 'fresh'));
      if (ask === 'IDLETIME') {
        expect(aged).toBeGreaterThanOrEqual(5000);
        expect(aged).toBeLessThan(5060);
        expect(fresh).toBeLessThan(60);
      } else {
        expect(aged).toBe(77);
        expect(fresh).toBeLessThan(77);
      }
    }
  });

  it('saves natively afterwards and boots from that snapshot, leaving the RDB file as it was', async () => {
    const dir = dirWith(rdbFile);
    const before = readFileSync(path.join(dir, 'dump.rdb'));
    let s = await start(['--dir', dir, '--dbfilename', 'dump.rdb', '--save', '']);
    let c = client(s.port);
    await c.set('str:int', 'changed after the migration');
    expect(await c.save()).toBe('OK');
    expect(readdirSync(dir).some((n) => n.endsWith('.manifest.json'))).toBe(true);
    await s.stop();
    s = await start(['--dir', dir, '--dbfilename', 'dump.rdb', '--save', '']);
    c = client(s.port);
    expect(await c.get('str:int')).toBe('changed after the migration');
    expect(s.logs.some((l) => l.msg === 'snapshot loaded')).toBe(true);
    expect(s.logs.some((l) => l.msg.includes('Redis RDB file'))).toBe(false);
    expect(readFileSync(path.join(dir, 'dump.rdb')).equals(before)).toBe(true);
  });

  it('loads a file written with rdbchecksum no (zero checksum)', async () => {
    const d = tmp();
    const o = await startRedis(['--dir', d, '--dbfilename', 'dump.rdb', '--rdbchecksum', 'no']);
    try {
      const r = client(o.port);
      await r.set('a', '1');
      await r.rpush('l', 'x', 'y');
      await r.save();
    } finally {
      o.stop();
    }
    const s = await start(['--dir', dirWith(path.join(d, 'dump.rdb')), '--dbfilename', 'dump.rdb', '--save', '']);
    const c = client(s.port);
    expect(await c.get('a')).toBe('1');
    expect(await c.lrange('l', 0, -1)).toEqual(['x', 'y']);
  });

  it('reads the encodings of older RDB versions as redis-server 7.0 does', async () => {
    // An RDB 9 file (Redis 6.2's) with ziplists, a zipmap, quicklist 1, linked lists, text scores, EXPIRETIME in seconds.
    const parts: Buffer[] = [Buffer.from('REDIS0009', 'latin1'), Buffer.from([250, 9]), Buffer.from('redis-ver'), Buffer.from([5]), Buffer.from('6.2.0'), Buffer.from([254, 0, 251, 20, 0])];
    for (const [k, p] of Object.entries(oldPayloads())) {
      const body = p.subarray(0, p.length - 10);
      parts.push(body.subarray(0, 1), Buffer.from([k.length]), Buffer.from(k, 'latin1'), body.subarray(1));
    }
    const inAnHour = Math.floor(Date.now() / 1000) + 3600;
    const exp = Buffer.alloc(5);
    exp[0] = 253;
    exp.writeInt32LE(inAnHour, 1);
    parts.push(exp, Buffer.from([0, 3]), Buffer.from('old'), Buffer.from([1]), Buffer.from('v'), Buffer.from([255]));
    const file = sealed(Buffer.concat(parts));
    const rd = tmp();
    writeFileSync(path.join(rd, 'dump.rdb'), file);
    const o = await startRedis(['--dir', rd, '--dbfilename', 'dump.rdb']);
    const s = await start(['--dir', dirWith(file), '--dbfilename', 'dump.rdb', '--save', '']);
    try {
      const r = client(o.port);
      const c = client(s.port);
      const keys = (await r.keys('*')).sort();
      expect(keys.length).toBe(Object.keys(oldPayloads()).length + 1);
      expect((await c.keys('*')).sort()).toEqual(keys);
      for (const k of keys) expect([k, await describeKey(c, k)]).toEqual([k, await describeKey(r, k)]);
      expect(await c.expiretime('old')).toBe(inAnHour);
    } finally {
      o.stop();
    }
  });

  it('a damaged file stops start-up under --snapshot_strict and names the damage', async () => {
    const file = readFileSync(rdbFile);
    const bad = Buffer.from(file);
    bad[Math.floor(bad.length / 2)] ^= 0x20;
    const s = await start(['--dir', dirWith(bad), '--dbfilename', 'dump.rdb', '--save', ''], true);
    const { code, text } = await exitLog(s);
    expect(code).not.toBe(0);
    expect(text).toMatch(/RDB file dump\.rdb .* cannot be loaded: RDB file (damaged|truncated) at byte \d+: .*Refusing to start \(--snapshot_strict\)/s);
  });

  it('a truncated file stops start-up under --snapshot_strict', async () => {
    const file = readFileSync(rdbFile);
    for (const cut of [5, 100, Math.floor(file.length * 0.7), file.length - 4]) {
      const s = await start(['--dir', dirWith(file.subarray(0, cut)), '--dbfilename', 'dump.rdb', '--save', ''], true);
      const { code, text } = await exitLog(s);
      expect([cut, code]).not.toEqual([cut, 0]);
      expect(text).toMatch(/cannot be loaded: (RDB file truncated at byte|RDB file damaged at byte 0: not an RDB file)/);
    }
  });

  it('without --snapshot_strict a damaged file starts the server empty and fenced: nothing saved over it', async () => {
    const file = readFileSync(rdbFile);
    const bad = Buffer.from(file);
    bad[bad.length - 3] ^= 1; // the checksum
    const s = await start(['--dir', dirWith(bad), '--dbfilename', 'dump.rdb', '--save', '', '--nosnapshot_strict']);
    const c = client(s.port);
    expect(await c.dbsize()).toBe(0);
    const info = await c.info('persistence');
    expect(info).toMatch(/snapshot_fenced:1/);
    expect(info).toMatch(/wrong RDB checksum/);
    await expect(c.save()).rejects.toThrow();
  });

  it('a module value or a duplicate key is refused with a clear message', async () => {
    const head = Buffer.from('REDIS0010\xfe\x00', 'latin1');
    const moduleId = Buffer.alloc(9);
    moduleId[0] = 0x81;
    // "ReJSON-RL" packed as Redis does, encoding version 3.
    const cset = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    let id = 0n;
    for (const ch of 'ReJSON-RL') id = (id << 6n) | BigInt(cset.indexOf(ch));
    moduleId.writeBigUInt64BE((id << 10n) | 3n, 1);
    const moduleFile = sealed(Buffer.concat([head, Buffer.from([7, 1]), Buffer.from('j'), moduleId, Buffer.from([255])]));
    let s = await start(['--dir', dirWith(moduleFile), '--dbfilename', 'dump.rdb', '--save', ''], true);
    let r = await exitLog(s);
    expect(r.code).not.toBe(0);
    expect(r.text).toContain("module type 'ReJSON-RL'");
    const dup = sealed(Buffer.concat([head, Buffer.from([0, 1]), Buffer.from('k'), Buffer.from([1]), Buffer.from('a'), Buffer.from([0, 1]), Buffer.from('k'), Buffer.from([1]), Buffer.from('b'), Buffer.from([255])]));
    s = await start(['--dir', dirWith(dup), '--dbfilename', 'dump.rdb', '--save', ''], true);
    r = await exitLog(s);
    expect(r.code).not.toBe(0);
    expect(r.text).toContain("key 'k' written twice in db 0");
  });

  it('keys in a database this server does not have stop start-up (--dbnum)', async () => {
    const s = await start(['--dir', dirWith(rdbFile), '--dbfilename', 'dump.rdb', '--save', '', '--dbnum', '4'], true);
    const r = await exitLog(s);
    expect(r.code).not.toBe(0);
    expect(r.text).toMatch(/has keys in db 5 but this server has 4 databases/);
  });
});
