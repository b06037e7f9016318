/**
 * The proof that a forkless snapshot is a point-in-time copy: while a
 * snapshot of > 100k keys of every type runs, a writer mutates, deletes,
 * expires (lazily and actively), creates, renames, moves, flushes and swaps
 * databases as fast as it can; the snapshot read back must equal, key by
 * key, value by value, TTL by TTL, the logical copy taken at its instant.
 *
 * In-process on purpose: only there can the "copy at the start instant" be
 * taken exactly (over TCP no client can read 100k keys in one instant).
 * Every change goes through the Database write contract, as commands do.
 */
import { describe, expect, it } from 'vitest';
import { Keyspace } from '../src/keyspace/keyspace.js';
import type { Database } from '../src/keyspace/db.js';
import { SnapshotJob } from '../src/snapshot/serializer.js';
import type { Value } from '../src/types/value.js';
import { canon, logicalCopy, readAll, registerTestColl, TestColl, type Entry } from './helpers/snapshot.js';
import { collectionKinds } from './helpers/collections.js';

registerTestColl();

const DBS = 4;

function rnd(n: number): number {
  return (Math.random() * n) | 0;
}

function binStr(i: number): string {
  return `v${i}:` + String.fromCharCode(rnd(256), 0, 255, rnd(256));
}

/** Populate: strings (some binary, some with TTLs, some expiring during the run) and collections of every kind. */
function populate(ks: Keyspace): void {
  const now = Date.now();
  const kinds = collectionKinds();
  const db0 = ks.dbs[0];
  for (let i = 0; i < 100_000; i++) {
    const exp = i % 10 === 0 ? now + 3_600_000 + i : i % 97 === 0 ? now + 30 + rnd(400) : undefined;
    db0.set(`s:${i}`, binStr(i), false, exp);
  }
  let n = 0;
  for (const k of kinds) {
    for (let i = 0; i < 4000; i++) {
      // Mostly small, some spanning many pieces.
      const size = i % 500 === 0 ? 3000 + rnd(3000) : 1 + rnd(12);
      const exp = i % 7 === 0 ? now + 3_600_000 : i % 131 === 0 ? now + 50 + rnd(300) : undefined;
      db0.set(`${k.name}:${i}`, k.make(size, n++), false, exp);
    }
  }
  for (let d = 1; d < DBS; d++) for (let i = 0; i < 5000; i++) ks.dbs[d].set(`d${d}:${i}`, binStr(i));
}

function randomKey(db: Database): string | undefined {
  return db.table.randomKey();
}

/** One burst of writes through the write contract. */
function burst(ks: Keyspace, ops: number, stats: Record<string, number>, created: { n: number }): void {
  const kinds = collectionKinds();
  for (let i = 0; i < ops; i++) {
    ks.tick();
    const d = rnd(10) < 7 ? 0 : 1 + rnd(DBS - 1);
    const db = ks.dbs[d];
    const op = rnd(40);
    const k = randomKey(db);
    if (k === undefined) {
      db.set(`new:${created.n++}`, 'fresh');
      continue;
    }
    switch (op) {
      case 0: // overwrite
        db.set(k, 'over' + binStr(i));
        stats.set++;
        break;
      case 1: // delete
        db.delete(k);
        stats.del++;
        break;
      case 2: // create
        db.set(`new:${created.n++}`, binStr(i), false, rnd(2) ? ks.now + 3_600_000 : undefined);
        stats.create++;
        break;
      case 3: // expire now (EXPIRE with a past time deletes)
        db.setExpire(k, ks.now - 1);
        stats.expire++;
        break;
      case 4: // change a TTL
        db.setExpire(k, ks.now + 1_000_000 + rnd(1000));
        stats.ttl++;
        break;
      case 5: // PERSIST
        db.persist(k);
        stats.ttl++;
        break;
      case 6: {
        // in-place collection change, on a collection key (they are a minority)
        const ck = `${kinds[rnd(kinds.length)].name}:${rnd(4000)}`;
        const cdb = ks.dbs[0];
        const v = cdb.getForWrite(ck);
        if (v !== undefined && typeof v !== 'string') {
          const kind = kinds.find((x) => x.type === v.type)!;
          kind.mutate(v, i);
          if (v.size === 0) cdb.delete(ck);
          else cdb.modified(ck);
          stats.inplace++;
        }
        break;
      }
      case 7: {
        // RENAME k -> new name (keeps TTL); k may have just expired (peek reclaims it)
        const v = db.peek(k);
        if (v === undefined) break;
        const at = db.expireAt(k);
        db.delete(k);
        db.set(`renamed:${created.n++}`, v, false, at);
        stats.rename++;
        break;
      }
      case 8: {
        // MOVE k to another db
        const to = ks.dbs[(d + 1) % DBS];
        if (to.peek(k) === undefined) {
          const v = db.peek(k);
          if (v === undefined) break;
          const at = db.expireAt(k);
          db.delete(k);
          to.set(k, v, false, at);
          stats.move++;
        }
        break;
      }
      case 9:
        // lazy expiry of keys whose TTL passes during the run
        db.get(k);
        stats.read++;
        break;
      case 10:
        ks.activeExpire(1);
        stats.active++;
        break;
      default:
        // Mostly plain overwrites and creations: the common case.
        if (op & 1) db.set(k, 'o' + i);
        else db.set(`new:${created.n++}`, 'n' + i);
        stats.set++;
    }
  }
}

function compare(got: Map<string, Entry>[], want: Map<string, Entry>[]): void {
  for (let d = 0; d < want.length; d++) {
    const missing: string[] = [];
    const wrong: string[] = [];
    for (const [k, e] of want[d]) {
      const g = got[d].get(k);
      if (g === undefined) missing.push(k);
      else if (g.exp !== e.exp || JSON.stringify(canon(g.value)) !== JSON.stringify(canon(e.value))) wrong.push(k);
    }
    const extra = [...got[d].keys()].filter((k) => !want[d].has(k));
    expect({ db: d, missing: missing.slice(0, 5), wrong: wrong.slice(0, 5), extra: extra.slice(0, 5) }).toEqual({ db: d, missing: [], wrong: [], extra: [] });
    expect(got[d].size).toBe(want[d].size);
  }
}

describe('forkless snapshot consistency', () => {
  it('equals the keyspace at its start instant while a writer mutates everything', async () => {
    const ks = new Keyspace(DBS);
    populate(ks);
    const total = ks.dbs.reduce((n, db) => n + db.size, 0);
    expect(total).toBeGreaterThan(100_000);

    const job = new SnapshotJob(ks, { serverId: "proof", seq: 1 });
    // Nothing can run between these two lines: this is the instant E.
    const want = logicalCopy(ks, job.startedAt);

    const stats: Record<string, number> = { set: 0, del: 0, create: 0, expire: 0, ttl: 0, inplace: 0, rename: 0, move: 0, read: 0, active: 0 };
    const created = { n: 0 };
    let done = false;
    let burstsDuring = 0;
    let flushed = false;
    let swapped = false;
    const chunks: Buffer[] = [];
    const reading = (async () => {
      try {
        for await (const c of job.stream) {
          chunks.push(c as Buffer);
          // A slow consumer: backpressure must not break consistency.
          if (chunks.length % 8 === 0) await new Promise((r) => setTimeout(r, 1));
        }
      } finally {
        // Also when the snapshot fails: the writer stops and the error shows.
        done = true;
      }
    })();
    while (!done) {
      burst(ks, 100, stats, created);
      burstsDuring++;
      if (burstsDuring === 5 && !flushed) {
        ks.dbs[2].flush();
        ks.dbs[2].set('after-flush', 'x');
        flushed = true;
      }
      if (burstsDuring === 10 && !swapped) {
        ks.swap(1, 3);
        swapped = true;
      }
      await new Promise((r) => setImmediate(r));
    }
    await reading;
    // The writer really ran during the snapshot, many times, with every kind of change.
    expect(burstsDuring).toBeGreaterThan(15);
    for (const [k, v] of Object.entries(stats)) expect(v, k).toBeGreaterThan(0);
    expect(flushed && swapped).toBe(true);

    const got = await readAll(Buffer.concat(chunks), DBS);
    compare(got, want);
    // The keyspace moved on meanwhile: the test would catch a live read.
    expect(ks.dbs[2].size).toBeLessThan(want[2].size);
    // Hooks are released once the snapshot is done.
    for (const db of ks.dbs) expect(db.table.snapshotHook).toBeNull();
  }, 120_000);
});

export type { Value };
