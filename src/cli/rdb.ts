/**
 * `damselfly rdb export|import`: moving data between Redis's RDB files and
 * a snapshot location, without a server. Takes the server's flags (--dir,
 * the S3 ones, --dbnum, --flagfile...), so it reads and writes exactly what
 * a server started with the same flags would.
 *
 *   export FILE.rdb   the newest snapshot at --dir (or --snapshot ID) as an
 *                     RDB file that redis-server 7.0 loads
 *   import FILE.rdb   an RDB file (Redis's, or one exported here) as a new
 *                     snapshot at --dir: the one a server boots from next
 */
import '../config/server-params.js';
import '../storage/s3-params.js';
import '../rdb/params.js';
import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import { once } from 'node:events';
import { applyFlags } from '../config/flags.js';
import { ConfigError, getInt, getString, paramByFlag } from '../config/params.js';
import { configureLog } from '../log.js';
import { selectBackend } from '../persistence/boot.js';
import { loadSnapshot, type LoadProgress } from '../persistence/loader.js';
import { snapshotId } from '../persistence/snapshotter.js';
import { Keyspace } from '../keyspace/keyspace.js';
import { functionsSection } from '../snapshot/functions-section.js';
import { SnapshotJob } from '../snapshot/serializer.js';
import { WRITER_ID } from '../storage/writer.js';
import type { Manifest, SnapshotBackend } from '../storage/backend.js';
import { writeRdb } from '../rdb/file-writer.js';
import { loadRdbInto } from '../rdb/boot-load.js';
import { rdbChecksum, rdbCompression } from '../rdb/params.js';

const USAGE = `usage: damselfly rdb export FILE.rdb [--dir LOC] [S3 flags] [--snapshot ID]
       damselfly rdb import FILE.rdb [--dir LOC] [S3 flags]
LOC is a folder or s3://bucket/prefix; the flags are the server's (--flagfile works too).`;

class UsageError extends Error {}

function out(line: string): void {
  process.stdout.write(line + '\n');
}

/**
 * The snapshot code keeps function libraries behind a hook the Lua engine
 * fills; here they are only carried from one file to the other, as code.
 */
let libraries: string[] = [];
functionsSection.stage = (codes) => {
  libraries = codes;
  return { install: () => null };
};
functionsSection.save = () => libraries;

function progress(): LoadProgress {
  return { startTime: Date.now(), totalBytes: 0, loadedBytes: 0 };
}

async function exportRdb(backend: SnapshotBackend, file: string, snapshot: string | null): Promise<void> {
  const manifests = await backend.list();
  const m = snapshot === null ? manifests[0] : manifests.find((x) => x.id === snapshot);
  if (m === undefined) throw new Error(snapshot === null ? `no snapshot in ${backend.location}` : `no snapshot ${snapshot} in ${backend.location}`);
  const ks = new Keyspace(getInt('databases'));
  const r = await loadSnapshot(backend, m, ks, progress());
  const tmp = `${file}.tmp-${process.pid}`;
  const sink = createWriteStream(tmp);
  try {
    const w = await writeRdb(ks, libraries, sink, { compress: rdbCompression(), checksum: rdbChecksum() });
    sink.end();
    await once(sink, 'finish');
    const fh = await fs.open(tmp, 'r+');
    await fh.sync();
    await fh.close();
    await fs.rename(tmp, file);
    out(`exported snapshot ${m.id} (seq ${m.seq}) from ${backend.location}: ${w.keys} keys, ${libraries.length} function libraries, ${w.bytes} bytes in ${file}${w.expiredSkipped + r.expired > 0 ? ` (${w.expiredSkipped + r.expired} expired keys left out)` : ''}`);
  } catch (e) {
    sink.destroy();
    await fs.rm(tmp, { force: true });
    throw e;
  }
}

async function importRdb(backend: SnapshotBackend, file: string): Promise<void> {
  const st = await fs.stat(file);
  const ks = new Keyspace(getInt('databases'));
  const r = await loadRdbInto(createReadStream(file, { highWaterMark: 8 << 20 }), st.size, ks, progress(), `RDB file ${file}`);
  libraries = r.functions;
  await backend.check();
  const seq = ((await backend.list())[0]?.seq ?? 0) + 1;
  const job = new SnapshotJob(ks, { serverId: `rdb-import-${WRITER_ID}`, seq });
  const id = snapshotId(getString('dbfilename'), job.startedAt, seq);
  await backend.touchLease(WRITER_ID);
  const w = await backend.create(id);
  try {
    const { size, etag } = await w.upload(job.stream);
    const footer = job.footer;
    if (footer === null) throw new Error('snapshot stream ended before its footer');
    const m: Manifest = { format: 1, id, seq, createdAt: job.startedAt, serverId: `rdb-import-${WRITER_ID}`, dataName: w.dataName, size, checksum: footer.sha256, keys: footer.keys, ...(etag !== undefined ? { etag } : {}) };
    await w.commit(m);
  } catch (e) {
    await w.abort().catch(() => {});
    throw e;
  } finally {
    await backend.dropLease(WRITER_ID).catch(() => {});
  }
  out(`imported ${file}: ${r.keys} keys${r.expired > 0 ? ` (${r.expired} expired left out)` : ''}, ${r.functions.length} function libraries, as snapshot ${id} (seq ${seq}) in ${backend.location}`);
}

export async function rdbCli(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const flags: string[] = [];
  const files: string[] = [];
  let snapshot: string | null = null;
  try {
    for (let i = 0; i < rest.length; i++) {
      const a = rest[i];
      if (a === '--snapshot' || a.startsWith('--snapshot=')) {
        snapshot = a.includes('=') ? a.slice(a.indexOf('=') + 1) : (rest[++i] ?? '');
      } else if (a.startsWith('-')) {
        flags.push(a);
        const def = paramByFlag(a.replace(/^--?/, ''));
        if (!a.includes('=') && def && def.type !== 'bool' && i + 1 < rest.length && !rest[i + 1].startsWith('--')) flags.push(rest[++i]);
      } else files.push(a);
    }
    if (cmd !== 'export' && cmd !== 'import') throw new UsageError(cmd ? `unknown subcommand ${cmd}` : 'missing subcommand');
    if (files.length !== 1) throw new UsageError(`${cmd} takes one RDB file`);
    if (snapshot !== null && cmd !== 'export') throw new UsageError('--snapshot goes with export');
    applyFlags(flags);
  } catch (e) {
    if (e instanceof UsageError || e instanceof ConfigError) {
      process.stderr.write(`damselfly: ${e.message}\n${USAGE}\n`);
      return 2;
    }
    throw e;
  }
  configureLog(true, 'warning');
  const backend = selectBackend(getString('dir'));
  try {
    if (cmd === 'export') await exportRdb(backend, files[0], snapshot);
    else await importRdb(backend, files[0]);
    return 0;
  } catch (e) {
    process.stderr.write(`damselfly: ${(e as Error).message}\n`);
    return 1;
  }
}
