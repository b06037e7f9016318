/**
 * The wire protocol over raw TCP: RESP and inline requests, pipelining,
 * binary safety, protocol errors and limits.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import RedisParser from 'redis-parser';
import { RawClient, resp, startServer, type TestServer } from './helpers/server.js';

let srv: TestServer;
beforeAll(async () => {
  srv = await startServer(['--proto-max-bulk-len', '1mb', '--client-query-buffer-limit', '2mb']);
});
afterAll(async () => srv.stop());

describe('requests', () => {
  it('answers inline commands with quoting as redis-cli and telnet send them', async () => {
    const c = await RawClient.connect(srv.port);
    c.write('PING\r\n');
    expect(await c.read(7)).toBe('+PONG\r\n');
    c.write('SET "a key" "x\\x41\\ny"\n');
    expect(await c.read(5)).toBe('+OK\r\n');
    c.write("GET 'a key'\r\n");
    expect(await c.read(10)).toBe('$4\r\nxA\ny\r\n');
    c.write('\r\n\r\nPING\r\n');
    expect(await c.read(7)).toBe('+PONG\r\n');
    c.close();
  });

  it('closes the connection on unbalanced quotes with the protocol error', async () => {
    const c = await RawClient.connect(srv.port);
    c.write('SET "abc\r\n');
    expect(await c.readUntil('\r\n')).toBe('-ERR Protocol error: unbalanced quotes in request\r\n');
    await c.waitClosed();
  });

  it('writes all replies of one pipelined read together and in order', async () => {
    const c = await RawClient.connect(srv.port);
    let req = '';
    for (let i = 0; i < 100; i++) req += resp('SET', `k${i}`, `v${i}`) + resp('GET', `k${i}`);
    c.write(req);
    let expected = '';
    for (let i = 0; i < 100; i++) expected += `+OK\r\n$${`v${i}`.length}\r\nv${i}\r\n`;
    expect(await c.read(expected.length)).toBe(expected);
    c.close();
  });

  it('assembles a request split at every byte boundary', async () => {
    const c = await RawClient.connect(srv.port);
    const req = resp('SET', 'split', 'value-bytes') + resp('GET', 'split');
    for (const ch of req) {
      c.write(ch);
      await new Promise((r) => setImmediate(r));
    }
    expect(await c.read(5 + 18)).toBe('+OK\r\n$11\r\nvalue-bytes\r\n');
    c.close();
  });

  it('keeps keys and values binary-safe', async () => {
    const c = await RawClient.connect(srv.port);
    const bin = Buffer.from([0, 0xff, 0xfe, 0x80, 13, 10, 0x41]);
    const key = Buffer.from([0xc3, 0x28, 0, 1]);
    const frame = Buffer.concat([
      Buffer.from(`*3\r\n$3\r\nSET\r\n$${key.length}\r\n`),
      key,
      Buffer.from(`\r\n$${bin.length}\r\n`),
      bin,
      Buffer.from('\r\n'),
      Buffer.from(`*2\r\n$3\r\nGET\r\n$${key.length}\r\n`),
      key,
      Buffer.from('\r\n'),
    ]);
    c.write(frame);
    const got = Buffer.from(await c.read(5 + 4 + bin.length + 2), 'latin1');
    expect(got.subarray(9, 9 + bin.length).equals(bin)).toBe(true);
    c.close();
  });
});

describe('protocol errors', () => {
  const cases: [string, string][] = [
    ['*abc\r\n', 'invalid multibulk length'],
    ['*1\r\n+foo\r\n', "expected '$', got '+'"],
    ['*1\r\n$abc\r\n', 'invalid bulk length'],
    ['*1\r\n$-5\r\n', 'invalid bulk length'],
    ['*1\r\n$2000000\r\n', 'invalid bulk length'],
  ];
  for (const [input, msg] of cases) {
    it(`answers ${JSON.stringify(input)} with "${msg}" and closes`, async () => {
      const c = await RawClient.connect(srv.port);
      c.write(input);
      expect(await c.readUntil('\r\n')).toBe(`-ERR Protocol error: ${msg}\r\n`);
      await c.waitClosed();
    });
  }

  it('does not disturb other clients', async () => {
    const good = await RawClient.connect(srv.port);
    const bad = await RawClient.connect(srv.port);
    bad.write('*1\r\n$x\r\n');
    await bad.waitClosed();
    good.write(resp('PING'));
    expect(await good.read(7)).toBe('+PONG\r\n');
    good.close();
  });

  it('closes a client whose unparsed input passes client-query-buffer-limit', async () => {
    const c = await RawClient.connect(srv.port);
    c.write('*2\r\n$3\r\nGET\r\n$900000\r\n' + 'x'.repeat(900000));
    c.write('x'.repeat(1_500_000));
    await c.waitClosed();
  });

  it('answers an unknown command with Redis\'s text', async () => {
    const c = await RawClient.connect(srv.port);
    c.write(resp('FOO', 'a', 'b'));
    expect(await c.readUntil('\r\n')).toBe("-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n");
    c.write(resp('GET'));
    expect(await c.readUntil('\r\n')).toBe("-ERR wrong number of arguments for 'get' command\r\n");
    c.close();
  });
});

describe('redis-parser as oracle', () => {
  it('decodes our replies the same way a real client library does', async () => {
    const c = await RawClient.connect(srv.port);
    c.write(resp('SET', 'o', 'x'.repeat(5000)) + resp('GET', 'o') + resp('GET', 'missing') + resp('PING'));
    const raw = await c.read(5 + 5000 + 9 + 5 + 7);
    const out: unknown[] = [];
    const p = new RedisParser({ returnReply: (r: unknown) => out.push(r), returnError: (e: unknown) => out.push(e), returnBuffers: false });
    p.execute(Buffer.from(raw, 'latin1'));
    expect(out).toEqual(['OK', 'x'.repeat(5000), null, 'PONG']);
    c.close();
  });
});
