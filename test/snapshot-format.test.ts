/**
 * The snapshot format in-process: round trip (binary-safe, TTLs, pieces),
 * and damage detection: every truncation and every flipped byte of a
 * snapshot is reported with a location, never read as a shorter keyspace.
 */
import { describe, expect, it, vi } from 'vitest';
import { Keyspace } from '../src/keyspace/keyspace.js';
import { SnapshotJob } from '../src/snapshot/serializer.js';
import { Readable } from 'node:stream';
import { FORMAT_VERSION, FrameEncoder, HEADER_MAGIC, REC_COLL, REC_PIECE, REC_STRING, SnapshotFormatError } from '../src/snapshot/format.js';
import { HashValue } from '../src/types/hash.js';
import { ListValue } from '../src/types/list.js';
import { RedisSet } from '../src/types/set.js';
import { SortedSet } from '../src/types/zset.js';
import { canon, collect, logicalCopy, readAll, registerTestColl, TestColl, type Entry } from './helpers/snapshot.js';

// Servers and big keyspaces on a shared 2-core machine: generous limits, event-driven waits.
vi.setConfig({ testTimeout: 120_000 });

registerTestColl();

function allBytes(): string {
  let s = '';
  for (let i = 0; i < 256; i++) s += String.fromCharCode(i);
  return s;
}

function sample(): Keyspace {
  const ks = new Keyspace(3);
  const far = Date.now() + 3_600_000;
  const db0 = ks.dbs[0];
  db0.set('plain', 'value');
  db0.set(allBytes(), allBytes() + '\x00\xff');
  db0.set('', '');
  db0.set('\x00', 'nul key');
  db0.set('ttl', 'x', false, far);
  db0.set('big', 'z'.repeat(200_000));
  db0.set('coll-small', new TestColl(['a', '\xff\x00', 1.5, -0]));
  db0.set('coll-big', new TestColl(Array.from({ length: 5000 }, (_, i) => (i % 3 === 0 ? i : `m\x80${i}`))), false, far + 1);
  ks.dbs[2].set('other-db', 'yes');
  return ks;
}

function expectSame(got: Map<string, Entry>[], want: Map<string, Entry>[]): void {
  expect(got.length).toBe(want.length);
  for (let d = 0; d < want.length; d++) {
    expect(got[d].size, `db ${d} size`).toBe(want[d].size);
    for (const [k, e] of want[d]) {
      const g = got[d].get(k);
      expect(g, `db ${d} key ${JSON.stringify(k)}`).toBeDefined();
      expect(g!.exp).toBe(e.exp);
      expect(canon(g!.value)).toEqual(canon(e.value));
    }
  }
}

async function snapshotOf(ks: Keyspace): Promise<Buffer> {
  const job = new SnapshotJob(ks, { serverId: 'test', seq: 7 });
  return collect(job.stream);
}

describe('snapshot format', () => {
  it('round-trips binary keys and values, TTLs, and collections written in pieces', async () => {
    const ks = sample();
    const want = logicalCopy(ks, Date.now());
    const data = await snapshotOf(ks);
    expect(data.subarray(0, 8).toString('latin1')).toBe('DMSFSNAP');
    const got = await readAll(data, 3);
    expectSame(got, want);
    expect((got[0].get('coll-big')!.value as TestColl).items.length).toBe(5000);
  });

  it('leaves out keys already expired at the snapshot instant', async () => {
    const ks = new Keyspace(1);
    ks.dbs[0].set('dead', 'x', false, Date.now() - 1000);
    ks.dbs[0].set('alive', 'y');
    const got = await readAll(await snapshotOf(ks), 1);
    expect([...got[0].keys()]).toEqual(['alive']);
  });

  it('reports truncation at every length with where it happened', async () => {
    const data = await snapshotOf(sample());
    // Every cut in the first and last 600 bytes, and a stride through the middle.
    const cuts = new Set<number>();
    for (let i = 0; i < Math.min(150, data.length); i++) cuts.add(i);
    for (let i = Math.max(0, data.length - 150); i < data.length; i++) cuts.add(i);
    for (let i = 0; i < data.length; i += 997) cuts.add(i);
    for (const n of cuts) {
      const err = await readAll(data.subarray(0, n), 3).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, `cut at ${n}`).toBeInstanceOf(SnapshotFormatError);
      const fe = err as SnapshotFormatError;
      if (n >= 8) expect(fe.kind, `cut at ${n}: ${fe.message}`).toBe('truncated');
      expect(fe.offset).toBeGreaterThanOrEqual(0);
      expect(fe.offset).toBeLessThanOrEqual(n);
      expect(fe.message).toMatch(/at byte \d+ \(frame \d+\)/);
    }
  });

  it('reports a flipped bit anywhere, naming the damaged frame', async () => {
    const ks = new Keyspace(1);
    for (let i = 0; i < 30; i++) ks.dbs[0].set(`k${i}`, `v${i}\xff`);
    ks.dbs[0].set('c', new TestColl(Array.from({ length: 3000 }, (_, i) => `e${i}`)));
    const data = await snapshotOf(ks);
    const step = data.length > 4000 ? 13 : 1;
    for (let i = 0; i < data.length; i += i < 600 || i > data.length - 600 ? 1 : step) {
      const bad = Buffer.from(data);
      bad[i] ^= 0x10;
      const err = await readAll(bad, 1).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, `flip at ${i}`).toBeInstanceOf(SnapshotFormatError);
      const fe = err as SnapshotFormatError;
      // The reported frame starts at or before the damaged byte.
      expect(fe.offset, `flip at ${i}: ${fe.message}`).toBeLessThanOrEqual(i);
    }
  });

  it('writes to large collections being written go ahead at once; the snapshot still holds them as they were', async () => {
    const ks = new Keyspace(1);
    const db = ks.dbs[0];
    const N = 100_000;
    const h = new HashValue();
    const st = new RedisSet();
    const z = new SortedSet();
    const l = new ListValue();
    for (let i = 0; i < N; i++) {
      h.set(`f${i}`, `v${i}`);
      st.add(`m${i}`);
      z.set(`z${i}`, i % 2 ? i : -i / 3);
      l.pushTail(`e${i}`);
    }
    db.set('h', h);
    db.set('s', st);
    db.set('z', z);
    db.set('l', l);
    db.set('t', new TestColl(Array.from({ length: N }, (_, i) => `t${i}`)));
    for (let i = 0; i < 2000; i++) db.set(`k${i}`, `v${i}`);
    const job = new SnapshotJob(ks, { serverId: 'test', seq: 1 });
    const want = logicalCopy(ks, job.startedAt);
    const chunks: Buffer[] = [];
    let over = false;
    const reading = (async () => {
      try {
        for await (const c of job.stream) chunks.push(c as Buffer);
      } finally {
        over = true;
      }
    })();
    // One round of writes to every big value; none may write the value out
    // first (each is 1-3 MB in the snapshot, a round must add far less).
    let round = 0;
    const writeRound = (): void => {
      const r = round++;
      const before = job.bytes;
      const hh = db.getForWrite('h') as HashValue | undefined;
      if (hh !== undefined) {
        // Members the walk has already passed, members it has not, new ones, deleted ones.
        for (let i = 0; i < 20; i++) hh.set(`f${(r * 20 + i) % N}`, `changed${r}`);
        hh.delete(`f${N - 1 - r}`);
        hh.set(`new${r}`, 'x');
        hh.delete(`new${r - 1}`);
        db.modified('h');
      }
      const ss = db.getForWrite('s') as RedisSet | undefined;
      if (ss !== undefined) {
        ss.delete(`m${r}`);
        ss.delete(`m${N - 1 - r}`);
        ss.add(`added${r}`);
        ss.add(`m${r}`); // deleted and back: still written once, as it was
        db.modified('s');
      }
      const zz = db.getForWrite('z') as SortedSet | undefined;
      if (zz !== undefined) {
        zz.set(`z${r}`, 1e9 + r);
        zz.delete(`z${N - 1 - r}`);
        zz.set(`znew${r}`, r);
        db.modified('z');
      }
      const ll = db.getForWrite('l') as ListValue | undefined;
      if (ll !== undefined) {
        ll.popHead();
        ll.pushTail(`pushed${r}`);
        ll.setAt(5, `set${r}`);
        db.modified('l');
      }
      const tt = db.getForWrite('t') as TestColl | undefined;
      if (tt !== undefined) {
        tt.items.push(`after${r}`);
        tt.items[0] = `changed${r}`;
        db.modified('t');
      }
      if (r === 3) db.delete('s');
      if (r === 5) {
        // RENAME: the same object under a new key, changed further below.
        db.set('z2', db.peek('z')!);
        db.delete('z');
      }
      if (r > 5) {
        const z2 = db.getForWrite('z2') as SortedSet;
        z2.set(`z${N - 2 - r}`, -1);
        db.modified('z2');
      }
      expect(job.bytes - before, `round ${r}`).toBeLessThan(256 * 1024);
    };
    writeRound();
    // Each value's first two pieces are out; the rest is still to come.
    expect(job.midCollection).toBe(true);
    while (!over) {
      writeRound();
      await new Promise((r) => setImmediate(r));
    }
    await reading;
    expect(round).toBeGreaterThan(10);
    expectSame(await readAll(Buffer.concat(chunks), 1), want);
    // The values kept no before-images after the snapshot.
    expect([h.undo, st.undo, z.undo]).toEqual([null, null, null]);
  });

  it('rejects bytes after the footer and a foreign file', async () => {
    const data = await snapshotOf(sample());
    await expect(readAll(Buffer.concat([data, Buffer.from('x')]), 3)).rejects.toThrow(/after the footer/);
    await expect(readAll(Buffer.from('REDIS0011' + 'x'.repeat(50)), 3)).rejects.toThrow(/bad magic/);
  });
});

describe('snapshot reader fast paths and chunking', () => {
  const far = Date.now() + 3_600_000;
  /** The same keys written by the hand encoders and as generic msgpack records. */
  function encoded(generic: boolean): Buffer {
    const out: Buffer[] = [];
    const fe = new FrameEncoder((c) => out.push(Buffer.from(c)));
    fe.start({ magic: HEADER_MAGIC, version: FORMAT_VERSION, createdAt: 1, serverId: 'test', seq: 1, dbCount: 2 });
    const bin = (s: string) => Buffer.from(s, 'latin1');
    const items: (string | number)[] = ['a', '\xff\x00', 1.5, -0, 7, -3, 2 ** 40, 'x'.repeat(300), 'y'.repeat(70_000), ''];
    for (let i = 0; i < 300; i++) {
      const key = `k${i}\x80`;
      const exp = i % 3 === 0 ? far + i : null;
      if (generic) fe.add([REC_STRING, i % 2, bin(key), exp, bin(`v${i}`.repeat(i % 40))]);
      else fe.addString(i % 2, key, exp, `v${i}`.repeat(i % 40));
    }
    if (generic) {
      fe.add([REC_COLL, 1, bin('coll'), far, 'stream', items.map((x) => (typeof x === 'string' ? bin(x) : Object.is(x, -0) ? true : x)), false]);
      fe.add([REC_PIECE, 1, bin('coll'), [bin('last')], true]);
      fe.add([REC_COLL, 0, bin('one'), null, 'stream', [], true]);
    } else {
      fe.addCollStart(1, 'coll', far, 'stream', items, false);
      fe.addPiece(1, 'coll', ['last'], true);
      fe.addCollStart(0, 'one', null, 'stream', [], true);
    }
    fe.finish([151, 151]);
    return Buffer.concat(out);
  }

  async function readChunked(data: Buffer, sizes: number[]): Promise<Map<string, Entry>[]> {
    const chunks: Buffer[] = [];
    for (let p = 0, i = 0; p < data.length; i++) {
      const n = sizes[i % sizes.length];
      chunks.push(data.subarray(p, p + n));
      p += n;
    }
    return readAll(Readable.from(chunks), 2);
  }

  it('reads hand-encoded and generic msgpack records alike, whatever the chunk sizes', async () => {
    const hand = encoded(false);
    const want = await readAll(hand, 2);
    expect(want[0].size + want[1].size).toBe(302);
    expect((want[1].get('coll')!.value as TestColl).items).toEqual(['a', '\xff\x00', 1.5, -0, 7, -3, 2 ** 40, 'x'.repeat(300), 'y'.repeat(70_000), '', 'last']);
    expect(Object.is((want[1].get('coll')!.value as TestColl).items[3], -0)).toBe(true);
    expectSame(await readAll(encoded(true), 2), want);
    for (const sizes of [[1], [7], [9, 1, 64 * 1024], [65_537], [3, 100_000, 5]]) expectSame(await readChunked(hand, sizes), want);
  });

  it('reports truncation the same way whatever the chunk sizes', async () => {
    const data = encoded(false);
    for (const n of [0, 5, 8, 12, 17, 40, 1000, data.length - 20, data.length - 1]) {
      const whole = await readAll(data.subarray(0, n), 2).then(() => null, (e: unknown) => e as SnapshotFormatError);
      const split = await readChunked(data.subarray(0, n), [1, 3]).then(() => null, (e: unknown) => e as SnapshotFormatError);
      expect(whole, `cut at ${n}`).toBeInstanceOf(SnapshotFormatError);
      expect(split?.message, `cut at ${n}`).toBe(whole!.message);
    }
  });
});
