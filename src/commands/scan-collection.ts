/**
 * SSCAN / ZSCAN (and anything else scanning one collection): argument
 * parsing and the reply, as Redis's scanGenericCommand does them.
 *
 * The whole collection is returned in one call with cursor 0. Redis does
 * the same for small encodings; for big ones it pages, but paging over a JS
 * Set/Map by position could skip elements that stay present while others
 * are removed, which would break SCAN's guarantee. One full pass keeps it.
 */
import { ERR, ReplyError, parseIntArg } from '../protocol/errors.js';
import { globMatch } from '../keyspace/glob.js';
import type { CommandContext } from '../server/context.js';

export interface ScanOptions {
  cursor: string;
  pattern: string | null;
  count: number;
}

/** Parse `cursor [MATCH pattern] [COUNT n]` starting at args[at]. */
export function scanArgs(args: string[], at: number): ScanOptions {
  const cursor = args[at];
  if (!/^\d+$/.test(cursor) || BigInt(cursor) > 0xffffffffffffffffn) throw new ReplyError('ERR invalid cursor');
  let pattern: string | null = null;
  let count = 10;
  for (let i = at + 1; i < args.length; i += 2) {
    const opt = args[i].toLowerCase();
    const left = args.length - i;
    if (opt === 'count' && left >= 2) {
      count = parseIntArg(args[i + 1]);
      if (count < 1) throw new ReplyError(ERR.syntax);
    } else if (opt === 'match' && left >= 2) {
      pattern = args[i + 1];
      if (pattern === '*') pattern = null;
    } else {
      throw new ReplyError(ERR.syntax);
    }
  }
  return { cursor, pattern, count };
}

/**
 * Reply `[cursor, [items...]]`; items are groups of `width` strings (a
 * member, or a member and its score) filtered by MATCH on the first.
 */
export function replyScan(ctx: CommandContext, o: ScanOptions, items: string[], width: number): void {
  let out = items;
  if (o.pattern !== null) {
    out = [];
    for (let i = 0; i < items.length; i += width) {
      if (globMatch(o.pattern, items[i])) for (let j = 0; j < width; j++) out.push(items[i + j]);
    }
  }
  ctx.r.array(2);
  ctx.r.bulk('0');
  ctx.r.bulks(out);
}
