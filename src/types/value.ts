/**
 * What a key holds. Strings are plain latin1 JS strings (no wrapper object:
 * the per-key cost is what keeps memory near Redis's); every other type is an
 * object that says its Redis type. Each type's structure lives in its own
 * file under src/types/ (list.ts, hash.ts, set.ts, zset.ts), as Redis keeps
 * t_list.c, t_hash.c, ...
 */
export type RedisType = 'string' | 'list' | 'hash' | 'set' | 'zset' | 'stream';

export interface CollectionValue {
  /** Redis type name, as TYPE answers. */
  readonly type: Exclude<RedisType, 'string'>;
  /** OBJECT ENCODING answer for the current contents. */
  encoding(): string;
  /** Element count (LLEN, HLEN, SCARD, ZCARD): 0 means the key must go. */
  readonly size: number;
  /** Bytes the value takes, when the type estimates it better than per element (streams). */
  memoryCost?(): number;
  /** A deep copy (COPY, and snapshot tests' logical copies). */
  clone(): CollectionValue;
}

export type Value = string | CollectionValue;

export function typeOf(v: Value): RedisType {
  return typeof v === 'string' ? 'string' : v.type;
}

export const WRONGTYPE = 'WRONGTYPE Operation against a key holding the wrong kind of value';
