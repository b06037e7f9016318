/**
 * The `struct` library byte for byte against the real redis-server: every
 * format letter at every size with both endiannesses and alignments, the
 * integer conversions of out-of-range, negative, fractional and non-finite
 * numbers, strings with NULs and high bytes, unpack offsets, and the error
 * texts.
 */
import { describe, expect, it } from 'vitest';
import { type Case, compareEverywhere, corpusServers, luaNum, luaStr, prng } from './helpers/lua-libs-harness.js';

const servers = corpusServers();

const VALUES = [
  0, 1, -1, 127, 128, -128, -129, 255, 256, 32767, 32768, -32768, -32769, 65535, 65536, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), 2 ** 32 - 1, 2 ** 32,
  2 ** 53, 2 ** 53 + 2, 2 ** 63 - 1024, 2 ** 63, 2 ** 63 + 2048, 2 ** 64, 2 ** 70, -(2 ** 63), -(2 ** 70), 1.5, -1.5, 2.99, -2.99, 0.1, 1e300,
  -0, NaN, Infinity, -Infinity, 3.4028234663852886e38, 1e39, 1.401298464324817e-45, 5e-324,
];

function packCases(): Case[] {
  const cases: Case[] = [];
  const formats = ['b', 'B', 'h', 'H', 'l', 'L', 'T', 'i', 'I', 'i1', 'I1', 'i2', 'I3', 'i5', 'I7', 'i8', 'I8', 'i9', 'I12', 'i16', 'I32', 'f', 'd'];
  for (const f of formats) {
    for (const e of ['<', '>']) {
      for (const v of VALUES) cases.push(`hex(struct.pack('${e}${f}', ${luaNum(v)}))`);
    }
  }
  // alignment and padding
  for (const fmt of ['!bi', '!4bd', '!8bd', '!2bhbi', '!bxh', '!1bd', '!16bd', 'b!4i', '!4bbhbibd', '!8b!2d', '!3b', '!0b', '!b', '!4c3i', '!4bi3', ' b < h > i']) {
    const n = (fmt.match(/[bBhHlLTiIfd]/g) ?? []).length - (fmt.includes('c3') ? 0 : 0);
    const args = Array.from({ length: n }, (_, k) => String(k + 1));
    if (fmt.includes('c3')) args.splice(1, 0, '"abc"');
    cases.push(`hex(struct.pack('${fmt}', ${args.join(', ')}))`, `struct.size('${fmt}')`);
  }
  // strings
  const bin = luaStr('a\0b\xff\x80z');
  cases.push(`hex(struct.pack('c0', ${bin}))`, `hex(struct.pack('c3', ${bin}))`, `hex(struct.pack('c6', ${bin}))`, `struct.pack('c7', ${bin})`);
  cases.push(`hex(struct.pack('s', ${bin}))`, `hex(struct.pack('s', ''))`, `hex(struct.pack('c0s', '', 'x'))`, `hex(struct.pack('c', 'xy'))`);
  cases.push(`hex(struct.pack('c2', 12.5))`, `hex(struct.pack('s', 1e20))`, `hex(struct.pack('c0', 3))`, `struct.pack('c', {})`, `struct.pack('s')`);
  cases.push(`hex(struct.pack('bc0b', 1, 'hello', 2))`, `hex(struct.pack('s5', 'x'))`, `#struct.pack('c0', string.rep('q', 100000))`);
  // argument conversion and errors
  cases.push(`hex(struct.pack('b', '12'))`, `hex(struct.pack('d', ' 0x10 '))`, `struct.pack('b', 'x')`, `struct.pack('b')`, `struct.pack('bb', 1)`,
    `struct.pack('bbb', 1)`, `struct.pack('b', nil)`, `struct.pack('b', {})`, `struct.pack('q')`, `struct.pack('i33')`, `struct.pack('i99999999999')`,
    `struct.pack('!3', 1)`, `struct.pack('!6i', 1)`, `struct.pack()`, `struct.pack(nil)`, `hex(struct.pack(''))`, `hex(struct.pack('b\\0b', 1, 2))`,
    `hex(struct.pack(12, 1, 2))`, `hex(struct.pack('i0', 5))`, `hex(struct.pack('x'))`, `hex(struct.pack('xxb', 1))`, `struct.pack('\\200')`,
    `struct.pack('z')`, `struct.pack('b', true)`, `struct.pack('B', tostring)`);
  cases.push({ code: 'return pcall(struct.pack, "q")', stmt: true });
  cases.push({ code: 'local p = struct.pack return p("y")', stmt: true });
  const rnd = prng(13);
  for (let k = 0; k < 60; k++) {
    const v = Math.floor((rnd() - 0.5) * 2 ** (1 + Math.floor(rnd() * 64)));
    const f = formats[Math.floor(rnd() * formats.length)]!;
    cases.push(`hex(struct.pack('${rnd() < 0.5 ? '<' : '>'}${f}', ${luaNum(v)}))`);
  }
  return cases;
}

function unpackCases(): Case[] {
  const cases: Case[] = [];
  const data = luaStr(String.fromCharCode(...Array.from({ length: 40 }, (_, i) => (i * 37 + 0x80) & 0xff)));
  const ff = luaStr('\xff'.repeat(40));
  const zeros80 = luaStr('\0'.repeat(7) + '\x80' + '\x7f');
  for (const f of ['b', 'B', 'h', 'H', 'l', 'L', 'T', 'i', 'I', 'i1', 'I2', 'i3', 'I5', 'i7', 'i8', 'I8', 'i9', 'I9', 'i12', 'i16', 'I16', 'i32', 'I32', 'i0', 'f', 'd']) {
    for (const e of ['<', '>']) {
      cases.push(`struct.unpack('${e}${f}', ${data})`, `struct.unpack('${e}${f}', ${ff})`, `struct.unpack('${e}${f}', ${data}, 3)`, `struct.unpack('${e}${f}', ${zeros80})`);
    }
  }
  cases.push(`struct.unpack('<d', ${luaStr(Buffer.from('000000000000f8ff', 'hex').toString('latin1'))})`, `struct.unpack('>d', ${luaStr(Buffer.from('7ff0000000000000', 'hex').toString('latin1'))})`,
    `struct.unpack('>f', ${luaStr(Buffer.from('ffc00000', 'hex').toString('latin1'))})`, `struct.unpack('<f', ${luaStr(Buffer.from('01000000', 'hex').toString('latin1'))})`);
  cases.push(`struct.unpack('c3', ${data})`, `struct.unpack('c0', ${data})`, `struct.unpack('bc0', '\\003abcdef')`, `struct.unpack('c1c0', '5hello!')`,
    `struct.unpack('c1c0', 'xhello')`, `struct.unpack('bc0', '\\050abc')`, `struct.unpack('s', 'ab\\0cd\\0')`, `struct.unpack('ss', 'ab\\0cd\\0')`,
    `struct.unpack('s', 'abc')`, `struct.unpack('sb', 'a\\0\\005')`, `struct.unpack('c2', 'a')`, `struct.unpack('b', '')`, `struct.unpack('', '')`,
    `struct.unpack('', 'abc', 2)`, `struct.unpack('', 'abc', -1)`, `struct.unpack('', 'abc', -5)`, `struct.unpack('', 'abc', 100)`, `struct.unpack('b', 'abc', 0)`,
    `struct.unpack('b', 'abc', -1)`, `struct.unpack('b', 'abc', 4)`, `struct.unpack('b', 'abc', 3)`, `struct.unpack('b', 'abc', 2.9)`, `struct.unpack('b', 'abc', '2')`,
    `struct.unpack('b', 'abc', {})`, `struct.unpack('>', 'ab', 5)`, `struct.unpack('>', 'ab', 3)`, `struct.unpack('!4bi', ${data})`, `struct.unpack('!8bd', ${data})`,
    `struct.unpack('!4bi', ${data}, 2)`, `struct.unpack('xxb', 'abc')`, `struct.unpack('x', '')`, `struct.unpack('q', 'abc')`, `struct.unpack('i33', 'abc')`,
    `struct.unpack()`, `struct.unpack('b')`, `struct.unpack('b', nil)`, `struct.unpack('b', {})`, `struct.unpack('b', 12)`, `struct.unpack(5, 'abcdef')`,
    `struct.unpack('b\\0b', 'ab')`, `struct.unpack('c0', 'abc')`, `struct.unpack('bc0', '\\255abc')`, `struct.unpack('!3b', 'a')`);
  // the 5.1 C stack: 8000 slots per C function
  for (const n of [3990, 3996, 3997, 3998, 4000, 7994, 7995, 7996, 7997]) {
    cases.push(`select('#', struct.unpack(string.rep('b', ${n}), string.rep('a', 9000)))`);
  }
  cases.push(`select('#', struct.unpack(string.rep('b', 7996), string.rep('a', 9000), 1))`);
  // unpacked numbers print as 5.1 prints them
  for (const [f, v] of [['b', '-5'], ['B', '200'], ['i', '-123456'], ['I8', '2^40'], ['l', '2^53 + 2'], ['L', '2^63'], ['d', '0.5'], ['f', '1.1'], ['d', '1e15'], ['h', '7']]) {
    cases.push(`struct.unpack('${f}', struct.pack('${f}', ${v})) .. '', tostring(struct.unpack('${f}', struct.pack('${f}', ${v}))), select(2, struct.unpack('${f}', struct.pack('${f}', ${v}))) .. ''`);
  }
  // size
  for (const f of ['', 'b', 'bhi', 'lLTfd', 'i7', 'c10', 'c0', 's', '!4bi', '!8bd', 'z', '5', '!3', 'q!', 'x', 'xxi', 'i33', 'b\\0q', '<>!', ' ']) {
    cases.push(`struct.size('${f}')`);
  }
  cases.push('struct.size()', 'struct.size({})', 'struct.size(12)');
  // round trips
  const rnd = prng(17);
  for (let k = 0; k < 50; k++) {
    const v = Math.floor((rnd() - 0.5) * 2 ** 52);
    cases.push(`struct.unpack('>l<i8!4bd', struct.pack('>l<i8!4bd', ${luaNum(v)}, ${luaNum(-v)}, 7, ${luaNum(v / 3)}))`);
  }
  return cases;
}

describe('struct against redis-server', () => {
  it('pack and size match on the generated corpus', async () => {
    const cases = packCases();
    expect(cases.length).toBeGreaterThan(400);
    expect(await compareEverywhere(cases, servers.redis.port, servers.damselfly.port)).toEqual({ vm: [], eval: [] });
  }, 120_000);
  it('unpack and size match on the generated corpus', async () => {
    const cases = unpackCases();
    expect(cases.length).toBeGreaterThan(200);
    expect(await compareEverywhere(cases, servers.redis.port, servers.damselfly.port)).toEqual({ vm: [], eval: [] });
  }, 120_000);
});
