/**
 * Streams in snapshots. In-process: a snapshot taken while a writer appends,
 * deletes, trims and moves pending entries between consumers of large
 * streams must equal the streams as they were at its instant (entries,
 * last ID, entries-added, max-deleted ID, groups, consumers, PELs). Over
 * TCP: SAVE, restart, and every stream reply is the same as before.
 */
import { afterAll, describe, expect, it } from 'vitest';
import Redis from 'ioredis';
import { Keyspace } from '../src/keyspace/keyspace.js';
import { SnapshotJob } from '../src/snapshot/serializer.js';
import { StreamValue } from '../src/types/stream.js';
import { Group, Nack } from '../src/types/stream-groups.js';
import { canon, logicalCopy, readAll, type Entry } from './helpers/snapshot.js';
import { startServer, type TestServer } from './helpers/server.js';

function bigStream(n: number, seed: number): StreamValue {
  const s = new StreamValue();
  for (let i = 0; i < n; i++) {
    const fv = i % 50 === 0 ? ['other', `x${i}\x00\xff`, 'f2', 'v'] : ['field', `s${seed}:${i}`];
    s.append({ ms: 1000 + i, seq: i % 3 }, fv, 0);
  }
  const half = Math.floor(n / 2);
  const g = new Group('g1', { ms: 1000 + half, seq: 0 }, half);
  s.groups = new Map([['g1', g]]);
  for (const name of ['alice', 'bob']) g.addConsumer(name, 5000);
  for (let i = 0; i < half; i += 7) {
    const c = g.consumers.get(i % 2 ? 'alice' : 'bob')!;
    const id = { ms: 1000 + i, seq: i % 3 };
    const nack = new Nack(c, 6000 + i, 1 + (i % 4));
    g.pel.set(id, nack);
    c.pel.set(id, nack);
  }
  s.groups.set('g0', new Group('g0', { ms: 0, seq: 0 }, -1));
  return s;
}

function compare(got: Map<string, Entry>[], want: Map<string, Entry>[]): void {
  for (let d = 0; d < want.length; d++) {
    expect([...got[d].keys()].sort()).toEqual([...want[d].keys()].sort());
    for (const [k, e] of want[d]) {
      const g = got[d].get(k)!;
      expect(JSON.stringify(canon(g.value)), k).toBe(JSON.stringify(canon(e.value)));
    }
  }
}

describe('stream snapshots in-process', () => {
  it('equal the streams at the snapshot instant while a writer changes them', async () => {
    const ks = new Keyspace(1);
    const db = ks.dbs[0];
    for (let k = 0; k < 6; k++) db.set(`st:${k}`, bigStream(k === 0 ? 60_000 : 8_000 + k, k));
    for (let i = 0; i < 10_000; i++) db.set(`s:${i}`, `v${i}`);
    const job = new SnapshotJob(ks, { serverId: 'proof', seq: 1 });
    const want = logicalCopy(ks, job.startedAt);
    const chunks: Buffer[] = [];
    let done = false;
    const reading = (async () => {
      try {
        for await (const c of job.stream) {
          chunks.push(c as Buffer);
          if (chunks.length % 4 === 0) await new Promise((r) => setTimeout(r, 1));
        }
      } finally {
        done = true;
      }
    })();
    let bursts = 0;
    const ops = { append: 0, del: 0, trim: 0, claim: 0, ack: 0, groups: 0 };
    let nextMs = 10_000_000;
    while (!done) {
      for (let k = 0; k < 6; k++) {
        const key = `st:${k}`;
        const s = db.getForWrite(key) as StreamValue;
        for (let i = 0; i < 20; i++) {
          s.append({ ms: nextMs++, seq: 0 }, ['field', 'late'], 0);
          ops.append++;
        }
        const first = s.edgeId(false)!;
        if (s.deleteId({ ms: first.ms, seq: first.seq })) ops.del++;
        // A middle entry: its node is shared with the capture and must be copied first.
        if (s.deleteId({ ms: 1000 + ((bursts * 37 + k) % 10_000), seq: ((bursts * 37 + k) % 10_000) % 3 })) ops.del++;
        ops.trim += s.trim({ strategy: 'maxlen', approx: bursts % 2 === 0, limit: 0, maxlen: s.length - 150, minid: { ms: 0, seq: 0 } });
        const g = s.group('g1')!;
        const it = g.pel.entries().next();
        if (!it.done) {
          const [id, nack] = it.value;
          if (bursts % 2) {
            g.ack(id);
            ops.ack++;
          } else {
            nack.consumer!.pel.delete(id);
            const carol = g.consumers.get('carol') ?? g.addConsumer('carol', 7000)!;
            nack.consumer = carol;
            nack.deliveryCount++;
            carol.pel.set(id, nack);
            ops.claim++;
          }
        }
        g.lastId = { ms: nextMs, seq: 0 };
        s.groups!.set(`late${bursts}`, new Group(`late${bursts}`, { ms: 1, seq: 1 }, 0));
        ops.groups++;
        db.modified(key);
      }
      bursts++;
      await new Promise((r) => setImmediate(r));
    }
    await reading;
    expect(bursts).toBeGreaterThan(5);
    for (const [k, v] of Object.entries(ops)) expect(v, k).toBeGreaterThan(0);
    const got = await readAll(Buffer.concat(chunks), 1);
    compare(got, want);
    // The live streams moved on: a live read would have been caught.
    expect((db.peek('st:1') as StreamValue).entriesAdded).toBeGreaterThan((want[0].get('st:1')!.value as StreamValue).entriesAdded);
  }, 120_000);
});

describe('stream snapshots over TCP', () => {
  let srv: TestServer | undefined;
  afterAll(async () => {
    await srv?.stop();
  });

  it('SAVE and a restart keep entries, IDs, counters, groups, consumers and PELs', async () => {
    srv = await startServer(['--save', ''], { keepDir: true });
    const r = new Redis({ port: srv.port, lazyConnect: true });
    await r.connect();
    await r.xadd('s', '1-1', 'a', '1', 'b', '\x00\xff');
    for (let i = 2; i <= 300; i++) await r.xadd('s', `${i}-0`, 'f', `v${i}`);
    await r.xdel('s', '150-0');
    await r.xtrim('s', 'MAXLEN', 250);
    await r.xgroup('CREATE', 's', 'g', '0');
    await r.xgroup('CREATE', 's', 'g2', '$', 'ENTRIESREAD', '7');
    await r.xgroup('CREATECONSUMER', 's', 'g', 'idle-one');
    await r.xreadgroup('GROUP', 'g', 'alice', 'COUNT', '10', 'STREAMS', 's', '>');
    await r.xreadgroup('GROUP', 'g', 'bob', 'COUNT', '5', 'STREAMS', 's', '>');
    await r.xack('s', 'g', '55-0');
    await r.xclaim('s', 'g', 'bob', 0, '56-0', 'RETRYCOUNT', '9');
    await r.xadd('empty', '5-5', 'x', 'y');
    await r.xdel('empty', '5-5');
    await r.xsetid('empty', '10-0', 'ENTRIESADDED', '3', 'MAXDELETEDID', '7-0');
    await r.xadd('ttl', '*', 'a', 'b');
    await r.pexpire('ttl', 3_600_000);
    const before = {
      full: await r.call('XINFO', 'STREAM', 's', 'FULL', 'COUNT', '0'),
      groups: await r.call('XINFO', 'GROUPS', 's'),
      pending: await r.xpending('s', 'g', '-', '+', 100),
      empty: await r.call('XINFO', 'STREAM', 'empty'),
      range: await r.xrange('s', '-', '+'),
    };
    await r.save();
    r.disconnect();
    const dir = srv.dir;
    await srv.stop();
    srv = await startServer(['--dir', dir, '--save', ''], { keepDir: true });
    const r2 = new Redis({ port: srv.port, lazyConnect: true });
    await r2.connect();
    expect(await r2.call('XINFO', 'STREAM', 's', 'FULL', 'COUNT', '0')).toEqual(before.full);
    expect(await r2.call('XINFO', 'GROUPS', 's')).toEqual(before.groups);
    expect(await r2.call('XINFO', 'STREAM', 'empty')).toEqual(before.empty);
    expect(await r2.xrange('s', '-', '+')).toEqual(before.range);
    // Idle times moved on; IDs, owners and delivery counts did not.
    const pend = (await r2.xpending('s', 'g', '-', '+', 100)) as [string, string, number, number][];
    expect(pend.map((p) => [p[0], p[1], p[3]])).toEqual((before.pending as [string, string, number, number][]).map((p) => [p[0], p[1], p[3]]));
    expect(await r2.type('s')).toBe('stream');
    expect(await r2.pttl('ttl')).toBeGreaterThan(3_500_000);
    // The loaded stream goes on from its last ID.
    await expect(r2.xadd('s', '300-0', 'a', 'b')).rejects.toThrow(/equal or smaller/);
    expect(await r2.xadd('s', '301-0', 'a', 'b')).toBe('301-0');
    r2.disconnect();
  });
});
