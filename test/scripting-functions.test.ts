/**
 * Redis 7.0 functions over real TCP, compared with the real redis-server:
 * FUNCTION LOAD/LIST/DELETE/FLUSH/DUMP/RESTORE/STATS/KILL/HELP, FCALL and
 * FCALL_RO, the load-time environment and register_function, flags, raw
 * reply bytes in RESP2 and RESP3, and through ioredis and node-redis.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import Redis from 'ioredis';
import { createClient, RESP_TYPES } from 'redis';
import { startServer, type TestServer } from './helpers/server.js';
import { rawReply, startRedis, type Oracle } from './helpers/redis-oracle.js';

vi.setConfig({ testTimeout: 60_000 });

let server: TestServer;
let oracle: Oracle;
let ours: Redis;
let theirs: Redis;

beforeAll(async () => {
  [server, oracle] = await Promise.all([startServer(['--save', '']), startRedis()]);
  ours = new Redis({ port: server.port, host: '127.0.0.1' });
  theirs = new Redis({ port: oracle.port, host: '127.0.0.1' });
});

afterAll(async () => {
  ours?.disconnect();
  theirs?.disconnect();
  await server?.stop();
  oracle?.stop();
});

beforeEach(async () => {
  await Promise.all([ours.call('FUNCTION', 'FLUSH'), theirs.call('FUNCTION', 'FLUSH'), ours.flushall(), theirs.flushall()]);
});

const lib = (name: string, body: string): string => `#!lua name=${name}\n${body}`;

/** Runs the same commands on both servers (fresh connection each, RESP2 and RESP3) and expects identical bytes. */
async function same(cmds: string[][], protos: (2 | 3)[] = [2, 3]): Promise<string[]> {
  const out: string[] = [];
  for (const proto of protos) {
    await Promise.all([ours.call('FUNCTION', 'FLUSH'), theirs.call('FUNCTION', 'FLUSH')]);
    for (const c of cmds) {
      const [a, b] = [await rawReply(server.port, proto, c), await rawReply(oracle.port, proto, c)];
      expect(a, `RESP${proto} ${JSON.stringify(c).slice(0, 200)}`).toBe(b);
      out.push(a);
    }
  }
  return out;
}

const F1 = lib('mylib', "redis.register_function('f1', function(keys, args) return redis.call('set', keys[1], args[1]) end)");
const NAMED = lib(
  'named',
  "redis.register_function{function_name='ro', callback=function(keys, args) return redis.call('get', keys[1]) end, flags={'no-writes', 'allow-stale'}, description='reads a key'}",
);

describe('FUNCTION LOAD and FCALL, byte for byte against redis-server', () => {
  it('load, call, list, stats, delete', async () => {
    const replies = await same([
      ['FUNCTION', 'LOAD', F1],
      ['FUNCTION', 'LOAD', NAMED],
      ['FCALL', 'f1', '1', 'k', 'v'],
      ['FCALL', 'F1', '1', 'k', 'v2'],
      ['FCALL_RO', 'ro', '1', 'k'],
      ['FCALL_RO', 'f1', '1', 'k', 'v'],
      ['FUNCTION', 'LIST', 'LIBRARYNAME', 'named'],
      ['FUNCTION', 'LIST', 'LIBRARYNAME', 'my*', 'WITHCODE'],
      ['FUNCTION', 'LIST', 'WITHCODE', 'LIBRARYNAME', 'nomatch*'],
      ['FUNCTION', 'STATS'],
      ['FUNCTION', 'DELETE', 'mylib'],
      ['FUNCTION', 'DELETE', 'mylib'],
      ['FCALL', 'f1', '0'],
      ['FUNCTION', 'LIST'],
      ['FUNCTION', 'STATS'],
    ]);
    expect(replies[0]).toBe('$5\r\nmylib\r\n+PONG\r\n');
    expect(replies[2]).toBe('+OK\r\n+PONG\r\n');
  });

  it('FUNCTION LOAD errors: metadata, names, engine, REPLACE, compile errors', async () => {
    await same([
      ['FUNCTION', 'LOAD', F1],
      ['FUNCTION', 'LOAD', F1],
      ['FUNCTION', 'LOAD', 'REPLACE', F1],
      ['FUNCTION', 'LOAD', 'foo', F1],
      ['FUNCTION', 'LOAD', 'no shebang'],
      ['FUNCTION', 'LOAD', '#!lua name=x'],
      ['FUNCTION', 'LOAD', '#!lua\nreturn 1'],
      ['FUNCTION', 'LOAD', '#!lua name=a name=b\nreturn 1'],
      ['FUNCTION', 'LOAD', '#!lua name=a foo=bar\nreturn 1'],
      ['FUNCTION', 'LOAD', '#!lua name=bad-name\nreturn 1'],
      ['FUNCTION', 'LOAD', '#!lua name=\nreturn 1'],
      ['FUNCTION', 'LOAD', '#!nosuch name=a\nreturn 1'],
      ['FUNCTION', 'LOAD', '#!LuA name=a\nredis.register_function("g", function() return 1 end)'],
      ['FUNCTION', 'LOAD', lib('b', 'return 1')],
      ['FUNCTION', 'LOAD', lib('b', "redis.register_function('f1', function() return 1 end)")],
      ['FUNCTION', 'LOAD', lib('b', "redis.register_function('x', function() return 1 end)\nredis.register_function('x', function() return 1 end)")],
      ['FUNCTION', 'LOAD', 'REPLACE', lib('mylib', "redis.register_function('f1', function() return 'new' end)\nredis.register_function('g', function() return 1 end)")],
      ['FCALL', 'f1', '0'],
      ['FUNCTION', 'STATS'],
    ]);
  });

  it('register_function argument errors and the restricted load-time environment', async () => {
    const bodies = [
      'redis.register_function()',
      "redis.register_function('f1')",
      "redis.register_function('f1', function() return 1 end, {}, 'x', 'y')",
      'redis.register_function(nil, function() return 1 end)',
      "redis.register_function('f', 'not a function')",
      "redis.register_function('a\\0b', function() return 1 end)",
      "redis.register_function('', function() return 1 end)",
      "redis.register_function{function_name=function() end, callback=function() return 1 end}",
      "redis.register_function{function_name='f', callback='x'}",
      "redis.register_function{function_name='f', callback=function() return 1 end, description=function() end}",
      "redis.register_function{function_name='f', callback=function() return 1 end, foo='bar'}",
      'redis.register_function{callback=function() return 1 end}',
      "redis.register_function{function_name='f'}",
      "redis.register_function{function_name='f', callback=function() return 1 end, flags='no-writes'}",
      "redis.register_function{function_name='f', callback=function() return 1 end, flags={'no-writes', 'bogus'}}",
      "redis.register_function{function_name='f', callback=function() return 1 end, flags={function() end}}",
      'return math.random()',
      "return redis.call('ping')",
      'return redis.setresp(3)',
      'return redis.set_repl(redis.REPL_NONE)',
      'a = 1',
      'local x = string.len("abc")',
      "redis.math.random()",
      'local a = 1 while true do a = a + 1 end',
    ];
    await same(bodies.map((b) => ['FUNCTION', 'LOAD', lib('bad', b)]), [2]);
  });

  it('load-time API: redis.log, LOG_* and REDIS_VERSION are there', async () => {
    await same([
      [
        'FUNCTION',
        'LOAD',
        lib(
          'v',
          "redis.log(redis.LOG_NOTICE, 'loading')\nlocal n = redis.REDIS_VERSION_NUM\nlocal v = redis.REDIS_VERSION\nredis.register_function('ver', function() return {n, v, redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING} end)",
        ),
      ],
      ['FCALL', 'ver', '0'],
    ]);
  });

  it('runtime errors name the function and the @user_function line', async () => {
    await same([
      [
        'FUNCTION',
        'LOAD',
        lib(
          'e',
          [
            "redis.register_function('unknown', function() return redis.call('nosuch') end)",
            "redis.register_function('wrongtype', function() redis.call('set', 'k', 'v'); return redis.call('lpush', 'k', 'x') end)",
            "redis.register_function('errtable', function() return redis.error_reply('MYERR custom') end)",
            "redis.register_function('again', function() redis.register_function('z', function() end) end)",
            "local t = redis\nredis.register_function('libtable', function() return t.foo end)",
            "redis.register_function('ro_write', function() return redis.call('set', 'x', '1') end)",
          ].join('\n'),
        ),
      ],
      ['FCALL', 'unknown', '0'],
      ['FCALL', 'wrongtype', '0'],
      ['FCALL', 'errtable', '0'],
      ['FCALL', 'libtable', '0'],
      ['FCALL_RO', 'ro_write', '0'],
    ]);
  });

  it('FCALL argument errors and KEYS/ARGV passing', async () => {
    await same([
      ['FUNCTION', 'LOAD', lib('kv', "redis.register_function('kv', function(keys, args) return {#keys, #args, keys[1] or false, args[1] or false} end)")],
      ['FCALL', 'kv', '0'],
      ['FCALL', 'kv', '2', 'a', 'b', 'c', 'd'],
      // rawReply writes its request as UTF-8: bytes >= 0x80 are tested through ioredis below.
      ['FCALL', 'kv', '1', 'a\x00b', 'x\r\ny'],
      ['FCALL', 'kv', 'x'],
      ['FCALL', 'kv', '3', 'a'],
      ['FCALL', 'kv', '-1'],
      ['FCALL', 'kv', '99999999999999999999'],
      ['FCALL', 'nosuch', '0'],
      ['FCALL', 'nosuch', 'x'],
      ['FCALL'],
      ['FCALL', 'kv'],
      ['COMMAND', 'GETKEYS', 'FCALL', 'kv', '2', 'a', 'b', 'c'],
      ['COMMAND', 'GETKEYS', 'FCALL_RO', 'kv', '1', 'a', 'b'],
      ['COMMAND', 'GETKEYS', 'FCALL', 'kv', '0', 'a'],
    ]);
  });

  it('flags: no-writes refuses writes, FCALL_RO refuses write functions', async () => {
    await same([
      ['FUNCTION', 'LOAD', lib('fl1', "redis.register_function{function_name='nw', callback=function() return redis.call('set', 'x', '1') end, flags={'no-writes'}}")],
      ['FUNCTION', 'LOAD', lib('fl2', "redis.register_function('w', function() return redis.call('set', 'x', '1') end)")],
      ['FUNCTION', 'LOAD', lib('fl3', "redis.register_function{function_name='all', callback=function() return 1 end, flags={'NO-WRITES', 'allow-oom', 'allow-stale', 'no-cluster', 'allow-cross-slot-keys'}}")],
      ['FCALL', 'nw', '0'],
      ['FCALL_RO', 'w', '0'],
      ['FCALL', 'w', '0'],
      ['FCALL_RO', 'all', '0'],
      // One library per LIST: Redis lists libraries in the order of its (randomly seeded) dict.
      ['FUNCTION', 'LIST', 'LIBRARYNAME', 'fl1'],
      ['FUNCTION', 'LIST', 'LIBRARYNAME', 'fl2'],
      ['FUNCTION', 'LIST', 'LIBRARYNAME', 'fl3'],
    ]);
  });

  it('over maxmemory: a function that may write is refused as a denyoom write; no-writes and allow-oom ones run', async () => {
    const code = lib(
      'om',
      "redis.register_function('w', function() return redis.call('set', 'x', '1') end)\nredis.register_function{function_name='nw', callback=function() return 1 end, flags={'no-writes'}}\nredis.register_function{function_name='ao', callback=function() return redis.call('set', 'x', '1') end, flags={'allow-oom'}}",
    );
    try {
      await same(
        [
          ['FUNCTION', 'LOAD', code],
          ['CONFIG', 'SET', 'maxmemory', '1'],
          ['FCALL', 'w', '0'],
          ['FCALL', 'nw', '0'],
          ['FCALL', 'ao', '0'],
          ['FCALL_RO', 'nw', '0'],
          ['FUNCTION', 'LOAD', lib('om2', "redis.register_function('w2', function() return 1 end)")],
          ['CONFIG', 'SET', 'maxmemory', '0'],
        ],
        [2],
      );
    } finally {
      await Promise.all([ours.config('SET', 'maxmemory', '0'), theirs.config('SET', 'maxmemory', '0')]);
    }
  });

  it('binary-safe keys and arguments (ioredis Buffers)', async () => {
    await ours.call('FUNCTION', 'LOAD', lib('bin', "redis.register_function('echo', function(keys, args) redis.call('set', keys[1], args[1]) return {keys[1], redis.call('get', keys[1])} end)"));
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const key = Buffer.from([0, 0xff, 0x80, 13, 10]);
    expect(await ours.callBuffer('FCALL', 'echo', '1', key, all)).toEqual([key, all]);
    expect(await ours.getBuffer(key)).toEqual(all);
  });

  it('FUNCTION FLUSH/RESTORE/LIST/HELP argument errors', async () => {
    await same([
      ['FUNCTION', 'FLUSH', 'bad'],
      ['FUNCTION', 'FLUSH', 'sync', 'extra'],
      ['FUNCTION', 'FLUSH', 'ASYNC'],
      ['FUNCTION', 'RESTORE', 'bad_payload'],
      ['FUNCTION', 'RESTORE', 'a', 'b', 'c'],
      ['FUNCTION', 'RESTORE', 'x', 'bogus'],
      ['FUNCTION', 'LIST', 'bad'],
      ['FUNCTION', 'LIST', 'LIBRARYNAME'],
      ['FUNCTION', 'LIST', 'WITHCODE', 'WITHCODE'],
      ['FUNCTION', 'LIST', 'LIBRARYNAME', 'a', 'LIBRARYNAME', 'b'],
      ['FUNCTION', 'KILL'],
      ['FUNCTION', 'BOGUS'],
      ['FUNCTION'],
      ['FUNCTION', 'DELETE'],
      ['FUNCTION', 'HELP'],
    ]);
  });

  it('FLUSHALL and FLUSHDB keep functions; FUNCTION FLUSH removes them', async () => {
    await ours.call('FUNCTION', 'LOAD', F1);
    await ours.flushall();
    await ours.flushdb();
    expect(await ours.call('FCALL', 'f1', '1', 'k', 'v')).toBe('OK');
    await ours.call('FUNCTION', 'FLUSH', 'SYNC');
    await expect(ours.call('FCALL', 'f1', '1', 'k', 'v')).rejects.toThrow('ERR Function not found');
  });

  it('INFO memory counts functions and libraries', async () => {
    await ours.call('FUNCTION', 'LOAD', F1);
    await ours.call('FUNCTION', 'LOAD', NAMED);
    const info = await ours.info('memory');
    expect(info).toMatch(/^number_of_functions:2\r?$/m);
    expect(info).toMatch(/^number_of_libraries:2\r?$/m);
    expect(Number(/^used_memory_vm_functions:(\d+)/m.exec(info)![1])).toBeGreaterThan(0);
    expect(Number(/^used_memory_functions:(\d+)/m.exec(info)![1])).toBeGreaterThan(0);
  });
});

describe('FUNCTION DUMP / RESTORE payloads are Redis 7.0 RDB payloads', () => {
  const libs = [
    F1,
    NAMED,
    lib('big', `local s = '${'0123456789abcdef'.repeat(400)}'\nredis.register_function('big', function() return #s end)`),
    lib('tiny', "redis.register_function('t', function() return 't' end)"),
  ];

  async function dump(c: Redis): Promise<Buffer> {
    return (await c.callBuffer('FUNCTION', 'DUMP')) as Buffer;
  }

  it('each library dumps to the same bytes as redis-server (LZF, CRC64, RDB version 10)', async () => {
    for (const code of libs) {
      await Promise.all([ours.call('FUNCTION', 'FLUSH'), theirs.call('FUNCTION', 'FLUSH')]);
      await ours.call('FUNCTION', 'LOAD', code);
      await theirs.call('FUNCTION', 'LOAD', code);
      const [a, b] = [await dump(ours), await dump(theirs)];
      expect(a.equals(b), code.slice(0, 40)).toBe(true);
    }
    await Promise.all([ours.call('FUNCTION', 'FLUSH'), theirs.call('FUNCTION', 'FLUSH')]);
    expect((await dump(ours)).equals(await dump(theirs))).toBe(true);
  });

  it('a dump from redis-server restores here, and ours restores on redis-server', async () => {
    for (const code of libs) await theirs.call('FUNCTION', 'LOAD', code);
    const payload = await dump(theirs);
    expect(await ours.call('FUNCTION', 'RESTORE', payload)).toBe('OK');
    expect(await ours.call('FCALL', 'big', '0')).toBe(6400 + 0 * 1);
    expect(await ours.call('FCALL_RO', 'ro', '1', 'nokey')).toBeNull();
    const listed = async (c: Redis) => JSON.stringify(((await c.call('FUNCTION', 'LIST', 'WITHCODE')) as unknown[][]).map((l) => l.map(String)).sort());
    expect(await listed(ours)).toBe(await listed(theirs));

    const back = await dump(ours);
    await theirs.call('FUNCTION', 'FLUSH');
    expect(await theirs.call('FUNCTION', 'RESTORE', back)).toBe('OK');
    expect(await listed(theirs)).toBe(await listed(ours));
  });

  it('RESTORE policies APPEND, REPLACE and FLUSH, and collisions leave everything as it was', async () => {
    const three = lib('lib1', "redis.register_function('f1', function() return 1 end)\nredis.register_function('f3', function() return 3 end)");
    let stringDump = Buffer.alloc(0);
    const script = async (c: Redis): Promise<unknown[]> => {
      const out: unknown[] = [];
      const step = async (...args: (string | Buffer)[]) => {
        try {
          out.push(await c.call(args[0] as string, ...args.slice(1)));
        } catch (e) {
          out.push(`error: ${(e as Error).message}`);
        }
      };
      await c.call('FUNCTION', 'FLUSH');
      await c.call('FUNCTION', 'LOAD', three);
      const payload = (await c.callBuffer('FUNCTION', 'DUMP')) as Buffer;
      await c.call('FUNCTION', 'FLUSH');
      await step('FUNCTION', 'LOAD', lib('lib1', "redis.register_function('f6', function() return 6 end)"));
      await step('FUNCTION', 'LOAD', lib('lib2', "redis.register_function('f3', function() return 33 end)"));
      await step('FUNCTION', 'RESTORE', payload);
      await step('FUNCTION', 'RESTORE', payload, 'APPEND');
      await step('FUNCTION', 'RESTORE', payload, 'REPLACE');
      await step('FCALL', 'f3', '0');
      await step('FCALL', 'f6', '0');
      await step('FUNCTION', 'STATS');
      await step('FUNCTION', 'RESTORE', payload, 'FLUSH');
      await step('FCALL', 'f3', '0');
      await step('FCALL', 'f6', '0');
      await step('FUNCTION', 'STATS');
      await step('FUNCTION', 'DELETE', 'lib2');
      await step('FUNCTION', 'RESTORE', payload, 'REPLACE');
      await step('FCALL', 'f1', '0');
      // A damaged payload: one byte of code changed, CRC unchanged.
      const bad = Buffer.from(payload);
      bad[5] ^= 1;
      await step('FUNCTION', 'RESTORE', bad);
      // A payload of another RDB type: redis-server's DUMP of a string key.
      await step('FUNCTION', 'RESTORE', stringDump);
      return out;
    };
    await theirs.set('s', 'v');
    stringDump = (await theirs.callBuffer('DUMP', 's')) as Buffer;
    const theirsOut = await script(theirs);
    const oursOut = await script(ours);
    expect(oursOut).toEqual(theirsOut);
  });
});

describe('clients', () => {
  it('ioredis: fcall, fcall_ro and function list', async () => {
    expect(await ours.call('FUNCTION', 'LOAD', F1)).toBe('mylib');
    expect(await ours.fcall('f1', 1, 'key', 'value')).toBe('OK');
    expect(await ours.get('key')).toBe('value');
    await ours.call('FUNCTION', 'LOAD', NAMED);
    expect(await ours.fcall_ro('ro', 1, 'key')).toBe('value');
    const list = (await ours.call('FUNCTION', 'LIST', 'LIBRARYNAME', 'named')) as unknown[];
    expect(list).toEqual([['library_name', 'named', 'engine', 'LUA', 'functions', [['name', 'ro', 'description', 'reads a key', 'flags', ['no-writes', 'allow-stale']]]]]);
  });

  it('node-redis (RESP3): functionLoad, fCall, fCallRo, functionList, functionDump/Restore', async () => {
    const c = createClient({ socket: { port: server.port, host: '127.0.0.1' }, RESP: 3 });
    await c.connect();
    try {
      expect(await c.functionLoad(F1)).toBe('mylib');
      expect(await c.functionLoad(NAMED)).toBe('named');
      expect(await c.fCall('f1', { keys: ['nk'], arguments: ['nv'] })).toBe('OK');
      expect(await c.fCallRo('ro', { keys: ['nk'] })).toBe('nv');
      const list = await c.functionList({ LIBRARYNAME: 'named' });
      expect(JSON.stringify(list)).toContain('reads a key');
      const bin = c.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
      const payload = await bin.functionDump();
      expect(Buffer.isBuffer(payload)).toBe(true);
      await c.functionFlush();
      expect(await c.functionRestore(payload)).toBe('OK');
      expect(await c.fCallRo('ro', { keys: ['nk'] })).toBe('nv');
      await expect(c.fCallRo('f1', { keys: ['nk'], arguments: ['x'] })).rejects.toThrow('Can not execute a script with write flag using *_ro command');
    } finally {
      await c.quit();
    }
  });
});
