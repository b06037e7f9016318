/**
 * The `cmsgpack` library byte for byte against the real redis-server: the
 * bytes pack produces for every type and size boundary (ints, floats,
 * strings, arrays, maps, nesting), what unpack / unpack_one / unpack_limit
 * return for every first byte, truncated and malformed inputs, offsets and
 * limits, and the error texts.
 */
import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { type Case, compareEverywhere, corpusServers, luaNum, luaStr, prng } from './helpers/lua-libs-harness.js';

const servers = corpusServers();

const bytes = (hex: string): string => luaStr(Buffer.from(hex.replace(/\s+/g, ''), 'hex').toString('latin1'));

function packCases(): Case[] {
  const cases: Case[] = [];
  const ints = [
    0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53, 2 ** 53 + 2, 2 ** 62, 2 ** 63 - 1024, 2 ** 63, 2 ** 64,
    -1, -31, -32, -33, -127, -128, -129, -32767, -32768, -32769, -(2 ** 31) + 1, -(2 ** 31), -(2 ** 31) - 1, -(2 ** 53),
    -(2 ** 63), -(2 ** 63) - 4096, 1e15, 1e16, -1e18,
  ];
  const floats = [
    0.5, 1.5, -2.25, 0.1, -0.1, 1 / 3, 1e300, -1e300, 3.4028234663852886e38, 3.4028235677973366e38, 1e39, 1.401298464324817e-45,
    1e-46, 5e-324, 2.2250738585072014e-308, 123456.789, 16777217, 16777216.5, 0.30000000000000004, -0, NaN, Infinity, -Infinity,
  ];
  for (const n of [...ints, ...floats]) cases.push(`hex(cmsgpack.pack(${luaNum(n)}))`);
  for (const len of [0, 1, 31, 32, 33, 255, 256, 65535, 65536, 70000]) {
    cases.push(`#cmsgpack.pack(string.rep('x', ${len})), hex(string.sub(cmsgpack.pack(string.rep('x', ${len})), 1, 8))`);
  }
  const allBytes = String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i));
  cases.push(`hex(cmsgpack.pack(${luaStr(allBytes)}))`, `hex(cmsgpack.pack(${luaStr('a\0b\xff\x80')}))`);
  cases.push('hex(cmsgpack.pack(true, false, nil, cjson.null, tostring))', 'hex(cmsgpack.pack({}))', 'hex(cmsgpack.pack({{}}))');
  for (const n of [1, 3, 15, 16, 17, 255, 65535, 65536]) {
    cases.push(`#cmsgpack.pack((function() local t = {} for i = 1, ${n} do t[i] = i % 200 end return t end)()), hex(string.sub(cmsgpack.pack((function() local t = {} for i = 1, ${n} do t[i] = i % 200 end return t end)()), 1, 20))`);
  }
  // arrays vs maps: keys exactly 1..n make an array, anything else a map (one key here: byte-exact)
  for (const t of ['{1, 2, nil, 4}', '{[2] = 1}', '{[0] = 1}', '{[1.5] = 1}', '{[-1] = 1}', '{x = 1}', '{[1] = "a"}', '{[2^31] = 1}',
    '{[2^31 - 1] = 1}', '{[1/0] = 1}', '{[true] = 1}', '{[{}] = 1}', '{["1"] = 1}', '{nil, nil, 3}', '{1, 2, 3, [4] = 4}', '{[1] = 1, [2] = 2, [3] = 3}',
    '{{1, {2, {3}}}}', '{a = {b = {c = {}}}}', '{0.5, -0.5, "s", true, false}', '{cjson.null}', '{tostring}']) {
    cases.push(`hex(cmsgpack.pack(${t}))`);
  }
  // nesting: the 17th level packs as nil
  for (const depth of [14, 15, 16, 17, 20]) {
    cases.push(`hex(cmsgpack.pack((function() local t = {} local c = t for i = 1, ${depth} do c[1] = {} c = c[1] end return t end)()))`);
    cases.push(`hex(cmsgpack.pack((function() local t = {} local c = t for i = 1, ${depth} do c.k = {} c = c.k end return t end)()))`);
  }
  cases.push('hex(cmsgpack.pack((function() local t = {} t[1] = t return t end)()))');
  // maps with several keys: their order is the table's traversal order, so compare contents and size
  for (const t of ['{a = 1, b = 2}', '{x = {1, 2}, y = {z = "w"}, [5] = 5, [1.5] = true}', '{1, 2, x = 3}',
    '(function() local t = {} for i = 1, 16 do t["k" .. i] = i end return t end)()']) {
    cases.push(`#cmsgpack.pack(${t}), cmsgpack.unpack(cmsgpack.pack(${t}))`);
  }
  // map 32: the header and the size
  cases.push(`#cmsgpack.pack((function() local t = {} for i = 1, 70000 do t[i * 2] = i end return t end)()), hex(string.sub(cmsgpack.pack((function() local t = {} for i = 1, 70000 do t[i * 2] = i end return t end)()), 1, 5))`);
  // decoded numbers print as 5.1 prints them (integers without ".0", big ones with an exponent)
  for (const h of ['05', 'cc ff', 'd0 80', 'cd 01 00', 'ce ff ff ff ff', 'd2 80 00 00 00', 'cf 00 00 5a f3 10 7a 40 00', 'd3 ff ff a5 0c ef 85 c0 00',
    'cf 00 20 00 00 00 00 00 01', 'ca 3f 00 00 00', 'ca 4b 80 00 00', 'cb 42 d6 bc c4 1e 90 00 00', 'cb 43 3f ff ff ff ff ff ff']) {
    cases.push(`cmsgpack.unpack(${bytes(h)}) .. '', tostring(cmsgpack.unpack(${bytes(h)}))`);
  }
  cases.push('hex(cmsgpack.pack(1, "a", {2}, 0.5))', 'cmsgpack.pack()', 'hex(cmsgpack.pack(nil))', 'hex(cmsgpack.pack(nil, nil))');
  cases.push({ code: 'local t = {} for i = 1, 4001 do t[i] = i end return cmsgpack.pack((table.unpack or unpack)(t))', stmt: true });
  cases.push({ code: 'local t = {} for i = 1, 4000 do t[i] = i end return #cmsgpack.pack((table.unpack or unpack)(t))', stmt: true });
  cases.push({ code: 'return pcall(cmsgpack.pack)', stmt: true });
  const rnd = prng(7);
  for (let k = 0; k < 60; k++) {
    const e = Math.floor(rnd() * 140) - 70;
    const v = (rnd() < 0.5 ? -1 : 1) * Math.round(rnd() * 2 ** 20) * 2 ** e;
    cases.push(`hex(cmsgpack.pack(${luaNum(v)}))`);
  }
  return cases;
}

function unpackCases(): Case[] {
  const cases: Case[] = [];
  const inputs = [
    '00', '7f', '80', '8f', '90', '9f', 'a0', 'bf', 'c0', 'c1', 'c2', 'c3', 'c4 01 41', 'c5 00 01 41', 'c6 00 00 00 01 41', 'c7 01 01 41',
    'c8 00 01 01 41', 'c9 00 00 00 01 01 41', 'ca 3f c0 00 00', 'ca 7f 80 00 00', 'ca ff c0 00 00', 'ca 7f c0 00 00', 'ca 00 00 00 01',
    'cb 3f b9 99 99 99 99 99 9a', 'cb 7f f0 00 00 00 00 00 00', 'cb ff f8 00 00 00 00 00 00', 'cb 80 00 00 00 00 00 00 00',
    'cc ff', 'cd ff ff', 'ce ff ff ff ff', 'cf ff ff ff ff ff ff ff ff', 'cf 7f ff ff ff ff ff ff ff', 'cf 80 00 00 00 00 00 00 00',
    'cf 00 20 00 00 00 00 00 01', 'cf 00 00 00 01 00 00 00 00', 'd0 80', 'd0 7f', 'd1 80 00', 'd1 ff 80', 'd2 80 00 00 00',
    'd3 80 00 00 00 00 00 00 00', 'd3 ff ff ff ff ff ff ff fe', 'd3 00 1f ff ff ff ff ff ff', 'd4 01 41', 'd5 01 41 41', 'd6 01 41 41 41 41',
    'd7 01 00 00 00 00 00 00 00 00', 'd8 01', 'd9 03 61 62 63', 'd9 00', 'da 00 03 61 00 ff', 'db 00 00 00 02 ff 00', 'dc 00 02 01 02',
    'dd 00 00 00 02 c3 c2', 'de 00 01 a1 6b 01', 'df 00 00 00 01 01 02', 'e0', 'ff', '92 01 92 02 03', '81 a1 61 81 a1 62 c0',
    '83 01 a1 61 02 a1 62 a1 63 c3', '81 c0 01', '81 cb 7f f8 00 00 00 00 00 00 01', '81 cb ff f8 00 00 00 00 00 00 01', '81 01 c0', '93 c0 c0 01',
    '91 c0', '82 a1 61 01 a1 61 02', '81 ca 3f 80 00 00 a1 78', '81 92 01 02 a1 78', '01 02 03', 'c3 a3 61 62 63 92 01 02',
    // truncated
    'cc', 'cd 01', 'ce 01 02 03', 'cf 01', 'd0', 'd1 01', 'd2 01', 'd3 01 02', 'ca 01', 'cb 01 02 03 04 05 06 07', 'a3 61 62', 'd9',
    'd9 05 61', 'da 00', 'da 00 05 61', 'db 00 00 00', 'db 00 00 00 05 61', '92 01', 'dc 00', 'dc 00 03 01', 'dd 00 00 00 05', '81 01',
    '82 01 02 03', 'de 00 02 01', 'df 00 00', '01 cc', '92 01 c1', '81 c1 01',
  ];
  for (const h of inputs) {
    cases.push(`cmsgpack.unpack(${bytes(h)})`);
    cases.push(`cmsgpack.unpack_one(${bytes(h)})`);
  }
  const stream = bytes('01 a1 61 92 02 03 c3 cb 3f b9 99 99 99 99 99 9a 81 a1 6b c0 ff');
  for (const off of [0, 1, 2, 3, 5, 6, 7, 15, 16, 19, 20, 21, 22, -1, 1.9, '"3"', 'nil']) cases.push(`cmsgpack.unpack_one(${stream}, ${off})`);
  for (const [lim, off] of [[0, 0], [1, 0], [2, 0], [3, 0], [100, 0], [0, 2], [1, 2], [2, 3], [3, 21], [1, 22], [-1, 0], [0, -1], [1, 23], [2.7, 1.2],
    ['"2"', '"1"'], [2, 'nil'], [2 ** 40, 0], [-(2 ** 33), 0], [1, 2 ** 33]]) {
    cases.push(`cmsgpack.unpack_limit(${stream}, ${lim}, ${off})`);
  }
  cases.push(`cmsgpack.unpack_limit(${stream}, 2)`, `cmsgpack.unpack_limit(${stream})`, `cmsgpack.unpack_limit(${stream}, {})`, `cmsgpack.unpack_one(${stream}, {})`);
  cases.push('cmsgpack.unpack()', 'cmsgpack.unpack(nil)', 'cmsgpack.unpack({})', 'cmsgpack.unpack("")', 'cmsgpack.unpack_one("")', 'cmsgpack.unpack_limit("", 1)');
  cases.push('cmsgpack.unpack(5)', 'cmsgpack.unpack(-5)', 'cmsgpack.unpack(0.25)', 'cmsgpack.unpack_one()', 'cmsgpack.unpack_one(nil, 1)', 'cmsgpack.unpack("\\001", "extra")');
  cases.push({ code: 'return pcall(cmsgpack.unpack, "\\193")', stmt: true });
  // the 5.1 C stack: 8000 slots in a C function's frame
  for (const n of [7997, 7998, 7999, 8000]) cases.push(`select('#', cmsgpack.unpack(string.rep('\\001', ${n})))`);
  cases.push(`select('#', cmsgpack.unpack_limit(string.rep('\\001', 9000), 7996))`, `select('#', cmsgpack.unpack_limit(string.rep('\\001', 9000), 7998))`);
  for (const d of [100, 3990, 3999, 4000, 4001, 5000]) {
    cases.push(`(function(t) local n = 0 while type(t) == 'table' do n = n + 1 t = t[1] end return n, t end)(cmsgpack.unpack(string.rep('\\145', ${d}) .. '\\001'))`);
  }
  cases.push(`(function(t) local n = 0 while type(t) == 'table' do n = n + 1 t = t.k end return n end)(cmsgpack.unpack(string.rep('\\129\\161k', 3000) .. '\\001'))`);
  // What the one-call decoder (unpackBuilt) takes, and where it hands over to the general path:
  // BullMQ's options (walked in pairs order by cjson.encode), deep and long messages on either side of its limits.
  const opts = pack({ token: 'e509884f-22e3-48d1-b446-4f2db7cf768e:12', keepJobs: { count: -1 }, ts: 1796672035679, big: 2 ** 60 });
  cases.push(`cjson.encode(cmsgpack.unpack(${luaStr(opts.toString('latin1'))}))`);
  // Tables filled key by key are re-hashed on the way, as Lua 5.1 re-hashes them (vm/table-order.ts): pairs() walks them as in Redis.
  const optsAll = pack({ token: 'e509884f-22e3-48d1-b446-4f2db7cf768e:12', name: 'w', keepJobs: { count: -1 }, lockDuration: 30000, attempts: 1, maxMetricsSize: '', fpof: false, cpof: false, idof: false, rdof: false, limiter: { max: 10, duration: 1000 }, ts: 1796672035679, f: 1.5, big: 2 ** 60 });
  cases.push(`cjson.encode(cmsgpack.unpack(${luaStr(optsAll.toString('latin1'))}))`);
  cases.push(`cjson.encode(cmsgpack.unpack(cmsgpack.pack((function() local t = {} for i = 1, 40 do t['field' .. i] = i * 3 end return t end)())))`);
  for (const d of [31, 32, 33]) cases.push(`cjson.encode(cmsgpack.unpack(string.rep('\\145', ${d}) .. '\\001'))`);
  for (const d of [31, 32, 33]) cases.push(`cjson.encode(cmsgpack.unpack(string.rep('\\129\\161k', ${d}) .. '\\195'))`);
  for (const n of [600, 1023, 1024, 1025, 1500]) cases.push(`(function(t) return #t, t[1], t[#t] end)(cmsgpack.unpack(cmsgpack.pack((function() local t = {} for i = 1, ${n} do t[i] = 'v' .. i end return t end)())))`);
  cases.push(`cjson.encode({cmsgpack.unpack(${bytes('81 a1 61 92 01 81 a1 62 c0 92 c3 a0 80 90')})})`);
  cases.push({ code: `local t = cmsgpack.unpack(${bytes('82 a1 61 01 a1 62 02')}) t.c = 3 return cjson.encode(t)`, stmt: true });
  // The order pairs() walks decoded maps in (the harness sorts pairs, so it is shown as a list here):
  // random maps of 3 to 40 keys, some nested, packed by msgpackr as BullMQ packs its options.
  const keyRnd = prng(11);
  const word = () => Array.from({ length: 1 + Math.floor(keyRnd() * 12) }, () => String.fromCharCode(97 + Math.floor(keyRnd() * 26))).join('');
  for (let k = 0; k < 40; k++) {
    const o: Record<string, unknown> = {};
    const n = 3 + Math.floor(keyRnd() * 38);
    for (let i = 0; i < n; i++) o[word()] = keyRnd() < 0.2 ? { [word()]: i, [word()]: word() } : keyRnd() < 0.5 ? i * 1000 : word();
    const walk = "(function(t) local o = {} for key, v in pairs(t) do o[#o + 1] = key .. (type(v) == 'table' and ('{' .. table.concat((function(u) local p = {} for a in pairs(u) do p[#p + 1] = a end return p end)(v), ',') .. '}') or '') end return table.concat(o, ',') end)";
    cases.push(`${walk}(cmsgpack.unpack(${luaStr(pack(o).toString('latin1'))}))`);
  }
  // round trips of random structures
  const rnd = prng(3);
  const gen = (d: number): string => {
    const r = rnd();
    if (d > 3 || r < 0.35) {
      const k = Math.floor(rnd() * 6);
      if (k === 0) return luaNum(Math.floor(rnd() * 2 ** 40) - 2 ** 39);
      if (k === 1) return luaNum((rnd() - 0.5) * 10 ** Math.floor(rnd() * 30));
      if (k === 2) return luaStr(String.fromCharCode(...Array.from({ length: Math.floor(rnd() * 40) }, () => Math.floor(rnd() * 256))));
      if (k === 3) return rnd() < 0.5 ? 'true' : 'false';
      if (k === 4) return luaNum(Math.floor(rnd() * 300) - 150);
      return luaNum(Math.fround(rnd() * 1000));
    }
    const n = Math.floor(rnd() * 5);
    const items = Array.from({ length: n }, () => gen(d + 1));
    if (r < 0.7) return `{${items.join(', ')}}`;
    return `{${items.map((v, i) => `k${i} = ${v}`).join(', ')}}`;
  };
  for (let k = 0; k < 80; k++) {
    const v = gen(0);
    cases.push(`cmsgpack.unpack(cmsgpack.pack(${v}))`);
    if (!/k1 =/.test(v)) cases.push(`hex(cmsgpack.pack(${v}))`);
  }
  return cases;
}

describe('cmsgpack against redis-server', () => {
  it('pack matches on the generated corpus', async () => {
    const cases = packCases();
    expect(cases.length).toBeGreaterThan(150);
    expect(await compareEverywhere(cases, servers.redis.port, servers.damselfly.port)).toEqual({ vm: [], eval: [] });
  }, 120_000);
  it('unpack, unpack_one and unpack_limit match on the generated corpus', async () => {
    const cases = unpackCases();
    expect(cases.length).toBeGreaterThan(300);
    expect(await compareEverywhere(cases, servers.redis.port, servers.damselfly.port)).toEqual({ vm: [], eval: [] });
  }, 120_000);
});
