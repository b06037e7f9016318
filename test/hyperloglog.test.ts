/**
 * HyperLogLog against the real redis-server 7.0: the same PFADD/PFMERGE
 * sequences on both give byte-identical strings (GET), PFCOUNT gives the
 * same estimate, HLLs built by one server count the same on the other, and
 * corrupted values get the same errors (behaviour of
 * tests/unit/hyperloglog.tcl, plus byte-level interop).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Redis from 'ioredis';
import { startServer, type TestServer } from './helpers/server.js';
import { startRedis, type Oracle } from './helpers/redis-oracle.js';
import { session } from './helpers/resp-session.js';

let srv: TestServer;
let oracle: Oracle;
beforeAll(async () => {
  [srv, oracle] = await Promise.all([startServer(['--save', '']), startRedis()]);
});
afterAll(async () => {
  oracle?.stop();
  await srv?.stop();
});

/** A small deterministic PRNG (mulberry32), so a failure replays. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Elements of every length 0..24 (all murmur tail cases) and any byte. */
function element(r: () => number): string {
  const len = Math.floor(r() * 25);
  let s = '';
  for (let i = 0; i < len; i++) s += String.fromCharCode(Math.floor(r() * 256));
  return s;
}

async function sameAsRedis(cmds: string[][], protos: (2 | 3)[] = [2, 3]): Promise<void> {
  for (const proto of protos) {
    const all = [['FLUSHALL'], ['CONFIG', 'SET', 'hll-sparse-max-bytes', '3000'], ...cmds];
    const [ours, theirs] = await Promise.all([session(srv.port, proto, all), session(oracle.port, proto, all)]);
    for (let i = 2; i < all.length; i++) {
      if (ours[i] !== theirs[i]) expect({ proto, i, cmd: all[i].map((a) => a.slice(0, 60)), reply: ours[i] }).toEqual({ proto, i, cmd: all[i].map((a) => a.slice(0, 60)), reply: theirs[i] });
    }
  }
}

const c = (s: string) => s.split(' ');

describe('HyperLogLog values byte for byte as redis-server 7.0', () => {
  it('PFADD builds the same sparse and dense strings, PFCOUNT the same estimates and cache bytes', async () => {
    const r = rng(1);
    const cmds: string[][] = [c('PFADD empty'), c('GET empty'), c('PFCOUNT empty'), c('PFADD e2 ""'), c('GET e2')];
    // Batches growing one key through sparse, the promotion, and dense.
    let total = 0;
    for (const batch of [1, 2, 5, 10, 50, 100, 300, 500, 1000, 3000, 10000]) {
      const els: string[] = [];
      for (let i = 0; i < batch; i++) els.push(element(r));
      total += batch;
      cmds.push(['PFADD', 'h', ...els], ['GET', 'h'], ['PFCOUNT', 'h'], ['GET', 'h'], ['PFADD', 'h', els[0]], ['PFDEBUG', 'ENCODING', 'h']);
      // Many small PFADDs too: the sparse opcode splitting and merging one register at a time.
      for (let i = 0; i < Math.min(batch, 40); i++) cmds.push(['PFADD', 'one', `e${total}-${i}`]);
      cmds.push(['GET', 'one'], ['PFCOUNT', 'one']);
    }
    await sameAsRedis(cmds, [2]);
  });

  it('hll-sparse-max-bytes decides the promotion; PFDEBUG answers the same', async () => {
    const cmds: string[][] = [];
    for (const max of ['0', '30', '100', '500', '3000', '12000']) {
      cmds.push(['CONFIG', 'SET', 'hll-sparse-max-bytes', max], ['CONFIG', 'GET', 'hll-sparse-max-bytes'], ['DEL', 'h']);
      for (let i = 0; i < 400; i += 20) {
        const els = Array.from({ length: 20 }, (_, j) => `m${max}:${i + j}`);
        cmds.push(['PFADD', 'h', ...els], ['PFDEBUG', 'ENCODING', 'h'], ['STRLEN', 'h'], ['GET', 'h']);
      }
      cmds.push(['PFCOUNT', 'h']);
    }
    cmds.push(
      c('DEL h'), c('PFADD h a b c'), c('PFDEBUG DECODE h'), c('PFDEBUG ENCODING h'), c('PFDEBUG GETREG h'), c('PFDEBUG ENCODING h'), c('PFDEBUG DECODE h'),
      c('PFDEBUG TODENSE h'), c('PFADD h2 x'), c('PFDEBUG TODENSE h2'), c('PFDEBUG TODENSE h2'), c('GET h2'), c('PFDEBUG FOO h'), c('PFDEBUG GETREG nokey'),
      c('PFDEBUG GETREG'), c('SET s v'), c('PFDEBUG ENCODING s'), c('CONFIG SET hll-sparse-max-bytes -1'), c('CONFIG SET hll-sparse-max-bytes 1k'), c('CONFIG GET hll-sparse-max-bytes'),
    );
    await sameAsRedis(cmds, [2, 3]);
  });

  it('PFMERGE and PFCOUNT of several keys: the same strings and unions', async () => {
    const r = rng(7);
    const cmds: string[][] = [];
    for (const [na, nb] of [[3, 3], [50, 2000], [3000, 10], [5000, 5000]]) {
      cmds.push(c('DEL a b dst'));
      cmds.push(['PFADD', 'a', ...Array.from({ length: na }, () => element(r))]);
      cmds.push(['PFADD', 'b', ...Array.from({ length: nb }, () => element(r))]);
      cmds.push(c('PFCOUNT a b'), c('PFCOUNT a b nokey'), c('PFMERGE dst a b'), c('GET dst'), c('PFCOUNT dst'), c('PFMERGE a b'), c('GET a'), c('PFMERGE fresh'), c('GET fresh'));
      cmds.push(c('PFMERGE b nokey'), c('GET b'));
    }
    cmds.push(c('SET str foo'), c('PFMERGE dst str'), c('PFMERGE str a'), c('PFCOUNT a str'), c('PFADD str x'), c('LPUSH l x'), c('PFCOUNT l'), c('PFADD l x'), c('PFMERGE l a'));
    await sameAsRedis(cmds, [2, 3]);
  });

  it('an HLL written by redis-server counts the same here, and one written here the same there', async () => {
    const ours = new Redis({ port: srv.port });
    const theirs = new Redis({ port: oracle.port });
    try {
      const r = rng(3);
      for (const n of [0, 1, 7, 100, 900, 2500, 20000]) {
        const els = Array.from({ length: n }, () => element(r));
        await theirs.del('x');
        await ours.del('x');
        await theirs.pfadd('x', ...els);
        await ours.pfadd('x', ...els);
        const fromRedis = await theirs.getBuffer('x');
        const fromUs = await ours.getBuffer('x');
        expect(fromUs!.equals(fromRedis!)).toBe(true);
        // Their bytes here, ours there: same estimates, and the cached-cardinality write-back is the same.
        await ours.set('y', fromRedis!);
        await theirs.set('y', fromUs!);
        expect(await ours.pfcount('y')).toBe(await theirs.pfcount('y'));
        expect((await ours.getBuffer('y'))!.equals((await theirs.getBuffer('y'))!)).toBe(true);
        await ours.pfadd('y', 'more', 'elements');
        await theirs.pfadd('y', 'more', 'elements');
        expect((await ours.getBuffer('y'))!.equals((await theirs.getBuffer('y'))!)).toBe(true);
      }
    } finally {
      ours.disconnect();
      theirs.disconnect();
    }
  });

  it('PFADD and PFCOUNT keep the key TTL (the value changes in place)', async () => {
    await sameAsRedis([c('PFADD h a'), c('EXPIRE h 1000'), c('PFADD h b c'), c('TTL h'), c('PFCOUNT h'), c('TTL h'), c('PFMERGE h h'), c('TTL h')]);
  });

  it('corrupted HLLs: the same WRONGTYPE / INVALIDOBJ errors and no crash, on random damage', async () => {
    const cmds: string[][] = [
      c('PFADD h a b c'), c('APPEND h hello'), c('PFCOUNT h'), c('PFADD h zz'), c('DEL h'), c('PFADD h a b c'), c('SETRANGE h 0 0123'), c('PFCOUNT h'),
      c('DEL h'), c('PFADD h a b c'), c('SETRANGE h 4 x'), c('PFCOUNT h'), c('DEL h'), c('PFADD h a b c'), ['SETRANGE', 'h', '4', '\x00'], c('PFCOUNT h'),
      c('SET short HYLL'), c('PFCOUNT short'), c('SET n 12345678901234567'), c('PFCOUNT n'),
    ];
    // Hand-made sparse values: a VAL run past the last register, one ending exactly there, a ZERO past it.
    const hdr = 'HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80';
    for (const ops of ['\x7f\xff\x80', '\x7f\xfe\x80', '\x7f\xff\x00', '\x7f\xff', '\x7f', '\x3f', '\xff\x7f\xfb', '']) {
      cmds.push(['SET', 'k', hdr + ops], c('PFCOUNT k'), c('PFCOUNT k x'), c('PFMERGE d k'), c('PFADD k a b c d e'), c('GET k'), c('PFDEBUG TODENSE k'), c('GET k'));
    }
    const r = rng(11);
    for (let j = 0; j < 300; j++) {
      const n = Math.floor(r() * 3000);
      cmds.push(c('DEL h'), ['PFADD', 'h', ...Array.from({ length: n }, (_, i) => `${j}:${i}`)]);
      const len = n < 150 ? 40 : n < 1200 ? 1000 : 12304;
      for (let i = 0; i < 5; i++) {
        cmds.push(['SETRANGE', 'h', String(Math.floor(r() * len)), String.fromCharCode(Math.floor(r() * 256))]);
        if (r() < 0.5) break;
      }
      cmds.push(c('PFCOUNT h'), c('PFADD h one more'), c('PFCOUNT h x'), c('PFMERGE d h'), c('GET h'));
    }
    await sameAsRedis(cmds, [2]);
  });

  it('PFSELFTEST passes', async () => {
    const ours = new Redis({ port: srv.port });
    try {
      expect(await ours.call('PFSELFTEST')).toBe('OK');
    } finally {
      ours.disconnect();
    }
  }, 120000);

  it('COMMAND INFO as redis-server', async () => {
    await sameAsRedis([c('COMMAND INFO pfadd pfcount pfmerge pfdebug pfselftest'), c('COMMAND GETKEYS PFMERGE a b c'), c('COMMAND GETKEYS PFCOUNT a b')]);
  });
});
