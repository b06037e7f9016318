/**
 * The connection family over real TCP: PING ECHO HELLO AUTH SELECT QUIT
 * RESET and CLIENT, requirepass and maxclients, with raw sockets,
 * redis-cli, ioredis v6 (RESP3) and v5 (RESP2), and node-redis.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { Redis as Redis5 } from 'ioredis5';
import { createClient } from 'redis';
import { RawClient, resp, redisCli, startServer, type TestServer } from './helpers/server.js';

const bulk = (s: string) => `$${s.length}\r\n${s}\r\n`;

async function expectRead(c: RawClient, want: string): Promise<void> {
  expect(await c.read(want.length)).toBe(want);
}

/** Read one bulk or verbatim reply's payload (CLIENT INFO / LIST). */
async function readText(c: RawClient): Promise<string> {
  const head = await c.readUntil('\r\n');
  const n = Number(head.slice(1, -2));
  const body = await c.read(n + 2);
  return head[0] === '=' ? body.slice(4, -2) : body.slice(0, -2);
}

function helloMap(proto: 2 | 3, id: number): string {
  const pairs: [string, string][] = [
    ['server', bulk('redis')],
    ['version', ''],
    ['proto', `:${proto}\r\n`],
    ['id', `:${id}\r\n`],
    ['mode', bulk('standalone')],
    ['role', bulk('master')],
    ['modules', '*0\r\n'],
  ];
  return (proto === 3 ? '%7\r\n' : '*14\r\n') + pairs.map(([k, v]) => bulk(k) + v).join('');
}

async function clientId(c: RawClient): Promise<number> {
  c.write(resp('CLIENT', 'ID'));
  return Number((await c.readUntil('\r\n')).slice(1, -2));
}

describe('without a password', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startServer();
  });
  afterAll(async () => srv.stop());
  const raw = () => RawClient.connect(srv.port);

  it('PING and ECHO in RESP2 and RESP3', async () => {
    const c = await raw();
    c.write(resp('PING') + resp('PING', 'hi') + resp('ECHO', 'e\x00\xff') + resp('PING', 'a', 'b') + resp('ECHO'));
    await expectRead(
      c,
      '+PONG\r\n' + bulk('hi') + bulk('e\x00\xff') + "-ERR wrong number of arguments for 'ping' command\r\n" + "-ERR wrong number of arguments for 'echo' command\r\n",
    );
    c.write('PING\r\n');
    await expectRead(c, '+PONG\r\n');
    c.write(resp('HELLO', '3'));
    await c.readUntil('modules\r\n*0\r\n');
    c.write(resp('PING') + resp('PING', 'x'));
    await expectRead(c, '+PONG\r\n' + bulk('x'));
    c.close();
  });

  it('HELLO answers the server map in the chosen protocol and switches it', async () => {
    const c = await raw();
    const id = await clientId(c);
    c.write(resp('HELLO'));
    const h2 = await c.readUntil('modules\r\n*0\r\n');
    expect(h2.replace(/\$\d+\r\n\d+\.\d+\.\d+\r\n/, '')).toBe(helloMap(2, id));
    c.write(resp('HELLO', '3'));
    const h3 = await c.readUntil('modules\r\n*0\r\n');
    expect(h3.replace(/\$\d+\r\n\d+\.\d+\.\d+\r\n/, '')).toBe(helloMap(3, id));
    expect(h3).toMatch(/\$7\r\nversion\r\n\$\d+\r\n7\.\d+\.\d+\r\n/);
    // RESP3 is now in effect: a null is `_`.
    c.write(resp('CLIENT', 'GETNAME'));
    await expectRead(c, '_\r\n');
    c.write(resp('HELLO', '2'));
    await c.readUntil('modules\r\n*0\r\n');
    c.write(resp('CLIENT', 'GETNAME'));
    await expectRead(c, '$-1\r\n');
    c.close();
  });

  it('HELLO errors: NOPROTO, non-integer version, bad option, bad name; SETNAME works', async () => {
    const c = await raw();
    c.write(resp('HELLO', '4') + resp('HELLO', '1') + resp('HELLO', 'x') + resp('HELLO', '3', 'FOO') + resp('HELLO', '3', 'SETNAME', 'a b'));
    await expectRead(
      c,
      '-NOPROTO unsupported protocol version\r\n' +
        '-NOPROTO unsupported protocol version\r\n' +
        '-ERR Protocol version is not an integer or out of range\r\n' +
        "-ERR Syntax error in HELLO option 'FOO'\r\n" +
        '-ERR Client names cannot contain spaces, newlines or special characters.\r\n',
    );
    // A failed HELLO leaves the protocol as it was.
    c.write(resp('CLIENT', 'GETNAME'));
    await expectRead(c, '$-1\r\n');
    c.write(resp('HELLO', '2', 'SETNAME', 'helloname'));
    await c.readUntil('modules\r\n*0\r\n');
    c.write(resp('CLIENT', 'GETNAME'));
    await expectRead(c, bulk('helloname'));
    c.close();
  });

  it('AUTH with no password configured', async () => {
    const c = await raw();
    c.write(resp('AUTH', 'foo') + resp('AUTH', 'a', 'b', 'c') + resp('AUTH', 'default', 'anything') + resp('AUTH', 'someone', 'x') + resp('AUTH'));
    await expectRead(
      c,
      '-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n' +
        '-ERR syntax error\r\n' +
        '+OK\r\n' +
        '-WRONGPASS invalid username-password pair or user is disabled.\r\n' +
        "-ERR wrong number of arguments for 'auth' command\r\n",
    );
    c.close();
  });

  it('SELECT errors and CLIENT INFO db', async () => {
    const c = await raw();
    c.write(resp('SELECT', '16') + resp('SELECT', '-1') + resp('SELECT', 'x') + resp('SELECT', '99999999999') + resp('SELECT', '1.5') + resp('SELECT', '15'));
    await expectRead(
      c,
      '-ERR DB index is out of range\r\n-ERR DB index is out of range\r\n' +
        '-ERR value is not an integer or out of range\r\n'.repeat(3) +
        '+OK\r\n',
    );
    c.write(resp('CLIENT', 'INFO'));
    expect(await readText(c)).toMatch(/ db=15 /);
    c.close();
  });

  it('CLIENT ID, SETNAME, GETNAME, INFO, LIST, SETINFO', async () => {
    const a = await raw();
    const b = await raw();
    const ida = await clientId(a);
    const idb = await clientId(b);
    expect(idb).toBeGreaterThan(ida);
    a.write(resp('CLIENT', 'GETNAME') + resp('CLIENT', 'SETNAME', 'alpha') + resp('CLIENT', 'GETNAME') + resp('CLIENT', 'SETNAME', 'bad name') + resp('CLIENT', 'SETNAME', 'bad\nname'));
    await expectRead(
      a,
      '$-1\r\n+OK\r\n' + bulk('alpha') + '-ERR Client names cannot contain spaces, newlines or special characters.\r\n'.repeat(2),
    );
    a.write(resp('CLIENT', 'SETINFO', 'LIB-NAME', 'mylib') + resp('CLIENT', 'SETINFO', 'LIB-VER', '1.2.3') + resp('CLIENT', 'SETINFO', 'nope', 'x'));
    await expectRead(a, "+OK\r\n+OK\r\n-ERR Unrecognized option 'nope'\r\n");
    a.write(resp('CLIENT', 'INFO'));
    const info = await readText(a);
    expect(info).toMatch(new RegExp(`^id=${ida} addr=127\\.0\\.0\\.1:\\d+ laddr=127\\.0\\.0\\.1:${srv.port} fd=\\d+ name=alpha age=\\d+ idle=\\d+ flags=N db=0 sub=0 psub=0 `));
    expect(info).toMatch(/ cmd=client\|info /);
    // As in Redis, qbuf still counts the running request (26 bytes of RESP).
    expect(info).toMatch(/ qbuf=26 /);
    expect(info).toMatch(/ lib-name=mylib lib-ver=1\.2\.3\n$/);
    a.write(resp('CLIENT', 'LIST'));
    const list = await readText(a);
    expect(list.split('\n').filter(Boolean).length).toBeGreaterThanOrEqual(2);
    expect(list).toContain(`id=${ida} `);
    expect(list).toContain(`id=${idb} `);
    a.write(resp('CLIENT', 'LIST', 'ID', String(idb)));
    const one = await readText(a);
    expect(one.split('\n').filter(Boolean)).toHaveLength(1);
    expect(one).toMatch(new RegExp(`^id=${idb} `));
    a.write(resp('CLIENT', 'LIST', 'TYPE', 'pubsub') + resp('CLIENT', 'LIST', 'TYPE', 'bogus') + resp('CLIENT', 'LIST', 'ID', 'x') + resp('CLIENT', 'LIST', 'FOO'));
    await expectRead(a, "$0\r\n\r\n-ERR Unknown client type 'bogus'\r\n-ERR Invalid client ID\r\n-ERR syntax error\r\n");
    a.write(resp('CLIENT', 'NOSUCH') + resp('CLIENT'));
    await expectRead(a, "-ERR unknown subcommand 'NOSUCH'. Try CLIENT HELP.\r\n-ERR wrong number of arguments for 'client' command\r\n");
    a.write(resp('CLIENT', 'HELP'));
    expect(await a.readUntil('+HELP\r\n')).toMatch(/^\*\d+\r\n\+CLIENT <subcommand>/);
    await a.readUntil('\r\n');
    a.close();
    b.close();
  });

  it('CLIENT NO-EVICT and CLIENT REPLY ON|OFF|SKIP', async () => {
    const c = await raw();
    c.write(resp('CLIENT', 'NO-EVICT', 'on') + resp('CLIENT', 'NO-EVICT', 'maybe'));
    await expectRead(c, '+OK\r\n-ERR syntax error\r\n');
    c.write(resp('CLIENT', 'INFO'));
    expect(await readText(c)).toMatch(/ flags=e /);
    c.write(resp('CLIENT', 'NO-EVICT', 'off') + resp('CLIENT', 'REPLY', 'sometimes'));
    await expectRead(c, '+OK\r\n-ERR syntax error\r\n');
    // SKIP drops the next reply only; OFF drops all until ON, whose +OK is sent.
    c.write(resp('CLIENT', 'REPLY', 'SKIP') + resp('ECHO', 'skipped') + resp('ECHO', 'shown'));
    await expectRead(c, bulk('shown'));
    c.write(resp('CLIENT', 'REPLY', 'OFF') + resp('ECHO', 'a') + resp('NOSUCH') + resp('ECHO', 'b') + resp('CLIENT', 'REPLY', 'ON') + resp('ECHO', 'c'));
    await expectRead(c, '+OK\r\n' + bulk('c'));
    // CLIENT REPLY ON right after SKIP is answered (it clears SKIP first).
    c.write(resp('CLIENT', 'REPLY', 'SKIP'));
    await new Promise((r) => setTimeout(r, 30));
    c.write(resp('CLIENT', 'REPLY', 'ON'));
    await expectRead(c, '+OK\r\n');
    c.write(resp('CLIENT', 'REPLY', 'SKIP') + resp('CLIENT', 'REPLY', 'ON') + resp('PING'));
    await expectRead(c, '+OK\r\n+PONG\r\n');
    // OFF across separate reads too.
    c.write(resp('CLIENT', 'REPLY', 'OFF'));
    c.write(resp('ECHO', 'later'));
    await new Promise((r) => setTimeout(r, 30));
    c.write(resp('CLIENT', 'REPLY', 'ON'));
    await expectRead(c, '+OK\r\n');
    c.close();
  });

  it('CLIENT REPLY SKIP/OFF drop exactly the skipped reply, even one larger than the reply buffer', async () => {
    const c = await raw();
    const big = 'y'.repeat(100 * 1024);
    c.write(resp('PING'));
    await expectRead(c, '+PONG\r\n');
    c.write(resp('CLIENT', 'REPLY', 'SKIP') + resp('ECHO', big) + resp('ECHO', 'after'));
    await expectRead(c, bulk('after'));
    c.write(resp('ECHO', 'x') + resp('CLIENT', 'REPLY', 'OFF') + resp('ECHO', big) + resp('ECHO', big + big + big) + resp('CLIENT', 'REPLY', 'ON'));
    await expectRead(c, bulk('x') + '+OK\r\n');
    c.write(resp('PING'));
    await expectRead(c, '+PONG\r\n');
    c.close();
  });

  it('CLIENT KILL by ID, ADDR, TYPE, the old addr form, SKIPME and errors', async () => {
    const me = await raw();
    const v1 = await raw();
    const v2 = await raw();
    const v3 = await raw();
    const id1 = await clientId(v1);
    v2.write(resp('CLIENT', 'INFO'));
    const addr2 = / addr=(\S+) /.exec(await readText(v2))![1];
    v3.write(resp('CLIENT', 'INFO'));
    const addr3 = / addr=(\S+) /.exec(await readText(v3))![1];
    me.write(resp('CLIENT', 'KILL', 'ID', String(id1)));
    await expectRead(me, ':1\r\n');
    await v1.waitClosed();
    me.write(resp('CLIENT', 'KILL', 'ADDR', addr2));
    await expectRead(me, ':1\r\n');
    await v2.waitClosed();
    me.write(resp('CLIENT', 'KILL', addr3));
    await expectRead(me, '+OK\r\n');
    await v3.waitClosed();
    me.write(
      resp('CLIENT', 'KILL', '1.2.3.4:5') +
        resp('CLIENT', 'KILL', 'ID', '0') +
        resp('CLIENT', 'KILL', 'ID', String(id1)) +
        resp('CLIENT', 'KILL', 'TYPE', 'bogus') +
        resp('CLIENT', 'KILL', 'SKIPME', 'maybe') +
        resp('CLIENT', 'KILL', 'USER', 'nobody') +
        resp('CLIENT', 'KILL', 'ID', '10', 'extra') +
        resp('CLIENT', 'KILL', 'ID'),
    );
    await expectRead(
      me,
      '-ERR No such client\r\n-ERR client-id should be greater than 0\r\n:0\r\n' +
        // Three arguments are the old CLIENT KILL addr:port form.
        "-ERR Unknown client type 'bogus'\r\n-ERR syntax error\r\n-ERR No such user 'nobody'\r\n-ERR syntax error\r\n-ERR No such client\r\n",
    );
    // SKIPME yes (the default) spares the caller; SKIPME no answers, then closes.
    const myId = await clientId(me);
    me.write(resp('CLIENT', 'KILL', 'ID', String(myId)));
    await expectRead(me, ':0\r\n');
    me.write(resp('CLIENT', 'KILL', 'ID', String(myId), 'SKIPME', 'no') + resp('PING'));
    await expectRead(me, ':1\r\n');
    await me.waitClosed();
  });

  it('CLIENT UNBLOCK of a client that is not blocked answers 0, and checks its arguments', async () => {
    const a = await raw();
    const b = await raw();
    const idb = await clientId(b);
    a.write(resp('CLIENT', 'UNBLOCK', String(idb)) + resp('CLIENT', 'UNBLOCK', String(idb), 'NOW') + resp('CLIENT', 'UNBLOCK', 'x') + resp('CLIENT', 'UNBLOCK', '999999'));
    await expectRead(a, ':0\r\n-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR\r\n-ERR value is not an integer or out of range\r\n:0\r\n');
    a.close();
    b.close();
  });

  it('CLIENT UNBLOCK wakes a blocked client with a timeout reply or an UNBLOCKED error', async (ctx) => {
    const a = await raw();
    const b = await raw();
    const idb = await clientId(b);
    b.write(resp('BLPOP', 'unblock:list', '0'));
    await new Promise((r) => setTimeout(r, 50));
    a.write(resp('CLIENT', 'UNBLOCK', String(idb)));
    await expectRead(a, ':1\r\n');
    await expectRead(b, '*-1\r\n');
    b.write(resp('BLPOP', 'unblock:list', '0'));
    await new Promise((r) => setTimeout(r, 50));
    a.write(resp('CLIENT', 'UNBLOCK', String(idb), 'ERROR'));
    await expectRead(a, ':1\r\n');
    await expectRead(b, '-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n');
    a.close();
    b.close();
  });

  it('RESET returns the connection to its initial state', async () => {
    const c = await raw();
    c.write(resp('HELLO', '3', 'SETNAME', 'before') + resp('SELECT', '3') + resp('CLIENT', 'REPLY', 'OFF') + resp('RESET'));
    await c.readUntil('modules\r\n*0\r\n');
    await expectRead(c, '+OK\r\n+RESET\r\n');
    c.write(resp('CLIENT', 'INFO'));
    const info = await readText(c);
    expect(info).toMatch(/ name= /);
    expect(info).toMatch(/ db=0 /);
    expect(info).toMatch(/ resp=2 /);
    c.write(resp('CLIENT', 'GETNAME'));
    await expectRead(c, '$-1\r\n');
    c.close();
  });

  it('QUIT answers +OK, closes, and ignores what was pipelined after it', async () => {
    const c = await raw();
    c.write(resp('QUIT') + resp('CONFIG', 'SET', 'timeout', '77'));
    await expectRead(c, '+OK\r\n');
    await c.waitClosed();
    expect(await redisCli(srv.port, ['CONFIG', 'GET', 'timeout'])).toBe('timeout\n0\n');
  });

  it('redis-cli: PING, ECHO, CLIENT SETNAME/GETNAME, HELLO 3', async () => {
    expect(await redisCli(srv.port, ['PING'])).toBe('PONG\n');
    expect(await redisCli(srv.port, ['ECHO', 'hello world'])).toBe('hello world\n');
    expect(await redisCli(srv.port, [], 'CLIENT SETNAME cli\nCLIENT GETNAME\n')).toBe('OK\ncli\n');
    expect(await redisCli(srv.port, ['-3', 'HELLO', '3'])).toMatch(/^server redis\nversion \d+\.\d+\.\d+\nproto 3\nid \d+\nmode standalone\nrole master\nmodules \n$/);
    expect(await redisCli(srv.port, ['SELECT', '77'])).toMatch(/^ERR DB index is out of range\n/);
  });

  it('ioredis v6 speaks RESP3, ioredis v5 and node-redis RESP2 (RESP3 on request)', async () => {
    // enableReadyCheck off: the ready check runs INFO, which is another family's.
    const r6 = new Redis(srv.port, '127.0.0.1', { enableReadyCheck: false, connectionName: 'io6' });
    const r5 = new Redis5(srv.port, '127.0.0.1', { enableReadyCheck: false, connectionName: 'io5', db: 2 });
    expect(await r6.ping()).toBe('PONG');
    expect(String(await r6.call('CLIENT', 'INFO'))).toMatch(/name=io6 .* resp=3 /);
    expect(await r5.echo('five')).toBe('five');
    expect(String(await r5.call('CLIENT', 'INFO'))).toMatch(/name=io5 .*db=2 .* resp=2 /);
    expect(await r6.client('GETNAME')).toBe('io6');
    r6.disconnect();
    r5.disconnect();
    for (const RESP of [2, 3] as const) {
      const nr = createClient({ socket: { port: srv.port, host: '127.0.0.1' }, name: 'nr' + RESP, RESP, database: 1 });
      await nr.connect();
      expect(await nr.ping()).toBe('PONG');
      const info = await nr.clientInfo();
      expect(info.name).toBe('nr' + RESP);
      expect(info.db).toBe(1);
      expect(String(await nr.sendCommand(['CLIENT', 'INFO']))).toMatch(new RegExp(` resp=${RESP} `));
      expect(await nr.clientGetName()).toBe('nr' + RESP);
      await nr.quit();
    }
  });
});

describe('with requirepass', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startServer(['--requirepass', 's3cret']);
  });
  afterAll(async () => srv.stop());
  const raw = () => RawClient.connect(srv.port);

  it('refuses commands with NOAUTH until AUTH, rejects a wrong password', async () => {
    const c = await raw();
    c.write(resp('PING') + resp('ECHO', 'x') + resp('NOSUCH') + resp('AUTH', 'wrong') + resp('AUTH', 'default', 'wrong') + resp('PING'));
    await expectRead(
      c,
      '-NOAUTH Authentication required.\r\n'.repeat(2) +
        "-ERR unknown command 'NOSUCH', with args beginning with: \r\n" +
        '-WRONGPASS invalid username-password pair or user is disabled.\r\n'.repeat(2) +
        '-NOAUTH Authentication required.\r\n',
    );
    c.write(resp('AUTH', 's3cret') + resp('PING'));
    await expectRead(c, '+OK\r\n+PONG\r\n');
    // A failed AUTH later does not log the client out.
    c.write(resp('AUTH', 'nope') + resp('PING'));
    await expectRead(c, '-WRONGPASS invalid username-password pair or user is disabled.\r\n+PONG\r\n');
    // RESET logs it out again.
    c.write(resp('RESET') + resp('PING'));
    await expectRead(c, '+RESET\r\n-NOAUTH Authentication required.\r\n');
    c.write(resp('AUTH', 'default', 's3cret') + resp('PING'));
    await expectRead(c, '+OK\r\n+PONG\r\n');
    c.close();
  });

  it('HELLO needs the client authenticated, or AUTH in the HELLO', async () => {
    const c = await raw();
    c.write(resp('HELLO', '3'));
    await expectRead(
      c,
      '-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\r\n',
    );
    c.write(resp('HELLO', '3', 'AUTH', 'default', 'bad'));
    await expectRead(c, '-WRONGPASS invalid username-password pair or user is disabled.\r\n');
    c.write(resp('HELLO', '3', 'AUTH', 'default', 's3cret', 'SETNAME', 'h3'));
    expect(await c.readUntil('modules\r\n*0\r\n')).toMatch(/^%7\r\n/);
    c.write(resp('CLIENT', 'GETNAME'));
    await expectRead(c, bulk('h3'));
    c.close();
  });

  it('limits unauthenticated requests and closes the connection', async () => {
    const a = await raw();
    a.write('*100\r\n');
    expect(await a.readUntil('\r\n')).toBe('-ERR Protocol error: unauthenticated multibulk length\r\n');
    await a.waitClosed();
    const b = await raw();
    b.write('*1\r\n$100000000\r\n');
    expect(await b.readUntil('\r\n')).toBe('-ERR Protocol error: unauthenticated bulk length\r\n');
    await b.waitClosed();
    // After AUTH the limits are lifted.
    const c = await raw();
    const big = 'x'.repeat(20000);
    const chans = Array.from({ length: 12 }, (_, i) => 'c' + i);
    c.write(resp('AUTH', 's3cret') + resp('ECHO', big) + resp('PUBSUB', 'NUMSUB', ...chans));
    await expectRead(c, '+OK\r\n' + bulk(big) + '*24\r\n' + chans.map((ch) => bulk(ch) + ':0\r\n').join(''));
    c.close();
  });

  it('a binary password set with CONFIG SET works for new connections', async () => {
    const admin = await raw();
    admin.write(resp('AUTH', 's3cret') + resp('CONFIG', 'SET', 'requirepass', 'abc\x00def'));
    await expectRead(admin, '+OK\r\n+OK\r\n');
    const c = await raw();
    c.write(resp('AUTH', 'abc') + resp('AUTH', 'abc\x00def') + resp('PING'));
    await expectRead(c, '-WRONGPASS invalid username-password pair or user is disabled.\r\n+OK\r\n+PONG\r\n');
    // The admin connection stays authenticated; restore the password.
    admin.write(resp('CONFIG', 'SET', 'requirepass', 's3cret'));
    await expectRead(admin, '+OK\r\n');
    admin.close();
    c.close();
  });

  it('clients authenticate with their password options', async () => {
    const r6 = new Redis(srv.port, '127.0.0.1', { enableReadyCheck: false, password: 's3cret' });
    expect(await r6.ping()).toBe('PONG');
    const r5 = new Redis5(srv.port, '127.0.0.1', { enableReadyCheck: false, password: 's3cret' });
    expect(await r5.ping()).toBe('PONG');
    const bad = new Redis5(srv.port, '127.0.0.1', { enableReadyCheck: false, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    bad.on('error', () => {});
    await bad.connect();
    await expect(bad.ping()).rejects.toThrow(/NOAUTH/);
    bad.disconnect();
    r6.disconnect();
    r5.disconnect();
    const nr = createClient({ socket: { port: srv.port, host: '127.0.0.1' }, password: 's3cret' });
    await nr.connect();
    expect(await nr.ping()).toBe('PONG');
    await nr.quit();
    const nr3 = createClient({ socket: { port: srv.port, host: '127.0.0.1' }, password: 's3cret', RESP: 3 });
    await nr3.connect();
    expect(await nr3.ping()).toBe('PONG');
    await nr3.quit();
    expect(await redisCli(srv.port, ['--no-auth-warning', '-a', 's3cret', 'PING'])).toBe('PONG\n');
    expect(await redisCli(srv.port, ['PING'])).toMatch(/^NOAUTH Authentication required\.\n/);
  });
});

describe('maxclients', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startServer(['--maxclients', '2']);
  });
  afterAll(async () => srv.stop());

  it('refuses connections past the limit with Redis error and accepts again after one leaves', async () => {
    const a = await RawClient.connect(srv.port);
    const b = await RawClient.connect(srv.port);
    a.write(resp('PING'));
    b.write(resp('PING'));
    await expectRead(a, '+PONG\r\n');
    await expectRead(b, '+PONG\r\n');
    const c = await RawClient.connect(srv.port);
    expect(await c.readUntil('\r\n')).toBe('-ERR max number of clients reached\r\n');
    await c.waitClosed();
    a.close();
    const end = Date.now() + 5000;
    for (;;) {
      const d = await RawClient.connect(srv.port);
      d.write(resp('PING'));
      const got = await d.readUntil('\r\n');
      d.close();
      if (got === '+PONG\r\n') break;
      if (Date.now() > end) throw new Error('slot not freed: ' + got);
      await new Promise((r) => setTimeout(r, 20));
    }
    b.close();
  });
});
