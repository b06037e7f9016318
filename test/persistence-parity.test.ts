/**
 * Redis 7.0 persistence details over real TCP: FLUSHALL cancels a background
 * save and saves the empty dataset when save rules are set; a failed SAVE
 * does not set MISCONF (only a failed background save does) and a good one
 * clears it; DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE].
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import Redis from 'ioredis';
import { RawClient, startServer, until, type TestServer } from './helpers/server.js';

vi.setConfig({ testTimeout: 120_000 });

const servers: TestServer[] = [];
const clients: Redis[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.disconnect();
  for (const s of servers.splice(0)) await s.stop();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function start(flags: string[] = [], keepDir = false): Promise<TestServer> {
  const s = await startServer(flags, { keepDir });
  servers.push(s);
  if (keepDir && s.dir) dirs.push(s.dir);
  return s;
}

function client(port: number): Redis {
  const c = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1, enableReadyCheck: false, retryStrategy: () => null });
  c.on('error', () => {});
  clients.push(c);
  return c;
}

function manifests(dir: string): { seq: number; keys: number[]; dataName: string }[] {
  return readdirSync(dir)
    .filter((n) => n.endsWith('.manifest.json') && !n.startsWith('.'))
    .map((n) => JSON.parse(readFileSync(path.join(dir, n), 'utf8')))
    .sort((a, b) => a.seq - b.seq);
}

const total = (m: { keys: number[] }) => m.keys.reduce((a, b) => a + b, 0);

function infoField(info: string, field: string): string | undefined {
  return new RegExp(`^${field}:(.*)$`, 'm').exec(info.replace(/\r/g, ''))?.[1];
}

async function field(c: Redis, name: string): Promise<string | undefined> {
  return infoField(await c.info('persistence'), name);
}

async function fill(c: Redis, n: number, prefix = 'k'): Promise<void> {
  for (let i = 0; i < n; i += 5000) {
    const p = c.pipeline();
    for (let j = i; j < Math.min(n, i + 5000); j++) p.set(`${prefix}:${j}`, `value:${j}`);
    await p.exec();
  }
}

/** BGSAVE then FLUSHALL in one write: both run in one go, so the save is still running when FLUSHALL does. */
async function bgsaveThenFlushall(port: number): Promise<void> {
  const raw = await RawClient.connect(port);
  raw.write('BGSAVE\r\nFLUSHALL\r\n');
  expect(await raw.readUntil('\r\n', 60_000)).toBe('+Background saving started\r\n');
  expect(await raw.readUntil('\r\n', 60_000)).toBe('+OK\r\n');
  raw.close();
}

describe('FLUSHALL and saving', () => {
  it('with save rules, FLUSHALL saves the empty dataset before answering: a restart does not bring the keys back', async () => {
    const s = await start(['--save', '3600 1'], true);
    const c = client(s.port);
    await fill(c, 100);
    expect(await c.save()).toBe('OK');
    await c.set('after-save', 'x');
    expect(await c.flushall()).toBe('OK');
    // Durable when answered.
    const ms = manifests(s.dir);
    expect(ms.map(total)).toEqual([100, 0]);
    expect(await field(c, 'rdb_changes_since_last_save')).toBe('0');
    // SIGKILL: no shutdown save can hide a missing FLUSHALL save.
    await s.stop();
    const s2 = await start(['--dir', s.dir, '--save', '']);
    const c2 = client(s2.port);
    expect(await c2.dbsize()).toBe(0);
  });

  it('FLUSHALL ASYNC saves too, and a MULTI with FLUSHALL saves the state right after the flush', async () => {
    const s = await start(['--save', '3600 1']);
    const c = client(s.port);
    await c.set('a', '1');
    expect(await c.call('FLUSHALL', 'ASYNC')).toBe('OK');
    expect(manifests(s.dir).map(total)).toEqual([0]);
    await c.set('b', '1');
    expect(await c.multi().flushall().set('c', '1').exec()).toEqual([
      [null, 'OK'],
      [null, 'OK'],
    ]);
    await until(async () => manifests(s.dir).length === 2, 'the save started by FLUSHALL in EXEC', 30_000);
    expect(manifests(s.dir).map(total)).toEqual([0, 0]);
    expect(await c.get('c')).toBe('1');
  });

  it('without save rules FLUSHALL does not save and the dirty counter keeps the flushed keys (Redis other.tcl)', async () => {
    const s = await start(['--save', '']);
    const c = client(s.port);
    await c.set('key', 'value');
    expect(await c.flushall()).toBe('OK');
    expect(Number(await field(c, 'rdb_changes_since_last_save'))).toBeGreaterThan(0);
    expect(manifests(s.dir)).toEqual([]);
  });

  it('FLUSHALL cancels a running BGSAVE: nothing of it is committed or left behind, no error status, the earlier snapshot stays', async () => {
    const s = await start(['--save', ''], true);
    const c = client(s.port);
    await c.set('kept', 'from SAVE');
    expect(await c.save()).toBe('OK');
    await fill(c, 50_000);
    await bgsaveThenFlushall(s.port);
    await s.waitForLog((l) => l.msg === 'snapshot cancelled', 60_000);
    await until(async () => (await field(c, 'rdb_bgsave_in_progress')) === '0', 'the cancelled save to end', 30_000);
    expect(manifests(s.dir).map((m) => [m.seq, total(m)])).toEqual([[1, 1]]);
    // Only the SAVE's data file: the cancelled one's partial data is gone.
    await until(async () => readdirSync(s.dir).filter((n) => !n.endsWith('.manifest.json')).length === 1, 'no leftovers', 30_000);
    expect(s.logs.some((l) => l.msg === 'snapshot failed')).toBe(false);
    expect(await field(c, 'rdb_last_bgsave_status')).toBe('ok');
    expect(await c.set('w', '1')).toBe('OK');
    // A later BGSAVE works.
    expect(await c.bgsave()).toBe('Background saving started');
    await until(async () => manifests(s.dir).length === 2, 'the next BGSAVE', 30_000);
    await s.stop();
    const s2 = await start(['--dir', s.dir, '--save', '']);
    expect(await client(s2.port).get('w')).toBe('1');
  });

  it('with save rules, FLUSHALL during a BGSAVE cancels it and commits only the empty dataset', async () => {
    const s = await start(['--save', '3600 1']);
    const c = client(s.port);
    await fill(c, 50_000);
    await bgsaveThenFlushall(s.port);
    // FLUSHALL answered after its own save: the cancelled seq 1 never committed.
    expect(manifests(s.dir).map((m) => [m.seq, total(m)])).toEqual([[2, 0]]);
    expect(s.logs.some((l) => l.msg === 'snapshot cancelled')).toBe(true);
    expect(await field(c, 'rdb_last_bgsave_status')).toBe('ok');
  });
});

describe('SAVE and the save status', () => {
  it('a failed SAVE answers -ERR without setting MISCONF; a failed BGSAVE sets it; a good SAVE clears it', async () => {
    const s = await start();
    const c = client(s.port);
    await c.set('first', 'x');
    expect(await c.save()).toBe('OK');
    await fill(c, 20_000);
    execFileSync('prlimit', ['--pid', String(s.pid), '--fsize=65536:']);
    await expect(c.save()).rejects.toThrow(/^ERR$/);
    expect(await field(c, 'rdb_last_bgsave_status')).toBe('ok');
    expect(await c.set('k', 'v')).toBe('OK');
    expect(await field(c, 'rdb_saves')).toBe('2');
    expect(await c.bgsave()).toBe('Background saving started');
    await until(async () => (await field(c, 'rdb_last_bgsave_status')) === 'err', 'the BGSAVE to fail', 30_000);
    await expect(c.set('k', 'v')).rejects.toThrow(/^MISCONF/);
    execFileSync('prlimit', ['--pid', String(s.pid), '--fsize=unlimited:']);
    expect(await c.save()).toBe('OK');
    expect(await field(c, 'rdb_last_bgsave_status')).toBe('ok');
    expect(await c.set('k', 'v')).toBe('OK');
    expect(manifests(s.dir).length).toBe(2);
  });
});

describe('SAVE runs in the foreground for other clients', () => {
  it('during a SAVE another client sees no bgsave in progress, and its BGSAVE waits for the SAVE instead of failing', async () => {
    const s = await start(['--save', '', '--enable-debug-command', 'yes']);
    const c = client(s.port);
    expect(await c.call('DEBUG', 'POPULATE', '500000')).toBe('OK');
    const saver = client(s.port);
    const saved = saver.save();
    let info = '';
    for (const deadline = Date.now() + 30_000; ; ) {
      info = await c.info('persistence');
      if (Number(infoField(info, 'current_save_keys_total')) > 0) break;
      if (Date.now() > deadline) throw new Error('never saw the SAVE running');
    }
    expect(infoField(info, 'rdb_bgsave_in_progress')).toBe('0');
    expect(infoField(info, 'rdb_current_bgsave_time_sec')).toBe('-1');
    expect(await c.bgsave()).toBe('Background saving started');
    expect(await saved).toBe('OK');
    await until(async () => manifests(s.dir).length === 2, 'the BGSAVE after the SAVE', 60_000);
  });
});

describe('SHUTDOWN and a running BGSAVE', () => {
  it('SHUTDOWN cancels a background save, as Redis kills its child: only the final snapshot is committed', async () => {
    const s = await start(['--save', '3600 1'], true);
    const c = client(s.port);
    await fill(c, 20_000);
    const raw = await RawClient.connect(s.port);
    // One write: the BGSAVE is still running when SHUTDOWN runs.
    raw.write('BGSAVE\r\nSHUTDOWN\r\n');
    expect(await raw.readUntil('\r\n', 60_000)).toBe('+Background saving started\r\n');
    expect(await s.exited).toBe(0);
    raw.close();
    // Waiting for the BGSAVE instead would have committed it too (two snapshots).
    expect(manifests(s.dir).map(total)).toEqual([20_000]);
    // Nothing of the cancelled save is left: one data file, no temporary ones.
    expect(readdirSync(s.dir).filter((n) => !n.endsWith('.manifest.json'))).toEqual([manifests(s.dir)[0].dataName]);
    const s2 = await start(['--dir', s.dir, '--save', '']);
    expect(await client(s2.port).dbsize()).toBe(20_000);
  });
});

describe('DEBUG RELOAD', () => {
  const flags = ['--save', '', '--enable-debug-command', 'yes'];

  it('saves, empties and loads back every type, TTLs, binary keys and all dbs', async () => {
    const s = await start(flags);
    const c = client(s.port);
    const bin = Buffer.from([0, 0xff, 13, 10, 0x80]);
    await c.set(bin, bin);
    await c.rpush('l', 'a', 'b', 'c');
    await c.sadd('s', 'x', 'y');
    await c.hset('h', 'f', 'v');
    await c.zadd('z', 1.5, 'm');
    await c.set('ttl', '1', 'EX', 1000);
    await c.select(3);
    await c.set('in3', 'yes');
    await c.select(0);
    expect(await c.call('DEBUG', 'RELOAD')).toBe('OK');
    expect(await c.getBuffer(bin)).toEqual(bin);
    expect(await c.lrange('l', 0, -1)).toEqual(['a', 'b', 'c']);
    expect((await c.smembers('s')).sort()).toEqual(['x', 'y']);
    expect(await c.hgetall('h')).toEqual({ f: 'v' });
    expect(await c.zscore('z', 'm')).toBe('1.5');
    expect(await c.ttl('ttl')).toBeGreaterThan(900);
    expect(await c.dbsize()).toBe(6);
    await c.select(3);
    expect(await c.get('in3')).toBe('yes');
    expect(manifests(s.dir).map(total)).toEqual([7]);
    expect(await field(c, 'rdb_changes_since_last_save')).toBe('0');
    expect(await field(c, 'rdb_last_load_keys_loaded')).toBe('7');
    await expect(c.call('DEBUG', 'RELOAD', 'FAST')).rejects.toThrow('ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.');
  });

  it('NOSAVE loads the newest snapshot; NOFLUSH adds to the dataset; MERGE lets the snapshot win; a conflict without MERGE changes nothing', async () => {
    const s = await start(flags);
    const c = client(s.port);
    await expect(c.call('DEBUG', 'RELOAD', 'NOSAVE')).rejects.toThrow(/^ERR Error trying to load the RDB dump$/);
    await c.set('a', 'saved');
    expect(await c.save()).toBe('OK');
    await c.set('a', 'changed');
    await c.set('b', 'new');
    expect(await c.call('DEBUG', 'RELOAD', 'NOSAVE')).toBe('OK');
    expect(await c.mget('a', 'b')).toEqual(['saved', null]);
    expect(manifests(s.dir).length).toBe(1);

    await c.set('a', 'mine');
    await c.set('c', 'mine');
    await expect(c.call('DEBUG', 'RELOAD', 'NOSAVE', 'NOFLUSH')).rejects.toThrow(/^ERR Error trying to load the RDB dump$/);
    expect(await c.mget('a', 'c')).toEqual(['mine', 'mine']);
    expect(await c.call('DEBUG', 'RELOAD', 'nosave', 'noflush', 'merge')).toBe('OK');
    expect(await c.mget('a', 'c')).toEqual(['saved', 'mine']);
    await c.del('a');
    expect(await c.call('DEBUG', 'RELOAD', 'NOSAVE', 'NOFLUSH')).toBe('OK');
    expect(await c.mget('a', 'c')).toEqual(['saved', 'mine']);
  });

  it('a damaged snapshot is refused and the dataset stays as it was', async () => {
    const s = await start(flags);
    const c = client(s.port);
    await fill(c, 1000);
    expect(await c.save()).toBe('OK');
    const data = readdirSync(s.dir).find((n) => n.endsWith('.dfs'))!;
    const p = path.join(s.dir, data);
    const buf = readFileSync(p);
    buf[Math.floor(buf.length / 2)] ^= 0xff;
    writeFileSync(p, buf);
    await c.set('extra', '1');
    await expect(c.call('DEBUG', 'RELOAD', 'NOSAVE')).rejects.toThrow(/^ERR Error trying to load the RDB dump$/);
    expect(await c.dbsize()).toBe(1001);
    expect(await c.get('k:999')).toBe('value:999');
  });
});
