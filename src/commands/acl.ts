/**
 * The ACL command family (Redis 7.0's aclCommand): SETUSER GETUSER DELUSER
 * LIST USERS WHOAMI CAT GENPASS LOG DRYRUN SAVE LOAD HELP. The users,
 * rules and checks live in src/acl/.
 */
import { randomBytes } from 'node:crypto';
import { register, lookup, lookupSub, arityOk } from './registry.js';
import { cmd, NO_KEYS, type CmdOptions, type CommandSpec } from './spec.js';
import { ERR, parseInt64, ReplyError } from '../protocol/errors.js';
import { getString } from '../config/params.js';
import { replyHelp } from './help.js';
import type { CommandContext } from '../server/context.js';
import type { Selector } from '../acl/selector.js';
import { CATEGORIES, categoryByName } from '../acl/categories.js';
import { topLevel } from '../acl/commands.js';
import { allUsers, deleteUser, getUser, hasSpacesOrNul, replaceUsers, setUser } from '../acl/users.js';
import { checkCommand, ACL_OK, DENIED_CMD, DENIED_KEY } from '../acl/check.js';
import { logEntries, reasonName, resetLog } from '../acl/log.js';
import { killClientsOf, revokeSubscribers } from '../acl/sessions.js';
import { parseAclFile, saveAclFile } from '../acl/file.js';
import { log } from '../log.js';
import '../acl/params.js';

const G = { group: 'server', since: '6.0.0' };

const NO_ACLFILE =
  'ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.';

function setuser(ctx: CommandContext, args: string[]): void {
  const name = args[2];
  if (hasSpacesOrNul(name)) throw new ReplyError("ERR Usernames can't contain spaces or null characters");
  const { error, before, user } = setUser(name, args.slice(3));
  if (error !== null) throw new ReplyError('ERR ' + error);
  if (before !== null && user !== null) revokeSubscribers(ctx.server, ctx.client, user, before);
  ctx.r.ok();
}

function deluser(ctx: CommandContext, args: string[]): void {
  for (let j = 2; j < args.length; j++) if (args[j] === 'default') throw new ReplyError("ERR The 'default' user cannot be removed");
  const gone = [];
  for (let j = 2; j < args.length; j++) {
    const u = deleteUser(args[j]);
    if (u !== undefined) gone.push(u);
  }
  killClientsOf(ctx.server, ctx.client, gone);
  ctx.r.int(gone.length);
}

function replySelector(ctx: CommandContext, s: Selector): void {
  const r = ctx.r;
  r.bulk('commands');
  r.bulk(s.describeCommands());
  r.bulk('keys');
  r.bulk(s.describeKeys());
  r.bulk('channels');
  r.bulk(s.describeChannels());
}

function getuser(ctx: CommandContext, args: string[]): void {
  const u = getUser(args[2]);
  const r = ctx.r;
  if (u === undefined) return r.null();
  r.map(6);
  r.bulk('flags');
  const flags = u.flagNames();
  r.set(flags.length);
  for (const f of flags) r.bulk(f);
  r.bulk('passwords');
  r.bulks(u.passwords);
  replySelector(ctx, u.root);
  r.bulk('selectors');
  r.array(u.selectors.length - 1);
  for (const s of u.selectors.slice(1)) {
    r.map(3);
    replySelector(ctx, s);
  }
}

function cat(ctx: CommandContext, args: string[]): void {
  if (args.length === 2) return ctx.r.bulks(CATEGORIES);
  if (args.length !== 3) throw subcommandSyntax(args);
  const c = categoryByName(args[2]);
  if (c === null) throw new ReplyError(`ERR Unknown category '${args[2].slice(0, 128)}'`);
  const out: string[] = [];
  const visit = (specs: CommandSpec[]) => {
    for (const s of specs) {
      if (s.acl.includes(c)) out.push(s.name);
      if (s.subcommands) visit(s.subcommands);
    }
  };
  visit(topLevel());
  ctx.r.bulks(out);
}

function subcommandSyntax(args: string[]): ReplyError {
  return new ReplyError(`ERR unknown subcommand or wrong number of arguments for '${args[1].slice(0, 128)}'. Try ${args[0].toUpperCase()} HELP.`);
}

function genpass(ctx: CommandContext, args: string[]): void {
  if (args.length > 3) throw subcommandSyntax(args);
  let bits = 256;
  if (args.length === 3) {
    const v = parseInt64(args[2]);
    if (v === null) throw new ReplyError(ERR.notInt);
    bits = v > 1000000n ? 1000000 : v < -1n ? -1 : Number(v);
  }
  if (bits <= 0 || bits > 4096) {
    throw new ReplyError('ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096');
  }
  const chars = Math.floor((bits + 3) / 4);
  ctx.r.bulk(randomBytes(Math.ceil(chars / 2)).toString('hex').slice(0, chars));
}

function aclLog(ctx: CommandContext, args: string[]): void {
  if (args.length > 3) throw subcommandSyntax(args);
  let count = 10;
  if (args.length === 3) {
    if (args[2].toLowerCase() === 'reset') {
      resetLog();
      return ctx.r.ok();
    }
    const v = parseInt64(args[2]);
    if (v === null) throw new ReplyError(ERR.notInt);
    count = v < 0n ? 0 : v > 1000000000n ? 1000000000 : Number(v);
  }
  const entries = logEntries().slice(0, count);
  const r = ctx.r;
  const now = Date.now();
  r.array(entries.length);
  for (const e of entries) {
    r.map(7);
    r.bulk('count');
    r.int(e.count);
    r.bulk('reason');
    r.bulk(reasonName(e.reason));
    r.bulk('context');
    r.bulk(e.context);
    r.bulk('object');
    r.bulk(e.object);
    r.bulk('username');
    r.bulk(e.username);
    r.bulk('age-seconds');
    r.double((now - e.ctime) / 1000);
    r.bulk('client-info');
    r.bulk(e.clientInfo);
  }
}

function dryrun(ctx: CommandContext, args: string[]): void {
  const u = getUser(args[2]);
  if (u === undefined) throw new ReplyError(`ERR User '${args[2]}' not found`);
  const argv = args.slice(3);
  let spec = lookup(argv[0]);
  if (spec !== undefined && spec.subcommands !== undefined && argv.length >= 2) spec = lookupSub(spec, argv[1]);
  if (spec === undefined) throw new ReplyError(`ERR Command '${argv[0]}' not found`);
  if (!arityOk(spec, argv.length)) throw new ReplyError(ERR.arity(spec.name));
  const v = checkCommand(u, spec, argv);
  if (v.res === ACL_OK) return ctx.r.ok();
  if (v.res === DENIED_CMD) return ctx.r.bulk(`This user has no permissions to run the '${spec.name}' command`);
  if (v.res === DENIED_KEY) return ctx.r.bulk(`This user has no permissions to access the '${argv[v.pos]}' key`);
  ctx.r.bulk(`This user has no permissions to access the '${argv[v.pos]}' channel`);
}

function aclfile(): string {
  const f = getString('aclfile');
  if (f === '') throw new ReplyError(NO_ACLFILE);
  return f;
}

function load(ctx: CommandContext): void {
  const parsed = parseAclFile(aclfile());
  if ('error' in parsed) throw new ReplyError('ERR ' + parsed.error);
  const dropped = replaceUsers(parsed.users);
  killClientsOf(ctx.server, ctx.client, dropped);
  ctx.r.ok();
}

function save(ctx: CommandContext): void {
  const f = aclfile();
  try {
    saveAclFile(f, allUsers());
  } catch (e) {
    log.warn({ file: f, err: (e as Error).message }, 'Writing ACL file for ACL SAVE failed');
    throw new ReplyError('ERR There was an error trying to save the ACLs. Please check the server logs for more information');
  }
  ctx.r.ok();
}

const HELP = [
  'CAT [<category>]',
  '    List all commands that belong to <category>, or all command categories',
  '    when no category is specified.',
  'DELUSER <username> [<username> ...]',
  '    Delete a list of users.',
  'DRYRUN <username> <command> [<arg> ...]',
  '    Returns whether the user can execute the given command without executing the command.',
  'GETUSER <username>',
  "    Get the user's details.",
  'GENPASS [<bits>]',
  '    Generate a secure 256-bit user password. The optional `bits` argument can',
  '    be used to specify a different size.',
  'LIST',
  '    Show users details in config file format.',
  'LOAD',
  '    Reload users from the ACL file.',
  'LOG [<count> | RESET]',
  '    Show the ACL log entries.',
  'SAVE',
  '    Save the current config to the ACL file.',
  'SETUSER <username> <attribute> [<attribute> ...]',
  '    Create or modify a user with the specified attributes.',
  'USERS',
  '    List all the registered usernames.',
  'WHOAMI',
  '    Return the current connection username.',
];

const ADMIN = 'admin noscript loading stale';
/** Redis 7.0's COMMAND DOCS for these entries. */
const DOCS: Record<string, Partial<CmdOptions> & { summary: string }> = {
  cat: { summary: 'List the ACL categories or the commands inside a category', complexity: 'O(1) since the categories and commands are a fixed set.' },
  deluser: { summary: 'Remove the specified ACL users and the associated rules', complexity: 'O(1) amortized time considering the typical user.' },
  dryrun: { summary: 'Returns whether the user can execute the given command without executing the command.', complexity: 'O(1).' },
  genpass: { summary: 'Generate a pseudorandom secure password to use for ACL users', complexity: 'O(1)' },
  getuser: {
    summary: 'Get the rules for a specific ACL user',
    complexity: 'O(N). Where N is the number of password, command and pattern rules that the user has.',
    history: [
      ['6.2.0', 'Added Pub/Sub channel patterns.'],
      ['7.0.0', 'Added selectors and changed the format of key and channel patterns from a list to their rule representation.'],
    ],
  },
  help: { summary: 'Show helpful text about the different subcommands', complexity: 'O(1)' },
  list: { summary: 'List the current ACL rules in ACL config file format', complexity: 'O(N). Where N is the number of configured users.' },
  load: { summary: 'Reload the ACLs from the configured ACL file', complexity: 'O(N). Where N is the number of configured users.' },
  log: { summary: 'List latest events denied because of ACLs in place', complexity: 'O(N) with N being the number of entries shown.' },
  save: { summary: 'Save the current ACL rules in the configured ACL file', complexity: 'O(N). Where N is the number of configured users.' },
  setuser: {
    summary: 'Modify or create the rules for a specific ACL user',
    complexity: 'O(N). Where N is the number of rules provided.',
    history: [
      ['6.2.0', 'Added Pub/Sub channel patterns.'],
      ['7.0.0', 'Added selectors and key based permissions.'],
    ],
  },
  users: { summary: 'List the username of all the configured ACL rules', complexity: 'O(N). Where N is the number of configured users.' },
  whoami: { summary: 'Return the name of the user associated to the current connection', complexity: 'O(1)' },
};

/** An ACL subcommand; its summary and complexity come from DOCS. */
const sub = (name: string, arity: number, flags: string, handler: CommandSpec['handler'], since = '6.0.0') =>
  cmd('acl|' + name, arity, flags, NO_KEYS, flags.includes('admin') ? 'admin slow dangerous' : 'slow', { ...G, since, ...DOCS[name] }, handler);

register({
  ...cmd('acl', -2, 'sentinel', NO_KEYS, 'slow', { ...G, summary: 'A container for Access List Control commands ', since: '6.0.0', complexity: 'Depends on subcommand.' }),
  subcommands: [
    sub('cat', -2, 'noscript loading stale', cat),
    sub('deluser', -3, ADMIN, deluser),
    sub('dryrun', -4, ADMIN, dryrun, '7.0.0'),
    sub('genpass', -2, 'noscript loading stale', genpass),
    sub('getuser', 3, ADMIN, getuser),
    sub('help', 2, 'loading stale', (ctx) => replyHelp(ctx.r, 'ACL', HELP)),
    sub('list', 2, ADMIN, (ctx) => ctx.r.bulks(allUsers().map((u) => `user ${u.name} ${u.describe()}`))),
    sub('load', 2, ADMIN, load),
    sub('log', -2, ADMIN, aclLog),
    sub('save', 2, ADMIN, save),
    sub('setuser', -3, ADMIN, setuser),
    sub('users', 2, ADMIN, (ctx) => ctx.r.bulks(allUsers().map((u) => u.name))),
    sub('whoami', 2, 'noscript loading stale', (ctx) => ctx.r.bulk(ctx.client.user.name)),
  ],
});
