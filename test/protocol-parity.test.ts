/**
 * Request parsing at the edges, judged against the real redis-server 7.0:
 * the same bytes are sent to both over raw TCP and the replies, and whether
 * the connection was closed, must be identical. Length fields (`*N`, `$N`:
 * Redis's string2ll refuses leading zeros, "-0", '+', blanks; a multibulk
 * count up to INT_MAX is taken), inline lines split by sdssplitargs (a \v
 * or \f inside a word is part of it), long inline lines, and NUL bytes
 * (Redis finds line ends with strchr, which stops at a NUL).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import { startServer, type TestServer } from './helpers/server.js';
import { startRedis, type Oracle } from './helpers/redis-oracle.js';

let srv: TestServer;
let redis: Oracle;
beforeAll(async () => {
  [srv, redis] = await Promise.all([startServer(), startRedis()]);
});
afterAll(async () => {
  redis?.stop();
  await srv?.stop();
});

/** Sent after every case: its reply marks the end when the connection stays open. */
const SENTINEL = '*2\r\n$4\r\nECHO\r\n$3\r\nEND\r\n';
const SENTINEL_REPLY = '$3\r\nEND\r\n';

interface Outcome {
  reply: string;
  /** 'closed', 'open' (the sentinel was answered) or 'waiting' (neither within the idle time). */
  end: 'closed' | 'open' | 'waiting';
}

/**
 * Send `bytes` then the sentinel on a new connection; the outcome is what
 * came back until the server closed, answered the sentinel, or stayed
 * silent for `idleMs` (a server waiting for more input has no event to
 * await; only cases built to wait use it).
 */
function exchange(port: number, bytes: Buffer, idleMs = 2000): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1');
    let got = '';
    let idle: NodeJS.Timeout | null = null;
    const done = (end: Outcome['end']) => {
      if (idle) clearTimeout(idle);
      c.removeAllListeners();
      c.on('error', () => {});
      c.destroy();
      resolve({ reply: got, end });
    };
    const arm = () => {
      if (idle) clearTimeout(idle);
      idle = setTimeout(() => done('waiting'), idleMs);
    };
    c.on('data', (d) => {
      got += d.toString('latin1');
      if (got.endsWith(SENTINEL_REPLY)) done('open');
      else arm();
    });
    c.on('close', () => done('closed'));
    c.on('error', (e) => ((e as NodeJS.ErrnoException).code === 'ECONNRESET' ? done('closed') : reject(e)));
    c.on('connect', () => {
      c.write(Buffer.concat([bytes, Buffer.from(SENTINEL, 'latin1')]));
      arm();
    });
  });
}

/** Both servers' outcomes for each case, run `width` at a time. */
async function compare(cases: Buffer[], idleMs?: number, width = 16): Promise<{ input: string; ours: Outcome; redis: Outcome }[]> {
  const out: { input: string; ours: Outcome; redis: Outcome }[] = new Array(cases.length);
  let next = 0;
  const worker = async () => {
    while (next < cases.length) {
      const i = next++;
      const [ours, theirs] = await Promise.all([exchange(srv.port, cases[i], idleMs), exchange(redis.port, cases[i], idleMs)]);
      out[i] = { input: cases[i].toString('latin1').slice(0, 200), ours, redis: theirs };
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
  return out;
}

function expectSame(results: { input: string; ours: Outcome; redis: Outcome }[]): void {
  const differ = results.filter((r) => r.ours.reply !== r.redis.reply || r.ours.end !== r.redis.end);
  expect(differ.slice(0, 10)).toEqual([]);
}

/** A small deterministic PRNG so that a failure names a reproducible case. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIELDS = [
  '0', '1', '2', '3', '01', '001', '00', '-0', '-00', '-1', '-5', '-01', '+1', ' 1', '1 ', '', '-', '--1', '1a', '0x1', '1.0', '1e3', '\t1',
  '2147483647', '2147483648', '1073741824', '1073741825', '4294967297', '9223372036854775807', '9223372036854775808',
  '-9223372036854775808', '-9223372036854775809', '99999999999999999999', '-99999999999999999999', '123456789012345678901', '\xff1',
];

/** Random length fields: sign/padding, 1-2 or 10-21 digits (never a valid bulk length a server would wait for), junk after. */
function randomFields(n: number, seed: number): string[] {
  const r = rng(seed);
  const pick = <T>(a: T[]) => a[Math.floor(r() * a.length)];
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const digits = r() < 0.6 ? 1 + Math.floor(r() * 2) : 10 + Math.floor(r() * 12);
    let d = '';
    for (let j = 0; j < digits; j++) d += String(Math.floor(r() * 10));
    out.push(pick(['', '', '', '-', '+', ' ', '0', '00', '-0']) + d + pick(['', '', '', ' ', 'x', '\t', '-']));
  }
  return out;
}

describe('length fields as Redis parses them (string2ll)', () => {
  it('multibulk counts: the same replies and closures as redis-server', async () => {
    // A count that is taken makes PING its first argument; the sentinel's
    // `*2` line then either follows a complete request or is refused as a
    // bulk line: every case ends.
    const cases = [...FIELDS, ...randomFields(300, 1)].map((f) => Buffer.from(`*${f}\r\n$4\r\nPING\r\n`, 'latin1'));
    expectSame(await compare(cases));
  });

  it('bulk lengths: the same replies and closures as redis-server', async () => {
    const cases = [...FIELDS, ...randomFields(300, 2)].map((f) => {
      // As many data bytes as a plain reading of the field says (fields have at most 2 digits or at least 10), so accepted lengths complete.
      const n = /^-?[0-9]+$/.test(f) && Number(f) >= 0 && Number(f) <= 99 ? Number(f) : 3;
      return Buffer.from(`*2\r\n$4\r\nECHO\r\n$${f}\r\n${'a'.repeat(n)}\r\n`, 'latin1');
    });
    expectSame(await compare(cases));
  });

  it('the cases the probe found: *01, $04, *-0 refused; *1073741825 taken', async () => {
    const res = await compare(['*01\r\n$4\r\nPING\r\n', '*1\r\n$04\r\nPING\r\n', '*-0\r\n', '*1\r\n$-0\r\n', '*1073741825\r\n$x\r\n'].map((s) => Buffer.from(s, 'latin1')));
    expectSame(res);
    expect(res.map((r) => r.ours.reply)).toEqual([
      '-ERR Protocol error: invalid multibulk length\r\n',
      '-ERR Protocol error: invalid bulk length\r\n',
      '-ERR Protocol error: invalid multibulk length\r\n',
      '-ERR Protocol error: invalid bulk length\r\n',
      // The count was taken: the error is about the bulk line after it.
      '-ERR Protocol error: invalid bulk length\r\n',
    ]);
  });

  it('a line is not complete before its CR and one more byte; the byte after CR is not checked', async () => {
    const res = await compare(['*1\rx$4\rxPING\r\n', '*1\r\n+4\r\n', '*1\r\n$4\r\nPINGxy'].map((s) => Buffer.from(s, 'latin1')));
    expectSame(res);
    expect(res[0].ours.reply).toBe('+PONG\r\n' + SENTINEL_REPLY);
  });
});

describe('NUL bytes end a line search, as strchr does in Redis', () => {
  it('a length line or inline line holding a NUL waits for more, then is too big', async () => {
    const pad = 'x'.repeat(70_000);
    const res = await compare(['*1\x00\r\n$4\r\nPING\r\n' + pad, '*1\r\n$4\x00\r\nPING\r\n' + pad, 'PING\x00\r\nPING\r\n' + pad].map((s) => Buffer.from(s, 'latin1')));
    expectSame(res);
    expect(res.map((r) => r.ours.reply)).toEqual([
      '-ERR Protocol error: too big mbulk count string\r\n',
      '-ERR Protocol error: too big bulk count string\r\n',
      '-ERR Protocol error: too big inline request\r\n',
    ]);
  });
});

describe('after a protocol error', () => {
  /** Keep writing after `seq` until the server drops the connection (false if it never does within the time). */
  function floodUntilDropped(port: number, seq: string): Promise<boolean> {
    return new Promise((resolve) => {
      const c = net.connect(port, '127.0.0.1');
      let closed = false;
      c.on('error', () => {});
      c.on('close', () => {
        closed = true;
        resolve(true);
      });
      c.on('connect', async () => {
        c.write(Buffer.from(seq, 'latin1'));
        const end = Date.now() + 20_000;
        while (!closed && Date.now() < end) {
          for (let i = 0; i < 1000 && !closed; i++) c.write('payload');
          await new Promise((r) => setImmediate(r));
        }
        if (!closed) {
          c.destroy();
          resolve(false);
        }
      });
    });
  }

  it('a client that keeps writing is disconnected, as Redis closes the socket (its "protocol desync" tests)', async () => {
    for (const seq of ['\x00', '*\x00', '$\x00']) {
      const [ours, theirs] = await Promise.all([floodUntilDropped(srv.port, seq), floodUntilDropped(redis.port, seq)]);
      expect({ seq, ours }).toEqual({ seq, ours: theirs });
      expect(ours).toBe(true);
    }
  }, 90_000);
});

describe('inline commands', () => {
  /**
   * Random lines from an alphabet rich in what sdssplitargs treats
   * specially: blanks (\v and \f are blanks between words but part of a
   * word), both quotes, backslash escapes, \x hex escapes.
   */
  function randomLines(n: number, seed: number): string[] {
    const r = rng(seed);
    const alphabet = ['a', 'b', 'Z', '0', '7', 'x', 'n', 'f', ' ', ' ', '\t', '\v', '\f', '\r', '"', '"', "'", "'", '\\', '\\x4', '\\x4a', '\\n', '\xe9', ',', '$'];
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const len = Math.floor(r() * 14);
      let s = '';
      for (let j = 0; j < len; j++) s += alphabet[Math.floor(r() * alphabet.length)];
      out.push(s);
    }
    return out;
  }

  it('splits 5,000 random lines into the same arguments as redis-server', async () => {
    // RPUSH stores the words, LRANGE shows them byte for byte; a line with
    // unbalanced quotes closes the connection on both.
    const cases = randomLines(5000, 3).map((line) =>
      Buffer.from(`RPUSH l ${line}\r\n*4\r\n$6\r\nLRANGE\r\n$1\r\nl\r\n$1\r\n0\r\n$2\r\n-1\r\n*2\r\n$3\r\nDEL\r\n$1\r\nl\r\n`, 'latin1'),
    );
    const res = await compare(cases, undefined, 32);
    expectSame(res);
    // The corpus exercises both outcomes.
    expect(res.filter((r) => r.ours.end === 'closed').length).toBeGreaterThan(100);
    expect(res.filter((r) => r.ours.end === 'open').length).toBeGreaterThan(1000);
  }, 120_000);

  it('a \\v or \\f inside a word is part of it; between words it separates them', async () => {
    const res = await compare(['ECHO a\vb\r\n', 'ECHO a\fb\r\n', 'ECHO \va\r\n', 'ECHO "a"\vb\r\n', 'ECHO a\v\r\n'].map((s) => Buffer.from(s, 'latin1')));
    expectSame(res);
    expect(res[0].ours.reply).toBe('$3\r\na\vb\r\n' + SENTINEL_REPLY);
  });

  it('takes a line over 64 KiB whose newline has arrived, refuses an unterminated one over 64 KiB', async () => {
    // How much Redis has read when it looks for the newline depends on its
    // read sizes (16 KiB, then growing), ours on 64 KiB reads: a line of
    // 70,000 bytes sent at once is taken by both, 300,000 refused by both.
    const res = await compare(['ECHO ' + 'y'.repeat(70_000) + '\r\n', 'ECHO ' + 'y'.repeat(300_000) + '\r\n'].map((s) => Buffer.from(s, 'latin1')));
    expectSame(res);
    expect(res[0].ours.reply.startsWith('$70000\r\n')).toBe(true);
    expect(res[1].ours.reply).toBe('-ERR Protocol error: too big inline request\r\n');
    expect(res[1].ours.end).toBe('closed');
  });
});
