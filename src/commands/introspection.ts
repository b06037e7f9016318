/**
 * COMMAND and its subcommands (COUNT INFO DOCS LIST GETKEYS
 * GETKEYSANDFLAGS HELP), answered from the command table in Redis 7.0's
 * exact shapes: clients (redis-cli hints, cluster-aware clients computing
 * key slots) parse these replies.
 */
import { register, allCommands, lookup, lookupSub, arityOk } from './registry.js';
import { cmd, NO_KEYS, type ArgDoc, type CommandSpec, type KeySpecDoc, type CmdOptions } from './spec.js';
import { commandHasKeys, commandKeys, keySpecsOf } from './key-specs.js';
import { ERR, ReplyError } from '../protocol/errors.js';
import { globMatch } from '../keyspace/glob.js';
import type { Reply } from '../protocol/reply.js';
import type { CommandContext } from '../server/context.js';

const G = { group: 'server' };

/** Flags COMMAND shows, in Redis's order (may_replicate and sentinel are hidden there too). */
const SHOWN_FLAGS = [
  'write', 'readonly', 'denyoom', 'module', 'admin', 'pubsub', 'noscript', 'blocking', 'loading', 'stale',
  'skip_monitor', 'skip_slowlog', 'asking', 'fast', 'no_auth', 'no_mandatory_keys', 'no_async_loading',
  'no_multi', 'movablekeys', 'allow_busy',
];
const ACL_ORDER = [
  'keyspace', 'read', 'write', 'set', 'sortedset', 'list', 'hash', 'string', 'bitmap', 'hyperloglog', 'geo',
  'stream', 'pubsub', 'admin', 'fast', 'slow', 'blocking', 'dangerous', 'connection', 'transaction', 'scripting',
];

/** A command by the name a client gives, subcommands as "config|get". */
function byFullName(name: string): CommandSpec | undefined {
  const bar = name.indexOf('|');
  if (bar < 0) return lookup(name);
  const parent = lookup(name.slice(0, bar));
  return parent && lookupSub(parent, name.slice(bar + 1));
}

/** The key specs given in the command table (Redis's own, see KeySpecDoc). */
function replyKeySpecDocs(r: Reply, specs: KeySpecDoc[]): void {
  r.set(specs.length);
  for (const ks of specs) replyKeySpecDoc(r, ks);
}

function replyKeySpecDoc(r: Reply, ks: KeySpecDoc): void {
  r.map(ks.notes !== undefined ? 4 : 3);
  if (ks.notes !== undefined) {
    r.bulk('notes');
    r.bulk(ks.notes);
  }
  r.bulk('flags');
  r.set(ks.flags.length);
  for (const f of ks.flags) r.simple(f);
  r.bulk('begin_search');
  r.map(2);
  r.bulk('type');
  if ('unknown' in ks.begin) {
    r.bulk('unknown');
    r.bulk('spec');
    r.map(0);
  } else if ('index' in ks.begin) {
    r.bulk('index');
    r.bulk('spec');
    r.map(1);
    r.bulk('index');
    r.int(ks.begin.index);
  } else {
    r.bulk('keyword');
    r.bulk('spec');
    r.map(2);
    r.bulk('keyword');
    r.bulk(ks.begin.keyword);
    r.bulk('startfrom');
    r.int(ks.begin.startfrom);
  }
  r.bulk('find_keys');
  r.map(2);
  r.bulk('type');
  const find = ks.find;
  if ('unknown' in find) {
    r.bulk('unknown');
    r.bulk('spec');
    r.map(0);
    return;
  }
  if ('keynumidx' in find) {
    r.bulk('keynum');
    r.bulk('spec');
    r.map(3);
    r.bulk('keynumidx');
    r.int(find.keynumidx);
    r.bulk('firstkey');
    r.int(find.firstkey);
    r.bulk('keystep');
    r.int(find.keystep);
    return;
  }
  r.bulk('range');
  r.bulk('spec');
  r.map(3);
  r.bulk('lastkey');
  r.int(find.lastkey);
  r.bulk('keystep');
  r.int(find.keystep);
  r.bulk('limit');
  r.int(find.limit);
}

function replyKeySpecs(r: Reply, spec: CommandSpec): void {
  replyKeySpecDocs(r, keySpecsOf(spec));
}

function replyInfo(r: Reply, spec: CommandSpec | undefined): void {
  if (spec === undefined) return r.null();
  r.array(10);
  r.bulk(spec.name);
  r.int(spec.arity);
  const flags = SHOWN_FLAGS.filter((f) => (spec.flags as string[]).includes(f));
  r.set(flags.length);
  for (const f of flags) r.simple(f);
  r.int(spec.keys.first);
  r.int(spec.keys.last);
  r.int(spec.keys.step);
  const acl = ACL_ORDER.filter((c) => spec.acl.includes(c));
  r.set(acl.length);
  for (const c of acl) r.simple('@' + c);
  const tips = spec.tips ?? [];
  r.set(tips.length);
  for (const t of tips) r.bulk(t);
  replyKeySpecs(r, spec);
  const subs = spec.subcommands ?? [];
  if (subs.length === 0) r.set(0);
  else {
    r.array(subs.length);
    for (const s of subs) replyInfo(r, s);
  }
}

function replyArgs(r: Reply, args: ArgDoc[]): void {
  r.array(args.length);
  for (const a of args) {
    const flags: string[] = [];
    if (a.optional) flags.push('optional');
    if (a.multiple) flags.push('multiple');
    if (a.multipleToken) flags.push('multiple_token');
    const nested = a.type === 'oneof' || a.type === 'block';
    const keyIdx = a.type === 'key';
    const fields: [string, string | undefined][] = [
      ['token', a.token],
      ['summary', a.summary],
      ['since', a.since],
      ['deprecated_since', a.deprecatedSince],
    ];
    const present = fields.filter(([, v]) => v !== undefined) as [string, string][];
    r.map(2 + (keyIdx ? 1 : 0) + present.length + (flags.length ? 1 : 0) + (nested ? 1 : 0));
    r.bulk('name');
    r.bulk(a.name);
    r.bulk('type');
    r.bulk(a.type);
    if (keyIdx) {
      r.bulk('key_spec_index');
      r.int(a.keySpecIndex ?? 0);
    }
    for (const [k, v] of present) {
      r.bulk(k);
      r.bulk(v);
    }
    if (flags.length) {
      r.bulk('flags');
      r.set(flags.length);
      for (const f of flags) r.simple(f);
    }
    if (nested) {
      r.bulk('arguments');
      replyArgs(r, a.arguments ?? []);
    }
  }
}

function replyDocs(r: Reply, spec: CommandSpec): void {
  const subs = spec.subcommands ?? [];
  const n =
    3 +
    (spec.complexity ? 1 : 0) +
    (spec.docFlags ? 1 : 0) +
    (spec.deprecatedSince ? 1 : 0) +
    (spec.replacedBy ? 1 : 0) +
    (spec.history ? 1 : 0) +
    (spec.args ? 1 : 0) +
    (subs.length ? 1 : 0);
  r.map(n);
  r.bulk('summary');
  r.bulk(spec.summary);
  r.bulk('since');
  r.bulk(spec.since);
  r.bulk('group');
  r.bulk(spec.group);
  if (spec.complexity) {
    r.bulk('complexity');
    r.bulk(spec.complexity);
  }
  if (spec.docFlags) {
    r.bulk('doc_flags');
    r.set(spec.docFlags.length);
    for (const f of spec.docFlags) r.simple(f);
  }
  if (spec.deprecatedSince) {
    r.bulk('deprecated_since');
    r.bulk(spec.deprecatedSince);
  }
  if (spec.replacedBy) {
    r.bulk('replaced_by');
    r.bulk(spec.replacedBy);
  }
  if (spec.history) {
    r.bulk('history');
    r.array(spec.history.length);
    for (const [version, change] of spec.history) r.bulks([version, change]);
  }
  if (spec.args) {
    r.bulk('arguments');
    replyArgs(r, spec.args);
  }
  if (subs.length) {
    r.bulk('subcommands');
    r.map(subs.length);
    for (const s of subs) {
      r.bulk(s.name);
      replyDocs(r, s);
    }
  }
}

function getKeys(ctx: CommandContext, args: string[], withFlags: boolean): void {
  const argv = args.slice(2);
  let spec = lookup(argv[0]);
  if (spec !== undefined && spec.subcommands !== undefined && argv.length >= 2) spec = lookupSub(spec, argv[1]);
  if (spec === undefined) throw new ReplyError('ERR Invalid command specified');
  if (!commandHasKeys(spec)) throw new ReplyError('ERR The command has no key arguments');
  if (!arityOk(spec, argv.length)) throw new ReplyError('ERR Invalid number of arguments specified for command');
  const keys = commandKeys(spec, argv);
  if (keys.length === 0) {
    // EVAL with no keys, FCALL...: keys are optional for them (Redis 7.0).
    if ((spec.flags as string[]).includes('no_mandatory_keys')) return ctx.r.array(0);
    throw new ReplyError('ERR Invalid arguments specified for command');
  }
  ctx.r.array(keys.length);
  for (const { pos, flags } of keys) {
    if (!withFlags) {
      ctx.r.bulk(argv[pos]);
      continue;
    }
    ctx.r.array(2);
    ctx.r.bulk(argv[pos]);
    ctx.r.set(flags.length);
    for (const f of flags) ctx.r.simple(f);
  }
}

function list(ctx: CommandContext, args: string[]): void {
  let filter: ((s: CommandSpec) => boolean) | null = null;
  if (args.length > 2) {
    if (args.length !== 5 || args[2].toLowerCase() !== 'filterby') throw new ReplyError(ERR.syntax);
    const arg = args[4];
    switch (args[3].toLowerCase()) {
      case 'module':
        filter = () => false;
        break;
      case 'aclcat':
        filter = (s) => s.acl.includes(arg.toLowerCase());
        break;
      case 'pattern':
        filter = (s) => globMatch(arg, s.name, true);
        break;
      default:
        throw new ReplyError(ERR.syntax);
    }
  }
  const out: string[] = [];
  const visit = (s: CommandSpec) => {
    if (filter === null || filter(s)) out.push(s.name);
    for (const sub of s.subcommands ?? []) visit(sub);
  };
  for (const s of allCommands()) visit(s);
  ctx.r.bulks(out);
}

const HELP = [
  'COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  '(no subcommand)',
  '    Return details about all Redis commands.',
  'COUNT',
  '    Return the total number of commands in this Redis server.',
  'LIST',
  '    Return a list of all commands in this Redis server.',
  'INFO [<command-name> ...]',
  '    Return details about multiple Redis commands.',
  '    If no command names are given, documentation details for all',
  '    commands are returned.',
  'DOCS [<command-name> ...]',
  '    Return documentation details about multiple Redis commands.',
  '    If no command names are given, documentation details for all',
  '    commands are returned.',
  'GETKEYS <full-command>',
  '    Return the keys from a full Redis command.',
  'GETKEYSANDFLAGS <full-command>',
  '    Return the keys and the access flags from a full Redis command.',
  'HELP',
  '    Prints this help.',
];

function infoAll(ctx: CommandContext): void {
  const all = allCommands();
  ctx.r.array(all.length);
  for (const s of all) replyInfo(ctx.r, s);
}

/** Redis 7.0's COMMAND DOCS for these entries. */
const DOCS: Record<string, Partial<CmdOptions>> = {
  count: { summary: 'Get total number of Redis commands', complexity: 'O(1)' },
  info: { summary: 'Get array of specific Redis command details, or all when no argument is given.', complexity: 'O(N) where N is the number of commands to look up', history: [['7.0.0', 'Allowed to be called with no argument to get info on all commands.']] },
  docs: { summary: 'Get array of specific Redis command documentation', complexity: 'O(N) where N is the number of commands to look up' },
  list: { summary: 'Get an array of Redis command names', complexity: 'O(N) where N is the total number of Redis commands' },
  getkeys: { summary: 'Extract keys given a full Redis command', complexity: 'O(N) where N is the number of arguments to the command' },
  getkeysandflags: { summary: 'Extract keys and access flags given a full Redis command', complexity: 'O(N) where N is the number of arguments to the command' },
  help: { summary: 'Show helpful text about the different subcommands', complexity: 'O(1)' },
};

const sub = (name: string, arity: number, summary: string, handler: CommandSpec['handler'], since = '2.8.13', tips?: string[]) =>
  cmd(`command|${name}`, arity, 'loading stale', NO_KEYS, 'slow connection', { group: 'server', summary, since, tips, ...DOCS[name] }, handler);
const ANY_ORDER = ['nondeterministic_output_order'];

register({
  ...cmd('command', -1, 'loading stale', NO_KEYS, 'slow connection', { ...G, since: '2.8.13', tips: ['nondeterministic_output_order'], summary: 'Get array of Redis command details', complexity: 'O(N) where N is the total number of Redis commands' }, infoAll),
  subcommands: [
    sub('count', 2, 'Returns a count of commands.', (ctx) => ctx.r.int(allCommands().length)),
    sub('info', -2, 'Returns information about one, multiple or all commands.', (ctx, args) => {
      if (args.length === 2) return infoAll(ctx);
      ctx.r.array(args.length - 2);
      for (let i = 2; i < args.length; i++) replyInfo(ctx.r, byFullName(args[i]));
    }, undefined, ANY_ORDER),
    sub('docs', -2, 'Returns documentary information about one, multiple or all commands.', (ctx, args) => {
      const specs = args.length === 2 ? allCommands() : args.slice(2).map(byFullName).filter((s): s is CommandSpec => s !== undefined);
      ctx.r.map(specs.length);
      for (const s of specs) {
        ctx.r.bulk(s.name);
        replyDocs(ctx.r, s);
      }
    }, '7.0.0', ANY_ORDER),
    sub('list', -2, 'Returns a list of command names.', list, '7.0.0', ANY_ORDER),
    sub('getkeys', -4, 'Extracts the key names from an arbitrary command.', (ctx, args) => getKeys(ctx, args, false)),
    sub('getkeysandflags', -4, 'Extracts the key names and access flags for an arbitrary command.', (ctx, args) => getKeys(ctx, args, true), '7.0.0'),
    sub('help', 2, 'Returns helpful text about the different subcommands.', (ctx) => ctx.r.bulks(HELP), '5.0.0'),
  ],
});
