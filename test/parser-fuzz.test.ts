/**
 * Differential fuzz of the request parser against redis-parser (the
 * reference RESP parser, Buffer mode): random streams of RESP requests with
 * binary arguments, cut into chunks at random boundaries, must come out as
 * the same commands, byte for byte. The parser has JS fast paths (short
 * arguments, digit lines, a cached command name) next to its C++-backed
 * slow paths, so lengths around those thresholds are generated on purpose.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import RedisParser from 'redis-parser';
import { ProtocolError, RequestParser } from '../src/protocol/parser.js';

const LIMITS = { maxBulkLen: 512 * 1024 * 1024, maxQueryBuffer: 1024 * 1024 * 1024, unauthenticated: false };

function encode(cmds: Buffer[][]): Buffer {
  const parts: Buffer[] = [];
  for (const args of cmds) {
    parts.push(Buffer.from(`*${args.length}\r\n`, 'latin1'));
    for (const a of args) parts.push(Buffer.from(`$${a.length}\r\n`, 'latin1'), a, Buffer.from('\r\n', 'latin1'));
  }
  return Buffer.concat(parts);
}

/** Cut `data` at the given (sorted, deduplicated) offsets. */
function split(data: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of at) {
    out.push(data.subarray(prev, c));
    prev = c;
  }
  out.push(data.subarray(prev));
  return out.filter((b) => b.length > 0);
}

/** Commands as latin1 strings: compares as fast as strings, still byte-exact. */
const canon = (cmds: (Buffer | Uint8Array)[][]) => cmds.map((c) => c.map((a) => Buffer.from(a).toString('latin1')));

/**
 * Our parser, fed either owned chunks or (transient) one reused read buffer
 * that is scribbled over after each read, as the server's shared buffer is
 * reused: anything the parser kept without copying would show up garbled.
 */
function ours(chunks: Buffer[], transient = false): Buffer[][] {
  const p = new RequestParser({ ...LIMITS });
  const out: Buffer[][] = [];
  const shared = Buffer.alloc(Math.max(1, ...chunks.map((c) => c.length)));
  for (const c of chunks) {
    if (transient) {
      c.copy(shared);
      p.feed(shared.subarray(0, c.length), true);
    } else {
      p.feed(Buffer.from(c));
    }
    for (let cmd = p.next(); cmd !== null; cmd = p.next()) out.push(cmd.map((s) => Buffer.from(s, 'latin1')));
    if (transient) {
      p.retain();
      shared.fill(0x2a);
    }
  }
  expect(p.buffered).toBe(0);
  return out;
}

/** Our parser, asked for commands only after every `per` reads (owned chunks). */
function batched(chunks: Buffer[], per: number): Buffer[][] {
  const p = new RequestParser({ ...LIMITS });
  const out: Buffer[][] = [];
  chunks.forEach((c, i) => {
    p.feed(Buffer.from(c));
    if ((i + 1) % per === 0 || i === chunks.length - 1) {
      for (let cmd = p.next(); cmd !== null; cmd = p.next()) out.push(cmd.map((s) => Buffer.from(s, 'latin1')));
    }
  });
  expect(p.buffered).toBe(0);
  return out;
}

function reference(chunks: Buffer[]): Buffer[][] {
  const out: Buffer[][] = [];
  const p = new RedisParser({
    returnBuffers: true,
    returnReply: (r: Buffer[]) => out.push(r),
    returnError: (e: Error) => {
      throw e;
    },
    returnFatalError: (e: Error) => {
      throw e;
    },
  });
  for (const c of chunks) p.execute(Buffer.from(c));
  return out;
}

/** Argument lengths: mostly short, often right at the fast-path limits, sometimes large. */
const arg = fc.oneof(
  { weight: 5, arbitrary: fc.uint8Array({ minLength: 0, maxLength: 30 }) },
  { weight: 2, arbitrary: fc.integer({ min: 22, max: 34 }).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 100, maxLength: 3000 }) },
  // Bytes that look like protocol inside a value: CR, LF, '*', '$', digits.
  { weight: 2, arbitrary: fc.array(fc.constantFrom(13, 10, 42, 36, 48, 49, 57, 0, 255), { maxLength: 40 }).map((a) => Uint8Array.from(a)) },
);
/** Names from a tiny alphabet so that consecutive names often differ in one byte only (the name cache). */
const name = fc.oneof(
  fc.constantFrom('SET', 'GET', 'set', 'INCR', 'MSET', 'SETX', 'GETSET', '\x00\xff'),
  fc.array(fc.constantFrom('a', 'b', 'A', '\r'), { minLength: 1, maxLength: 4 }).map((a) => a.join('')),
);
const command = fc
  .tuple(name, fc.array(arg, { minLength: 0, maxLength: 12 }))
  .map(([n, args]) => [Buffer.from(n, 'latin1'), ...args.map((a) => Buffer.from(a))]);

describe('RequestParser vs redis-parser', () => {
  it('parses random request streams split anywhere into the same commands', () => {
    fc.assert(
      fc.property(fc.array(command, { minLength: 1, maxLength: 40 }), fc.array(fc.nat(), { maxLength: 60 }), (cmds, cuts) => {
        const data = encode(cmds);
        const chunks = split(data, cuts);
        const got = canon(ours(chunks));
        expect(got).toEqual(canon(reference(chunks)));
        expect(got).toEqual(canon(cmds));
        expect(canon(ours(chunks, true))).toEqual(got);
      }),
      { numRuns: 400 },
    );
  });

  it('handles one byte at a time (every partial-line state)', () => {
    fc.assert(
      fc.property(fc.array(command, { minLength: 1, maxLength: 6 }), (cmds) => {
        const data = encode(cmds);
        const chunks = Array.from(data, (b) => Buffer.from([b]));
        expect(canon(ours(chunks))).toEqual(canon(reference(chunks)));
        expect(canon(ours(chunks, true))).toEqual(canon(reference(chunks)));
      }),
      { numRuns: 100 },
    );
  });

  it('takes a large bulk delivered in many chunks', () => {
    const big = Buffer.alloc(300_000, 0);
    for (let i = 0; i < big.length; i++) big[i] = (i * 131) & 255;
    const data = encode([[Buffer.from('SET'), Buffer.from('k'), big], [Buffer.from('GET'), Buffer.from('k')]]);
    const chunks: Buffer[] = [];
    for (let i = 0; i < data.length; i += 65536) chunks.push(data.subarray(i, i + 65536));
    expect(canon(ours(chunks))).toEqual(canon(reference(chunks)));
  });

  it('takes big bulks (gathered in their own buffer) cut anywhere, fed one read or several reads at a time', () => {
    // Bulks around and above the 32 KiB big-argument threshold, between small ones.
    const bigArg = fc.integer({ min: 32 * 1024 - 3, max: 100_000 }).map((n) => {
      const b = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i++) b[i] = (i * 7 + n) & 255;
      return b;
    });
    const cmd = fc
      .tuple(name, fc.array(fc.oneof(arg.map((a) => Buffer.from(a)), bigArg), { minLength: 0, maxLength: 5 }))
      .map(([n, args]) => [Buffer.from(n, 'latin1'), ...args]);
    fc.assert(
      fc.property(fc.array(cmd, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 40 }), fc.nat({ max: 4 }), (cmds, cuts, batch) => {
        const data = encode(cmds);
        const chunks = split(data, cuts);
        expect(canon(ours(chunks))).toEqual(canon(cmds));
        expect(canon(ours(chunks, true))).toEqual(canon(cmds));
        // Several reads arrive before the parser is asked (a suspended client).
        expect(canon(batched(chunks, batch + 1))).toEqual(canon(cmds));
      }),
      { numRuns: 60 },
    );
  });

  it('holds only the unfinished item of a giant request, not the arguments already parsed', () => {
    // Re-parsing an incomplete request from its first byte on every read
    // made requests with millions of arguments quadratic; Redis keeps
    // what it parsed and its query buffer holds only the rest.
    const n = 200_000;
    const args = [Buffer.from('SADD'), Buffer.from('k')];
    for (let i = 0; i < n; i++) args.push(Buffer.from(`member:${i}`));
    args.push(Buffer.alloc(300_000, 0x61), Buffer.from('tail'));
    const data = encode([args]);
    const p = new RequestParser({ ...LIMITS });
    let got: string[] | null = null;
    let most = 0;
    for (let o = 0; o < data.length; o += 16384) {
      p.feed(data.subarray(o, o + 16384));
      got = p.next();
      // A big bulk being gathered is part of the query buffer, as in Redis.
      most = Math.max(most, p.buffered);
      if (got !== null) break;
    }
    expect(got?.length).toBe(n + 4);
    expect(got?.[n + 2].length).toBe(300_000);
    expect(got?.[n + 3]).toBe('tail');
    expect(most).toBeLessThan(300_000 + 16384 + 64);
    expect(p.buffered).toBe(0);
  });

  it('rejects malformed length lines with Redis errors on both the fast and slow paths', () => {
    const bad = (s: string) => {
      const p = new RequestParser({ ...LIMITS });
      p.feed(Buffer.from(s, 'latin1'));
      try {
        p.next();
      } catch (e) {
        expect(e).toBeInstanceOf(ProtocolError);
        return (e as Error).message;
      }
      return 'no error';
    };
    expect(bad('*1x\r\n')).toBe('Protocol error: invalid multibulk length');
    expect(bad('*1\r\n$x\r\n')).toBe('Protocol error: invalid bulk length');
    expect(bad('*1\r\n$-3\r\n')).toBe('Protocol error: invalid bulk length');
    expect(bad('*1\r\n+3\r\n')).toBe("Protocol error: expected '$', got '+'");
    expect(bad('*2\r\n$1\r\na\r\n$999999999999\r\n')).toBe('Protocol error: invalid bulk length');
    // string2ll: no leading zeros, no "-0", no '+'.
    expect(bad('*01\r\n')).toBe('Protocol error: invalid multibulk length');
    expect(bad('*-0\r\n')).toBe('Protocol error: invalid multibulk length');
    expect(bad('*+1\r\n')).toBe('Protocol error: invalid multibulk length');
    expect(bad('*1\r\n$04\r\n')).toBe('Protocol error: invalid bulk length');
    expect(bad('*1\r\n$-0\r\n')).toBe('Protocol error: invalid bulk length');
    expect(bad('*2147483648\r\n')).toBe('Protocol error: invalid multibulk length');
    // A count up to INT_MAX is taken: the parser waits for the arguments.
    expect(bad('*2147483647\r\n$1\r\n')).toBe('no error');
    // '$' is checked once the line is complete, as Redis does.
    expect(bad('*1\r\n+3')).toBe('no error');
    // *-1 and *0 are empty requests, not errors.
    const p = new RequestParser({ ...LIMITS });
    p.feed(Buffer.from('*-1\r\n*0\r\n*1\r\n$4\r\nPING\r\n', 'latin1'));
    expect(p.next()).toEqual([]);
    expect(p.next()).toEqual([]);
    expect(p.next()).toEqual(['PING']);
  });
});

describe('the server over TCP (shared read buffer: unparsed tails must be copied)', () => {
  it('answers a pipeline of binary SET/GET written in random-sized pieces', async () => {
    const { startServer } = await import('./helpers/server.js');
    const net = await import('node:net');
    const srv = await startServer();
    try {
      const sock = net.connect(srv.port, '127.0.0.1');
      await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
      const replies: unknown[] = [];
      const parser = new RedisParser({
        returnBuffers: true,
        returnReply: (r: unknown) => replies.push(r),
        returnError: (e: Error) => replies.push(e),
        returnFatalError: (e: Error) => {
          throw e;
        },
      });
      sock.on('data', (d) => parser.execute(d));
      // Values from 0 to 200 KB so that commands straddle the 64 KB reads.
      const cmds: Buffer[][] = [];
      const values: Buffer[] = [];
      for (let i = 0; i < 60; i++) {
        const v = Buffer.alloc(i % 7 === 0 ? 200_000 - i : i * 37);
        for (let j = 0; j < v.length; j++) v[j] = (i * 31 + j * 7) & 255;
        values.push(v);
        cmds.push([Buffer.from('SET'), Buffer.from(`k\r\n${i}`, 'latin1'), v], [Buffer.from('GET'), Buffer.from(`k\r\n${i}`, 'latin1')]);
      }
      const data = encode(cmds);
      let seed = 7;
      for (let off = 0; off < data.length; ) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        const n = 1 + (seed % 90_000);
        sock.write(data.subarray(off, off + n));
        off += n;
        if (seed % 3 === 0) await new Promise((r) => setImmediate(r));
      }
      const deadline = Date.now() + 20_000;
      while (replies.length < cmds.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(replies.length).toBe(cmds.length);
      for (let i = 0; i < values.length; i++) {
        expect(String(replies[2 * i])).toBe('OK');
        expect(Buffer.compare(replies[2 * i + 1] as Buffer, values[i])).toBe(0);
      }
      sock.destroy();
    } finally {
      await srv.stop();
    }
  });
});

describe('Reply encoder fast paths', () => {
  it('writes integers, bulks and array headers byte-exact for any value', async () => {
    const { Reply } = await import('../src/protocol/reply.js');
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.integer().map((n) => ({ kind: 'int' as const, n })),
            fc.maxSafeInteger().map((n) => ({ kind: 'int' as const, n })),
            fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((n) => ({ kind: 'int' as const, n })),
            fc.uint8Array({ maxLength: 80 }).map((a) => ({ kind: 'bulk' as const, s: Buffer.from(a).toString('latin1') })),
            fc.nat({ max: 100000 }).map((n) => ({ kind: 'array' as const, n })),
          ),
          { maxLength: 30 },
        ),
        (items) => {
          const out: Buffer[] = [];
          const r = new Reply();
          r.sink = { write: (b: Buffer) => out.push(Buffer.from(b)) };
          let want = '';
          for (const it of items) {
            if (it.kind === 'int') {
              r.int(it.n);
              want += `:${Object.is(it.n, -0) ? 0 : it.n}\r\n`;
            } else if (it.kind === 'bulk') {
              r.bulk(it.s);
              want += `$${it.s.length}\r\n${it.s}\r\n`;
            } else {
              r.array(it.n);
              want += `*${it.n}\r\n`;
            }
          }
          r.flush();
          expect(Buffer.concat(out).toString('latin1')).toBe(want);
        },
      ),
      { numRuns: 300 },
    );
  });
});
