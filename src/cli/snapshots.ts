/**
 * `damselfly snapshots ls|gc|rm`: what is stored at a snapshot location, as
 * the server sees it, for an operator. Takes the server's flags (--dir, the
 * S3 ones, --snapshot_orphan_grace, --flagfile), so it points at exactly
 * what a server started with the same flags would use.
 *
 *   ls          snapshots newest first (which one boot would load), damaged
 *               manifests, and orphans with what gc would do to each
 *   gc          remove the orphans that are provably dead, with the server's
 *               own rules (src/persistence/orphans.ts); --dry-run only says
 *   rm NAME...  the operator's word: remove a snapshot (by id), a damaged
 *               manifest, or a stored object (an upload is aborted), even one
 *               the rules keep (e.g. a snapshot boot could not read)
 */
import '../config/server-params.js';
import '../storage/s3-params.js';
import { applyFlags } from '../config/flags.js';
import { ConfigError, getString, paramByFlag } from '../config/params.js';
import { configureLog } from '../log.js';
import { selectBackend } from '../persistence/boot.js';
import { collectOrphans, isOrphanData, orphanGraceMs, scanOrphans, type Scan } from '../persistence/orphans.js';
import type { SnapshotBackend } from '../storage/backend.js';
import '../replicas/lineage.js';
import { replicasCopy, replicasLs, replicasVerify } from '../replicas/cli.js';
import { backendFor, configuredLocations } from '../replicas/locations.js';

const USAGE = `usage: damselfly snapshots ls [--json] [--dir LOC] [S3 flags] [--snapshot_orphan_grace D]
       damselfly snapshots gc [--dry-run] [--dir LOC] [--snapshot_replicas LOC,...] [S3 flags] [--snapshot_orphan_grace D]
       damselfly snapshots rm NAME... [--dir LOC] [--snapshot_replicas LOC,...] [S3 flags]
       damselfly snapshots verify [ID...] [--dir LOC] [--snapshot_replicas LOC,...] [S3 flags]
       damselfly snapshots copy SRC DST [S3 flags]
LOC is a folder or s3://bucket/prefix; the flags are the server's (--flagfile works too).
With --snapshot_replicas, ls shows every location, the version vectors and boot's decision;
gc and rm act at every location (rm tombstones a snapshot at each first).`;

class UsageError extends Error {}

function out(line = ''): void {
  process.stdout.write(line + '\n');
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}

function table(rows: string[][]): void {
  const w = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  for (const r of rows) out('  ' + r.map((x, c) => (c === r.length - 1 ? x : x.padEnd(w[c]))).join('  '));
}

/** What boot would do with this location, in one line per mode. */
function bootVerdict(scan: Scan): { loads: string | null; strict: string; lenient: string } {
  const readable = scan.manifests.filter((m) => !scan.dangling.includes(m));
  const loads = readable[0]?.id ?? null;
  const newest = scan.manifests[0];
  let strict: string;
  if (scan.damaged.length > 0) strict = `refuses to start: damaged manifest ${scan.damaged[0].name}`;
  else if (newest && scan.dangling.includes(newest)) strict = `refuses to start: snapshot ${newest.id} names data that is not there`;
  else strict = newest ? `loads ${newest.id}` : 'starts empty';
  const lenient = loads ? `loads ${loads}` : scan.manifests.length + scan.damaged.length > 0 ? 'starts empty and fenced' : 'starts empty';
  return { loads, strict, lenient };
}

async function ls(backend: SnapshotBackend, json: boolean): Promise<void> {
  const graceMs = orphanGraceMs();
  const scan = await scanOrphans(backend, { graceMs });
  const now = Date.now();
  const boot = bootVerdict(scan);
  if (json) {
    out(JSON.stringify({ location: backend.location, graceMs, boot, manifests: scan.manifests, damaged: scan.damaged, dangling: scan.dangling.map((m) => m.id), orphans: scan.orphans }, null, 1));
    return;
  }
  out(`location: ${backend.location}`);
  out(`boot (--snapshot_strict, the default): ${boot.strict}`);
  out(`boot (--nosnapshot_strict): ${boot.lenient}`);
  out('(data checksums are verified when a snapshot is loaded, not by ls)');
  out();
  out(`snapshots: ${scan.manifests.length}`);
  if (scan.manifests.length > 0) {
    const rows = [['SEQ', 'ID', 'CREATED', 'SIZE', 'KEYS', 'DATA', 'NOTE']];
    for (const m of scan.manifests) {
      const note = scan.dangling.includes(m) ? 'DATA MISSING' : m.id === boot.loads ? 'boot loads this' : '';
      rows.push([String(m.seq), m.id, new Date(m.createdAt).toISOString(), bytes(m.size), String(m.keys.reduce((a, b) => a + b, 0)), m.dataName, note]);
    }
    table(rows);
  }
  if (scan.damaged.length > 0) {
    out();
    out(`damaged manifests: ${scan.damaged.length} (kept until removed with \`damselfly snapshots rm NAME\`)`);
    table([['NAME', 'WHY'], ...scan.damaged.map((d) => [d.name, d.reason])]);
  }
  const orphans = scan.orphans.filter(isOrphanData);
  out();
  out(`orphans: ${orphans.length}, ${bytes(orphans.reduce((a, v) => a + v.item.size, 0))} (grace ${age(graceMs)})`);
  if (orphans.length > 0) {
    const rows = [['KIND', 'NAME', 'SIZE', 'AGE', 'WRITER', 'GC']];
    for (const v of orphans) rows.push([v.item.kind, v.item.name, bytes(v.item.size), age(now - v.item.at), v.item.writer ?? '-', `${v.remove ? 'removes' : 'keeps'}: ${v.why}`]);
    table(rows);
  }
}

async function gc(backend: SnapshotBackend, dryRun: boolean): Promise<void> {
  const r = await collectOrphans(backend, { graceMs: orphanGraceMs(), dryRun, why: 'damselfly snapshots gc' });
  const orphans = r.scan.orphans.filter(isOrphanData);
  const dead = orphans.filter((v) => v.remove);
  for (const v of dead) out(`${dryRun ? 'would remove' : r.removed.includes(v) ? 'removed' : 'FAILED to remove'} ${v.item.kind} ${v.item.name} (${bytes(v.item.size)}): ${v.why}`);
  for (const v of orphans.filter((x) => !x.remove)) out(`kept ${v.item.kind} ${v.item.name} (${bytes(v.item.size)}): ${v.why}`);
  const removed = r.removed.filter(isOrphanData);
  out(
    dryRun
      ? `dry run: ${dead.length} orphan(s), ${bytes(dead.reduce((a, v) => a + v.item.size, 0))}, would be removed; ${orphans.length - dead.length} kept`
      : `removed ${removed.length} orphan(s), ${bytes(removed.reduce((a, v) => a + v.item.size, 0))}; ${orphans.length - dead.length} kept`,
  );
  if (r.failed > 0) throw new Error(`${r.failed} orphan(s) could not be removed (see the log above)`);
}

async function rm(backends: SnapshotBackend[], names: string[]): Promise<void> {
  if (names.length === 0) throw new UsageError('rm needs at least one snapshot id or stored name');
  const all = await Promise.all(backends.map(async (b) => ({ b, manifests: await b.list(), stored: await b.stored() })));
  let missing = 0;
  for (const name of names) {
    const held = all.filter((x) => x.manifests.some((m) => m.id === name));
    if (held.length > 0) {
      const m = held[0].manifests.find((x) => x.id === name)!;
      // Several locations: tombstoned at every one first, so a copy left where a delete fails never comes back at boot.
      if (backends.length > 1) for (const x of all) await x.b.putTombstone({ id: m.id, seq: m.seq, deletedAt: Date.now() });
      for (const x of held) {
        await x.b.delete(x.manifests.find((y) => y.id === name)!);
        out(`removed snapshot ${m.id} (seq ${m.seq}) from ${x.b.location}: its manifest and data`);
      }
      continue;
    }
    let found = 0;
    for (const x of all) {
      for (const it of x.stored.filter((s) => s.name === name)) {
        await x.b.remove(it);
        out(`removed ${it.kind} ${it.name} (${bytes(it.size)}) from ${x.b.location}`);
        found++;
      }
    }
    if (found === 0) {
      process.stderr.write(`damselfly: nothing named ${name} in ${backends.map((b) => b.location).join(', ')} (a snapshot id, a damaged manifest, or a stored object as \`snapshots ls\` shows it)\n`);
      missing++;
    }
  }
  if (missing > 0) throw new Error(`${missing} name(s) not found`);
}

/** --dir, plus every --snapshot_replicas location: gc and rm act on all of them. */
function backendsFromFlags(): SnapshotBackend[] {
  if (getString('snapshot_replicas').trim() === '') return [selectBackend(getString('dir'))];
  return configuredLocations().map((spec) => backendFor(spec));
}

export async function snapshotsCli(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const flags: string[] = [];
  const names: string[] = [];
  let dryRun = false;
  let json = false;
  try {
    for (let i = 0; i < rest.length; i++) {
      const a = rest[i];
      if (a === '--dry-run' || a === '--dry_run') dryRun = true;
      else if (a === '--json') json = true;
      else if (a.startsWith('-')) {
        flags.push(a);
        // "--flag value" as well as "--flag=value" (a bool flag takes no value): the rest are rm's names.
        const def = paramByFlag(a.replace(/^--?/, ''));
        if (!a.includes('=') && def && def.type !== 'bool' && i + 1 < rest.length && !rest[i + 1].startsWith('--')) flags.push(rest[++i]);
      } else names.push(a);
    }
    if (!['ls', 'gc', 'rm', 'verify', 'copy'].includes(cmd)) throw new UsageError(cmd ? `unknown subcommand ${cmd}` : 'missing subcommand');
    if (cmd === 'copy' && names.length !== 2) throw new UsageError('copy needs a source and a destination location');
    if (cmd !== 'rm' && cmd !== 'verify' && cmd !== 'copy' && names.length > 0) throw new UsageError(`unexpected argument ${names[0]}`);
    if (dryRun && cmd !== 'gc') throw new UsageError('--dry-run goes with gc');
    applyFlags(flags);
  } catch (e) {
    if (e instanceof UsageError || e instanceof ConfigError) {
      process.stderr.write(`damselfly: ${e.message}\n${USAGE}\n`);
      return 2;
    }
    throw e;
  }
  configureLog(true, 'warning');
  try {
    if (cmd === 'verify') return await replicasVerify(names);
    if (cmd === 'copy') return await replicasCopy(names[0], names[1]);
    if (cmd === 'ls' && getString('snapshot_replicas').trim() !== '') {
      await replicasLs(json);
      return 0;
    }
  } catch (e) {
    process.stderr.write(`damselfly: ${(e as Error).message}\n`);
    return 1;
  }
  try {
    const backends = backendsFromFlags();
    // HeadBucket names a missing bucket or refused credentials clearly; a folder is not created by looking at it.
    for (const b of backends) if (b.location.startsWith('s3://')) await b.check();
    if (cmd === 'ls') await ls(backends[0], json);
    else if (cmd === 'gc') {
      for (const b of backends) {
        if (backends.length > 1) out(`${b.location}:`);
        await gc(b, dryRun);
      }
    } else await rm(backends, names);
    return 0;
  } catch (e) {
    process.stderr.write(`damselfly: ${(e as Error).message}\n`);
    return e instanceof UsageError ? 2 : 1;
  }
}
