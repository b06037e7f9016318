/**
 * ACL through real clients and against the real redis-server 7.0.15:
 * ioredis and node-redis authenticating with a username (options, HELLO
 * AUTH, AUTH), redis-cli --user/--pass, NOPERM/WRONGPASS/NOAUTH bytes
 * compared with redis-server for the same pipeline, requirepass as the
 * default user's password, CLIENT LIST user= and CLIENT KILL USER, and
 * passwords never shown back (SLOWLOG, MONITOR, ACL LIST, the log).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { RawClient, redisCli, resp, startServer, until, type TestServer } from './helpers/server.js';
import { startRedis, type Oracle } from './helpers/redis-oracle.js';
import { connect, errOf } from './helpers/acl.js';

let srv: TestServer;
let oracle: Oracle;
let r: Redis;
beforeAll(async () => {
  srv = await startServer();
  oracle = await startRedis();
  r = await connect(srv.port);
  for (const port of [srv.port, oracle.port]) {
    const a = await connect(port);
    await a.call('ACL', 'SETUSER', 'app', 'on', '>app-pass', '~app:*', '&news', '+@all', '-flushall', '-debug');
    await a.call('ACL', 'SETUSER', 'reader', 'on', '>r', '%R~*', '+@read', '+@connection', '-client');
    await a.call('ACL', 'SETUSER', 'ops', 'on', '>o', '~*', '&*', '+@all', '-@dangerous');
    a.disconnect();
  }
});
afterAll(async () => {
  r.disconnect();
  oracle.stop();
  await srv.stop();
});

/** The raw replies to one pipeline on a fresh connection, up to a final PING. */
async function pipeline(port: number, cmds: string[][]): Promise<string> {
  const c = await RawClient.connect(port);
  c.write(cmds.map((a) => resp(...a)).join('') + resp('PING'));
  const out = await c.readUntil('+PONG\r\n');
  c.close();
  return out;
}

describe('replies match redis-server 7.0.15 byte for byte', () => {
  const cases: [string, string[][]][] = [
    ['NOPERM for commands, subcommands, keys, channels', [
      ['AUTH', 'app', 'app-pass'], ['SET', 'app:1', 'v'], ['SET', 'other', 'v'], ['MGET', 'app:1', 'x'], ['FLUSHALL'],
      ['PUBLISH', 'news', 'hi'], ['PUBLISH', 'sports', 'hi'], ['SUBSCRIBE', 'sports'], ['ACL', 'WHOAMI'],
    ]],
    ['read-only user: writes to readable keys, subcommands, MULTI with a refused command', [
      ['AUTH', 'reader', 'r'], ['GET', 'app:1'], ['SET', 'app:1', 'x'], ['CLIENT', 'ID'], ['MULTI'], ['EXEC'],
    ]],
    ['-@dangerous blocks admin commands and subcommands', [
      ['AUTH', 'ops', 'o'], ['CLIENT', 'KILL', 'ID', '999999'], ['CLIENT', 'LIST', 'ID', '999999'], ['CLIENT', 'PAUSE', '0'], ['CLIENT', 'NO-EVICT', 'on'],
      ['CLIENT', 'UNBLOCK', '999999'], ['FLUSHALL'], ['KEYS', '*'], ['CONFIG', 'GET', 'maxmemory'],
    ]],
    ['WRONGPASS, unknown user, AUTH without a default password, HELLO AUTH', [
      ['AUTH', 'app', 'nope'], ['AUTH', 'ghost', 'x'], ['AUTH', 'onlyone'], ['AUTH', 'a', 'b', 'c'],
      ['HELLO', '2', 'AUTH', 'app', 'nope'], ['HELLO', '2', 'AUTH', 'app', 'app-pass', 'SETNAME', 'x'], ['ACL', 'WHOAMI'],
    ]],
    ['ACL errors', [
      ['ACL', 'SETUSER', 'e', '+nosuch'], ['ACL', 'SETUSER', 'e', '~a', 'allkeys', '~b'], ['ACL', 'SETUSER', 'e', 'bogus'],
      ['ACL', 'SETUSER', 'e', '<nothere'], ['ACL', 'SETUSER', 'e', '%X~k'], ['ACL', 'SETUSER', 'e', '+select|'],
      ['ACL', 'GETUSER', 'nobody'], ['ACL', 'DELUSER', 'nobody', 'e'], ['ACL', 'LOG', 'x'], ['ACL', 'GENPASS', '0'], ['ACL', 'NOPE'],
      ['ACL', 'DRYRUN', 'app', 'CLIENT', 'NOPE'], ['ACL', 'DRYRUN', 'app', 'GET', 'other'], ['ACL', 'DRYRUN', 'app', 'PUBLISH', 'sports', 'x'],
      ['ACL', 'SETUSER', 'e', 'reset', '>p', '+@hash', '-hset', '~h*'], ['ACL', 'GETUSER', 'e'], ['ACL', 'CAT'],
    ]],
  ];
  for (const [name, cmds] of cases) {
    it(name, async () => {
      // Client ids (HELLO's id) differ between the two servers.
      const ids = (s: string) => s.replace(/\$2\r\nid\r\n:\d+/g, '$2\r\nid\r\n:N');
      expect(ids(await pipeline(srv.port, cmds))).toBe(ids(await pipeline(oracle.port, cmds)));
    });
  }

  it('a script denied a command gets the same error as from redis-server', async () => {
    const cmds = [['AUTH', 'app', 'app-pass'], ['EVAL', "return redis.call('flushall')", '0'], ['EVAL', "return redis.pcall('get', 'other')", '0'], ['EVAL', "return redis.call('publish', 'x', 'y')", '0']];
    const strip = (s: string) => s.replace(/script: \w+/g, 'script: SHA');
    expect(strip(await pipeline(srv.port, cmds))).toBe(strip(await pipeline(oracle.port, cmds)));
  });
});

describe('client libraries', () => {
  it('ioredis authenticates with username and password (AUTH user pass)', async () => {
    const c = new Redis({ port: srv.port, username: 'app', password: 'app-pass', lazyConnect: true });
    await c.connect();
    expect(await c.call('ACL', 'WHOAMI')).toBe('app');
    expect(await c.set('app:io', '1')).toBe('OK');
    expect(await errOf(c.set('io', '1'))).toMatch(/^NOPERM/);
    c.disconnect();
  });

  it('ioredis with a wrong password gets WRONGPASS', async () => {
    const c = new Redis({ port: srv.port, username: 'app', password: 'bad', lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    const seen = new Promise<string>((resolve) => c.on('error', (e: Error) => resolve(e.message)));
    await c.connect().catch(() => {});
    expect(await seen).toMatch(/WRONGPASS invalid username-password pair or user is disabled/);
    c.disconnect();
  });

  for (const RESP of [2, 3] as const) {
    it(`node-redis authenticates with a username (RESP${RESP}: ${RESP === 3 ? 'HELLO 3 AUTH' : 'AUTH user pass'})`, async () => {
      const c = createClient({ socket: { port: srv.port, host: '127.0.0.1' }, username: 'app', password: 'app-pass', RESP });
      await c.connect();
      expect(await c.sendCommand(['ACL', 'WHOAMI'])).toBe('app');
      expect(await c.set('app:nr', '1')).toBe('OK');
      await expect(c.set('nr', '1')).rejects.toThrow(/NOPERM this user has no permissions to access one of the keys used as arguments/);
      await c.quit();
    });
  }

  it('redis-cli --user --pass', async () => {
    expect((await redisCli(srv.port, ['--user', 'app', '--pass', 'app-pass', '--no-auth-warning', 'ACL', 'WHOAMI'])).trim()).toBe('app');
    expect((await redisCli(srv.port, ['--user', 'app', '--pass', 'app-pass', '--no-auth-warning', 'GET', 'other'])).trim()).toBe(
      'NOPERM this user has no permissions to access one of the keys used as arguments',
    );
    const [out, err] = await new Promise<[string, string]>((resolve) =>
      execFile('redis-cli', ['-p', String(srv.port), '--user', 'app', '--pass', 'wrong', '--no-auth-warning', 'ACL', 'WHOAMI'], (_e, o, e) => resolve([o, e])),
    );
    expect(err).toContain('AUTH failed: WRONGPASS invalid username-password pair or user is disabled.');
    // It carried on as the default user.
    expect(out.trim()).toBe('default');
  });
});

describe('requirepass is the default user password', () => {
  it('CONFIG SET requirepass sets it (and "" makes default nopass again)', async () => {
    await r.config('SET', 'requirepass', 'top');
    const c = await RawClient.connect(srv.port);
    c.write(resp('PING') + resp('AUTH', 'default', 'top') + resp('ACL', 'WHOAMI'));
    expect(await c.readUntil('default\r\n')).toBe('-NOAUTH Authentication required.\r\n+OK\r\n$7\r\ndefault\r\n');
    c.close();
    const hash = (await r.call('ACL', 'GETUSER', 'default')) as unknown[];
    expect(JSON.stringify(hash)).not.toContain('top');
    // A connection that never authenticated runs as default once it needs no password.
    const pending = await RawClient.connect(srv.port);
    await r.config('SET', 'requirepass', '');
    pending.write(resp('PING'));
    expect(await pending.readUntil('\r\n')).toBe('+PONG\r\n');
    pending.close();
  });

  it('--requirepass at start-up', async () => {
    const s = await startServer(['--requirepass', 'boot-pass']);
    try {
      expect((await redisCli(s.port, ['--user', 'default', '--pass', 'boot-pass', '--no-auth-warning', 'ACL', 'WHOAMI'])).trim()).toBe('default');
      expect((await redisCli(s.port, ['PING'])).trim()).toMatch(/NOAUTH/);
    } finally {
      await s.stop();
    }
  });
});

describe('limits before AUTH', () => {
  it('apply until the connection authenticates as any ACL user, not only default', async () => {
    await r.config('SET', 'requirepass', 'gate');
    try {
      const before = await RawClient.connect(srv.port);
      before.write(resp('DEL', ...Array.from({ length: 20 }, (_, i) => `k${i}`)));
      expect(await before.readUntil('\r\n')).toBe('-ERR Protocol error: unauthenticated multibulk length\r\n');
      const after = await RawClient.connect(srv.port);
      after.write(resp('AUTH', 'app', 'app-pass') + resp('DEL', ...Array.from({ length: 20 }, (_, i) => `app:lim:${i}`)));
      expect(await after.readUntil(':0\r\n')).toBe('+OK\r\n:0\r\n');
      after.close();
      before.close();
    } finally {
      await r.config('SET', 'requirepass', '');
    }
  });
});

describe('connections and users', () => {
  it('CLIENT LIST shows user=, CLIENT KILL USER closes that user\'s connections', async () => {
    const c = await connect(srv.port, { username: 'reader', password: 'r' });
    await c.call('AUTH', 'reader', 'r');
    expect(await r.call('CLIENT', 'LIST')).toMatch(/ user=reader /);
    expect(await errOf(r.call('CLIENT', 'KILL', 'USER', 'ghost'))).toBe("ERR No such user 'ghost'");
    expect(await r.call('CLIENT', 'KILL', 'USER', 'reader')).toBe(1);
    await until(async () => c.status === 'end', 'the connection closed');
  });

  it('RESET goes back to the default user', async () => {
    const c = await RawClient.connect(srv.port);
    c.write(resp('AUTH', 'app', 'app-pass') + resp('RESET') + resp('ACL', 'WHOAMI'));
    expect(await c.readUntil('default\r\n')).toBe('+OK\r\n+RESET\r\n$7\r\ndefault\r\n');
    c.close();
  });
});

describe('passwords are never shown back', () => {
  it('SLOWLOG redacts ACL SETUSER, AUTH and HELLO AUTH; ACL LIST and the ACL log hold hashes only', async () => {
    await r.config('SET', 'slowlog-log-slower-than', '0');
    await r.call('SLOWLOG', 'RESET');
    await r.call('ACL', 'SETUSER', 'secretive', 'on', '>hunter2-clear');
    const c = await RawClient.connect(srv.port);
    c.write(resp('AUTH', 'secretive', 'hunter2-clear') + resp('HELLO', '2', 'AUTH', 'secretive', 'hunter2-clear') + resp('AUTH', 'secretive', 'wrong-hunter'));
    await c.readUntil('disabled.\r\n');
    c.close();
    await r.config('SET', 'slowlog-log-slower-than', '10000');
    const slow = JSON.stringify(await r.call('SLOWLOG', 'GET', '100'));
    expect(slow).toContain('"ACL","SETUSER","(redacted)","(redacted)","(redacted)"');
    expect(slow).not.toContain('hunter');
    expect(slow).not.toContain('secretive');
    expect(JSON.stringify(await r.call('ACL', 'LIST'))).not.toContain('hunter');
    expect(JSON.stringify(await r.call('ACL', 'LOG'))).not.toContain('hunter');
    expect(JSON.stringify(srv.logs)).not.toContain('hunter');
  });

  it('MONITOR shows AUTH with its arguments redacted and never ACL SETUSER', async () => {
    const m = await RawClient.connect(srv.port);
    m.write(resp('MONITOR'));
    await m.readUntil('+OK\r\n');
    await r.call('ACL', 'SETUSER', 'secretive', 'on', '>other-clear');
    await r.call('AUTH', 'secretive', 'other-clear');
    await r.call('AUTH', 'default', 'x');
    await r.call('ECHO', 'done');
    const seen = await m.readUntil('"done"\r\n');
    m.close();
    expect(seen).toContain('"AUTH" "(redacted)" "(redacted)"');
    expect(seen).not.toContain('setuser');
    expect(seen).not.toContain('other-clear');
  });
});
