/**
 * Servers on several snapshot locations (local folders here; S3 locations
 * come from the S3 helpers), and reading what each location holds.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { sealManifest, type Manifest } from '../../src/storage/backend.js';
import { execFile } from 'node:child_process';
import { MAIN, startServer, type TestServer } from './server.js';

export function tempDir(stem = 'damselfly-replicas-'): string {
  return mkdtempSync(path.join(tmpdir(), stem));
}

/** A server whose --dir is locs[0] and whose --snapshot_replicas are the rest. */
export function startOn(locs: string[], extra: string[] = [], opts: Parameters<typeof startServer>[1] = {}): Promise<TestServer> {
  const flags = ['--dir', locs[0], ...(locs.length > 1 ? [`--snapshot_replicas=${locs.slice(1).join(',')}`] : []), '--save', '', ...extra];
  return startServer(flags, { keepDir: true, ...opts });
}

export function client(s: TestServer): Redis {
  return new Redis({ port: s.port, host: '127.0.0.1', enableReadyCheck: false, maxRetriesPerRequest: 1 });
}

/** Committed manifests in a folder, newest seq first. */
export function folderManifests(dir: string): Manifest[] {
  return readdirSync(dir)
    .filter((n) => n.endsWith('.manifest.json') && !n.startsWith('.'))
    .flatMap((n) => {
      // A server may delete one between the listing and the read (retention runs beside the test).
      try {
        return [JSON.parse(readFileSync(path.join(dir, n), 'utf8')) as Manifest];
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw e;
      }
    })
    .sort((a, b) => b.seq - a.seq);
}

export function folderTombstones(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => n.endsWith('.tombstone.json') && !n.startsWith('.'))
    .map((n) => n.slice(0, -'.tombstone.json'.length));
}

/** Rewrite one field of a committed manifest in a folder, sealed again (as if its writer's clock said so). */
export function editManifest(dir: string, id: string, change: Partial<Manifest>): void {
  const p = path.join(dir, `${id}.manifest.json`);
  const m = JSON.parse(readFileSync(p, 'utf8')) as Manifest;
  const { sum: _s, ...rest } = m;
  const next: Record<string, unknown> = { ...rest, ...change };
  // An absent field, as a manifest from before it existed.
  for (const k of Object.keys(next)) if (next[k] === undefined) delete next[k];
  writeFileSync(p, JSON.stringify(sealManifest(next as unknown as Manifest), null, 1) + '\n');
}

/** INFO persistence as fields. */
export async function persistenceInfo(r: Redis): Promise<Record<string, string>> {
  const text = (await r.call('info', 'persistence')) as string;
  const out: Record<string, string> = {};
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/** One `snapshot_locationN` line as fields. */
export function locationLine(info: Record<string, string>, i: number): Record<string, string> {
  return Object.fromEntries((info[`snapshot_location${i}`] ?? '').split(',').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
}

/** Exit code and the fatal lines of a server that must stop. */
export async function exitOf(s: TestServer, timeoutMs = 30000): Promise<{ code: number | null; message: string }> {
  const code = await Promise.race([s.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), timeoutMs))]);
  if (code === 'timeout') throw new Error('server did not exit; logs:\n' + s.logs.map((l) => JSON.stringify(l)).join('\n'));
  return { code, message: s.logs.filter((l) => l.level >= 60).map((l) => l.msg).join('\n') };
}

/** `damselfly snapshots ARGS` with the given flags: exit code and output. */
export function snapshotsCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, 'snapshots', ...args], { timeout: 150_000, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}
