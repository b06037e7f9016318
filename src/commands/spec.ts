/**
 * The declarative command table entry, modelled on Redis's command table:
 * one record drives dispatch, arity errors, COMMAND INFO/DOCS/GETKEYS,
 * ACL categories and what is allowed while loading, in MULTI or subscribed.
 */
import type { CommandContext } from '../server/context.js';

export type CommandFlag =
  | 'write'
  | 'readonly'
  | 'denyoom'
  | 'admin'
  | 'pubsub'
  | 'noscript'
  | 'blocking'
  | 'loading'
  | 'stale'
  | 'skip_monitor'
  | 'skip_slowlog'
  | 'fast'
  | 'no_auth'
  | 'may_replicate'
  | 'no_multi'
  | 'allow_busy'
  | 'movablekeys'
  | 'no_mandatory_keys'
  | 'no_async_loading'
  | 'asking';

export interface KeySpec {
  /** 1-based argument index of the first key, 0 if the command takes none. */
  first: number;
  /** Last key index; negative counts from the end (-1 = last argument). */
  last: number;
  step: number;
}

/**
 * Redis's key spec, for a command whose COMMAND INFO key spec is not the one
 * derived from `keys` and its flags (a keyword search, other flags, notes).
 */
export interface KeySpecDoc {
  flags: string[];
  notes?: string;
  /** unknown: the keys cannot be found from the arguments alone (SORT's BY and GET patterns). */
  begin: { index: number } | { keyword: string; startfrom: number } | { unknown: true };
  /** A range of keys, or (keynum) a count argument followed by that many keys, as EVAL has. */
  find: { lastkey: number; keystep: number; limit: number } | { keynumidx: number; firstkey: number; keystep: number } | { unknown: true };
}

/** Redis's key spec of a command whose key is argument `pos` (the last key `lastkey` after it: -1 for all). */
export function keyAt(pos: number, flags: string, notes?: string, lastkey = 0, keystep = 1): KeySpecDoc {
  return { flags: flags.split(' '), notes, begin: { index: pos }, find: { lastkey, keystep, limit: 0 } };
}

export interface ArgDoc {
  name: string;
  type: 'key' | 'string' | 'integer' | 'double' | 'pattern' | 'unix-time' | 'pure-token' | 'oneof' | 'block';
  token?: string;
  /** Which key spec finds a key argument (default 0). */
  keySpecIndex?: number;
  summary?: string;
  since?: string;
  deprecatedSince?: string;
  optional?: boolean;
  multiple?: boolean;
  /** Each repetition repeats the token too (BITFIELD_RO's GET ... GET ...). */
  multipleToken?: boolean;
  arguments?: ArgDoc[];
}

export type Handler = (ctx: CommandContext, args: string[]) => void;

export interface CommandSpec {
  /** Lower-case name, e.g. "get"; subcommands as "client|setname". */
  name: string;
  /** Redis arity: exact count if >= 0, at least -arity if negative (name included). */
  arity: number;
  flags: CommandFlag[];
  keys: KeySpec;
  /** ACL categories without '@', e.g. ['string', 'read', 'fast']. */
  acl: string[];
  /** Redis's group for COMMAND DOCS: string, generic, connection, server, list... */
  group: string;
  summary: string;
  since: string;
  complexity?: string;
  /** Argument docs shown as hints by redis-cli (COMMAND DOCS). */
  args?: ArgDoc[];
  /** COMMAND DOCS doc_flags: deprecated, syscmd. */
  docFlags?: string[];
  deprecatedSince?: string;
  replacedBy?: string;
  /** COMMAND DOCS history: [version, what changed]. */
  history?: [string, string][];
  /** Keys for commands whose key positions depend on arguments (movablekeys). */
  getKeys?: (args: string[]) => number[];
  /** Redis's key spec(s) when the derived one differs (COMMAND INFO). */
  keySpec?: KeySpecDoc | KeySpecDoc[];
  /** Redis's command tips (COMMAND INFO), e.g. nondeterministic_output. */
  tips?: string[];
  handler?: Handler;
  /**
   * Whether this invocation may write or propagate, for commands whose
   * flags do not say (EVAL and FCALL: it depends on the script's flags, as
   * Redis's getCommandFlags). Without it, the write and may_replicate flags decide.
   */
  mayWrite?: (args: string[]) => boolean;
  /** A key spec with VARIABLE_FLAGS: the flags of the key at argv[p] in this invocation (GETKEYSANDFLAGS). */
  keyFlags?: (argv: string[], p: number) => string[];
  /** Subcommands, for containers such as CLIENT or CONFIG. */
  subcommands?: CommandSpec[];
  /**
   * Flag tests the dispatcher makes on every call, precomputed by cmd() and
   * register() (flags.includes per command showed in profiles).
   */
  pre?: PrecomputedFlags;
}

export interface PrecomputedFlags {
  noAuth: boolean;
  noMulti: boolean;
  /** Refused while writes are denied (MISCONF): write commands and PING, as Redis. */
  denyOnMisconf: boolean;
  allowLoading: boolean;
  /** May grow memory: refused with -OOM over maxmemory (src/memory/guard.ts). */
  denyOom: boolean;
  /** Served while a script is busy (past busy-reply-threshold); others get -BUSY. */
  allowBusy: boolean;
  /** The checks a script's redis.call makes (scripting/run-context.ts). */
  noScript: boolean;
  write: boolean;
  mayReplicate: boolean;
  /** Latency events of fast commands are "fast-command", others "command". */
  fast: boolean;
  /** The dispatcher's commandstats entry for this spec, cached (see server/dispatch.ts). */
  stats: object | null;
  statsEpoch: number;
}

export function precompute(spec: CommandSpec): PrecomputedFlags {
  const f = spec.flags;
  return {
    noAuth: f.includes('no_auth'),
    noMulti: f.includes('no_multi'),
    denyOnMisconf: f.includes('write') || spec.name === 'ping',
    allowLoading: f.includes('loading'),
    denyOom: f.includes('denyoom'),
    allowBusy: f.includes('allow_busy'),
    noScript: f.includes('noscript'),
    write: f.includes('write'),
    mayReplicate: f.includes('may_replicate'),
    fast: f.includes('fast'),
    stats: null,
    statsEpoch: -1,
  };
}

/** Shorthand used by the families: cmd('get', 2, 'readonly fast', [1,1,1], 'string read fast', ...). */
export interface CmdOptions {
  group: string;
  summary: string;
  since?: string;
  complexity?: string;
  args?: ArgDoc[];
  docFlags?: string[];
  deprecatedSince?: string;
  replacedBy?: string;
  history?: [string, string][];
  getKeys?: (args: string[]) => number[];
  keySpec?: KeySpecDoc | KeySpecDoc[];
  tips?: string[];
}

export const NO_KEYS: KeySpec = { first: 0, last: 0, step: 0 };

export function cmd(
  name: string,
  arity: number,
  flags: string,
  keys: [number, number, number] | KeySpec,
  acl: string,
  opts: CmdOptions,
  handler?: Handler,
): CommandSpec {
  const ks = Array.isArray(keys) ? { first: keys[0], last: keys[1], step: keys[2] } : keys;
  const fl = flags.split(/\s+/).filter(Boolean) as CommandFlag[];
  if (opts.getKeys && !fl.includes('movablekeys')) fl.push('movablekeys');
  const spec: CommandSpec = {
    name,
    arity,
    flags: fl,
    keys: ks,
    acl: acl.split(/\s+/).filter(Boolean),
    group: opts.group,
    summary: opts.summary,
    since: opts.since ?? '1.0.0',
    complexity: opts.complexity,
    args: opts.args,
    docFlags: opts.docFlags,
    deprecatedSince: opts.deprecatedSince,
    replacedBy: opts.replacedBy,
    history: opts.history,
    getKeys: opts.getKeys,
    keySpec: opts.keySpec,
    tips: opts.tips,
    handler,
    pre: undefined,
  };
  spec.pre = precompute(spec);
  return spec;
}

/** The key argument indexes of one invocation. */
export function keyPositions(spec: CommandSpec, args: string[]): number[] {
  if (spec.getKeys) return spec.getKeys(args);
  const { first, step } = spec.keys;
  if (first === 0) return [];
  let last = spec.keys.last;
  if (last < 0) last = args.length + last;
  const out: number[] = [];
  for (let i = first; i <= last && i < args.length; i += step || 1) out.push(i);
  return out;
}
