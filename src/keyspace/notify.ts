/**
 * Keyspace notifications (Redis's notify.c): after a change, the command (or
 * the keyspace, for `new`, `expired`, `evicted` and `keymiss`) announces it
 * on `__keyspace@<db>__:<key>` (message: the event) and
 * `__keyevent@<db>__:<event>` (message: the key), for the classes enabled by
 * `notify-keyspace-events`.
 *
 * Off by default, and then a call costs one AND of two small integers: the
 * flags live in a module variable set whenever the parameter is, never
 * looked up per call.
 */

export const NOTIFY_KEYSPACE = 1 << 0; // K
export const NOTIFY_KEYEVENT = 1 << 1; // E
export const NOTIFY_GENERIC = 1 << 2; // g
export const NOTIFY_STRING = 1 << 3; // $
export const NOTIFY_LIST = 1 << 4; // l
export const NOTIFY_SET = 1 << 5; // s
export const NOTIFY_HASH = 1 << 6; // h
export const NOTIFY_ZSET = 1 << 7; // z
export const NOTIFY_EXPIRED = 1 << 8; // x
export const NOTIFY_EVICTED = 1 << 9; // e
export const NOTIFY_STREAM = 1 << 10; // t
/** m: not part of A, on purpose (every read miss would publish). */
export const NOTIFY_KEY_MISS = 1 << 11;
export const NOTIFY_MODULE = 1 << 13; // d
export const NOTIFY_NEW = 1 << 14; // n
const NOTIFY_ALL =
  NOTIFY_GENERIC | NOTIFY_STRING | NOTIFY_LIST | NOTIFY_SET | NOTIFY_HASH | NOTIFY_ZSET | NOTIFY_EXPIRED | NOTIFY_EVICTED | NOTIFY_STREAM | NOTIFY_MODULE;

const LETTERS: [string, number][] = [
  ['g', NOTIFY_GENERIC],
  ['$', NOTIFY_STRING],
  ['l', NOTIFY_LIST],
  ['s', NOTIFY_SET],
  ['h', NOTIFY_HASH],
  ['z', NOTIFY_ZSET],
  ['x', NOTIFY_EXPIRED],
  ['e', NOTIFY_EVICTED],
  ['t', NOTIFY_STREAM],
  ['d', NOTIFY_MODULE],
  ['n', NOTIFY_NEW],
];

/** Redis's keyspaceEventsStringToFlags: -1 for a character that names no class. */
export function eventsToFlags(classes: string): number {
  let flags = 0;
  for (const c of classes) {
    if (c === 'A') flags |= NOTIFY_ALL;
    else if (c === 'K') flags |= NOTIFY_KEYSPACE;
    else if (c === 'E') flags |= NOTIFY_KEYEVENT;
    else if (c === 'm') flags |= NOTIFY_KEY_MISS;
    else {
      const l = LETTERS.find(([ch]) => ch === c);
      if (l === undefined) return -1;
      flags |= l[1];
    }
  }
  return flags;
}

/**
 * Redis's keyspaceEventsFlagsToString: what CONFIG GET answers. One
 * deliberate difference: Redis 7.0 prints nothing for `n` when `A` is set
 * (its `n` test sits in the else branch), so its CONFIG GET and CONFIG
 * REWRITE lose new-key events; here "A" is followed by "n".
 */
export function flagsToEvents(flags: number): string {
  let s = '';
  if ((flags & NOTIFY_ALL) === NOTIFY_ALL) s = flags & NOTIFY_NEW ? 'An' : 'A';
  else for (const [c, f] of LETTERS) if (flags & f) s += c;
  if (flags & NOTIFY_KEYSPACE) s += 'K';
  if (flags & NOTIFY_KEYEVENT) s += 'E';
  if (flags & NOTIFY_KEY_MISS) s += 'm';
  return s;
}

/** The enabled classes; 0 unless K or E is among them (nothing would be published). */
let enabled = 0;

export function setNotifyFlags(flags: number): void {
  enabled = flags & (NOTIFY_KEYSPACE | NOTIFY_KEYEVENT) ? flags : 0;
}

/** Where events go: the pub/sub module publishes them (set at start-up). */
export const notifySink = { publish: (_channel: string, _message: string): void => {} };

/** Announce `event` of class `type` on key in database dbid (Redis's notifyKeyspaceEvent). */
export function notify(type: number, event: string, key: string, dbid: number): void {
  if ((enabled & type) === 0) return;
  if (enabled & NOTIFY_KEYSPACE) notifySink.publish(`__keyspace@${dbid}__:${key}`, event);
  if (enabled & NOTIFY_KEYEVENT) notifySink.publish(`__keyevent@${dbid}__:${event}`, key);
}
