/**
 * Boot: the newest complete snapshot is loaded before data commands are
 * served (-LOADING meanwhile), expired keys are dropped, and a damaged
 * newest snapshot is fatal under --snapshot_strict or falls back loudly to
 * the previous one without it; never an empty start while snapshots exist.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, unlinkSync, utimesSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import Redis from 'ioredis';
import { Keyspace } from '../src/keyspace/keyspace.js';
import { FileBackend } from '../src/storage/file.js';
import { RawClient, startServer, until, type TestServer } from './helpers/server.js';
import { readAll, writeSnapshotDir } from './helpers/snapshot.js';

// Servers and big keyspaces on a shared 2-core machine: generous limits, event-driven waits.
vi.setConfig({ testTimeout: 120_000 });

const servers: TestServer[] = [];
const dirs: string[] = [];
const clients: Redis[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.disconnect();
  for (const s of servers.splice(0)) await s.stop();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tmp(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'damselfly-boot-'));
  dirs.push(d);
  return d;
}

async function start(flags: string[], noWait = false): Promise<TestServer> {
  const s = await startServer(flags, { keepDir: true, noWait, waitFor: 'listening' });
  servers.push(s);
  return s;
}

async function ready(s: TestServer): Promise<void> {
  await s.waitForLog((l) => l.msg === 'ready to accept connections', 100_000);
}

function client(port: number, readyCheck = false): Redis {
  const c = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1, enableReadyCheck: readyCheck, retryStrategy: () => null });
  c.on('error', () => {});
  clients.push(c);
  return c;
}

function ksWith(entries: [string, string, number?][], dbs = 16): Keyspace {
  const ks = new Keyspace(dbs);
  for (const [k, v, exp] of entries) ks.dbs[0].set(k, v, false, exp);
  return ks;
}

let bigDir: string | null = null;
const FILLER = 'f'.repeat(40);
/** A 300k-key snapshot, made once and shared (servers started with --save '' never write to it). */
async function bigSnapshot(): Promise<string> {
  if (bigDir !== null) return bigDir;
  const dir = mkdtempSync(path.join(tmpdir(), 'damselfly-big-'));
  const ks = new Keyspace(16);
  const db = ks.dbs[0];
  for (let i = 0; i < 300_000; i++) db.set(`key:${i}`, FILLER + i);
  await writeSnapshotDir(ks, dir, 1);
  bigDir = dir;
  return dir;
}
afterAll(() => {
  if (bigDir !== null) rmSync(bigDir, { recursive: true, force: true });
});

function dataFile(dir: string, seq: number): string {
  const n = readdirSync(dir).find((f) => f.includes(`${String(seq).padStart(6, '0')}.`) && f.endsWith('.dfs'));
  return path.join(dir, n!);
}

/** Two snapshots: seq 1 with v=old, seq 2 with v=new. */
async function twoSnapshots(dir: string): Promise<void> {
  await writeSnapshotDir(ksWith([['v', 'old'], ['only-old', '1']]), dir, 1);
  await writeSnapshotDir(ksWith([['v', 'new']]), dir, 2);
}

describe('boot', () => {
  it('loads the newest snapshot and drops keys that expired meanwhile; TTLs survive a load and save', async () => {
    const dir = tmp();
    const now = Date.now();
    await writeSnapshotDir(ksWith([['stale', 'x']]), dir, 1);
    // 'gone' is alive when saved (even on a slow machine) and expired at boot.
    await writeSnapshotDir(ksWith([['gone', 'x', now + 2000], ['kept', 'y', now + 3_600_000], ['plain', 'z']]), dir, 2);
    while (Date.now() <= now + 2000) await new Promise((r) => setTimeout(r, 50));
    // Leftovers of a save interrupted longer ago than --snapshot_orphan_grace (6h): removed at boot, never loaded.
    const longAgo = new Date(Date.now() - 7 * 3600_000);
    for (const [n, text] of [['.dump-x-000009.0123456789ab.dfs.tmp', 'partial'], ['dump-x-000009.0123456789ab.dfs', 'renamed but never committed']]) {
      writeFileSync(path.join(dir, n), text);
      utimesSync(path.join(dir, n), longAgo, longAgo);
    }
    const s = await start(['--dir', dir, '--save', '']);
    await ready(s);
    await until(async () => readdirSync(dir).filter((n) => n.includes('000009')).length === 0, 'the leftovers to be collected');
    const c = client(s.port);
    expect(await c.get('gone')).toBeNull();
    expect(await c.get('kept')).toBe('y');
    expect(await c.get('plain')).toBe('z');
    expect(await c.get('stale')).toBeNull();
    expect(await c.dbsize()).toBe(2);
    const loaded = s.logs.find((l) => l.msg === 'snapshot loaded')!;
    expect(loaded).toMatchObject({ seq: 2, keys: 2, expiredDropped: 1 });
    // Save again: the TTL is the same absolute time.
    expect(await c.save()).toBe('OK');
    const be = new FileBackend(dir);
    const [m] = await be.list();
    expect(m.seq).toBe(3);
    const got = await readAll(await be.open(m), 16);
    expect(got[0].get('kept')!.exp).toBe(now + 3_600_000);
    expect(got[0].get('plain')!.exp).toBeNull();
  });

  it('answers -LOADING while a big snapshot loads, serves LASTSAVE, then the data', { timeout: 120_000 }, async () => {
    const filler = FILLER;
    const dir = await bigSnapshot();
    const s = await start(['--dir', dir, '--save', '']);
    const raw = await RawClient.connect(s.port);
    raw.write('GET key:7\r\nLASTSAVE\r\nSELECT 1\r\nSET a b\r\nSELECT 0\r\n');
    expect(await raw.readUntil('\r\n')).toBe('-LOADING Redis is loading the dataset in memory\r\n');
    expect(await raw.readUntil('\r\n')).toMatch(/^:\d+\r\n$/);
    expect(await raw.readUntil('\r\n')).toBe('+OK\r\n');
    expect(await raw.readUntil('\r\n')).toBe('-LOADING Redis is loading the dataset in memory\r\n');
    expect(await raw.readUntil('\r\n')).toBe('+OK\r\n');
    await ready(s);
    raw.write('GET key:7\r\n');
    expect(await raw.readUntil(`${filler}7\r\n`)).toBe(`$${filler.length + 1}\r\n${filler}7\r\n`);
    raw.close();
    // Progress was logged with keys, bytes, percent and rate, or the load was under a second.
    const progress = s.logs.filter((l) => l.msg === 'loading snapshot' && 'percent' in l);
    for (const p of progress) expect(p).toMatchObject({ keys: expect.any(Number), bytes: expect.any(Number), percent: expect.any(Number), keysPerSec: expect.any(Number) });
    expect(s.logs.find((l) => l.msg === 'snapshot loaded')).toMatchObject({ keys: 300_000 });
  });

  it('ioredis waits while loading:1 and then works', { timeout: 120_000 }, async (ctx) => {
    const dir = await bigSnapshot();
    const s = await start(['--dir', dir, '--save', '']);
    // The loader knows the total size once it has read the manifest: poll
    // (bounded) until it does, while the load is still going.
    let info = '';
    const deadline = Date.now() + 20_000;
    do {
      const probe = await RawClient.connect(s.port);
      probe.write('INFO persistence\r\n');
      const first = await probe.readUntil('\r\n');
      info = await probe.read(Number(first.slice(1, -2)) + 2);
      probe.close();
    } while (!/\r\nloading_total_bytes:[1-9]/.test(info) && /\r\nloading:1\r\n/.test(info) && Date.now() < deadline);
    // The state ioredis's ready check waits on.
    expect(info).toMatch(/\r\nloading:1\r\n/);
    expect(info).toMatch(/\r\nloading_eta_seconds:\d+\r\n/);
    expect(info).toMatch(/\r\nloading_total_bytes:[1-9]\d*\r\n/);
    const c = client(s.port, true);
    expect(await c.get('key:299999')).toBe(FILLER + '299999');
    expect(s.logs.some((l) => l.msg === 'ready to accept connections')).toBe(true);
  });

  it('a corrupt newest snapshot is fatal under --snapshot_strict, naming it and where', async () => {
    const dir = tmp();
    await twoSnapshots(dir);
    const f = dataFile(dir, 2);
    const b = readFileSync(f);
    b[b.length - 60] ^= 0xff;
    writeFileSync(f, b);
    const s = await start(['--dir', dir, '--snapshot_strict'], true);
    expect(await s.exited).not.toBe(0);
    const fatal = s.logs.find((l) => l.level === 60 && /000002/.test(l.msg));
    expect(fatal?.msg).toMatch(/snapshot dump-test-000002 \(seq 2\).*cannot be loaded: snapshot corrupt at byte \d+ \(frame \d+\)/);
    // Nothing was deleted or rewritten.
    expect(readdirSync(dir).filter((n) => n.endsWith('.manifest.json')).length).toBe(2);
  });

  it('without strict mode a truncated newest snapshot falls back to the previous one, loudly', async () => {
    const dir = tmp();
    await twoSnapshots(dir);
    const f = dataFile(dir, 2);
    truncateSync(f, statSync(f).size - 5);
    const s = await start(['--dir', dir, '--nosnapshot_strict']);
    await ready(s);
    const c = client(s.port);
    expect(await c.get('v')).toBe('old');
    expect(await c.get('only-old')).toBe('1');
    expect(s.logs.some((l) => l.level >= 50 && /IS UNREADABLE: snapshot truncated at byte/.test(l.msg))).toBe(true);
    expect(s.logs.some((l) => l.level >= 50 && /FELL BACK TO AN OLDER SNAPSHOT/.test(l.msg))).toBe(true);
    // The next save continues the sequence after the damaged one.
    await c.save();
    const seqs = (await new FileBackend(dir).list()).map((m) => m.seq);
    expect(seqs[0]).toBe(3);
  });

  it('a truncated newest snapshot is fatal by default (strict is the default)', async () => {
    const dir = tmp();
    await twoSnapshots(dir);
    truncateSync(dataFile(dir, 2), 100);
    const s = await start(['--dir', dir], true);
    expect(await s.exited).not.toBe(0);
    expect(s.logs.some((l) => l.level === 60 && /truncated/.test(l.msg))).toBe(true);
  });

  it('never saves over unread snapshots: all unreadable without strict serves empty but fenced', async () => {
    // The boot table (S3 issue): corrupt and no complete snapshot left -> fenced, not fatal, when not strict.
    const dir = tmp();
    await twoSnapshots(dir);
    unlinkSync(dataFile(dir, 2));
    truncateSync(dataFile(dir, 1), 20);
    const before = readdirSync(dir).sort();
    const s = await start(['--dir', dir, '--nosnapshot_strict']);
    await ready(s);
    const c = client(s.port);
    expect(await c.dbsize()).toBe(0);
    expect(await c.call('config', 'get', 'snapshot-fence')).toEqual(['snapshot-fence', 'yes']);
    await expect(c.save()).rejects.toThrow(/snapshots are fenced \(damaged: .*CONFIG SET snapshot-fence no/);
    await expect(c.bgsave()).rejects.toThrow(/snapshots are fenced/);
    expect(readdirSync(dir).sort()).toEqual(before);
  });

  it('a damaged manifest is fatal under strict and skipped loudly without it', async () => {
    const dir = tmp();
    await twoSnapshots(dir);
    const man = readdirSync(dir).find((n) => n.endsWith('000002.manifest.json'))!;
    writeFileSync(path.join(dir, man), '{"format":1,"id":');
    const s = await start(['--dir', dir], true);
    expect(await s.exited).not.toBe(0);
    expect(s.logs.some((l) => l.level === 60 && /damaged snapshot manifest/.test(l.msg) && l.msg.includes(man))).toBe(true);
    const s2 = await start(['--dir', dir, '--nosnapshot_strict']);
    await ready(s2);
    expect(s2.logs.some((l) => l.level >= 50 && /IGNORING damaged snapshot manifest/.test(l.msg))).toBe(true);
    expect(await client(s2.port).get('v')).toBe('old');
  });

  it('refuses a snapshot with keys in a db this server does not have', async () => {
    const dir = tmp();
    const ks = new Keyspace(16);
    ks.dbs[9].set('k', 'v');
    await writeSnapshotDir(ks, dir, 1);
    const s = await start(['--dir', dir, '--dbnum', '4', '--nosnapshot_strict'], true);
    expect(await s.exited).not.toBe(0);
    expect(s.logs.some((l) => l.level === 60 && /db 9 but this server has 4 databases/.test(l.msg))).toBe(true);
  });
});
