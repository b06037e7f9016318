/**
 * Persistence over real TCP against the real server: SAVE, BGSAVE,
 * LASTSAVE, INFO persistence, retention, failed saves and MISCONF, save
 * rules and cron, the final save on SIGTERM and SHUTDOWN, and restarts.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import Redis from 'ioredis';
import { RawClient, startServer, type TestServer } from './helpers/server.js';

// Servers and big keyspaces on a shared 2-core machine: generous limits, event-driven waits.
vi.setConfig({ testTimeout: 120_000 });

const servers: TestServer[] = [];
const clients: Redis[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.disconnect();
  for (const s of servers.splice(0)) await s.stop();
});

async function start(flags: string[] = [], keepDir = false): Promise<TestServer> {
  const s = await startServer(flags, { keepDir });
  servers.push(s);
  await s.waitForLog((l) => l.msg === 'ready to accept connections', 100_000);
  return s;
}

function client(port: number): Redis {
  const c = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1, enableReadyCheck: false, retryStrategy: () => null });
  c.on('error', () => {});
  clients.push(c);
  return c;
}

function manifests(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => n.endsWith('.manifest.json') && !n.startsWith('.'))
    .sort();
}

async function until<T>(f: () => T | Promise<T>, what: string, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function fill(c: Redis, n: number, prefix = 'k'): Promise<void> {
  for (let i = 0; i < n; i += 5000) {
    const p = c.pipeline();
    for (let j = i; j < Math.min(n, i + 5000); j++) p.set(`${prefix}:${j}`, `value:${j}`);
    await p.exec();
  }
}

/** INFO is served by another module: skip the checks that need it if absent. */
function infoField(info: string, field: string): string | undefined {
  const m = new RegExp(`^${field}:(.*)$`, 'm').exec(info.replace(/\r/g, ''));
  return m?.[1];
}

const BIN_KEY = Buffer.from([0, 1, 2, 0xff, 0xfe, 13, 10, 0x80]);
const BIN_VAL = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

describe('SAVE, BGSAVE, LASTSAVE', () => {
  it('SAVE replies once the snapshot is committed, and a restart loads it binary-safe', async () => {
    const s = await start([], true);
    const c = client(s.port);
    await c.set(BIN_KEY, BIN_VAL);
    await c.set('plain', 'hello');
    const before = await c.lastsave();
    expect(manifests(s.dir)).toEqual([]);
    expect(await c.save()).toBe('OK');
    // Committed when SAVE answered: manifest present, no temp files.
    const ms = manifests(s.dir);
    expect(ms.length).toBe(1);
    expect(readdirSync(s.dir).filter((n) => n.startsWith('.'))).toEqual([]);
    const m = JSON.parse(readFileSync(path.join(s.dir, ms[0]), 'utf8'));
    expect(m).toMatchObject({ format: 1, seq: 1, keys: expect.arrayContaining([2]) });
    expect(ms[0]).toMatch(/^dump-\d{4}-\d\d-\d\dT/);
    expect(await c.lastsave()).toBeGreaterThanOrEqual(before);
    await c.set('after-save', 'not saved');
    c.disconnect();
    await s.stop();

    const s2 = await start(['--dir', s.dir, '--save', '']);
    const c2 = client(s2.port);
    expect(await c2.getBuffer(BIN_KEY)).toEqual(BIN_VAL);
    expect(await c2.get('plain')).toBe('hello');
    expect(await c2.get('after-save')).toBeNull();
    rmSync(s.dir, { recursive: true, force: true });
  });

  it('BGSAVE starts in the background and refuses a second one while running', async () => {
    const s = await start();
    const c = client(s.port);
    // One pipeline is served in one go: the first save cannot be over yet.
    await fill(c, 1000);
    const raw = await RawClient.connect(s.port);
    raw.write('BGSAVE\r\nBGSAVE\r\nSAVE\r\nBGSAVE SCHEDULE\r\nLASTSAVE\r\n');
    expect(await raw.readUntil('\r\n')).toBe('+Background saving started\r\n');
    expect(await raw.readUntil('\r\n')).toBe('-ERR Background save already in progress\r\n');
    expect(await raw.readUntil('\r\n')).toBe('-ERR Background save already in progress\r\n');
    expect(await raw.readUntil('\r\n')).toBe('-ERR Background save already in progress\r\n');
    expect(await raw.readUntil('\r\n')).toMatch(/^:\d+\r\n$/);
    raw.write('BGSAVE NOW\r\n');
    expect(await raw.readUntil('\r\n')).toBe('-ERR syntax error\r\n');
    raw.close();
    await until(() => manifests(s.dir).length === 1, 'the background snapshot');
    // The manifest is on disk a moment before the save is reported over.
    await until(async () => (await c.bgsave().catch(() => null)) === 'Background saving started', 'a second BGSAVE');
    await until(() => manifests(s.dir).length === 2, 'the second background snapshot');
  });

  it('INFO persistence reports the saves with Redis field names', async (ctx) => {
    const s = await start();
    const c = client(s.port);
    await c.set('a', '1');
    let info = await c.info('persistence');
    expect(infoField(info, 'loading')).toBe('0');
    expect(infoField(info, 'async_loading')).toBe('0');
    expect(infoField(info, 'rdb_changes_since_last_save')).toBe('1');
    expect(infoField(info, 'rdb_bgsave_in_progress')).toBe('0');
    expect(infoField(info, 'rdb_last_bgsave_status')).toBe('ok');
    expect(infoField(info, 'rdb_saves')).toBe('0');
    expect(infoField(info, 'rdb_current_bgsave_time_sec')).toBe('-1');
    await c.save();
    info = await c.info('persistence');
    expect(infoField(info, 'rdb_changes_since_last_save')).toBe('0');
    expect(infoField(info, 'rdb_saves')).toBe('1');
    expect(Number(infoField(info, 'rdb_last_save_time'))).toBe(await c.lastsave());
    // Redis sets it for background saves only.
    expect(infoField(info, 'rdb_last_bgsave_time_sec')).toBe('-1');
    expect(infoField(info, 'snapshot_location')).toBe('file://' + path.resolve(s.dir));
    expect(infoField(info, 'snapshot_last_keys')).toBe('1');
    expect(Number(infoField(info, 'snapshot_last_size'))).toBeGreaterThan(0);
  });
});

describe('retention and failures', () => {
  it('keeps the newest --snapshot_keep snapshots, deleting older ones only after a newer commit', async () => {
    const s = await start(['--snapshot_keep', '2']);
    const c = client(s.port);
    for (let i = 0; i < 4; i++) {
      await c.set('n', String(i));
      await c.save();
      await until(() => manifests(s.dir).length <= 2, 'retention');
    }
    const ms = manifests(s.dir).map((n) => JSON.parse(readFileSync(path.join(s.dir, n), 'utf8')).seq);
    expect(ms.sort()).toEqual([3, 4]);
    // Data files of deleted snapshots are gone too.
    await until(() => readdirSync(s.dir).filter((n) => n.endsWith('.dfs')).length === 2, 'old data files deleted');
  });

  it('a save that hits the file size limit fails cleanly, MISCONF blocks writes until a save succeeds', async () => {
    const s = await start();
    const c = client(s.port);
    await c.set('first', 'x');
    expect(await c.save()).toBe('OK');
    const good = manifests(s.dir);
    await fill(c, 20_000);
    execFileSync('prlimit', ['--pid', String(s.pid), '--fsize=65536:']);
    // A background save: a failed SAVE answers -ERR but sets no MISCONF (Redis).
    expect(await c.bgsave()).toBe('Background saving started');
    await until(() => s.logs.some((l) => l.msg === 'snapshot failed'), 'the failed save');
    await until(async () => infoField(await c.info('persistence'), 'rdb_bgsave_in_progress') === '0', 'the save to end');
    // Earlier snapshot intact, nothing half-written left behind.
    expect(manifests(s.dir)).toEqual(good);
    expect(readdirSync(s.dir).filter((n) => n.startsWith('.'))).toEqual([]);
    await expect(c.set('k', 'v')).rejects.toThrow(/^MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk\. Commands that may modify the data set are disabled/);
    await expect(c.ping()).rejects.toThrow(/^MISCONF/);
    expect(await c.get('first')).toBe('x');
    expect(s.logs.some((l) => l.msg === 'snapshot failed')).toBe(true);
    execFileSync('prlimit', ['--pid', String(s.pid), '--fsize=unlimited:']);
    expect(await c.bgsave()).toBe('Background saving started');
    await until(() => manifests(s.dir).length === 2, 'a good snapshot');
    await until(async () => (await c.set('k', 'v').catch(() => null)) === 'OK', 'writes allowed again');
  });

  it('a data folder replaced by a file fails the save; stop-writes-on-bgsave-error no keeps writes open', async () => {
    const s = await start();
    const c = client(s.port);
    await c.set('a', '1');
    rmSync(s.dir, { recursive: true });
    writeFileSync(s.dir, 'not a folder');
    expect(await c.bgsave()).toBe('Background saving started');
    await until(async () => (await c.set('b', '2').catch((e: Error) => e.message)).startsWith('MISCONF'), 'MISCONF');
    expect(await c.config('SET', 'stop-writes-on-bgsave-error', 'no')).toBe('OK');
    expect(await c.set('b', '2')).toBe('OK');
    expect(await c.config('SET', 'stop-writes-on-bgsave-error', 'yes')).toBe('OK');
    await expect(c.set('b', '3')).rejects.toThrow(/^MISCONF/);
    // With no save rules Redis does not deny writes either.
    expect(await c.config('SET', 'save', '')).toBe('OK');
    expect(await c.set('b', '4')).toBe('OK');
    rmSync(s.dir, { force: true });
  });
});

describe('scheduling', () => {
  it('save rules trigger a background save when enough changes happened', async () => {
    const s = await start(['--save', '']);
    const c = client(s.port);
    await c.set('a', '1');
    await new Promise((r) => setTimeout(r, 1200));
    expect(manifests(s.dir)).toEqual([]);
    expect(await c.config('SET', 'save', '1 2')).toBe('OK');
    expect(await c.config('GET', 'save')).toEqual(['save', '1 2']);
    await c.set('b', '2');
    await until(() => manifests(s.dir).length === 1, 'a save triggered by the rule');
    expect(s.logs.some((l) => /2 changes in 1 seconds\. Saving\.\.\./.test(l.msg))).toBe(true);
    await expect(c.config('SET', 'save', '10')).rejects.toThrow(/Invalid save parameters/);
  });

  it('--snapshot_cron saves on its schedule', async () => {
    const s = await start(['--save', '', '--snapshot_cron', '* * * * * *']);
    const c = client(s.port);
    await c.set('a', '1');
    await until(() => manifests(s.dir).length >= 2, 'two cron snapshots');
    await expect(c.config('SET', 'snapshot_cron', 'not a cron')).rejects.toThrow(/invalid cron expression/);
  });
});

describe('shutdown', () => {
  it('SIGTERM saves a final snapshot when save rules are set, and the restart has the data', async () => {
    const s = await start([], true);
    const c = client(s.port);
    await c.set('final', 'yes');
    s.proc.kill('SIGTERM');
    expect(await s.exited).toBe(0);
    expect(manifests(s.dir).length).toBe(1);
    const s2 = await start(['--dir', s.dir, '--save', ''], true);
    const c2 = client(s2.port);
    expect(await c2.get('final')).toBe('yes');
    await c2.set('lost', 'on purpose');
    s2.proc.kill('SIGINT');
    expect(await s2.exited).toBe(0);
    // No save rules: no final snapshot.
    expect(manifests(s.dir).length).toBe(1);
    rmSync(s.dir, { recursive: true, force: true });
  });

  it('SIGTERM with a failing final save stays up', async () => {
    const s = await start();
    const c = client(s.port);
    await c.set('a', '1');
    rmSync(s.dir, { recursive: true });
    writeFileSync(s.dir, 'blocked');
    s.proc.kill('SIGTERM');
    await s.waitForLog((l) => /shutdown refused/.test(l.msg) || /errors trying to shut down/.test(l.msg));
    expect(await c.get('a')).toBe('1');
    rmSync(s.dir, { force: true });
  });

  it('SHUTDOWN SAVE, NOSAVE and FORCE', async (ctx) => {
    const s = await start(['--save', ''], true);
    const c = client(s.port);
    await c.set('a', '1');
    // A failing save refuses SHUTDOWN SAVE...
    const real = s.dir;
    const moved = real + '.moved';
    execFileSync('mv', [real, moved]);
    writeFileSync(real, 'blocked');
    await expect(c.call('SHUTDOWN', 'SAVE')).rejects.toThrow(/Errors trying to SHUTDOWN/);
    expect(await c.get('a')).toBe('1');
    // ...unless FORCE.
    const raw = await RawClient.connect(s.port);
    raw.write('SHUTDOWN SAVE FORCE\r\n');
    expect(await s.exited).toBe(0);
    raw.close();
    rmSync(real, { force: true });
    execFileSync('mv', [moved, real]);
    expect(manifests(real)).toEqual([]);

    const s2 = await start(['--dir', real], true);
    const c2 = client(s2.port);
    await c2.set('b', '2');
    const raw2 = await RawClient.connect(s2.port);
    raw2.write('SHUTDOWN NOSAVE\r\n');
    expect(await s2.exited).toBe(0);
    raw2.close();
    expect(manifests(real)).toEqual([]);

    const s3 = await start(['--dir', real, '--save', ''], true);
    const c3 = client(s3.port);
    await c3.set('c', '3');
    const raw3 = await RawClient.connect(s3.port);
    raw3.write('SHUTDOWN SAVE\r\n');
    expect(await s3.exited).toBe(0);
    raw3.close();
    expect(manifests(real).length).toBe(1);
    rmSync(real, { recursive: true, force: true });
  });
});

export const _unused = { mkdtempSync, tmpdir, existsSync };
