/**
 * Memory of a server under test: its pid comes from INFO server's
 * process_id (the spawned process may be a launcher that re-executes the
 * real server), its resident size from /proc/PID/status.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { redisCli } from './server.js';

export async function serverPid(port: number): Promise<number> {
  const info = await redisCli(port, ['INFO', 'server']);
  const m = /process_id:(\d+)/.exec(info);
  if (!m) throw new Error('no process_id in INFO server');
  return Number(m[1]);
}

/** VmRSS in bytes. */
export function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error('no VmRSS for ' + pid);
  return Number(m[1]) * 1024;
}

export const MB = 1024 * 1024;

/**
 * A connection that reads nothing until told to: the server's output for it
 * piles up in kernel buffers and then in the server's own.
 */
export class SlowReader {
  readonly sock: net.Socket;
  received = 0;
  /** First bytes received (the reply's head), up to 4 KB. */
  head = '';
  closed = false;
  /** The server's CLIENT ID for this connection. */
  id = 0;
  private constructor(sock: net.Socket) {
    this.sock = sock;
    sock.on('close', () => (this.closed = true));
    sock.on('error', () => {});
  }
  /** Connect, learn the connection's CLIENT ID, then stop reading. */
  static connect(port: number): Promise<SlowReader> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => s.write('*2\r\n$6\r\nCLIENT\r\n$2\r\nID\r\n'));
      s.once('error', reject);
      let idText = '';
      const onId = (d: Buffer) => {
        idText += d.toString('latin1');
        if (!idText.endsWith('\r\n')) return;
        s.off('data', onId);
        s.pause();
        const r = new SlowReader(s);
        r.id = Number(idText.slice(1, -2));
        s.on('data', (d: Buffer) => {
          if (r.head.length < 4096) r.head += d.subarray(0, 4096 - r.head.length).toString('latin1');
          r.received += d.length;
        });
        resolve(r);
      };
      s.on('data', onId);
    });
  }

  /** Resolves true once the server no longer lists this connection (false after `ms`). */
  async goneWithin(port: number, ms: number): Promise<boolean> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if ((await redisCli(port, ['CLIENT', 'LIST', 'ID', String(this.id)])).trim() === '') return true;
      await new Promise((r) => setTimeout(r, 20));
    }
    return false;
  }

  /** Read (and throw away) at full speed until `bytes` more arrived, then stop reading. */
  drain(bytes: number, timeoutMs = 20000): Promise<void> {
    const target = this.received + bytes;
    return new Promise<void>((resolve, reject) => {
      const done = (err?: Error) => {
        clearTimeout(t);
        this.sock.off('data', check);
        this.sock.off('close', onClose);
        this.sock.pause();
        if (err) reject(err);
        else resolve();
      };
      const check = () => {
        if (this.received >= target) done();
      };
      const onClose = () => done(new Error(`connection closed after ${this.received} of ${target} bytes`));
      const t = setTimeout(() => done(new Error(`read only ${this.received} of ${target} bytes`)), timeoutMs);
      if (this.closed) return onClose();
      this.sock.on('data', check);
      this.sock.on('close', onClose);
      this.sock.resume();
    });
  }
}
