/**
 * Function libraries in snapshots: saved with the keys, restored at boot
 * before data is served, and DEBUG RELOAD's FLUSH / NOFLUSH / MERGE rules
 * for them. Also a busy function: BUSY for others, FUNCTION STATS while it
 * runs, SCRIPT KILL refused, FUNCTION KILL ends it.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import Redis from 'ioredis';
import { startServer, until, type TestServer } from './helpers/server.js';

vi.setConfig({ testTimeout: 60_000 });

const servers: TestServer[] = [];
const clients: Redis[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.disconnect();
  for (const s of servers.splice(0)) await s.stop();
});

async function start(flags: string[], keepDir = false): Promise<TestServer> {
  const s = await startServer(['--save', '', ...flags], { keepDir });
  servers.push(s);
  return s;
}

function client(port: number): Redis {
  const c = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
  c.on('error', () => {});
  clients.push(c);
  return c;
}

const lib = (name: string, body: string): string => `#!lua name=${name}\n${body}`;
const LIB1 = lib('lib1', "redis.register_function{function_name='hello', callback=function(keys, args) return 'hello ' .. args[1] end, flags={'no-writes'}, description='greets'}");
const LIB2 = lib('lib2', "redis.register_function('incr2', function(keys) return redis.call('incrby', keys[1], 2) end)");

const listed = async (c: Redis): Promise<string> => JSON.stringify(((await c.call('FUNCTION', 'LIST', 'WITHCODE')) as unknown[][]).map((l) => JSON.stringify(l)).sort());

describe('functions in snapshots', () => {
  it('a restart brings back the libraries saved with the keys', async () => {
    const a = await start([], true);
    const c = client(a.port);
    await c.call('FUNCTION', 'LOAD', LIB1);
    await c.call('FUNCTION', 'LOAD', LIB2);
    await c.set('counter', '40');
    const before = await listed(c);
    expect(await c.save()).toBe('OK');
    c.disconnect();
    await a.stop();

    const b = await start(['--dir', a.dir]);
    const d = client(b.port);
    expect(await listed(d)).toBe(before);
    expect(await d.call('FCALL', 'incr2', '1', 'counter')).toBe(42);
    expect(await d.call('FCALL_RO', 'hello', '0', 'world')).toBe('hello world');
    const info = await d.info('memory');
    expect(info).toMatch(/^number_of_libraries:2\r?$/m);
  });

  it('FUNCTION FLUSH is saved too: a restart after it has no libraries', async () => {
    const a = await start([], true);
    const c = client(a.port);
    await c.call('FUNCTION', 'LOAD', LIB1);
    await c.save();
    await c.call('FUNCTION', 'FLUSH');
    await c.save();
    c.disconnect();
    await a.stop();
    const b = await start(['--dir', a.dir]);
    const d = client(b.port);
    expect(await d.call('FUNCTION', 'LIST')).toEqual([]);
    await expect(d.call('FCALL', 'hello', '0', 'x')).rejects.toThrow('ERR Function not found');
  });

  it('FUNCTION LOAD counts as a change for the save rules', async () => {
    const a = await start([]);
    const c = client(a.port);
    const changes = async () => Number(/^rdb_changes_since_last_save:(\d+)/m.exec(await c.info('persistence'))![1]);
    const before = await changes();
    await c.call('FUNCTION', 'LOAD', LIB1);
    await c.call('FUNCTION', 'DELETE', 'lib1');
    expect(await changes()).toBe(before + 2);
  });

  it('DEBUG RELOAD: FLUSH replaces the libraries, NOFLUSH refuses an existing one, NOFLUSH MERGE replaces it', async () => {
    const a = await start(['--enable-debug-command', 'yes']);
    const c = client(a.port);
    await c.call('FUNCTION', 'LOAD', LIB1);
    expect(await c.call('DEBUG', 'RELOAD')).toBe('OK');
    expect(await c.call('FCALL', 'hello', '0', 'again')).toBe('hello again');
    await expect(c.call('DEBUG', 'RELOAD', 'NOFLUSH')).rejects.toThrow('Error trying to load the RDB');
    expect(await c.call('DEBUG', 'RELOAD', 'NOFLUSH', 'MERGE')).toBe('OK');
    // Libraries loaded after the last save survive a NOSAVE NOFLUSH MERGE reload.
    await c.call('FUNCTION', 'LOAD', LIB2);
    expect(await c.call('DEBUG', 'RELOAD', 'NOSAVE', 'NOFLUSH', 'MERGE')).toBe('OK');
    expect(await c.call('FCALL', 'incr2', '1', 'k')).toBe(2);
    expect(await c.call('FCALL', 'hello', '0', 'x')).toBe('hello x');
  });
});

describe('a busy function', () => {
  it('others get BUSY, FUNCTION STATS shows it, SCRIPT KILL is refused, FUNCTION KILL ends it', async () => {
    const a = await start([]);
    const c = client(a.port);
    const runner = client(a.port);
    await c.config('SET', 'busy-reply-threshold', '50');
    await c.call('FUNCTION', 'LOAD', lib('spin', "redis.register_function('spin', function() local a = 1 while true do a = a + 1 end end)"));
    const result = runner.call('FCALL', 'spin', '0', 'arg').then(
      () => 'no error',
      (e: Error) => e.message,
    );
    await until(async () => (await c.ping().catch((e: Error) => e.message)) !== 'PONG', 'the function to be busy');
    await expect(c.ping()).rejects.toThrow('BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.');
    const stats = (await c.call('FUNCTION', 'STATS')) as unknown[];
    expect(stats[0]).toBe('running_script');
    const running = stats[1] as unknown[];
    expect(running.slice(0, 4)).toEqual(['name', 'spin', 'command', ['FCALL', 'spin', '0', 'arg']]);
    expect(running[4]).toBe('duration_ms');
    expect(running[5]).toBeGreaterThanOrEqual(50);
    await expect(c.call('SCRIPT', 'KILL')).rejects.toThrow('BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.');
    expect(await c.call('FUNCTION', 'KILL')).toBe('OK');
    expect(await result).toMatch(/^ERR Script killed by user with SCRIPT KILL\.\.\. script: spin, on @user_function:\d+\.$/);
    expect(await c.ping()).toBe('PONG');
    expect(((await c.call('FUNCTION', 'STATS')) as unknown[])[1]).toBeNull();
  });
});
