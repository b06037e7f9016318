/**
 * Whether a user may run one invocation (Redis's ACLCheckAllUserCommandPerm):
 * some selector must allow the command (or subcommand, or its first
 * argument), every key it names with the access the command's key specs
 * say (read for `access`, write for `insert`/`delete`/`update`), and every
 * channel it publishes or subscribes to. Keys come from the same functions
 * COMMAND GETKEYSANDFLAGS answers with, so the key specs are the one truth.
 */
import type { CommandSpec } from '../commands/spec.js';
import { commandKeys } from '../commands/key-specs.js';
import { globMatch } from '../keyspace/glob.js';
import { READ, WRITE, type Selector } from './selector.js';
import type { User } from './user.js';

export const ACL_OK = 0;
export const DENIED_CMD = 1;
export const DENIED_KEY = 2;
export const DENIED_AUTH = 3;
export const DENIED_CHANNEL = 4;

/** Shard channels sit where keys would (Redis gives them NOT_KEY key specs): never checked as keys. */
const CHANNEL_NOT_KEY = new Set(['spublish', 'ssubscribe', 'sunsubscribe']);

/** Read/write permission a key needs, from its key-spec flags. */
function neededPerm(flags: string[]): number {
  let p = 0;
  for (const f of flags) {
    const l = f.toLowerCase();
    if (l === 'access') p |= READ;
    else if (l === 'insert' || l === 'delete' || l === 'update') p |= WRITE;
  }
  return p;
}

interface KeyRef {
  pos: number;
  perm: number;
}

/** The keys of an invocation with the access each needs, found as COMMAND GETKEYSANDFLAGS finds them. */
function keyRefs(spec: CommandSpec, args: string[]): KeyRef[] {
  if (CHANNEL_NOT_KEY.has(spec.name)) return [];
  const out: KeyRef[] = [];
  for (const k of commandKeys(spec, args)) {
    if (k.flags.some((f) => f.toLowerCase() === 'not_key')) continue;
    out.push({ pos: k.pos, perm: neededPerm(k.flags) });
  }
  return out;
}

/** The channels an invocation publishes or subscribes to (unsubscribing needs no permission). */
function channelRefs(spec: CommandSpec, args: string[]): { pos: number; pattern: boolean }[] | null {
  switch (spec.name) {
    case 'publish':
    case 'spublish':
      return [{ pos: 1, pattern: false }];
    case 'subscribe':
    case 'ssubscribe':
    case 'psubscribe': {
      const pattern = spec.name === 'psubscribe';
      const out = [];
      for (let i = 1; i < args.length; i++) out.push({ pos: i, pattern });
      return out;
    }
    default:
      return null;
  }
}

function keyAllowed(sel: Selector, key: string, perm: number): boolean {
  if (sel.allKeys) return true;
  for (const p of sel.patterns) {
    if ((p.flags & perm) !== perm) continue;
    if (globMatch(p.pattern, key)) return true;
  }
  return false;
}

/** A PSUBSCRIBE pattern must be granted literally; a channel may match a granted pattern. */
export function channelAllowedBy(list: string[], channel: string, isPattern: boolean): boolean {
  for (const p of list) if (isPattern ? p === channel : globMatch(p, channel)) return true;
  return false;
}

function commandAllowed(sel: Selector, spec: CommandSpec, args: string[]): boolean {
  if (sel.allCommands || spec.pre?.noAuth || sel.allowed.has(spec)) return true;
  const fa = sel.firstArgs?.get(spec);
  if (fa === undefined || args.length < 2) return false;
  const first = args[spec.name.includes('|') ? 2 : 1].toLowerCase();
  return fa.some((a) => a.toLowerCase() === first);
}

/** One selector's verdict; `pos` is the refused key's or channel's argument index. */
function selectorCheck(sel: Selector, spec: CommandSpec, args: string[], keys: () => KeyRef[]): { res: number; pos: number } {
  if (!commandAllowed(sel, spec, args)) return { res: DENIED_CMD, pos: 0 };
  if (!sel.allKeys) {
    for (const k of keys()) if (!keyAllowed(sel, args[k.pos], k.perm)) return { res: DENIED_KEY, pos: k.pos };
  }
  if (!sel.allChannels) {
    const chans = channelRefs(spec, args);
    if (chans !== null) {
      for (const ch of chans) if (!channelAllowedBy(sel.channels, args[ch.pos], ch.pattern)) return { res: DENIED_CHANNEL, pos: ch.pos };
    }
  }
  return { res: ACL_OK, pos: 0 };
}

/**
 * The verdict for the whole user: allowed if one selector allows it; else the
 * most specific refusal (command < key < channel) at the latest argument.
 */
export function checkCommand(user: User, spec: CommandSpec, args: string[]): { res: number; pos: number } {
  if (user.unrestricted) return { res: ACL_OK, pos: 0 };
  let cached: KeyRef[] | null = null;
  const keys = () => (cached ??= keyRefs(spec, args));
  let relevant = DENIED_CMD;
  let lastPos = 0;
  for (const sel of user.selectors) {
    const r = selectorCheck(sel, spec, args, keys);
    if (r.res === ACL_OK) return r;
    if (r.res > relevant || (r.res === relevant && r.pos > lastPos)) {
      relevant = r.res;
      lastPos = r.pos;
    }
  }
  return { res: relevant, pos: lastPos };
}

/**
 * Redis's ACLUserCheckCmdWithUnrestrictedKeyAccess: some selector allows the
 * invocation and has `perm` on every key (SORT's BY and GET name keys no
 * key spec can show).
 */
export function allowedWithAllKeys(user: User, spec: CommandSpec, args: string[], perm: number): boolean {
  if (user.unrestricted) return true;
  let cached: KeyRef[] | null = null;
  const keys = () => (cached ??= keyRefs(spec, args));
  for (const sel of user.selectors) {
    if (selectorCheck(sel, spec, args, keys).res !== ACL_OK) continue;
    if (sel.allKeys || sel.patterns.some((p) => (p.flags & perm) === perm && p.pattern === '*')) return true;
  }
  return false;
}

/** The NOPERM error a refused command gets at top level (Redis's processCommand). */
export function nopermError(res: number, spec: CommandSpec): string {
  if (res === DENIED_CMD) return `NOPERM this user has no permissions to run the '${spec.name}' command`;
  if (res === DENIED_KEY) return 'NOPERM this user has no permissions to access one of the keys used as arguments';
  if (res === DENIED_CHANNEL) return 'NOPERM this user has no permissions to access one of the channels used as arguments';
  return 'NOPERM no permission';
}

/** Redis's getAclErrorMessage, for scripts ("The user executing the script ..."). */
export function aclErrorMessage(res: number): string {
  if (res === DENIED_CMD) return "can't run this command or subcommand";
  if (res === DENIED_KEY) return "can't access at least one of the keys mentioned in the command arguments";
  if (res === DENIED_CHANNEL) return "can't publish to the channel mentioned in the command";
  return 'lacking the permissions for the command';
}
