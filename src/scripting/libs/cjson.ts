/**
 * The `cjson` library Redis bundles (Lua CJSON 2.1.0 as Redis ships it):
 * encode, decode, the configuration functions, cjson.null and cjson.new.
 * Numbers are printed with %.<precision>g (14 by default) on their 5.1
 * double value, '/' is escaped, invalid numbers are refused on encode and
 * accepted on decode (strtod's forms: hex, inf, nan, a leading '+'), and
 * every error text is the C library's. Each module table (the global and
 * each cjson.new()) has its own settings, kept in a Lua table that its
 * functions hold as their upvalue.
 */
import { LuaType, upvalueIndex, type LuaState, type LuaVm } from '../vm/lua-vm.js';
import { formatG } from '../vm/number-format.js';
import { ByteWriter } from './byte-writer.js';
import { canGrowStack51, checkInteger51, checkString51, pushNumber51, strtod } from './lua51.js';

const INT_MAX = 2147483647;
const INT_MIN = -2147483648;

interface Config {
  sparseConvert: number;
  sparseRatio: number;
  sparseSafe: number;
  encodeMaxDepth: number;
  decodeMaxDepth: number;
  /** 0 refuse, 1 allow ("nan", "inf"), 2 encode as null */
  encodeInvalidNumbers: number;
  decodeInvalidNumbers: number;
  encodeKeepBuffer: number;
  encodeNumberPrecision: number;
}
const CONFIG_KEYS: (keyof Config)[] = [
  'sparseConvert',
  'sparseRatio',
  'sparseSafe',
  'encodeMaxDepth',
  'decodeMaxDepth',
  'encodeInvalidNumbers',
  'decodeInvalidNumbers',
  'encodeKeepBuffer',
  'encodeNumberPrecision',
];
const DEFAULTS: Config = {
  sparseConvert: 0,
  sparseRatio: 2,
  sparseSafe: 10,
  encodeMaxDepth: 1000,
  decodeMaxDepth: 1000,
  encodeInvalidNumbers: 0,
  decodeInvalidNumbers: 1,
  encodeKeepBuffer: 1,
  encodeNumberPrecision: 14,
};

/**
 * The settings live in a table that is upvalue 1 of every function of one
 * module, as a single string at key 1 ("2,10,1000,..."): one read per call,
 * parsed once per distinct value (few exist).
 */
const parsedSettings = new Map<string, Config>();

function serialise(cfg: Config): string {
  return CONFIG_KEYS.map((k) => cfg[k]).join(',');
}

function readConfig(vm: LuaVm, L: LuaState): Config {
  const up = upvalueIndex(1);
  if (vm.type(L, up) !== LuaType.TABLE) vm.raise(L, 'BUG: Unable to fetch CJSON configuration');
  vm.rawGetI(L, up, 1);
  const text = vm.toLatin1(L, -1) ?? '';
  vm.pop(L);
  let cfg = parsedSettings.get(text);
  if (!cfg) {
    const values = text.split(',').map(Number);
    cfg = {} as Config;
    CONFIG_KEYS.forEach((k, i) => (cfg![k] = values[i] ?? DEFAULTS[k]));
    Object.freeze(cfg);
    if (parsedSettings.size > 1000) parsedSettings.clear();
    parsedSettings.set(text, cfg);
  }
  return cfg;
}

function writeSetting(vm: LuaVm, L: LuaState, cfg: Config, key: keyof Config, value: number): Config {
  const next = { ...cfg, [key]: value };
  vm.pushString(L, serialise(next));
  vm.rawSetI(L, upvalueIndex(1), 1);
  return next;
}

// ---- configuration functions ----

/** json_arg_init: at most `args` arguments, padded with nils. */
function argInit(vm: LuaVm, L: LuaState, args: number): Config {
  if (vm.getTop(L) > args) vm.argError(L, args + 1, 'found too many arguments');
  vm.setTop(L, args);
  return readConfig(vm, L);
}

function integerOption(vm: LuaVm, L: LuaState, idx: number, cfg: Config, key: keyof Config, min: number, max: number): Config {
  if (vm.type(L, idx) !== LuaType.NIL) {
    // (int) of the 64-bit lua_Integer: wraps
    const value = Number(BigInt.asIntN(32, checkInteger51(vm, L, idx)));
    // the C code names argument 1 whichever option it checks
    if (!(min <= value && value <= max)) vm.argError(L, 1, `expected integer between ${min} and ${max}`);
    cfg = writeSetting(vm, L, cfg, key, value);
  }
  vm.pushInteger(L, cfg[key]);
  return cfg;
}

const BOOL_OPTIONS = ['off', 'on'];
function enumOption(vm: LuaVm, L: LuaState, idx: number, cfg: Config, key: keyof Config, options: string[] | null): Config {
  const opts = options ?? BOOL_OPTIONS;
  if (vm.type(L, idx) !== LuaType.NIL) {
    let value: number;
    if (vm.type(L, idx) === LuaType.BOOLEAN) value = vm.toBoolean(L, idx) ? 1 : 0;
    else {
      // luaL_checkoption: compared as C strings
      let name = checkString51(vm, L, idx);
      const z = name.indexOf('\0');
      if (z >= 0) name = name.slice(0, z);
      value = opts.indexOf(name);
      if (value < 0) vm.argError(L, idx, `invalid option '${name}'`);
    }
    cfg = writeSetting(vm, L, cfg, key, value);
  }
  if (cfg[key] === 0 || cfg[key] === 1) vm.pushBoolean(L, cfg[key] === 1);
  else vm.pushString(L, opts[cfg[key]]!);
  return cfg;
}

function encode_sparse_array(vm: LuaVm, L: LuaState): number {
  let cfg = argInit(vm, L, 3);
  cfg = enumOption(vm, L, 1, cfg, 'sparseConvert', null);
  cfg = integerOption(vm, L, 2, cfg, 'sparseRatio', 0, INT_MAX);
  integerOption(vm, L, 3, cfg, 'sparseSafe', 0, INT_MAX);
  return 3;
}
function encode_max_depth(vm: LuaVm, L: LuaState): number {
  integerOption(vm, L, 1, argInit(vm, L, 1), 'encodeMaxDepth', 1, INT_MAX);
  return 1;
}
function decode_max_depth(vm: LuaVm, L: LuaState): number {
  integerOption(vm, L, 1, argInit(vm, L, 1), 'decodeMaxDepth', 1, INT_MAX);
  return 1;
}
function encode_number_precision(vm: LuaVm, L: LuaState): number {
  integerOption(vm, L, 1, argInit(vm, L, 1), 'encodeNumberPrecision', 1, 14);
  return 1;
}
// The kept buffer is a C allocation detail; the setting is still remembered and reported.
function encode_keep_buffer(vm: LuaVm, L: LuaState): number {
  enumOption(vm, L, 1, argInit(vm, L, 1), 'encodeKeepBuffer', null);
  return 1;
}
function encode_invalid_numbers(vm: LuaVm, L: LuaState): number {
  enumOption(vm, L, 1, argInit(vm, L, 1), 'encodeInvalidNumbers', ['off', 'on', 'null']);
  return 1;
}
function decode_invalid_numbers(vm: LuaVm, L: LuaState): number {
  enumOption(vm, L, 1, argInit(vm, L, 1), 'decodeInvalidNumbers', null);
  return 1;
}

// ---- encoding ----

const ESCAPES: (string | undefined)[] = [];
for (let c = 0; c < 32; c++) ESCAPES[c] = '\\u' + c.toString(16).padStart(4, '0');
ESCAPES[8] = '\\b';
ESCAPES[9] = '\\t';
ESCAPES[10] = '\\n';
ESCAPES[12] = '\\f';
ESCAPES[13] = '\\r';
ESCAPES[0x22] = '\\"';
ESCAPES[0x2f] = '\\/';
ESCAPES[0x5c] = '\\\\';
ESCAPES[0x7f] = '\\u007f';
const NEEDS_ESCAPE = /[\x00-\x1f"/\\\x7f]/g;

const out = new ByteWriter();

function appendString(s: string): void {
  out.byte(0x22);
  out.latin1(NEEDS_ESCAPE.test(s) ? s.replace(NEEDS_ESCAPE, (ch) => ESCAPES[ch.charCodeAt(0)]!) : s);
  NEEDS_ESCAPE.lastIndex = 0;
  out.byte(0x22);
}

function encodeError(vm: LuaVm, L: LuaState, idx: number, reason: string): never {
  return vm.raise(L, `Cannot serialise ${vm.typeName(vm.type(L, idx))}: ${reason}`);
}

function appendNumber(vm: LuaVm, L: LuaState, cfg: Config, idx: number): void {
  const num = vm.toNumber(L, idx)!;
  if (cfg.encodeInvalidNumbers === 0) {
    if (!Number.isFinite(num)) encodeError(vm, L, idx, 'must not be NaN or Inf');
  } else if (cfg.encodeInvalidNumbers === 1) {
    if (Number.isNaN(num)) {
      out.latin1('nan');
      return;
    }
  } else if (!Number.isFinite(num)) {
    out.latin1('null');
    return;
  }
  out.latin1(formatG(num, cfg.encodeNumberPrecision));
}

/**
 * lua_array_length: the largest positive integral key when every key is
 * one, else -1 (or the error/conversion for excessively sparse arrays).
 * `max` is a C int: an integral key beyond its range converts to INT_MIN,
 * which is why such tables end up encoded as objects.
 */
function arrayLength(vm: LuaVm, L: LuaState, cfg: Config, t: number): number {
  let max = 0;
  let items = 0;
  vm.pushNil(L);
  while (vm.next(L, t)) {
    const k = vm.type(L, -2) === LuaType.NUMBER ? vm.toNumber(L, -2)! : 0;
    if (k !== 0 && Math.floor(k) === k && k >= 1) {
      if (k > max) max = k < 2147483648 ? k : INT_MIN;
      items++;
      vm.pop(L);
      continue;
    }
    vm.pop(L, 2);
    return -1;
  }
  if (cfg.sparseRatio > 0 && max > Math.imul(items, cfg.sparseRatio) && max > cfg.sparseSafe) {
    if (!cfg.sparseConvert) encodeError(vm, L, -1, 'excessively sparse array');
    return -1;
  }
  return max;
}

/** A table being encoded: an array walked by index, or an object walked with next (its key on the stack). */
interface EncodeFrame {
  t: number;
  /** array length, or -1 for an object */
  len: number;
  i: number;
}

/** Appends a non-table value; false for a table. */
function appendScalar(vm: LuaVm, L: LuaState, cfg: Config): boolean {
  switch (vm.type(L, -1)) {
    case LuaType.STRING:
      appendString(vm.toLatin1(L, -1)!);
      return true;
    case LuaType.NUMBER:
      appendNumber(vm, L, cfg, -1);
      return true;
    case LuaType.BOOLEAN:
      out.latin1(vm.toBoolean(L, -1) ? 'true' : 'false');
      return true;
    case LuaType.TABLE:
      return false;
    case LuaType.NIL:
      out.latin1('null');
      return true;
    case LuaType.LIGHTUSERDATA:
      if (vm.toUserdata(L, -1) === 0) {
        out.latin1('null');
        return true;
      }
      return encodeError(vm, L, -1, 'type not supported');
    default:
      return encodeError(vm, L, -1, 'type not supported');
  }
}

/**
 * json_append_data for the value on top (left there), iteratively so deep
 * nesting cannot exhaust the JS stack; the Lua stack holds what the C
 * recursion holds (per level: the table, and the key when an object).
 */
function appendValue(vm: LuaVm, L: LuaState, cfg: Config): void {
  const frames: EncodeFrame[] = [];
  for (;;) {
    let valueDone = appendScalar(vm, L, cfg);
    if (!valueDone) {
      const depth = frames.length + 1;
      // 5.1's C stack limit also ends deep nesting (3 slots: key, value, an error message)
      if (depth > cfg.encodeMaxDepth || !canGrowStack51(vm, L, 3)) {
        vm.raise(L, `Cannot serialise, excessive nesting (${depth})`);
      }
      const t = vm.getTop(L);
      const len = arrayLength(vm, L, cfg, t);
      if (len > 0) {
        out.byte(0x5b);
        frames.push({ t, len, i: 0 });
      } else {
        out.byte(0x7b);
        vm.pushNil(L);
        frames.push({ t, len: -1, i: 0 });
      }
    }
    for (;;) {
      // frames[-1] would be a dictionary lookup of the key "-1" through the runtime, not undefined cheaply.
      const f = frames.length > 0 ? frames[frames.length - 1] : undefined;
      if (!f) return;
      if (valueDone) vm.pop(L);
      valueDone = false;
      if (f.len >= 0) {
        if (f.i < f.len) {
          if (f.i > 0) out.byte(0x2c);
          vm.rawGetI(L, f.t, ++f.i);
          break;
        }
        out.byte(0x5d);
      } else {
        if (vm.next(L, f.t)) {
          if (f.i++ > 0) out.byte(0x2c);
          const kt = vm.type(L, -2);
          if (kt === LuaType.NUMBER) {
            out.byte(0x22);
            appendNumber(vm, L, cfg, -2);
            out.latin1('":');
          } else if (kt === LuaType.STRING) {
            appendString(vm.toLatin1(L, -2)!);
            out.byte(0x3a);
          } else {
            encodeError(vm, L, -2, 'table key must be a number or string');
          }
          break;
        }
        out.byte(0x7d);
      }
      frames.pop();
      valueDone = true;
    }
  }
}

function encode(vm: LuaVm, L: LuaState): number {
  const cfg = readConfig(vm, L);
  if (vm.getTop(L) !== 1) vm.argError(L, 1, 'expected 1 argument');
  out.reset();
  appendValue(vm, L, cfg);
  vm.pushBuffer(L, out.view());
  out.reset();
  return 1;
}

// ---- decoding ----

const T = {
  OBJ_BEGIN: 0,
  OBJ_END: 1,
  ARR_BEGIN: 2,
  ARR_END: 3,
  STRING: 4,
  NUMBER: 5,
  BOOLEAN: 6,
  NULL: 7,
  COLON: 8,
  COMMA: 9,
  END: 10,
  WHITESPACE: 11,
  ERROR: 12,
  UNKNOWN: 13,
};
const TOKEN_NAMES = [
  'T_OBJ_BEGIN',
  'T_OBJ_END',
  'T_ARR_BEGIN',
  'T_ARR_END',
  'T_STRING',
  'T_NUMBER',
  'T_BOOLEAN',
  'T_NULL',
  'T_COLON',
  'T_COMMA',
  'T_END',
  'T_WHITESPACE',
  'T_ERROR',
  'T_UNKNOWN',
];
const CH2TOKEN = new Uint8Array(256).fill(T.ERROR);
CH2TOKEN[0x7b] = T.OBJ_BEGIN;
CH2TOKEN[0x7d] = T.OBJ_END;
CH2TOKEN[0x5b] = T.ARR_BEGIN;
CH2TOKEN[0x5d] = T.ARR_END;
CH2TOKEN[0x2c] = T.COMMA;
CH2TOKEN[0x3a] = T.COLON;
CH2TOKEN[0] = T.END;
for (const c of ' \t\n\r') CH2TOKEN[c.charCodeAt(0)] = T.WHITESPACE;
for (const c of 'fiInNt"+-0123456789') CH2TOKEN[c.charCodeAt(0)] = T.UNKNOWN;
const ESCAPE2CHAR: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', t: '\t', n: '\n', f: '\f', r: '\r' };

interface Token {
  type: number;
  index: number;
  /** T_STRING: the bytes; T_ERROR: the message */
  str: string;
  num: number;
  bool: boolean;
}

interface Parser {
  /** The JSON text up to its first NUL; positions at or past its end read as NUL, as in C. */
  data: string;
  ptr: number;
  cfg: Config;
  depth: number;
}

const at = (p: Parser, i: number): number => (i < p.data.length ? p.data.charCodeAt(i) : 0);

function hex4(p: Parser, i: number): number {
  let v = 0;
  for (let k = 0; k < 4; k++) {
    const c = at(p, i + k);
    let d: number;
    if (c >= 48 && c <= 57) d = c - 48;
    else if ((c | 0x20) >= 97 && (c | 0x20) <= 102) d = (c | 0x20) - 87;
    else return -1;
    v = (v << 4) + d;
  }
  return v;
}

function utf8(cp: number): string {
  if (cp <= 0x7f) return String.fromCharCode(cp);
  if (cp <= 0x7ff) return String.fromCharCode((cp >> 6) | 0xc0, (cp & 0x3f) | 0x80);
  if (cp <= 0xffff) return String.fromCharCode((cp >> 12) | 0xe0, ((cp >> 6) & 0x3f) | 0x80, (cp & 0x3f) | 0x80);
  return String.fromCharCode((cp >> 18) | 0xf0, ((cp >> 12) & 0x3f) | 0x80, ((cp >> 6) & 0x3f) | 0x80, (cp & 0x3f) | 0x80);
}

function setTokenError(tok: Token, p: Parser, msg: string): void {
  tok.type = T.ERROR;
  tok.index = p.ptr;
  tok.str = msg;
}

function nextStringToken(p: Parser, tok: Token): void {
  p.ptr++;
  let s = '';
  let runStart = p.ptr;
  for (;;) {
    const ch = at(p, p.ptr);
    if (ch === 0x22) break;
    if (ch === 0) {
      setTokenError(tok, p, 'unexpected end of string');
      return;
    }
    if (ch !== 0x5c) {
      p.ptr++;
      continue;
    }
    s += p.data.slice(runStart, p.ptr);
    const esc = String.fromCharCode(at(p, p.ptr + 1));
    if (esc === 'u') {
      let cp = hex4(p, p.ptr + 2);
      let escLen = 6;
      let ok = cp >= 0;
      if (ok && (cp & 0xf800) === 0xd800) {
        ok = false;
        if (!(cp & 0x400) && at(p, p.ptr + 6) === 0x5c && at(p, p.ptr + 7) === 0x75) {
          const low = hex4(p, p.ptr + 8);
          if (low >= 0 && (low & 0xfc00) === 0xdc00) {
            cp = (((cp & 0x3ff) << 10) | (low & 0x3ff)) + 0x10000;
            escLen = 12;
            ok = true;
          }
        }
      }
      if (!ok) {
        setTokenError(tok, p, 'invalid unicode escape code');
        return;
      }
      s += utf8(cp);
      p.ptr += escLen;
    } else {
      const r = ESCAPE2CHAR[esc];
      if (r === undefined) {
        setTokenError(tok, p, 'invalid escape code');
        return;
      }
      s += r;
      p.ptr += 2;
    }
    runStart = p.ptr;
  }
  s += p.data.slice(runStart, p.ptr);
  p.ptr++;
  tok.type = T.STRING;
  tok.str = s;
}

/** Forms strict JSON does not allow but strtod reads: '+', hex, leading zeros, inf, nan. */
function isInvalidNumber(p: Parser): boolean {
  let i = p.ptr;
  if (at(p, i) === 0x2b) return true;
  if (at(p, i) === 0x2d) i++;
  const c = at(p, i);
  if (c === 0x30) {
    const c2 = at(p, i + 1);
    return (c2 | 0x20) === 0x78 || (c2 >= 48 && c2 <= 57);
  }
  if (c <= 0x39) return false;
  const w = p.data.slice(i, i + 3).toLowerCase();
  return w === 'inf' || w === 'nan';
}

function nextNumberToken(p: Parser, tok: Token): void {
  tok.type = T.NUMBER;
  const r = strtod(p.data, p.ptr);
  if (r.end === p.ptr) setTokenError(tok, p, 'invalid number');
  else {
    tok.num = r.value;
    p.ptr = r.end;
  }
}

function nextToken(p: Parser, tok: Token): void {
  let ch: number;
  for (;;) {
    ch = at(p, p.ptr);
    tok.type = CH2TOKEN[ch]!;
    if (tok.type !== T.WHITESPACE) break;
    p.ptr++;
  }
  tok.index = p.ptr;
  if (tok.type === T.ERROR) {
    setTokenError(tok, p, 'invalid token');
    return;
  }
  if (tok.type === T.END) return;
  if (tok.type !== T.UNKNOWN) {
    p.ptr++;
    return;
  }
  if (ch === 0x22) {
    nextStringToken(p, tok);
    return;
  }
  if (ch === 0x2d || (ch >= 48 && ch <= 57)) {
    if (!p.cfg.decodeInvalidNumbers && isInvalidNumber(p)) {
      setTokenError(tok, p, 'invalid number');
      return;
    }
    nextNumberToken(p, tok);
    return;
  }
  const d = p.data;
  if (d.startsWith('true', p.ptr)) {
    tok.type = T.BOOLEAN;
    tok.bool = true;
    p.ptr += 4;
  } else if (d.startsWith('false', p.ptr)) {
    tok.type = T.BOOLEAN;
    tok.bool = false;
    p.ptr += 5;
  } else if (d.startsWith('null', p.ptr)) {
    tok.type = T.NULL;
    p.ptr += 4;
  } else if (p.cfg.decodeInvalidNumbers && isInvalidNumber(p)) {
    nextNumberToken(p, tok);
  } else {
    setTokenError(tok, p, 'invalid token');
  }
}

function parseError(vm: LuaVm, L: LuaState, expected: string, tok: Token): never {
  const found = tok.type === T.ERROR ? tok.str : TOKEN_NAMES[tok.type]!;
  return vm.raise(L, `Expected ${expected} but found ${found} at character ${tok.index + 1}`);
}

function descend(vm: LuaVm, L: LuaState, p: Parser, slots: number): void {
  p.depth++;
  if (p.depth <= p.cfg.decodeMaxDepth && canGrowStack51(vm, L, slots)) return;
  vm.raise(L, `Found too many nested data structures (${p.depth}) at character ${p.ptr}`);
}

/** An array or object being decoded. */
interface DecodeFrame {
  t: number;
  /** next array index, or 0 for an object */
  i: number;
}

/** After an object's '{' or ',': the key, the colon, and the value's first token. */
function objectKey(vm: LuaVm, L: LuaState, p: Parser, tok: Token): void {
  if (tok.type !== T.STRING) parseError(vm, L, 'object key string', tok);
  vm.pushString(L, tok.str);
  nextToken(p, tok);
  if (tok.type !== T.COLON) parseError(vm, L, 'colon', tok);
  nextToken(p, tok);
}

/**
 * json_process_value for the token in hand, iteratively (deep nesting must
 * not exhaust the JS stack), with the C parser's token order, depth and
 * stack checks and error texts.
 */
function processValue(vm: LuaVm, L: LuaState, p: Parser, tok: Token): void {
  const frames: DecodeFrame[] = [];
  for (;;) {
    let valueDone = true;
    switch (tok.type) {
      case T.STRING:
        vm.pushString(L, tok.str);
        break;
      case T.NUMBER:
        pushNumber51(vm, L, tok.num);
        break;
      case T.BOOLEAN:
        vm.pushBoolean(L, tok.bool);
        break;
      case T.NULL:
        vm.pushLightUserdata(L, 0);
        break;
      case T.OBJ_BEGIN:
        descend(vm, L, p, 3);
        vm.newTable(L);
        nextToken(p, tok);
        if (tok.type === T.OBJ_END) p.depth--;
        else {
          frames.push({ t: vm.getTop(L), i: 0 });
          objectKey(vm, L, p, tok);
          valueDone = false;
        }
        break;
      case T.ARR_BEGIN:
        descend(vm, L, p, 2);
        vm.newTable(L);
        nextToken(p, tok);
        if (tok.type === T.ARR_END) p.depth--;
        else {
          frames.push({ t: vm.getTop(L), i: 1 });
          valueDone = false;
        }
        break;
      default:
        parseError(vm, L, 'value', tok);
    }
    while (valueDone) {
      // frames[-1] would be a dictionary lookup of the key "-1" through the runtime, not undefined cheaply.
      const f = frames.length > 0 ? frames[frames.length - 1] : undefined;
      if (!f) return;
      if (f.i > 0) {
        vm.rawSetI(L, f.t, f.i);
        nextToken(p, tok);
        if (tok.type === T.ARR_END) {
          p.depth--;
          frames.pop();
          continue;
        }
        if (tok.type !== T.COMMA) parseError(vm, L, 'comma or array end', tok);
        f.i++;
        nextToken(p, tok);
      } else {
        vm.rawSet(L, f.t);
        nextToken(p, tok);
        if (tok.type === T.OBJ_END) {
          p.depth--;
          frames.pop();
          continue;
        }
        if (tok.type !== T.COMMA) parseError(vm, L, 'comma or object end', tok);
        nextToken(p, tok);
        objectKey(vm, L, p, tok);
      }
      valueDone = false;
    }
  }
}

const newToken = (): Token => ({ type: T.ERROR, index: 0, str: '', num: 0, bool: false });

function decode(vm: LuaVm, L: LuaState): number {
  if (vm.getTop(L) !== 1) vm.argError(L, 1, 'expected 1 argument');
  const cfg = readConfig(vm, L);
  const data = checkString51(vm, L, 1);
  if (data.length >= 2 && (data.charCodeAt(0) === 0 || data.charCodeAt(1) === 0)) {
    vm.raise(L, 'JSON parser does not support UTF-16 or UTF-32');
  }
  // Everything in the C parser stops at a NUL (the end token, strings, strtod): cut there once
  const nul = data.indexOf('\0');
  const p: Parser = { data: nul >= 0 ? data.slice(0, nul) : data, ptr: 0, cfg, depth: 0 };
  const tok = newToken();
  nextToken(p, tok);
  processValue(vm, L, p, tok);
  nextToken(p, tok);
  if (tok.type !== T.END) parseError(vm, L, 'the end', tok);
  return 1;
}

// ---- module tables ----

const FUNCTIONS = {
  encode,
  decode,
  encode_sparse_array,
  encode_max_depth,
  decode_max_depth,
  encode_number_precision,
  encode_keep_buffer,
  encode_invalid_numbers,
  decode_invalid_numbers,
  new: cjsonNew,
};

/** lua_cjson_new: pushes a module table with its own settings. */
export function pushCjsonModule(vm: LuaVm, L: LuaState): void {
  vm.newTable(L, 0, 13);
  const mod = vm.getTop(L);
  vm.newTable(L, 1, 0);
  vm.pushString(L, serialise(DEFAULTS));
  vm.rawSetI(L, -2, 1);
  for (const [name, fn] of Object.entries(FUNCTIONS)) {
    vm.pushValue(L, -1);
    vm.pushFunction(L, fn, 1);
    vm.setField(L, mod, name);
  }
  vm.pop(L);
  vm.pushLightUserdata(L, 0);
  vm.setField(L, mod, 'null');
  vm.pushString(L, 'cjson');
  vm.setField(L, mod, '_NAME');
  vm.pushString(L, '2.1.0');
  vm.setField(L, mod, '_VERSION');
}

function cjsonNew(vm: LuaVm, L: LuaState): number {
  pushCjsonModule(vm, L);
  return 1;
}
