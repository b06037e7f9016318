/**
 * Redis 7.0's ACL categories, in its order (ACL CAT lists them so, and the
 * best-fit description of a user's commands tries them so).
 */
export const CATEGORIES = [
  'keyspace', 'read', 'write', 'set', 'sortedset', 'list', 'hash', 'string', 'bitmap', 'hyperloglog', 'geo',
  'stream', 'pubsub', 'admin', 'fast', 'slow', 'blocking', 'dangerous', 'connection', 'transaction', 'scripting',
] as const;

/** The category's canonical name, or null (Redis compares case-insensitively). */
export function categoryByName(name: string): string | null {
  const l = name.toLowerCase();
  return (CATEGORIES as readonly string[]).includes(l) ? l : null;
}
