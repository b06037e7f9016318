/**
 * --aclfile in Redis's format: users loaded at start-up (a bad file stops
 * it), ACL SAVE and ACL LOAD round trip, all-or-nothing loads with
 * Redis's error texts, clients of replaced users closed, and the
 * acl-pubsub-default rules. Ported from the ACL-file parts of acl.tcl and
 * acl-v2.tcl (tests/assets/user.acl, nodefaultuser.acl, userwithselectors.acl).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, appendFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { RawClient, resp, startServer, until, type TestServer } from './helpers/server.js';
import { connect, errOf, userMap } from './helpers/acl.js';

const USER_ACL = 'user alice on allcommands allkeys &* >alice\nuser bob on -@all +@set +acl ~set* &* >bob\nuser default on nopass ~* &* +@all\n';
const NODEFAULT_ACL = 'user alice on nopass ~* +@all\nuser bob on nopass ~* &* +@all\n';
const SELECTORS_ACL = 'user alice on (+get ~rw*)\nuser bob on (+set %W~w*) (+get %R~r*)\n';

const dirs: string[] = [];
function aclFile(text: string): string {
  const d = mkdtempSync(path.join(tmpdir(), 'damselfly-acl-'));
  dirs.push(d);
  const f = path.join(d, 'users.acl');
  writeFileSync(f, text);
  return f;
}
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('user.acl with acl-pubsub-default allchannels', () => {
  let srv: TestServer;
  let r: Redis;
  let file: string;
  beforeAll(async () => {
    file = aclFile(USER_ACL);
    srv = await startServer(['--aclfile', file, '--acl-pubsub-default', 'allchannels']);
    r = await connect(srv.port);
  });
  afterAll(async () => {
    r.disconnect();
    await srv.stop();
  });

  it('default, loaded from the file, can access any channel', async () => {
    const s = await connect(srv.port);
    await s.subscribe('foo');
    await s.psubscribe('bar*');
    s.disconnect();
    await r.publish('hello', 'world');
  });

  it('after reset, default gets allchannels or no channels as acl-pubsub-default says', async () => {
    await r.call('ACL', 'SETUSER', 'default', 'reset', 'on', 'nopass', '~*', '+@all');
    expect(userMap(await r.call('ACL', 'GETUSER', 'default')).channels).toBe('&*');
    await r.config('SET', 'acl-pubsub-default', 'resetchannels');
    await r.call('ACL', 'SETUSER', 'default', 'reset', 'on', 'nopass', '~*', '+@all');
    expect(await errOf(r.publish('hello', 'world'))).toMatch(/^NOPERM.*channel/);
    expect(await errOf(r.call('SUBSCRIBE', 'foo'))).toMatch(/^NOPERM.*channel/);
    expect(await errOf(r.call('PSUBSCRIBE', 'bar*'))).toMatch(/^NOPERM.*channel/);
    await r.call('ACL', 'SETUSER', 'default', 'allchannels');
  });

  it('alice can run everything, bob only @set and acl', async () => {
    await r.call('AUTH', 'alice', 'alice');
    expect(await r.call('ACL', 'WHOAMI')).toBe('alice');
    await r.set('key', 'value');
    await r.call('AUTH', 'bob', 'bob');
    expect(await r.sadd('set', '1', '2', '3')).toBe(3);
    expect(await errOf(r.set('key', 'value'))).toMatch(/NOPERM.*'set'/);
  });

  it('ACL SAVE then ACL LOAD: the file round trips and clients of replaced users are closed', async () => {
    await r.call('ACL', 'SETUSER', 'eve', '+get', 'allkeys', '>eve', 'on');
    await r.call('ACL', 'SAVE');
    const saved = readFileSync(file, 'latin1');
    expect(saved).toContain('user eve on #' );
    expect(saved).not.toContain('>eve');
    expect(saved.split('\n').filter(Boolean).map((l) => l.split(' ')[1])).toEqual(['alice', 'bob', 'default', 'eve']);
    expect(await r.call('ACL', 'LOAD')).toBe('OK');
    // r was authenticated as bob, a user ACL LOAD replaced.
    await until(async () => r.status === 'end', 'the connection closed');
    r = await connect(srv.port);
    await r.call('AUTH', 'alice', 'alice');
    await r.set('key', 'value');
    await r.call('AUTH', 'eve', 'eve');
    expect(await r.get('key')).toBe('value');
    expect(await errOf(r.set('key', 'value'))).toMatch(/NOPERM.*'set'/);
  });

  it('ACL SAVE and LOAD keep restricted channels', async () => {
    r = await connect(srv.port);
    await r.call('AUTH', 'alice', 'alice');
    await r.call('ACL', 'SETUSER', 'harry', 'on', 'nopass', 'resetchannels', '&test', '+@all', '~*');
    await r.call('ACL', 'SAVE');
    await r.call('ACL', 'LOAD');
    await until(async () => r.status === 'end', 'the connection closed');
    r = await connect(srv.port);
    await r.call('AUTH', 'harry', 'anything');
    await r.publish('test', 'bar');
    expect(await errOf(r.publish('test1', 'bar'))).toMatch(/^NOPERM.*channel/);
    await r.call('ACL', 'DELUSER', 'harry');
    // harry deleted itself: closed after the reply.
    await until(async () => r.status === 'end', 'the connection closed');
    r = await connect(srv.port);
  });

  it('a file with a duplicate user (or default) is refused and nothing changes', async () => {
    for (const dup of ['alice', 'default']) {
      writeFileSync(file, USER_ACL);
      appendFileSync(file, `\nuser ${dup} on nopass ~* -@all\n`);
      expect(await errOf(r.call('ACL', 'LOAD'))).toBe(
        `ERR WARNING: Duplicate user '${dup}' found on line 5. WARNING: ACL errors detected, no change to the previously active ACL rules was performed`,
      );
      expect(userMap(await r.call('ACL', 'GETUSER', 'alice')).commands).toBe('+@all');
      expect(await r.call('ACL', 'GETUSER', 'bob')).not.toBe(null);
      expect(await r.call('ACL', 'GETUSER', 'default')).not.toBe(null);
    }
  });

  it('reports every bad line, by Redis\'s texts, without the rule when it may be a password', async () => {
    writeFileSync(file, 'user a on +nosuchcmd\nfoo bar\nuser b on #12\nuser c on (+get\n');
    const e = await errOf(r.call('ACL', 'LOAD'));
    expect(e).toBe(
      `ERR ${file}:1: Error in applying operation '+nosuchcmd': Unknown command or category name in ACL. ` +
        `${file}:2 should start with user keyword followed by the username. ` +
        `${file}:3: The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters. ` +
        `${file}:4: Unmatched parenthesis in selector definition.` +
        'WARNING: ACL errors detected, no change to the previously active ACL rules was performed',
    );
    rmSync(file);
    expect(await errOf(r.call('ACL', 'LOAD'))).toBe(`ERR Error loading ACLs, opening file '${file}': No such file or directory`);
  });
});

describe('nodefaultuser.acl: default is made when the file has none', () => {
  let srv: TestServer;
  let r: Redis;
  beforeAll(async () => {
    srv = await startServer(['--aclfile', aclFile(NODEFAULT_ACL)]);
    r = await connect(srv.port);
  });
  afterAll(async () => {
    r.disconnect();
    await srv.stop();
  });

  it('only default has all channels whatever the flag; new users follow acl-pubsub-default', async () => {
    expect(userMap(await r.call('ACL', 'GETUSER', 'default')).channels).toBe('&*');
    expect(userMap(await r.call('ACL', 'GETUSER', 'alice')).channels).toBe('');
    await r.config('SET', 'acl-pubsub-default', 'allchannels');
    await r.call('ACL', 'SETUSER', 'mydefault');
    expect(userMap(await r.call('ACL', 'GETUSER', 'mydefault')).channels).toBe('&*');
    await r.config('SET', 'acl-pubsub-default', 'resetchannels');
    expect(userMap(await r.call('ACL', 'GETUSER', 'mydefault')).channels).toBe('&*');
  });

  it('a single channel is valid, but not after allchannels', async () => {
    await r.call('ACL', 'SETUSER', 'onechannel', '&test');
    expect(userMap(await r.call('ACL', 'GETUSER', 'onechannel')).channels).toBe('&test');
    await r.call('ACL', 'DELUSER', 'onechannel');
    await r.config('SET', 'acl-pubsub-default', 'allchannels');
    expect(await errOf(r.call('ACL', 'SETUSER', 'onechannel', '&test'))).toMatch(/start with an empty list of channels/);
    await r.config('SET', 'acl-pubsub-default', 'resetchannels');
  });
});

describe('userwithselectors.acl', () => {
  it('loads selectors from the file', async () => {
    const srv = await startServer(['--aclfile', aclFile(SELECTORS_ACL)]);
    const r = await connect(srv.port);
    try {
      const alice = (userMap(await r.call('ACL', 'GETUSER', 'alice')).selectors as unknown[]).map(userMap);
      expect(alice).toEqual([{ commands: '-@all +get', keys: '~rw*', channels: '' }]);
      const bob = (userMap(await r.call('ACL', 'GETUSER', 'bob')).selectors as unknown[]).map(userMap);
      expect(bob).toEqual([
        { commands: '-@all +set', keys: '%W~w*', channels: '' },
        { commands: '-@all +get', keys: '%R~r*', channels: '' },
      ]);
    } finally {
      r.disconnect();
      await srv.stop();
    }
  });
});

describe('start-up', () => {
  it('a bad ACL file stops start-up with one line naming it', async () => {
    const file = aclFile('user x on +nosuchcmd\n');
    const srv = await startServer(['--aclfile', file], { noWait: true });
    expect(await srv.exited).not.toBe(0);
    const line = srv.logs.find((l) => /ACL errors/.test(String(l.msg)));
    expect(line?.msg).toContain(`${file}:1: Error in applying operation '+nosuchcmd'`);
  });

  it('a missing ACL file stops start-up', async () => {
    const srv = await startServer(['--aclfile', '/nonexistent/users.acl'], { noWait: true });
    expect(await srv.exited).not.toBe(0);
    expect(srv.logs.some((l) => String(l.msg).includes("opening file '/nonexistent/users.acl': No such file or directory"))).toBe(true);
  });

  it('the default user of the file decides whether new connections must AUTH', async () => {
    const srv = await startServer(['--aclfile', aclFile('user default on >s3cret ~* &* +@all\n')]);
    const c = await RawClient.connect(srv.port);
    try {
      c.write(resp('PING') + resp('AUTH', 's3cret') + resp('PING'));
      expect(await c.readUntil('+PONG\r\n')).toBe('-NOAUTH Authentication required.\r\n+OK\r\n+PONG\r\n');
    } finally {
      c.close();
      await srv.stop();
    }
  });
});
