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

function ours(chunks: Buffer[]): Buffer[][] {
  const p = new RequestParser({ ...LIMITS });
  const out: Buffer[][] = [];
  for (const c of chunks) {
    // The server hands each chunk over and may reuse nothing: copy to be sure
    // the parser does not depend on the caller keeping it unchanged.
    p.feed(Buffer.from(c));
    for (let cmd = p.next(); cmd !== null; cmd = p.next()) out.push(cmd.map((s) => Buffer.from(s, 'latin1')));
  }
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
    // *-1 and *0 are empty requests, not errors.
    const p = new RequestParser({ ...LIMITS });
    p.feed(Buffer.from('*-1\r\n*0\r\n*1\r\n$4\r\nPING\r\n', 'latin1'));
    expect(p.next()).toEqual([]);
    expect(p.next()).toEqual([]);
    expect(p.next()).toEqual(['PING']);
  });
});
