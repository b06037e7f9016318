/**
 * Redis 7.0's tests/unit/acl.tcl, ported (it cannot run in external mode):
 * users, passwords, command/key/channel permissions, subscribers losing
 * channels, ACL GETUSER's description of rules, ACL CAT, the ACL log,
 * default user and deletion. Over real TCP with ioredis and raw sockets.
 * The --aclfile parts of acl.tcl are in acl-file.test.ts.
 *
 * Not ported: the servers acl.tcl starts with the redis.conf `user`
 * directive ("default: load from config file ...", "Test loading
 * duplicate users in config on startup", "ACL from config file and config
 * rewrite"): this server takes users from --aclfile only and has no
 * CONFIG REWRITE. "+readonly" (the cluster READONLY command, absent here)
 * is replaced by "+@read" in the EVAL_RO/FCALL_RO test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { RawClient, resp, startServer, until, type TestServer } from './helpers/server.js';
import { connect, errOf, logEntries, userMap } from './helpers/acl.js';

let srv: TestServer;
let r: Redis;
beforeAll(async () => {
  srv = await startServer(['--enable-debug-command', 'yes']);
  r = await connect(srv.port);
});
afterAll(async () => {
  r.disconnect();
  await srv.stop();
});

/** CLIENT LIST seen by a fresh default connection. */
async function clientList(): Promise<string> {
  const a = await connect(srv.port);
  const out = (await a.call('CLIENT', 'LIST')) as string;
  a.disconnect();
  return out;
}

/** A subscriber authenticated as `user` with CLIENT SETNAME `name`. */
async function subscriber(user: string, pass: string, name: string): Promise<RawClient> {
  const c = await RawClient.connect(srv.port);
  c.write(resp('AUTH', user, pass) + resp('CLIENT', 'SETNAME', name));
  expect(await c.read(10)).toBe('+OK\r\n+OK\r\n');
  return c;
}

describe('acl.tcl: users and passwords', () => {
  it('connections start with the default user', async () => {
    expect(await r.call('ACL', 'WHOAMI')).toBe('default');
  });

  it('creates users; names cannot hold spaces', async () => {
    expect(await r.call('ACL', 'SETUSER', 'newuser')).toBe('OK');
    expect(await errOf(r.call('ACL', 'SETUSER', 'a a'))).toBe("ERR Usernames can't contain spaces or null characters");
  });

  it('new users start disabled; on allows the login', async () => {
    await r.call('ACL', 'SETUSER', 'newuser', '>passwd1');
    expect(await errOf(r.call('AUTH', 'newuser', 'passwd1'))).toBe('WRONGPASS invalid username-password pair or user is disabled.');
    await r.call('ACL', 'SETUSER', 'newuser', 'on', '+acl');
    expect(await r.call('AUTH', 'newuser', 'passwd1')).toBe('OK');
    expect(await r.call('ACL', 'WHOAMI')).toBe('newuser');
  });

  it('only the set of correct passwords work; passwords can be removed', async () => {
    await r.call('ACL', 'SETUSER', 'newuser', '>passwd2');
    expect(await r.call('AUTH', 'newuser', 'passwd1')).toBe('OK');
    expect(await r.call('AUTH', 'newuser', 'passwd2')).toBe('OK');
    expect(await errOf(r.call('AUTH', 'newuser', 'passwd3'))).toMatch(/^WRONGPASS/);
    await r.call('ACL', 'SETUSER', 'newuser', '<passwd1');
    expect(await errOf(r.call('AUTH', 'newuser', 'passwd1'))).toMatch(/^WRONGPASS/);
  });

  it('password hashes can be added, are validated, shown instead of the password, and removed', async () => {
    const h = '34344e4d60c2b6d639b7bd22e18f2b0b91bc34bf0ac5f9952744435093cfb4e6';
    await r.call('ACL', 'SETUSER', 'newuser', '#' + h);
    expect(await r.call('AUTH', 'newuser', 'passwd4')).toBe('OK');
    for (const bad of [h.slice(0, -1), h.slice(0, -1) + 'q']) {
      expect(await errOf(r.call('ACL', 'SETUSER', 'newuser', '#' + bad))).toBe(
        `ERR Error in ACL SETUSER modifier '#${bad}': The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters`,
      );
    }
    const pw = userMap(await r.call('ACL', 'GETUSER', 'newuser')).passwords as string[];
    expect(pw).toContain(h);
    expect(pw.join(' ')).not.toContain('passwd4');
    await r.call('ACL', 'SETUSER', 'newuser', '!' + h);
    expect(userMap(await r.call('ACL', 'GETUSER', 'newuser')).passwords).not.toContain(h);
  });

  it('users may authenticate with any password after nopass', async () => {
    await r.call('ACL', 'SETUSER', 'newuser', 'nopass');
    expect(await r.call('AUTH', 'newuser', 'zipzapblabla')).toBe('OK');
  });
});

describe('acl.tcl: commands and keys', () => {
  it('by default users cannot run any command nor touch any key', async () => {
    await r.call('ACL', 'SETUSER', 'newuser', '>passwd1');
    await r.call('AUTH', 'newuser', 'passwd1');
    expect(await errOf(r.set('foo', 'bar'))).toBe("NOPERM this user has no permissions to run the 'set' command");
    await r.call('ACL', 'SETUSER', 'newuser', '+set');
    expect(await errOf(r.set('foo', 'bar'))).toBe('NOPERM this user has no permissions to access one of the keys used as arguments');
  });

  it('allows a subset of keys', async () => {
    await r.call('ACL', 'SETUSER', 'newuser', 'allcommands', '~foo:*', '~bar:*');
    expect(await r.set('foo:1', 'a')).toBe('OK');
    expect(await r.set('bar:2', 'b')).toBe('OK');
    expect(await errOf(r.set('zap:3', 'c'))).toMatch(/^NOPERM.*keys/);
    await r.call('ACL', 'SETUSER', 'newuser', 'allkeys');
  });

  it('excludes single commands and whole categories', async () => {
    await r.call('ACL', 'SETUSER', 'newuser', '-ping');
    await r.incr('mycounter');
    expect(await errOf(r.ping())).toBe("NOPERM this user has no permissions to run the 'ping' command");
    await r.call('ACL', 'SETUSER', 'newuser', '-@all', '+@set', '+acl');
    await r.sadd('myset', 'a', 'b', 'c');
    await r.call('ACL', 'SETUSER', 'newuser', '+@all', '-@string');
    await r.sadd('myset', 'a', 'b', 'c');
    expect(await errOf(r.set('foo', 'bar'))).toMatch(/^NOPERM.*'set'/);
    await r.call('ACL', 'SETUSER', 'newuser', 'allcommands');
  });

  it('includes single subcommands', async () => {
    await r.call('ACL', 'SETUSER', 'newuser', '+@all', '-client');
    await r.call('ACL', 'SETUSER', 'newuser', '+client|id', '+client|setname');
    const cmds = userMap(await r.call('ACL', 'GETUSER', 'newuser')).commands as string;
    expect(cmds).toMatch(/^\+@all.*-client.*\+client\|id/);
    expect(cmds).toMatch(/^\+@all.*-client.*\+client\|setname/);
    await r.call('CLIENT', 'ID');
    await r.call('CLIENT', 'SETNAME', 'foo');
    expect(await errOf(r.call('CLIENT', 'KILL', 'type', 'master'))).toBe("NOPERM this user has no permissions to run the 'client|kill' command");
  });

  it('excludes single subcommands (case 1 and 2)', async () => {
    await r.call('ACL', 'SETUSER', 'newuser', '+@all', '-client|kill');
    expect(userMap(await r.call('ACL', 'GETUSER', 'newuser')).commands).toBe('+@all -client|kill');
    await r.call('CLIENT', 'ID');
    expect(await errOf(r.call('CLIENT', 'KILL', 'type', 'master'))).toMatch(/NOPERM.*client\|kill/);
    await r.call('ACL', 'SETUSER', 'newuser', '-@all', '+acl', '+config', '-config|set');
    const cmds = userMap(await r.call('ACL', 'GETUSER', 'newuser')).commands as string;
    expect(cmds).toContain('+config');
    expect(cmds).toContain('-config|set');
    await r.call('CONFIG', 'GET', 'loglevel');
    expect(await errOf(r.call('CONFIG', 'SET', 'loglevel', 'debug'))).toMatch(/NOPERM.*config\|set/);
  });

  it('refuses a first-arg of a subcommand, and unknown commands or subcommands', async () => {
    await r.call('ACL', 'SETUSER', 'newuser', '+@all', '-config|get');
    expect(await errOf(r.call('ACL', 'SETUSER', 'newuser', '+config|get|appendonly'))).toBe(
      "ERR Error in ACL SETUSER modifier '+config|get|appendonly': Allowing first-arg of a subcommand is not supported",
    );
    for (const op of ['+config|asdf', '-config|asdf', '+get|key1|key2', '-get|key1|key2']) {
      expect(await errOf(r.call('ACL', 'SETUSER', 'newuser', '+@all', op))).toBe(`ERR Error in ACL SETUSER modifier '${op}': Unknown command or category name in ACL`);
    }
  });

  it('including a category includes its subcommands', async () => {
    await r.call('ACL', 'SETUSER', 'newuser', '-@all', '+acl', '+@stream');
    await r.xadd('key', '*', 'field', 'value');
    expect(await errOf(r.call('XINFO', 'STREAM', 'key'))).toBe('');
  });

  it('blocks SELECT of all but one DB, DEBUG of all but one subcommand (first-arg rules)', async () => {
    await r.call('ACL', 'SETUSER', 'newuser', '-@all', '+acl', '+select|0');
    expect(userMap(await r.call('ACL', 'GETUSER', 'newuser')).commands).toContain('+select|0');
    await r.select(0);
    expect(await errOf(r.select(1))).toMatch(/NOPERM.*select/);
    await r.call('ACL', 'SETUSER', 'newuser', '-@all', '+acl', '+incr', '+debug|object');
    expect(userMap(await r.call('ACL', 'GETUSER', 'newuser')).commands).toContain('+debug|object');
    await r.incr('key2');
    await r.call('DEBUG', 'OBJECT', 'key2');
    expect(await errOf(r.call('DEBUG', 'SEGFAULT'))).toMatch(/NOPERM.*debug/);
  });

  it('folds subcommands into their command and into +@all', async () => {
    await r.call('ACL', 'SETUSER', 'bob', '+memory|doctor');
    expect(userMap(await r.call('ACL', 'GETUSER', 'bob')).commands).toBe('-@all +memory|doctor');
    await r.call('ACL', 'SETUSER', 'bob', '+memory');
    expect(userMap(await r.call('ACL', 'GETUSER', 'bob')).commands).toBe('-@all +memory');
    await r.call('ACL', 'SETUSER', 'bob', '+@all', '+client|id');
    expect(userMap(await r.call('ACL', 'GETUSER', 'bob')).commands).toBe('+@all');
    await r.call('ACL', 'SETUSER', 'bob', '>passwd1', 'on');
    await r.call('AUTH', 'bob', 'passwd1');
    await r.call('CLIENT', 'ID');
    await r.call('MEMORY', 'DOCTOR');
  });

  it('excludes subcommands, folded into -memory and -@all', async () => {
    await r.call('ACL', 'SETUSER', 'alice', '+@all', '-memory|doctor');
    expect(userMap(await r.call('ACL', 'GETUSER', 'alice')).commands).toBe('+@all -memory|doctor');
    await r.call('ACL', 'SETUSER', 'alice', '>passwd1', 'on');
    await r.call('AUTH', 'alice', 'passwd1');
    expect(await errOf(r.call('MEMORY', 'DOCTOR'))).toMatch(/NOPERM.*memory\|doctor/);
    await r.call('MEMORY', 'STATS');
    await r.call('ACL', 'SETUSER', 'alice', '+@all', '-memory');
    expect(userMap(await r.call('ACL', 'GETUSER', 'alice')).commands).toBe('+@all -memory');
    expect(await errOf(r.call('MEMORY', 'STATS'))).toMatch(/NOPERM.*memory\|stats/);
    await r.call('ACL', 'SETUSER', 'alice', '-@all');
    await r.call('AUTH', 'default', 'x');
    expect(userMap(await r.call('ACL', 'GETUSER', 'alice')).commands).toBe('-@all');
    await r.call('AUTH', 'alice', 'passwd1');
    expect(await errOf(r.get('key'))).toMatch(/NOPERM.*get/);
    await r.call('AUTH', 'default', 'x');
  });

  it('GETUSER translates command permissions back (subtractive and additive)', async () => {
    await r.call('ACL', 'SETUSER', 'newuser', 'reset', '+@all', '~*', '-@string', '+incr', '-debug', '+debug|digest');
    let c = userMap(await r.call('ACL', 'GETUSER', 'newuser')).commands as string;
    for (const part of ['+@all', '-@string', '+incr', '-debug +debug|digest']) expect(c).toContain(part);
    await r.call('ACL', 'SETUSER', 'newuser', 'reset', '+@string', '-incr', '+acl', '+debug|digest', '+debug|segfault');
    c = userMap(await r.call('ACL', 'GETUSER', 'newuser')).commands as string;
    for (const part of ['-@all', '+@string', '-incr', '+debug|digest', '+debug|segfault', '+acl']) expect(c).toContain(part);
  });

  it('GETUSER describes a single category as just that category', async () => {
    const cats = (await r.call('ACL', 'CAT')) as string[];
    expect(cats).toHaveLength(21);
    for (const cat of cats) {
      await r.call('ACL', 'SETUSER', 'additive', 'reset', '+@all', `-@${cat}`);
      expect(userMap(await r.call('ACL', 'GETUSER', 'additive')).commands).toBe(`+@all -@${cat}`);
      await r.call('ACL', 'SETUSER', 'restrictive', 'reset', '-@all', `+@${cat}`);
      expect(userMap(await r.call('ACL', 'GETUSER', 'restrictive')).commands).toBe(`-@all +@${cat}`);
    }
  });

  it('ACL CAT: errors, categories, and the commands of one', async () => {
    expect(await errOf(r.call('ACL', 'CAT', 'NON_EXISTS'))).toBe("ERR Unknown category 'NON_EXISTS'");
    expect(await errOf(r.call('ACL', 'CAT', 'NON_EXISTS', 'NON_EXISTS2'))).toBe("ERR unknown subcommand or wrong number of arguments for 'CAT'. Try ACL HELP.");
    const cats = (await r.call('ACL', 'CAT')) as string[];
    expect(cats).toContain('keyspace');
    expect(cats).toContain('connection');
    expect(await r.call('ACL', 'CAT', 'transaction')).toContain('multi');
    expect(await r.call('ACL', 'CAT', 'scripting')).toContain('function|list');
    expect(await r.call('ACL', 'CAT', 'keyspace')).not.toContain('set');
    expect(await r.call('ACL', 'CAT', 'stream')).not.toContain('get');
  });

  // acl.tcl grants +readonly (the cluster READONLY command, which a server
  // without cluster support does not have here); +@read makes the same point.
  it('redis.acl_check_cmd answers for the script caller: command, key, subcommand (scripting.tcl "Script ACL check")', async () => {
    const admin = await connect(srv.port);
    await admin.call('ACL', 'SETUSER', 'acl-check-bob', 'reset', 'on', '>123', '+@scripting', '+set', '~x*', '+config|get');
    const bob = await connect(srv.port);
    try {
      expect(await bob.call('AUTH', 'acl-check-bob', '123')).toBe('OK');
      expect(await bob.eval("return redis.acl_check_cmd('set','xx',1)", 1, 'xx')).toBe(1);
      expect(await bob.eval("return redis.acl_check_cmd('hset','xx','f',1)", 1, 'xx')).toBeNull();
      // A key the script does not declare: only the check knows it is refused.
      expect(await bob.eval("return redis.acl_check_cmd('set','yy',1)", 0)).toBeNull();
      expect(await bob.eval("return redis.acl_check_cmd('config','get','x')", 0)).toBe(1);
      expect(await bob.eval("return redis.acl_check_cmd('config','set','x','y')", 0)).toBeNull();
      expect(await errOf(bob.eval("return redis.acl_check_cmd('invalid-cmd','arg')", 0))).toMatch(/^ERR .*Invalid command passed to redis\.acl_check_cmd\(\)/);
      // The default user may run anything.
      expect(await admin.eval("return redis.acl_check_cmd('hset','yy','f',1)", 0)).toBe(1);
    } finally {
      bob.disconnect();
      await admin.call('ACL', 'DELUSER', 'acl-check-bob');
      admin.disconnect();
    }
  });

  it('scripting needs explicit permission for EVAL_RO, EVALSHA_RO and FCALL_RO', async () => {
    await r.call('ACL', 'SETUSER', 'scripter', 'on', 'nopass', '+@read');
    expect(await r.call('ACL', 'DRYRUN', 'scripter', 'EVAL_RO', '', '0')).toBe("This user has no permissions to run the 'eval_ro' command");
    expect(await r.call('ACL', 'DRYRUN', 'scripter', 'EVALSHA_RO', '', '0')).toBe("This user has no permissions to run the 'evalsha_ro' command");
    expect(await r.call('ACL', 'DRYRUN', 'scripter', 'FCALL_RO', '', '0')).toBe("This user has no permissions to run the 'fcall_ro' command");
  });

  it('adding and removing first-args repeatedly (#5998) leaves a clean description', async () => {
    await r.call('ACL', 'SETUSER', 'newuser', 'reset', '-debug', '+debug|a', '+debug|b', '+debug|c');
    expect(userMap(await r.call('ACL', 'GETUSER', 'newuser')).commands).toBe('-@all +debug|a +debug|b +debug|c');
    await r.call('ACL', 'SETUSER', 'newuser', '-debug');
    expect(userMap(await r.call('ACL', 'GETUSER', 'newuser')).commands).toBe('-@all');
  });
});

describe('acl.tcl: channels', () => {
  it('by default only the default user publishes and subscribes (channels, shard channels, patterns)', async () => {
    await r.call('AUTH', 'default', 'pwd');
    await r.publish('foo', 'bar');
    await r.call('SPUBLISH', 'foo', 'bar');
    await r.call('ACL', 'SETUSER', 'psuser', 'on', '>pspass', '+acl', '+client', '+@pubsub');
    const ps = await connect(srv.port);
    await ps.call('AUTH', 'psuser', 'pspass');
    const noperm = 'NOPERM this user has no permissions to access one of the channels used as arguments';
    expect(await errOf(ps.publish('foo', 'bar'))).toBe(noperm);
    expect(await errOf(ps.call('SPUBLISH', 'foo', 'bar'))).toBe(noperm);
    for (const [cmd, arg] of [['SUBSCRIBE', 'foo'], ['SSUBSCRIBE', 'foo'], ['PSUBSCRIBE', 'bar*']]) {
      const c = await RawClient.connect(srv.port);
      c.write(resp('AUTH', 'psuser', 'pspass') + resp(cmd, arg));
      expect(await c.readUntil(noperm + '\r\n')).toBe('+OK\r\n-' + noperm + '\r\n');
      c.close();
    }
    ps.disconnect();
  });

  it('allows publishing to a subset of channels and shard channels', async () => {
    await r.call('ACL', 'SETUSER', 'psuser', 'resetchannels', '&foo:1', '&bar:*');
    await r.call('AUTH', 'psuser', 'pspass');
    expect(await r.publish('foo:1', 'somemessage')).toBe(0);
    expect(await r.publish('bar:2', 'anothermessage')).toBe(0);
    expect(await errOf(r.publish('zap:3', 'nosuchmessage'))).toMatch(/^NOPERM.*channel/);
    expect(await r.call('SPUBLISH', 'foo:1', 'somemessage')).toBe(0);
    expect(await errOf(r.call('SPUBLISH', 'zap:3', 'x'))).toMatch(/^NOPERM.*channel/);
  });

  it('lists resetchannels before the channels', async () => {
    await r.call('ACL', 'SETUSER', 'hpuser', 'on', 'nopass', 'resetchannels', '&foo', '+@all');
    expect((await r.call('ACL', 'LIST')) as string[]).toContain('user hpuser on nopass resetchannels &foo +@all');
    await r.call('AUTH', 'hpuser', 'pass');
    expect(await r.publish('foo', 'bar')).toBe(0);
    expect(await errOf(r.publish('bar', 'game'))).toMatch(/^NOPERM.*channel/);
    await r.call('AUTH', 'psuser', 'pspass');
    await r.call('ACL', 'DELUSER', 'hpuser');
  });

  it('refuses publish/subscribe/psubscribe to an unauthorized channel while queueing', async () => {
    await r.call('ACL', 'SETUSER', 'psuser', '+multi', '+discard');
    for (const args of [['PUBLISH', 'notexits', 'helloworld'], ['SUBSCRIBE', 'notexits', 'foo:1'], ['PSUBSCRIBE', 'notexits:*', 'bar:*']]) {
      await r.multi({ pipeline: false });
      expect(await errOf(r.call(args[0], ...args.slice(1)))).toMatch(/^NOPERM.*channel/);
      await r.discard();
    }
  });

  it('allows subscribing to a subset of channels, shard channels and (literal) patterns', async () => {
    for (const [cmd, ok1, ok2, bad] of [['SUBSCRIBE', 'foo:1', 'bar:2', 'zap:3'], ['SSUBSCRIBE', 'foo:1', 'bar:2', 'zap:3'], ['PSUBSCRIBE', 'foo:1', 'bar:*', 'bar:baz']]) {
      const c = await RawClient.connect(srv.port);
      c.write(resp('AUTH', 'psuser', 'pspass') + resp(cmd, ok1) + resp(cmd, ok2) + resp(cmd, bad));
      const got = await c.readUntil('arguments\r\n');
      const kind = cmd.toLowerCase();
      expect(got).toBe(
        `+OK\r\n*3\r\n$${kind.length}\r\n${kind}\r\n$${ok1.length}\r\n${ok1}\r\n:1\r\n*3\r\n$${kind.length}\r\n${kind}\r\n$${ok2.length}\r\n${ok2}\r\n:2\r\n` +
          '-NOPERM this user has no permissions to access one of the channels used as arguments\r\n',
      );
      c.close();
    }
  });

  it('kills subscribers revoked of channel, shard channel, pattern or allchannels permission', async () => {
    await r.call('AUTH', 'default', 'x');
    for (const [grant, cmd, ch] of [['&foo:1', 'SUBSCRIBE', 'foo:1'], ['&foo:1', 'SSUBSCRIBE', 'foo:1'], ['&bar:*', 'PSUBSCRIBE', 'bar:*'], ['allchannels', 'PSUBSCRIBE', 'foo']]) {
      await r.call('ACL', 'SETUSER', 'psuser', 'resetchannels', grant);
      const c = await subscriber('psuser', 'pspass', 'deathrow');
      c.write(resp(cmd, ch));
      await c.readUntil(':1\r\n');
      await r.call('ACL', 'SETUSER', 'psuser', 'resetchannels');
      expect(await clientList()).not.toContain('deathrow');
      await until(async () => c.closed, 'the subscriber closed');
    }
  });

  it('pardons subscribers whose literal permissions are kept, or who gain allchannels', async () => {
    await r.call('ACL', 'SETUSER', 'psuser', 'resetchannels', '&foo:1', '&bar:*', '&orders');
    const c = await subscriber('psuser', 'pspass', 'pardoned');
    c.write(resp('SUBSCRIBE', 'foo:1') + resp('SSUBSCRIBE', 'orders') + resp('PSUBSCRIBE', 'bar:*'));
    await c.readUntil('bar:*\r\n:2\r\n');
    await r.call('ACL', 'SETUSER', 'psuser', 'resetchannels', '&foo:1', '&bar:*', '&orders', '&baz:qaz', '&zoo:*');
    expect(await clientList()).toContain('pardoned');
    await r.call('ACL', 'SETUSER', 'psuser', 'allchannels');
    expect(await clientList()).toContain('pardoned');
    c.close();
  });
});

describe('acl.tcl: the ACL log', () => {
  beforeAll(async () => {
    await r.call('AUTH', 'default', 'x');
    await r.call('ACL', 'LOG', 'RESET');
    await r.call('ACL', 'SETUSER', 'antirez', '>foo', 'on', '+set', '~object:1234');
    await r.call('ACL', 'SETUSER', 'antirez', '+eval', '+multi', '+exec');
    await r.call('ACL', 'SETUSER', 'antirez', 'resetchannels', '+publish');
  });

  const last = async () => logEntries(await r.call('ACL', 'LOG'))[0];

  it('shows failed command executions at top level, with every field', async () => {
    await r.call('AUTH', 'antirez', 'foo');
    expect(await errOf(r.get('foo'))).toMatch(/NOPERM.*get/);
    await r.call('AUTH', 'default', '');
    const e = await last();
    expect(e).toMatchObject({ count: 1, reason: 'command', context: 'toplevel', object: 'get', username: 'antirez' });
    expect(Object.keys(e)).toEqual(['count', 'reason', 'context', 'object', 'username', 'age-seconds', 'client-info']);
    expect(Number(e['age-seconds'])).toBeGreaterThanOrEqual(0);
    expect(e['client-info']).toMatch(/^id=\d+ addr=127\.0\.0\.1:\d+ .* user=antirez /);
  });

  it('shows failed subcommand executions', async () => {
    await r.call('ACL', 'LOG', 'RESET');
    await r.call('ACL', 'DELUSER', 'demo');
    await r.call('ACL', 'SETUSER', 'demo', 'on', 'nopass');
    await r.call('AUTH', 'demo', '');
    expect(await errOf(r.call('SCRIPT', 'HELP'))).toMatch(/NOPERM.*script\|help/);
    await r.call('AUTH', 'default', '');
    expect(await last()).toMatchObject({ username: 'demo', context: 'toplevel', reason: 'command', object: 'script|help' });
  });

  it('merges similar events into one entry with a count', async () => {
    await r.call('ACL', 'LOG', 'RESET');
    await r.call('AUTH', 'antirez', 'foo');
    for (let i = 0; i < 3; i++) await errOf(r.get('foo'));
    await r.call('AUTH', 'default', '');
    expect((await last()).count).toBe(3);
  });

  it('logs key and channel violations with their names', async () => {
    await r.call('AUTH', 'antirez', 'foo');
    await errOf(r.set('somekeynotallowed', '1234'));
    await r.call('AUTH', 'default', '');
    expect(await last()).toMatchObject({ reason: 'key', object: 'somekeynotallowed' });
    await r.call('AUTH', 'antirez', 'foo');
    await errOf(r.publish('somechannelnotallowed', 'nullmsg'));
    await r.call('AUTH', 'default', '');
    expect(await last()).toMatchObject({ reason: 'channel', object: 'somechannelnotallowed' });
  });

  it('RESET flushes the entries', async () => {
    await r.call('ACL', 'LOG', 'RESET');
    expect(await r.call('ACL', 'LOG')).toEqual([]);
  });

  it('distinguishes the transaction context, when queueing and when EXEC finds the rules changed', async () => {
    await r.call('AUTH', 'antirez', 'foo');
    await r.multi({ pipeline: false });
    await errOf(r.incr('foo'));
    await errOf(r.exec());
    await r.call('AUTH', 'default', '');
    expect(await last()).toMatchObject({ context: 'multi', object: 'incr' });

    await r.call('ACL', 'SETUSER', 'antirez', '+incr');
    const admin = await connect(srv.port);
    await r.call('AUTH', 'antirez', 'foo');
    await r.multi({ pipeline: false });
    await r.incr('object:1234');
    await admin.call('ACL', 'SETUSER', 'antirez', '-incr');
    const res = (await r.exec()) as [Error | null, unknown][];
    expect(res[0][0]?.message).toBe(
      'NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: no permission to execute the command or subcommand',
    );
    await r.call('AUTH', 'default', '');
    expect(await last()).toMatchObject({ context: 'multi', object: 'incr' });
    admin.disconnect();
  });

  it('logs errors in the context of Lua scripting, and the script gets Redis\'s error', async () => {
    await r.call('AUTH', 'antirez', 'foo');
    expect(await errOf(r.eval("redis.call('incr','foo')", 0))).toMatch(/^ERR The user executing the script can't run this command or subcommand script: /);
    await r.call('AUTH', 'default', '');
    const e = await last();
    expect(e).toMatchObject({ context: 'lua', object: 'incr', username: 'antirez' });
    // The client of the entry is the script's caller, not the script client.
    expect(e['client-info']).toMatch(/addr=127\.0\.0\.1:/);
  });

  it('accepts a count', async () => {
    await r.call('AUTH', 'antirez', 'foo');
    for (let i = 0; i < 4; i++) await errOf(r.incr('foo'));
    await r.call('AUTH', 'default', '');
    expect(((await r.call('ACL', 'LOG')) as unknown[]).length).toBeGreaterThan(1);
    expect(await r.call('ACL', 'LOG', '2')).toHaveLength(2);
  });

  it('logs failed AUTH attempts', async () => {
    await errOf(r.call('AUTH', 'antirez', 'wrong-password'));
    expect(await last()).toMatchObject({ context: 'toplevel', reason: 'auth', object: 'AUTH', username: 'antirez' });
  });

  it('keeps at most acllog-max-len entries', async () => {
    await r.call('ACL', 'LOG', 'RESET');
    await r.config('SET', 'acllog-max-len', '5');
    await r.call('AUTH', 'antirez', 'foo');
    for (let j = 0; j < 10; j++) await errOf(r.set(`obj:${j}`, '123'));
    await r.call('AUTH', 'default', '');
    expect(await r.call('ACL', 'LOG')).toHaveLength(5);
    await r.config('SET', 'acllog-max-len', '128');
  });
});

describe('acl.tcl: the default user, deleting users, errors', () => {
  it('when default is off, new connections are not authenticated', async () => {
    await r.call('ACL', 'SETUSER', 'default', 'off');
    const c = await RawClient.connect(srv.port);
    c.write(resp('PING'));
    expect(await c.readUntil('\r\n')).toBe('-NOAUTH Authentication required.\r\n');
    c.close();
    await r.call('ACL', 'SETUSER', 'default', 'on');
  });

  it('HELLO AUTH works for other users when default has no command permission', async () => {
    await r.call('ACL', 'SETUSER', 'secure-user', '>supass', 'on', '+@all');
    await r.call('ACL', 'SETUSER', 'default', '-@all');
    expect(await errOf(r.call('HELLO', '2', 'AUTH', 'secure-user', 'supass'))).toBe('');
    expect(await r.call('ACL', 'WHOAMI')).toBe('secure-user');
    await r.call('ACL', 'SETUSER', 'default', 'nopass', '+@all');
    await r.call('AUTH', 'default', '');
  });

  it('ACL HELP takes no argument', async () => {
    expect(await errOf(r.call('ACL', 'HELP', 'xxx'))).toBe("ERR wrong number of arguments for 'acl|help' command");
  });

  it('deleting a user nobody uses keeps the client', async () => {
    await r.call('ACL', 'SETUSER', 'not_used', 'on', '>passwd');
    expect(await r.call('ACL', 'DELUSER', 'not_used')).toBe(1);
    expect(await r.ping()).toBe('PONG');
  });

  it('deleting the user a client uses closes it after the reply', async () => {
    const c = await connect(srv.port);
    await c.call('ACL', 'SETUSER', 'using', 'on', '+acl', '>passwd');
    await c.call('AUTH', 'using', 'passwd');
    expect(await c.call('ACL', 'DELUSER', 'using')).toBe(1);
    await until(async () => c.status === 'end', 'the connection closed');
    expect(await errOf(c.ping())).not.toBe('');
  });

  it('ACL GENPASS bounds, the default user cannot be removed, no ACL file to load', async () => {
    const msg = 'ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096';
    expect(await errOf(r.call('ACL', 'GENPASS', '-236'))).toBe(msg);
    expect(await errOf(r.call('ACL', 'GENPASS', '5000'))).toBe(msg);
    expect(await r.call('ACL', 'GENPASS')).toMatch(/^[0-9a-f]{64}$/);
    expect(await r.call('ACL', 'GENPASS', '5')).toMatch(/^[0-9a-f]{2}$/);
    expect(await errOf(r.call('ACL', 'DELUSER', 'default'))).toBe("ERR The 'default' user cannot be removed");
    expect(await errOf(r.call('ACL', 'LOAD'))).toMatch(/^ERR This Redis instance is not configured to use an ACL file/);
    expect(await errOf(r.call('ACL', 'SAVE'))).toMatch(/^ERR This Redis instance is not configured to use an ACL file/);
  });
});
