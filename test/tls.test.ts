/**
 * TLS on the main port with certificates made at test time by openssl:
 * redis-cli --tls, ioredis and node-redis connect; with a CA, clients need
 * a certificate it signed; CONFIG SET of the certificate file swaps it for
 * new connections, and a file that cannot be read is refused (the old one
 * stays); a missing key stops start-up with one line.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { redisCli, startServer, type TestServer } from './helpers/server.js';

let dir: string;
const f = (name: string) => path.join(dir, name);
const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });

/** A CA, and server and client certificates it signs (server: CN=localhost, IP 127.0.0.1). */
function makeCerts(): void {
  dir = mkdtempSync(path.join(tmpdir(), 'damselfly-tls-'));
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '2', '-subj', '/CN=damselfly-test-ca');
  const leaf = (name: string, cn: string, ext: string) => {
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=${cn}`);
    execFileSync('sh', ['-c', `printf '%s' '${ext}' > ${f(`${name}.ext`)}`]);
    ssl('x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f(`${name}.crt`), '-days', '2', '-extfile', f(`${name}.ext`));
  };
  leaf('server', 'localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1');
  leaf('server2', 'localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1');
  leaf('client', 'damselfly-client', 'extendedKeyUsage=clientAuth');
}

beforeAll(() => makeCerts());
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const serialOf = (port: number, extra: tls.ConnectionOptions = {}) =>
  new Promise<string>((resolve, reject) => {
    const s = tls.connect({ port, host: '127.0.0.1', ca: readFileSync(f('ca.crt')), servername: 'localhost', ...extra }, () => {
      resolve(s.getPeerCertificate().serialNumber);
      s.end();
    });
    s.on('error', reject);
  });

describe('TLS without client certificates', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startServer(['--save', '', '--tls', '--tls_cert_file', f('server.crt'), '--tls_key_file', f('server.key')]);
  });
  afterAll(async () => srv?.stop());

  it('serves redis-cli --tls, ioredis and node-redis; plain TCP gets no answer', async () => {
    expect((await redisCli(srv.port, ['--tls', '--cacert', f('ca.crt'), 'SET', 'tk', 'tv'])).trim()).toBe('OK');
    const io = new Redis({ port: srv.port, host: '127.0.0.1', tls: { ca: readFileSync(f('ca.crt')), servername: 'localhost' } });
    expect(await io.get('tk')).toBe('tv');
    io.disconnect();
    const nr = createClient({ socket: { port: srv.port, host: '127.0.0.1', tls: true, ca: readFileSync(f('ca.crt')), servername: 'localhost' } });
    await nr.connect();
    expect(await nr.get('tk')).toBe('tv');
    await nr.quit();
    const plain = new Redis({ port: srv.port, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 2000, commandTimeout: 2000 });
    await expect(plain.ping()).rejects.toThrow();
    plain.disconnect();
  });

  it('CONFIG SET tls-cert-file swaps the certificate for new connections; an unreadable file is refused', async () => {
    const io = new Redis({ port: srv.port, host: '127.0.0.1', tls: { ca: readFileSync(f('ca.crt')), servername: 'localhost' } });
    const before = await serialOf(srv.port);
    await io.config('SET', 'tls-cert-file', f('server2.crt'), 'tls-key-file', f('server2.key'));
    const after = await serialOf(srv.port);
    expect(after).not.toBe(before);
    await expect(io.config('SET', 'tls-cert-file', f('nosuch.crt'))).rejects.toThrow(/CONFIG SET failed .*tls-cert-file.*cannot read the TLS certificate/);
    expect(await io.config('GET', 'tls-cert-file')).toEqual(['tls-cert-file', f('server2.crt')]);
    expect(await serialOf(srv.port)).toBe(after);
    io.disconnect();
  });
});

describe('TLS with a CA: client certificates required', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startServer(['--save', '', '--tls', '--tls_cert_file', f('server.crt'), '--tls_key_file', f('server.key'), '--tls_ca_cert_file', f('ca.crt')]);
  });
  afterAll(async () => srv?.stop());

  it('accepts a client with a certificate the CA signed, refuses one without', async () => {
    const good = new Redis({ port: srv.port, host: '127.0.0.1', tls: { ca: readFileSync(f('ca.crt')), cert: readFileSync(f('client.crt')), key: readFileSync(f('client.key')), servername: 'localhost' } });
    expect(await good.ping()).toBe('PONG');
    good.disconnect();
    expect((await redisCli(srv.port, ['--tls', '--cacert', f('ca.crt'), '--cert', f('client.crt'), '--key', f('client.key'), 'PING'])).trim()).toBe('PONG');
    const bad = new Redis({ port: srv.port, host: '127.0.0.1', tls: { ca: readFileSync(f('ca.crt')), servername: 'localhost' }, maxRetriesPerRequest: 0, retryStrategy: () => null });
    bad.on('error', () => {});
    await expect(bad.ping()).rejects.toThrow();
    bad.disconnect();
  });
});

it('start-up without a key file stops with one line naming what is missing', async () => {
  const s = await startServer(['--tls', '--tls_cert_file', f('server.crt')], { noWait: true });
  expect(await s.exited).toBe(1);
  const fatal = s.logs.filter((l) => l.level === 60);
  expect(fatal.map((l) => l.msg)).toEqual([expect.stringContaining('--tls needs --tls_cert_file and --tls_key_file')]);
  await s.stop();
});
