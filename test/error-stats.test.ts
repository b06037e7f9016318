/**
 * INFO errorstats, total_error_replies and commandstats' rejected_calls /
 * failed_calls, compared with the real redis-server 7.0 after the same
 * commands: plain command errors, refusals before a command runs, MULTI/EXEC,
 * scripts (errors counted once, whether raised by redis.call, returned from
 * redis.pcall or made by redis.error_reply), blocked clients, and CONFIG
 * RESETSTAT.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { startServer, until, type TestServer } from './helpers/server.js';
import { startRedis, type Oracle } from './helpers/redis-oracle.js';

// No CLIENT SETINFO at connect: Redis 7.0 answers it with an error, which would be counted.
const OPTS = { lazyConnect: true, maxRetriesPerRequest: 0, disableClientInfo: true };
let srv: TestServer;
let oracle: Oracle;
let ours: Redis;
let theirs: Redis;
beforeAll(async () => {
  [srv, oracle] = await Promise.all([startServer(), startRedis()]);
  ours = new Redis(srv.port, OPTS);
  theirs = new Redis(oracle.port, OPTS);
  await Promise.all([ours.connect(), theirs.connect()]);
});
afterAll(async () => {
  ours?.disconnect();
  theirs?.disconnect();
  oracle?.stop();
  await srv?.stop();
});

/** What the counters say, without timings: errorstat lines, the two totals, and calls/rejected/failed per command. */
async function counters(r: Redis): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const info = (await r.info('everything')).split('\r\n');
  for (const line of info) {
    const m = /^(errorstat_[^:]+|total_error_replies|unexpected_error_replies):(.*)$/.exec(line);
    if (m) out[m[1]] = m[2];
    const c = /^cmdstat_([^:]+):calls=(\d+),.*rejected_calls=(\d+),failed_calls=(\d+)$/.exec(line);
    if (c && c[1] !== 'info') out['cmdstat_' + c[1]] = `calls=${c[2]},rejected_calls=${c[3]},failed_calls=${c[4]}`;
  }
  return out;
}

type Step = (r: Redis) => Promise<unknown>;
const cmd =
  (...args: (string | number)[]): Step =>
  (r) =>
    r.call(String(args[0]), ...args.slice(1).map(String)).catch((e: Error) => 'error: ' + e.message);

/** Runs the steps on both servers after CONFIG RESETSTAT; the replies and the counters must be Redis's. */
async function same(steps: Step[]): Promise<Record<string, string>> {
  const results: [unknown[], Record<string, string>][] = [];
  for (const r of [ours, theirs]) {
    await r.call('config', 'resetstat');
    const replies: unknown[] = [];
    for (const s of steps) replies.push(await s(r));
    results.push([replies, await counters(r)]);
  }
  expect(results[0][0]).toEqual(results[1][0]);
  expect(results[0][1]).toEqual(results[1][1]);
  return results[0][1];
}

describe('error stats', () => {
  it('counts plain command errors by code, and a refusal before the command ran as rejected', async () => {
    const c = await same([
      cmd('set', 'es:k'),
      cmd('nosuchcommand', 'a'),
      cmd('set', 'es:s', 'x'),
      cmd('lpush', 'es:s', 'y'),
      cmd('incr', 'es:s'),
      cmd('object', 'nosuchsub'),
      cmd('xgroup', 'createconsumer', 'es:s', 'g', 'c'),
      cmd('auth', 'nopass'),
      cmd('evalsha', 'ffffffffffffffffffffffffffffffffffffffff', 0),
      cmd('set', 'es:k', 'v'),
    ]);
    expect(c['errorstat_WRONGTYPE']).toBe('count=2');
    expect(c['cmdstat_set']).toBe('calls=2,rejected_calls=1,failed_calls=0');
  });

  it('counts MULTI/EXEC as Redis does: queued refusals, EXECABORT, errors inside EXEC', async () => {
    await same([cmd('multi'), cmd('set', 'es:m'), cmd('exec')]);
    await same([cmd('multi'), cmd('set', 'es:m', '1'), cmd('auth', 'x'), cmd('incr', 'es:m'), cmd('exec'), cmd('exec')]);
    await same([cmd('set', 'es:w', 'x'), cmd('multi'), cmd('lpush', 'es:w', 'a'), cmd('exec')]);
  });

  it('counts an error inside a script once, and the script as failed only when it passes the error on', async () => {
    const c = await same([
      cmd('eval', "return redis.call('select', 99)", 0),
      cmd('eval', "local t = redis.pcall('select', 99) return t['err']", 0),
      cmd('eval', "return redis.pcall('select', 99)", 0),
      cmd('eval', "return {1, redis.pcall('select', 99), redis.error_reply('X y')}", 0),
      cmd('eval', "return redis.call('nosuchcommand')", 0),
      cmd('eval', "return redis.pcall('get')", 0),
      cmd('eval', "return redis.call('multi')", 0),
      cmd('eval_ro', "return redis.call('set', KEYS[1], 'y')", 1, 'es:ro'),
      cmd('eval_ro', "return redis.pcall('set', KEYS[1], 'y')['err']", 1, 'es:ro'),
      cmd('eval', "error('boom')", 0),
      cmd('eval', "error({err='CUSTOM raised'})", 0),
      cmd('eval', "return redis.call()", 0),
      cmd('eval', 'return 1'),
    ]);
    expect(c['cmdstat_select']).toBe('calls=4,rejected_calls=0,failed_calls=4');
  });

  it('counts FCALL like EVAL, and a script inside MULTI/EXEC against the script only', async () => {
    const lib = "#!lua name=eslib\nredis.register_function('es_fail', function(keys, args) return redis.call('select', 99) end)\nredis.register_function('es_ret', function(keys, args) return redis.error_reply('LIBERR x') end)";
    for (const r of [ours, theirs]) await r.call('function', 'load', 'replace', lib);
    await same([
      cmd('fcall', 'es_fail', 0),
      cmd('fcall', 'es_ret', 0),
      cmd('fcall', 'nosuchfunction', 0),
      cmd('multi'),
      cmd('eval', "return redis.call('select', 99)", 0),
      cmd('fcall', 'es_ret', 0),
      cmd('exec'),
    ]);
  });

  it("takes the code from redis.error_reply's text: first word, ERR when none within 32 bytes, unsafe characters replaced", async () => {
    const c = await same([
      cmd('eval', "return redis.error_reply('MY_ERR_CODE custom msg')", 0),
      cmd('eval', "return redis.error_reply('')", 0),
      cmd('eval', "return redis.error_reply('NOSPACE')", 0),
      cmd('eval', "return redis.error_reply('A23456789012345678901234567890X has no code')", 0),
      cmd('eval', "return redis.error_reply('A2345678901234567890123456789X has a code')", 0),
      cmd('eval', "return redis.error_reply('CO:DE#1 odd')", 0),
      cmd('eval', "return {err='RAW table'}", 0),
      cmd('eval', "return {err='FAKE not ignored', ignore_error_stats_update=1}", 0),
      cmd('eval', "return {err='FAKE2 ignored', ignore_error_stats_update=true}", 0),
      cmd('eval', "return redis.status_reply('MY_OK_CODE fine')", 0),
    ]);
    expect(c['errorstat_MY_ERR_CODE']).toBe('count=1');
    expect(c['errorstat_FAKE2']).toBeUndefined();
  });

  it('counts refusals under maxmemory, also for commands a script runs', async () => {
    const steps = [
      cmd('config', 'set', 'maxmemory', 1),
      cmd('set', 'es:o', 'x'),
      cmd('eval', "return redis.call('set', KEYS[1], 'y')", 1, 'es:o'),
      cmd('eval', "return redis.pcall('set', KEYS[1], 'y')", 1, 'es:o'),
      cmd('eval', "local t = redis.pcall('set', KEYS[1], 'y') return 1", 1, 'es:o'),
      cmd('config', 'set', 'maxmemory', 0),
    ];
    try {
      const c = await same(steps);
      expect(c['errorstat_OOM']).toBe('count=4');
    } finally {
      await Promise.all([ours.config('SET', 'maxmemory', '0'), theirs.config('SET', 'maxmemory', '0')]);
    }
  });

  it('counts the error a blocked client gets from CLIENT UNBLOCK against its command', async () => {
    const step: Step = async (r) => {
      const b = r.duplicate();
      try {
        const id = (await b.client('ID')) as number;
        const pending = b.blpop('es:empty', 0).catch((e: Error) => 'error: ' + e.message);
        await until(async () => ((await r.call('client', 'list', 'id', String(id))) as string).includes('cmd=blpop'), 'client blocked');
        await r.call('client', 'unblock', String(id), 'error');
        return await pending;
      } finally {
        b.disconnect();
      }
    };
    const c = await same([step]);
    expect(c['cmdstat_blpop']).toBe('calls=1,rejected_calls=0,failed_calls=1');
  });

  it('CONFIG RESETSTAT clears the error counters', async () => {
    for (const r of [ours, theirs]) await r.call('nosuchcommand').catch(() => {});
    const c = await same([]);
    expect(Object.keys(c).filter((k) => k.startsWith('errorstat_'))).toEqual([]);
    expect(c['total_error_replies']).toBe('0');
  });
});
