/**
 * One key for every type and encoding Redis 7.0 has, made with commands (so
 * the same data can be made on redis-server and here), and a description of
 * a key that two servers holding the same data answer identically.
 */
import type Redis from 'ioredis';

/** Limits set on both servers so they pick encodings by the same rules (Redis 7.0's defaults). */
export const ENCODING_CONFIG: [string, string][] = [
  ['hash-max-listpack-entries', '512'],
  ['hash-max-listpack-value', '64'],
  ['zset-max-listpack-entries', '128'],
  ['zset-max-listpack-value', '64'],
  ['set-max-intset-entries', '512'],
  ['list-max-listpack-size', '-2'],
  ['stream-node-max-entries', '100'],
  ['stream-node-max-bytes', '4096'],
];

export async function sameEncodingConfig(c: Redis): Promise<void> {
  for (const [k, v] of ENCODING_CONFIG) await c.config('SET', k, v);
}

/** Bytes that compress badly (no LZF) and cover every byte value. */
function noise(n: number, seed: number): string {
  let x = seed * 2654435761;
  let s = '';
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    s += String.fromCharCode((x >>> 16) & 0xff);
  }
  return s;
}

/** key -> the encoding it must have on both servers. */
export const FIXTURE_ENCODINGS: Record<string, string> = {
  'str:int': 'int',
  'str:neg': 'int',
  'str:int64': 'int',
  'str:int32edge': 'int',
  'str:float': 'embstr',
  'str:embstr': 'embstr',
  'str:empty': 'embstr',
  'str:lzf': 'raw',
  'str:binary': 'raw',
  'str:big': 'raw',
  'list:small': 'quicklist',
  'list:big': 'quicklist',
  'list:bigelem': 'quicklist',
  'hash:listpack': 'listpack',
  'hash:ht-count': 'hashtable',
  'hash:ht-value': 'hashtable',
  'set:intset': 'intset',
  'set:intset64': 'intset',
  'set:ht': 'hashtable',
  'set:ht-count': 'hashtable',
  'zset:listpack': 'listpack',
  'zset:skiplist-count': 'skiplist',
  'zset:skiplist-member': 'skiplist',
  'stream:groups': 'stream',
  'stream:big': 'stream',
  'stream:empty-group': 'stream',
  'stream:all-deleted': 'stream',
};

export async function fillFixture(c: Redis): Promise<void> {
  await c.set('str:int', '12345');
  await c.set('str:neg', '-7');
  await c.set('str:int64', '-9223372036854775808');
  await c.set('str:int32edge', '2147483648');
  await c.set('str:float', '3.14');
  await c.set('str:embstr', 'hello world');
  await c.set('str:empty', '');
  await c.set('str:lzf', 'abcdefghij'.repeat(30));
  await c.set('str:binary', Buffer.from(noise(300, 1), 'latin1'));
  await c.set('str:big', Buffer.from(noise(200_000, 2), 'latin1'));

  await c.rpush('list:small', 'a', '1', '-300', '70000', '5000000000', 'x'.repeat(100), '', Buffer.from('\x00\xff\x80', 'latin1'));
  const big: string[] = [];
  for (let i = 0; i < 5000; i++) big.push(i % 3 === 0 ? String(i * 7919) : `element:${i}`);
  await c.rpush('list:big', ...big);
  await c.rpush('list:bigelem', 'small', Buffer.from(noise(20_000, 3), 'latin1'), 'tail');

  await c.hset('hash:listpack', 'f1', 'v1', 'n', '42', 'neg', '-1', 'empty', '', 'bin', Buffer.from('\x00\x01\xfe', 'latin1'));
  const hb: string[] = [];
  for (let i = 0; i < 600; i++) hb.push(`field:${i}`, i % 2 ? String(i) : `value:${i}`);
  await c.hset('hash:ht-count', ...hb);
  await c.hset('hash:ht-value', 'short', 'v', 'long', 'y'.repeat(65));

  await c.sadd('set:intset', 1, 2, 3, -100, 32767, -32768);
  await c.sadd('set:intset64', 1, 70000, 5000000000, -9223372036854775808n.toString(), '9223372036854775807');
  await c.sadd('set:ht', 'a', 'b', 'c', '1');
  const sb: string[] = [];
  for (let i = 0; i < 600; i++) sb.push(String(i * 3));
  await c.sadd('set:ht-count', ...sb);

  await c.zadd('zset:listpack', 1, 'one', 2.5, 'two.5', -3, 'minus', '1e20', 'big', 'inf', 'pinf', '-inf', 'ninf', 0.1, 'tenth', 7, '77');
  const zb: (string | number)[] = [];
  for (let i = 0; i < 200; i++) zb.push(i * 1.25 - 50, `member:${i}`);
  await c.zadd('zset:skiplist-count', ...zb);
  await c.zadd('zset:skiplist-member', 1, 'm'.repeat(65), 2, 'short');

  await c.xadd('stream:groups', '1-1', 'a', '1', 'b', 'two');
  await c.xadd('stream:groups', '1-2', 'a', '3', 'b', 'four');
  await c.xadd('stream:groups', '2-0', 'other', 'fields', 'n', '-5');
  await c.xadd('stream:groups', '3-0', 'a', 'x', 'b', 'y');
  await c.xadd('stream:groups', '5-0', 'a', 'x', 'b', 'y');
  await c.xdel('stream:groups', '3-0');
  await c.xgroup('CREATE', 'stream:groups', 'g1', '0');
  await c.xreadgroup('GROUP', 'g1', 'alice', 'COUNT', 2, 'STREAMS', 'stream:groups', '>');
  await c.xreadgroup('GROUP', 'g1', 'bob', 'COUNT', 1, 'STREAMS', 'stream:groups', '>');
  await c.xack('stream:groups', 'g1', '1-2');
  await c.xgroup('CREATE', 'stream:groups', 'g2', '$');
  await c.xgroup('CREATECONSUMER', 'stream:groups', 'g2', 'carol');
  await c.xgroup('CREATE', 'stream:groups', 'g0', '1-1', 'ENTRIESREAD', 1);
  const p = c.pipeline();
  for (let i = 0; i < 700; i++) p.xadd('stream:big', `${1000 + Math.floor(i / 3)}-${i % 3}`, 'k', `v${i}`, 'n', String(i), ...(i % 50 === 0 ? ['extra', 'x'.repeat(i)] : []));
  await p.exec();
  await c.xdel('stream:big', '1010-1', '1100-0');
  await c.xgroup('CREATE', 'stream:empty-group', 'g', '$', 'MKSTREAM');
  await c.xadd('stream:all-deleted', '7-7', 'f', 'v');
  await c.xdel('stream:all-deleted', '7-7');
}

/** What two servers with the same data answer for key: type, encoding and contents. */
export async function describeKey(c: Redis, key: string): Promise<unknown> {
  const type = await c.type(key);
  const enc = await c.call('OBJECT', 'ENCODING', key);
  const b = (x: Buffer) => x.toString('latin1');
  let v: unknown;
  if (type === 'string') v = b((await c.getBuffer(key))!);
  else if (type === 'list') v = (await c.lrangeBuffer(key, 0, -1)).map(b);
  else if (type === 'hash') v = (await c.hgetallBuffer(key)) && Object.entries(await c.hgetallBuffer(key)).map(([f, x]) => [f, b(x)]).sort();
  else if (type === 'set') v = (await c.smembersBuffer(key)).map(b).sort();
  else if (type === 'zset') v = await c.zrange(key, 0, -1, 'WITHSCORES');
  else if (type === 'stream') {
    const full = (await c.call('XINFO', 'STREAM', key, 'FULL')) as unknown[];
    // radix-tree-nodes counts Redis's rax internals, not data.
    const i = full.indexOf('radix-tree-nodes');
    if (i >= 0) full.splice(i, 2);
    v = [await c.xrange(key, '-', '+'), full];
  }
  return { type, enc, v };
}
