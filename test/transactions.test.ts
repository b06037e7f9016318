/**
 * MULTI / EXEC / DISCARD / WATCH / UNWATCH over real TCP, in RESP2 and
 * RESP3, with ioredis and node-redis. Tests that need another family's
 * commands (SET, INCR, SWAPDB, BLPOP...) skip themselves when the server
 * does not have them, and run once it does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { Redis as Redis5 } from 'ioredis5';
import { createClient } from 'redis';
import { RawClient, resp, until, redisCli, startServer, type TestServer } from './helpers/server.js';

let srv: TestServer;
const available = new Set<string>();
beforeAll(async () => {
  srv = await startServer();
  // Which commands of other families this build has.
  const c = await RawClient.connect(srv.port);
  for (const name of ['SET', 'GET', 'INCR', 'DEL', 'EXPIRE', 'SWAPDB', 'RPUSH', 'BLPOP', 'LRANGE']) {
    c.write(resp(name));
    const line = await c.readUntil('\r\n');
    if (!line.startsWith('-ERR unknown command')) available.add(name);
  }
  c.write(resp('SET', '__probe', 'v', 'PX', '1'));
  if ((await c.readUntil('\r\n')) === '+OK\r\n') available.add('SET PX');
  c.close();
});
afterAll(async () => srv.stop());

const bulk = (s: string) => `$${s.length}\r\n${s}\r\n`;

/** Skip the running test unless the server has all of these commands. */
function needs(ctx: { skip: (note?: string) => void }, ...names: string[]): void {
  const missing = names.filter((n) => !available.has(n));
  if (missing.length > 0) throw new Error(`server lacks ${missing.join(', ')}`);
}

async function raw(proto: 2 | 3 = 2): Promise<RawClient> {
  const c = await RawClient.connect(srv.port);
  if (proto === 3) {
    c.write(resp('HELLO', '3'));
    await c.readUntil('modules\r\n*0\r\n');
  }
  return c;
}

async function expectRead(c: RawClient, want: string): Promise<void> {
  expect(await c.read(want.length)).toBe(want);
}

describe('MULTI / EXEC / DISCARD', () => {
  it('queues commands, answers +QUEUED and returns every reply in the EXEC array', async () => {
    const c = await raw();
    c.write(resp('MULTI') + resp('PING') + resp('ECHO', 'x') + resp('PING', 'p') + resp('EXEC'));
    await expectRead(c, '+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n+PONG\r\n' + bulk('x') + bulk('p'));
    c.write(resp('MULTI') + resp('EXEC'));
    await expectRead(c, '+OK\r\n*0\r\n');
    c.close();
  });

  it('answers Redis errors for misplaced MULTI, EXEC, DISCARD and WATCH', async () => {
    const c = await raw();
    c.write(resp('EXEC') + resp('DISCARD'));
    await expectRead(c, '-ERR EXEC without MULTI\r\n-ERR DISCARD without MULTI\r\n');
    c.write(resp('MULTI') + resp('MULTI') + resp('WATCH', 'k') + resp('PING') + resp('EXEC'));
    // Neither error aborts the transaction: they are answered, not queued.
    await expectRead(c, '+OK\r\n-ERR MULTI calls can not be nested\r\n-ERR WATCH inside MULTI is not allowed\r\n+QUEUED\r\n*1\r\n+PONG\r\n');
    c.close();
  });

  it('DISCARD drops the queue and leaves the transaction', async () => {
    const c = await raw();
    c.write(resp('MULTI') + resp('ECHO', 'never') + resp('DISCARD') + resp('ECHO', 'now') + resp('EXEC'));
    await expectRead(c, '+OK\r\n+QUEUED\r\n+OK\r\n' + bulk('now') + '-ERR EXEC without MULTI\r\n');
    c.close();
  });

  it('EXEC fails with EXECABORT after a command refused while queueing, and clears the state', async () => {
    const c = await raw();
    c.write(resp('MULTI') + resp('ECHO', 'a') + resp('NOSUCHCMD', 'x') + resp('ECHO') + resp('ECHO', 'b') + resp('EXEC'));
    await expectRead(
      c,
      '+OK\r\n+QUEUED\r\n' +
        "-ERR unknown command 'NOSUCHCMD', with args beginning with: 'x' \r\n" +
        "-ERR wrong number of arguments for 'echo' command\r\n" +
        '+QUEUED\r\n' +
        '-EXECABORT Transaction discarded because of previous errors.\r\n',
    );
    c.write(resp('PING'));
    await expectRead(c, '+PONG\r\n');
    c.close();
  });

  it('returns runtime errors inside the EXEC array and runs the other commands', async () => {
    const c = await raw();
    c.write(resp('MULTI') + resp('SELECT', '9999') + resp('ECHO', 'after') + resp('CONFIG', 'SET', 'no-such-param', '1') + resp('EXEC'));
    await expectRead(
      c,
      '+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n-ERR DB index is out of range\r\n' +
        bulk('after') +
        "-ERR Unknown option or number of arguments for CONFIG SET - 'no-such-param'\r\n",
    );
    c.close();
  });

  it('SELECT inside MULTI switches the db for the rest of the transaction and after it', async () => {
    const c = await raw();
    c.write(resp('MULTI') + resp('SELECT', '4') + resp('CLIENT', 'INFO') + resp('EXEC'));
    await c.readUntil('*2\r\n+OK\r\n');
    expect(await c.readUntil('\r\n', 2000)).toMatch(/^(\$|=)\d+\r\n$/);
    expect(await c.readUntil('\r\n')).toMatch(/ db=4 /);
    c.write(resp('CLIENT', 'INFO'));
    await c.readUntil('\r\n');
    expect(await c.readUntil('\r\n')).toMatch(/ db=4 /);
    c.close();
  });

  it('shows the transaction in CLIENT LIST (flags=x, multi=queued count)', async () => {
    const c = await raw();
    c.write(resp('CLIENT', 'SETNAME', 'txlist') + resp('MULTI') + resp('PING') + resp('PING'));
    await expectRead(c, '+OK\r\n+OK\r\n+QUEUED\r\n+QUEUED\r\n');
    const list = await redisCli(srv.port, ['CLIENT', 'LIST']);
    expect(list).toMatch(/name=txlist .*flags=x .*multi=2 /);
    c.close();
  });

  it('RESET inside MULTI discards it', async () => {
    const c = await raw();
    c.write(resp('MULTI') + resp('PING') + resp('RESET') + resp('EXEC'));
    await expectRead(c, '+OK\r\n+QUEUED\r\n+RESET\r\n-ERR EXEC without MULTI\r\n');
    c.close();
  });

  it('QUIT inside MULTI closes the connection without running the queue', async () => {
    const c = await raw();
    c.write(resp('MULTI') + resp('PING') + resp('QUIT'));
    await expectRead(c, '+OK\r\n+QUEUED\r\n+OK\r\n');
    await c.waitClosed();
  });

  it('answers with RESP3 types inside EXEC for a RESP3 client', async () => {
    const c = await raw(3);
    c.write(resp('MULTI') + resp('CONFIG', 'GET', 'maxclients') + resp('EXEC'));
    await expectRead(c, '+OK\r\n+QUEUED\r\n*1\r\n%1\r\n' + bulk('maxclients'));
    c.close();
  });
});

describe('WATCH', () => {
  it('a write to a watched key by another client makes EXEC return a null array', async (ctx) => {
    needs(ctx, 'SET', 'GET');
    const c = await raw();
    c.write(resp('SET', 'w1', 'a') + resp('WATCH', 'w1'));
    await expectRead(c, '+OK\r\n+OK\r\n');
    expect(await redisCli(srv.port, ['SET', 'w1', 'b'])).toBe('OK\n');
    c.write(resp('MULTI') + resp('SET', 'w1', 'c') + resp('EXEC') + resp('GET', 'w1'));
    await expectRead(c, '+OK\r\n+QUEUED\r\n*-1\r\n' + bulk('b'));
    // EXEC unwatched everything: the next transaction runs.
    expect(await redisCli(srv.port, ['SET', 'w1', 'd'])).toBe('OK\n');
    c.write(resp('MULTI') + resp('GET', 'w1') + resp('EXEC'));
    await expectRead(c, '+OK\r\n+QUEUED\r\n*1\r\n' + bulk('d'));
    c.close();
  });

  it('the null array is `_` in RESP3', async (ctx) => {
    needs(ctx, 'SET');
    const c = await raw(3);
    c.write(resp('WATCH', 'w3'));
    await expectRead(c, '+OK\r\n');
    await redisCli(srv.port, ['SET', 'w3', 'x']);
    c.write(resp('MULTI') + resp('PING') + resp('EXEC'));
    await expectRead(c, '+OK\r\n+QUEUED\r\n_\r\n');
    c.close();
  });

  it('an untouched watched key lets EXEC run; the own transaction writes do not count', async (ctx) => {
    needs(ctx, 'SET', 'GET');
    const c = await raw();
    c.write(resp('WATCH', 'w2', 'w2b') + resp('MULTI') + resp('SET', 'w2', '1') + resp('GET', 'w2') + resp('EXEC'));
    await expectRead(c, '+OK\r\n+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n+OK\r\n' + bulk('1'));
    c.close();
  });

  it('UNWATCH and DISCARD forget the watched keys and the dirty flag', async (ctx) => {
    needs(ctx, 'SET');
    const c = await raw();
    c.write(resp('WATCH', 'u1'));
    await expectRead(c, '+OK\r\n');
    await redisCli(srv.port, ['SET', 'u1', 'x']);
    c.write(resp('UNWATCH') + resp('MULTI') + resp('PING') + resp('EXEC'));
    await expectRead(c, '+OK\r\n+OK\r\n+QUEUED\r\n*1\r\n+PONG\r\n');
    c.write(resp('WATCH', 'u1'));
    await expectRead(c, '+OK\r\n');
    await redisCli(srv.port, ['SET', 'u1', 'y']);
    c.write(resp('MULTI') + resp('DISCARD') + resp('MULTI') + resp('PING') + resp('EXEC'));
    await expectRead(c, '+OK\r\n+OK\r\n+OK\r\n+QUEUED\r\n*1\r\n+PONG\r\n');
    c.close();
  });

  it('FLUSHALL and FLUSHDB touch watched keys that exist, and only those', async (ctx) => {
    const c = await raw();
    // An absent watched key is not touched by a flush.
    c.write(resp('WATCH', 'absent') + resp('FLUSHALL') + resp('MULTI') + resp('PING') + resp('EXEC'));
    await expectRead(c, '+OK\r\n+OK\r\n+OK\r\n+QUEUED\r\n*1\r\n+PONG\r\n');
    needs(ctx, 'SET');
    for (const flush of ['FLUSHALL', 'FLUSHDB']) {
      c.write(resp('SET', 'fk', '1') + resp('WATCH', 'fk') + resp(flush) + resp('MULTI') + resp('PING') + resp('EXEC'));
      await expectRead(c, '+OK\r\n+OK\r\n+OK\r\n+OK\r\n+QUEUED\r\n*-1\r\n');
    }
    c.close();
  });

  it('a watched key remembers its db', async (ctx) => {
    needs(ctx, 'SET');
    const c = await raw();
    c.write(resp('SELECT', '5') + resp('SET', 'dbk', '1') + resp('WATCH', 'dbk') + resp('SELECT', '1') + resp('SET', 'dbk', '2'));
    await expectRead(c, '+OK\r\n'.repeat(5));
    c.write(resp('MULTI') + resp('PING') + resp('EXEC'));
    await expectRead(c, '+OK\r\n+QUEUED\r\n*1\r\n+PONG\r\n');
    c.close();
  });

  it('a watched key that expires after WATCH fails EXEC; one already expired at WATCH does not', async (ctx) => {
    needs(ctx, 'SET PX');
    const c = await raw();
    c.write(resp('SET', 'ex1', 'v', 'PX', '50') + resp('WATCH', 'ex1'));
    await expectRead(c, '+OK\r\n+OK\r\n');
    await new Promise((r) => setTimeout(r, 80));
    c.write(resp('MULTI') + resp('PING') + resp('EXEC'));
    await expectRead(c, '+OK\r\n+QUEUED\r\n*-1\r\n');

    c.write(resp('SET', 'ex2', 'v', 'PX', '1'));
    await expectRead(c, '+OK\r\n');
    await new Promise((r) => setTimeout(r, 10));
    c.write(resp('WATCH', 'ex2') + resp('MULTI') + resp('PING') + resp('EXEC'));
    await expectRead(c, '+OK\r\n+OK\r\n+QUEUED\r\n*1\r\n+PONG\r\n');
    c.close();
  });

  it('a watched key removed by the active expire cycle fails EXEC', async (ctx) => {
    needs(ctx, 'SET', 'EXPIRE');
    const c = await raw();
    c.write(resp('SET', 'ex3', 'v') + resp('EXPIRE', 'ex3', '1') + resp('WATCH', 'ex3'));
    await expectRead(c, '+OK\r\n:1\r\n+OK\r\n');
    // Nobody reads it: the background cycle reclaims it (DBSIZE does not expire keys).
    const probe = await raw();
    await until(async () => {
      probe.write(resp('DBSIZE'));
      return (await probe.readUntil('\r\n')) === ':0\r\n';
    }, 'active expiry', 8000);
    c.write(resp('MULTI') + resp('PING') + resp('EXEC'));
    await expectRead(c, '+OK\r\n+QUEUED\r\n*-1\r\n');
    probe.close();
    c.close();
  });

  it('SWAPDB touches watched keys that exist on either side', async (ctx) => {
    needs(ctx, 'SET', 'SWAPDB');
    const c = await raw();
    c.write(resp('FLUSHALL') + resp('SELECT', '1') + resp('SET', 'sx', '1') + resp('SELECT', '0') + resp('WATCH', 'sx') + resp('SWAPDB', '0', '1'));
    await expectRead(c, '+OK\r\n'.repeat(6));
    c.write(resp('MULTI') + resp('PING') + resp('EXEC'));
    await expectRead(c, '+OK\r\n+QUEUED\r\n*-1\r\n');
    c.close();
  });

  it('a disconnecting watcher leaves nothing behind', async (ctx) => {
    needs(ctx, 'SET');
    const a = await raw();
    a.write(resp('WATCH', 'gone1', 'gone2'));
    await expectRead(a, '+OK\r\n');
    a.close();
    await new Promise((r) => setTimeout(r, 50));
    expect(await redisCli(srv.port, ['SET', 'gone1', 'x'])).toBe('OK\n');
  });
});

describe('EXEC and blocking commands', () => {
  it('a blocking pop inside EXEC does not block', async (ctx) => {
    needs(ctx, 'BLPOP');
    const c = await raw();
    c.write(resp('MULTI') + resp('BLPOP', 'nolist', '0') + resp('EXEC'));
    await expectRead(c, '+OK\r\n+QUEUED\r\n*1\r\n*-1\r\n');
    c.close();
  });

  it('clients blocked on keys the transaction filled are served after EXEC', async (ctx) => {
    needs(ctx, 'BLPOP', 'RPUSH', 'LRANGE');
    const blocked = await raw();
    blocked.write(resp('BLPOP', 'txq', '0'));
    await new Promise((r) => setTimeout(r, 50));
    const c = await raw();
    c.write(resp('MULTI') + resp('RPUSH', 'txq', 'a') + resp('RPUSH', 'txq', 'b') + resp('LRANGE', 'txq', '0', '-1') + resp('EXEC'));
    // Inside the transaction the list holds both; the waiter is served after.
    await expectRead(c, '+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n:1\r\n:2\r\n*2\r\n' + bulk('a') + bulk('b'));
    await expectRead(blocked, '*2\r\n' + bulk('txq') + bulk('a'));
    blocked.close();
    c.close();
  });
});

describe('client libraries', () => {
  it('ioredis v6 and v5 multi().exec()', async () => {
    for (const r of [
      new Redis(srv.port, '127.0.0.1', { enableReadyCheck: false }),
      new Redis5(srv.port, '127.0.0.1', { enableReadyCheck: false }),
    ]) {
      const res = await r.multi().ping().echo('hi').exec();
      expect(res).toEqual([
        [null, 'PONG'],
        [null, 'hi'],
      ]);
      // A queueing error rejects the whole transaction with EXECABORT.
      await expect(r.multi().ping().call('nosuchcmd').exec()).rejects.toThrow(/EXECABORT/);
      const withErr = await r.multi().ping().select(9999).exec();
      expect(withErr![0]).toEqual([null, 'PONG']);
      expect(String(withErr![1][0])).toMatch(/DB index is out of range/);
      r.disconnect();
    }
  });

  it('ioredis: watch / multi / exec returns null when the key changed', async (ctx) => {
    needs(ctx, 'SET', 'GET');
    const r = new Redis(srv.port, '127.0.0.1', { enableReadyCheck: false });
    const other = new Redis5(srv.port, '127.0.0.1', { enableReadyCheck: false });
    await r.set('iow', '1');
    await r.watch('iow');
    await other.set('iow', '2');
    expect(await r.multi().set('iow', '3').exec()).toBeNull();
    expect(await r.get('iow')).toBe('2');
    r.disconnect();
    other.disconnect();
  });

  it('node-redis multi().exec(), and watch with WatchError', async (ctx) => {
    const client = createClient({ socket: { port: srv.port, host: '127.0.0.1' } });
    await client.connect();
    expect(await client.multi().ping().echo('nr').exec()).toEqual(['PONG', 'nr']);
    const iso = client.duplicate();
    await iso.connect();
    await iso.watch('nrw');
    await client.set('nrw', 'changed');
    await expect(iso.multi().set('nrw', 'mine').exec()).rejects.toThrow(/watch/i);
    expect(await client.get('nrw')).toBe('changed');
    await iso.quit();
    await client.quit();
  });

  it('redis-cli MULTI/EXEC in one session', async () => {
    const out = await redisCli(srv.port, [], 'MULTI\nPING\nECHO hey\nEXEC\n');
    expect(out).toBe('OK\nQUEUED\nQUEUED\nPONG\nhey\n');
  });
});
