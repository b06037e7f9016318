/**
 * One value in RDB form to a value of this server (rdb.c rdbLoadObject),
 * for every type Redis 7.0 loads: the 7.0 encodings and the older ones
 * (ziplists, zipmaps, linked lists, text-scored zsets) it still reads.
 *
 * Whatever the stored encoding, the value gets the encoding Redis would
 * give it after loading (small hashes and zsets as listpack, integer sets
 * as intset, ...), which our types derive from their contents. Anything
 * malformed, duplicated or empty throws RdbFormatError: nothing here trusts
 * the input.
 */
import * as C from './constants.js';
import { RdbEmptyKeyError, RdbFormatError, RdbModuleError } from './constants.js';
import type { RdbInput } from './input.js';
import { lpString, readListpack, type LpItem } from './listpack.js';
import { readIntset, readZipmap, readZiplist } from './ziplist.js';
import { readStream } from './stream-decoder.js';
import { ListValue } from '../types/list.js';
import { HashValue } from '../types/hash.js';
import { RedisSet } from '../types/set.js';
import { SortedSet } from '../types/zset.js';
import type { Value } from '../types/value.js';
import { getInt } from '../config/params.js';

function corrupt(why: string): never {
  throw new RdbFormatError(why);
}

function nonEmpty<T extends { size: number }>(v: T, what: string): T {
  if (v.size === 0) throw new RdbEmptyKeyError(`empty ${what}`);
  return v;
}

/** A blob (ziplist, listpack, intset) read as a string, then parsed. */
function blob(inp: RdbInput): Buffer {
  return inp.stringBytes();
}

function hashFromPairs(items: LpItem[], what: string): HashValue {
  if (items.length % 2 !== 0) corrupt(`${what} with an odd number of elements`);
  const h = new HashValue();
  for (let i = 0; i < items.length; i += 2) {
    if (!h.set(lpString(items[i]), lpString(items[i + 1]))) corrupt(`duplicate hash field in ${what}`);
  }
  // A stored listpack stays one unless it has too many entries (a zipmap also by length).
  h.big = h.size > getInt('hash-max-listpack-entries') || (what === 'zipmap' && h.big);
  return nonEmpty(h, 'hash');
}

/** zzlGetScore: an integer element, or text read as strtod does. */
function scoreOf(x: LpItem): number {
  if (typeof x !== 'string') return Number(x);
  const d = x === 'inf' || x === '+inf' ? Infinity : x === '-inf' ? -Infinity : Number(x);
  if (Number.isNaN(d) || x.trim() !== x || x === '') corrupt('bad score in sorted set');
  return d;
}

function zsetFromPairs(items: LpItem[], what: string): SortedSet {
  if (items.length % 2 !== 0) corrupt(`${what} with an odd number of elements`);
  const z = new SortedSet();
  for (let i = 0; i < items.length; i += 2) {
    if (!z.set(lpString(items[i]), scoreOf(items[i + 1]))) corrupt(`duplicate sorted set member in ${what}`);
  }
  // A stored listpack stays one unless it has too many entries.
  z.fixEncodingByCount();
  return nonEmpty(z, 'sorted set');
}

function listFrom(items: LpItem[], l: ListValue): void {
  for (const x of items) l.pushTail(lpString(x));
}

function setFrom(members: Iterable<string>): RedisSet {
  const s = new RedisSet();
  for (const m of members) if (!s.add(m)) corrupt('duplicate set member');
  return nonEmpty(s, 'set');
}

/** moduleTypeNameByID: the 9-character name packed in a module type id. */
function moduleName(inp: RdbInput): string {
  const cset = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  let id = BigInt(inp.u64()) >> 10n;
  let name = '';
  for (let j = 0; j < 9; j++) {
    name = cset[Number(id & 63n)] + name;
    id >>= 6n;
  }
  return name;
}

export function readValue(inp: RdbInput, type: number): Value {
  switch (type) {
    case C.T_STRING:
      return inp.string();
    case C.T_LIST: {
      const n = inp.count();
      const l = new ListValue(Math.min(n, 1 << 16));
      for (let i = 0; i < n; i++) l.pushTail(inp.string());
      return nonEmpty(l, 'list');
    }
    case C.T_SET: {
      const n = inp.count();
      const s = new RedisSet();
      for (let i = 0; i < n; i++) if (!s.add(inp.string())) corrupt('duplicate set member');
      return nonEmpty(s, 'set');
    }
    case C.T_ZSET:
    case C.T_ZSET_2: {
      const n = inp.count();
      const z = new SortedSet();
      for (let i = 0; i < n; i++) {
        const m = inp.string();
        const score = type === C.T_ZSET_2 ? inp.binaryDouble() : inp.textDouble();
        if (Number.isNaN(score)) corrupt('NaN score in sorted set');
        if (!z.set(m, score)) corrupt('duplicate sorted set member');
      }
      z.fixEncoding();
      return nonEmpty(z, 'sorted set');
    }
    case C.T_HASH: {
      const n = inp.count();
      const h = new HashValue();
      for (let i = 0; i < n; i++) {
        const f = inp.string();
        if (!h.set(f, inp.string())) corrupt('duplicate hash field');
      }
      return nonEmpty(h, 'hash');
    }
    case C.T_LIST_QUICKLIST:
    case C.T_LIST_QUICKLIST_2: {
      const nodes = inp.count();
      const l = new ListValue();
      for (let i = 0; i < nodes; i++) {
        let container = C.QUICKLIST_PACKED;
        if (type === C.T_LIST_QUICKLIST_2) {
          container = inp.count();
          if (container !== C.QUICKLIST_PACKED && container !== C.QUICKLIST_PLAIN) corrupt(`quicklist integrity check failed: container ${container}`);
        }
        if (container === C.QUICKLIST_PLAIN) {
          l.pushTail(inp.string());
          continue;
        }
        const b = blob(inp);
        // Empty nodes are skipped, as Redis does; an empty list fails below.
        listFrom(type === C.T_LIST_QUICKLIST_2 ? readListpack(b) : readZiplist(b), l);
      }
      return nonEmpty(l, 'list');
    }
    case C.T_LIST_ZIPLIST: {
      const l = new ListValue();
      listFrom(readZiplist(blob(inp)), l);
      return nonEmpty(l, 'list');
    }
    case C.T_SET_INTSET:
      return setFrom(readIntset(blob(inp)));
    case C.T_ZSET_ZIPLIST:
      return zsetFromPairs(readZiplist(blob(inp)), 'ziplist');
    case C.T_ZSET_LISTPACK:
      return zsetFromPairs(readListpack(blob(inp)), 'listpack');
    case C.T_HASH_ZIPLIST:
      return hashFromPairs(readZiplist(blob(inp)), 'ziplist');
    case C.T_HASH_LISTPACK:
      return hashFromPairs(readListpack(blob(inp)), 'listpack');
    case C.T_HASH_ZIPMAP:
      return hashFromPairs(readZipmap(blob(inp)), 'zipmap');
    case C.T_STREAM_LISTPACKS:
    case C.T_STREAM_LISTPACKS_2:
      return readStream(inp, type === C.T_STREAM_LISTPACKS_2);
    case C.T_MODULE:
    case C.T_MODULE_2:
      throw new RdbModuleError(`a value of module type '${moduleName(inp)}': this server has no modules to load it`);
    // eslint-disable-next-line no-fallthrough
    default:
      corrupt(`unknown value type ${type}`);
  }
}
