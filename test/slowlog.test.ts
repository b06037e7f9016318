/**
 * SLOWLOG over real TCP: what gets logged (by slowlog-log-slower-than),
 * how much is kept (slowlog-max-len), the entry shape Redis gives, the
 * trimming of long commands, redaction of secrets, EXEC and blocked
 * commands, and the errors.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { startServer, until, type TestServer } from './helpers/server.js';

let srv: TestServer;
let c: Redis;
beforeAll(async () => {
  srv = await startServer(['--save', '', '--enable-debug-command', 'yes']);
  c = new Redis({ port: srv.port });
});
afterAll(async () => {
  c?.disconnect();
  await srv?.stop();
});
beforeEach(async () => {
  await c.config('SET', 'slowlog-log-slower-than', '0');
  await c.config('SET', 'slowlog-max-len', '128');
  await c.slowlog('RESET');
});

type Entry = [number, number, number, string[], string, string];
const get = async (n?: number) => (await (n === undefined ? c.slowlog('GET', -1) : c.slowlog('GET', n))) as Entry[];

describe('SLOWLOG', () => {
  it('logs commands at least as slow as slowlog-log-slower-than, newest first', async () => {
    await c.config('SET', 'slowlog-log-slower-than', '100000');
    await c.slowlog('RESET');
    await c.ping();
    expect(await c.slowlog('LEN')).toBe(0);
    await c.client('SETNAME', 'sleeper');
    await c.call('DEBUG', 'SLEEP', '0.15');
    const [e] = await get();
    expect(e).toHaveLength(6);
    expect(e[2]).toBeGreaterThanOrEqual(150000);
    expect(e[3]).toEqual(['DEBUG', 'SLEEP', '0.15']);
    expect(e[4]).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(e[5]).toBe('sleeper');
    expect(Math.abs(e[1] - Date.now() / 1000)).toBeLessThan(5);
    expect(await c.slowlog('LEN')).toBe(1);
  });

  it('keeps slowlog-max-len entries, with increasing ids; GET takes a count (-1: all)', async () => {
    await c.config('SET', 'slowlog-max-len', '10');
    for (let i = 0; i < 30; i++) await c.set(`k${i}`, 'v');
    const all = await get();
    expect(all).toHaveLength(10);
    expect(all[0][3]).toEqual(['set', 'k29', 'v']);
    expect(await c.slowlog('LEN')).toBe(10);
    expect(await get(5)).toHaveLength(5);
    expect(await get(0)).toHaveLength(0);
    for (let i = 1; i < all.length; i++) expect(all[i][0]).toBe(all[i - 1][0] - 1);
    expect((await c.slowlog('GET')) as Entry[]).toHaveLength(10);
    await expect(c.slowlog('GET', -2)).rejects.toThrow('ERR count should be greater than or equal to -1');
    await c.config('SET', 'slowlog-max-len', '2');
    expect(await c.slowlog('LEN')).toBe(2);
  });

  it('is off at -1', async () => {
    await c.config('SET', 'slowlog-log-slower-than', '-1');
    await c.slowlog('RESET');
    await c.set('a', 'b');
    await c.call('DEBUG', 'SLEEP', '0.01');
    expect(await c.slowlog('LEN')).toBe(0);
    await expect(c.config('SET', 'slowlog-log-slower-than', '-2')).rejects.toThrow(/slowlog-log-slower-than/);
  });

  it('trims to 32 arguments and 128 bytes of each, as Redis', async () => {
    const many = Array.from({ length: 33 }, (_, i) => String(i + 3));
    await c.sadd('set', ...many);
    await c.sadd('set', 'foo', 'A'.repeat(129));
    const [long, trimmed] = await get(2);
    expect(long[3]).toEqual(['sadd', 'set', 'foo', 'A'.repeat(128) + '... (1 more bytes)']);
    expect(trimmed[3]).toHaveLength(32);
    expect(trimmed[3][31]).toBe('... (4 more arguments)');
    expect(trimmed[3][30]).toBe('31');
  });

  it('redacts passwords (AUTH, HELLO AUTH, CONFIG SET requirepass)', async () => {
    await c.call('AUTH', 'nosuchpass').catch(() => {});
    await c.call('HELLO', '2', 'AUTH', 'default', 'pw').catch(() => {});
    await c.config('SET', 'requirepass', 'sekrit');
    await c.call('AUTH', 'sekrit');
    await c.config('SET', 'requirepass', '');
    const shown = (await get()).map((e) => e[3].join(' ')).reverse();
    expect(shown.join('\n')).not.toMatch(/sekrit|nosuchpass|\bpw\b/);
    expect(shown).toContain('AUTH (redacted)');
    expect(shown).toContain('HELLO 2 AUTH (redacted) (redacted)');
    expect(shown).toContain('config SET requirepass (redacted)');
  });

  it('logs the commands EXEC runs, not EXEC', async () => {
    await c.multi().set('m', '1').incr('m').exec();
    expect((await get()).map((e) => e[3][0].toLowerCase())).toEqual(['incr', 'set', 'multi', 'slowlog']);
  });

  it('logs a blocked command when it is answered, with its arguments', async () => {
    const b = c.duplicate();
    const waiting = b.blpop('bl', 0);
    await until(async () => /blocked_clients:1/.test(await c.info('clients')), 'a blocked client');
    await c.slowlog('RESET');
    await c.rpush('bl', 'x');
    expect(await waiting).toEqual(['bl', 'x']);
    const shown = (await get()).map((e) => e[3].join(' '));
    expect(shown).toContain('blpop bl 0');
    b.disconnect();
  });

  it('answers HELP and refuses unknown subcommands', async () => {
    const help = (await c.slowlog('HELP')) as string[];
    expect(help[0]).toBe('SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:');
    expect(help).toContain('RESET');
    await expect(c.slowlog('NOPE')).rejects.toThrow("ERR unknown subcommand 'NOPE'. Try SLOWLOG HELP.");
  });
});
