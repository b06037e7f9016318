/**
 * Local folder: nothing boot could not read is ever deleted automatically
 * (not by orphan collection, not by retention) until an operator removes it
 * with the snapshot CLI; strict refusals name the real cause; what crashed
 * saves leave is collected once older than --snapshot_orphan_grace, never
 * before; `damselfly snapshots ls|gc|rm` show and do the same.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import Redis from 'ioredis';
import { FileBackend } from '../src/storage/file.js';
import { MAIN, startServer, until, type TestServer } from './helpers/server.js';

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
  const d = mkdtempSync(path.join(tmpdir(), 'damselfly-kept-'));
  dirs.push(d);
  return d;
}

async function start(flags: string[], noWait = false): Promise<TestServer> {
  const s = await startServer(flags, { keepDir: true, noWait, waitFor: noWait ? undefined : 'ready' });
  servers.push(s);
  return s;
}

function client(s: TestServer): Redis {
  const c = new Redis({ port: s.port, host: '127.0.0.1', maxRetriesPerRequest: 1, enableReadyCheck: false, retryStrategy: () => null });
  c.on('error', () => {});
  clients.push(c);
  return c;
}

async function info(c: Redis): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const line of ((await c.info('persistence')) as string).split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, 'snapshots', ...args], { timeout: 150_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** Every file of the folder with its bytes. */
function contents(dir: string, names: string[]): Map<string, Buffer> {
  return new Map(names.map((n) => [n, readFileSync(path.join(dir, n))]));
}

/** A folder holding two snapshots saved by a real server: seq 1 (v=old), seq 2 (v=new). */
async function twoSaves(dir: string): Promise<void> {
  const s = await start(['--dir', dir, '--save', '']);
  const c = client(s);
  await c.set('v', 'old');
  await c.set('only-old', '1');
  expect(await c.save()).toBe('OK');
  await c.del('only-old');
  await c.set('v', 'new');
  expect(await c.save()).toBe('OK');
  c.disconnect();
  await s.stop();
}

function manifestOf(dir: string, seq: number): { name: string; json: Record<string, unknown> } {
  const name = readdirSync(dir).find((n) => n.endsWith(`-${String(seq).padStart(6, '0')}.manifest.json`))!;
  return { name, json: JSON.parse(readFileSync(path.join(dir, name), 'utf8')) };
}

/** Flip the lowest bit of one character of the manifest's dataName, in the file's own bytes (the JSON stays valid). */
function flipInDataName(dir: string, seq: number, pick: (dataName: string) => number): { manifest: string; data: string } {
  const { name, json } = manifestOf(dir, seq);
  const dataName = json.dataName as string;
  const p = path.join(dir, name);
  const raw = readFileSync(p);
  const at = raw.indexOf(Buffer.from(`"${dataName}"`)) + 1 + pick(dataName);
  raw[at] ^= 0x01;
  writeFileSync(p, raw);
  JSON.parse(raw.toString('utf8'));
  return { manifest: name, data: dataName };
}

/** Non-strict boot, then saves enough for retention (keep 2) to have deleted the unreadable snapshot many times over. */
async function fallBackAndSave(dir: string, kept: string[]): Promise<{ s: TestServer; c: Redis }> {
  const before = contents(dir, kept);
  // Grace 0: orphan collection would take an unnamed data object at once if it were not kept.
  const s = await start(['--dir', dir, '--save', '', '--nosnapshot_strict', '--snapshot_keep', '2', '--snapshot_orphan_grace', '0']);
  const c = client(s);
  expect(await c.get('v')).toBe('old');
  expect(await c.get('only-old')).toBe('1');
  expect(s.logs.some((l) => l.level >= 40 && /KEEPING 1 snapshot\(s\) boot could not read/.test(l.msg))).toBe(true);
  await until(async () => (await info(c)).snapshot_orphan_last_scan !== '0', 'the boot orphan scan', 30_000);
  for (let i = 0; i < 5; i++) {
    await c.set(`after:${i}`, String(i));
    expect(await c.save()).toBe('OK');
  }
  await until(async () => s.logs.filter((l) => l.msg === 'deleted old snapshot (retention)').length >= 4, 'retention of the new saves', 30_000);
  const f = await info(c);
  expect(f.snapshot_kept_unread).toBe('1');
  expect(f.snapshot_kept_unread_reason).toMatch(/could not/);
  for (const [n, bytes] of before) {
    expect(existsSync(path.join(dir, n)), `${n} still there`).toBe(true);
    expect(readFileSync(path.join(dir, n)).equals(bytes), `${n} unchanged`).toBe(true);
  }
  return { s, c };
}

describe('never delete what boot could not read', () => {
  it('a bit flipped in the newest manifest (its dataName): strict names a damaged manifest; not strict falls back and keeps every byte through saves and retention', async () => {
    const dir = tmp();
    await twoSaves(dir);
    const { manifest, data } = flipInDataName(dir, 2, (n) => n.indexOf('000002') + 5);
    const strict = await start(['--dir', dir], true);
    expect(await strict.exited).not.toBe(0);
    const fatal = strict.logs.filter((l) => l.level === 60).map((l) => l.msg).join('\n');
    expect(fatal).toMatch(new RegExp(`damaged snapshot manifest.*${manifest}.*checksum mismatch`));
    expect(fatal).not.toMatch(/ENOENT|no such file|missing/i);
    expect(fatal).not.toMatch(/starts empty and fenced/);
    await fallBackAndSave(dir, [manifest, data]);
  });

  it('a manifest without a checksum naming data that is not there: strict says the manifest is probably damaged and names the unnamed data; not strict keeps it', async () => {
    const dir = tmp();
    await twoSaves(dir);
    // As written before manifests had a checksum.
    const { name, json } = manifestOf(dir, 2);
    delete json.sum;
    writeFileSync(path.join(dir, name), JSON.stringify(json, null, 1) + '\n');
    // The writer-id part of the name: the manifest still looks like its snapshot's, but names nothing.
    const { manifest, data } = flipInDataName(dir, 2, (n) => n.length - 6);
    const strict = await start(['--dir', dir], true);
    expect(await strict.exited).not.toBe(0);
    const fatal = strict.logs.filter((l) => l.level === 60).map((l) => l.msg).join('\n');
    expect(fatal).toMatch(/manifest is probably damaged rather than its data lost/);
    expect(fatal).toContain(data);
    // It does not promise an empty start right after explaining the fallback.
    expect(fatal).toMatch(/with --nosnapshot_strict the server would load the previous snapshot instead/);
    expect(fatal).not.toMatch(/starts empty and fenced/);
    await fallBackAndSave(dir, [manifest, data]);
  });

  it('damaged data: not strict falls back, keeps the snapshot through saves; `snapshots rm` is how the operator lets it go', async () => {
    const dir = tmp();
    await twoSaves(dir);
    const { name: manifest, json } = manifestOf(dir, 2);
    const data = json.dataName as string;
    const b = readFileSync(path.join(dir, data));
    b[b.length - 60] ^= 0xff;
    writeFileSync(path.join(dir, data), b);
    const { c } = await fallBackAndSave(dir, [manifest, data]);
    const ls = await cli(['ls', '--dir', dir]);
    expect(ls.code).toBe(0);
    expect(ls.stdout).toContain(json.id as string);
    expect(ls.stdout).toMatch(/boot \(--nosnapshot_strict\): loads /);
    const rm = await cli(['rm', json.id as string, '--dir', dir]);
    expect(rm.code, rm.stderr).toBe(0);
    expect(existsSync(path.join(dir, manifest))).toBe(false);
    expect(existsSync(path.join(dir, data))).toBe(false);
    // The server lets go once it is gone: the next save's retention sees it.
    await c.set('x', '1');
    expect(await c.save()).toBe('OK');
    await until(async () => (await info(c)).snapshot_kept_unread === '0', 'the server to let go of the removed snapshot', 30_000);
    expect((await cli(['rm', 'no-such-snapshot', '--dir', dir])).code).toBe(1);
  });
});

describe('orphans in a local folder', () => {
  it('the temp file of a server killed mid-save is removed after --snapshot_orphan_grace, never before', async () => {
    const dir = tmp();
    const s = await start(['--dir', dir, '--save', '', '--enable-debug-command', 'yes']);
    const c = client(s);
    await c.call('debug', 'populate', '400000', 'key', '64');
    // BGSAVE, and kill -9 as soon as its temp file exists.
    expect(await c.bgsave()).toBe('Background saving started');
    const isTemp = (n: string) => n.startsWith('.') && n.endsWith('.dfs.tmp');
    await until(async () => readdirSync(dir).some(isTemp), 'the save to start writing', 30_000);
    process.kill(s.pid, 'SIGKILL');
    await s.exited;
    const temp = readdirSync(dir).find(isTemp)!;
    expect(temp).toBeDefined();
    const lastWrite = statSync(path.join(dir, temp)).mtimeMs;
    // A grace that has not passed yet when the next server boots, whatever the machine's pace.
    const graceMs = Date.now() - lastWrite + 12_000;
    const s2 = await start(['--dir', dir, '--save', '', '--snapshot_orphan_grace', `${graceMs}ms`]);
    const c2 = client(s2);
    // Found at boot, not provably dead yet (too young, its writer's lease still fresh): kept and counted as pending.
    const kept = await s2.waitForLog((l) => l.msg === 'orphans kept for now' && JSON.stringify(l.pending).includes(temp), 30_000);
    expect(kept.time as number).toBeLessThan(lastWrite + graceMs);
    expect(Number((await info(c2)).snapshot_orphans_pending)).toBeGreaterThanOrEqual(1);
    const removed = await s2.waitForLog((l) => l.msg === 'removed orphan' && l.name === temp, 30_000);
    expect(removed).toMatchObject({ kind: 'temp', bytes: expect.any(Number) });
    expect(existsSync(path.join(dir, temp))).toBe(false);
    // Never before the grace: removed at least a grace after the crashed save last wrote it.
    expect(removed.time as number).toBeGreaterThanOrEqual(lastWrite + graceMs);
    // Each removal is logged as it happens; the pass's counters are updated when the pass ends.
    await s2.waitForLog((l) => l.msg === 'removed orphans of crashed or failed saves' && (l.time as number) >= (removed.time as number), 30_000);
    const f = await info(c2);
    expect(Number(f.snapshot_orphans_removed)).toBeGreaterThanOrEqual(1);
    expect(Number(f.snapshot_orphan_bytes_removed)).toBe(removed.bytes);
    // Nothing but the (dead) writer lease may remain besides snapshots, and it goes too.
    await until(async () => readdirSync(dir).every((n) => !n.startsWith('.')), 'the dead writer lease to be collected', 30_000);
  });

  it('`snapshots ls` shows orphans and what gc would do; `gc --dry-run` removes nothing; `gc` removes the dead ones, keeps the young ones', async () => {
    const dir = tmp();
    await twoSaves(dir);
    const longAgo = new Date(Date.now() - 2 * 3600_000);
    const dead = ['.dump-x-000007.aaaaaaaaaaaa.dfs.tmp', 'dump-x-000007.aaaaaaaaaaaa.dfs'];
    for (const n of dead) {
      writeFileSync(path.join(dir, n), 'x'.repeat(1000));
      utimesSync(path.join(dir, n), longAgo, longAgo);
    }
    const young = 'dump-x-000008.bbbbbbbbbbbb.dfs';
    writeFileSync(path.join(dir, young), 'y'.repeat(10));
    const ls = await cli(['ls', '--dir', dir, '--snapshot_orphan_grace', '1h']);
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout).toMatch(/snapshots: 2/);
    expect(ls.stdout).toMatch(/boot loads this/);
    expect(ls.stdout).toMatch(/orphans: 3/);
    for (const n of dead) expect(ls.stdout).toMatch(new RegExp(`${n.replace(/\./g, '\\.')}.*removes`));
    expect(ls.stdout).toMatch(new RegExp(`${young.replace(/\./g, '\\.')}.*keeps: younger than --snapshot_orphan_grace`));
    const dry = await cli(['gc', '--dry-run', '--dir', dir, '--snapshot_orphan_grace', '1h']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/dry run: 2 orphan\(s\), 2\.0 KiB, would be removed; 1 kept/);
    for (const n of dead) expect(existsSync(path.join(dir, n))).toBe(true);
    const gc = await cli(['gc', '--dir', dir, '--snapshot_orphan_grace', '1h']);
    expect(gc.code, gc.stderr).toBe(0);
    expect(gc.stdout).toMatch(/removed 2 orphan\(s\), 2\.0 KiB; 1 kept/);
    for (const n of dead) expect(existsSync(path.join(dir, n))).toBe(false);
    expect(existsSync(path.join(dir, young))).toBe(true);
    expect((await new FileBackend(dir).list()).length).toBe(2);
    // Bad usage is refused with the usage text.
    const bad = await cli(['frobnicate', '--dir', dir]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/usage: damselfly snapshots ls/);
  });

  it('CONFIG SET snapshot-orphan-grace applies at once, and a failed save collects what is dead', async () => {
    const dir = tmp();
    const hourAgo = new Date(Date.now() - 3600_000);
    const orphan = (n: string) => {
      writeFileSync(path.join(dir, n), 'z'.repeat(500));
      utimesSync(path.join(dir, n), hourAgo, hourAgo);
    };
    orphan('dump-x-000005.aaaaaaaaaaaa.dfs');
    const s = await start(['--dir', dir, '--save', '']);
    const c = client(s);
    // An hour old, the grace is 6h: kept.
    await s.waitForLog((l) => l.msg === 'orphans kept for now' && JSON.stringify(l.pending).includes('000005'), 30_000);
    expect((await info(c)).snapshot_orphan_grace_sec).toBe('21600');
    expect(await c.config('SET', 'snapshot-orphan-grace', '30m')).toBe('OK');
    expect(await c.config('GET', 'snapshot-orphan-grace')).toEqual(['snapshot-orphan-grace', '30m']);
    await s.waitForLog((l) => l.msg === 'removed orphan' && l.name === 'dump-x-000005.aaaaaaaaaaaa.dfs' && l.trigger === '--snapshot_orphan_grace changed', 30_000);
    await expect(c.config('SET', 'snapshot-orphan-grace', 'soon')).rejects.toThrow(/expected a duration/);

    // A save that fails (file size limit) runs collection too.
    orphan('dump-x-000006.aaaaaaaaaaaa.dfs');
    for (let i = 0; i < 2000; i++) await c.set(`k${i}`, 'v'.repeat(100));
    execFileSync('prlimit', ['--pid', String(s.pid), '--fsize=65536:']);
    await expect(c.save()).rejects.toThrow();
    execFileSync('prlimit', ['--pid', String(s.pid), '--fsize=unlimited:']);
    await s.waitForLog((l) => l.msg === 'removed orphan' && l.name === 'dump-x-000006.aaaaaaaaaaaa.dfs' && l.trigger === 'after a failed save', 30_000);
    expect(existsSync(path.join(dir, 'dump-x-000006.aaaaaaaaaaaa.dfs'))).toBe(false);
  });
});
