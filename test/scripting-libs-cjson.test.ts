/**
 * The `cjson` library byte for byte against the real redis-server: number
 * formatting at every precision, escaping of every byte, arrays vs objects
 * and sparse arrays, nesting limits, every configuration function (values
 * returned, invalid arguments), decoding of valid and invalid JSON (strtod's
 * extra number forms, unicode escapes, surrogates, depth) with the exact
 * error texts and positions.
 */
import { describe, expect, it } from 'vitest';
import { type Case, compareEverywhere, corpusServers, luaNum, luaStr, prng } from './helpers/lua-libs-harness.js';

const servers = corpusServers();

const NUMBERS = [
  0, 1, -1, 0.5, -0.5, 1 / 3, 2 / 3, 0.1, 0.30000000000000004, 1e20, 1e21, 1e-5, 1e-4, 123456789012345, 12345678901234, 1234567890123456789,
  2 ** 53, 2 ** 53 + 2, 2 ** 63, -(2 ** 63), 2 ** 64, 1e308, 1.7976931348623157e308, 5e-324, 2.2250738585072014e-308, 99999999999999.5,
  999999999999999, 0.000123456789, 100, 1e14, 1e15, 123.456, -0, 3.14159265358979, 6.02214076e23, 1.5e-10,
];

function encodeCases(): Case[] {
  const cases: Case[] = [];
  for (const n of NUMBERS) cases.push(`cjson.encode(${luaNum(n)})`);
  for (const n of [NaN, Infinity, -Infinity]) cases.push(`cjson.encode(${luaNum(n)})`, `cjson.encode({${luaNum(n)}})`);
  const allBytes = String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i));
  cases.push(`cjson.encode(${luaStr(allBytes)})`, 'cjson.encode("")', 'cjson.encode("a/b\\\\c\\"d")', `cjson.encode(${luaStr(Buffer.from('\u00e9\u20ac', 'utf8').toString('latin1'))})`);
  for (const t of [
    '{}', '{1, 2, 3}', '{1, 2, nil, 4}', '{nil, 2}', '{[1] = 1, [3] = 3}', '{[20] = 1}', '{[10] = 1}', '{[11] = 1}', '{[5] = 1, [6] = 2}',
    '{[0] = 1}', '{[-1] = 1}', '{[1.5] = 1}', '{a = 1}', '{["a/b"] = "\\0"}', '{[2^40] = 1}', '{[2^40 + 5] = 1}', '{[2^31] = 1}',
    '{[2^31 - 1] = 1}', '{[1/0] = 1}', '{[true] = 1}', '{[{}] = 1}', '{[1] = {}}', '{{}, {{}}, {{{}}}}', '{true, false, cjson.null}',
    '{tostring}', '{a = tostring}', 'tostring', 'coroutine.create(function() end)', '{cjson.null}', 'cjson.null', 'nil', 'true', 'false',
    '{["1"] = 1}', '{[1e20] = "x"}', '{[0.1] = 0.1}', '{1, {2, {3, {4, {5}}}}}', '{x = {y = {z = {}}}}',
    '(function() local t = {} for i = 1, 100 do t[i] = i * 1.5 end return t end)()',
    '(function() local t = {} for i = 1, 30 do t[i * 2] = i end return t end)()',
  ]) {
    cases.push(`cjson.encode(${t})`);
  }
  cases.push('cjson:encode(1)', 'cjson:decode("1")', 'cjson:encode_max_depth()', 'struct:pack("b", 1)', 'struct:size()', 'cmsgpack:unpack()');
  cases.push('cjson.encode()', 'cjson.encode(1, 2)', { code: 'return pcall(cjson.encode)', stmt: true });
  // nesting
  for (const d of [999, 1000, 1001]) {
    cases.push(`#cjson.encode((function() local t = {} local c = t for i = 1, ${d - 1} do c[1] = {} c = c[1] end return t end)())`);
    cases.push(`#cjson.encode((function() local t = {} local c = t for i = 1, ${d - 1} do c.k = {} c = c.k end return t end)())`);
  }
  cases.push({ code: 'local t = {} t[1] = t return cjson.encode(t)', stmt: true });
  // several keys: order is the table's traversal order, so compare content and length
  for (const t of ['{a = 1, b = 2, c = {1, 2}}', '{[1] = 1, [2] = 2, x = "y"}', '(function() local t = {} for i = 1, 40 do t["k" .. i] = i / 7 end return t end)()']) {
    cases.push(`#cjson.encode(${t}), cjson.decode(cjson.encode(${t}))`);
  }
  // settings
  for (const p of [1, 2, 3, 5, 10, 13, 14]) {
    cases.push({ code: `local c = cjson.new() c.encode_number_precision(${p}) return c.encode({1/3, 2/3, 123456.789, 1e20, 0.1, 12345678901234, 2^53})`, stmt: true });
  }
  for (const v of ['0', '15', '-1', '"5"', '"x"', '{}', '14.9', '2^32 + 3', 'nil', 'true']) {
    cases.push({ code: `local c = cjson.new() return c.encode_number_precision(${v})`, stmt: true });
  }
  for (const args of ['', 'true', 'false', '"on"', '"off"', '"null"', '1', '"yes"', 'true, 1, 1', 'true, 3', 'nil, 0, 0', 'nil, -1', 'nil, nil, -1',
    '"on\\0x"', '{}', 'true, 2, 10, 4']) {
    cases.push({ code: `local c = cjson.new() return c.encode_sparse_array(${args})`, stmt: true });
  }
  for (const [cfg, t] of [['true', '{[20] = 1}'], ['true, 0', '{[1000] = 1}'], ['false, 1', '{[1] = 1, [3] = 1}'], ['false, 1, 0', '{[1] = 1, [3] = 1}'],
    ['false, 3', '{[12] = 1, [1] = 1}'], ['false, 2147483647', '{[100] = 1}'], ['false, 0', '{[2^12] = 1}']]) {
    cases.push({ code: `local c = cjson.new() c.encode_sparse_array(${cfg}) return c.encode(${t})`, stmt: true });
  }
  for (const f of ['encode_max_depth', 'decode_max_depth']) {
    for (const v of ['', '0', '1', '5', '-3', '2^31', '"x"', '1, 2', '2147483647', '2^32 + 7']) cases.push({ code: `local c = cjson.new() return c.${f}(${v})`, stmt: true });
  }
  cases.push({ code: 'local c = cjson.new() c.encode_max_depth(3) return c.encode({{{1}}}), pcall(c.encode, {{{{1}}}})', stmt: true });
  cases.push({ code: 'local c = cjson.new() c.encode_max_depth(3) return c.encode({a = {b = {}}}), pcall(c.encode, {a = {b = {c = {}}}})', stmt: true });
  for (const f of ['encode_invalid_numbers', 'decode_invalid_numbers', 'encode_keep_buffer']) {
    for (const v of ['', 'true', 'false', '"on"', '"off"', '"null"', '0', '"ON"', '{}']) cases.push({ code: `local c = cjson.new() return c.${f}(${v})`, stmt: true });
  }
  for (const mode of ['true', '"null"', 'false']) {
    cases.push({ code: `local c = cjson.new() c.encode_invalid_numbers(${mode}) return pcall(c.encode, {1/0, -1/0, 0/0, -(0/0), 1}), pcall(c.encode, {[1/0] = 1})`, stmt: true });
  }
  cases.push({ code: 'local c = cjson.new() c.encode_keep_buffer(false) local a = c.encode({1, "x"}) c.encode_keep_buffer(true) return a, c.encode({2})', stmt: true });
  cases.push({ code: 'local c = cjson.new() c.encode_number_precision(3) return cjson.encode(1/3), c.encode(1/3), c._NAME, c._VERSION, c.null == cjson.null', stmt: true });
  cases.push('cjson._NAME, cjson._VERSION, type(cjson.new), cjson.null');
  // random documents, byte exact (arrays and one-key objects only)
  const rnd = prng(5);
  const gen = (d: number): string => {
    const r = rnd();
    if (d > 4 || r < 0.4) {
      const k = Math.floor(rnd() * 5);
      if (k === 0) return luaNum((rnd() - 0.5) * 10 ** Math.floor(rnd() * 40 - 20));
      if (k === 1) return luaNum(Math.floor(rnd() * 2 ** 50));
      if (k === 2) return luaStr(String.fromCharCode(...Array.from({ length: Math.floor(rnd() * 20) }, () => Math.floor(rnd() * 256))));
      if (k === 3) return rnd() < 0.5 ? 'true' : 'cjson.null';
      return luaNum(Math.floor(rnd() * 2000) / 8);
    }
    const n = Math.floor(rnd() * 5);
    if (r < 0.75) return `{${Array.from({ length: n }, () => gen(d + 1)).join(', ')}}`;
    return `{[${luaStr('k' + Math.floor(rnd() * 1000))}] = ${gen(d + 1)}}`;
  };
  for (let k = 0; k < 120; k++) cases.push(`cjson.encode(${gen(0)})`);
  return cases;
}

function decodeCases(): Case[] {
  const texts = [
    '0', '-0', '1', '-1', '1.5', '1e3', '1E3', '1e+3', '1e-3', '0.1', '12345678901234567890', '1.7976931348623157e308', '1e309', '-1e309', '4.9e-324',
    '1e-400', '123.456e-2', '00', '01', '-01', '0x10', '0X1f', '-0x10', '0x', '0x1p4', '0x1.8p1', '+1', '+', '-', '-a', '.5', '1.', '1.e5', '5e', '5e+',
    'inf', '-inf', 'Infinity', '-Infinity', 'INF', 'infinit', 'nan', '-nan', 'NaN', 'nan(123)', 'nanx', 'Nope', 'n', 'nul', 'null', 'nullx', 'true',
    'tru', 'truex', 'false', 'fals', 'TRUE', '"abc"', '"a\\"b"', '"a\\\\b"', '"a\\/b"', '"\\b\\f\\n\\r\\t"', '"\\u0041"', '"\\u00e9"', '"\\u20AC"',
    '"\\uD83D\\uDE00"', '"\\ud83d\\ude00"', '"\\uD83D"', '"\\uD83Dx"', '"\\uD83D\\u0041"', '"\\uDE00"', '"\\u12"', '"\\u12G4"', '"\\u0000"', '"\\x"',
    '"\\', '"abc', '"', '"\\u', '[]', '{}', '[1,2,3]', '[1,[2,[3]]]', '{"a":1}', '{"a":{"b":[true,false,null]}}', '[1,]', '[,1]', '[1 2]', '{"a" 1}',
    '{"a":}', '{"a":1,}', '{a:1}', '{1:1}', '{"a":1 "b":2}', '[', '{', ']', '}', ':', ',', '', ' ', ' \t\r\n 1 \n', '1 2', '[1] x', '{"a":1}}',
    '[null]', '[null, 1]', '{"a":null}', '{"":1}', '{"a":1,"a":2}', '"x\u0001y"', '[1e500, -1e500]', '/', '#', '[01]', '[-]', '\u00ff', '"\u00ff\u0080"',
    '[1,{"k":[2,{"j":"v"}]}]', '[[[[[[[[[[]]]]]]]]]]', '[0.1, 0.2, 0.30000000000000004]', '9007199254740993', '-9223372036854775809',
  ];
  const cases: Case[] = texts.map((t) => `cjson.decode(${luaStr(t)})`);
  for (const t of ['1\0', '\0', '\0\0', '[1]\0garbage', '"a\0b"', 'a\0', '1\0 2', '[1,\0]']) cases.push(`cjson.decode(${luaStr(t)})`);
  for (const t of ['5', '-7', '0.5', '1e3', '1e13', '99999999999999', '1e14', '123456789012345', '1e15', '12345678901234567890', '2.5e-3', '1e300', 'inf', 'nan']) {
    cases.push(`cjson.decode(${luaStr(t)}) .. '', tostring(cjson.decode(${luaStr(t)})), cjson.decode(${luaStr('[' + t + ']')})[1] .. ''`);
  }
  cases.push('cjson.decode()', 'cjson.decode(nil)', 'cjson.decode({})', 'cjson.decode(5)', 'cjson.decode(0.5)', 'cjson.decode("1", "2")');
  cases.push('cjson.decode("null") == cjson.null', 'type(cjson.decode("null"))', 'cjson.decode("[null]")[1] == cjson.null');
  cases.push({ code: 'return pcall(cjson.decode, "[")', stmt: true });
  for (const d of [999, 1000, 1001]) {
    cases.push(`type(cjson.decode(string.rep('[', ${d}) .. string.rep(']', ${d})))`);
    cases.push(`type(cjson.decode(string.rep('{"k":', ${d}) .. '1' .. string.rep('}', ${d})))`);
  }
  for (const [depth, n] of [[5, 4], [5, 5], [5, 6], [1, 2], [10000, 5000], [10000, 7997], [10000, 7999], [10000, 8001], [10000, 9000]]) {
    cases.push({ code: `local c = cjson.new() c.decode_max_depth(${depth}) return type(c.decode(string.rep('[', ${n}) .. string.rep(']', ${n})))`, stmt: true });
  }
  for (const n of [3990, 3998, 3999, 4001, 5000]) {
    cases.push({ code: `local c = cjson.new() c.decode_max_depth(10000) return type(c.decode(string.rep('{"k":', ${n}) .. '1' .. string.rep('}', ${n})))`, stmt: true });
  }
  for (const n of [3000, 3998, 3999, 4000, 7990, 7998, 7999, 8000, 9000]) {
    cases.push({ code: `local c = cjson.new() c.encode_max_depth(10000) local t = {} local cur = t for i = 1, ${n - 1} do cur[1] = {} cur = cur[1] end return #c.encode(t)`, stmt: true });
    cases.push({ code: `local c = cjson.new() c.encode_max_depth(10000) local t = {} local cur = t for i = 1, ${n - 1} do cur.k = {} cur = cur.k end return #c.encode(t)`, stmt: true });
  }
  // invalid numbers refused
  for (const t of ['0x10', '+1', '01', 'inf', '-inf', 'nan', 'NaN', 'Infinity', '-0', '1.5', '[1, 0x2]', '-', '.5']) {
    cases.push({ code: `local c = cjson.new() c.decode_invalid_numbers(false) return c.decode(${luaStr(t)})`, stmt: true });
  }
  // The order pairs() walks decoded objects in, and so what cjson.encode writes back (the harness sorts pairs):
  // random objects of 3 to 40 keys, some nested, as Redis's Lua 5.1 re-hashes them (vm/table-order.ts).
  const keyRnd = prng(12);
  const word = () => Array.from({ length: 1 + Math.floor(keyRnd() * 12) }, () => String.fromCharCode(97 + Math.floor(keyRnd() * 26))).join('');
  for (let k = 0; k < 30; k++) {
    const o: Record<string, unknown> = {};
    const n = 3 + Math.floor(keyRnd() * 38);
    for (let i = 0; i < n; i++) o[word()] = keyRnd() < 0.2 ? { [word()]: i, [word()]: [word(), i] } : keyRnd() < 0.5 ? i : word();
    const json = luaStr(JSON.stringify(o));
    cases.push(`cjson.encode(cjson.decode(${json}))`, `(function(t) local o = {} for key in pairs(t) do o[#o + 1] = key end return table.concat(o, ',') end)(cjson.decode(${json}))`);
  }
  // round trips
  const rnd = prng(9);
  for (let k = 0; k < 60; k++) {
    const v = (rnd() - 0.5) * 10 ** Math.floor(rnd() * 60 - 30);
    cases.push(`cjson.decode(cjson.encode(${luaNum(v)}))`, `cjson.decode(${luaStr(String(v))})`);
  }
  return cases;
}

describe('cjson against redis-server', () => {
  it('encode and the settings match on the generated corpus', async () => {
    const cases = encodeCases();
    expect(cases.length).toBeGreaterThan(250);
    expect(await compareEverywhere(cases, servers.redis.port, servers.damselfly.port)).toEqual({ vm: [], eval: [] });
  }, 120_000);
  it('decode matches on the generated corpus', async () => {
    const cases = decodeCases();
    expect(cases.length).toBeGreaterThan(250);
    expect(await compareEverywhere(cases, servers.redis.port, servers.damselfly.port)).toEqual({ vm: [], eval: [] });
  }, 120_000);
});

describe('table order', () => {
  // With seed 0 Lua 5.4 hashes short strings as Redis's Lua 5.1, so a table
  // that never grew past its constructor's size walks as in Redis; one that
  // was rehashed can differ (5.4 re-inserts nodes in the other order).
  it('tables built by a constructor encode byte for byte as on redis-server, in EVAL and in FUNCTION', async () => {
    const { Redis } = await import('ioredis');
    const ours = new Redis({ port: servers.damselfly.port });
    const theirs = new Redis({ port: servers.redis.port });
    const body = `local a = {x=nil,y=5} local b = {x=a} a['x'] = b
      return {cmsgpack.pack(a), cjson.encode({alpha=1, beta=2, gamma=3, delta=4, epsilon=5}),
        cjson.encode({id='job:1', name='send', data='{}', opts={attempts=3, delay=0, priority=1, lifo=false}, timestamp=1700000000000, attemptsMade=0}),
        cmsgpack.pack({a=1, b=2, c=3, d=4, e=5, f=6, g=7, h=8, i=9, j=10, k=11})}`;
    const lib = `#!lua name=orderlib\nredis.register_function('order', function() ${body} end)`;
    try {
      for (const c of [ours, theirs]) await c.call('FUNCTION', 'LOAD', 'REPLACE', lib);
      const evalOurs = await ours.callBuffer('EVAL', body, '0');
      const evalTheirs = await theirs.callBuffer('EVAL', body, '0');
      expect(evalOurs).toEqual(evalTheirs);
      expect(await ours.callBuffer('FCALL', 'order', '0')).toEqual(await theirs.callBuffer('FCALL', 'order', '0'));
    } finally {
      for (const c of [ours, theirs]) {
        await c.call('FUNCTION', 'FLUSH');
        c.disconnect();
      }
    }
  });


  it('a table encodes the same way after SCRIPT FLUSH and FUNCTION LOAD, as with Redis Lua 5.1 (no per-state hash seed)', async () => {
    const { Redis } = await import('ioredis');
    const c = new Redis({ port: servers.damselfly.port });
    try {
      const script = "local t = {} for i = 1, 20 do t['key' .. i] = i end return cjson.encode(t)";
      const seen: string[] = [];
      for (let round = 0; round < 3; round++) {
        seen.push((await c.eval(script, 0)) as string);
        // Move the Lua module's allocations around before the next state is made.
        await c.eval("local s = {} for i = 1, 1000 do s[i] = string.rep('x', i) end return 1", 0);
        await c.call('FUNCTION', 'LOAD', `#!lua name=order${round}\nredis.register_function('order${round}', function() return 1 end)`);
        await c.call('SCRIPT', 'FLUSH');
      }
      expect(new Set(seen).size).toBe(1);
      expect(JSON.parse(seen[0]!)).toEqual(Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`key${i + 1}`, i + 1])));
    } finally {
      await c.call('FUNCTION', 'FLUSH');
      c.disconnect();
    }
  });
});
