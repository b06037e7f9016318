/**
 * 32-bit string hash for the key table: FNV-1a over the latin1 chars with a
 * murmur3 finaliser, because the table indexes by the low bits and plain
 * FNV-1a mixes those poorly for keys that differ only at the end ("key:1",
 * "key:2", ...).
 */
export function hashKey(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return finish(h);
}

/** hashKey of the latin1 string held in bytes[start, end) (a key kept in a ValueStore). */
export function hashBytes(bytes: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) {
    h ^= bytes[i];
    h = Math.imul(h, 0x01000193);
  }
  return finish(h);
}

function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
