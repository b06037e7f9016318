/**
 * TLS on the main port (Dragonfly's --tls and its file flags, Redis's
 * tls-* CONFIG names). With a CA (file or directory), clients must present
 * a certificate it signed. CONFIG SET of a file parameter re-reads the
 * files and swaps the context: connections made afterwards use it, open
 * ones keep theirs, as in Redis.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { defineParam, getBool, getString } from '../config/params.js';

let reload: (() => void) | null = null;

/** Called by CONFIG SET: a bad file refuses the change (the old context stays). */
function onFileChange(): void {
  reload?.();
}

defineParam({ name: 'tls', type: 'bool', default: 'no', flagOnly: true, help: 'speak TLS on the main port (needs --tls_cert_file and --tls_key_file)' });
defineParam({ name: 'tls-cert-file', flag: 'tls_cert_file', type: 'string', default: '', mutable: true, onChange: onFileChange, help: 'server certificate (PEM); CONFIG SET re-reads it' });
defineParam({ name: 'tls-key-file', flag: 'tls_key_file', type: 'string', default: '', mutable: true, onChange: onFileChange, help: 'server private key (PEM); CONFIG SET re-reads it' });
defineParam({ name: 'tls-ca-cert-file', flag: 'tls_ca_cert_file', type: 'string', default: '', mutable: true, onChange: onFileChange, help: 'CA bundle (PEM): when set, clients must present a certificate it signed' });
defineParam({ name: 'tls-ca-cert-dir', flag: 'tls_ca_cert_dir', type: 'string', default: '', mutable: true, onChange: onFileChange, help: 'directory of CA certificates (PEM): when set, clients must present a certificate one of them signed' });

function readCaDir(dir: string): Buffer[] {
  return readdirSync(dir)
    .filter((f) => /\.(pem|crt|cer)$/i.test(f) || /^[0-9a-f]{8}\.\d+$/i.test(f))
    .map((f) => readFileSync(path.join(dir, f)));
}

/** The server's TLS options from the current parameters; throws an Error naming the file it could not use. */
export function tlsOptions(): tls.TlsOptions {
  const certFile = getString('tls-cert-file');
  const keyFile = getString('tls-key-file');
  if (certFile === '' || keyFile === '') throw new Error('--tls needs --tls_cert_file and --tls_key_file');
  const read = (f: string, what: string) => {
    try {
      return readFileSync(f);
    } catch (e) {
      throw new Error(`cannot read the TLS ${what} ${f}: ${(e as Error).message}`);
    }
  };
  const ca: Buffer[] = [];
  const caFile = getString('tls-ca-cert-file');
  const caDir = getString('tls-ca-cert-dir');
  if (caFile !== '') ca.push(read(caFile, 'CA file'));
  if (caDir !== '') {
    try {
      ca.push(...readCaDir(caDir));
    } catch (e) {
      throw new Error(`cannot read the TLS CA directory ${caDir}: ${(e as Error).message}`);
    }
  }
  const opts: tls.TlsOptions = { cert: read(certFile, 'certificate'), key: read(keyFile, 'key') };
  if (ca.length > 0) Object.assign(opts, { ca, requestCert: true, rejectUnauthorized: true });
  // Fails here, on bad PEM or a key that does not match, rather than at the first handshake.
  tls.createSecureContext(opts);
  return opts;
}

export function tlsEnabled(): boolean {
  return getBool('tls');
}

/** The listening servers whose context CONFIG SET replaces. */
export function watchTlsFiles(servers: tls.Server[]): void {
  reload = () => {
    const opts = tlsOptions();
    for (const s of servers) {
      s.setSecureContext(opts);
      // Read per connection by Node: adding or removing a CA turns client certificates on or off.
      Object.assign(s, { requestCert: opts.requestCert === true, rejectUnauthorized: opts.rejectUnauthorized === true });
    }
  };
}
