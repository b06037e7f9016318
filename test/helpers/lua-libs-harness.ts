/**
 * Runs a corpus of Lua expressions against the bundled libraries twice: as
 * one EVAL script on the real redis-server, and through ours (the same
 * script in our VM, chunk "@user_script" as EVAL names it, or through
 * Damselfly's EVAL). Each case is called under pcall and its results are
 * dumped by Lua code that prints the same on 5.1 and 5.4 (numbers with
 * %.17g, strings with non-printables escaped, table pairs sorted), so the
 * two lists of strings can be compared case by case; error messages
 * (with their user_script:<line> prefix) are part of the dump.
 */
import net from 'node:net';
import { afterAll, beforeAll } from 'vitest';
import { startRedis, type Oracle } from './redis-oracle.js';
import { startServer, type TestServer } from './server.js';
import { LuaStatus, LuaType, LuaVm } from '../../src/scripting/vm/lua-vm.js';
import { installLibraries } from '../../src/scripting/libs/index.js';

const PRELUDE = `local NZ = -(tonumber('0.0'))
local function esc(s)
  return (string.gsub(s, '[^%w%p ]', function(c) return string.format('\\\\x%02x', string.byte(c)) end))
end
local function hex(s)
  return (string.gsub(s, '.', function(c) return string.format('%02x', string.byte(c)) end))
end
local dumpv
dumpv = function(v, d)
  local t = type(v)
  if t == 'string' then return 's"' .. esc(v) .. '"'
  elseif t == 'number' then return 'n' .. string.format('%.17g', v)
  elseif t == 'table' then
    if d > 40 then return '{...}' end
    local parts = {}
    for k, x in pairs(v) do parts[#parts + 1] = dumpv(k, d + 1) .. '=' .. dumpv(x, d + 1) end
    table.sort(parts)
    return '{' .. table.concat(parts, ',') .. '}'
  elseif t == 'userdata' then
    if v == cjson.null then return 'NULL' end
    return 'userdata'
  elseif t == 'nil' or t == 'boolean' then return tostring(v)
  else return t end
end
local function dumpall(...)
  local n = select('#', ...)
  local parts = {}
  for i = 1, n do parts[i] = dumpv((select(i, ...)), 0) end
  return table.concat(parts, ' ')
end
local R = {}
local function run(f) R[#R + 1] = dumpall(pcall(f)) end
`;

/** One case: a Lua expression list (the body of `return ...`), or a statement block with `stmt: true`. */
export type Case = string | { code: string; stmt: true };

/** The Lua script for a batch of cases, one case per line (so error line numbers agree). */
export function buildScript(cases: Case[]): string {
  const lines = cases.map((c) => {
    if (typeof c === 'string') {
      if (c.includes('\n')) throw new Error('a case must fit on one line: ' + c);
      return `run(function() return ${c} end)`;
    }
    if (c.code.includes('\n')) throw new Error('a case must fit on one line: ' + c.code);
    return `run(function() ${c.code} end)`;
  });
  return PRELUDE + lines.join('\n') + '\nreturn R\n';
}

export const caseText = (c: Case): string => (typeof c === 'string' ? c : c.code);

let vmReady: Promise<void> | undefined;

/** The script run in a fresh LuaVm with our libraries (before EVAL exists, and as a second check after). */
export async function runInVm(script: string): Promise<string[]> {
  vmReady ??= LuaVm.init();
  await vmReady;
  const vm = LuaVm.create({ memoryLimit: 512 << 20 });
  try {
    installLibraries(vm);
    const L = vm.L;
    const err = vm.load(L, script, '@user_script');
    if (err) throw new Error(err);
    const st = vm.pcall(L, 0, 1);
    if (st !== LuaStatus.OK) throw new Error('script failed: ' + vm.coerceLatin1(L, -1));
    const out: string[] = [];
    for (let i = 1; ; i++) {
      if (vm.rawGetI(L, -1, i) === LuaType.NIL) break;
      out.push(vm.toLatin1(L, -1)!);
      vm.pop(L);
    }
    return out;
  } finally {
    vm.close();
  }
}

const resp = (...args: string[]): string =>
  `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a, 'latin1')}\r\n${a}\r\n`).join('');

/** EVAL script 0 on a server; the reply must be an array of bulk strings (the dumps). */
export async function runOnServer(port: number, script: string): Promise<string[]> {
  const c = net.connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  c.on('data', (d) => chunks.push(d));
  await new Promise((r, j) => {
    c.once('connect', r);
    c.once('error', j);
  });
  c.write(resp('EVAL', script, '0'));
  const end = Date.now() + 60000;
  for (;;) {
    const got = Buffer.concat(chunks).toString('latin1');
    const parsed = parseArray(got);
    if (parsed) {
      c.destroy();
      return parsed;
    }
    if (got.startsWith('-')) {
      const e = got.slice(1, got.indexOf('\r\n'));
      if (e) {
        c.destroy();
        throw new Error(e);
      }
    }
    if (Date.now() > end) {
      c.destroy();
      throw new Error('timeout waiting for EVAL reply: ' + got.slice(0, 200));
    }
    await new Promise((r) => c.once('data', r));
  }
}

/** A complete RESP array of bulk strings, or null while incomplete. */
function parseArray(s: string): string[] | null {
  if (!s.startsWith('*')) return null;
  let i = s.indexOf('\r\n');
  if (i < 0) return null;
  const n = Number(s.slice(1, i));
  i += 2;
  const out: string[] = [];
  for (let k = 0; k < n; k++) {
    const e = s.indexOf('\r\n', i);
    if (e < 0) return null;
    if (s[i] !== '$') throw new Error('unexpected reply element: ' + s.slice(i, i + 50));
    const len = Number(s.slice(i + 1, e));
    if (s.length < e + 2 + len + 2) return null;
    out.push(s.slice(e + 2, e + 2 + len));
    i = e + 2 + len + 2;
  }
  return out;
}

/** Case-by-case differences between the oracle's dumps and ours, readable in a failure message. */
export function diffResults(cases: Case[], want: string[], got: string[]): string[] {
  const diffs: string[] = [];
  if (want.length !== cases.length) diffs.push(`oracle returned ${want.length} results for ${cases.length} cases`);
  if (got.length !== want.length) diffs.push(`we returned ${got.length} results, the oracle ${want.length}`);
  for (let i = 0; i < Math.min(want.length, got.length); i++) {
    if (want[i] !== got[i]) diffs.push(`line ${i + 1 + PRELUDE_LINES}: ${caseText(cases[i]!)}\n  redis: ${want[i]}\n  ours:  ${got[i]}`);
  }
  return diffs;
}

const PRELUDE_LINES = PRELUDE.split('\n').length - 1;

/** A small deterministic PRNG (mulberry32) so generated corpora are the same on every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A Lua string literal for any bytes (decimal escapes, valid in 5.1 and 5.4). */
export function luaStr(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c) out += s[i];
    else out += '\\' + String(c).padStart(3, '0');
  }
  return out + '"';
}

/** A Lua number literal for a double that both 5.1 and 5.4 read as that double (floats stay floats in 5.4). */
export function luaNum(n: number): string {
  if (Number.isNaN(n)) return '(0/0)';
  if (n === Infinity) return '(1/0)';
  if (n === -Infinity) return '(-1/0)';
  if (Object.is(n, -0)) return 'NZ'; // a literal -0.0 may be folded into the constant 0 by 5.1
  if (Number.isInteger(n) && Math.abs(n) < 2 ** 53) return n < 0 ? `(${n})` : String(n);
  const s = n.toExponential(17);
  return n < 0 ? `(${s})` : s;
}

/**
 * The two servers a corpus file compares: a redis-server oracle and a
 * Damselfly, started before the file's tests and stopped after them (the
 * hooks are registered here; read the fields inside tests).
 */
export function corpusServers(): { redis: Oracle; damselfly: TestServer } {
  const s = {} as { redis: Oracle; damselfly: TestServer };
  beforeAll(async () => {
    [s.redis, s.damselfly] = await Promise.all([startRedis(), startServer()]);
  }, 60_000);
  afterAll(async () => {
    s.redis?.stop();
    await s.damselfly?.stop();
  });
  return s;
}

/** The corpus on the oracle and through Damselfly's EVAL only (what needs EVAL's whole environment): the differences. */
export async function compareOnServers(cases: Case[], redisPort: number, damselflyPort: number): Promise<string[]> {
  const script = buildScript(cases);
  const want = await runOnServer(redisPort, script);
  return diffResults(cases, want, await runOnServer(damselflyPort, script));
}

/**
 * The corpus on the oracle, then in our VM directly and through
 * Damselfly's EVAL; the differences of each against the oracle.
 */
export async function compareEverywhere(cases: Case[], redisPort: number, damselflyPort: number): Promise<{ vm: string[]; eval: string[] }> {
  const script = buildScript(cases);
  const want = await runOnServer(redisPort, script);
  return {
    vm: diffResults(cases, want, await runInVm(script)),
    eval: diffResults(cases, want, await runOnServer(damselflyPort, script)),
  };
}
