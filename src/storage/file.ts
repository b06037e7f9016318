/**
 * Snapshots in a local folder (the embedded default, --dir).
 *
 *   <id>.dfs               the data, written as .<id>.dfs.tmp, fsynced, renamed
 *   <id>.manifest.json     committed last, create-only (link), fsynced
 *
 * A crash at any point leaves either a complete snapshot (manifest present)
 * or files no manifest names, which list() never returns.
 */
import { constants as FS } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { BackendError, type BackendFailure, type Manifest, type SnapshotBackend, type SnapshotWriter } from './backend.js';

const MANIFEST_SUFFIX = '.manifest.json';
const DATA_SUFFIX = '.dfs';

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
   * Manifests the last list() could not parse (left out of its answer).
   * Manifests are committed atomically, so these mean damage: boot is
   * fatal on them under --snapshot_strict and warns loudly otherwise.
   */
  damaged: string[] = [];

  constructor(dir: string) {
    this.dir = path.resolve(dir);
    this.location = 'file://' + this.dir;
  }

  /** The folder must be a writable directory; a missing one is created (it is the default ./data). */
  async check(): Promise<void> {
    try {
      await fs.mkdir(this.dir, { recursive: true });
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
    const dataName = id + DATA_SUFFIX;
    const tmp = path.join(dir, `.${dataName}.tmp`);
    const final = path.join(dir, dataName);
    const manifestPath = path.join(dir, id + MANIFEST_SUFFIX);
    const manifestTmp = path.join(dir, `.${id}${MANIFEST_SUFFIX}.tmp`);
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
            await fh.writeFile(JSON.stringify(manifest, null, 1) + '\n');
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
    this.damaged = [];
    for (const n of names) {
      if (!n.endsWith(MANIFEST_SUFFIX) || n.startsWith('.')) continue;
      const p = path.join(this.dir, n);
      let m: unknown;
      try {
        m = JSON.parse(await fs.readFile(p, 'utf8'));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // deleted meanwhile
        this.damaged.push(`${p}: ${(e as Error).message}`);
        continue;
      }
      if (!isManifest(m)) {
        this.damaged.push(`${p}: not a valid snapshot manifest`);
        continue;
      }
      out.push(m);
    }
    return out.sort((a, b) => b.seq - a.seq);
  }

  /**
   * Remove what interrupted saves left (temp files, data no manifest names).
   * Only at boot, when this server is the folder's only writer; skipped if
   * a manifest is damaged, since its data might still be recovered by hand.
   */
  async removeLeftovers(): Promise<string[]> {
    const live = new Set((await this.list()).map((m) => m.dataName));
    if (this.damaged.length > 0) return [];
    const removed: string[] = [];
    for (const n of await fs.readdir(this.dir)) {
      const temp = n.startsWith('.') && (n.endsWith(`${DATA_SUFFIX}.tmp`) || n.endsWith(`${MANIFEST_SUFFIX}.tmp`));
      const orphan = !n.startsWith('.') && n.endsWith(DATA_SUFFIX) && !live.has(n);
      if (!temp && !orphan) continue;
      await fs.unlink(path.join(this.dir, n)).catch(() => {});
      removed.push(n);
    }
    return removed;
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
}
