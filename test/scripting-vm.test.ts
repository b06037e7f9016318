/**
 * The LuaVm layer on its own (src/scripting/vm/): what library code and
 * EVAL rely on from it — bytes cross unchanged both ways, 64-bit integers,
 * JS C functions and their errors, table building and walking, a memory
 * limit that fails a script instead of the process, and time slicing
 * through a count hook that yields.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  LuaHookMask,
  LuaStatus,
  LuaType,
  LuaVm,
  type LuaState,
} from '../src/scripting/vm/lua-vm.js';

beforeAll(async () => {
  await LuaVm.init();
});

function run(vm: LuaVm, code: string, nres = 1): { status: number; top: number } {
  const L = vm.L;
  const err = vm.load(L, code, '@test');
  if (err) throw new Error(err);
  const status = vm.pcall(L, 0, nres);
  return { status, top: vm.getTop(L) };
}

const allBytes = String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i));

function echo(vm: LuaVm, L: LuaState): number {
  vm.pushValue(L, 1);
  return 1;
}
function bytesOfArg(vm: LuaVm, L: LuaState): number {
  const b = vm.toBuffer(L, 1);
  vm.pushInteger(L, b ? b.length : -1);
  vm.pushString(L, b ? b.toString('hex') : '');
  return 2;
}
function failWithPosition(vm: LuaVm, L: LuaState): number {
  return vm.raise(L, 'it failed');
}
function failWithTable(vm: LuaVm, L: LuaState): number {
  vm.newTable(L);
  vm.pushString(L, 'ERR custom');
  vm.setField(L, -2, 'err');
  return vm.raiseValue(L);
}
function needsString(vm: LuaVm, L: LuaState): number {
  if (vm.type(L, 1) !== LuaType.STRING) vm.argError(L, 1, 'string expected');
  return 0;
}
function buggy(): number {
  throw new TypeError('oops');
}
function sumArray(vm: LuaVm, L: LuaState): number {
  let total = 0n;
  for (let i = 1; ; i++) {
    if (vm.rawGetI(L, 1, i) === LuaType.NIL) {
      vm.pop(L);
      break;
    }
    total += vm.toInteger(L, -1) ?? 0n;
    vm.pop(L);
  }
  vm.pushInteger(L, total);
  return 1;
}
function makeMap(vm: LuaVm, L: LuaState): number {
  vm.newTable(L, 0, 2);
  vm.pushString(L, 'v\0x');
  vm.rawSetField(L, -2, 'k\0y');
  vm.pushInteger(L, 2n ** 62n);
  vm.rawSetField(L, -2, 'big');
  return 1;
}
function countKeys(vm: LuaVm, L: LuaState): number {
  const keys: string[] = [];
  vm.forEach(L, 1, () => keys.push(vm.coerceLatin1(L, -2) ?? '?'));
  vm.pushString(L, keys.sort().join(','));
  return 1;
}

describe('LuaVm', () => {
  it('compiles every hand-assembled one-call helper (one that fails to validate would fall back to per-step calls without a word)', () => {
    expect(LuaVm.helpers()).toEqual({ wasmAlloc: true, argScan: true, arrayFill: true, replyReader: true, valueBuild: true });
  });

  it('moves every byte value both ways, NUL included', () => {
    const vm = LuaVm.create({ memoryLimit: 64 << 20 });
    const L = vm.L;
    vm.registerLibrary('t', { echo, bytesOfArg });
    vm.pushString(L, allBytes);
    vm.setGlobal(L, 'S');
    expect(run(vm, 'return t.echo(S)').status).toBe(LuaStatus.OK);
    expect(vm.toLatin1(L, -1)).toBe(allBytes);
    expect(vm.toBuffer(L, -1)!.equals(Buffer.from(allBytes, 'latin1'))).toBe(true);
    vm.pop(L);
    expect(run(vm, 'return #S .. ":" .. S:byte(1) .. ":" .. S:byte(256)').status).toBe(LuaStatus.OK);
    expect(vm.toLatin1(L, -1)).toBe('256:0:255');
    vm.pop(L);
    expect(run(vm, 'local n, h = t.bytesOfArg(string.char(0, 200, 10, 0)) return n .. h').status).toBe(0);
    expect(vm.toLatin1(L, -1)).toBe('400c80a00');
    vm.close();
  });

  it('reads C function arguments as their bytes while short strings die and their addresses are reused (redis.call reuses JS strings by address)', () => {
    const vm = LuaVm.create({ memoryLimit: 64 << 20 });
    const L = vm.L;
    // Joins what readArgs read, '<->' for an argument that is not a string, and how many those were.
    const readArgs = (vm: LuaVm, L: LuaState): number => {
      const out = vm.readArgs(L);
      if (out.length !== vm.getTop(L)) throw new Error(`readArgs read ${out.length} arguments of ${vm.getTop(L)}`);
      vm.pushString(L, Array.from(out, (x) => x ?? '<->').join('|') + '#' + vm.argOthers);
      return 1;
    };
    vm.registerLibrary('t', { readArgs });
    vm.pushString(L, allBytes);
    vm.setGlobal(L, 'S');
    const code = `
      local bad, first = 0, nil
      for i = 1, 20000 do
        -- same lengths again and again (7 and 1..41 bytes, binary ones too), freed every 50 rounds
        local a = string.format('k%06d', i)
        local b = string.rep(string.char(65 + i % 26), 1 + i % 41)
        local c = S:sub(1 + i % 200, 1 + i % 200 + i % 13)
        local r = t.readArgs(a, b, i, c, 'HGET')
        if r ~= a .. '|' .. b .. '|<->|' .. c .. '|HGET#1' then bad = bad + 1; first = first or r end
        if i % 50 == 0 then collectgarbage() end
      end
      local many = {}
      for i = 1, 100 do many[i] = 'a' .. i end
      return bad .. ' ' .. tostring(first) .. ' ' .. t.readArgs(table.unpack(many)):sub(-11)`;
    expect(run(vm, code).status).toBe(LuaStatus.OK);
    expect(vm.toLatin1(L, -1)).toBe('0 nil |a99|a100#0');
    vm.close();
  });

  it('keeps 64-bit integers exact (BullMQ: x % 0x100000000)', () => {
    const vm = LuaVm.create({ memoryLimit: 64 << 20 });
    const L = vm.L;
    vm.pushInteger(L, 2n ** 20n + 7n);
    vm.setGlobal(L, 'X');
    run(vm, 'return X * 0x100000000 + 5 % 0x100000000');
    expect(vm.isInteger(L, -1)).toBe(true);
    expect(vm.toInteger(L, -1)).toBe((2n ** 20n + 7n) * 4294967296n + 5n);
    vm.pop(L);
    run(vm, 'return 10 / 4');
    expect(vm.isInteger(L, -1)).toBe(false);
    expect(vm.toNumber(L, -1)).toBe(2.5);
    expect(vm.toInteger(L, -1)).toBe(null);
    vm.close();
  });

  it('raises errors from JS functions: with position, as a table, and for JS bugs', () => {
    const vm = LuaVm.create({ memoryLimit: 64 << 20 });
    const L = vm.L;
    vm.registerLibrary('t', { failWithPosition, failWithTable, buggy, needsString });
    run(vm, 'local ok, e = pcall(function() t.needsString(1) end) return e');
    expect(vm.toLatin1(L, -1)).toBe("test:1: bad argument #1 to 'needsString' (string expected)");
    vm.pop(L);
    run(vm, 'local ok, e = pcall(function()\n  t.failWithPosition()\nend) return e');
    expect(vm.toLatin1(L, -1)).toBe('test:2: it failed');
    vm.pop(L);
    run(vm, 'local ok, e = pcall(t.failWithTable) return e.err');
    expect(vm.toLatin1(L, -1)).toBe('ERR custom');
    vm.pop(L);
    const r = run(vm, 't.buggy()');
    expect(r.status).toBe(LuaStatus.ERRRUN);
    expect(vm.toLatin1(L, -1)).toBe('internal error in buggy: oops');
    vm.pop(L);
    // The state is still usable after every kind of error.
    run(vm, 'return 1 + 1');
    expect(vm.toInteger(L, -1)).toBe(2n);
    vm.close();
  });

  it('builds and walks tables with binary keys', () => {
    const vm = LuaVm.create({ memoryLimit: 64 << 20 });
    const L = vm.L;
    vm.registerLibrary('t', { sumArray, makeMap, countKeys });
    // %d: `..` writes numbers as 5.1's doubles ("%.14g", integer-text.ts), string.format's %d the exact integer.
    run(vm, 'local m = t.makeMap() return m["k\\0y"] .. "|" .. string.format("%d", m.big) .. "|" .. t.sumArray({1, 2, 3, nil, 5}) .. "|" .. t.countKeys({a=1, [2]=true, c=3})');
    expect(vm.toLatin1(L, -1)).toBe(`v\0x|${2n ** 62n}|6|2,a,c`);
    vm.close();
  });

  it('reports where code runs, for error lines', () => {
    const vm = LuaVm.create({ memoryLimit: 64 << 20 });
    const L = vm.L;
    function whereAmI(v: LuaVm, l: LuaState): number {
      const w = v.where(l, 1)!;
      v.pushString(l, `${w.what} ${w.source} ${w.currentLine}`);
      return 1;
    }
    vm.registerLibrary('t', { whereAmI });
    run(vm, '\n\nreturn t.whereAmI()');
    expect(vm.toLatin1(L, -1)).toBe('main @test 3');
    vm.close();
  });

  it('fails a script that passes the memory limit and stays usable', () => {
    const vm = LuaVm.create({ memoryLimit: 16 << 20 });
    const L = vm.L;
    const r = run(vm, 'local t = {} for i = 1, 1e8 do t[i] = string.rep("x", 100) .. i end');
    expect(r.status).toBe(LuaStatus.ERRMEM);
    expect(vm.toLatin1(L, -1)).toBe('not enough memory');
    vm.pop(L);
    vm.gcCollect();
    expect(vm.used).toBeLessThan(1 << 20);
    run(vm, 'return "still " .. "alive"');
    expect(vm.toLatin1(L, -1)).toBe('still alive');
    vm.close();
  });

  it('counts what each state allocates and frees to the byte, as Lua counts it, with two states open', () => {
    const a = LuaVm.create({ memoryLimit: 64 << 20 });
    const b = LuaVm.create({ memoryLimit: 64 << 20 });
    // A C function finds its own state when more than one is open.
    const usedOf = (v: LuaVm, l: LuaState): number => {
      v.pushInteger(l, v.used);
      return 1;
    };
    a.registerLibrary('t', { usedOf });
    b.registerLibrary('t', { usedOf });
    const bBefore = b.used;
    // collectgarbage('count') is Lua's own total (KiB, exact as a double).
    run(a, 'T = {} for i = 1, 20000 do T[i] = "v" .. i end return collectgarbage("count") * 1024 - t.usedOf()');
    expect(a.toNumber(a.L, -1)).toBe(0);
    expect(a.used).toBeGreaterThan(bBefore + 500_000);
    expect(b.used).toBe(bBefore);
    run(a, 'T = nil collectgarbage("collect") return collectgarbage("count") * 1024 - t.usedOf()');
    expect(a.toNumber(a.L, -1)).toBe(0);
    expect(a.used).toBeLessThan(bBefore + 100_000);
    run(b, 'return collectgarbage("count") * 1024 - t.usedOf()');
    expect(b.toNumber(b.L, -1)).toBe(0);
    a.close();
    b.close();
  });

  it('hands out small blocks again after they are freed (per size class) without mixing up their contents, across states', () => {
    // Strings of every small size, tables grown and shrunk through the
    // class boundaries, closures with upvalues: made, checked, dropped and
    // collected over and over, in two states sharing the freed blocks.
    const code = `
      local ok = 0
      for round = 1, 30 do
        local kept = {}
        for n = 1, 300 do
          local s = string.rep(string.char(65 + n % 26), n) .. round
          local t = {}
          for i = 1, n % 40 do t[i] = s end
          for i = n % 40, 1, -1 do t[i] = nil end
          t.s = s
          local f = function() return s, n end
          kept[#kept + 1] = {f, t}
        end
        for n, pair in ipairs(kept) do
          local s, m = pair[1]()
          assert(m == n and #s == n + #tostring(round) and s == pair[2].s and s:sub(1, 1) == string.char(65 + n % 26))
          ok = ok + 1
        end
        collectgarbage()
      end
      return ok - collectgarbage("count") * 1024 + t.usedOf()`;
    const states = [LuaVm.create({ memoryLimit: 64 << 20 }), LuaVm.create({ memoryLimit: 64 << 20 })];
    const usedOf = (v: LuaVm, l: LuaState): number => {
      v.pushInteger(l, v.used);
      return 1;
    };
    for (const v of states) v.registerLibrary('t', { usedOf });
    for (let i = 0; i < 4; i++) {
      const v = states[i % 2]!;
      const r = run(v, code);
      expect(r.status).toBe(LuaStatus.OK);
      // Every check passed, and the byte count is still Lua's own.
      expect(v.toNumber(v.L, -1)).toBe(30 * 300);
      v.pop(v.L);
    }
    states[0]!.close();
    // The blocks the closed state freed serve the other one.
    const v = states[1]!;
    expect(run(v, code).status).toBe(LuaStatus.OK);
    expect(v.toNumber(v.L, -1)).toBe(30 * 300);
    v.close();
  });

  it('time-slices a long script with a count hook that yields, pcall frames included', async () => {
    const vm = LuaVm.create({ memoryLimit: 64 << 20 });
    const L = vm.L;
    let slices = 0;
    const hook = (v: LuaVm, l: LuaState): void => {
      if (v.isYieldable(l)) v.yieldFromHook(l);
    };
    const co = vm.newThread(L);
    const ref = vm.ref(L);
    expect(vm.load(co, 'local s = 0 for i = 1, 3e6 do s = s + i % 7 end\nlocal ok, r = pcall(function() local x = 0 for i = 1, 3e6 do x = x + 1 end return x end)\nreturn s + r', '@slice')).toBe(null);
    vm.setHook(co, hook, LuaHookMask.COUNT, 100000);
    let res = vm.resume(co, L, 0);
    while (res.status === LuaStatus.YIELD) {
      slices++;
      await new Promise((r) => setImmediate(r));
      res = vm.resume(co, L, 0);
    }
    expect(res.status).toBe(LuaStatus.OK);
    expect(res.nresults).toBe(1);
    let s = 0;
    for (let i = 1; i <= 3e6; i++) s += i % 7;
    expect(vm.toInteger(co, -1)).toBe(BigInt(s + 3e6));
    expect(slices).toBeGreaterThan(10);
    vm.unref(L, ref);
    vm.close();
  });

  it('protect() turns errors of host-side API calls into messages', () => {
    const vm = LuaVm.create({ memoryLimit: 4 << 20 });
    const L = vm.L;
    const big = 'x'.repeat(8 << 20);
    const msg = vm.protect(L, (l) => vm.pushString(l, big));
    expect(msg).toBe('not enough memory');
    expect(vm.protect(L, (l) => {
      vm.pushString(l, 'ok');
      vm.setGlobal(l, 'Y');
    })).toBe(null);
    run(vm, 'return Y');
    expect(vm.toLatin1(L, -1)).toBe('ok');
    vm.close();
  });
});

describe('formatG (C %.Ng)', () => {
  it('matches printf', async () => {
    const { formatG } = await import('../src/scripting/vm/number-format.js');
    const cases: [number, number, string][] = [
      [0.1, 17, '0.10000000000000001'],
      [3, 17, '3'],
      [1e20, 17, '1e+20'],
      [1 / 3, 14, '0.33333333333333'],
      [123456789012345, 14, '1.2345678901234e+14'],
      [2 ** 53, 14, '9.007199254741e+15'],
      [1e15, 14, '1e+15'],
      [0.0001, 14, '0.0001'],
      [0.00001, 14, '1e-05'],
      [-0, 14, '-0'],
      [Infinity, 14, 'inf'],
      [-Infinity, 17, '-inf'],
      [1700000000000, 14, '1700000000000'],
      [12345678901234567890, 14, '1.2345678901235e+19'],
      [99999999999999.99, 14, '1e+14'],
      [-2.5, 17, '-2.5'],
    ];
    for (const [n, p, want] of cases) expect(`${n} ${formatG(n, p)}`).toBe(`${n} ${want}`);
  });
});
