/**
 * The real redis-server 7.0 (/usr/bin/redis-server) on a free port, as the
 * oracle for reply bytes and error texts.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';

export interface Oracle {
  port: number;
  stop(): void;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
    s.once('error', reject);
  });
}

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    c.once('error', () => resolve(false));
    c.once('connect', () => c.write('PING\r\n'));
    c.once('data', (d) => {
      c.destroy();
      resolve(d.toString() === '+PONG\r\n');
    });
  });
}

export async function startRedis(extra: string[] = []): Promise<Oracle> {
  const port = await freePort();
  const p = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extra], { stdio: 'ignore' });
  const end = Date.now() + 10000;
  while (!(await answersPing(port))) {
    if (Date.now() > end || p.exitCode !== null) throw new Error('redis-server did not start');
    await new Promise((r) => setTimeout(r, 20));
  }
  return { port, stop: () => p.kill('SIGKILL') };
}
