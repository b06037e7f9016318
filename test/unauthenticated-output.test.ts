/**
 * With a password set, a client that has not authenticated may hold no more
 * than 16 KiB of unsent replies: past that it is closed, with nothing more
 * sent, exactly where redis-server 7.0.15 (Debian's, with the CVE-2025-21605
 * fix) closes it. So clients that flood PING and never read cannot grow the
 * server's memory.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import Redis from 'ioredis';
import { startServer, type TestServer } from './helpers/server.js';
import { MB, rss } from './helpers/memory.js';
import { startRedis, type Oracle } from './helpers/redis-oracle.js';

const PASS = 'unauth-test-pw';
let srv: TestServer;
let oracle: Oracle;
let a: Redis;

beforeAll(async () => {
  srv = await startServer(['--save', '', '--requirepass', PASS]);
  a = new Redis({ port: srv.port, password: PASS, lazyConnect: true });
  await a.connect();
  oracle = await startRedis();
  // Set after start: the oracle's readiness probe is an unauthenticated PING.
  const o = new Redis({ port: oracle.port, lazyConnect: true });
  await o.connect();
  await o.config('SET', 'requirepass', PASS);
  o.disconnect();
});

afterAll(async () => {
  await a?.quit();
  oracle?.stop();
  await srv?.stop();
});

interface Outcome {
  closed: boolean;
  received: number;
  /** What AUTH answered when the connection was still open afterwards. */
  auth?: string;
}

/**
 * Send `payload` in one write and never read until the server has either
 * answered `expectBytes` or closed the connection; then, if open, AUTH.
 */
function pipelineUnread(port: number, payload: string, expectBytes: number): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(payload));
    let received = 0;
    let authing = false;
    let authReply = '';
    const timer = setTimeout(() => reject(new Error(`no outcome: ${received} bytes, open`)), 10000);
    s.on('data', (d) => {
      if (authing) {
        authReply += d.toString('latin1');
        if (authReply.endsWith('\r\n')) {
          clearTimeout(timer);
          s.destroy();
          resolve({ closed: false, received, auth: authReply });
        }
        return;
      }
      received += d.length;
      if (received >= expectBytes) {
        authing = true;
        s.write(`AUTH ${PASS}\r\n`);
      }
    });
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      if (!authing) resolve({ closed: true, received });
    });
  });
}

const NOAUTH = '-NOAUTH Authentication required.\r\n';

describe('the unauthenticated output limit, against redis-server', () => {
  const cases = [
    { what: '481 inline PINGs (16,354 bytes of -NOAUTH) are answered', payload: 'PING\r\n'.repeat(481), n: 481 },
    { what: '482 inline PINGs (16,388 bytes) close the connection with nothing sent', payload: 'PING\r\n'.repeat(482), n: 482 },
    { what: '481 RESP PINGs are answered', payload: '*1\r\n$4\r\nPING\r\n'.repeat(481), n: 481 },
    { what: '482 RESP PINGs close the connection', payload: '*1\r\n$4\r\nPING\r\n'.repeat(482), n: 482 },
    { what: 'AUTH first: no limit after it', payload: `AUTH ${PASS}\r\n` + 'PING\r\n'.repeat(3000), n: 3000 },
  ];
  for (const c of cases) {
    it(c.what, async () => {
      const expectBytes = c.payload.startsWith('AUTH') ? 5 + 7 * c.n : c.n * NOAUTH.length;
      const theirs = await pipelineUnread(oracle.port, c.payload, expectBytes);
      const ours = await pipelineUnread(srv.port, c.payload, expectBytes);
      expect(ours).toEqual(theirs);
      if (c.n === 482) expect(ours).toEqual({ closed: true, received: 0 });
      else expect(ours.closed).toBe(false);
    });
  }
});

/** A client that writes PINGs as fast as the socket takes them and never reads; resolves when closed (or after ms). */
function flooder(port: number, ms: number): Promise<{ closed: boolean; after: number }> {
  return new Promise((resolve) => {
    const chunk = Buffer.from('PING\r\n'.repeat(10000));
    const t0 = performance.now();
    const s = net.connect(port, '127.0.0.1');
    s.pause();
    let over = false;
    const finish = (closed: boolean) => {
      if (over) return;
      over = true;
      clearTimeout(timer);
      s.destroy();
      resolve({ closed, after: performance.now() - t0 });
    };
    const timer = setTimeout(() => finish(false), ms);
    const pump = () => {
      while (!over && !s.destroyed && s.write(chunk));
      if (!over && !s.destroyed) s.once('drain', pump);
    };
    s.on('connect', pump);
    s.on('error', () => finish(true));
    s.on('close', () => finish(true));
  });
}

describe('100 unauthenticated clients flooding PING without reading', () => {
  it('are all closed, as redis-server closes them, while memory stays flat and others are served', async () => {
    const before = Number(/client_output_buffer_limit_disconnections:(\d+)/.exec(await a.info('stats'))![1]);
    const logsBefore = srv.logs.filter((l) => l.limit === 'unauthenticated').length;
    const base = rss(srv.pid);
    for (const [port, who] of [[oracle.port, 'redis-server'], [srv.port, 'damselfly']] as const) {
      let peak = 0;
      const flood = Promise.all(Array.from({ length: 100 }, () => flooder(port, 15000)));
      let settled = false;
      void flood.then(() => (settled = true));
      while (!settled) {
        if (port === srv.port) {
          peak = Math.max(peak, rss(srv.pid));
          expect(await a.ping()).toBe('PONG');
        }
        await Promise.race([flood, new Promise((r) => setTimeout(r, 20))]);
      }
      const res = await flood;
      const times = res.map((r) => r.after).sort((x, y) => x - y);
      console.log(`${who}: ${res.filter((r) => r.closed).length}/100 closed; median ${times[50].toFixed(0)} ms, slowest ${times[99].toFixed(0)} ms` + (peak ? `; RSS ${(base / MB).toFixed(0)} -> peak ${(peak / MB).toFixed(0)} MB` : ''));
      expect(res.every((r) => r.closed), who).toBe(true);
      if (port === srv.port) expect(peak - base).toBeLessThan(100 * MB);
    }
    expect(await a.ping()).toBe('PONG');
    const after = Number(/client_output_buffer_limit_disconnections:(\d+)/.exec(await a.info('stats'))![1]);
    expect(after - before).toBe(100);
    // The line redis-server logs for each ("... scheduled to be closed ASAP for overcoming of output buffer limits.").
    const lines = srv.logs.filter((l) => l.limit === 'unauthenticated');
    expect(lines.length - logsBefore).toBe(100);
    expect(lines[lines.length - 1].msg).toBe('Client scheduled to be closed ASAP for overcoming of output buffer limits.');
  }, 60000);
});
