/**
 * The Lua module loads on first use (src/server/lua-start.ts): a server that
 * never runs a script does not carry it, and the first scripting command
 * waits for it without losing its place in the client's pipeline.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RawClient, resp, startServer, type TestServer } from './helpers/server.js';

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.stop();
  srv = undefined;
});

const loaded = (s: TestServer) => s.logs.some((l) => l.msg === 'Lua module loaded');

describe('the Lua module on first use', () => {
  it('is not loaded at boot; a pipelined EVAL waits for it and keeps its order', async () => {
    srv = await startServer();
    const c = await RawClient.connect(srv.port);
    c.write(resp('SET', 'k', 'v1') + resp('PING'));
    expect(await c.readUntil('+PONG\r\n')).toBe('+OK\r\n+PONG\r\n');
    expect(loaded(srv)).toBe(false);
    // The commands behind the EVAL in the same write run after it, in order.
    c.write(resp('EVAL', "redis.call('set', 'k', 'v2') return redis.call('get', 'k')", '0') + resp('GET', 'k') + resp('SET', 'k', 'v3') + resp('GET', 'k'));
    expect(await c.readUntil('$2\r\nv3\r\n')).toBe('$2\r\nv2\r\n$2\r\nv2\r\n+OK\r\n$2\r\nv3\r\n');
    expect(loaded(srv)).toBe(true);
    c.sock.destroy();
  });

  it('an EXEC whose queue holds the first script waits for it', async () => {
    srv = await startServer();
    const c = await RawClient.connect(srv.port);
    c.write(resp('MULTI') + resp('INCR', 'n') + resp('EVAL', "return redis.call('incr', KEYS[1])", '1', 'n') + resp('FCALL', 'nosuch', '0') + resp('EXEC'));
    const reply = await c.readUntil('\r\n:1\r\n:2\r\n-ERR Function not found\r\n');
    expect(reply).toBe('+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n:1\r\n:2\r\n-ERR Function not found\r\n');
    expect(loaded(srv)).toBe(true);
    c.sock.destroy();
  });

  it('several clients waiting at once all get their replies', async () => {
    srv = await startServer();
    const clients = await Promise.all([1, 2, 3, 4].map(() => RawClient.connect(srv!.port)));
    clients.forEach((c, i) => c.write(resp('EVAL', 'return ARGV[1]', '0', `c${i}`) + resp('SCRIPT', 'EXISTS', 'ffffffffffffffffffffffffffffffffffffffff')));
    const replies = await Promise.all(clients.map((c) => c.readUntil('*1\r\n:0\r\n')));
    expect(replies).toEqual([0, 1, 2, 3].map((i) => `$2\r\nc${i}\r\n*1\r\n:0\r\n`));
    for (const c of clients) c.sock.destroy();
  });
});
