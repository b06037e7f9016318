/**
 * CONFIG SET port / bind at runtime, as Redis 7.0: the server listens on the
 * new port or addresses and stops listening on the old ones (connected
 * clients stay); a port or address that cannot be bound leaves the old
 * listeners in place, answers Redis's error and rolls the whole CONFIG SET
 * back. TLS and the HTTP /metrics endpoint follow the main port.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import tls from 'node:tls';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { redisCli, startServer, type TestServer } from './helpers/server.js';
import { startRedis, type Oracle } from './helpers/redis-oracle.js';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

/** A port held by another listener on `host` for the test's duration. */
async function occupied(host = '127.0.0.1'): Promise<{ port: number; close: () => void }> {
  const s = net.createServer((c) => c.destroy());
  await new Promise<void>((resolve) => s.listen(0, host, () => resolve()));
  return { port: (s.address() as net.AddressInfo).port, close: () => s.close() };
}

/** Whether a new TCP connection to host:port is accepted. */
function accepts(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(port, host);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

const client = (port: number, host = '127.0.0.1') => new Redis(port, host, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
const errorOf = (p: Promise<unknown>) => p.then(() => 'no error', (e: Error) => e.message);

describe('CONFIG SET port', () => {
  let srv: TestServer;
  let redis: Oracle;
  beforeAll(async () => {
    [srv, redis] = await Promise.all([startServer(['--save', '']), startRedis()]);
  });
  afterAll(async () => {
    redis?.stop();
    await srv?.stop();
  });

  it('moves the listener: new clients on the new port, none on the old, connected ones stay', async () => {
    const a = client(srv.port);
    await a.connect();
    await a.set('k', 'v');
    const oldPort = srv.port;
    const port = await freePort();
    expect(await a.config('SET', 'port', String(port))).toBe('OK');
    expect(await accepts(oldPort)).toBe(false);
    // The connection that asked keeps working.
    expect(await a.get('k')).toBe('v');
    expect(await a.config('GET', 'port')).toEqual(['port', String(port)]);
    const b = client(port);
    await b.connect();
    expect(await b.get('k')).toBe('v');
    expect(await b.info('server')).toContain(`tcp_port:${port}`);
    expect((await redisCli(port, ['PING'])).trim()).toBe('PONG');
    const n = createClient({ socket: { port, host: '127.0.0.1' } });
    await n.connect();
    expect(await n.get('k')).toBe('v');
    await n.quit();
    a.disconnect();
    b.disconnect();
    srv.port = port;
  });

  it('keeps the old listener when the new port is taken, with redis-server\'s error, and rolls back the whole CONFIG SET', async () => {
    const taken = await occupied();
    try {
      const a = client(srv.port);
      await a.connect();
      const before = await a.config('GET', 'maxmemory');
      const ours = await errorOf(a.config('SET', 'maxmemory', '10000001', 'port', String(taken.port)));
      const r = client(redis.port);
      await r.connect();
      const theirs = await errorOf(r.config('SET', 'maxmemory', '10000001', 'port', String(taken.port)));
      expect(ours).toBe(theirs);
      expect(ours).toBe("ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port. Check server logs.");
      expect(await a.config('GET', 'maxmemory')).toEqual(before);
      expect(await a.config('GET', 'port')).toEqual(['port', String(srv.port)]);
      expect(await r.config('GET', 'port')).toEqual(['port', String(redis.port)]);
      expect(await accepts(srv.port)).toBe(true);
      expect((await redisCli(srv.port, ['PING'])).trim()).toBe('PONG');
      a.disconnect();
      r.disconnect();
    } finally {
      taken.close();
    }
  });

  it('is refused inside MULTI, where EXEC cannot wait for the listener', async () => {
    const a = client(srv.port);
    await a.connect();
    const res = await a.multi().config('SET', 'port', String(await freePort())).exec();
    expect(String(res![0][0])).toMatch(/CONFIG SET port cannot be used inside MULTI/);
    expect(await accepts(srv.port)).toBe(true);
    a.disconnect();
  });
});

describe('CONFIG SET bind', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startServer(['--save', '']);
  });
  afterAll(async () => srv?.stop());

  it('listens on the new addresses only', async () => {
    const a = client(srv.port);
    await a.connect();
    expect(await a.config('SET', 'bind', '127.0.0.2 127.0.0.3')).toBe('OK');
    expect(await a.config('GET', 'bind')).toEqual(['bind', '127.0.0.2 127.0.0.3']);
    expect(await accepts(srv.port, '127.0.0.1')).toBe(false);
    for (const host of ['127.0.0.2', '127.0.0.3']) {
      const b = client(srv.port, host);
      await b.connect();
      expect(await b.ping()).toBe('PONG');
      b.disconnect();
    }
    expect(await a.ping()).toBe('PONG');
    a.disconnect();
  });

  it('keeps the old addresses when one cannot be bound, with redis-server\'s error; a leading - makes an address optional', async () => {
    const redis = await startRedis();
    try {
      const a = client(srv.port, '127.0.0.2');
      await a.connect();
      // 192.0.2.1 (TEST-NET-1) is on no interface here: binding it fails without sending anything.
      const ours = await errorOf(a.config('SET', 'bind', '127.0.0.1 192.0.2.1'));
      const r = client(redis.port);
      await r.connect();
      const theirs = await errorOf(r.config('SET', 'bind', '127.0.0.1 192.0.2.1'));
      expect(ours).toBe(theirs);
      expect(ours).toBe("ERR CONFIG SET failed (possibly related to argument 'bind') - Failed to bind to specified addresses.");
      expect(await a.config('GET', 'bind')).toEqual(['bind', '127.0.0.2 127.0.0.3']);
      expect(await accepts(srv.port, '127.0.0.2')).toBe(true);
      // All or nothing: 127.0.0.1 was bound for a moment and let go again.
      expect(await accepts(srv.port, '127.0.0.1')).toBe(false);
      expect(await a.config('SET', 'bind', '-192.0.2.1 127.0.0.1')).toBe('OK');
      expect(await accepts(srv.port, '127.0.0.1')).toBe(true);
      expect(await accepts(srv.port, '127.0.0.2')).toBe(false);
      a.disconnect();
      r.disconnect();
    } finally {
      redis.stop();
    }
  });

  it('moves port and bind together in one CONFIG SET', async () => {
    const a = client(srv.port);
    await a.connect();
    const port = await freePort();
    expect(await a.config('SET', 'bind', '127.0.0.4', 'port', String(port))).toBe('OK');
    expect(await accepts(port, '127.0.0.4')).toBe(true);
    expect(await accepts(srv.port, '127.0.0.1')).toBe(false);
    expect(await a.config('SET', 'bind', '127.0.0.1')).toBe('OK');
    srv.port = port;
    a.disconnect();
  });
});

describe('the HTTP /metrics endpoint and TLS follow the port', () => {
  it('serves /metrics on the new port', async () => {
    const srv = await startServer(['--save', '']);
    try {
      const port = await freePort();
      expect((await redisCli(srv.port, ['CONFIG', 'SET', 'port', String(port)])).trim()).toBe('OK');
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('damselfly_');
      srv.port = port;
    } finally {
      await srv.stop();
    }
  });

  it('serves TLS on the new port with the configured certificate', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'damselfly-listen-tls-'));
    const f = (n: string) => path.join(dir, n);
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('s.key'), '-out', f('s.crt'), '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'pipe' });
    const srv = await startServer(['--save', '', '--tls', '--tls_cert_file', f('s.crt'), '--tls_key_file', f('s.key')]);
    try {
      const opts = { host: '127.0.0.1', tls: { ca: readFileSync(f('s.crt')) }, lazyConnect: true };
      const a = new Redis(srv.port, opts);
      await a.connect();
      const port = await freePort();
      expect(await a.config('SET', 'port', String(port))).toBe('OK');
      const b = new Redis(port, opts);
      await b.connect();
      expect(await b.ping()).toBe('PONG');
      expect(b.stream).toBeInstanceOf(tls.TLSSocket);
      expect((await redisCli(port, ['--tls', '--cacert', f('s.crt'), 'PING'])).trim()).toBe('PONG');
      a.disconnect();
      b.disconnect();
      srv.port = port;
    } finally {
      await srv.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
