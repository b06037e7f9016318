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

/** A RESP request (array of bulk strings); args are latin1. */
const resp = (...args: string[]): string =>
  `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a, 'latin1')}\r\n${a}\r\n`).join('');

/** The raw reply to `args` in protocol `proto` on a fresh connection, read up to the PING sent after it. */
export async function rawReply(port: number, proto: 2 | 3, args: string[]): Promise<string> {
  const c = net.connect(port, '127.0.0.1');
  let got = '';
  c.on('data', (d) => (got += d.toString('latin1')));
  await new Promise((r) => c.once('connect', r));
  const until = async (suffix: string) => {
    const end = Date.now() + 10000;
    while (!got.endsWith(suffix)) {
      if (Date.now() > end) throw new Error('timeout: ' + got.slice(-100));
      await new Promise((r) => c.once('data', r));
    }
  };
  if (proto === 3) {
    c.write(resp('HELLO', '3') + resp('PING'));
    await until('+PONG\r\n');
    got = '';
  }
  c.write(resp(...args) + resp('PING'));
  await until('+PONG\r\n');
  c.destroy();
  return got;
}

