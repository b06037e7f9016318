/**
 * The string and table functions scripts see behave as Redis 7.0's Lua 5.1
 * ones, byte for byte against the real redis-server (its answers and its
 * error texts with their positions): table.sort (5.1's quicksort: the
 * order of ties under a comparator, invalid order functions, comparison
 * errors), string.gsub (empty matches, '%' in replacements, captures,
 * patterns read as 5.1 reads them) and the functions 5.4 made strict about
 * integer arguments.
 */
import { describe, expect, it } from 'vitest';
import { type Case, compareOnServers, corpusServers, luaStr } from './helpers/lua-libs-harness.js';

const servers = corpusServers();

/** The corpus as one EVAL on both servers: the cases whose dumps differ. */
const differences = (cases: Case[]): Promise<string[]> => compareOnServers(cases, servers.redis.port, servers.damselfly.port);

/** A deterministic generator both Luas compute exactly (products stay below 2^53). */
const LCG = 'local seed = 42 local function rnd(n) seed = (seed * 16807) % 2147483647 return seed % n end';

describe('table.sort', () => {
  it('sorts and fails as Lua 5.1 does', async () => {
    const cases: Case[] = [];
    const ids = 'local o = {} for i = 1, #t do o[i] = type(t[i]) == "table" and t[i].id or tostring(t[i]) end return table.concat(o, ",")';
    for (const t of ['{}', '{1}', '{2, 1}', '{3, 1, 2}', '{5, 4, 3, 2, 1}', '{"b", "a", "c", "B", "A", ""}', '{1.5, -2, 0, 1e300, -1e-300}', '{0, NZ}', '{NZ, 0, 1}', '{NZ, 1, NZ, 0, -1}', '{0/0, 1, 2}', '{1, 0/0, 0/0, -1}', '{3, 3, 3, 1, 1}']) {
      cases.push({ code: `local t = ${t} table.sort(t) ${ids}`, stmt: true });
      cases.push({ code: `local t = ${t} table.sort(t, function(a, b) return a > b end) ${ids}`, stmt: true });
    }
    // no comparator: mixed or uncomparable values (5.1's messages, no position)
    for (const t of ['{1, "x"}', '{"x", 1}', '{{}, {}}', '{1, {}}', '{true, false}', '{1, nil, 3}', '{"a", coroutine.create(print)}', '{print, print}', '{1, 2, "3"}', '{"10", "9", 8}']) {
      cases.push({ code: `local t = ${t} table.sort(t) ${ids}`, stmt: true });
    }
    // __lt: both operands need the same metamethod in 5.1
    cases.push({ code: 'local mt = {__lt = function(a, b) return a.v < b.v end} local t = {} for i = 1, 20 do t[i] = setmetatable({id = i, v = (i * 7) % 11}, mt) end table.sort(t) ' + ids, stmt: true });
    cases.push({ code: 'local t = {setmetatable({id = 1}, {__lt = function() return true end}), setmetatable({id = 2}, {__lt = function() return true end})} table.sort(t) ' + ids, stmt: true });
    cases.push({ code: 'local mt = {__lt = function(a, b) return a.id > b.id end} local t = {setmetatable({id = 1}, mt), {id = 2}} table.sort(t) ' + ids, stmt: true });
    // arguments
    for (const args of ['', 'nil', '1', '"x"', '{}, 1', '{}, {}', '{3, 1}, nil', '{3, 1}, false', '{3, 1}, "f"']) {
      cases.push(`table.sort(${args})`);
    }
    cases.push({ code: 'local s = table.sort s(1)', stmt: true }, { code: 'local t = {f = table.sort} t.f()', stmt: true }, { code: 'return table.sort()', stmt: true });
    // comparators: ties keyed on a field, inconsistent ones, errors, non-boolean answers
    for (const n of [3, 10, 150, 300]) {
      const build = `${LCG} local t = {} for i = 1, ${n} do t[i] = {id = i, k = rnd(7)} end`;
      cases.push({ code: `${build} table.sort(t, function(a, b) return a.k < b.k end) ${ids}`, stmt: true });
      cases.push({ code: `${build} table.sort(t, function(a, b) return a.k > b.k end) ${ids}`, stmt: true });
      // (past the array's ends 5.1 passes nil: the comparator's own error then, in both Luas' words)
      cases.push({ code: `${build} table.sort(t, function(a, b) if a == nil or b == nil then error('nil') end return a.k <= b.k end) ${ids}`, stmt: true });
      cases.push({ code: `${build} local calls = 0 table.sort(t, function(a, b) calls = calls + 1 return rnd(2) == 0 end) return calls .. ':' .. (function() ${ids} end)()`, stmt: true });
      cases.push({ code: `${build} table.sort(t, function(a, b) return true end) ${ids}`, stmt: true });
      cases.push({ code: `${build} table.sort(t, function(a, b) return false end) ${ids}`, stmt: true });
      cases.push({ code: `${build} table.sort(t, function(a, b) return a.k < b.k and 1 or nil end) ${ids}`, stmt: true });
      cases.push({ code: `${LCG} local t = {} for i = 1, ${n} do t[i] = rnd(1000) end table.sort(t) return table.concat(t, ",")`, stmt: true });
      cases.push({ code: `${LCG} local t = {} for i = 1, ${n} do t[i] = "k" .. rnd(1000) end table.sort(t) return table.concat(t, ",")`, stmt: true });
      cases.push({ code: `${LCG} local t = {} for i = 1, ${n} do t[i] = rnd(1000) / 7 end table.sort(t, function(a, b) return a > b end) for i = 1, #t do t[i] = string.format('%.14g', t[i]) end return table.concat(t, ",")`, stmt: true });
    }
    // past the one-call type scan (4096 elements): the types are read in Lua
    for (const fill of ['rnd(100000)', '"k" .. rnd(100000)', 'rnd(100000) / 3', 'i == 2500 and 0/0 or rnd(100)', '(i == 100 or i == 4000) and NZ or (i == 200 and 0 or rnd(100))', 'i == 4500 and "x" or rnd(10)']) {
      cases.push({ code: `${LCG} local t = {} for i = 1, 5000 do t[i] = ${fill} end table.sort(t) local o = {} for i = 1, #t, 97 do o[#o + 1] = tostring(t[i]) end return table.concat(o, ",")`, stmt: true });
    }
    cases.push({ code: 'local seen = {} local t = {5, 1, 4, 2, 3} table.sort(t, function(a, b) seen[#seen + 1] = a .. "<" .. b return a < b end) return table.concat(seen, " ")', stmt: true });
    cases.push({ code: 'local t = {3, 2, 1} table.sort(t, function(a, b) error("cmp failed") end)', stmt: true });
    cases.push({ code: 'local t = {3, 2, 1} table.sort(t, function(a, b) return a < {} end)', stmt: true });
    cases.push({ code: 'local t = {3, 2, 1} table.sort(t, function(a, b) error({err = "table error"}) end)', stmt: true });
    cases.push({ code: 'local t = {1, 2, 3, 4, 5, 6, 7, 8} table.sort(t, function(a, b) return a ~= b end) return table.concat(t, ",")', stmt: true });
    // a table with a metatable: 5.1 sorts it raw
    cases.push({ code: 'local t = setmetatable({3, 1, 2}, {__index = function() return 0 end, __newindex = function() error("no") end}) table.sort(t) return t[1], t[2], t[3]', stmt: true });
    cases.push({ code: 'local t = setmetatable({3, 1, 2}, {__len = function() return 2 end}) table.sort(t) return t[1], t[2], t[3]', stmt: true });
    cases.push({ code: 'local t = setmetatable({3, 1, 2}, {}) table.sort(t, function(a, b) return a > b end) return t[1], t[2], t[3]', stmt: true });
    expect(cases.length).toBeGreaterThan(90);
    expect(await differences(cases)).toEqual([]);
  });

  it('keeps the position in a tail call', async () => {
    for (const body of ['return table.sort(nil)', 'return table.sort({1, 2, 3}, function() return true end)', 'return table.sort({1, "x"})']) {
      const ours = await runEval(servers.damselfly.port, body);
      expect(ours).toBe(await runEval(servers.redis.port, body));
    }
  });
});

describe('string.gsub', () => {
  it('matches Lua 5.1 over subjects, patterns and replacements', async () => {
    const subjects = ['', 'abc', 'hello world', 'aaa', '  x  y  ', 'a,b,,c', 'THE (quick) fox', 'x=1, y=22', 'a\0b', 'g-G%'];
    const patterns = [
      '', 'a', 'a*', 'a-', 'a?', 'a+', '.', '%w+', '%w*', '(%w+)', '()', '(a)(b)?', '^a', '^a*', '^', '$', 'a$', '^$', '%s*', '%s+', '[%w_]+', '[^,]*', ',*',
      '%f[%w]%w*', '%f[%W]', '%b()', '(%w)%1', 'x*$', '(o)', '((%w)(%w))', '(.-)%s', '%a-', '[%g]', '%g', '[a-]', '[]]', '[^]]', '%%', '%.', '\0', 'a\0b',
      // malformed: an error only when a match reaches the bad item
      '%', '[a', '(a', 'a)', '%b', '%ba', '%1', '(a)%2', '%f', '%fx', '(()', 'x[', 'x%', 'z(',
    ];
    const repls = ['"-"', '"%0"', '"<%1>"', '"%2"', '"%%"', '"%x"', '"%"', '"%1%"', '5', '2.5',
      'function(...) return select("#", ...) .. ":" .. table.concat({...}, "|") end', 'function(c) if c == "a" then return false end return nil end', 'function(c) return 7 / 7 end',
      '{a = "A", b = 2, [""] = "E", ["1"] = "one", [1] = "pos"}', '{}'];
    const cases: Case[] = [];
    for (const s of subjects) {
      for (const p of patterns) {
        for (const r of repls) cases.push(`string.gsub(${luaStr(s)}, ${luaStr(p)}, ${r})`);
      }
    }
    for (const n of ['0', '1', '2', '-1', '1.5', '"2"', '2^31 + 1', '0/0', '"x"', '{}']) {
      for (const p of ['a', 'x*', '', '^a', '.', '[']) cases.push(`string.gsub("banana", ${luaStr(p)}, "<%0>", ${n})`);
    }
    for (const args of ['', '"x"', '"x", "y"', '"x", "y", nil', '"x", "y", true', 'nil, "x", "y"', '{}, "x", "y"', '"x", {}, "y"', '12, 2, 3', '1e15, "e", "E"', '"a1", 1, 2.0', '0.1, "%.", ","']) {
      cases.push(`string.gsub(${args})`);
    }
    cases.push('("abc"):gsub("b", true)', '("abc"):gsub()', '("abc"):gsub("(b)", "%2")', 'string.gsub("abc", "b", function() return {} end)', 'string.gsub("abc", "b", function() return true end)',
      'string.gsub("abc", "b", {b = {}})', 'string.gsub("abc", "b", function() error("in repl") end)', 'string.gsub("abc", "(b", {})',
      'string.gsub("abc", "%w", setmetatable({}, {__index = function(t, k) return k:upper() end}))',
      'string.gsub(string.rep("ab", 3000), "b", "c")', 'string.gsub("aaa", "a", "")', 'string.gsub("aaa", "a*", "")', 'string.gsub("aaa", "a", function() return "" end)', 'string.gsub("aaa", "x*", "")', '#string.gsub(string.rep("a b ", 3000), "%s*", "")', 'string.gsub(string.rep("x", 50), "x", "%0%0", 10)');
    expect(cases.length).toBeGreaterThan(2000);
    expect(await differences(cases)).toEqual([]);
  });

  it('keeps the position in a tail call', async () => {
    for (const body of ["return string.gsub('abc', '[')", "return string.gsub('abc', '(b)', '%2')", "return ('x'):gsub('x', {x = {}})", 'return string.gsub()']) {
      expect(await runEval(servers.damselfly.port, body)).toBe(await runEval(servers.redis.port, body));
    }
  });
});

describe('string.find, match, gmatch', () => {
  it('search as Lua 5.1 does', async () => {
    const subjects = ['', 'abc', 'hello world', 'a,b,,c', 'x=1, y=22', 'a\0b', '^a^b', 'a.b+c'];
    const patterns = ['', 'a', 'a*', '.', '%w+', '%w*', '(%w+)', '()', '^a', '^', '$', '[^,]*', '([^,]*)', '%f[%w]%w*', '(%w)%1', '(%w+)=(%w+)', '%g', '[%g]', '\0', 'a\0.', '.+', '+', '%', '[a', '(a', 'a)', '%b', '%1'];
    const cases: Case[] = [];
    for (const s of subjects) {
      for (const p of patterns) {
        const sp = `${luaStr(s)}, ${luaStr(p)}`;
        cases.push(`string.find(${sp})`, `string.match(${sp})`, `string.find(${sp}, 2)`, `string.find(${sp}, -2.5)`, `string.find(${sp}, 10)`, `string.find(${sp}, 1, true)`, `string.match(${sp}, 3.9)`);
        cases.push(`(function() local o = {} for a, b in string.gmatch(${sp}) do o[#o + 1] = tostring(a) .. '/' .. tostring(b) if #o > 40 then break end end return table.concat(o, '|') end)()`);
      }
    }
    cases.push('string.find()', 'string.find("x")', '("abc"):find({})', 'string.find("abc", "b", "x")', 'string.find(12345, 34)', 'string.match(1e15, "e")', 'string.gmatch()', 'string.gmatch("x")', 'string.gmatch("x", "x", 2)()',
      '(function() local it = string.gmatch("abc", "[") return it() end)()', '(function() for w in string.gmatch("abc", "(b") do end end)()');
    expect(cases.length).toBeGreaterThan(1700);
    expect(await differences(cases)).toEqual([]);
  });
});

describe('string.format', () => {
  it('formats and fails as Lua 5.1 does', async () => {
    const values = ['0', '1', '-1', '3.7', '-3.7', '255.9', '-0.5', 'NZ', '2^31', '2^53', '2^63', '-(2^63)', '2^64', '1e100', '-1e30', '0/0', '1/0', '-1/0', '"10"', '"0x10"', '" 5 "', '"abc"', '1e15', '10/2', '1/3', '123456789012345'];
    const specs = ['%d', '%i', '%5d', '%-5d|', '%05d', '%+d', '% d', '%.3d', '%.0d', '%x', '%X', '%#x', '%o', '%#o', '%u', '%c', '%5c|', '%-3c|', '%e', '%.3E', '%f', '%5.2f', '%g', '%G', '%#g', '%010.3f', '%s', '%5s|', '%-5s|', '%.2s', '%q', '%-+ #0d'];
    const cases: Case[] = [];
    for (const f of specs) for (const v of values) cases.push(`string.format(${luaStr(f)}, ${v})`);
    for (const v of ['nil', 'true', '{}', 'print', '"a\\0b"', 'string.rep("a\\0", 60)', 'string.rep("x", 99)', 'string.rep("y", 100)']) {
      for (const f of ['%s', '%5s', '%.3s', '%q', '%d']) cases.push(`string.format(${luaStr(f)}, ${v})`);
    }
    for (const f of ['%', '%y', '%a', '%5%', '%1.2.3d', '%100d', '%.100d', '%-+ #0-d', '%.3q', '%%', 'a%%b%%', 'x\0y%d', '%5.s|', '%p', '%i%i']) {
      cases.push(`string.format(${luaStr(f)}, 1, 2)`);
    }
    cases.push('string.format()', 'string.format({})', 'string.format(12, 3)', 'string.format("%s %s", 1)', 'string.format("%q", "a\\"b\\\\c\\nd\\re\\0f\\1g\\255")',
      '#string.format("%c", 0)', '#string.format("%5c", 0)', 'string.format("%s|%s|%s", 1.5, 10/2, 2^63)', 'string.format("%06d", "123")', '("%d"):format(4.5)', '("%d"):format({})');
    expect(cases.length).toBeGreaterThan(850);
    expect(await differences(cases)).toEqual([]);
  });
});

describe('string.sub, byte, char, rep', () => {
  it('take any number as an integer, as Lua 5.1 does', async () => {
    const positions = ['nil', '0', '1', '2', '-1', '-2', '1.5', '-1.5', '3.9', '100', '-100', '2^53', '2^63', '-(2^63)', '0/0', '1/0', '"2"', '" 3 "', '"x"', '{}'];
    const cases: Case[] = [];
    for (const i of positions) {
      cases.push(`string.sub("hello", ${i})`, `string.byte("hello", ${i})`, `("hello"):sub(2, ${i})`, `string.byte("hello", 2, ${i})`, `string.char(${i})`, `string.rep("ab", ${i})`);
      for (const j of ['-2', '2.5', '4.99']) cases.push(`string.sub("hello", ${i}, ${j})`, `string.byte("hello", ${i}, ${j})`);
    }
    for (const s of ['""', '12345.5', '1e15', '10/2', '{}', 'nil', '"a\\0b\\0c"']) cases.push(`string.sub(${s}, 2, -2)`, `string.byte(${s}, 1, -1)`, `string.rep(${s}, 2)`);
    cases.push('string.sub()', 'string.byte()', 'string.rep("x")', 'string.rep("ab", 3, ",")', 'string.rep("x", 2^31 + 2)', 'string.char()', 'string.char(72.5, 105, 33.99)', 'string.char(256)', 'string.char(-1)', 'string.char(-0.5)',
      '#{string.byte(string.rep("x", 7990), 1, -1)}', '#{string.byte(string.rep("x", 8000), 1, -1)}', '("hello"):sub({})', '("hello"):byte(1, {})');
    expect(await differences(cases)).toEqual([]);
  });
});

describe('table.insert, remove, concat, unpack, select', () => {
  it('take any number as an integer and read tables raw, as Lua 5.1 does', async () => {
    const nums = ['nil', '0', '1', '2', '3', '4', '5', '-1', '1.5', '2.9', '-0.5', '2^31 + 1', '0/0', '"2"', '"x"', '{}'];
    const show = 'local o = {} for i = -1, 7 do o[#o + 1] = tostring(rawget(t, i)) end return table.concat(o, ",")';
    const cases: Case[] = [];
    for (const p of nums) {
      // (2^31 + 1 is INT_MIN + 1 as an int: 5.1 would shift 2^31 slots)
      if (p !== '2^31 + 1') cases.push({ code: `local t = {"a", "b", "c"} table.insert(t, ${p}, "z") ${show}`, stmt: true });
      cases.push({ code: `local t = {"a", "b", "c"} local r = {table.remove(t, ${p})} return #r, r[1], (function() ${show} end)()`, stmt: true });
      cases.push(`table.concat({"a", "b", 3, 4.5, 10/2}, ",", ${p})`, `table.concat({"a", "b", "c", "d"}, "-", 2, ${p})`, `unpack({"a", "b", "c"}, ${p})`, `unpack({"a", "b", "c"}, 2, ${p})`, `select(${p}, "a", "b", "c")`);
    }
    cases.push('table.insert({})', 'table.insert({}, 1, 2, 3)', 'table.insert(nil, 1)', 'table.insert("x", 1)', 'table.remove()', 'table.remove({})', 'select("#", table.remove({}))', 'table.concat()', 'table.concat({1, {}, 3})',
      'table.concat({1, 2}, {})', 'table.concat(nil, {})', 'table.concat({"a", "b"}, 5.0)', 'table.concat({1e15, 2^53, NZ, 1/3, -1/0})', 'table.concat({}, "x", 3, 1)', '#{unpack({}, 1, 7999)}', '#{unpack({}, 1, 8000)}',
      'unpack()', 'unpack(nil)', 'select()', 'select("#")', 'select("#x", 1, 2)', 'select("x", 1)', 'select(-3, "a", "b")', 'type(table.unpack)',
      { code: 'local t = setmetatable({1, 2, 3}, {__index = function() return "i" end, __len = function() return 10 end}) return unpack(t)', stmt: true },
      { code: 'local t = setmetatable({}, {__newindex = function() error("ni") end}) table.insert(t, "a") table.insert(t, 1, "b") return rawget(t, 1), rawget(t, 2)', stmt: true },
      { code: 'local t = setmetatable({1, 2, 3}, {__index = function() return "i" end}) return table.remove(t, 1), table.concat(t, ","), table.remove(t)', stmt: true },
      { code: 'local t = {} for i = 1, 5000 do t[i] = "s" .. i end return #table.concat(t, ","), #table.concat(t, ",", 4990), table.concat(t, ",", 4998)', stmt: true },
      { code: 'local t = {} for i = 1, 5000 do t[i] = i / 2 end return #table.concat(t, ","), table.concat(t, ",", 4997)', stmt: true });
    expect(await differences(cases)).toEqual([]);
  });
});

describe("Redis's pcall", () => {
  it('answers a table error as redis-server does (its err field after it)', async () => {
    const cases: Case[] = [
      'select("#", pcall(error, {}))', 'pcall(error, {})', 'pcall(error, {err = true})', 'pcall(error, {err = 5})', 'pcall(error, {err = "E"})', 'pcall(error, setmetatable({}, {__index = function() return "idx" end}))',
      { code: 'local t = {3, 2, 1} return pcall(table.sort, t, function(a, b) error({code = 1}) end)', stmt: true },
      { code: 'return pcall(string.gsub, "abc", "b", function() error({}) end)', stmt: true },
    ];
    expect(await differences(cases)).toEqual([]);
  });
});

describe('numbers made strings inside the VM', () => {
  // 5.4 writes a float that looks like an integer with ".0" (10/2 is "5.0"); 5.1 has
  // only doubles and writes "%.14g": a key built as 'job:' .. n / 2 must be Redis's.
  it('read as Lua 5.1 writes them, in concatenation, coercion and tostring', async () => {
    const cases: Case[] = [];
    for (const n of ['10/2', '3.0', '-3.0', '-0.0', '0.0', '1/3', '2^53', '2^63', '1e15', '1e100', '-1e-300', '0.1 + 0.2', '100/10', '7 % 2.5', 'math.huge', '-math.huge', 'math.floor(7.9)', '2^31', '1e14 + 0.5', '255/5']) {
      cases.push(`'k:' .. (${n})`, `tostring(${n})`, `string.upper(${n})`, `#((${n}) .. '')`, `string.rep(${n}, 2)`, `(${n}) .. (${n})`);
    }
    cases.push({ code: "local t = {} for i = 1, 20 do t[#t + 1] = 'job:' .. (i * 3 / 2) end return table.concat(t, ',')", stmt: true });
    expect(await differences(cases)).toEqual([]);
  });
});

/** The raw reply to EVAL body 0. */
async function runEval(port: number, body: string): Promise<string> {
  const { rawReply } = await import('./helpers/redis-oracle.js');
  return rawReply(port, 2, ['EVAL', body, '0']);
}
