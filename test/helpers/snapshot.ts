/**
 * In-process helpers for snapshot tests: a test-only collection type (so
 * the piecewise machinery is exercised whatever real types exist), logical
 * copies of a keyspace, and writing/reading snapshots without a server.
 */
import { Readable } from 'node:stream';
import { registerCodec, codecFor } from '../../src/snapshot/codec.js';
import { SnapshotJob } from '../../src/snapshot/serializer.js';
import { SnapshotReader } from '../../src/snapshot/reader.js';
import type { Keyspace } from '../../src/keyspace/keyspace.js';
import type { CollectionValue, Value } from '../../src/types/value.js';
import { FileBackend } from '../../src/storage/file.js';
import type { Manifest } from '../../src/storage/backend.js';

/** A list of latin1 strings and numbers under the type name 'stream': it replaces the real stream codec in the test files that register it, so those must not use real streams. */
export class TestColl implements CollectionValue {
  readonly type = 'stream' as const;
  constructor(public items: (string | number)[] = []) {}
  encoding(): string {
    return 'test';
  }
  get size(): number {
    return this.items.length;
  }
  clone(): TestColl {
    return new TestColl([...this.items]);
  }
}

let registered = false;
export function registerTestColl(): void {
  if (registered) return;
  registered = true;
  registerCodec({
    type: 'stream',
    *pieces(v, max) {
      // Copied at the first next(), as a list is: the contents as of then.
      const items = (v as TestColl).items.slice();
      for (let i = 0; i < items.length; i += max) yield items.slice(i, i + max);
    },
    builder() {
      const out: (string | number)[] = [];
      return {
        add(p) {
          for (const x of p) out.push(x as string | number);
        },
        done: () => new TestColl(out),
      };
    },
  });
}

export interface Entry {
  value: Value;
  exp: number | null;
}

/** A comparable form of a value: strings as-is, collections through their codec's pieces. */
export function canon(v: Value): unknown {
  if (typeof v === 'string') return v;
  const pieces: unknown[] = [];
  for (const p of codecFor(v.type).pieces(v, 1 << 30)) for (const x of p) pieces.push(x);
  // Sets and hashes are unordered: compare their contents, not their iteration order.
  if (v.type === 'set') return { type: v.type, items: [...new Set(pieces)].sort() };
  if (v.type === 'hash' || v.type === 'zset') {
    // A snapshot may write a member twice (with the same value): compare distinct pairs.
    const pairs = new Set<string>();
    for (let i = 0; i < pieces.length; i += 2) pairs.add(JSON.stringify([pieces[i], Object.is(pieces[i + 1], -0) ? '-0 (number)' : pieces[i + 1]]));
    return { type: v.type, items: [...pairs].sort() };
  }
  // -0 and 0 must stay distinct (zset scores): JSON would merge them.
  return { type: v.type, items: pieces.map((x) => (Object.is(x, -0) ? '-0 (number)' : x)) };
}

/** Logical copy of every live key at `at` (ms), per db. */
export function logicalCopy(ks: Keyspace, at: number): Map<string, Entry>[] {
  return ks.dbs.map((db) => {
    const out = new Map<string, Entry>();
    for (const seg of db.table.segments()) {
      seg.forEachKey((k, v, expireAt) => {
        const exp = expireAt ?? null;
        if (exp !== null && exp <= at) return;
        out.set(k, { value: typeof v === 'string' ? v : v.clone(), exp });
      });
    }
    return out;
  });
}

export async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export async function readAll(data: Buffer | Readable, dbs: number): Promise<Map<string, Entry>[]> {
  const out = Array.from({ length: dbs }, () => new Map<string, Entry>());
  const stream = Buffer.isBuffer(data) ? Readable.from([data]) : data;
  await SnapshotReader.read(stream, {
    key(db, key, value, exp) {
      if (out[db].has(key)) throw new Error(`duplicate key ${JSON.stringify(key)} in db ${db}`);
      out[db].set(key, { value, exp });
    },
  });
  return out;
}

/** Write ks as a committed snapshot into dir (as a server would), for boot tests. */
export async function writeSnapshotDir(ks: Keyspace, dir: string, seq: number, id = `dump-test-${String(seq).padStart(6, '0')}`): Promise<Manifest> {
  const be = new FileBackend(dir);
  await be.check();
  const job = new SnapshotJob(ks, { serverId: 'test', seq });
  const w = await be.create(id);
  const { size } = await w.upload(job.stream);
  const m: Manifest = { format: 1, id, seq, createdAt: job.startedAt, serverId: 'test', dataName: w.dataName, size, checksum: job.footer!.sha256, keys: job.footer!.keys };
  await w.commit(m);
  return m;
}
