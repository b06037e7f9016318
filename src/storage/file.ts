/**
 * Snapshots in a local folder (the embedded default, --dir).
 *
 *   <id>.<writer>.dfs      the data, written as .<id>.<writer>.dfs.tmp, fsynced, renamed
 *   <id>.manifest.json     committed last, create-only (link), fsynced
 *   .writer-<writer>       the writer's lease, touched while it saves (src/storage/writer.ts)
 *   <id>.tombstone.json    a snapshot deleted on purpose (src/replicas/retention.ts)
 *
 * A crash at any point leaves either a complete snapshot (manifest present)
 * or files no manifest names, which list() never returns and orphan
 * collection removes once provably dead (src/persistence/orphans.ts).
 */
import { constants as FS } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { BackendError, isTombstone, manifestDamage, sealManifest, type BackendFailure, type CreateOnly, type Manifest, type ManifestProblem, type SnapshotBackend, type SnapshotWriter, type StoredItem, type Tombstone } from './backend.js';
import { WRITER_ID, writerOf } from './writer.js';

const MANIFEST_SUFFIX = '.manifest.json';
const DATA_SUFFIX = '.dfs';
const LEASE_PREFIX = '.writer-';
const TOMBSTONE_SUFFIX = '.tombstone.json';

function classify(code: string | undefined): BackendFailure {
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return 'missing';
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return 'auth';
    case 'EAGAIN':
    case 'EBUSY':
    case 'EINTR':
      return 'transient';
    default:
      return 'other';
  }
}

function wrap(what: string, e: unknown): BackendError {
  if (e instanceof BackendError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  return new BackendError(`${what}: ${(e as Error).message}`, classify(code), code, { cause: e });
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await fs.open(dir, FS.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export function isManifest(x: unknown): x is Manifest {
  const m = x as Manifest;
  return (
    typeof m === 'object' &&
    m !== null &&
    m.format === 1 &&
    typeof m.id === 'string' &&
    Number.isInteger(m.seq) &&
    typeof m.dataName === 'string' &&
    Number.isInteger(m.size) &&
    typeof m.checksum === 'string' &&
    Array.isArray(m.keys)
  );
}

export class FileBackend implements SnapshotBackend {
  readonly location: string;
  readonly dir: string;
  /**
   * Manifests the last list() could not parse or trust (left out of its
   * answer). Manifests are committed atomically, so these mean damage: boot
   * is fatal on them under --snapshot_strict and warns loudly otherwise.
   */
  damaged: ManifestProblem[] = [];

  constructor(dir: string) {
    this.dir = path.resolve(dir);
    this.location = 'file://' + this.dir;
  }

  /** The folder must be a writable directory; a missing one is created (it is the default ./data). */
  async check(): Promise<void> {
    try {
      await fs.mkdir(this.dir, { recursive: true }).catch((e: NodeJS.ErrnoException) => {
        // Something that is not a folder has the name: as missing as a bucket that is not there.
        if (e.code === 'EEXIST') throw new BackendError(`${this.dir} is not a directory`, 'missing', 'ENOTDIR');
        throw e;
      });
      const st = await fs.stat(this.dir);
      if (!st.isDirectory()) throw new BackendError(`${this.dir} is not a directory`, 'missing', 'ENOTDIR');
      await fs.access(this.dir, FS.R_OK | FS.W_OK | FS.X_OK);
    } catch (e) {
      throw wrap(`snapshot folder ${this.dir}`, e);
    }
  }

  async create(id: string): Promise<SnapshotWriter> {
    if (/[/\\]/.test(id) || id.startsWith('.')) throw new BackendError(`bad snapshot name ${id}`, 'other');
    const dir = this.dir;
    const dataName = `${id}.${WRITER_ID}${DATA_SUFFIX}`;
    const tmp = path.join(dir, `.${dataName}.tmp`);
    const final = path.join(dir, dataName);
    const manifestPath = path.join(dir, id + MANIFEST_SUFFIX);
    const manifestTmp = path.join(dir, `.${id}.${WRITER_ID}${MANIFEST_SUFFIX}.tmp`);
    let renamed = false;
    return {
      dataName,
      async upload(data: Readable) {
        let fh: fs.FileHandle;
        try {
          fh = await fs.open(tmp, 'wx');
        } catch (e) {
          data.destroy();
          throw wrap(`cannot create ${tmp}`, e);
        }
        let size = 0;
        try {
          for await (const chunk of data) {
            const b = chunk as Buffer;
            let off = 0;
            while (off < b.length) {
              const { bytesWritten } = await fh.write(b, off, b.length - off);
              off += bytesWritten;
            }
            size += b.length;
          }
          await fh.sync();
        } catch (e) {
          data.destroy();
          await fh.close().catch(() => {});
          throw wrap(`writing ${tmp}`, e);
        }
        try {
          await fh.close();
          await fs.rename(tmp, final);
          renamed = true;
          await fsyncDir(dir);
        } catch (e) {
          throw wrap(`storing ${final}`, e);
        }
        return { size };
      },
      async commit(manifest: Manifest) {
        try {
          const fh = await fs.open(manifestTmp, 'wx');
          try {
            await fh.writeFile(JSON.stringify(sealManifest(manifest), null, 1) + '\n');
            await fh.sync();
          } finally {
            await fh.close();
          }
          // link() fails if the name exists: create-only, never overwrite.
          await fs.link(manifestTmp, manifestPath);
          await fs.unlink(manifestTmp);
          await fsyncDir(dir);
        } catch (e) {
          await fs.unlink(manifestTmp).catch(() => {});
          throw wrap(`committing ${manifestPath}`, e);
        }
      },
      async abort() {
        for (const p of [tmp, manifestTmp, ...(renamed ? [final] : [])]) await fs.unlink(p).catch(() => {});
      },
    };
  }

  async list(): Promise<Manifest[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.dir);
    } catch (e) {
      throw wrap(`listing ${this.dir}`, e);
    }
    const out: Manifest[] = [];
    const damaged: ManifestProblem[] = [];
    for (const n of names) {
      if (!n.endsWith(MANIFEST_SUFFIX) || n.startsWith('.')) continue;
      const p = path.join(this.dir, n);
      let m: unknown;
      try {
        m = JSON.parse(await fs.readFile(p, 'utf8'));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // deleted meanwhile
        damaged.push({ name: n, reason: (e as Error).message });
        continue;
      }
      if (!isManifest(m)) {
        damaged.push({ name: n, reason: 'not a valid snapshot manifest' });
        continue;
      }
      const why = manifestDamage(m) ?? (n === m.id + MANIFEST_SUFFIX ? null : `its id ${m.id} does not match its file name`);
      if (why !== null) {
        damaged.push({ name: n, reason: why });
        continue;
      }
      out.push(m);
    }
    this.damaged = damaged;
    return out.sort((a, b) => b.seq - a.seq);
  }

  async stored(): Promise<StoredItem[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.dir);
    } catch (e) {
      throw wrap(`listing ${this.dir}`, e);
    }
    const out: StoredItem[] = [];
    for (const n of names) {
      let kind: StoredItem['kind'];
      let writer = writerOf(n);
      if (n.startsWith('.') && (n.endsWith(`${DATA_SUFFIX}.tmp`) || n.endsWith(`${MANIFEST_SUFFIX}.tmp`))) kind = 'temp';
      else if (n.startsWith(LEASE_PREFIX)) {
        kind = 'lease';
        writer = n.slice(LEASE_PREFIX.length);
      } else if (!n.startsWith('.') && n.endsWith(DATA_SUFFIX)) kind = 'data';
      else continue;
      const st = await fs.stat(path.join(this.dir, n)).catch(() => null);
      if (st === null || !st.isFile()) continue;
      out.push({ name: n, kind, size: st.size, at: st.mtimeMs, ...(writer ? { writer } : {}) });
    }
    await this.list();
    for (const d of this.damaged) {
      const st = await fs.stat(path.join(this.dir, d.name)).catch(() => null);
      if (st) out.push({ name: d.name, kind: 'manifest', size: st.size, at: st.mtimeMs });
    }
    return out;
  }

  async remove(item: StoredItem): Promise<void> {
    if (/[/\\]/.test(item.name) || item.name === '' || item.name === '.' || item.name === '..') throw new BackendError(`bad name ${item.name}`, 'other');
    try {
      await fs.unlink(path.join(this.dir, item.name));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw wrap(`removing ${item.name}`, e);
    }
  }

  async dropLease(writer: string): Promise<void> {
    await this.remove({ name: LEASE_PREFIX + writer, kind: 'lease', size: 0, at: 0, writer });
  }

  async touchLease(writer: string): Promise<void> {
    const p = path.join(this.dir, LEASE_PREFIX + writer);
    try {
      const now = new Date();
      await fs.utimes(p, now, now).catch(async (e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e;
        await fs.writeFile(p, JSON.stringify({ writer, pid: process.pid, since: now.toISOString() }) + '\n');
      });
    } catch (e) {
      throw wrap(`writer lease ${p}`, e);
    }
  }

  async open(manifest: Manifest): Promise<Readable> {
    const p = path.join(this.dir, path.basename(manifest.dataName));
    let fh: fs.FileHandle;
    try {
      fh = await fs.open(p, 'r');
    } catch (e) {
      const err = wrap(`opening ${p}`, e);
      // The manifest exists but its data does not: the snapshot is damaged.
      throw err.failure === 'missing' ? new BackendError(err.message, 'corrupt', err.code, { cause: e }) : err;
    }
    return fh.createReadStream({ highWaterMark: 256 * 1024 });
  }

  async openNamed(name: string): Promise<{ size: number; data: Readable } | null> {
    const p = path.join(this.dir, path.basename(name));
    let fh: fs.FileHandle;
    try {
      fh = await fs.open(p, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw wrap(`opening ${p}`, e);
    }
    const st = await fh.stat();
    if (!st.isFile()) {
      await fh.close();
      return null;
    }
    return { size: st.size, data: fh.createReadStream({ highWaterMark: 1 << 20 }) };
  }

  async delete(manifest: Manifest): Promise<void> {
    try {
      await fs.unlink(path.join(this.dir, manifest.id + MANIFEST_SUFFIX));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw wrap(`deleting manifest ${manifest.id}`, e);
    }
    try {
      await fs.unlink(path.join(this.dir, path.basename(manifest.dataName)));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw wrap(`deleting ${manifest.dataName}`, e);
    }
  }

  async putTombstone(t: Tombstone): Promise<void> {
    if (/[/\\]/.test(t.id) || t.id.startsWith('.')) throw new BackendError(`bad snapshot name ${t.id}`, 'other');
    const final = path.join(this.dir, t.id + TOMBSTONE_SUFFIX);
    const tmp = path.join(this.dir, `.${t.id}.${WRITER_ID}${TOMBSTONE_SUFFIX}.tmp`);
    try {
      await fs.writeFile(tmp, JSON.stringify(t) + '\n');
      await fs.rename(tmp, final);
      await fsyncDir(this.dir);
    } catch (e) {
      await fs.unlink(tmp).catch(() => {});
      throw wrap(`tombstone ${final}`, e);
    }
  }

  async dropTombstone(id: string): Promise<void> {
    if (/[/\\]/.test(id) || id.startsWith('.')) throw new BackendError(`bad snapshot name ${id}`, 'other');
    try {
      await fs.unlink(path.join(this.dir, id + TOMBSTONE_SUFFIX));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw wrap(`removing the tombstone of ${id}`, e);
    }
  }

  async tombstones(): Promise<Tombstone[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.dir);
    } catch (e) {
      throw wrap(`listing ${this.dir}`, e);
    }
    const out: Tombstone[] = [];
    for (const n of names) {
      if (!n.endsWith(TOMBSTONE_SUFFIX) || n.startsWith('.')) continue;
      const t: unknown = JSON.parse(await fs.readFile(path.join(this.dir, n), 'utf8').catch(() => 'null'));
      if (isTombstone(t)) out.push(t);
    }
    return out;
  }

  /** link() never replaces a name: create-only is what the file system does. */
  async probeCreateOnly(): Promise<CreateOnly> {
    const a = path.join(this.dir, `.probe-${randomBytes(6).toString('hex')}`);
    const b = a + '.link';
    try {
      await fs.writeFile(a, '');
      await fs.writeFile(b, '');
      return await fs.link(a, b).then(
        () => 'ignored' as const,
        (e: NodeJS.ErrnoException) => (e.code === 'EEXIST' ? ('enforced' as const) : ('unsupported' as const)),
      );
    } finally {
      await fs.unlink(a).catch(() => {});
      await fs.unlink(b).catch(() => {});
    }
  }
}
