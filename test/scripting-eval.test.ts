/**
 * EVAL / EVALSHA / EVAL_RO / SCRIPT over real TCP: reply bytes and error
 * texts compared with the real redis-server 7.0 in RESP2 and RESP3, the
 * clients' own script helpers (ioredis defineCommand, node-redis
 * defineScript / scriptLoad / evalSha), binary safety, 64-bit integers,
 * transactions, MONITOR, INFO and the script checks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createClient, defineScript } from 'redis';
import { createHash } from 'node:crypto';
import { RawClient, resp, startServer, until, type TestServer } from './helpers/server.js';
import { rawReply, startRedis, type Oracle } from './helpers/redis-oracle.js';

let srv: TestServer;
let oracle: Oracle;
beforeAll(async () => {
  [srv, oracle] = await Promise.all([startServer(), startRedis()]);
});
afterAll(async () => {
  oracle?.stop();
  await srv?.stop();
});

const sha1 = (s: string) => createHash('sha1').update(s, 'latin1').digest('hex');

/** Both servers' raw replies to the same command, on fresh connections. */
async function both(proto: 2 | 3, args: string[]): Promise<[string, string]> {
  return Promise.all([rawReply(srv.port, proto, args), rawReply(oracle.port, proto, args)]);
}

// Scripts whose replies must be byte-identical to Redis 7.0's. Each uses
// its own keys (prefixed by its index) so the order of runs does not matter.
const CORPUS: [string, ...string[]][] = [
  ['return 1', '0'],
  // The globals and the redis table, iterated: the same names as Redis's.
  ['local t = {} for k in pairs(_G) do t[#t + 1] = tostring(k) end table.sort(t) return t', '0'],
  ['local t = {} for k in pairs(redis) do t[#t + 1] = tostring(k) end table.sort(t) return t', '0'],
  ["local e = __redis__err__handler('boom') return {e.err, e.source, e.line}", '0'],
  // CLUSTER exists (cluster support disabled) and RESET is noscript, as in Redis.
  ["return redis.call('cluster', 'reset', 'hard')", '0'],
  ["return redis.call('cluster', 'info')", '0'],
  // Runtime type errors in Lua 5.1's wording.
  ['local t = {} return t.f()', '0'],
  ['local t = {} return t:m()', '0'],
  ["local x; return x .. 'a'", '0'],
  ['local t = {} return #t.y', '0'],
  ['local t = {} return t.a.b', '0'],
  ['return -{}', '0'],
  ['return -42', '0'],
  ['return 3.99', '0'],
  ['return {3.99, -3.99, -0.5, 1e20, 0/0, 2^63, -2^63, 2^53 + 1}', '0'],
  ["return 'hello'", '0'],
  ['return {1, 2, {3, "x"}, nil, 4}', '0'],
  ['return {1, 2, foo = "bar", 3}', '0'],
  ['return {}', '0'],
  ['return true', '0'],
  ['return false', '0'],
  ['return nil', '0'],
  // Array replies past one scan (64 elements), with strings, numbers, tables and booleans mixed.
  ['local t = {} for i = 1, 70 do t[i] = "x" .. i end return t', '0'],
  ['local t = {} for i = 1, 100 do t[i] = (i % 7 == 0) and i or ("s" .. i) end t[50] = {"in", 5} return t', '0'],
  ["return {'a', 'b', {'c', {'d'}, 'e'}, 'f', 1.5, true, false, 'g', nil, 'h'}", '0'],
  ["return {'a', {err = 'E inner'}, {ok = 'S'}, 'b'}", '0'],
  ["return {err = 'My Error'}", '0'],
  ["return {ok = 'FINE'}", '0'],
  ["return {ok = 'a\\r\\nb'}", '0'],
  ["return redis.error_reply('My Error')", '0'],
  ["return redis.error_reply('boom')", '0'],
  ["return redis.error_reply('-boom')", '0'],
  ["return redis.error_reply('MYERR bad thing')", '0'],
  ['return redis.error_reply(1)', '0'],
  ["return redis.status_reply('STATUS')", '0'],
  ["return {double = 3.5}", '0'],
  ["return {double = 1/3}", '0'],
  ["return {big_number = '123456789012345678901234567890'}", '0'],
  ["return {map = {a = 1}}", '0'],
  ["return {set = {a = true}}", '0'],
  ["return {verbatim_string = {format = 'txt', string = 'hello'}}", '0'],
  // Number keys hash as 5.1's doubles (number-keys.ts): pairs() meets them in Redis's order, through growth,
  // deletion and an array part moving into the hash part; and 6,000 random sets and deletes lose nothing.
  // Float keys too (hash51bits), with deletions.
  ["local t = {[2.5]=1, [0.1]=2, [1e10+0.5]=3, [-3.25]=4, [7]=5, [1/3]=6, x=7} local r = {} for k in pairs(t) do r[#r+1] = tostring(k) end return r", '0'],
  ["local x = 3 local function rnd(n) x = (x * 16807) % 2147483647 return x % n end local t = {} for i = 1, 2000 do local k = rnd(100000) / 8 if rnd(4) == 0 then t[k] = nil else t[k] = i end end for k, v in pairs(t) do if t[k] ~= v then return 'lost' end end local o = {} for k in pairs(t) do o[#o + 1] = tostring(k) end return table.concat(o, ' ')", '0'],
  // Deleting absent keys takes nodes as in 5.1 (table-order.ts). (No -0 key: 5.1's doubles have one, 5.4's
  // integers do not. And no string keys here: a string key whose value is nil dies at the collector's next
  // pass, in 5.1 as in 5.4, so the order after deletions depends on when the collectors ran.)
  ["local t = {} t[10]=1 t[20]=2 t[30]=3 t[5]=4 t[100]=5 local r = {} for k in pairs(t) do r[#r+1] = k end return r", '0'],
  ["local t = {a=1, [3]=2, b=3, [1000]=4, [-7]=5, [0]=6} local r = {} for k in pairs(t) do r[#r+1] = tostring(k) end return r", '0'],
  ["local t = {} for i = 1, 40 do t[i * 1000003 % 977] = i end t[5] = nil t[7] = nil local r = {} for k, v in pairs(t) do r[#r+1] = k .. '=' .. v end return r", '0'],
  [
    [
      'local x = 12345 local function rnd(n) x = (x * 16807) % 2147483647 return x % n end',
      'local t, shadow, live = {}, {}, 0 local ranges = {100, 1000000, 8589934592, 70368744177664}',
      'for i = 1, 6000 do local k = rnd(ranges[rnd(4) + 1]) if rnd(3) == 0 and k ~= 0 then k = -k end',
      '  if rnd(4) == 0 then if shadow[tostring(k)] ~= nil then live = live - 1 end t[k] = nil shadow[tostring(k)] = nil',
      '  else if shadow[tostring(k)] == nil then live = live + 1 end t[k] = i shadow[tostring(k)] = i end end',
      "for s, v in pairs(shadow) do if t[tonumber(s)] ~= v then return 'lost ' .. s end end",
      'local n, h = 0, 0 for k in pairs(t) do n = n + 1 h = (h * 31 + k % 1000003) % 1000000007 end',
      'local arr = {} for i = 1, 300 do arr[i] = i end for i = 1, 290 do arr[i] = nil end arr[2^31] = 1 arr[2^32 + 5] = 2',
      'local o = {} for k in pairs(arr) do o[#o + 1] = tostring(k) end',
      "return {n, live, h, table.concat(o, ' ')}",
    ].join('\n'),
    '0',
  ],
  // Integers turn into text as 5.1's doubles do ("%.14g"): 15 digits and more in exponent form.
  [
    "local t = 1796672035681 return {'k' .. (t * 4096 - 1), 'k' .. 123456789012345, 'k' .. 99999999999999, 'k' .. -123456789012345, 'k' .. 9007199254740993, string.rep(123456789012345, 2), table.concat({1, 123456789012345, 3}, ','), string.format('%s|%d', 123456789012345, 123456789012345), string.len(123456789012345), string.upper(1234567890123456), 'k' .. 7 * 3, 'k' .. 100000000000000}",
    '0',
  ],
  // Strings read as numbers as 5.1's strtod reads them: inf, infinity and nan too (5.4 refuses any 'n').
  // (Not '-nan': the module's strtod drops a NaN's sign, glibc's keeps it.)
  [
    "local r = {} for _, s in ipairs({'inf', 'nan', '-inf', '+inf', 'INF', 'Infinity', '  inf  ', 'infx', 'nanx', 'in', 'n', '0x1p4', '1e500', '0x10', 'nan(123)', ' 5 ', '5 x'}) do r[#r + 1] = s .. '=' .. tostring(tonumber(s)) end return r",
    '0',
  ],
  ["return {tostring('inf' + 1), tostring('-infinity' * 2), tostring(('inf' + 0) == math.huge), tostring(pcall(function() return 'nan' + 1 end)), tostring(tonumber('nan') ~= tonumber('nan'))}", '0'],
  ['return KEYS', '2', 'k1', 'k2', 'a1', 'a2'],
  ['return ARGV', '1', 'k1', 'a1', 'a2'],
  ['return {#KEYS, #ARGV}', '1', 'k1', 'a1', 'a2'],
  ["return redis.call('set', KEYS[1], ARGV[1])", '1', 'c1:k', 'v'],
  ["redis.call('set', KEYS[1], 'v') return redis.call('get', KEYS[1])", '1', 'c2:k'],
  ["return redis.call('get', 'c3:missing')", '0'],
  ["return type(redis.call('get', 'c4:missing'))", '0'],
  ["return redis.call('incr', KEYS[1])", '1', 'c5:n'],
  // A set sorted BY a constant is ordered (ALPHA) for a script, as Redis does.
  ["redis.call('del', KEYS[1]) redis.call('sadd', KEYS[1], 'z', 'b', 'aa', 'a', 'c', 'azz') return redis.call('sort', KEYS[1], 'by', '_')", '1', 'csort:s'],
  ["redis.call('del', KEYS[1]) redis.call('sadd', KEYS[1], 'b', 'a', 'c') return redis.call('sort', KEYS[1], 'by', '_', 'get', '#', 'get', '_:*')", '1', 'csort2:s'],
  ["local n = redis.call('incr', KEYS[1]) return n .. ''", '1', 'c6:n'],
  ["local n = redis.call('incrby', KEYS[1], 41) return tostring(n + 1)", '1', 'c7:n'],
  ["redis.call('rpush', KEYS[1], 'a', 'b', 'c') return redis.call('lrange', KEYS[1], 0, -1)", '1', 'c8:l'],
  ["redis.call('hset', KEYS[1], 'f', 'v') return redis.call('hgetall', KEYS[1])", '1', 'c9:h'],
  ["redis.call('zadd', KEYS[1], 1.5, 'm') return redis.call('zscore', KEYS[1], 'm')", '1', 'c10:z'],
  ["redis.setresp(3) redis.call('zadd', KEYS[1], 1.5, 'm') return redis.call('zscore', KEYS[1], 'm')", '1', 'c11:z'],
  ["redis.setresp(3) redis.call('hset', KEYS[1], 'f', 'v') return redis.call('hgetall', KEYS[1])", '1', 'c12:h'],
  ["redis.setresp(3) redis.call('sadd', KEYS[1], 'm') return redis.call('smembers', KEYS[1])", '1', 'c13:s'],
  ["redis.setresp(3) return redis.call('get', 'c14:missing')", '0'],
  ['redis.setresp(3) return true', '0'],
  ['redis.setresp(3) return false', '0'],
  ["redis.setresp(3) return {double = 2.5}", '0'],
  ["redis.setresp(3) redis.call('zadd', KEYS[1], 2.5, 'm') return redis.call('zscore', KEYS[1], 'm').double", '1', 'c15:z'],
  ["redis.call('set', KEYS[1], 'x') return redis.pcall('incr', KEYS[1])", '1', 'c16:s'],
  ["redis.call('set', KEYS[1], 'x') return redis.call('incr', KEYS[1])", '1', 'c17:s'],
  ["redis.call('set', KEYS[1], 'x') return redis.call('lpush', KEYS[1], 'y')", '1', 'c18:s'],
  ["local ok, e = pcall(redis.call, 'incr', 'c19:none') return {tostring(ok), type(e)}", '0'],
  ["redis.call('set', 'c20:s', 'x') local ok, e = pcall(redis.call, 'incr', 'c20:s') return e", '0'],
  ["return pcall(error, {err = 'T'})", '0'],
  ["return select(2, pcall(error, {err = 'T'}))", '0'],
  // Array replies of bulk strings (built in one WASM call): nulls, empty and long strings.
  ["redis.call('hset', KEYS[1], 'a', '1', 'e', '') local r = redis.call('hmget', KEYS[1], 'a', 'zz', 'e', 'a') return {#r, type(r[2]), r[1], r[3], r[4]}", '1', 'c21:h'],
  ["return redis.call('hmget', 'c22:none', 'a', 'b')", '0'],
  ["redis.call('rpush', KEYS[1], '', string.rep('y', 100), 'z') return redis.call('lrange', KEYS[1], 0, -1)", '1', 'c23:l'],
  ["redis.setresp(3) return redis.call('hmget', 'c24:none', 'a')", '0'],
  ['return {#KEYS, #ARGV, KEYS[2], ARGV[1], #ARGV[2], ARGV[3]}', '2', 'k1', '', '', 'x'.repeat(300), 'end'],
  ["return redis.call('nosuchcommand')", '0'],
  ["return redis.call('get')", '0'],
  ["return redis.call('eval', 'return 1', 0)", '0'],
  ["return redis.call('blpop', 'x', 0)", '0'],
  ["return redis.call('set', 'k', {})", '0'],
  ['return redis.call()', '0'],
  ["return redis.pcall('nosuchcommand')", '0'],
  ['return x', '0'],
  ['x = 1', '0'],
  ['KEYS = {}', '0'],
  ["error('boom')", '0'],
  ['error(42)', '0'],
  ["error({err = 'XCODE custom'})", '0'],
  ['\n\nerror("line three")', '0'],
  ['#!lua\nreturn nope.x', '0'],
  ["rawset(_G, 'x', 1)", '0'],
  ['setmetatable(_G, {})', '0'],
  ['local g = getmetatable(_G) g.__index = {}', '0'],
  ['redis = function() return 1 end', '0'],
  ['_G = {}', '0'],
  ['redis.call = function() return 1 end', '0'],
  ['string.foo = 1', '0'],
  ["getmetatable('').__index = nil", '0'],
  ['function foo() end', '0'],
  ["KEYS[1] = 'changed' return KEYS[1]", '1', 'orig'],
  ["table.insert(ARGV, 'x') return ARGV", '0', 'a'],
  ['print(1)', '0'],
  ['return loadfile', '0'],
  ['return dofile', '0'],
  ['return os', '0'],
  ['return io', '0'],
  ['return require', '0'],
  ['return debug', '0'],
  ['return loadstring(string.dump(function() return 1 end))()', '0'],
  ['return loadstring("return 1 + 1")()', '0'],
  ["return {unpack({1, 2, 3})}", '0'],
  ['return table.getn({1, 2, 3})', '0'],
  ['return math.mod(7, 3)', '0'],
  ['return math.pow(2, 10)', '0'],
  ['return tostring(10 / 2)', '0'],
  ['return tostring(3.0)', '0'],
  ['return tostring(0.1)', '0'],
  ['return tostring(1e15) .. " " .. tostring(123456789012345) .. " " .. tostring(2^53)', '0'],
  ['return tostring(1/0) .. " " .. tostring(-1/0)', '0'],
  ["return string.format('%.17g', 0.1)", '0'],
  ["return redis.call('set', KEYS[1], 0.1)", '1', 'c21:f'],
  ["redis.call('set', KEYS[1], 0.1) return redis.call('get', KEYS[1])", '1', 'c22:f'],
  ["redis.call('set', KEYS[1], 1e20) return redis.call('get', KEYS[1])", '1', 'c23:f'],
  ["redis.call('set', KEYS[1], 3) return redis.call('get', KEYS[1])", '1', 'c24:f'],
  ["return 3 * 0x100000000 + 5 % 0x100000000", '0'],
  ["local prio, cnt = 7, 123456789 return prio * 0x100000000 + cnt % 0x100000000", '0'],
  ["return tonumber('1700000000000') * 0x1000", '0'],
  ['return redis.sha1hex("")', '0'],
  ['return redis.sha1hex("abc")', '0'],
  ['return redis.sha1hex()', '0'],
  ['return {redis.REDIS_VERSION, redis.REDIS_VERSION_NUM}', '0'],
  ['return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING}', '0'],
  ['return {redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL}', '0'],
  ['redis.set_repl(redis.REPL_ALL) return 1', '0'],
  ['redis.set_repl(42)', '0'],
  ['redis.set_repl()', '0'],
  ['return redis.replicate_commands()', '0'],
  ['redis.log(redis.LOG_WARNING)', '0'],
  ["redis.log('x', 'y')", '0'],
  ["redis.log(42, 'y')", '0'],
  ["redis.log(redis.LOG_DEBUG, 'fine') return 1", '0'],
  ['redis.setresp(4)', '0'],
  ['redis.setresp()', '0'],
  ['return coroutine.resume(coroutine.create(function() return 1 end))', '0'],
  ["return string.rep('x', 3)", '0'],
  ['return #string.rep("x", 1000000)', '0'],
  ["return redis.call('select', 1)", '0'],
  ["redis.call('select', 2) redis.call('set', KEYS[1], 'db2') return redis.call('get', KEYS[1])", '1', 'c25:k'],
  ["return redis.call('ping')", '0'],
  ["return redis.call('ping', 'x')", '0'],
  ["return redis.call('echo', 'x\\0y')", '0'],
  ['return redis.call("type", "c26:none")', '0'],
  ["return redis.call('exists', 'c27:a', 'c27:b')", '0'],
  ['return "\\0\\1\\255"', '0'],
  ["redis.setresp(2) redis.call('hset', KEYS[1], 'f', 'v', 'g', '') redis.call('rpush', KEYS[2], 'a', 'b', 'c', 'd', 'e') local t = redis.call('hmget', KEYS[1], 'f', 'missing', 'g') local e = redis.call('lrange', KEYS[2] .. 'x', 0, -1) local l = redis.call('lrange', KEYS[2], 0, -1) local z = redis.call('zrange', KEYS[1] .. 'z', 0, -1) local w = redis.call('hmget', KEYS[1], 'f', 'x', 'g', 'y', 'f') return {type(w[2]), tostring(w[4]), w[5], w[1], type(w[3]), type(t[1]), t[1], type(t[2]), tostring(t[2]), type(t[3]), #e, #l, l[1], l[5], #z, redis.call('hmget', KEYS[1], 'g', 'f')}", '2', 'c42:h', 'c42:l'],
  ["redis.setresp(3) redis.call('hset', KEYS[1], 'f', 'v', 'g', '') redis.call('rpush', KEYS[2], 'a', 'b', 'c', 'd', 'e') local t = redis.call('hmget', KEYS[1], 'f', 'missing', 'g') local e = redis.call('lrange', KEYS[2] .. 'x', 0, -1) local l = redis.call('lrange', KEYS[2], 0, -1) local z = redis.call('zrange', KEYS[1] .. 'z', 0, -1) local w = redis.call('hmget', KEYS[1], 'f', 'x', 'g', 'y', 'f') return {type(w[2]), tostring(w[4]), w[5], w[1], type(w[3]), type(t[1]), t[1], type(t[2]), tostring(t[2]), type(t[3]), #e, #l, l[1], l[5], #z, redis.call('hmget', KEYS[1], 'g', 'f')}", '2', 'c43:h', 'c43:l'],
  ["redis.call('hset', KEYS[1], 'f', 'v', 'g', 'w') local t = redis.call('hgetall', KEYS[1]) return {#t, t[1], t[2], t[3], t[4]}", '1', 'c50:h'],
  ["redis.call('sadd', KEYS[1], 'm') local t = redis.call('smembers', KEYS[1]) local e = redis.call('hgetall', KEYS[1] .. 'x') return {#t, t[1], #e}", '1', 'c51:s'],
  // redis.call's scalar replies (held as values, not parsed from RESP: src/scripting/script-reply.ts) as Lua sees them, per RESP.
  ["local function d(v) if type(v) == 'table' then return 'T:' .. tostring(v.ok) .. ':' .. tostring(v.err) .. ':' .. tostring(v.double) elseif type(v) == 'string' then return 'S:' .. v else return type(v) .. ':' .. tostring(v) end end redis.setresp(2) return {d(redis.call('set', KEYS[1], 'a\\0b')), d(redis.call('get', KEYS[1])), d(redis.call('get', KEYS[1] .. ':missing')), d(redis.call('incr', KEYS[2])), d(redis.call('incrby', KEYS[2], '9007199254740993')), d(redis.call('type', KEYS[1])), d(redis.call('ping')), d(redis.call('ping', 'x')), d(redis.call('hget', KEYS[3], 'f')), d(redis.call('zadd', KEYS[4], 1.5, 'm')), d(redis.call('zscore', KEYS[4], 'm')), d(redis.call('zincrby', KEYS[4], 1, 'm')), d(redis.call('lpop', KEYS[5])), d(redis.call('object', 'encoding', KEYS[1])), d(redis.pcall('incr', KEYS[1])), d(redis.call('xadd', KEYS[6], '1-1', 'f', 'v')), d(redis.call('hset', KEYS[3], 'f', 'v')), d(redis.call('hget', KEYS[3], 'f')), d(redis.call('del', KEYS[6]))}", '6', 'c32:s', 'c32:n', 'c32:h', 'c32:z', 'c32:l', 'c32:x'],
  ["local function d(v) if type(v) == 'table' then return 'T:' .. tostring(v.ok) .. ':' .. tostring(v.err) .. ':' .. tostring(v.double) elseif type(v) == 'string' then return 'S:' .. v else return type(v) .. ':' .. tostring(v) end end redis.setresp(3) return {d(redis.call('set', KEYS[1], 'a\\0b')), d(redis.call('get', KEYS[1])), d(redis.call('get', KEYS[1] .. ':missing')), d(redis.call('incr', KEYS[2])), d(redis.call('incrby', KEYS[2], '9007199254740993')), d(redis.call('type', KEYS[1])), d(redis.call('ping')), d(redis.call('ping', 'x')), d(redis.call('hget', KEYS[3], 'f')), d(redis.call('zadd', KEYS[4], 1.5, 'm')), d(redis.call('zscore', KEYS[4], 'm')), d(redis.call('zincrby', KEYS[4], 1, 'm')), d(redis.call('lpop', KEYS[5])), d(redis.call('object', 'encoding', KEYS[1])), d(redis.pcall('incr', KEYS[1])), d(redis.call('xadd', KEYS[6], '1-1', 'f', 'v')), d(redis.call('hset', KEYS[3], 'f', 'v')), d(redis.call('hget', KEYS[3], 'f')), d(redis.call('del', KEYS[6]))}", '6', 'c33:s', 'c33:n', 'c33:h', 'c33:z', 'c33:l', 'c33:x'],
  // pairs() over tables filled key by key walks them as Redis's Lua 5.1 does (vm/table-order.ts): a script's own table, with deletions, and cjson.decode's.
  ["local t = {} for i = 1, 100 do t['k' .. i] = i end local o = {} for k in pairs(t) do o[#o + 1] = k end return o", '0'],
  ["local t = {} for i = 1, 50 do t['k' .. i] = i end for i = 1, 50, 3 do t['k' .. i] = nil end for i = 51, 70 do t['k' .. i] = i end local o = {} for k, v in pairs(t) do o[#o + 1] = k .. '=' .. v end return o", '0'],
  ["local t = cjson.decode('{\"a\":1,\"bb\":2,\"ccc\":3,\"d\":4,\"e\":5,\"f\":6,\"g\":7,\"h\":8,\"i\":9,\"j\":10,\"k\":11}') local o = {} for k in pairs(t) do o[#o + 1] = k end return {cjson.encode(t), o}", '0'],
  // Stream IDs come back to Lua as digits written into its heap (lua-vm.ts pushIntPair), long and short.
  ["local a = redis.call('xadd', KEYS[1], '0-1', 'f', 'v') local b = redis.call('xadd', KEYS[1], '10-0', 'f', 'v') local c = redis.call('xadd', KEYS[1], '1700000000000-9', 'f', 'v') local d = redis.call('xadd', KEYS[1], '9007199254740991-123', 'f', 'v') local e = redis.call('xadd', KEYS[1], '9007199254740991-*', 'f', 'v') return {a, b, c, d, e, #d, redis.call('xadd', KEYS[1], '9007199254740992-0', 'f', 'v')}", '1', 'c52:x'],
  // Numbers as redis.call arguments (%.17g, read in the one-call argument scan): -0, 2^53, past it, fractions, 3.0, -7.
  ["local out = {} for _, n in ipairs({-0.0 * 1, 2^53, 2^53 + 2, 2^63, 0.1, 3.0, -7, 1e15, 1e16, 123456789012345678, -2^53, 1/3}) do redis.call('set', KEYS[1], n) out[#out + 1] = redis.call('get', KEYS[1]) end return out", '1', 'c54:n'],
  // The same number passed again (redis-api.ts keeps the last one's text), as an integer, a float and 0, and a 16-digit score bound.
  ["local t = 1796672035679 redis.call('zadd', KEYS[1], t, 'a') redis.call('zadd', KEYS[1], t + 0.0, 'b') redis.call('zadd', KEYS[1], (t + 1) * 0x1000 - 1, 'c') redis.call('zadd', KEYS[1], 0.25, 'd') redis.call('zadd', KEYS[1], 0, 'e') redis.call('set', KEYS[1] .. 's', t) local x = redis.call('get', KEYS[1] .. 's') redis.call('set', KEYS[1] .. 's', 0) redis.call('append', KEYS[1] .. 's', 0) redis.call('append', KEYS[1] .. 's', t / 2) redis.call('append', KEYS[1] .. 's', t / 2) return {x, redis.call('get', KEYS[1] .. 's'), redis.call('zrangebyscore', KEYS[1], 0, (t + 1) * 0x1000 - 1, 'WITHSCORES'), redis.call('zrangebyscore', KEYS[1], '(7359168658145279', '9007199254740993')}", '1', 'c53:z'],
];

describe('EVAL replies, byte for byte against redis-server', () => {
  for (const proto of [2, 3] as const) {
    it(`RESP${proto}`, async () => {
      const mismatches: string[] = [];
      for (const [script, ...rest] of CORPUS) {
        const [ours, theirs] = await both(proto, ['EVAL', script, ...rest]);
        if (ours !== theirs) mismatches.push(`${JSON.stringify(script)}\n  ours:   ${JSON.stringify(ours)}\n  redis:  ${JSON.stringify(theirs)}`);
      }
      expect(mismatches.join('\n')).toBe('');
    });
  }
});

describe('EVAL replies of tables that hold themselves', () => {
  // Redis stops at its C stack's end; ours stops nesting at a fixed depth, so
  // the bytes differ: both end the nesting with this error, and the server
  // must not run out of JS stack on the way (one frame per level counts).
  it('end in "reached lua stack limit"', async () => {
    for (const script of ['local a = {}; local b = {a}; a[1] = b; return a', "local a = {'x'}; a[2] = a; return a"]) {
      const [ours, theirs] = await both(2, ['EVAL', script, '0']);
      expect(theirs).toContain('-ERR reached lua stack limit\r\n');
      expect(ours).toMatch(/^\*\d+\r\n/);
      expect(ours).toContain('-ERR reached lua stack limit\r\n');
    }
  });
});

describe('command table entries of the script commands', () => {
  const cases: string[][] = [
    ['COMMAND', 'INFO', 'eval', 'evalsha', 'eval_ro', 'evalsha_ro', 'fcall', 'fcall_ro'],
    ['COMMAND', 'GETKEYSANDFLAGS', 'eval', 'return 1', '2', 'k1', 'k2', 'a'],
    ['COMMAND', 'GETKEYSANDFLAGS', 'evalsha_ro', 'ffffffffffffffffffffffffffffffffffffffff', '1', 'k1'],
    ['COMMAND', 'GETKEYSANDFLAGS', 'fcall_ro', 'f', '1', 'k1', 'a'],
    ['COMMAND', 'GETKEYS', 'fcall', 'f', '0', 'a'],
  ];
  for (const proto of [2, 3] as const) {
    it(`key specs (keynum), flags and GETKEYS as Redis's, RESP${proto}`, async () => {
      for (const args of cases) {
        const [ours, theirs] = await both(proto, args);
        expect(ours, args.join(' ')).toBe(theirs);
      }
    });
  }
});

describe('EVAL argument and cache errors', () => {
  const cases: string[][] = [
    ['EVAL', 'return 1', 'x'],
    ['EVAL', 'return 1', '2', 'a'],
    ['EVAL', 'return 1', '-1'],
    ['EVAL', 'return 1', '99999999999999999999'],
    ['EVALSHA', 'abc', '0'],
    ['EVALSHA', 'ffffffffffffffffffffffffffffffffffffffff', '0'],
    ['EVALSHA', 'ffffffffffffffffffffffffffffffffffffffff', 'x'],
    ['EVAL', 'return (', '0'],
    ['SCRIPT', 'LOAD', 'return ('],
    ['EVAL', '#!lua', '0'],
    ['EVAL', '#!python\nreturn 1', '0'],
    ['EVAL', '#!lua flags=bogus\nreturn 1', '0'],
    ['EVAL', '#!lua foo=bar\nreturn 1', '0'],
    ['EVAL', '#!lua flags=no-writes\nreturn redis.call("set", "ro", "1")', '0'],
    ['EVAL', '#!lua flags=no-writes,allow-oom\nreturn redis.call("get", "ro")', '0'],
    ['EVAL', '#!lua\nreturn redis.call("set", "rw:shebang", "1")', '0'],
    ['EVAL_RO', 'return redis.call("set", "ro", "1")', '0'],
    ['EVAL_RO', 'return redis.call("get", "ro")', '0'],
    ['EVAL_RO', "return redis.call('publish', 'ch', 'm')", '0'],
    ['EVAL_RO', '#!lua\nreturn 1', '0'],
    ['EVAL_RO', '#!lua flags=no-writes\nreturn 1', '0'],
    ['SCRIPT', 'FLUSH', 'BOGUS'],
    ['SCRIPT', 'EXISTS'],
    ['SCRIPT', 'NOSUCH'],
    ['SCRIPT', 'KILL'],
    ['SCRIPT', 'HELP'],
    ['COMMAND', 'GETKEYS', 'EVAL', 'return 1', '2', 'key1', 'key2', 'arg'],
    ['COMMAND', 'GETKEYS', 'EVAL', 'return 1', '0'],
    ['COMMAND', 'GETKEYS', 'EVALSHA', 'ffffffffffffffffffffffffffffffffffffffff', '1', 'k'],
  ];
  for (const proto of [2, 3] as const) {
    it(`RESP${proto}`, async () => {
      const mismatches: string[] = [];
      for (const args of cases) {
        const [ours, theirs] = await both(proto, args);
        if (ours !== theirs) mismatches.push(`${JSON.stringify(args)}\n  ours:   ${JSON.stringify(ours)}\n  redis:  ${JSON.stringify(theirs)}`);
      }
      expect(mismatches.join('\n')).toBe('');
    });
  }
});

describe('SCRIPT LOAD / EXISTS / FLUSH and EVALSHA', () => {
  it('caches by sha1 of the whole body, case-insensitive, until SCRIPT FLUSH', async () => {
    const r = new Redis(srv.port);
    try {
      const body = `return 'cached ${Date.now()}'`;
      const sha = sha1(body);
      expect(await r.script('EXISTS', sha)).toEqual([0]);
      expect(await r.script('LOAD', body)).toBe(sha);
      expect(await r.script('EXISTS', sha, sha.toUpperCase(), 'nope')).toEqual([1, 1, 0]);
      expect(await r.evalsha(sha.toUpperCase(), 0)).toMatch(/^cached /);
      const info = await r.info('memory');
      expect(Number(/number_of_cached_scripts:(\d+)/.exec(info)![1])).toBeGreaterThan(0);
      expect(Number(/used_memory_lua:(\d+)/.exec(info)![1])).toBeGreaterThan(0);
      for (const mode of [[], ['ASYNC'], ['SYNC']]) {
        await r.script('LOAD', body);
        expect(await r.script('FLUSH', ...mode)).toBe('OK');
        expect(await r.script('EXISTS', sha)).toEqual([0]);
        await expect(r.evalsha(sha, 0)).rejects.toThrow('NOSCRIPT No matching script. Please use EVAL.');
      }
      expect(/number_of_cached_scripts:0/.test(await r.info('memory'))).toBe(true);
      // EVAL caches too (found again by its body): after a FLUSH the same
      // body is compiled again in the new state and cached under its sha.
      expect(await r.eval(body, 0)).toMatch(/^cached /);
      expect(await r.script('EXISTS', sha)).toEqual([1]);
      await r.script('FLUSH');
      expect(await r.script('EXISTS', sha)).toEqual([0]);
      expect(await r.eval(body, 0)).toMatch(/^cached /);
      expect(await r.script('EXISTS', sha)).toEqual([1]);
      await r.script('FLUSH');
      // EVAL still works on the new state.
      expect(await r.eval('return 7', 0)).toBe(7);
    } finally {
      r.disconnect();
    }
  });
});

describe('client libraries', () => {
  it('ioredis: eval and defineCommand (EVALSHA, falling back to EVAL on NOSCRIPT)', async () => {
    const r = new Redis(srv.port);
    try {
      r.defineCommand('incrCapped', {
        numberOfKeys: 1,
        lua: "local v = redis.call('incr', KEYS[1]) if v > tonumber(ARGV[1]) then redis.call('set', KEYS[1], ARGV[1]) return tonumber(ARGV[1]) end return v",
      });
      const rr = r as Redis & { incrCapped(key: string, cap: number): Promise<number> };
      await r.del('io:capped');
      expect(await rr.incrCapped('io:capped', 2)).toBe(1);
      expect(await rr.incrCapped('io:capped', 2)).toBe(2);
      expect(await rr.incrCapped('io:capped', 2)).toBe(2);
      await r.script('FLUSH');
      expect(await rr.incrCapped('io:capped', 5)).toBe(3);
      expect(await r.eval("return {KEYS[1], ARGV[1], 1.5, true, false}", 1, 'k', 'a')).toEqual(['k', 'a', 1, 1, null]);
      await expect(r.eval("return redis.call('incr', KEYS[1])", 1, 'io:capped:str')).resolves.toBe(1);
      await r.set('io:str', 'x');
      await expect(r.eval("return redis.call('incr', KEYS[1])", 1, 'io:str')).rejects.toThrow(
        /^ERR value is not an integer or out of range script: [0-9a-f]{40}, on @user_script:1\.$/,
      );
    } finally {
      r.disconnect();
    }
  });

  it('node-redis: defineScript, scriptLoad and evalSha', async () => {
    const client = createClient({
      socket: { port: srv.port },
      scripts: {
        getSet: defineScript({
          NUMBER_OF_KEYS: 1,
          SCRIPT: "local old = redis.call('get', KEYS[1]) redis.call('set', KEYS[1], ARGV[1]) return old",
          parseCommand(parser: { pushKey(k: string): void; push(a: string): void }, key: string, value: string) {
            parser.pushKey(key);
            parser.push(value);
          },
          transformReply: undefined as unknown as () => string | null,
        } as never),
      },
    } as never);
    await client.connect();
    try {
      const c = client as unknown as {
        getSet(k: string, v: string): Promise<string | null>;
        scriptLoad(s: string): Promise<string>;
        evalSha(sha: string, o: { keys: string[]; arguments: string[] }): Promise<unknown>;
        del(k: string): Promise<number>;
        scriptFlush(): Promise<string>;
      };
      await c.del('nr:k');
      expect(await c.getSet('nr:k', 'one')).toBe(null);
      expect(await c.getSet('nr:k', 'two')).toBe('one');
      await c.scriptFlush();
      expect(await c.getSet('nr:k', 'three')).toBe('two');
      const sha = await c.scriptLoad('return {KEYS[1], ARGV[1], #ARGV}');
      expect(await c.evalSha(sha, { keys: ['a'], arguments: ['b', 'c'] })).toEqual(['a', 'b', 2]);
    } finally {
      await client.quit();
    }
  });
});

describe('values cross the boundary unchanged', () => {
  it('every byte 0-255, both ways, through KEYS/ARGV, redis.call and the reply', async () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const r = new Redis(srv.port);
    try {
      const out = (await r.evalBuffer(
        "redis.call('set', KEYS[1], ARGV[1]) local v = redis.call('get', KEYS[1]) assert(#v == 256 and v == ARGV[1]) return {v, KEYS[1]}",
        1,
        Buffer.concat([Buffer.from('bin:'), all]),
        all,
      )) as Buffer[];
      expect(out[0]!.equals(all)).toBe(true);
      expect(out[1]!.equals(Buffer.concat([Buffer.from('bin:'), all]))).toBe(true);
      expect((await r.getBuffer(Buffer.concat([Buffer.from('bin:'), all])))!.equals(all)).toBe(true);
      const made = (await r.evalBuffer('local t = {} for i = 0, 255 do t[#t + 1] = string.char(i) end return table.concat(t)', 0)) as Buffer;
      expect(made.equals(all)).toBe(true);
    } finally {
      r.disconnect();
    }
  });
});

describe('KEYS and ARGV', () => {
  it("are fresh in every run: what one run does to them is not seen by the next (as redis-server)", async () => {
    // Each change is made by one run and looked for by the next one with
    // the same numbers of keys and arguments (the server may reuse the
    // tables of a length from run to run, never their contents).
    const look = 'return cjson.encode({#KEYS, #ARGV, KEYS[1] or false, KEYS[2] or false, ARGV[3] or false, tostring(KEYS.x), tostring(ARGV.y), tostring(getmetatable(KEYS)), tostring(rawequal(KEYS, ARGV))})';
    const changes = [
      "KEYS.x = 1 ARGV.y = 2 return 1",
      "KEYS[2] = 'two' ARGV[3] = 'three' return 1",
      "table.insert(KEYS, 'z') table.insert(ARGV, 'z') return 1",
      "KEYS[1] = nil ARGV[1] = nil return #KEYS",
      "setmetatable(KEYS, {__index = function() return 'meta' end}) return 1",
      "for i = 1, 40 do KEYS[i] = i end for i = 1, 40 do KEYS[i] = nil end KEYS[1] = 'k' return 1",
      "table.remove(KEYS) table.remove(ARGV) return 1",
      "KEYS[1] = 'other' ARGV[2] = 'other' return 1",
    ];
    for (const change of changes) {
      for (const shape of [['1', 'k1', 'a1', 'a2'], ['0', 'a1', 'a2'], ['2', 'k1', 'k2', 'a1', 'a2', 'a3', 'a4', 'a5']]) {
        const [mine, theirs] = await both(2, ['EVAL', change, ...shape]);
        expect(mine).toBe(theirs);
        const [after, redisAfter] = await both(2, ['EVAL', look, ...shape]);
        expect(after, `${change} with ${shape.join(' ')}`).toBe(redisAfter);
      }
    }
  });
});

describe('table order', () => {
  it('does not depend on when the Lua state was made: two servers walk the same table the same way', async () => {
    // Lua seeds its string hashes from the clock when a state is created
    // (the first EVAL); the order pairs() and the encoders walk a table
    // follows from the seed. Redis's order is the same on every run.
    const script = "local t = {} for i = 1, 12 do t['key' .. i] = i end return cjson.encode(t) .. cmsgpack.pack(t)";
    const first = await startServer();
    let second: TestServer | null = null;
    try {
      const a = await rawReply(first.port, 2, ['EVAL', script, '0']);
      // The second state is made in a later second of the clock.
      const t0 = (await rawReply(first.port, 2, ['TIME'])).split('\r\n')[2];
      await until(async () => (await rawReply(first.port, 2, ['TIME'])).split('\r\n')[2] !== t0, 'the next second', 3000);
      second = await startServer();
      const b = await rawReply(second.port, 2, ['EVAL', script, '0']);
      expect(b).toBe(a);
    } finally {
      await first.stop();
      await second?.stop();
    }
  }, 60_000);
});

describe('scripts and the rest of the server', () => {
  it('a script is atomic inside MULTI/EXEC and touches WATCHed keys', async () => {
    const a = new Redis(srv.port);
    const b = new Redis(srv.port);
    try {
      await a.set('tx:k', '1');
      await a.watch('tx:k');
      await b.eval("return redis.call('incr', KEYS[1])", 1, 'tx:k');
      const res = await a.multi().eval("return redis.call('incr', KEYS[1])", 1, 'tx:k').exec();
      expect(res).toBe(null);
      const ok = await a.multi().eval("return redis.call('incr', KEYS[1])", 1, 'tx:k').get('tx:k').exec();
      expect(ok).toEqual([
        [null, 3],
        [null, '3'],
      ]);
      // Errors inside EXEC are per command.
      const mixed = await a.multi().eval('return redis.call("nosuch")', 0).eval('return 5', 0).exec();
      expect(String(mixed![0]![0])).toMatch(/Unknown Redis command called from script/);
      expect(mixed![1]).toEqual([null, 5]);
    } finally {
      a.disconnect();
      b.disconnect();
    }
  });

  it("MONITOR shows EVAL first, then the script's commands from the lua client", async () => {
    const mon = await RawClient.connect(srv.port);
    const r = new Redis(srv.port);
    try {
      mon.write(resp('MONITOR'));
      expect(await mon.readUntil('\r\n')).toBe('+OK\r\n');
      await r.eval("return redis.call('set', 'mon:k', 'bar')", 0);
      let evalLine = await mon.readUntil('\r\n');
      // The client's own handshake (HELLO, CLIENT SETINFO) may come first.
      while (!evalLine.includes('"eval"')) evalLine = await mon.readUntil('\r\n');
      expect(evalLine).toMatch(/^\+\d+\.\d{6} \[0 127\.0\.0\.1:\d+\] "eval" "return redis\.call\('set', 'mon:k', 'bar'\)" "0"\r\n$/);
      expect(await mon.readUntil('\r\n')).toMatch(/^\+\d+\.\d{6} \[0 lua\] "set" "mon:k" "bar"\r\n$/);
    } finally {
      mon.close();
      r.disconnect();
    }
  });

  it('commands called by scripts count in commandstats', async () => {
    const r = new Redis(srv.port);
    try {
      await r.config('RESETSTAT');
      await r.eval("redis.call('hset', 'cs:h', 'f', 'v') redis.call('hset', 'cs:h', 'g', 'v') return 1", 0);
      const stats = await r.info('commandstats');
      expect(stats).toMatch(/cmdstat_hset:calls=2,/);
      expect(stats).toMatch(/cmdstat_eval:calls=1,/);
    } finally {
      r.disconnect();
    }
  });

  it('blocking commands do not block inside a script', async () => {
    const r = new Redis(srv.port);
    try {
      await r.del('blk:l');
      // BLPOP itself is refused (noscript); BLMOVE-like commands that may block are non-blocking: LPOP answers nil.
      expect(await r.eval("return redis.call('lpop', 'blk:l')", 0)).toBe(null);
      await expect(r.eval("return redis.call('brpoplpush', 'blk:l', 'blk:m', 0)", 0)).rejects.toThrow(/This Redis command is not allowed from script/);
    } finally {
      r.disconnect();
    }
  });

  it('keys expire by the time the script started', async () => {
    const r = new Redis(srv.port);
    try {
      await r.set('exp:k', 'v', 'PX', 50);
      const res = await r.eval(
        "local t0 = redis.call('time') local start = tonumber(t0[1]) * 1000 + math.floor(tonumber(t0[2]) / 1000) " +
          "while true do local t = redis.call('time') if tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - start > 200 then break end end " +
          "return redis.call('exists', KEYS[1])",
        1,
        'exp:k',
      );
      expect(res).toBe(1);
      expect(await r.exists('exp:k')).toBe(0);
    } finally {
      r.disconnect();
    }
  });

  it('math.random is deterministic: the same sequence as redis-server after the same seed', async () => {
    const s = 'math.randomseed(42) return {math.random(100), math.random(100), math.random(1, 6), tostring(math.random())}';
    const [ours, theirs] = await both(2, ['EVAL', s, '0']);
    expect(ours).toBe(theirs);
  });

  it('a script that exceeds the Lua memory limit fails with an error and the server goes on', async () => {
    const small = await startServer(['--lua_memory_limit', '16mb']);
    const r = new Redis(small.port);
    try {
      await expect(r.eval("local t = {} for i = 1, 1e8 do t[i] = string.rep('x', 100) .. i end", 0)).rejects.toThrow(/not enough memory/);
      expect(await r.eval('return 1', 0)).toBe(1);
      // Inside cmsgpack.unpack's one-call builder (vm/wasm-build.ts): caught by pcall, and the builder is free again after.
      const unpackMany = "local m = '\\220\\001\\244' .. string.rep('\\219\\000\\000\\039\\016' .. string.rep('x', 10000), 500) local keep = {} local ok, e = pcall(function() for i = 1, 10 do keep[i] = cmsgpack.unpack(m) end end) local n = #keep keep = nil m = nil collectgarbage() return {ok and 1 or 0, tostring(e), n}";
      const [ok, err, kept] = (await r.eval(unpackMany, 0)) as [number, string, number];
      expect([ok, err]).toEqual([0, 'not enough memory']);
      expect(kept).toBeLessThan(10);
      expect(await r.eval("return #cmsgpack.unpack('\\220\\003\\232' .. string.rep('\\219\\000\\000\\000\\003abc', 1000))", 0)).toBe(1000);
      expect(await r.ping()).toBe('PONG');
    } finally {
      r.disconnect();
      await small.stop();
    }
  });
});
