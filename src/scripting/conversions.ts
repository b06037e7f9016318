/**
 * Redis reply <-> Lua value, as Redis 7.0's script_lua.c converts them.
 *
 * A command run from a script writes RESP (2 or 3, per redis.setresp) into
 * the script client's Reply; pushRespAsLua parses those bytes straight onto
 * the Lua stack (Redis does the same: fake client, capture, parse).
 * writeLuaAsReply turns a script's return value into the caller's reply.
 *
 * The tables made here ({ok=...}, {err=...}, {double=...}, ...) are new and
 * have no metatable, so their fields are set with lua_setfield: one WASM
 * call where a raw set of an interned name took four.
 *
 * Integer discipline (Lua 5.4 has an integer subtype, Redis's 5.1 has only
 * doubles): RESP integers are pushed as Lua integers, so `id .. ""` prints
 * "5" as in Redis, not "5.0".
 */
import { ARRAY_SCAN_MAX, LuaType, type LuaState, type LuaVm } from './vm/lua-vm.js';
import type { Reply } from '../protocol/reply.js';

const CR = 13;

/** The CR ending the header line at pos (a scan in JS: headers are short, and Buffer.indexOf's argument checks and native call cost more). */
function lineEnd(b: Buffer, pos: number): number {
  const n = b.length;
  while (pos < n && b[pos] !== CR) pos++;
  return pos;
}

function parseIntAt(b: Buffer, from: number, to: number): number {
  let neg = false;
  let i = from;
  if (b[i] === 45) {
    neg = true;
    i++;
  }
  let n = 0;
  for (; i < to; i++) n = n * 10 + (b[i]! - 48);
  return neg ? -n : n;
}

/**
 * When the n elements at b[pos] are all bulk strings ($, null ones
 * included), records the start and length of each in `spans` (length -1:
 * null) and returns the position after them; else -1.
 */
function bulkSpans(b: Buffer, pos: number, n: number, spans: number[]): number {
  for (let i = 0; i < n; i++) {
    if (b[pos] !== 36 /* $ */) return -1;
    const e = lineEnd(b, pos + 1);
    const len = parseIntAt(b, pos + 1, e);
    if (len < 0) {
      spans[2 * i] = 0;
      spans[2 * i + 1] = -1;
      pos = e + 2;
    } else {
      spans[2 * i] = e + 2;
      spans[2 * i + 1] = len;
      pos = e + 2 + len + 2;
    }
  }
  return pos;
}

/** Pushes {err = "<CODE> <msg>"} the way luaPushErrorBuff normalizes an error text ("-CODE msg" or "msg"). */
export function pushErrorTable(vm: LuaVm, L: LuaState, text: string, ignoreStats = false): void {
  let code = 'ERR';
  let msg: string;
  if (text.startsWith('-')) {
    const sp = text.indexOf(' ');
    if (sp < 0) msg = text.slice(1);
    else {
      code = text.slice(1, sp);
      msg = text.slice(sp + 1);
    }
  } else msg = text;
  msg = msg.replace(/^[\r\n]+|[\r\n]+$/g, '');
  vm.newTable(L, 0, 2);
  vm.pushString(L, `${code} ${msg}`);
  vm.setField(L, -2, 'err');
  if (ignoreStats) {
    vm.pushBoolean(L, true);
    vm.setField(L, -2, 'ignore_error_stats_update');
  }
}

/**
 * Parses one RESP value at b[pos] and pushes it as Redis converts replies
 * for scripts; returns the position after it.
 */
export function pushRespAsLua(vm: LuaVm, L: LuaState, b: Buffer, pos: number, nested = true): number {
  // A C function starts with LUA_MINSTACK (20) free slots: redis.call's own
  // call (nested = false) needs no check; every nesting level does.
  if (nested && !vm.checkStack(L, 4)) vm.raise(L, 'lua stack limit reach when parsing redis.call reply', false);
  const t = b[pos]!;
  const e = lineEnd(b, pos + 1);
  const next = e + 2;
  switch (t) {
    case 43 /* + */: {
      vm.newTable(L, 0, 1);
      vm.pushBytes(L, b, pos + 1, e);
      vm.setField(L, -2, 'ok');
      return next;
    }
    case 45 /* - */:
      pushErrorTable(vm, L, b.latin1Slice(pos, e), true);
      return next;
    case 58 /* : */: {
      const digits = e - pos - 1;
      if (digits < 16) vm.pushInteger(L, parseIntAt(b, pos + 1, e));
      else vm.pushInteger(L, BigInt(b.latin1Slice(pos + 1, e)));
      return next;
    }
    case 36 /* $ */: {
      const len = parseIntAt(b, pos + 1, e);
      if (len < 0) {
        vm.pushBoolean(L, false);
        return next;
      }
      vm.pushBytes(L, b, next, next + len);
      return next + len + 2;
    }
    case 42 /* * */:
    case 62 /* > */: {
      const n = parseIntAt(b, pos + 1, e);
      if (n < 0) {
        vm.pushBoolean(L, false);
        return next;
      }
      // An array of bulk strings (HMGET, ZRANGE...) is built in one WASM call.
      // (A fresh spans array: a __gc finalizer run while it is pushed may call redis.call.)
      const spans: number[] = [];
      const end = n > 0 ? bulkSpans(b, next, n, spans) : -1;
      if (end >= 0) {
        vm.pushBytesArray(L, b, spans, n);
        return end;
      }
      vm.newTable(L, n, 0);
      let p = next;
      for (let i = 1; i <= n; i++) {
        p = pushRespAsLua(vm, L, b, p);
        vm.rawSetI(L, -2, i);
      }
      return p;
    }
    case 37 /* % */: {
      const n = parseIntAt(b, pos + 1, e);
      vm.newTable(L, 0, 1);
      vm.newTable(L, 0, n);
      let p = next;
      for (let i = 0; i < n; i++) {
        p = pushRespAsLua(vm, L, b, p);
        p = pushRespAsLua(vm, L, b, p);
        if (vm.type(L, -2) === LuaType.NIL) vm.pop(L, 2);
        else vm.rawSet(L, -3);
      }
      vm.setField(L, -2, 'map');
      return p;
    }
    case 126 /* ~ */: {
      const n = parseIntAt(b, pos + 1, e);
      vm.newTable(L, 0, 1);
      vm.newTable(L, 0, n);
      let p = next;
      for (let i = 0; i < n; i++) {
        p = pushRespAsLua(vm, L, b, p);
        if (vm.type(L, -1) === LuaType.NIL) {
          vm.pop(L);
          continue;
        }
        vm.pushBoolean(L, true);
        vm.rawSet(L, -3);
      }
      vm.setField(L, -2, 'set');
      return p;
    }
    case 95 /* _ */:
      vm.pushNil(L);
      return next;
    case 35 /* # */:
      vm.pushBoolean(L, b[pos + 1] === 116 /* t */);
      return next;
    case 44 /* , */: {
      const s = b.latin1Slice(pos + 1, e);
      vm.newTable(L, 0, 1);
      vm.pushNumber(L, s === 'inf' ? Infinity : s === '-inf' ? -Infinity : s === 'nan' || s === '-nan' ? NaN : Number(s));
      vm.setField(L, -2, 'double');
      return next;
    }
    case 40 /* ( */: {
      vm.newTable(L, 0, 1);
      vm.pushBuffer(L, b.subarray(pos + 1, e));
      vm.setField(L, -2, 'big_number');
      return next;
    }
    case 61 /* = */: {
      const len = parseIntAt(b, pos + 1, e);
      vm.newTable(L, 0, 1);
      vm.newTable(L, 0, 2);
      vm.pushBuffer(L, b.subarray(next, next + 3));
      vm.setField(L, -2, 'format');
      vm.pushBuffer(L, b.subarray(next + 4, next + len));
      vm.setField(L, -2, 'string');
      vm.setField(L, -2, 'verbatim_string');
      return next + len + 2;
    }
    case 124 /* | attribute: skipped, the value follows */: {
      const n = parseIntAt(b, pos + 1, e);
      let p = next;
      for (let i = 0; i < 2 * n; i++) {
        p = pushRespAsLua(vm, L, b, p);
        vm.pop(L);
      }
      return pushRespAsLua(vm, L, b, p);
    }
    default:
      vm.raise(L, `unexpected reply type '${String.fromCharCode(t)}' from a command run by a script`, false);
  }
}

const INT64_MIN = -(2n ** 63n);
const MAX_REPLY_DEPTH = 2000;
const TWO63 = 2 ** 63;

/** (long long)n as x86 computes it: truncation, and INT64_MIN for NaN, infinities and out-of-range values. */
export function luaNumberToLongLong(n: number): number | bigint {
  if (!Number.isFinite(n) || n >= TWO63 || n < -TWO63) return INT64_MIN;
  const t = Math.trunc(n);
  return Number.isSafeInteger(t) ? t + 0 /* no -0 */ : BigInt(t);
}

/** A status text as Redis sends it: CR and LF become spaces. */
function statusText(s: string): string {
  return s.indexOf('\r') < 0 && s.indexOf('\n') < 0 ? s : s.replace(/[\r\n]/g, ' ');
}

/**
 * The error text of an `{err=...}` table (at idx), and whether its stats
 * were already counted when the failing command ran.
 */
export function errorTableInfo(vm: LuaVm, L: LuaState, idx: number): { msg: string; source: string | null; line: string | null; ignoreStats: boolean } {
  const t = vm.absIndex(L, idx);
  vm.rawGetName(L, t, 'err');
  const msg = vm.coerceLatin1(L, -1) ?? '';
  vm.rawGetName(L, t, 'source');
  const source = vm.coerceLatin1(L, -1);
  vm.rawGetName(L, t, 'line');
  const line = vm.type(L, -1) === LuaType.NUMBER ? String(vm.toInteger(L, -1) ?? Math.trunc(vm.toNumber(L, -1) ?? 0)) : vm.coerceLatin1(L, -1);
  // Only a boolean counts, as luaExtractErrorInformation reads it.
  const ignoreStats = vm.rawGetName(L, t, 'ignore_error_stats_update') === LuaType.BOOLEAN && vm.toBoolean(L, -1);
  vm.pop(L, 4);
  return { msg, source, line, ignoreStats };
}

/**
 * Writes the Lua value on top of L as the reply to the caller (popping it),
 * as luaReplyToRedisReply does. `scriptResp` is the script client's protocol
 * (redis.setresp), which decides how booleans are sent.
 */
export function writeLuaAsReply(vm: LuaVm, L: LuaState, r: Reply, scriptResp: 2 | 3, depth = 0): void {
  // Redis's 5.1 stack (LUAI_MAXCSTACK 8000) ends a self-referencing table's
  // reply here; 5.4's stack is far larger, so the depth is capped instead.
  if (depth > MAX_REPLY_DEPTH || !vm.checkStack(L, 4)) {
    r.error('ERR reached lua stack limit');
    vm.pop(L);
    return;
  }
  const t = vm.type(L, -1);
  if (t === LuaType.TABLE) writeTable(vm, L, r, scriptResp, depth);
  else writeLuaScalarAsReply(vm, L, r, scriptResp, t);
  vm.pop(L);
}

/** writeLuaAsReply of a value on top of L that is not a table (of type t), without popping it. */
export function writeLuaScalarAsReply(vm: LuaVm, L: LuaState, r: Reply, scriptResp: 2 | 3, t: number): void {
  switch (t) {
    case LuaType.STRING: {
      // Copied from the WASM heap into the reply: no JS string in between.
      const p = vm.stringSpan(L, -1);
      r.bulkBytes(vm.heapBytes(), p, p + vm.spanLength);
      break;
    }
    case LuaType.BOOLEAN:
      if (scriptResp === 2) {
        if (vm.toBoolean(L, -1)) r.int(1);
        else r.null();
      } else r.bool(vm.toBoolean(L, -1));
      break;
    case LuaType.NUMBER: {
      const d = vm.toNumber(L, -1)!;
      if (!vm.isInteger(L, -1)) r.int(luaNumberToLongLong(d));
      // An integer read as a double is exact below 2^53; past it, read as a BigInt.
      else if (d > -9007199254740992 && d < 9007199254740992) r.int(d);
      else r.int(vm.toInteger(L, -1)!);
      break;
    }
    default:
      r.null();
  }
}

/** The fields luaReplyToRedisReply looks for in a table, in its order. */
const REPLY_FIELDS = ['err', 'ok', 'double', 'big_number', 'verbatim_string', 'map', 'set'] as const;
const F_ERR = 0;
const F_OK = 1;
const F_DOUBLE = 2;
const F_BIG_NUMBER = 3;
const F_VERBATIM = 4;
const F_MAP = 5;
const F_SET = 6;
const fieldTypes: number[] = [];

/**
 * A table reply. Its special fields are looked up in one WASM call; an
 * array (none of them: the usual case) is t[1], t[2], ... up to the first
 * nil, other keys ignored. The array's leading run of strings is copied
 * from the Lua heap as one scan read it (nothing allocates in between);
 * from the first other value on, element by element. (One function: each
 * nesting level costs JS stack, and a self-referencing table must reach
 * MAX_REPLY_DEPTH, not the JS stack's end.)
 */
function writeTable(vm: LuaVm, L: LuaState, r: Reply, scriptResp: 2 | 3, depth: number): void {
  const tbl = vm.absIndex(L, -1);
  const ft = fieldTypes;
  if (
    !vm.probeFields(L, tbl, REPLY_FIELDS, ft) ||
    ft[F_ERR] === LuaType.STRING ||
    ft[F_OK] === LuaType.STRING ||
    ft[F_DOUBLE] === LuaType.NUMBER ||
    ft[F_BIG_NUMBER] === LuaType.STRING ||
    ft[F_VERBATIM] === LuaType.TABLE ||
    ft[F_MAP] === LuaType.TABLE ||
    ft[F_SET] === LuaType.TABLE
  ) {
    return writeTableByField(vm, L, r, scriptResp, depth);
  }
  const scanned = vm.scanArray(L, tbl);
  let n = scanned < 0 ? 0 : scanned;
  if (scanned < 0 || n === ARRAY_SCAN_MAX) {
    while (vm.rawGetI(L, tbl, n + 1) !== LuaType.NIL) {
      vm.pop(L);
      n++;
    }
    vm.pop(L);
  }
  r.array(n);
  let i = 1;
  // Past MAX_REPLY_DEPTH an element is an error: the general path says so.
  if (depth < MAX_REPLY_DEPTH) {
    const h = vm.heapBytes();
    for (; i <= scanned && vm.scanType(i - 1) === LuaType.STRING; i++) {
      const p = vm.scanString(i - 1);
      r.bulkBytes(h, p, p + vm.spanLength);
    }
  }
  for (; i <= n; i++) {
    vm.rawGetI(L, tbl, i);
    writeLuaAsReply(vm, L, r, scriptResp, depth + 1);
  }
}

function writeTableByField(vm: LuaVm, L: LuaState, r: Reply, scriptResp: 2 | 3, depth: number): void {
  const tbl = vm.absIndex(L, -1);
  if (vm.rawGetName(L, tbl, 'err') === LuaType.STRING) {
    vm.pop(L);
    const info = errorTableInfo(vm, L, tbl);
    r.error(info.msg, !info.ignoreStats);
    return;
  }
  vm.pop(L);
  if (vm.rawGetName(L, tbl, 'ok') === LuaType.STRING) {
    r.simple(statusText(vm.toLatin1(L, -1)!));
    vm.pop(L);
    return;
  }
  vm.pop(L);
  if (vm.rawGetName(L, tbl, 'double') === LuaType.NUMBER) {
    r.double(vm.toNumber(L, -1)!);
    vm.pop(L);
    return;
  }
  vm.pop(L);
  if (vm.rawGetName(L, tbl, 'big_number') === LuaType.STRING) {
    const s = statusText(vm.toLatin1(L, -1)!);
    if (r.proto === 3) r.raw(`(${s}\r\n`);
    else r.bulk(s);
    vm.pop(L);
    return;
  }
  vm.pop(L);
  if (vm.rawGetName(L, tbl, 'verbatim_string') === LuaType.TABLE) {
    const v = vm.absIndex(L, -1);
    if (vm.rawGetName(L, v, 'format') === LuaType.STRING) {
      const format = vm.toLatin1(L, -1)!;
      if (vm.rawGetName(L, v, 'string') === LuaType.STRING) {
        r.verbatim(vm.toLatin1(L, -1)!, format);
        vm.pop(L, 3);
        return;
      }
      vm.pop(L);
    }
    vm.pop(L);
  }
  vm.pop(L);
  if (vm.rawGetName(L, tbl, 'map') === LuaType.TABLE) {
    const m = vm.absIndex(L, -1);
    const n = countEntries(vm, L, m);
    r.map(n);
    vm.pushNil(L);
    while (vm.next(L, m)) {
      vm.pushValue(L, -2);
      writeLuaAsReply(vm, L, r, scriptResp, depth + 1); // key
      writeLuaAsReply(vm, L, r, scriptResp, depth + 1); // value
    }
    vm.pop(L);
    return;
  }
  vm.pop(L);
  if (vm.rawGetName(L, tbl, 'set') === LuaType.TABLE) {
    const s = vm.absIndex(L, -1);
    const n = countEntries(vm, L, s);
    r.set(n);
    vm.pushNil(L);
    while (vm.next(L, s)) {
      vm.pop(L);
      vm.pushValue(L, -1);
      writeLuaAsReply(vm, L, r, scriptResp, depth + 1);
    }
    vm.pop(L);
    return;
  }
  vm.pop(L);
  // An array: t[1], t[2], ... up to the first nil; other keys are ignored.
  let n = 0;
  while (vm.rawGetI(L, tbl, n + 1) !== LuaType.NIL) {
    vm.pop(L);
    n++;
  }
  vm.pop(L);
  r.array(n);
  for (let i = 1; i <= n; i++) {
    vm.rawGetI(L, tbl, i);
    writeLuaAsReply(vm, L, r, scriptResp, depth + 1);
  }
}

/** How many pairs `next` walks in the table at absolute index t (a map or set reply's length). */
function countEntries(vm: LuaVm, L: LuaState, t: number): number {
  let n = 0;
  vm.pushNil(L);
  while (vm.next(L, t)) {
    n++;
    vm.pop(L);
  }
  return n;
}
