/**
 * The `bit` library byte for byte against the real redis-server: every
 * function on boundary values, fractions, huge and non-finite numbers,
 * numeric strings and wrong types (error texts included).
 */
import { describe, expect, it } from 'vitest';
import { type Case, compareEverywhere, corpusServers, luaNum, prng } from './helpers/lua-libs-harness.js';

const servers = corpusServers();

function corpus(): Case[] {
  const values = [
    0, 1, -1, 2, 7, 31, 32, 33, 255, 256, 65535, 65536, 0x7fffffff, 0x80000000, -0x80000000, -0x80000001, 0xffffffff,
    2 ** 32, 2 ** 32 + 5, -(2 ** 32) - 5, 2 ** 51, 2 ** 52, 2 ** 53, 2 ** 53 + 2, 2 ** 63, -(2 ** 63), 2 ** 64, 1e300,
    0.5, 1.5, 2.5, -0.5, -1.5, 0.49999999999999994, 1e-300, -0, NaN, Infinity, -Infinity, 1437217655, 0x12345678,
    -0x12345678, 0xdeadbeef, 123.456, -98765.4321,
  ];
  const cases: Case[] = [];
  const unary = ['tobit', 'bnot', 'bswap', 'tohex'];
  for (const f of unary) for (const v of values) cases.push(`bit.${f}(${luaNum(v)})`);
  const shifts = ['lshift', 'rshift', 'arshift', 'rol', 'ror'];
  const counts = [0, 1, 4, 8, 15, 16, 31, 32, 33, 63, 64, -1, -31, -32, 1.5, 2 ** 32 + 3];
  const shiftValues = [1, -1, 0x80000000, 0x12345678, -8, 0xffffffff, 2 ** 40 + 7, 0.75];
  for (const f of shifts) for (const v of shiftValues) for (const n of counts) cases.push(`bit.${f}(${luaNum(v)}, ${luaNum(n)})`);
  const widths = [0, 1, 2, 4, 7, 8, 9, 100, -1, -3, -8, -9, -100, -2147483648, 2147483647, 2 ** 32 - 8, 3.7];
  for (const v of [0, 255, -1, 0x12345678, 0xabcdef01]) for (const n of widths) cases.push(`bit.tohex(${luaNum(v)}, ${luaNum(n)})`);
  const rnd = prng(11);
  const r32 = (): number => Math.floor(rnd() * 2 ** 32) - 2 ** 31;
  for (const f of ['band', 'bor', 'bxor']) {
    cases.push(`bit.${f}(1)`);
    for (let k = 0; k < 25; k++) {
      const n = 2 + Math.floor(rnd() * 4);
      cases.push(`bit.${f}(${Array.from({ length: n }, r32).map(luaNum).join(', ')})`);
    }
    cases.push(`bit.${f}(0xffffffff, 2^32 + 0xf0, -1.5)`);
  }
  // numeric strings are numbers to 5.1's lua_tonumber; other types are errors
  for (const s of ['"12"', '" 12 "', '"0x10"', '"1e1"', '"inf"', '"nan"', '"5\\0x"', '"abc"', '""', '"0x"', '"- 1"', '" -7 "', '"1e500"']) {
    cases.push(`bit.tobit(${s})`);
  }
  for (const bad of ['nil', '{}', 'true', 'tostring', 'cjson.null']) {
    cases.push(`bit.tobit(${bad})`, `bit.band(1, ${bad})`, `bit.lshift(${bad}, 1)`, `bit.tohex(1, ${bad})`);
  }
  cases.push("bit.band(7, 3) .. '', tostring(bit.bnot(0)), bit.lshift(1, 31) .. '', bit.tohex(bit.bswap(1))");
  cases.push('bit.tobit()', 'bit.lshift(1)', 'bit.band(1, {}, "x")', 'bit.bor({}, {})', 'bit.tohex()');
  cases.push({ code: 'local f = bit.band; return f(1, "y")', stmt: true });
  cases.push({ code: 'return pcall(bit.bxor, 1, false)', stmt: true });
  // method calls: the self argument is not counted in the message
  cases.push('bit:tobit()', 'bit:band(1)', 'bit:lshift(1, {})');
  cases.push({ code: 'local t = { f = bit.tohex } return t:f()', stmt: true });
  return cases;
}

describe('bit against redis-server', () => {
  it('matches on the generated corpus', async () => {
    const cases = corpus();
    expect(cases.length).toBeGreaterThan(400);
    expect(await compareEverywhere(cases, servers.redis.port, servers.damselfly.port)).toEqual({ vm: [], eval: [] });
  }, 120_000);
});
