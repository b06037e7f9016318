/**
 * Pub/sub over real TCP: reply shapes in RESP2 and RESP3 (push frames),
 * subscribed-mode rules, PUBSUB introspection, cleanup on RESET and
 * disconnect, and the subscriber APIs of ioredis v6/v5 and node-redis.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { Redis as Redis5 } from 'ioredis5';
import { createClient } from 'redis';
import { RawClient, resp, until, redisCli, startServer, type TestServer } from './helpers/server.js';

let srv: TestServer;
beforeAll(async () => {
  srv = await startServer();
});
afterAll(async () => srv.stop());

const bulk = (s: string) => `$${s.length}\r\n${s}\r\n`;
/** A push frame as Redis writes it: `*` in RESP2, `>` in RESP3; a number part is an integer. */
const push = (proto: 2 | 3, ...parts: (string | number | null)[]) =>
  (proto === 3 ? '>' : '*') +
  parts.length +
  '\r\n' +
  parts.map((p) => (p === null ? (proto === 3 ? '_\r\n' : '$-1\r\n') : typeof p === 'number' ? `:${p}\r\n` : bulk(p))).join('');

async function expectRead(c: RawClient, want: string): Promise<void> {
  expect(await c.read(want.length)).toBe(want);
}

async function raw(proto: 2 | 3 = 2): Promise<RawClient> {
  const c = await RawClient.connect(srv.port);
  if (proto === 3) {
    c.write(resp('HELLO', '3'));
    await c.readUntil('modules\r\n*0\r\n');
  }
  return c;
}

/** One-shot command on a fresh connection; returns the raw reply text. */
async function cmd(...args: string[]): Promise<string> {
  const c = await raw();
  c.write(resp(...args));
  // Replies used here are small; wait until a full frame arrived.
  let out = await c.readUntil('\r\n');
  if (out.startsWith('*')) {
    const n = Number(out.slice(1, -2));
    for (let i = 0; i < n; i++) {
      const line = await c.readUntil('\r\n');
      out += line;
      if (line.startsWith('$') && line !== '$-1\r\n') out += await c.readUntil('\r\n');
    }
  }
  c.close();
  return out;
}

describe('RESP2 subscribers', () => {
  it('confirms each channel with the running count and receives messages', async () => {
    const sub = await raw();
    sub.write(resp('SUBSCRIBE', 'r2.a', 'r2.b', 'r2.a'));
    await expectRead(sub, push(2, 'subscribe', 'r2.a', 1) + push(2, 'subscribe', 'r2.b', 2) + push(2, 'subscribe', 'r2.a', 2));
    expect(await cmd('PUBLISH', 'r2.a', 'hello')).toBe(':1\r\n');
    expect(await cmd('PUBLISH', 'r2.none', 'x')).toBe(':0\r\n');
    await expectRead(sub, push(2, 'message', 'r2.a', 'hello'));
    sub.write(resp('UNSUBSCRIBE', 'r2.a', 'r2.zz'));
    await expectRead(sub, push(2, 'unsubscribe', 'r2.a', 1) + push(2, 'unsubscribe', 'r2.zz', 1));
    expect(await cmd('PUBLISH', 'r2.a', 'hello')).toBe(':0\r\n');
    sub.write(resp('UNSUBSCRIBE'));
    await expectRead(sub, push(2, 'unsubscribe', 'r2.b', 0));
    // Out of subscribed mode: any command runs again.
    sub.write(resp('ECHO', 'back'));
    await expectRead(sub, bulk('back'));
    sub.close();
  });

  it('answers UNSUBSCRIBE / PUNSUBSCRIBE with nothing subscribed with a nil channel and count 0', async () => {
    const c = await raw();
    c.write(resp('UNSUBSCRIBE') + resp('PUNSUBSCRIBE'));
    await expectRead(c, '*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n*3\r\n$12\r\npunsubscribe\r\n$-1\r\n:0\r\n');
    const c3 = await raw(3);
    c3.write(resp('UNSUBSCRIBE'));
    await expectRead(c3, '>3\r\n$11\r\nunsubscribe\r\n_\r\n:0\r\n');
    c.close();
    c3.close();
  });

  it('refuses other commands while subscribed, with Redis text, and answers PING as an array', async () => {
    const c = await raw();
    c.write(resp('SUBSCRIBE', 'r2.mode'));
    await expectRead(c, push(2, 'subscribe', 'r2.mode', 1));
    c.write(resp('ECHO', 'x'));
    expect(await c.readUntil('\r\n')).toBe(
      "-ERR Can't execute 'echo': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n",
    );
    c.write(resp('PING') + resp('PING', 'hi'));
    await expectRead(c, '*2\r\n$4\r\npong\r\n$0\r\n\r\n*2\r\n$4\r\npong\r\n$2\r\nhi\r\n');
    c.close();
  });

  it('matches patterns with Redis globs and sends pmessage', async () => {
    const sub = await raw();
    sub.write(resp('PSUBSCRIBE', 'pat.*', 'h?llo', 'x[ab]y'));
    await expectRead(sub, push(2, 'psubscribe', 'pat.*', 1) + push(2, 'psubscribe', 'h?llo', 2) + push(2, 'psubscribe', 'x[ab]y', 3));
    expect(await cmd('PUBLISH', 'pat.1', 'm1')).toBe(':1\r\n');
    expect(await cmd('PUBLISH', 'patx', 'no')).toBe(':0\r\n');
    expect(await cmd('PUBLISH', 'hallo', 'm2')).toBe(':1\r\n');
    expect(await cmd('PUBLISH', 'xcy', 'no')).toBe(':0\r\n');
    expect(await cmd('PUBLISH', 'xby', 'm3')).toBe(':1\r\n');
    await expectRead(sub, push(2, 'pmessage', 'pat.*', 'pat.1', 'm1') + push(2, 'pmessage', 'h?llo', 'hallo', 'm2') + push(2, 'pmessage', 'x[ab]y', 'xby', 'm3'));
    sub.write(resp('PUNSUBSCRIBE', 'h?llo'));
    await expectRead(sub, push(2, 'punsubscribe', 'h?llo', 2));
    sub.write(resp('PUNSUBSCRIBE'));
    await expectRead(sub, push(2, 'punsubscribe', 'pat.*', 1) + push(2, 'punsubscribe', 'x[ab]y', 0));
    sub.close();
  });

  it('counts one receiver per channel subscription and per matching pattern', async () => {
    const sub = await raw();
    sub.write(resp('SUBSCRIBE', 'mix.a') + resp('PSUBSCRIBE', 'mix.*', 'm*'));
    await expectRead(sub, push(2, 'subscribe', 'mix.a', 1) + push(2, 'psubscribe', 'mix.*', 2) + push(2, 'psubscribe', 'm*', 3));
    expect(await cmd('PUBLISH', 'mix.a', 'v')).toBe(':3\r\n');
    const got = await sub.read(push(2, 'message', 'mix.a', 'v').length + push(2, 'pmessage', 'mix.*', 'mix.a', 'v').length + push(2, 'pmessage', 'm*', 'mix.a', 'v').length);
    expect(got.startsWith(push(2, 'message', 'mix.a', 'v'))).toBe(true);
    expect(got).toContain(push(2, 'pmessage', 'mix.*', 'mix.a', 'v'));
    expect(got).toContain(push(2, 'pmessage', 'm*', 'mix.a', 'v'));
    sub.close();
  });

  it('keeps channels and messages binary-safe', async () => {
    const ch = 'bin\x00\xff\r\n';
    const msg = '\x00\x01\xfe\xff\r\nend';
    const sub = await raw();
    sub.write(resp('SUBSCRIBE', ch));
    await expectRead(sub, push(2, 'subscribe', ch, 1));
    expect(await cmd('PUBLISH', ch, msg)).toBe(':1\r\n');
    await expectRead(sub, push(2, 'message', ch, msg));
    sub.close();
  });
});

describe('RESP3 subscribers', () => {
  it('gets push frames and may run any command in between', async () => {
    const c = await raw(3);
    c.write(resp('SUBSCRIBE', 'r3.a') + resp('ECHO', 'normal') + resp('PING'));
    await expectRead(c, push(3, 'subscribe', 'r3.a', 1) + bulk('normal') + '+PONG\r\n');
    expect(await cmd('PUBLISH', 'r3.a', 'pushed')).toBe(':1\r\n');
    await expectRead(c, push(3, 'message', 'r3.a', 'pushed'));
    c.write(resp('PSUBSCRIBE', 'r3.*'));
    await expectRead(c, push(3, 'psubscribe', 'r3.*', 2));
    expect(await cmd('PUBLISH', 'r3.a', 'two')).toBe(':2\r\n');
    await expectRead(c, push(3, 'message', 'r3.a', 'two') + push(3, 'pmessage', 'r3.*', 'r3.a', 'two'));
    c.close();
  });

  it('delivers a message published to itself before the PUBLISH reply, in pipeline order', async () => {
    const c = await raw(3);
    c.write(resp('SUBSCRIBE', 'self'));
    await expectRead(c, push(3, 'subscribe', 'self', 1));
    c.write(resp('ECHO', 'first') + resp('PUBLISH', 'self', 'me') + resp('ECHO', 'last'));
    await expectRead(c, bulk('first') + push(3, 'message', 'self', 'me') + ':1\r\n' + bulk('last'));
    c.close();
  });

  it('sends each subscriber the frame of its own protocol', async () => {
    const s2 = await raw(2);
    const s3 = await raw(3);
    s2.write(resp('SUBSCRIBE', 'both'));
    s3.write(resp('SUBSCRIBE', 'both'));
    await expectRead(s2, push(2, 'subscribe', 'both', 1));
    await expectRead(s3, push(3, 'subscribe', 'both', 1));
    expect(await cmd('PUBLISH', 'both', 'm')).toBe(':2\r\n');
    await expectRead(s2, push(2, 'message', 'both', 'm'));
    await expectRead(s3, push(3, 'message', 'both', 'm'));
    s2.close();
    s3.close();
  });

  it('still sends pushes under CLIENT REPLY OFF', async () => {
    const c = await raw(3);
    c.write(resp('CLIENT', 'REPLY', 'OFF') + resp('SUBSCRIBE', 'quiet') + resp('ECHO', 'dropped'));
    await expectRead(c, push(3, 'subscribe', 'quiet', 1));
    expect(await cmd('PUBLISH', 'quiet', 'still')).toBe(':1\r\n');
    await expectRead(c, push(3, 'message', 'quiet', 'still'));
    // Its own PUBLISH: the message comes, the :1 reply does not.
    c.write(resp('PUBLISH', 'quiet', 'self') + resp('CLIENT', 'REPLY', 'ON') + resp('ECHO', 'seen'));
    await expectRead(c, push(3, 'message', 'quiet', 'self') + '+OK\r\n' + bulk('seen'));
    c.close();
  });
});

describe('PUBSUB introspection', () => {
  it('lists active channels, counts subscribers and unique patterns', async () => {
    const a = await raw();
    const b = await raw();
    a.write(resp('SUBSCRIBE', 'intro.one', 'intro.two') + resp('PSUBSCRIBE', 'ip*', 'iq*'));
    b.write(resp('SUBSCRIBE', 'intro.one') + resp('PSUBSCRIBE', 'ip*'));
    await a.read(push(2, 'subscribe', 'intro.one', 1).length * 2 + push(2, 'psubscribe', 'ip*', 3).length * 2);
    await b.read(push(2, 'subscribe', 'intro.one', 1).length + push(2, 'psubscribe', 'ip*', 2).length);
    const chans = await cmd('PUBSUB', 'CHANNELS', 'intro.*');
    expect(chans.startsWith('*2\r\n')).toBe(true);
    expect(chans).toContain(bulk('intro.one'));
    expect(chans).toContain(bulk('intro.two'));
    expect(await cmd('PUBSUB', 'CHANNELS', 'intro.t*')).toBe('*1\r\n' + bulk('intro.two'));
    expect(await cmd('PUBSUB', 'NUMSUB', 'intro.one', 'intro.two', 'nope')).toBe(
      '*6\r\n' + bulk('intro.one') + ':2\r\n' + bulk('intro.two') + ':1\r\n' + bulk('nope') + ':0\r\n',
    );
    expect(await cmd('PUBSUB', 'NUMSUB')).toBe('*0\r\n');
    expect(await cmd('PUBSUB', 'NUMPAT')).toBe(':2\r\n');
    const help = await cmd('PUBSUB', 'HELP');
    expect(help).toContain('+NUMSUB [<channel> ...]\r\n');
    expect(await cmd('PUBSUB', 'NOPE')).toBe("-ERR unknown subcommand 'NOPE'. Try PUBSUB HELP.\r\n");
    expect(await cmd('PUBSUB', 'channels', 'a', 'b')).toBe("-ERR unknown subcommand or wrong number of arguments for 'channels'. Try PUBSUB HELP.\r\n");
    expect(await cmd('PUBLISH', 'x')).toBe("-ERR wrong number of arguments for 'publish' command\r\n");
    // Disconnected subscribers are gone from every table.
    a.close();
    b.close();
    await until(async () => (await cmd('PUBSUB', 'NUMSUB', 'intro.one')) === '*2\r\n' + bulk('intro.one') + ':0\r\n', 'cleanup on disconnect');
    expect(await cmd('PUBSUB', 'NUMPAT')).toBe(':0\r\n');
    expect(await cmd('PUBSUB', 'CHANNELS', 'intro.*')).toBe('*0\r\n');
  });

  it('RESET drops the subscriptions and leaves subscribed mode', async () => {
    const c = await raw();
    c.write(resp('SUBSCRIBE', 'reset.ch') + resp('PSUBSCRIBE', 'reset.*'));
    await expectRead(c, push(2, 'subscribe', 'reset.ch', 1) + push(2, 'psubscribe', 'reset.*', 2));
    c.write(resp('RESET') + resp('ECHO', 'free'));
    await expectRead(c, '+RESET\r\n' + bulk('free'));
    expect(await cmd('PUBLISH', 'reset.ch', 'x')).toBe(':0\r\n');
    c.close();
  });

  it('shows subscriptions in CLIENT LIST and CLIENT KILL TYPE pubsub closes subscribers', async () => {
    const c = await raw();
    c.write(resp('CLIENT', 'SETNAME', 'subber') + resp('SUBSCRIBE', 'k1', 'k2') + resp('PSUBSCRIBE', 'k*'));
    await c.read(5 + push(2, 'subscribe', 'k1', 1).length * 2 + push(2, 'psubscribe', 'k*', 3).length);
    const list = await redisCli(srv.port, ['CLIENT', 'LIST', 'TYPE', 'pubsub']);
    expect(list).toMatch(/name=subber .*flags=P .*sub=2 psub=1/);
    expect(await redisCli(srv.port, ['CLIENT', 'KILL', 'TYPE', 'pubsub'])).toMatch(/^[1-9]/);
    await c.waitClosed();
  });
});

describe('slow subscribers', () => {
  it('disconnects a subscriber that stops reading once 32mb of messages are buffered for it', async () => {
    const sub = await raw();
    sub.write(resp('SUBSCRIBE', 'flood'));
    await expectRead(sub, push(2, 'subscribe', 'flood', 1));
    sub.sock.pause();
    const pub = await raw();
    const mb = 'm'.repeat(1024 * 1024);
    let sent = 0;
    // Publish until the server drops the subscriber (a few MB sit in kernel buffers first).
    while (sent < 120) {
      pub.write(resp('PUBLISH', 'flood', mb).repeat(8));
      sent += 8;
      const replies = await pub.read(4 * 8);
      if (replies.includes(':0')) break;
    }
    expect(sent).toBeLessThan(120);
    expect(await cmd('PUBSUB', 'NUMSUB', 'flood')).toBe('*2\r\n' + bulk('flood') + ':0\r\n');
    await srv.waitForLog((l) => l.msg === 'Client scheduled to be closed ASAP for overcoming of output buffer limits.');
    sub.close();
    pub.close();
  });
});

describe('sharded pub/sub', () => {
  it('SSUBSCRIBE / SPUBLISH / SUNSUBSCRIBE and PUBSUB SHARDCHANNELS', async () => {
    const c = await raw();
    c.write(resp('SSUBSCRIBE', 'sh.a', 'sh.b'));
    await expectRead(c, push(2, 'ssubscribe', 'sh.a', 1) + push(2, 'ssubscribe', 'sh.b', 2));
    expect(await cmd('SPUBLISH', 'sh.a', 'hi')).toBe(':1\r\n');
    await expectRead(c, push(2, 'smessage', 'sh.a', 'hi'));
    // Shard channels are a namespace of their own.
    expect(await cmd('PUBLISH', 'sh.a', 'hi')).toBe(':0\r\n');
    expect(await cmd('PUBSUB', 'SHARDCHANNELS', 'sh.a')).toBe('*1\r\n' + bulk('sh.a'));
    expect(await cmd('PUBSUB', 'SHARDNUMSUB', 'sh.b')).toBe('*2\r\n' + bulk('sh.b') + ':1\r\n');
    expect(await redisCli(srv.port, ['CLIENT', 'LIST', 'TYPE', 'pubsub'])).toMatch(/flags=P .*sub=0 psub=0 ssub=2 /);
    c.write(resp('SUNSUBSCRIBE'));
    await expectRead(c, push(2, 'sunsubscribe', 'sh.a', 1) + push(2, 'sunsubscribe', 'sh.b', 0));
    c.write(resp('ECHO', 'ok'));
    await expectRead(c, bulk('ok'));
    c.close();
  });
});

describe('MULTI and PUBLISH', () => {
  it('publishes from inside EXEC and returns the count in the EXEC array', async () => {
    const sub = await raw();
    sub.write(resp('SUBSCRIBE', 'tx.ch'));
    await expectRead(sub, push(2, 'subscribe', 'tx.ch', 1));
    const c = await raw();
    c.write(resp('MULTI') + resp('PUBLISH', 'tx.ch', 'one') + resp('PUBLISH', 'tx.ch', 'two') + resp('EXEC'));
    await expectRead(c, '+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:1\r\n:1\r\n');
    await expectRead(sub, push(2, 'message', 'tx.ch', 'one') + push(2, 'message', 'tx.ch', 'two'));
    sub.close();
    c.close();
  });
});

describe('client libraries', () => {
  // enableReadyCheck off: the ready check runs INFO, which is not this family's.
  for (const [label, make] of [
    ['ioredis v6 (RESP3)', () => new Redis(srv.port, '127.0.0.1', { lazyConnect: true, enableReadyCheck: false })],
    ['ioredis v5 (RESP2)', () => new Redis5(srv.port, '127.0.0.1', { lazyConnect: true, enableReadyCheck: false })],
  ] as const) {
    it(`${label}: subscribe, psubscribe, message events, unsubscribe`, async () => {
      const sub = make();
      const pub = make();
      await sub.connect();
      await pub.connect();
      const got: string[] = [];
      const three = new Promise<void>((resolve) => {
        sub.on('message', (ch: string, m: string) => {
          got.push(`message ${ch} ${m}`);
          if (got.length === 3) resolve();
        });
        sub.on('pmessage', (p: string, ch: string, m: string) => {
          got.push(`pmessage ${p} ${ch} ${m}`);
          if (got.length === 3) resolve();
        });
      });
      expect(await sub.subscribe('lib.a', 'lib.b')).toBe(2);
      expect(await sub.psubscribe('libp.*')).toBe(3);
      expect(await pub.publish('lib.a', 'A')).toBe(1);
      expect(await pub.publish('lib.b', 'B')).toBe(1);
      expect(await pub.publish('libp.x', 'P')).toBe(1);
      await three;
      expect(got).toEqual(['message lib.a A', 'message lib.b B', 'pmessage libp.* libp.x P']);
      await sub.unsubscribe('lib.a');
      expect(await pub.publish('lib.a', 'A')).toBe(0);
      // ioredis resolves an argument-less unsubscribe when the count reaches
      // 0 (as Redis counts: channels plus patterns), so drop the pattern first.
      expect(await sub.punsubscribe('libp.*')).toBe(1);
      expect(await sub.unsubscribe()).toBe(0);
      expect(await pub.publish('lib.b', 'B')).toBe(0);
      expect(await pub.pubsub('NUMPAT')).toBe(0);
      sub.disconnect();
      pub.disconnect();
    });
  }

  for (const RESP of [2, 3] as const) {
    it(`node-redis (RESP${RESP}): subscribe / pSubscribe listeners and unsubscribe`, async () => {
      const pub = createClient({ socket: { port: srv.port, host: '127.0.0.1' }, RESP });
      await pub.connect();
      const sub = pub.duplicate();
      await sub.connect();
      const got: string[] = [];
      let done!: () => void;
      const both = new Promise<void>((r) => (done = r));
      const note = (s: string) => {
        got.push(s);
        if (got.length === 2) done();
      };
      await sub.subscribe(`nr${RESP}.ch`, (m, ch) => note(`${ch}:${m}`));
      await sub.pSubscribe(`nrp${RESP}.*`, (m, ch) => note(`p ${ch}:${m}`));
      expect(await pub.publish(`nr${RESP}.ch`, 'hello')).toBe(1);
      expect(await pub.publish(`nrp${RESP}.1`, 'world')).toBe(1);
      await both;
      expect(got).toEqual([`nr${RESP}.ch:hello`, `p nrp${RESP}.1:world`]);
      expect(await pub.pubSubNumSub(`nr${RESP}.ch`)).toEqual({ [`nr${RESP}.ch`]: 1 });
      await sub.unsubscribe(`nr${RESP}.ch`);
      await sub.pUnsubscribe(`nrp${RESP}.*`);
      expect(await pub.publish(`nr${RESP}.ch`, 'gone')).toBe(0);
      expect(await pub.pubSubNumPat()).toBe(0);
      await sub.quit();
      await pub.quit();
    });
  }

  it('redis-cli: PUBLISH and PUBSUB', async () => {
    expect(await redisCli(srv.port, ['PUBLISH', 'cli.ch', 'x'])).toBe('0\n');
    expect(await redisCli(srv.port, ['PUBSUB', 'NUMSUB', 'cli.ch'])).toBe('cli.ch\n0\n');
  });
});
