/**
 * The script client's Reply (src/scripting/script-reply.ts) holds a lone
 * scalar reply as a value; whatever else is written must come out as the
 * bytes a plain Reply writes, in the same order. (What Lua sees of held
 * replies is compared with redis-server in test/scripting-eval.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { Reply } from '../src/protocol/reply.js';
import { HELD_ARRAY, HELD_BULK, HELD_INT, HELD_NONE, HELD_NULL, HELD_PAIR, HELD_STATUS, ScriptReply } from '../src/scripting/script-reply.js';

/** Reply's internals, which only its own public members call. */
const INTERNAL = new Set(['constructor', 'newSlab', 'ensure', 'header']);

describe('ScriptReply', () => {
  it('overrides every public member of Reply (a new one would write past a held value)', () => {
    const missing = Object.getOwnPropertyNames(Reply.prototype).filter((n) => !INTERNAL.has(n) && !Object.prototype.hasOwnProperty.call(ScriptReply.prototype, n));
    expect(missing).toEqual([]);
  });

  it('holds one scalar written first, and nothing else', () => {
    const cases: [(r: Reply) => void, number, boolean?][] = [
      [(r) => (r.array(2), r.bulk('a'), r.bulkOrNull(null)), HELD_ARRAY],
      [(r) => r.array(0), HELD_ARRAY],
      [(r) => (r.array(3), r.bulk('a')), HELD_ARRAY, false],
      [(r) => (r.array(1), r.bulk('a'), r.bulk('b')), HELD_NONE],
      [(r) => (r.array(2), r.int(1)), HELD_NONE],
      [(r) => ((r.proto = 3), r.array(2), r.null()), HELD_NONE],
      [(r) => (r.map(1), r.bulk('k'), r.bulk('v')), HELD_ARRAY],
      [(r) => (r.set(1), r.bulk('m')), HELD_ARRAY],
      [(r) => ((r.proto = 3), r.map(1), r.bulk('k'), r.bulk('v')), HELD_NONE],
      [(r) => r.bulk('a\0b'), HELD_BULK],
      [(r) => r.bulkOrNull('x'), HELD_BULK],
      [(r) => r.int(42), HELD_INT],
      [(r) => r.int(2n ** 62n), HELD_INT],
      [(r) => r.null(), HELD_NULL],
      [(r) => r.bulkOrNull(null), HELD_NULL],
      [(r) => r.ok(), HELD_STATUS],
      [(r) => r.simple('PONG'), HELD_STATUS],
      [(r) => r.int(1.5), HELD_NONE],
      [(r) => r.int(2 ** 60), HELD_NONE],
      [(r) => r.simple('a\rb'), HELD_NONE],
      [(r) => r.array(1), HELD_ARRAY, false],
      [(r) => r.error('ERR x', false), HELD_NONE],
      [(r) => r.nullArray(), HELD_NONE],
      [(r) => r.bulkIntPair(1700000000000, 45, 2), HELD_PAIR],
      [(r) => r.bulkIntPair(0, 45, 9007199254740991), HELD_PAIR],
      [(r) => r.bulkIntPair(-1, 45, 2), HELD_NONE],
      [(r) => (r.bulk('a'), r.bulk('b')), HELD_NONE],
    ];
    for (const [write, kind, whole = kind !== HELD_NONE] of cases) {
      const r = new ScriptReply();
      write(r);
      expect(r.heldKind).toBe(kind);
      expect(r.heldWhole).toBe(whole);
      r.drop();
      expect(r.heldKind).toBe(HELD_NONE);
    }
  });

  it('writes the same bytes as a plain Reply for any sequence of writes, RESP2 and RESP3', () => {
    const writes: ((r: Reply) => void)[] = [
      (r) => r.bulk('v'),
      (r) => r.bulk(''),
      (r) => r.int(-7),
      (r) => r.int(123456789012345678n),
      (r) => r.int(1e21),
      (r) => r.null(),
      (r) => r.nullArray(),
      (r) => r.ok(),
      (r) => r.simple('QUEUED'),
      (r) => r.array(2),
      (r) => r.array(0),
      (r) => r.array(3),
      (r) => r.bulkOrNull(null),
      (r) => r.map(1),
      (r) => r.set(3),
      (r) => r.push(2),
      (r) => r.bool(true),
      (r) => r.double(1.5),
      (r) => r.verbatim('txt', 'txt'),
      (r) => r.bulks(['a', null]),
      (r) => r.bulkOrNull(undefined),
      (r) => r.bulkIntPair(1700000000000, 45, 3),
      (r) => r.bulkBytes(Buffer.from('xyz'), 1, 3),
      (r) => r.rawSlice(Buffer.from('+A\r\n'), 0, 4),
      (r) => r.rawBuffer(Buffer.from(':1\r\n')),
      (r) => r.raw('+R\r\n'),
      (r) => r.error('ERR e', false),
    ];
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (const proto of [2, 3] as const) {
      for (let k = 0; k < 2000; k++) {
        const plain = new Reply();
        const held = new ScriptReply();
        plain.proto = held.proto = proto;
        const n = 1 + rnd(4);
        const seq = Array.from({ length: n }, () => writes[rnd(writes.length)]!);
        for (const w of seq) {
          w(plain);
          w(held);
        }
        // A mark and rewind in the middle of a reply see the held value written out.
        if (rnd(4) === 0) {
          const m = held.mark();
          expect(m).toBe(plain.mark());
        }
        held.release();
        expect(held.pendingBytes().toString('latin1')).toBe(plain.pendingBytes().toString('latin1'));
      }
    }
  });

  it('shows a held value to anything reading the pending bytes', () => {
    const r = new ScriptReply();
    r.int(5);
    expect(r.heldKind).toBe(HELD_INT);
    expect(r.pending).toBe(4);
    expect(r.heldKind).toBe(HELD_NONE);
    expect(r.pendingBytes().toString('latin1')).toBe(':5\r\n');
  });
});
