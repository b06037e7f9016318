/**
 * Logs: JSON lines by default when not on a terminal, human-readable lines
 * with --log_format text, a fatal start-up error as one line naming the
 * cause and the remedy (no stack), and CONFIG SET loglevel taking effect.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { startServer, type TestServer } from './helpers/server.js';

let srv: TestServer;
beforeAll(async () => {
  srv = await startServer(['--save', '']);
});
afterAll(async () => srv?.stop());

describe('logs', () => {
  it('a port in use is one JSON line naming the cause and the remedy, then exit 1', async () => {
    const s = await startServer(['--port', String(srv.port), '--save', ''], { noWait: true });
    expect(await s.exited).toBe(1);
    const fatal = s.logs.filter((l) => l.level === 60);
    expect(fatal).toHaveLength(1);
    expect(fatal[0].msg).toBe(`cannot listen on 127.0.0.1:${srv.port}: the port is in use by another process: stop it, or start with another --port`);
    expect(JSON.stringify(s.logs)).not.toMatch(/at .*\.js:\d+/);
    await s.stop();
  });

  it('--log_format text writes human-readable lines', async () => {
    const s = await startServer(['--port', String(srv.port), '--save', '', '--log_format', 'text'], { noWait: true });
    expect(await s.exited).toBe(1);
    const lines = s.logs.map((l) => l.msg);
    // Not JSON: the helper keeps such lines as they are.
    expect(s.logs.every((l) => l.level === 0)).toBe(true);
    expect(lines.some((l) => /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] FATAL: cannot listen on 127\.0\.0\.1:\d+: the port is in use/.test(l))).toBe(true);
    await s.stop();
  });

  it('a bad flag value stops start-up with one line naming it', async () => {
    const s = await startServer(['--log_format', 'fancy'], { noWait: true });
    expect(await s.exited).toBe(2);
    expect(s.logs.map((l) => l.msg)).toEqual([expect.stringMatching(/^damselfly: .*log_format.*/)]);
    await s.stop();
  });

  it('CONFIG SET loglevel changes what is logged at once', async () => {
    const c = new Redis({ port: srv.port });
    const before = srv.logs.length;
    await c.config('SET', 'loglevel', 'warning');
    await c.client('KILL', 'ID', '999999').catch(() => {});
    await c.config('SET', 'slowlog-log-slower-than', '-1');
    // An info-level event: a client disconnecting after a protocol error.
    const raw = await (await import('./helpers/server.js')).RawClient.connect(srv.port);
    raw.write('*1\r\n$x\r\n');
    await raw.readUntil('\r\n');
    raw.close();
    await c.config('SET', 'loglevel', 'notice');
    expect(srv.logs.slice(before).some((l) => l.msg === 'protocol error, closing client')).toBe(false);
    const raw2 = await (await import('./helpers/server.js')).RawClient.connect(srv.port);
    raw2.write('*1\r\n$x\r\n');
    await raw2.readUntil('\r\n');
    raw2.close();
    await srv.waitForLog((l) => l.msg === 'protocol error, closing client');
    c.disconnect();
  });
});
