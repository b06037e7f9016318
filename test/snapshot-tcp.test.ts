/**
 * The point-in-time proof end to end, over TCP against the real server:
 * BGSAVE and a stream of writes go down one connection in one pipeline, so
 * every write is after the snapshot's instant; the writer keeps going until
 * the snapshot is committed. The committed file must hold exactly the
 * keyspace as it was before BGSAVE, and a restart must serve it.
 */
import { readdirSync, rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import Redis from 'ioredis';
import { RawClient, resp, startServer, type TestServer } from './helpers/server.js';
import { canon, readAll } from './helpers/snapshot.js';
import '../src/types/list.js';
import '../src/types/hash.js';
import '../src/types/set.js';
import '../src/types/zset.js';
import { FileBackend } from '../src/storage/file.js';

const N = 100_000;
const val = (db: number, i: number) => `v${db}:${i}:` + String.fromCharCode(i & 255, 0, 255, (i >> 8) & 255);

let srv: TestServer | null = null;
let dir = '';
afterAll(async () => {
  await srv?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function readReplies(c: RawClient, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const line = await c.readUntil('\r\n', 60_000);
    if (line.startsWith('$')) {
      const len = Number(line.slice(1, -2));
      out.push(len < 0 ? '(nil)' : (await c.read(len + 2, 60_000)).slice(0, -2));
    } else out.push(line.slice(0, -2));
  }
  return out;
}

describe('snapshot over TCP under writes', () => {
  it('holds the keyspace as of BGSAVE while one pipeline keeps rewriting it', async () => {
    srv = await startServer(['--save', ''], { keepDir: true });
    dir = srv.dir;
    await srv.waitForLog((l) => l.msg === 'ready to accept connections', 100_000);
    const c = await RawClient.connect(srv.port);
    // Three dbs: db 0 big, db 1 small, db 2 to be flushed during the snapshot.
    const sizes = [N, 5000, 5000];
    for (let db = 0; db < 3; db++) {
      c.write(resp('SELECT', String(db)));
      await readReplies(c, 1);
      for (let i = 0; i < sizes[db]; i += 5000) {
        let req = '';
        const end = Math.min(sizes[db], i + 5000);
        for (let j = i; j < end; j++) req += resp('SET', `k:${j}`, val(db, j));
        c.write(req);
        await readReplies(c, end - i);
      }
    }
    c.write(resp('SELECT', '0'));
    await readReplies(c, 1);
    // Collections of every type: many small ones and a few spanning many pieces.
    const CN = 2000;
    const csize = (i: number) => (i % 500 === 0 ? 5000 : 1 + (i % 9));
    for (let i = 0; i < CN; i += 100) {
      let req = '';
      let n = 0;
      for (let j = i; j < i + 100; j++) {
        const m = Array.from({ length: csize(j) }, (_, x) => `m${x}\xff`);
        req += resp('RPUSH', `list:${j}`, ...m) + resp('SADD', `set:${j}`, ...m);
        req += resp('HSET', `hash:${j}`, ...m.flatMap((x, y) => [x, `v${y}`]));
        req += resp('ZADD', `zset:${j}`, ...m.flatMap((x, y) => [String(y === 1 ? '-0' : y / 4), x]));
        n += 4;
      }
      c.write(req);
      await readReplies(c, n);
    }

    let batch = 0;
    const writes = (b: number): [string, number] => {
      let req = '';
      let n = 0;
      for (let j = 0; j < 300; j++) {
        const i = (b * 7919 + j * 104729) % N;
        req += resp('SET', `k:${i}`, `overwritten ${b}`) + resp('SET', `new:${b}:${j}`, 'created');
        const ci = (b * 31 + j * 17) % CN;
        req += resp('RPUSH', `list:${ci}`, 'pushed') + resp('LPOP', `list:${ci}`) + resp('HSET', `hash:${ci}`, 'm0\xff', 'changed');
        req += resp('SREM', `set:${ci}`, 'm0\xff') + resp('ZADD', `zset:${ci}`, '99', 'm0\xff') + resp('ZREM', `zset:${ci}`, 'm1\xff');
        n += 8;
      }
      if (b === 2) {
        req += resp('SELECT', '2') + resp('FLUSHDB') + resp('SET', 'after-flush', 'x') + resp('SELECT', '0');
        n += 4;
      }
      if (b === 3) {
        // (FLUSHALL would cancel the BGSAVE, as Redis kills its child: swap databases there and back instead.)
        req += resp('SWAPDB', '0', '1') + resp('SET', 'after-swap', 'x') + resp('SWAPDB', '0', '1');
        n += 3;
      }
      return [req, n];
    };
    const [first, firstN] = writes(0);
    c.write(resp('BGSAVE') + first);
    const replies = await readReplies(c, 1 + firstN);
    expect(replies[0]).toBe('+Background saving started');
    let during = 0;
    const committed = () => readdirSync(dir).some((n) => n.endsWith('.manifest.json'));
    const deadline = Date.now() + 60_000;
    while (!committed()) {
      // A snapshot that never commits (cancelled, failed) must fail the test, not spin it.
      expect(Date.now()).toBeLessThan(deadline);
      const [req, n] = writes(++batch);
      c.write(req);
      await readReplies(c, n);
      if (!committed()) during++;
    }
    c.close();
    // The writer really ran while the snapshot was being written, including the flush and the swaps.
    expect(during).toBeGreaterThan(3);

    const be = new FileBackend(dir);
    const [m] = await be.list();
    expect(m.keys.slice(0, 3)).toEqual([N + 4 * CN, sizes[1], sizes[2]]);
    const got = await readAll(await be.open(m), 16);
    for (let j = 0; j < CN; j++) {
      const m = Array.from({ length: csize(j) }, (_, x) => `m${x}\xff`);
      const want = {
        list: { type: 'list', items: m },
        set: { type: 'set', items: [...m].sort() },
        hash: { type: 'hash', items: m.map((x, y) => JSON.stringify([x, `v${y}`])).sort() },
        zset: { type: 'zset', items: m.map((x, y) => JSON.stringify([x, y === 1 ? '-0 (number)' : y / 4])).sort() },
      };
      for (const t of ['list', 'set', 'hash', 'zset'] as const) {
        const e = got[0].get(`${t}:${j}`);
        const g = e === undefined ? undefined : canon(e.value);
        if (JSON.stringify(g) !== JSON.stringify(want[t])) expect({ key: `${t}:${j}`, g }).toEqual({ key: `${t}:${j}`, g: want[t] });
      }
    }
    for (let db = 0; db < 3; db++) {
      expect(got[db].size).toBe(db === 0 ? N + 4 * CN : sizes[db]);
      for (let i = 0; i < sizes[db]; i++) {
        if (db === 0 && i >= N) break;
        const e = got[db].get(`k:${i}`);
        if (e?.value !== val(db, i) || e.exp !== null) expect({ db, i, e }).toEqual({ db, i, e: { value: val(db, i), exp: null } });
      }
    }

    // And the server serves it after a restart.
    await srv.stop();
    srv = await startServer(['--dir', dir, '--save', ''], { keepDir: true });
    await srv.waitForLog((l) => l.msg === 'ready to accept connections', 100_000);
    const r = new Redis({ port: srv.port, host: '127.0.0.1', enableReadyCheck: false });
    try {
      expect(await r.dbsize()).toBe(N + 4 * CN);
      const L = (x: string) => Buffer.from(x, 'latin1');
      expect(await r.zscore('zset:0', L('m1\xff'))).toBe('-0');
      expect(await r.lrangeBuffer('list:3', 0, -1)).toEqual(['m0\xff', 'm1\xff', 'm2\xff', 'm3\xff'].map(L));
      expect(await r.getBuffer('k:4242')).toEqual(Buffer.from(val(0, 4242), 'latin1'));
      expect(await r.get('after-swap')).toBeNull();
      await r.select(1);
      expect(await r.get('after-swap')).toBeNull();
      await r.select(2);
      expect(await r.getBuffer('k:77')).toEqual(Buffer.from(val(2, 77), 'latin1'));
    } finally {
      r.disconnect();
    }
  }, 120_000);
});
