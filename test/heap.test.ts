/**
 * The heap is sized for the job and the dataset never kills the server:
 * the launcher's heap limit (from --maxmemory, a share of memory, or the
 * operator's --max-old-space-size), the supervisor's signals and exit codes,
 * the heap guard's -OOM with a small heap, and a boot refusing a snapshot
 * that cannot fit.
 */
import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { processAlive, startServer, until, type TestServer } from './helpers/server.js';
import { cgroupLimit, decideHeap, decideSemiSpace, initialOldSpaceMb, limitFits, memoryCap, oldGenerationLimit } from '../src/memory/heap-limit.js';

/** The node flags a process runs with (/proc/PID/cmdline). */
function nodeArgsOf(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0');
}

const MiB = 1024 * 1024;
/** V8 adds the young generation (3 semi-spaces of the launcher's 8 MiB) to --max-old-space-size. */
const YOUNG = 24 * MiB;

const servers: TestServer[] = [];
const openAndClose = (file: string): string => (writeFileSync(file, ''), file);
const clients: Redis[] = [];
const dirs: string[] = [];

async function start(flags: string[], opts: Parameters<typeof startServer>[1] = {}): Promise<TestServer> {
  const s = await startServer(['--save', '', '--enable-debug-command', 'yes', ...flags], opts);
  servers.push(s);
  return s;
}
function client(port: number): Redis {
  const c = new Redis({ port, maxRetriesPerRequest: 0, retryStrategy: () => null });
  c.on('error', () => {});
  clients.push(c);
  return c;
}
function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'damselfly-heap-'));
  dirs.push(d);
  return d;
}
const field = (info: string, name: string) => new RegExp(`^${name}:(.*)\\r?$`, 'm').exec(info)?.[1];
const heapLimitOf = async (c: Redis) => Number(field(await c.info('memory'), 'heap_size_limit'));

afterEach(async () => {
  for (const c of clients.splice(0)) c.disconnect();
  for (const s of servers.splice(0)) await s.stop();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('the launcher sizes the heap', () => {
  it('follows --maxmemory: 1.5 x maxmemory + 256 MiB, in a re-executed child', async () => {
    const s = await start(['--maxmemory', '100mb']);
    expect(s.pid).not.toBe(s.proc.pid);
    const want = 1.5 * 100 * MiB + 256 * MiB;
    expect(Math.abs((await heapLimitOf(client(s.port))) - YOUNG - want)).toBeLessThan(MiB);
    const line = s.logs.find((l) => /^heap limit /.test(l.msg))!;
    expect(line.source).toBe('maxmemory');
    expect(line.msg).toMatch(/1\.5 x maxmemory 100 MiB \+ 256 MiB/);
  });

  it('reads --maxmemory from a flagfile too', async () => {
    const d = tempDir();
    const ff = path.join(d, 'flags.conf');
    // --snapshot_keep is defined by a module the launcher does not load: it must skip it, not fail.
    writeFileSync(ff, '# heap test\n--snapshot_keep=3\n--maxmemory=200mb\n');
    const s = await start([`--flagfile=${ff}`]);
    const c = client(s.port);
    expect(Math.abs((await heapLimitOf(c)) - YOUNG - (300 * MiB + 256 * MiB))).toBeLessThan(MiB);
    expect(field(await c.info('memory'), 'heap_limit_source')).toBe('maxmemory');
  });

  it('with maxmemory 0 takes 75% of the machine or cgroup memory, not V8\'s default', async () => {
    const s = await start([]);
    const c = client(s.port);
    const cap = memoryCap();
    const want = Math.floor((cap.bytes * 0.75) / MiB) * MiB;
    expect(Math.abs((await heapLimitOf(c)) - YOUNG - want)).toBeLessThan(MiB);
    expect(field(await c.info('memory'), 'heap_limit_source')).toBe('memory-share');
    expect(s.logs.find((l) => /^heap limit /.test(l.msg))!.msg).toMatch(/maxmemory is 0: 75% of the (machine memory|cgroup limit)/);
  });

  it('gives a boot with a large file to load in --dir a larger young generation', async () => {
    const d = tempDir();
    // Sparse: the launcher only looks at sizes, and a data file no manifest names is never loaded.
    truncateSync(openAndClose(path.join(d, '00000001.lonely.dfs')), 1.2e9);
    const s = await start(['--dir', d]);
    expect(s.logs.find((l) => /^heap limit /.test(l.msg))!.msg).toMatch(/; young generation of 32 MiB semi-spaces for the 1\.2 GB of data to load$/);
    const want = Math.floor((memoryCap().bytes * 0.75) / MiB) * MiB;
    expect(Math.abs((await heapLimitOf(client(s.port))) - 3 * 32 * MiB - want)).toBeLessThan(MiB);
    // The old-generation floor follows the semi-space (16 of them).
    expect(nodeArgsOf(s.pid)).toContain('--initial-old-space-size=512');
  });

  it('gives the server an old-generation floor (--initial-old-space-size, 16 semi-spaces), so a small old generation is not marked back to back', async () => {
    const s = await start([]);
    expect(s.pid).not.toBe(s.proc.pid); // run again with the flags
    const args = nodeArgsOf(s.pid);
    expect(args).toContain('--max-semi-space-size=8');
    expect(args).toContain('--initial-old-space-size=128');
  });

  it('keeps a --max-old-space-size set in NODE_OPTIONS or on the node command line, without re-executing', async () => {
    const a = await start(['--maxmemory', '1gb'], { env: { NODE_OPTIONS: '--max-old-space-size=300' } });
    expect(a.pid).toBe(a.proc.pid);
    // Without --max-semi-space-size V8's young generation (up to 48 MiB) comes on top.
    const la = await heapLimitOf(client(a.port));
    expect(la).toBeGreaterThanOrEqual(300 * MiB);
    expect(la).toBeLessThanOrEqual(350 * MiB);
    expect(a.logs.find((l) => /^heap limit /.test(l.msg))!.msg).toMatch(/--max-old-space-size=300 set on the NODE_OPTIONS: kept as is/);
    const b = await start([], { nodeArgs: ['--max-old-space-size=320'] });
    expect(b.pid).toBe(b.proc.pid);
    const cb = client(b.port);
    const lb = await heapLimitOf(cb);
    expect(lb).toBeGreaterThanOrEqual(320 * MiB);
    expect(lb).toBeLessThanOrEqual(370 * MiB);
    expect(field(await cb.info('memory'), 'heap_limit_source')).toBe('operator');
  });

  it('the server exits when its launcher is killed with SIGKILL', async () => {
    const s = await start([]);
    expect(processAlive(s.pid)).toBe(true);
    s.proc.kill('SIGKILL');
    await s.exited;
    await until(async () => !processAlive(s.pid), 'the orphaned server to exit', 5000);
    // Nobody serves the port any more (the kernel may take a moment to drop the listening socket).
    await until(
      () =>
        new Promise<boolean>((resolve) => {
          const sock = net.connect(s.port, '127.0.0.1');
          sock.on('connect', () => sock.write('PING\r\n'));
          sock.on('data', () => (sock.destroy(), resolve(false)));
          sock.on('error', () => resolve(true));
          sock.on('close', () => resolve(true));
        }),
      'the port to be closed',
      5000,
    );
  });

  it('SIGTERM reaches the server, which saves as before; the launcher exits with its code', async () => {
    const dir = tempDir();
    const s = await start(['--dir', dir, '--save', '3600 1']);
    const c = client(s.port);
    await c.set('k', 'survives');
    s.proc.kill('SIGTERM');
    expect(await s.exited).toBe(0);
    expect(s.logs.some((l) => l.msg === 'received signal, shutting down' && l.signal === 'SIGTERM')).toBe(true);
    expect(processAlive(s.pid)).toBe(false);
    const s2 = await start(['--dir', dir]);
    expect(await client(s2.port).get('k')).toBe('survives');
  });

  it('SIGINT too, and an exit code or a signal of the server passes through', async () => {
    const s = await start([]);
    s.proc.kill('SIGINT');
    expect(await s.exited).toBe(0);
    expect(s.logs.some((l) => l.msg === 'received signal, shutting down' && l.signal === 'SIGINT')).toBe(true);

    // A bad flag: the server's usual message and exit code 2, through the launcher.
    const bad = await startServer(['--snapshot_keep', 'many'], { noWait: true });
    servers.push(bad);
    expect(await bad.exited).toBe(2);
    expect(bad.logs.map((l) => l.msg).join('\n')).toMatch(/invalid value for --snapshot_keep/);

    // The server killed: the launcher dies of the same signal.
    const k = await start([]);
    process.kill(k.pid, 'SIGKILL');
    await k.exited;
    expect(k.proc.signalCode).toBe('SIGKILL');

    // SIGHUP is forwarded (the server has no handler for it: it ends, as it did before the launcher).
    const h = await start([]);
    h.proc.kill('SIGHUP');
    await h.exited;
    expect(h.proc.signalCode).toBe('SIGHUP');
    expect(processAlive(h.pid)).toBe(false);
  });
});

/**
 * Pipelined SETs of `valueSize` bytes over one socket, `total` bytes of
 * values in all; counts +OK and -OOM replies. Stops early once `stopAfterOom`
 * refusals were seen.
 */
async function pipelineSets(srv: TestServer, prefix: string, valueSize: number, total: number, stopAfterOom = Infinity): Promise<{ ok: number; oom: number; firstOom: string }> {
  const sock = net.connect(srv.port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  const value = 'v'.repeat(valueSize);
  const count = Math.ceil(total / valueSize);
  const res = { ok: 0, oom: 0, firstOom: '' };
  let pending = '';
  let replies = 0;
  let sent = 0;
  let done: () => void = () => {};
  let failed: (e: Error) => void = () => {};
  const finished = new Promise<void>((r, j) => ((done = r), (failed = j)));
  finished.catch(() => {}); // awaited below only if replies are still due
  // A server that closed the connection (or died) fails the fill at once, saying so.
  let lost: Error | null = null;
  const onLost = (e?: Error) => {
    // With what the server logged last: a V8 abort would be there.
    const tail = srv.logs.slice(-8).map((l) => l.msg.slice(0, 300)).join(' | ');
    lost ??= new Error(`connection lost during the fill after ${replies} replies (${e?.message ?? 'closed'}); server log: ${tail}`);
    failed(lost);
  };
  sock.on('error', onLost);
  sock.on('close', () => onLost());
  sock.on('data', (d) => {
    pending += d.toString('latin1');
    let nl;
    while ((nl = pending.indexOf('\r\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 2);
      replies++;
      if (line === '+OK') res.ok++;
      else if (line.startsWith('-OOM')) {
        if (res.oom++ === 0) res.firstOom = line.slice(1);
      } else throw new Error('unexpected reply ' + line.slice(0, 200));
    }
    if (replies === sent && (sent >= count || res.oom >= stopAfterOom)) done();
  });
  const BATCH = 256;
  while (sent < count && res.oom < stopAfterOom) {
    if (lost) throw lost;
    let chunk = '';
    const n = Math.min(BATCH, count - sent);
    for (let i = 0; i < n; i++) {
      const k = `${prefix}:${sent + i}`;
      chunk += `*3\r\n$3\r\nSET\r\n$${k.length}\r\n${k}\r\n$${valueSize}\r\n${value}\r\n`;
    }
    sent += n;
    // Keep at most a few batches in flight: the test measures the server, not socket buffers.
    if (!sock.write(chunk, 'latin1')) await new Promise((r) => (sock.once('drain', r), sock.once('close', r)));
    while (sent - replies > 4 * BATCH && !lost) await new Promise((r) => setImmediate(r));
  }
  if (replies < sent) await finished;
  sock.removeAllListeners('close');
  sock.destroy();
  return res;
}

describe('the heap guard', () => {
  it('a small heap fed well past its size: -OOM, the server stays up, BGSAVE works, writes resume after FLUSHALL', { timeout: 180_000 }, async () => {
    const s = await start(['--maxmemory', '0'], { env: { NODE_OPTIONS: '--max-old-space-size=768' } });
    const c = client(s.port);
    await c.set('before', 'kept');
    // 1.2 GiB of 4 KiB values, against a 768 MiB heap.
    const r = await pipelineSets(s, 'fill', 4096, 1200 * MiB, 2000);
    expect(r.oom).toBeGreaterThan(0);
    expect(r.ok * 4096).toBeGreaterThan(400 * MiB);
    expect(r.firstOom).toMatch(/^OOM command not allowed when used memory > 'maxmemory'\. The JS heap is nearly full/);
    expect(r.firstOom).toMatch(/--max-old-space-size/);
    // Another client keeps being refused: no crash, no slow death.
    const more = await pipelineSets(s, 'more', 4096, 64 * MiB);
    expect(more.ok).toBe(0);
    expect(processAlive(s.pid)).toBe(true);
    const mem = await c.info('memory');
    expect(field(mem, 'heap_oom_refusing')).toBe('1');
    expect(Number(field(mem, 'heap_oom_rejected_commands'))).toBeGreaterThan(0);
    expect(s.logs.some((l) => /^heap nearly full/.test(l.msg))).toBe(true);
    // Reads, deletes and other non-denyoom commands work.
    expect(await c.get('before')).toBe('kept');
    expect(await c.get('fill:0')).toHaveLength(4096);
    expect(await c.del('fill:0', 'fill:1')).toBe(2);
    expect(await c.dbsize()).toBeGreaterThan(100_000);
    // Not denyoom in Redis, but it can add more than the heap holds.
    await expect(c.call('debug', 'populate', '10', 'pop')).rejects.toThrow(/^OOM /);
    // A background save of the full heap completes.
    expect(await c.bgsave()).toBe('Background saving started');
    await until(async () => field(await c.info('persistence'), 'rdb_bgsave_in_progress') === '0', 'BGSAVE to finish', 60_000);
    const pers = await c.info('persistence');
    expect(field(pers, 'rdb_last_bgsave_status')).toBe('ok');
    expect(Number(field(pers, 'snapshot_last_keys'))).toBeGreaterThan(100_000);
    expect(processAlive(s.pid)).toBe(true);
    // Memory freed: writes come back (the guard collects garbage itself while writes wait).
    expect(await c.flushall()).toBe('OK');
    await until(async () => (await c.set('after', 'x').catch(() => null)) === 'OK', 'writes accepted after FLUSHALL', 60_000);
    expect(field(await c.info('memory'), 'heap_oom_refusing')).toBe('0');
    expect(s.logs.some((l) => l.msg === 'heap has room again: accepting writes')).toBe(true);
    const again = await pipelineSets(s, 'again', 4096, 40 * MiB);
    expect(again).toMatchObject({ oom: 0 });
  });

  it('MULTI under OOM: queued commands are refused and EXEC aborts', { timeout: 120_000 }, async () => {
    const s = await start([], { env: { NODE_OPTIONS: '--max-old-space-size=256' } });
    // Stop at the first refusal: near the limit V8 collects often, and on a loaded machine
    // (CI) a longer fill into that zone took the test past its timeout.
    const r = await pipelineSets(s, 'fill', 4096, 400 * MiB, 1);
    expect(r.oom).toBeGreaterThan(0);
    // The guard's thresholds are fractions of the old space (V8's default semi-space here:
    // heap_size_limit is 48 MiB more). V8 aborts after four back-to-back collections that
    // leave 80% of it or more: when they were fractions of heap_size_limit, live data reached
    // 98% of the old space (250.5 of 256 MiB) before the first refusal in a measured fill,
    // and a fill under load died there.
    const mem = await client(s.port).info('memory');
    const oldLimit = Number(field(mem, 'heap_old_space_limit'));
    expect(Math.abs(oldLimit - 256 * MiB)).toBeLessThan(MiB);
    expect(Number(field(mem, 'heap_used_after_gc'))).toBeLessThan(0.85 * oldLimit);
    const raw = net.connect(s.port, '127.0.0.1');
    await new Promise((res) => raw.once('connect', res));
    let got = '';
    raw.on('data', (d) => (got += d.toString('latin1')));
    raw.write('MULTI\r\nGET fill:1\r\nEXEC\r\nMULTI\r\nDISCARD\r\n');
    await until(async () => got.split('\r\n').length > 5, 'replies', 10_000);
    const lines = got.split('\r\n');
    expect(lines[0]).toBe('+OK');
    expect(lines[1]).toMatch(/^-OOM command not allowed/);
    expect(lines[2]).toBe('-EXECABORT Transaction discarded because of previous errors.');
    expect(lines[3]).toBe('+OK');
    expect(lines[4]).toBe('+OK');
    raw.destroy();
  });

  it('a request whose bulk argument cannot fit in the heap is refused from its length line; the server stays up', async () => {
    const s = await start([], { env: { NODE_OPTIONS: '--max-old-space-size=256' } });
    const raw = net.connect(s.port, '127.0.0.1');
    await new Promise((res) => raw.once('connect', res));
    let got = '';
    let closed = false;
    raw.on('data', (d) => (got += d.toString('latin1')));
    raw.on('close', () => (closed = true));
    raw.on('error', () => {});
    // 300 MiB would become one 300 MiB string in a 304 MiB heap: V8 would abort the process.
    raw.write(`*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$${300 * MiB}\r\n` + 'x'.repeat(64 * 1024));
    await until(async () => closed, 'the connection to be closed', 10_000);
    expect(got).toMatch(new RegExp(`^-ERR Protocol error: a bulk argument of ${300 * MiB} bytes does not fit in the JS heap now`));
    const c = client(s.port);
    expect(await c.set('small', 'fits')).toBe('OK');
    expect(Number(field(await c.info('memory'), 'heap_oom_rejected_commands'))).toBe(1);
  });

  it('a request of millions of small arguments that cannot fit in the heap is refused while it arrives; the server stays up', async () => {
    // Parsed arguments leave the query buffer (as in Redis), so no buffer
    // limit bounds a request: its arguments are checked against the heap.
    // A small semi-space given explicitly: the guard's 85% is of the whole heap.
    const s = await start([], { env: { NODE_OPTIONS: '--max-old-space-size=128 --max-semi-space-size=2' } });
    const raw = net.connect(s.port, '127.0.0.1');
    await new Promise((res) => raw.once('connect', res));
    let got = '';
    let closed = false;
    raw.on('data', (d) => (got += d.toString('latin1')));
    raw.on('close', () => (closed = true));
    raw.on('error', () => {});
    const total = 20_000_000;
    raw.write(`*${total + 2}\r\n$4\r\nSADD\r\n$1\r\ns\r\n`);
    // 40+ heap bytes per distinct 11-byte member: ~3M members fill 128 MiB.
    for (let i = 0; i < total && !closed; i += 10_000) {
      let chunk = '';
      for (let j = i; j < i + 10_000; j++) chunk += `$11\r\nm${String(j).padStart(10, '0')}\r\n`;
      if (!raw.write(chunk)) await new Promise((res) => {
        raw.once('drain', res);
        raw.once('close', res);
      });
      // Read what arrives between writes, as a client does: a loop that
      // never yields only notices the server's close when a write fails,
      // and Node then drops the socket with the error reply unread.
      else await new Promise((res) => setImmediate(res));
    }
    await until(async () => closed, 'the connection to be closed', 30_000);
    expect(got).toMatch(/^-ERR Protocol error: a request of \d+ arguments so far does not fit in the JS heap now/);
    const c = client(s.port);
    expect(await c.set('small', 'fits')).toBe('OK');
  }, 120_000);

  it('CONFIG SET maxmemory above what the heap was sized for is accepted with a warning and shown in INFO', async () => {
    const s = await start(['--maxmemory', '64mb']);
    const c = client(s.port);
    expect(field(await c.info('memory'), 'heap_fits_maxmemory')).toBe('1');
    expect(await c.config('SET', 'maxmemory', '10gb')).toBe('OK');
    expect(await c.config('GET', 'maxmemory')).toEqual(['maxmemory', String(10 * 1024 ** 3)]);
    expect(field(await c.info('memory'), 'heap_fits_maxmemory')).toBe('0');
    await s.waitForLog((l) => /^maxmemory \d+ is more than this process's heap/.test(l.msg));
    expect(await c.config('SET', 'maxmemory', '64mb')).toBe('OK');
    expect(field(await c.info('memory'), 'heap_fits_maxmemory')).toBe('1');
  });
});

describe('a snapshot too large for the heap', () => {
  it('fails the boot with one clear line naming the flags, before reading it (manifest) or while loading', { timeout: 300_000 }, async () => {
    const dir = tempDir();
    // Big values: the manifest alone shows it cannot fit in a 256 MiB heap.
    const big = await start(['--dir', dir]);
    const cb = client(big.port);
    expect(await cb.call('debug', 'populate', '30000', 'big', '10000')).toBe('OK');
    expect(await cb.save()).toBe('OK');
    cb.disconnect();
    await big.stop();
    const small = await startServer(['--dir', dir], { noWait: true, env: { NODE_OPTIONS: '--max-old-space-size=256' } });
    servers.push(small);
    expect(await small.exited).toBe(1);
    const fatal = small.logs.filter((l) => l.level >= 60);
    expect(fatal).toHaveLength(1);
    expect(fatal[0].msg).toMatch(/needs at least \d+ MiB of heap once loaded/);
    expect(fatal[0].msg).toMatch(/--maxmemory \d+mb or more, or NODE_OPTIONS=--max-old-space-size=\d+/);
    expect(small.logs.some((l) => /FATAL ERROR|heap out of memory/.test(l.msg))).toBe(false);

    // Many small keys: the manifest's lower bound (25 MB of data + 32 bytes a key: 71 MiB) fits below
    // the threshold of a 112 MiB heap (90 MiB); the loaded keys (~105 MiB measured) do not.
    const dir2 = tempDir();
    const many = await start(['--dir', dir2]);
    const cm = client(many.port);
    expect(await cm.call('debug', 'populate', '1500000', 'k', '1')).toBe('OK');
    expect(await cm.save()).toBe('OK');
    cm.disconnect();
    await many.stop();
    const s2 = await startServer(['--dir', dir2], { noWait: true, env: { NODE_OPTIONS: '--max-old-space-size=106 --max-semi-space-size=2' } });
    servers.push(s2);
    // A load that unexpectedly fits must fail the test, not hang it.
    expect(await Promise.race([s2.exited, s2.waitForLog((l) => l.msg === 'ready to accept connections', 150_000).then(() => 'started', () => 'no')])).toBe(1);
    const fatal2 = s2.logs.filter((l) => l.level >= 60);
    expect(fatal2).toHaveLength(1);
    expect(fatal2[0].msg).toMatch(/filled the heap after \d+ of 1500000 keys/);
    expect(fatal2[0].msg).toMatch(/NODE_OPTIONS=--max-old-space-size=\d+/);
    expect(s2.logs.some((l) => /FATAL ERROR|heap out of memory/.test(l.msg))).toBe(false);
  });
});

describe('the memory the heap limit is a share of', () => {
  const GiB = 1024 ** 3;
  function fakeProc(cgroup: string, mountinfo: (root: string) => string, files: Record<string, string>): string {
    const root = tempDir();
    mkdirSync(path.join(root, 'proc/self'), { recursive: true });
    writeFileSync(path.join(root, 'proc/self/cgroup'), cgroup);
    writeFileSync(path.join(root, 'proc/self/mountinfo'), mountinfo(root));
    for (const [f, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
      writeFileSync(path.join(root, f), text);
    }
    return root;
  }

  it('cgroup v2: the smallest memory.max from our cgroup up to the mount root', () => {
    const root = fakeProc('0::/app/worker\n', (r) => `40 30 0:37 / ${r}/cg2 rw,relatime - cgroup2 cgroup2 rw\n`, {
      'cg2/app/worker/memory.max': 'max\n',
      'cg2/app/memory.max': `${2 * GiB}\n`,
      'cg2/memory.max': `${8 * GiB}\n`,
    });
    expect(cgroupLimit(path.join(root, 'proc'))).toEqual({ bytes: 2 * GiB, source: path.join(root, 'cg2/app/memory.max') });
  });

  it('cgroup v1: hierarchical_memory_limit, else memory.limit_in_bytes; a mount rooted inside the hierarchy (container)', () => {
    const root = fakeProc(
      '4:memory:/docker/abc\n1:cpu:/docker/abc\n',
      (r) => `34 30 0:31 /docker/abc ${r}/memory rw,relatime - cgroup cgroup rw,memory\n`,
      { 'memory/memory.limit_in_bytes': `${3 * GiB}\n`, 'memory/memory.stat': `cache 0\nhierarchical_memory_limit ${GiB}\n` },
    );
    expect(cgroupLimit(path.join(root, 'proc'))!.bytes).toBe(GiB);
    const noStat = fakeProc('4:memory:/\n', (r) => `34 30 0:31 / ${r}/memory rw - cgroup cgroup rw,memory\n`, {
      'memory/memory.limit_in_bytes': '9223372036854771712\n',
    });
    // The page-rounded 2^63 means no limit.
    expect(cgroupLimit(path.join(noStat, 'proc'))).toBeNull();
  });

  it('both formulas are capped at 75% of that memory; an explicit flag wins over both', () => {
    const cap = { bytes: 4 * GiB, source: 'cgroup limit (test)' };
    expect(decideHeap(0, [], {}, cap)).toMatchObject({ oldSpaceMb: 3072, source: 'memory-share', capped: false });
    expect(decideHeap(GiB, [], {}, cap)).toMatchObject({ oldSpaceMb: 1792, source: 'maxmemory', capped: false });
    const big = decideHeap(3 * GiB, [], {}, cap);
    expect(big).toMatchObject({ oldSpaceMb: 3072, capped: true });
    expect(big.reason).toMatch(/capped there; writes get -OOM before maxmemory is reached/);
    expect(decideHeap(GiB, ['--max_old_space_size=512'], {}, cap)).toMatchObject({ oldSpaceMb: null, source: 'operator' });
    expect(decideHeap(GiB, [], { NODE_OPTIONS: '--trace-gc --max-old-space-size=700' }, cap).reason).toMatch(/=700 set on the NODE_OPTIONS/);
  });

  it("the guard's old space: the explicit flag, else heap_size_limit less three semi-spaces (V8's default 16 MiB)", () => {
    expect(oldGenerationLimit(304 * MiB, [], '--max-old-space-size=256')).toBe(256 * MiB);
    expect(oldGenerationLimit(262 * MiB, ['--max-old-space-size=256', '--max-semi-space-size=2'], undefined)).toBe(256 * MiB);
    expect(oldGenerationLimit(4144 * MiB, [], undefined)).toBe(4096 * MiB);
    expect(oldGenerationLimit(4102 * MiB, ['--max-semi-space-size', '2'], undefined)).toBe(4096 * MiB);
    expect(oldGenerationLimit(4192 * MiB, [], '--max_semi_space_size=32')).toBe(4096 * MiB);
  });

  it('the semi-space: 8 MiB, doubling per 64x of expected dataset (boot file or maxmemory) up to 32 MiB; the operator\'s flag is kept', () => {
    expect(decideSemiSpace([], undefined, 0)).toBe(8);
    expect(decideSemiSpace([], undefined, 512 * MiB)).toBe(8);
    expect(decideSemiSpace([], undefined, 513 * MiB)).toBe(16);
    expect(decideSemiSpace([], undefined, 1.2e9)).toBe(32);
    expect(decideSemiSpace([], undefined, 2.1e9)).toBe(32);
    expect(decideSemiSpace([], undefined, 11e9)).toBe(32);
    expect(decideSemiSpace([], undefined, 1024 * MiB)).toBe(16); // maxmemory 1gb
    expect(decideSemiSpace(['--max-semi-space-size=4'], undefined, 11e9)).toBeNull();
    expect(decideSemiSpace([], '--max_semi_space_size=2', 0)).toBeNull();
    // A process whose heap limit fits is still run again for another semi-space (null flag: V8's 16).
    const d = { oldSpaceMb: 1024, reason: '', source: 'maxmemory', capped: false };
    expect(limitFits({ ...d, semiMb: 8 }, 1024 * MiB, 8)).toBe(true);
    expect(limitFits({ ...d, semiMb: 8 }, 1024 * MiB, null)).toBe(false);
    expect(limitFits({ ...d, semiMb: 16 }, 1024 * MiB, null)).toBe(true);
    expect(limitFits({ ...d, semiMb: null }, 1024 * MiB, 2)).toBe(true);
    // ... and for an old-generation floor it lacks.
    expect(limitFits({ ...d, semiMb: 8, initialOldMb: 128 }, 1024 * MiB, 8, null)).toBe(false);
    expect(limitFits({ ...d, semiMb: 8, initialOldMb: 128 }, 1024 * MiB, 8, 128)).toBe(true);
    expect(limitFits({ ...d, semiMb: 8, initialOldMb: null }, 1024 * MiB, 8, 64)).toBe(true);
    expect(initialOldSpaceMb(8)).toBe(128);
    expect(initialOldSpaceMb(32)).toBe(512);
  });
});
