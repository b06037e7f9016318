/**
 * Export back to Redis, and conversion without a server: `damselfly rdb
 * export` writes the newest snapshot as an RDB file that the real
 * redis-server 7.0 loads (every type and encoding, several databases,
 * TTLs, function libraries), and `damselfly rdb import` turns redis-server's
 * RDB file into a snapshot a server here boots from.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import Redis from 'ioredis';
import { MAIN, startServer, type TestServer } from './helpers/server.js';
import { startRedis, type Oracle } from './helpers/redis-oracle.js';
import { describeKey, fillFixture, FIXTURE_ENCODINGS, sameEncodingConfig } from './helpers/rdb-fixtures.js';

vi.setConfig({ testTimeout: 120_000 });

const dirs: string[] = [];
const servers: TestServer[] = [];
const oracles: Oracle[] = [];
const clients: Redis[] = [];

function tmp(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'damselfly-rdbx-'));
  dirs.push(d);
  return d;
}

function client(port: number): Redis {
  const c = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1, retryStrategy: () => null });
  c.on('error', () => {});
  clients.push(c);
  return c;
}

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, 'rdb', ...args], (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.disconnect();
  for (const s of servers.splice(0)) await s.stop();
  for (const o of oracles.splice(0)) o.stop();
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const LIB = "#!lua name=xlib\nredis.register_function('xfunc', function(keys, args) return 'exported' end)";

async function fillAll(c: Redis): Promise<void> {
  await sameEncodingConfig(c);
  await fillFixture(c);
  await c.set('ttl:later', 'v', 'EX', 3600);
  await c.set('big', 'x'.repeat(1_000_000));
  await c.select(9);
  await c.set('nine', '9');
  await c.sadd('nine:set', 'a', 'b');
  await c.select(0);
  await c.call('FUNCTION', 'LOAD', LIB);
}

async function sameData(a: Redis, b: Redis): Promise<void> {
  for (const db of [0, 9]) {
    await a.select(db);
    await b.select(db);
    const keys = (await a.keys('*')).sort();
    expect((await b.keys('*')).sort()).toEqual(keys);
    for (const k of keys) expect([db, k, await describeKey(b, k)]).toEqual([db, k, await describeKey(a, k)]);
  }
  await a.select(0);
  await b.select(0);
  expect(Math.abs((await b.pexpiretime('ttl:later')) - (await a.pexpiretime('ttl:later')))).toBe(0);
  expect(await b.call('FCALL', 'xfunc', 0)).toBe('exported');
}

describe('damselfly rdb export', () => {
  it('writes the newest snapshot as an RDB file redis-server 7.0 loads, identical key by key', async () => {
    const dir = tmp();
    const s = await startServer(['--dir', dir, '--save', ''], { keepDir: true });
    servers.push(s);
    const here = client(s.port);
    await fillAll(here);
    expect(await here.save()).toBe('OK');
    const out = tmp();
    const r = await cli('export', path.join(out, 'dump.rdb'), '--dir', dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^exported snapshot .* 1 function libraries, \d+ bytes in /);
    const o = await startRedis(['--dir', out, '--dbfilename', 'dump.rdb']);
    oracles.push(o);
    const redis = client(o.port);
    await sameEncodingConfig(redis);
    for (const k of Object.keys(FIXTURE_ENCODINGS)) expect([k, await redis.call('OBJECT', 'ENCODING', k)]).toEqual([k, FIXTURE_ENCODINGS[k]]);
    await sameData(here, redis);
  });

  it('with rdbchecksum no writes a zero checksum, which redis-server accepts', async () => {
    const dir = tmp();
    const s = await startServer(['--dir', dir, '--save', ''], { keepDir: true });
    servers.push(s);
    const here = client(s.port);
    await here.set('k', 'v');
    await here.save();
    const out = tmp();
    const r = await cli('export', path.join(out, 'dump.rdb'), '--dir', dir, '--nordbchecksum');
    expect(r.code).toBe(0);
    const file = readFileSync(path.join(out, 'dump.rdb'));
    expect(file.subarray(file.length - 8).equals(Buffer.alloc(8))).toBe(true);
    const o = await startRedis(['--dir', out, '--dbfilename', 'dump.rdb']);
    oracles.push(o);
    expect(await client(o.port).get('k')).toBe('v');
  });

  it('says what is wrong when there is nothing to export or the arguments are wrong', async () => {
    const empty = tmp();
    let r = await cli('export', path.join(empty, 'x.rdb'), '--dir', empty);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no snapshot in file://');
    r = await cli('export', '--dir', empty);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('export takes one RDB file');
    r = await cli('bogus');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown subcommand bogus');
  });
});

describe('damselfly rdb import', () => {
  it('turns redis-server\'s RDB file into a snapshot a server boots from', async () => {
    const rd = tmp();
    const o = await startRedis(['--dir', rd, '--dbfilename', 'dump.rdb']);
    oracles.push(o);
    const redis = client(o.port);
    await fillAll(redis);
    await redis.save();
    const dir = tmp();
    const r = await cli('import', path.join(rd, 'dump.rdb'), '--dir', dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/as snapshot .* \(seq 1\) in file:\/\//);
    const s = await startServer(['--dir', dir, '--save', ''], { keepDir: true });
    servers.push(s);
    const here = client(s.port);
    expect(s.logs.some((l) => l.msg === 'snapshot loaded')).toBe(true);
    await sameData(redis, here);
  });

  it('refuses a damaged RDB file and writes no snapshot', async () => {
    const rd = tmp();
    const o = await startRedis(['--dir', rd, '--dbfilename', 'dump.rdb']);
    oracles.push(o);
    const redis = client(o.port);
    await redis.set('a', 'b'.repeat(100));
    await redis.save();
    const bad = path.join(rd, 'bad.rdb');
    const file = readFileSync(path.join(rd, 'dump.rdb'));
    file[file.length - 12] ^= 0xff;
    (await import('node:fs')).writeFileSync(bad, file);
    const dir = tmp();
    const r = await cli('import', bad, '--dir', dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/RDB file (damaged|truncated) at byte \d+/);
    expect((await import('node:fs')).readdirSync(dir)).toEqual([]);
  });
});
