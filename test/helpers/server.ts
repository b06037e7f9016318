/**
 * Start the real server (dist/main.js, built by `npm test`'s pretest) as a
 * child process on a free port, and talk to it over real TCP.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const MAIN = path.join(ROOT, 'dist/main.js');

export interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

export interface TestServer {
  port: number;
  /**
   * The launcher (dist/main.js). It re-executes node with a heap limit sized
   * for the job and stays as a supervisor: signals sent to it reach the
   * server, it exits with the server's code, and the server exits if it dies.
   */
  proc: ChildProcess;
  /** The pid of the server process itself (proc.pid's child, or proc.pid when the launcher did not re-execute). */
  pid: number;
  /** Snapshot folder (--dir) unless the caller gave one. */
  dir: string;
  logs: LogLine[];
  /** Resolves with the first log line that matches. */
  waitForLog(pred: (l: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Don't wait at all (for start-up failure tests). */
  noWait?: boolean;
  /**
   * What to wait for: 'ready' (default: the snapshot is loaded, data commands
   * work) or 'listening' (the port is open; tests of the -LOADING phase).
   */
  waitFor?: 'listening' | 'ready';
  env?: NodeJS.ProcessEnv;
  /** Keep the --dir folder after stop (a restart test reuses it). */
  keepDir?: boolean;
  /** node flags before dist/main.js (e.g. --max-old-space-size). */
  nodeArgs?: string[];
  /** A command that runs node (e.g. ['prlimit', '--nofile=256:256']). */
  wrap?: string[];
}

export async function startServer(flags: string[] = [], opts: StartOptions = {}): Promise<TestServer> {
  const hasDir = flags.some((f) => f.startsWith('--dir'));
  const dir = hasDir ? '' : mkdtempSync(path.join(tmpdir(), 'damselfly-test-'));
  const args = [...(opts.nodeArgs ?? []), MAIN, '--port', '0', ...(hasDir ? [] : ['--dir', dir]), ...flags];
  const [cmd, ...pre] = opts.wrap ?? [];
  const proc = spawn(cmd ?? process.execPath, cmd === undefined ? args : [...pre, process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
  const logs: LogLine[] = [];
  const waiters: { pred: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];
  const onLine = (line: string) => {
    let l: LogLine;
    try {
      l = JSON.parse(line);
    } catch {
      l = { level: 0, msg: line };
    }
    logs.push(l);
    for (const w of [...waiters]) {
      if (w.pred(l)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(l);
      }
    }
  };
  createInterface({ input: proc.stdout! }).on('line', onLine);
  createInterface({ input: proc.stderr! }).on('line', onLine);
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const waitForLog = (pred: (l: LogLine) => boolean, timeoutMs = 20000) =>
    new Promise<LogLine>((resolve, reject) => {
      const found = logs.find(pred);
      if (found) return resolve(found);
      const t = setTimeout(() => reject(new Error('timed out waiting for log line; logs:\n' + logs.map((l) => JSON.stringify(l)).join('\n'))), timeoutMs);
      waiters.push({ pred, resolve: (l) => (clearTimeout(t), resolve(l)) });
      void exited.then((code) => {
        clearTimeout(t);
        reject(new Error(`server exited (${code}) before the expected log line; logs:\n` + logs.map((l) => JSON.stringify(l)).join('\n')));
      });
    });
  let port = 0;
  let pid = proc.pid!;
  if (!opts.noWait) {
    const l = await waitForLog((x) => x.msg === 'listening');
    port = l.port as number;
    pid = l.pid as number;
    if (opts.waitFor !== 'listening') await waitForLog((x) => x.msg === 'ready to accept connections');
  }
  const server: TestServer = {
    port,
    proc,
    pid,
    dir,
    logs,
    waitForLog,
    exited,
    async stop() {
      const serverPid = logs.find((l) => l.msg === 'listening')?.pid as number | undefined;
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGKILL');
        await exited;
      }
      // The server notices its launcher's death on its own; don't leave it writing into dir meanwhile.
      if (serverPid !== undefined && serverPid !== proc.pid) {
        try {
          process.kill(serverPid, 'SIGKILL');
        } catch {
          // already gone
        }
        await until(async () => !processAlive(serverPid), `server process ${serverPid} to exit`);
      }
      if (dir && !opts.keepDir) rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}

/** True while pid runs (a zombie waiting to be reaped counts as gone). */
export function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Run redis-cli (Debian's redis-tools) against port; resolves with stdout. */
export function redisCli(port: number, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = execFile('redis-cli', ['-p', String(port), ...args], { encoding: 'latin1' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`redis-cli failed: ${err.message} ${stderr}`));
      else resolve(stdout);
    });
    if (input !== undefined) p.stdin!.end(input);
  });
}

/** Poll `pred` until it holds; fail naming `what` after `ms` (for state that has no event to await). */
export async function until(pred: () => Promise<boolean>, what = 'condition', ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error('timed out waiting for ' + what);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A RESP request (array of bulk strings) for raw-socket tests; args are latin1. */
export const resp = (...args: string[]): string =>
  `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a, 'latin1')}\r\n${a}\r\n`).join('');

/**
 * A raw TCP connection for protocol-level tests: send bytes, read replies.
 */
export class RawClient {
  private buf = Buffer.alloc(0);
  private waiter: (() => void) | null = null;
  closed = false;
  private constructor(readonly sock: net.Socket) {
    sock.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.waiter?.();
    });
    sock.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
    sock.on('error', () => {});
  }
  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }
  write(data: string | Buffer): void {
    this.sock.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }
  private waitData(deadline: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.closed) return resolve();
      const t = setTimeout(
        () => reject(new Error(`timeout; have ${JSON.stringify(this.buf.toString('latin1').slice(0, 500))}`)),
        Math.max(1, deadline - Date.now()),
      );
      this.waiter = () => {
        clearTimeout(t);
        this.waiter = null;
        resolve();
      };
    });
  }
  /** Wait until at least n bytes (or close), return and consume them. */
  async read(n: number, timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.buf.length < n && !this.closed) await this.waitData(deadline);
    const out = this.buf.subarray(0, n).toString('latin1');
    this.buf = this.buf.subarray(Math.min(n, this.buf.length));
    return out;
  }
  /** Read up to and including the first `suffix` (or all there is at close). */
  async readUntil(suffix: string, timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = this.buf.toString('latin1');
      const i = s.indexOf(suffix);
      if (i >= 0) {
        this.buf = this.buf.subarray(i + suffix.length);
        return s.slice(0, i + suffix.length);
      }
      if (this.closed) {
        this.buf = Buffer.alloc(0);
        return s;
      }
      await this.waitData(deadline);
    }
  }
  /** Resolves when the server closes the connection. */
  waitClosed(timeoutMs = 5000): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.closed) return resolve();
      const t = setTimeout(() => reject(new Error('connection not closed')), timeoutMs);
      this.sock.once('close', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }
  close(): void {
    this.sock.destroy();
  }
}
