/**
 * Start-up flags: --flagfile (comments, ${VAR}), failures that name the flag,
 * --bind, --requirepass, --dbnum, and the shipped dragonfly.conf.example.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import Redis from 'ioredis';
import net from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RawClient, startServer, type TestServer } from './helpers/server.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tmp = mkdtempSync(path.join(tmpdir(), 'damselfly-config-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const err = (p: Promise<unknown>) => p.then(() => 'no error', (e: Error) => e.message);

/** Start a server expected to refuse start-up; returns its exit code and all it printed. */
async function failedStart(flags: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  const s = await startServer(flags, { noWait: true, env });
  const code = await s.exited;
  // Let the output streams drain.
  await new Promise((res) => setImmediate(res));
  const out = s.logs.map((l) => l.msg).join('\n');
  await s.stop();
  return { code, out };
}

async function withServer(flags: string[], fn: (s: TestServer) => Promise<void>, env?: NodeJS.ProcessEnv): Promise<void> {
  const s = await startServer(flags, { env });
  try {
    await fn(s);
  } finally {
    await s.stop();
  }
}

function tryConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

describe('--flagfile', () => {
  it('reads one flag a line, skips comments and blank lines, expands ${VAR}', async () => {
    const file = path.join(tmp, 'ok.flags');
    writeFileSync(file, ['# a comment', '', '  --maxclients=${DF_TEST_MAXCLIENTS}  ', '--hz=${DF_TEST_HZ}', '# --hz=99'].join('\n'));
    await withServer(
      ['--flagfile', file],
      async (s) => {
        const r = new Redis({ port: s.port });
        expect(await r.config('GET', 'maxclients')).toEqual(['maxclients', '123']);
        expect(await r.config('GET', 'hz')).toEqual(['hz', '25']);
        r.disconnect();
      },
      { DF_TEST_MAXCLIENTS: '123', DF_TEST_HZ: '25' },
    );
  });

  it('an unset ${VAR} stops start-up naming the variable', async () => {
    const file = path.join(tmp, 'unset.flags');
    writeFileSync(file, '--requirepass=${DF_TEST_SURELY_UNSET}\n');
    const { code, out } = await failedStart(['--flagfile', file]);
    expect(code).not.toBe(0);
    expect(out).toContain('DF_TEST_SURELY_UNSET');
    expect(out).toContain('unset.flags:1');
  });

  it('a missing flagfile stops start-up', async () => {
    const { code, out } = await failedStart(['--flagfile', path.join(tmp, 'nope.flags')]);
    expect(code).not.toBe(0);
    expect(out).toContain('nope.flags');
  });

  it('dragonfly.conf.example parses and its settings apply', async () => {
    const dir = mkdtempSync(path.join(tmp, 'data-'));
    // Later flags override the file's port and dir so the test does not clash with a real server.
    await withServer(['--flagfile', path.join(ROOT, 'dragonfly.conf.example'), '--port', '0', '--dir', dir], async (s) => {
      const r = new Redis({ port: s.port });
      // 64000, or what this machine's open files limit leaves for clients (maxclients is lowered to fit).
      const hard = Number(execFileSync('prlimit', ['--pid', String(process.pid), '--nofile', '--output', 'HARD', '--noheadings', '--raw'], { encoding: 'utf8' }).trim());
      expect(await r.config('GET', 'maxclients')).toEqual(['maxclients', String(Math.min(64000, hard - 32))]);
      expect(await r.config('GET', 'databases')).toEqual(['databases', '16']);
      expect(await r.ping()).toBe('PONG');
      r.disconnect();
    });
  });
});

describe('bad flags stop start-up with a message naming the flag', () => {
  it('unknown flag', async () => {
    const { code, out } = await failedStart(['--no_such_flag=1']);
    expect(code).not.toBe(0);
    expect(out).toContain('--no_such_flag');
  });

  it('bad values', async () => {
    for (const [flag, value] of [
      ['--port', 'abc'],
      ['--dbnum', '0'],
      ['--hz', '100000'],
      ['--maxmemory-policy', 'sometimes'],
    ]) {
      const { code, out } = await failedStart([flag, value]);
      expect(code).not.toBe(0);
      expect(out).toContain(flag.replace(/^--/, ''));
    }
  }, 120000);

  it('a value-taking flag given without one', async () => {
    const { code, out } = await failedStart(['--dbnum']);
    expect(code).not.toBe(0);
    expect(out).toContain('--dbnum');
  });
});

describe('network and database flags', () => {
  it('--bind listens on the given address only', async () => {
    await withServer(['--bind', '127.0.0.2'], async (s) => {
      expect(await tryConnect('127.0.0.2', s.port)).toBe(true);
      expect(await tryConnect('127.0.0.1', s.port)).toBe(false);
    });
  });

  it('--requirepass demands AUTH', async () => {
    await withServer(['--requirepass', 's3cret pass'], async (s) => {
      const c = await RawClient.connect(s.port);
      c.write('GET x\r\n');
      expect(await c.readUntil('\r\n')).toMatch(/^-NOAUTH Authentication required/);
      c.write('AUTH wrong\r\n');
      expect(await c.readUntil('\r\n')).toMatch(/^-WRONGPASS/);
      c.write('AUTH "s3cret pass"\r\nSET x 1\r\n');
      expect(await c.read(10)).toBe('+OK\r\n+OK\r\n');
      c.close();
      const ok = new Redis({ port: s.port, password: 's3cret pass' });
      expect(await ok.get('x')).toBe('1');
      ok.disconnect();
    });
  });

  it('--requirepass from the environment through a flagfile, and the password is not logged', async () => {
    const file = path.join(tmp, 'pass.flags');
    writeFileSync(file, '--requirepass=${DF_TEST_PASS}\n');
    await withServer(
      ['--flagfile', file],
      async (s) => {
        const r = new Redis({ port: s.port, password: 'from-env-xyz' });
        expect(await r.ping()).toBe('PONG');
        r.disconnect();
        expect(s.logs.some((l) => JSON.stringify(l).includes('from-env-xyz'))).toBe(false);
      },
      { DF_TEST_PASS: 'from-env-xyz' },
    );
  });

  it('--dbnum sets the number of databases', async () => {
    await withServer(['--dbnum', '4'], async (s) => {
      const r = new Redis({ port: s.port });
      expect(await r.config('GET', 'databases')).toEqual(['databases', '4']);
      expect(await r.select(3)).toBe('OK');
      expect(await err(r.select(4))).toBe('ERR DB index is out of range');
      expect(await err(r.move('k', 4))).toBe('ERR DB index is out of range');
      r.disconnect();
    });
  });
});
