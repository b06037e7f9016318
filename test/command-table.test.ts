/**
 * The command table against redis-server 7.0.15's, entry by entry: COMMAND
 * LIST, COUNT, INFO (every field, in RESP2 through ioredis and byte for byte
 * in RESP3, where key specs are maps and flags sets), DOCS, and
 * GETKEYS/GETKEYSANDFLAGS on invocations of every command that has keys.
 * Cluster-aware clients and proxies route by these replies and ACL key
 * permissions follow the key-spec flags, so "close" is not good enough.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Redis from 'ioredis';
import { startServer, type TestServer } from './helpers/server.js';
import { startRedis, rawReply, type Oracle } from './helpers/redis-oracle.js';

/** Redis 7.0 commands this server does not have, and why: each must be absent here, never a stub. */
const ABSENT: Record<string, string> = {
  bgrewriteaof: 'no append-only file: persistence is snapshots only',
  psync: 'no replication protocol: the server is always a master without replicas',
  sync: 'no replication protocol',
  replconf: 'no replication protocol',
  failover: 'no replication protocol, so no replica to fail over to',
};
/** Commands this server has beyond Redis 7.0.15, and why. */
const EXTRA: Record<string, string> = {
  'client|setinfo': 'Redis 7.2: node-redis and ioredis send it at connect, and CLIENT LIST shows what it set',
};

let srv: TestServer;
let redis: Oracle;
let ours: Redis;
let real: Redis;
let ourList: string[];
let realList: string[];

beforeAll(async () => {
  [srv, redis] = await Promise.all([startServer(), startRedis()]);
  ours = new Redis(srv.port, '127.0.0.1', { lazyConnect: true });
  real = new Redis(redis.port, '127.0.0.1', { lazyConnect: true });
  await Promise.all([ours.connect(), real.connect()]);
  ourList = (await ours.call('COMMAND', 'LIST')) as string[];
  realList = (await real.call('COMMAND', 'LIST')) as string[];
});
afterAll(async () => {
  ours?.disconnect();
  real?.disconnect();
  redis?.stop();
  await srv?.stop();
});

const parent = (name: string) => name.split('|')[0];
const isAbsent = (name: string) => ABSENT[name] !== undefined || ABSENT[parent(name)] !== undefined;

/** Both servers' answer to one command: the reply, or the error text. */
async function both(args: string[]): Promise<[unknown, unknown]> {
  const run = (c: Redis) => c.call(args[0], ...args.slice(1)).catch((e: Error) => `ERROR: ${e.message}`);
  return Promise.all([run(ours), run(real)]);
}

describe('COMMAND LIST and COUNT', () => {
  it('has every Redis 7.0 command but the listed exceptions, and nothing else unlisted', () => {
    const missing = realList.filter((c) => !ourList.includes(c)).sort();
    const extra = ourList.filter((c) => !realList.includes(c)).sort();
    expect(missing).toEqual(realList.filter(isAbsent).sort());
    expect(extra).toEqual(Object.keys(EXTRA).sort());
    for (const name of Object.keys(ABSENT)) expect(ourList).not.toContain(name);
  });

  it('counts the top-level commands', async () => {
    const [o, r] = await both(['COMMAND', 'COUNT']);
    expect(r).toBe(240);
    const absentTop = Object.keys(ABSENT).filter((n) => !n.includes('|')).length;
    const extraTop = Object.keys(EXTRA).filter((n) => !n.includes('|')).length;
    expect(o).toBe(240 - absentTop + extraTop);
  });

  it('an absent command is unknown, not a stub', async () => {
    for (const name of Object.keys(ABSENT)) {
      await expect(ours.call(name)).rejects.toThrow(/unknown command/);
      expect(await ours.call('COMMAND', 'INFO', name)).toEqual([null]);
    }
  });
});

const FIELDS = ['name', 'arity', 'flags', 'first key', 'last key', 'step', 'ACL categories', 'tips', 'key specs', 'subcommands'];

describe('COMMAND INFO', () => {
  it('matches redis-server field by field for every command and subcommand (RESP2)', async () => {
    const shared = ourList.filter((n) => realList.includes(n));
    expect(shared.length).toBeGreaterThan(200);
    for (const name of shared) {
      const [[o], [r]] = (await both(['COMMAND', 'INFO', name])) as [unknown[][], unknown[][]];
      for (let i = 0; i < 9; i++) expect.soft(o[i], `${name}: ${FIELDS[i]}`).toEqual(r[i]);
      // Subcommands are compared on their own entries; here only which exist.
      const subs = (x: unknown[]) => ((x[9] as unknown[][]) ?? []).map((s) => s[0] as string).filter((s) => !EXTRA[s]).sort();
      expect.soft(subs(o), `${name}: subcommands`).toEqual(subs(r));
    }
  });

  it('is byte for byte the same in RESP3 (maps and sets where Redis has them)', async () => {
    // Containers list their subcommands in the order of a dict Redis seeds at random on each start: their entries are compared one by one instead.
    const shared = ourList.filter((n) => realList.includes(n) && !ourList.some((s) => s.startsWith(n + '|')));
    for (const name of shared) {
      const [o, r] = await Promise.all([rawReply(srv.port, 3, ['COMMAND', 'INFO', name]), rawReply(redis.port, 3, ['COMMAND', 'INFO', name])]);
      expect.soft(o, name).toBe(r);
    }
  });

  it('shows key-spec flags that say what the command does to each key', async () => {
    // The example in issue 15: LMOVE's source is RW access delete, its destination RW insert.
    const [lmove] = (await ours.call('COMMAND', 'INFO', 'lmove')) as unknown[][];
    const specs = lmove[8] as unknown[][];
    expect(specs.map((s) => s[1])).toEqual([
      ['RW', 'access', 'delete'],
      ['RW', 'insert'],
    ]);
  });
});

describe('COMMAND DOCS', () => {
  it('is redis-server\'s for every command: summary, since, group, complexity, doc flags, history, and arguments where we document them', async () => {
    const asMap = (reply: unknown[]) => {
      const doc = reply[1] as unknown[];
      const m = new Map<string, unknown>();
      for (let i = 0; i < doc.length; i += 2) m.set(doc[i] as string, doc[i + 1]);
      // Subcommands come in Redis's random dict order; each is compared on its own.
      m.delete('subcommands');
      return m;
    };
    let withArgs = 0;
    for (const name of ourList.filter((n) => realList.includes(n))) {
      const [o, r] = (await both(['COMMAND', 'DOCS', name])).map((x) => asMap(x as unknown[]));
      if (o.has('arguments')) withArgs++;
      else r.delete('arguments');
      expect.soft(Object.fromEntries(o), name).toEqual(Object.fromEntries(r));
    }
    expect(withArgs).toBeGreaterThan(50);
  });
});

/**
 * Invocations of commands whose keys depend on the arguments (keyword and
 * key-count specs, movable keys): the edges are a count of 0, a keyword
 * missing or repeated, and counts that run past the arguments.
 */
const MOVABLE: string[][] = [
  ['LMPOP', '2', 'a', 'b', 'LEFT'],
  ['LMPOP', '1', 'a', 'RIGHT', 'COUNT', '2'],
  ['LMPOP', '3', 'a', 'b', 'LEFT'],
  ['LMPOP', '0', 'a', 'LEFT'],
  ['BLMPOP', '0', '2', 'a', 'b', 'LEFT'],
  ['SINTERCARD', '2', 'a', 'b'],
  ['SINTERCARD', '2', 'a', 'b', 'LIMIT', '3'],
  ['SINTERCARD', 'x', 'a'],
  ['ZMPOP', '2', 'a', 'b', 'MIN'],
  ['BZMPOP', '1', '1', 'a', 'MAX', 'COUNT', '3'],
  ['ZUNION', '2', 'a', 'b', 'WEIGHTS', '1', '2'],
  ['ZINTER', '3', 'a', 'b', 'c'],
  ['ZINTER', '5', 'a', 'b'],
  ['ZDIFF', '2', 'a', 'b', 'WITHSCORES'],
  ['ZINTERCARD', '2', 'a', 'b', 'LIMIT', '0'],
  ['ZUNIONSTORE', 'd', '2', 'a', 'b'],
  ['ZUNIONSTORE', 'd', '-1', 'a', 'b'],
  ['ZINTERSTORE', 'd', '3', 'a', 'b', 'c', 'AGGREGATE', 'MAX'],
  ['ZDIFFSTORE', 'd', '1', 'a'],
  ['GEORADIUS', 'g', '1', '2', '3', 'km'],
  ['GEORADIUS', 'g', '1', '2', '3', 'km', 'STORE', 'd'],
  ['GEORADIUS', 'g', '1', '2', '3', 'km', 'STOREDIST', 'd'],
  ['GEORADIUS', 'g', '1', '2', '3', 'km', 'STORE', 'd1', 'STOREDIST', 'd2'],
  ['GEORADIUSBYMEMBER', 'g', 'm', '3', 'km', 'STORE', 'd'],
  ['GEORADIUSBYMEMBER', 'g', 'm', '3', 'km', 'WITHDIST'],
  ['SORT', 'a'],
  ['SORT', 'a', 'BY', 'w_*', 'GET', '#', 'STORE', 'd'],
  ['SORT', 'a', 'STORE', 'd1', 'STORE', 'd2'],
  ['SORT', 'a', 'LIMIT', '0', '1', 'STORE', 'd'],
  ['SORT_RO', 'a', 'BY', 'w_*'],
  ['XREAD', 'STREAMS', 's1', 's2', '0', '0'],
  ['XREAD', 'COUNT', '2', 'BLOCK', '0', 'STREAMS', 's1', '$'],
  ['XREAD', 'STREAMS', 's1', 's2', '0'],
  ['XREADGROUP', 'GROUP', 'g', 'c', 'STREAMS', 's1', '>'],
  ['XREADGROUP', 'GROUP', 'g', 'c', 'COUNT', '1', 'NOACK', 'STREAMS', 's1', 's2', '>', '>'],
  ['EVAL', 'return 1', '2', 'a', 'b', 'x'],
  ['EVAL', 'return 1', '0'],
  ['EVALSHA', 'abc', '1', 'a'],
  ['EVAL_RO', 'return 1', '1', 'a'],
  ['EVALSHA_RO', 'abc', '2', 'a', 'b'],
  ['FCALL', 'f', '1', 'a', 'x'],
  ['FCALL', 'f', '0'],
  ['FCALL_RO', 'f', '2', 'a', 'b'],
  ['MIGRATE', 'h', '1', 'k', '0', '100'],
  ['MIGRATE', 'h', '1', '', '0', '100', 'KEYS', 'a', 'b'],
  ['MIGRATE', 'h', '1', '', '0', '100', 'COPY', 'REPLACE', 'AUTH', 'pw', 'KEYS', 'a'],
  ['MIGRATE', 'h', '1', '', '0', '100', 'COPY'],
  ['SET', 'k', 'v'],
  ['SET', 'k', 'v', 'GET'],
  ['SET', 'k', 'v', 'EX', '10', 'get'],
  ['BITFIELD', 'k', 'GET', 'u8', '0'],
  ['BITFIELD', 'k', 'GET', 'u8', '0', 'SET', 'u8', '0', '1'],
  ['BITFIELD', 'k', 'OVERFLOW', 'SAT', 'INCRBY', 'u8', '0', '1'],
  ['BITFIELD_RO', 'k', 'GET', 'u8', '0'],
  ['MSET', 'a', '1', 'b', '2'],
  ['MSETNX', 'a', '1', 'b', '2', 'c', '3'],
  ['BLPOP', 'a', 'b', '0'],
  ['OBJECT', 'ENCODING', 'k'],
  ['MEMORY', 'USAGE', 'k', 'SAMPLES', '5'],
  ['XINFO', 'STREAM', 's', 'FULL'],
  ['XGROUP', 'CREATE', 's', 'g', '$', 'MKSTREAM'],
  ['SPUBLISH', 'ch', 'm'],
  ['PUBLISH', 'ch', 'm'],
  ['COMMAND', 'INFO'],
  ['NOSUCHCOMMAND', 'a'],
  ['GET'],
  ['GET', 'a', 'b'],
];

/** An invocation of a command with fixed key positions: `n` arguments named after their place. */
function plain(name: string, arity: number): string[][] {
  const words = name.split('|');
  const n = Math.abs(arity) - words.length;
  const args = (k: number) => Array.from({ length: k }, (_, i) => `a${i + 1}`);
  return arity < 0 ? [[...words, ...args(n)], [...words, ...args(n + 3)]] : [[...words, ...args(n)]];
}

describe('COMMAND GETKEYS and GETKEYSANDFLAGS', () => {
  it('find the same keys with the same flags as redis-server, for every command with keys', async () => {
    const invocations = [...MOVABLE];
    for (const name of ourList.filter((n) => realList.includes(n))) {
      const [info] = (await real.call('COMMAND', 'INFO', name)) as unknown[][];
      if ((info[8] as unknown[]).length === 0 && !(info[2] as string[]).includes('movablekeys')) continue;
      const hasCase = MOVABLE.some((m) => m.slice(0, name.split('|').length).join('|').toLowerCase() === name);
      if ((info[2] as string[]).includes('movablekeys') || JSON.stringify(info[8]).match(/keyword|keynum|unknown/)) {
        expect(hasCase, `${name} needs a hand-written invocation`).toBe(true);
        continue;
      }
      invocations.push(...plain(name, info[1] as number));
    }
    expect(invocations.length).toBeGreaterThan(200);
    for (const argv of invocations) {
      const [o, r] = await both(['COMMAND', 'GETKEYSANDFLAGS', ...argv]);
      expect.soft(o, argv.join(' ')).toEqual(r);
      const [ko, kr] = await both(['COMMAND', 'GETKEYS', ...argv]);
      expect.soft(ko, 'GETKEYS ' + argv.join(' ')).toEqual(kr);
    }
  });

  it('answers RESP3 with sets of flags, as redis-server', async () => {
    const argv = ['COMMAND', 'GETKEYSANDFLAGS', 'LMOVE', 'a', 'b', 'LEFT', 'RIGHT'];
    const [o, r] = await Promise.all([rawReply(srv.port, 3, argv), rawReply(redis.port, 3, argv)]);
    expect(o).toBe(r);
    expect(o).toContain('~3\r\n+RW\r\n+access\r\n+delete\r\n');
  });
});
