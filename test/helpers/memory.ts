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
  private constructor(sock: net.Socket) {
    this.sock = sock;
    sock.pause();
    sock.on('data', (d: Buffer) => {
      if (this.head.length < 4096) this.head += d.subarray(0, 4096 - this.head.length).toString('latin1');
      this.received += d.length;
    });
    sock.on('close', () => (this.closed = true));
    sock.on('error', () => {});
  }
  static connect(port: number): Promise<SlowReader> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(new SlowReader(s)));
      s.once('error', reject);
    });
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
