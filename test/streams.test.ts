/**
 * Stream commands against the real redis-server 7.0: the same command
 * sequence on both, reply bytes compared in RESP2 and RESP3 (the behaviour
 * of tests/unit/type/stream*.tcl that has deterministic replies: IDs given
 * explicitly, no idle times). Then the stream type in the rest of the
 * server (TYPE, OBJECT, WRONGTYPE, key commands, SCAN TYPE, INFO, MEMORY
 * USAGE, CONFIG) through ioredis and node-redis.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Redis from 'ioredis';
import { createClient } from 'redis';
import { resp, startServer, type TestServer } from './helpers/server.js';
import { startRedis, type Oracle } from './helpers/redis-oracle.js';

let srv: TestServer;
let oracle: Oracle;
let r: Redis;
beforeAll(async () => {
  [srv, oracle] = await Promise.all([startServer(['--save', '']), startRedis()]);
  r = new Redis({ port: srv.port, lazyConnect: true });
  await r.connect();
});
afterAll(async () => {
  r?.disconnect();
  oracle?.stop();
  await srv?.stop();
});

/** Each command's raw reply on one connection (a PING after each marks its end). */
async function session(port: number, proto: 2 | 3, cmds: string[][]): Promise<string[]> {
  const c = net.connect(port, '127.0.0.1');
  let got = '';
  c.on('data', (d) => (got += d.toString('latin1')));
  await new Promise((res) => c.once('connect', res));
  const until = async (suffix: string) => {
    const end = Date.now() + 10000;
    while (!got.endsWith(suffix)) {
      if (Date.now() > end) throw new Error('timeout: ' + got.slice(-200));
      await new Promise((res) => c.once('data', res));
    }
  };
  const out: string[] = [];
  if (proto === 3) {
    c.write(resp('HELLO', '3') + resp('PING'));
    await until('+PONG\r\n');
  }
  for (const a of cmds) {
    got = '';
    c.write(resp(...a) + resp('PING'));
    await until('+PONG\r\n');
    out.push(got.slice(0, -7));
  }
  c.destroy();
  return out;
}

/** Our radix tree has no inner nodes to count: the one XINFO figure that may differ. */
const maskRadixNodes = (s: string) => s.replace(/(radix-tree-nodes\r\n):\d+/g, '$1:N');

async function sameAsRedis(cmds: string[][]): Promise<void> {
  for (const proto of [2, 3] as const) {
    const all = [['FLUSHALL'], ...cmds];
    const [ours, theirs] = await Promise.all([session(srv.port, proto, all), session(oracle.port, proto, all)]);
    for (let i = 1; i < all.length; i++) {
      expect({ proto, cmd: all[i], reply: maskRadixNodes(ours[i]) }).toEqual({ proto, cmd: all[i], reply: maskRadixNodes(theirs[i]) });
    }
  }
}

const c = (s: string) => s.split(' ');

describe('replies and errors as redis-server 7.0', () => {
  it('XADD: IDs, errors, NOMKSTREAM, trimming options', async () => {
    await sameAsRedis([
      c('XADD s 1-1 a 1 b 2'), c('XADD s 1-1 a 1'), c('XADD s 0-0 a 1'), c('XADD s2 0-0 a 1'), c('XADD s2 0-* a 1'), c('XADD s 1-* c 3'), c('XADD s 5 x y'),
      c('XADD s bad x y'), c('XADD s *'), c('XADD s'), c('XADD s 1-2 f'), c('XADD s NOMKSTREAM 9-0 a b'), c('XADD nos NOMKSTREAM 9-0 a b'), c('EXISTS nos'),
      c('XADD s MAXLEN abc * a b'), c('XADD s MAXLEN -1 * a b'), c('XADD s MAXLEN 1 MINID 1 * a b'), c('XADD s LIMIT 10 * a b'), c('XADD s MAXLEN 1 LIMIT 10 * a b'),
      c('XADD s MAXLEN ~ 1 LIMIT -1 * a b'), c('XADD big 18446744073709551615-18446744073709551614 a b'), c('XADD big 18446744073709551615-* a b'), c('XADD big * a b'),
      c('XADD big 18446744073709551616-0 a b'), c('XADD ov 1-18446744073709551615 a b'), c('XADD ov 1-* a b'), c('XADD e MAXLEN 0 1-1 a b'), c('XLEN e'), c('XRANGE e - +'),
      c('XADD t MAXLEN = 2 1 a 1'), c('XADD t MAXLEN = 2 2 a 2'), c('XADD t MAXLEN = 2 3 a 3'), c('XADD t MINID 3 4 a 4'), c('XRANGE t - +'),
    ]);
  });

  it('XADD * with the same options again and again (the parsed options are kept) trims as Redis, also after CONFIG SET', async () => {
    const add = (opts: string) => ['EVAL', `redis.call('XADD', KEYS[1], ${opts.split(' ').map((o) => `'${o}'`).join(', ')}, '*', 'f', 'v') return redis.call('XLEN', KEYS[1])`, '1', 's'];
    const cmds: string[][] = [c('CONFIG SET stream-node-max-entries 100')];
    for (let i = 0; i < 8; i++) cmds.push(add('MAXLEN ~ 5'));
    cmds.push(c('CONFIG SET stream-node-max-entries 2'));
    for (let i = 0; i < 6; i++) cmds.push(add('MAXLEN ~ 5'));
    cmds.push(add('MAXLEN 3'), add('MAXLEN 3'), add('maxlen ~ 3'), add('MAXLEN ~ 3 LIMIT 1'), add('MAXLEN = 2'), add('NOMKSTREAM MAXLEN 4'), add('MAXLEN ~ 5'));
    cmds.push(c('CONFIG SET stream-node-max-entries 100'), add('MAXLEN ~ 5'), add('MAXLEN ~ 5'));
    // An approximate trim removes at most 100 x stream-node-max-entries entries: kept options must not keep the old cap.
    cmds.push(c('DEL s'), add('MAXLEN ~ 5'), ['EVAL', "for i = 1, 299 do redis.call('XADD', KEYS[1], '*', 'f', 'v') end return redis.call('XLEN', KEYS[1])", '1', 's']);
    cmds.push(c('CONFIG SET stream-node-max-entries 1'), add('MAXLEN ~ 5'), c('CONFIG SET stream-node-max-entries 100'));
    await sameAsRedis(cmds);
  });

  it('IDs of every digit count and values of every copy path read back as Redis writes them', async () => {
    // IDs and values are written into the reply from their packed bytes: digits
    // around the int32 and 1e9 splits, past 2^53 (BigInt), values copied by
    // loop and by Buffer copy, entries with and without the node's field names.
    const ids = ['9-0', '2147483647-2147483648', '2147483648-0', '5000000000-7', '1000000000000-999999999', '1712345678901-1000000000',
      '9007199254740991-9007199254740991', '9007199254740992-1', '18446744073709551615-0'];
    const v = (n: number) => 'x'.repeat(n).replace(/x/g, (_, i) => String.fromCharCode(97 + (i % 26)));
    const lens = [0, 1, 32, 33, 64, 65, 200, 5000];
    const cmds = ids.map((id, i) => (i % 3 === 2 ? ['XADD', 's', id, 'other', v(lens[i % lens.length]), 'f2', 'y'] : ['XADD', 's', id, 'f', v(lens[i % lens.length])]));
    await sameAsRedis([
      ...cmds, c('XRANGE s - +'), c('XREVRANGE s + -'), c('XRANGE s - + COUNT 3'), c('XREVRANGE s + - COUNT 4'), c('XREAD COUNT 5 STREAMS s 2147483648-0'),
      // COUNT as string2ll reads it: the digit-loop fast path and the full int64 one.
      ...['01', '-0', '1x', '', '-', '+1', '123456789012345', '-123456789012345', '1234567890123456', '9223372036854775807', '9223372036854775808', '-9223372036854775809']
        .map((n) => ['XRANGE', 's', '-', '+', 'COUNT', n]),
    ]);
  });

  it('XRANGE / XREVRANGE / XLEN / XDEL / XTRIM / XSETID', async () => {
    const fill: string[][] = [];
    for (let i = 1; i <= 30; i++) fill.push(c(`XADD s ${i}-${i % 3} f${i % 2} v${i}`));
    await sameAsRedis([
      ...fill,
      c('XRANGE s - +'), c('XRANGE s (1-1 +'), c('XRANGE s - (5-2'), c('XRANGE s (- +'), c('XRANGE s - + COUNT 0'), c('XRANGE s - + COUNT -1'), c('XRANGE s - + COUNT 3'),
      c('XRANGE s - + COUNTX 1'), c('XRANGE s x +'), c('XRANGE s 5 7'), c('XRANGE s 5-2 5-2'), c('XREVRANGE s + -'), c('XREVRANGE s + - COUNT 2'), c('XREVRANGE s (20 10'),
      c('XRANGE s (18446744073709551615-18446744073709551615 +'), c('XRANGE s - (0-0'), c('XRANGE nokey - +'), c('XLEN s'), c('XLEN nokey'),
      c('SET str v'), c('XLEN str'), c('XADD str * a b'), c('XRANGE str - +'), c('XDEL str 1'), c('XTRIM str MAXLEN 1'), c('XINFO STREAM str'),
      c('XDEL s 1-1 99-0 bad'), c('XDEL s 1-1 99-0 2-2'), c('XRANGE s - + COUNT 2'), c('XINFO STREAM s'),
      c('XTRIM s'), c('XTRIM s MAXLEN'), c('XTRIM s MAXLEN 1 LIMIT 2'), c('XTRIM s FOO'), c('XTRIM s MAXLEN 25'), c('XTRIM s MINID 10'), c('XTRIM s MINID x'), c('XTRIM nokey MAXLEN 1'),
      c('XRANGE s - +'), c('XINFO STREAM s'),
      c('XSETID s 1-0'), c('XSETID s 100-0'), c('XSETID nokey 1-0'), c('XSETID s 200-0 ENTRIESADDED 1'), c('XSETID s 200-0 ENTRIESADDED 30 MAXDELETEDID 300-0'),
      c('XSETID s 200-0 ENTRIESADDED 30 MAXDELETEDID 150-0'), c('XSETID s 1-1 0'), c('XSETID s 200-0 ENTRIESADDED -1 MAXDELETEDID 0-0'), c('XINFO STREAM s'),
    ]);
  });

  it('XREAD, XREADGROUP, groups, XACK, XPENDING summary, XCLAIM/XAUTOCLAIM errors, XINFO', async () => {
    await sameAsRedis([
      c('XADD s 1-0 a 1'), c('XADD s 2-0 b 2'), c('XADD s 3-0 c 3'), c('XADD s2 1-0 z 1'),
      c('XREAD STREAMS s 0'), c('XREAD COUNT 1 STREAMS s nokey s2 0 0 0'), c('XREAD STREAMS s'), c('XREAD STREAMS s $'), c('XREAD STREAMS s >'), c('XREAD GROUP g c STREAMS s >'),
      c('XREAD NOACK STREAMS s 0'), c('XREAD BLOCK -1 STREAMS s 0'), c('XREAD BLOCK x STREAMS s 0'), c('XREAD FOO STREAMS s 0'), c('XREAD COUNT 1'), c('XREAD STREAMS s s 0 1-0'),
      c('XREADGROUP GROUP g c STREAMS s >'), c('XREADGROUP STREAMS s >'), c('XREADGROUP GROUP g c STREAMS s $'),
      c('XGROUP CREATE s g 0'), c('XGROUP CREATE s g 0'), c('XGROUP CREATE nokey g 0'), c('XGROUP CREATE mk g $ MKSTREAM'), c('XINFO STREAM mk'), c('XGROUP CREATE s g2 $ ENTRIESREAD -2'),
      c('XGROUP CREATE s g3 $ ENTRIESREAD 5'), c('XGROUP CREATE s g4 $ FOO'), c('XGROUP CREATE s g5 bad'), c('XGROUP CREATE s g6 -'),
      c('XREADGROUP GROUP g c STREAMS s $'), c('XREADGROUP GROUP g c COUNT 2 STREAMS s >'), c('XREADGROUP GROUP g c STREAMS s 0'), c('XREADGROUP GROUP g c STREAMS s 1'),
      c('XREADGROUP GROUP nog c STREAMS s >'), c('XREADGROUP GROUP g c2 NOACK STREAMS s >'), c('XREADGROUP GROUP g c2 STREAMS s 0'), c('XDEL s 1-0'), c('XREADGROUP GROUP g c STREAMS s 0'),
      c('XINFO GROUPS s'), c('XINFO GROUPS nokey'), c('XINFO CONSUMERS s nog'), c('XINFO FOO s'), c('XINFO HELP'), c('XGROUP HELP'), c('XINFO STREAM s FULL X'), c('XINFO STREAM s FOO'),
      c('XGROUP FOO'), c('XGROUP CREATE s'), c('XINFO STREAM s'),
      c('XPENDING s g'), c('XPENDING s nog'), c('XPENDING s g - +'), c('XPENDING s g - + x'), c('XPENDING s g IDLE x - + 10'), c('XPENDING s g IDLE 10 - +'), c('XPENDING s g - + 0'),
      c('XPENDING s g - + 10 nobody'), c('XACK s g 2-0 bad'), c('XACK s g 2-0 9-0'), c('XACK s nog 2-0'), c('XACK nokey g 1'), c('XPENDING s g'),
      c('XGROUP CREATECONSUMER s g c3'), c('XGROUP CREATECONSUMER s g c3'), c('XGROUP CREATECONSUMER s nog c3'), c('XGROUP DELCONSUMER s g c'), c('XGROUP DELCONSUMER s g nobody'),
      c('XGROUP SETID s g 0'), c('XGROUP SETID s g $ ENTRIESREAD 3'), c('XGROUP SETID s nog 0'), c('XGROUP SETID s g 0 MKSTREAM'), c('XGROUP SETID nokey g 0'), c('XINFO GROUPS s'),
      c('XGROUP DESTROY s g'), c('XGROUP DESTROY s g'), c('XGROUP DESTROY nokey g'),
      c('XCLAIM s g3 c 0 1-1 JUSTID'), c('XCLAIM s nog c 0 1-1'), c('XCLAIM s g3 c x 1-1'), c('XCLAIM s g3 c 0 1-1 FOO'), c('XCLAIM s g3 c 0 1-1 IDLE x'),
      c('XAUTOCLAIM s g3 c 0 0'), c('XAUTOCLAIM s g3 c 0 0 COUNT 0'), c('XAUTOCLAIM s g3 c 0 0 COUNT x'), c('XAUTOCLAIM s nog c 0 0'), c('XAUTOCLAIM s g3 c x 0'), c('XAUTOCLAIM s g3 c 0 0 FOO'),
      c('XAUTOCLAIM s g3 c 0 (18446744073709551615-18446744073709551615'),
      c('TYPE s'), c('OBJECT ENCODING s'), c('COMMAND GETKEYS XREAD COUNT 2 STREAMS a b 0 0'), c('COMMAND GETKEYS XREADGROUP GROUP g c STREAMS a b 0 0'), c('COMMAND GETKEYS XADD k * a b'),
      c('COMMAND INFO xadd xrange xrevrange xlen xdel xtrim xsetid xread xreadgroup xack xpending xclaim xautoclaim'),
      // Containers list their subcommands in redis-server's dict order, which varies: each one by name.
      c('COMMAND INFO xgroup|create xgroup|createconsumer xgroup|delconsumer xgroup|destroy xgroup|setid xgroup|help xinfo|stream xinfo|groups xinfo|consumers xinfo|help'),
    ]);
  });

  it('lag and entries-read with deletions, as the 7.0 counters', async () => {
    await sameAsRedis([
      c('XADD x 1-0 data a'), c('XADD x 2-0 data b'), c('XADD x 3-0 data c'), c('XADD x 4-0 data d'), c('XADD x 5-0 data e'),
      c('XGROUP CREATE x g1 0'), c('XINFO GROUPS x'), c('XREADGROUP GROUP g1 c1 COUNT 1 STREAMS x >'), c('XINFO GROUPS x'), c('XDEL x 3-0'), c('XINFO GROUPS x'),
      c('XREADGROUP GROUP g1 c1 COUNT 2 STREAMS x >'), c('XINFO GROUPS x'), c('XREADGROUP GROUP g1 c1 STREAMS x >'), c('XINFO GROUPS x'), c('XTRIM x MAXLEN 1'), c('XINFO STREAM x'),
      c('XGROUP CREATE x g2 0'), c('XINFO GROUPS x'), c('XADD x 6-0 data f'), c('XINFO GROUPS x'), c('XGROUP SETID x g2 2-0'), c('XINFO GROUPS x'),
    ]);
  });

  it('XCLAIM / XAUTOCLAIM replies with deleted entries (times forced with TIME)', async () => {
    await sameAsRedis([
      c('XADD s 1-0 a 1'), c('XADD s 2-0 b 2'), c('XADD s 3-0 c 3'), c('XADD s 4-0 d 4'), c('XGROUP CREATE s g 0'), c('XREADGROUP GROUP g alice STREAMS s >'),
      c('XDEL s 2-0'), c('XCLAIM s g bob 0 1-0 2-0 3-0 JUSTID'), c('XPENDING s g'), c('XCLAIM s g bob 0 4-0 RETRYCOUNT 5'), c('XCLAIM s g carol 0 9-0 FORCE'),
      c('XCLAIM s g carol 0 1-0 FORCE LASTID 100-0 JUSTID'), c('XINFO GROUPS s'), c('XDEL s 3-0'), c('XAUTOCLAIM s g dave 0 0 COUNT 1'), c('XAUTOCLAIM s g dave 0 0'),
      c('XAUTOCLAIM s g dave 0 0 JUSTID'), c('XPENDING s g'),
    ]);
  });
});

describe('the stream type in the rest of the server', () => {
  it('TYPE, OBJECT ENCODING, WRONGTYPE both ways', async () => {
    await r.del('k', 'str');
    await r.xadd('k', '1-1', 'a', 'b');
    expect(await r.type('k')).toBe('stream');
    expect(await r.object('ENCODING', 'k')).toBe('stream');
    await expect(r.lpush('k', 'x')).rejects.toThrow(/WRONGTYPE/);
    await expect(r.get('k')).rejects.toThrow(/WRONGTYPE/);
    await r.set('str', 'v');
    for (const p of [r.xadd('str', '*', 'a', 'b'), r.xrange('str', '-', '+'), r.xread('STREAMS', 'str', '0'), r.xgroup('CREATE', 'str', 'g', '0'), r.xinfo('STREAM', 'str')]) {
      await expect(p).rejects.toThrow(/WRONGTYPE/);
    }
  });

  it('DEL, UNLINK, RENAME, COPY, MOVE, SWAPDB, FLUSHDB and expiry', async () => {
    await r.flushall();
    await r.xadd('a', '1-1', 'f', 'v');
    await r.xgroup('CREATE', 'a', 'g', '0');
    await r.xreadgroup('GROUP', 'g', 'c', 'STREAMS', 'a', '>');
    expect(await r.copy('a', 'b')).toBe(1);
    // The copy is deep: changing one leaves the other.
    await r.xadd('a', '2-0', 'f', 'v2');
    await r.xack('b', 'g', '1-1');
    expect(await r.xlen('b')).toBe(1);
    expect(((await r.xpending('a', 'g')) as unknown[])[0]).toBe(1);
    expect(((await r.xpending('b', 'g')) as unknown[])[0]).toBe(0);
    await r.rename('b', 'c');
    expect(await r.xrange('c', '-', '+')).toEqual([['1-1', ['f', 'v']]]);
    expect(await r.move('c', 1)).toBe(1);
    await r.select(1);
    expect(await r.type('c')).toBe('stream');
    await r.select(0);
    await r.swapdb(0, 1);
    expect(await r.type('c')).toBe('stream');
    expect(await r.exists('a')).toBe(0);
    await r.swapdb(0, 1);
    expect(await r.unlink('a')).toBe(1);
    await r.xadd('e', '*', 'f', 'v');
    await r.pexpire('e', 30);
    const deadline = Date.now() + 5000;
    while ((await r.exists('e')) === 1) {
      if (Date.now() > deadline) throw new Error('stream did not expire');
      await new Promise((res) => setTimeout(res, 10));
    }
    await r.select(1);
    await r.flushdb();
    expect(await r.dbsize()).toBe(0);
    await r.select(0);
  });

  it('SCAN TYPE stream, INFO keyspace, MEMORY USAGE grows with the stream', async () => {
    await r.flushall();
    await r.set('s1', 'x');
    await r.xadd('st1', '*', 'f', 'v');
    await r.xadd('st2', '*', 'f', 'v');
    const [, keys] = await r.scan(0, 'TYPE', 'stream', 'COUNT', 100);
    expect(keys.sort()).toEqual(['st1', 'st2']);
    expect(await r.info('keyspace')).toMatch(/db0:keys=3,/);
    const small = (await r.memory('USAGE', 'st1')) as number;
    const pipe = r.pipeline();
    for (let i = 0; i < 5000; i++) pipe.xadd('st1', '*', 'field', 'value-' + i);
    await pipe.exec();
    const big = (await r.memory('USAGE', 'st1')) as number;
    expect(big).toBeGreaterThan(small + 5000 * 10);
    // Close to what the entries take (a few tens of bytes each), not a JS object per entry.
    expect(big).toBeLessThan(5000 * 60);
  });

  it('CONFIG stream-node-max-entries / -bytes decide the node layout (XINFO radix-tree-keys)', async () => {
    expect(await r.config('GET', 'stream-node-max-*')).toEqual(expect.arrayContaining(['stream-node-max-bytes', '4096', 'stream-node-max-entries', '100']));
    await r.del('n');
    await r.config('SET', 'stream-node-max-entries', '10');
    for (let i = 1; i <= 95; i++) await r.xadd('n', `${i}-0`, 'f', 'v');
    let info = (await r.xinfo('STREAM', 'n')) as unknown[];
    expect(info[info.indexOf('radix-tree-keys') + 1]).toBe(10);
    // An approximate trim removes whole nodes only.
    expect(await r.xtrim('n', 'MAXLEN', '~', 42)).toBe(50);
    await r.config('SET', 'stream-node-max-entries', '100');
    await r.config('SET', 'stream-node-max-bytes', '64');
    await r.del('n');
    for (let i = 1; i <= 10; i++) await r.xadd('n', `${i}-0`, 'field', 'a-value-of-some-length-' + i);
    info = (await r.xinfo('STREAM', 'n')) as unknown[];
    expect(info[info.indexOf('radix-tree-keys') + 1]).toBeGreaterThan(3);
    await r.config('SET', 'stream-node-max-bytes', '4096');
    await expect(r.config('SET', 'stream-node-max-entries', '-1')).rejects.toThrow(/stream-node-max-entries/);
  });

  it('node-redis reads streams and groups', async () => {
    const nr = createClient({ socket: { port: srv.port } });
    await nr.connect();
    try {
      await nr.del('nr');
      await nr.xAdd('nr', '1-0', { a: '1' });
      await nr.xAdd('nr', '2-0', { b: '2' });
      expect(await nr.xRange('nr', '-', '+')).toEqual([
        { id: '1-0', message: { a: '1' } },
        { id: '2-0', message: { b: '2' } },
      ]);
      await nr.xGroupCreate('nr', 'g', '0');
      const got = await nr.xReadGroup('g', 'c', { key: 'nr', id: '>' }, { COUNT: 1 });
      expect(got).toEqual([{ name: 'nr', messages: [{ id: '1-0', message: { a: '1' } }] }]);
      expect(await nr.xAck('nr', 'g', '1-0')).toBe(1);
      const groups = await nr.xInfoGroups('nr');
      expect(groups[0]).toMatchObject({ name: 'g', consumers: 1, pending: 0 });
    } finally {
      await nr.quit();
    }
  });
});
