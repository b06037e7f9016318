/**
 * How each data type is written into and read back from a snapshot. Every
 * type registers its codec next to its structure (src/types/<type>.ts), so
 * the snapshot format does not need to know a type's internals.
 *
 * A value is written as a sequence of pieces (flat arrays of at most
 * `maxItems` elements), so a 10M-member sorted set is serialized a slice at a
 * time instead of blocking the event loop; the reader rebuilds it piece by
 * piece. Strings inside pieces are latin1 JS strings (binary-safe); numbers
 * (zset scores) are JS numbers.
 */
import type { CollectionValue, RedisType } from '../types/value.js';

export interface ValueBuilder {
  add(piece: unknown[]): void;
  done(): CollectionValue;
}

export interface TypeCodec {
  type: Exclude<RedisType, 'string'>;
  /**
   * The value's contents as of the iterator's first next(), piece by piece,
   * even if the value changes between pieces (src/types/before-images.ts).
   * Drain the iterator or call return(): an open one costs the value its
   * before-images. A member may come twice, with the same value.
   */
  pieces(v: CollectionValue, maxItems: number): IterableIterator<unknown[]>;
  /** Rebuild a value from the pieces in the order written (a repeated member overwrites itself). */
  builder(): ValueBuilder;
}

const codecs = new Map<string, TypeCodec>();

export function registerCodec(codec: TypeCodec): void {
  codecs.set(codec.type, codec);
}

export function codecFor(type: string): TypeCodec {
  const c = codecs.get(type);
  if (c === undefined) throw new Error(`no snapshot codec for type ${type}`);
  return c;
}
