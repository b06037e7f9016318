/**
 * MODULE: this server loads no Redis modules (they are C shared objects for
 * Redis's own API). MODULE LIST answers the empty list; LOAD, LOADEX and
 * UNLOAD are refused as Redis refuses them with enable-module-command no.
 */
import { replyHelp } from './help.js';
import { register } from './registry.js';
import { cmd, NO_KEYS, type CommandSpec, type CmdOptions } from './spec.js';
import { ReplyError } from '../protocol/errors.js';


const G = { group: 'server' as const, since: '4.0.0' };
const REFUSED =
  'ERR MODULE command not allowed. If the enable-module-command option is set to "local", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.';
const refuse: CommandSpec['handler'] = () => {
  throw new ReplyError(REFUSED);
};
/** Redis 7.0's COMMAND DOCS for these entries. */
const DOCS: Record<string, Partial<CmdOptions>> = {
  list: { complexity: 'O(N) where N is the number of loaded modules.' },
  load: { complexity: 'O(1)' },
  loadex: { complexity: 'O(1)' },
  unload: { complexity: 'O(1)' },
  help: { complexity: 'O(1)' },
};

const sub = (name: string, arity: number, flags: string, summary: string, handler: CommandSpec['handler'], since = '4.0.0', tips?: string[]) =>
  cmd(`module|${name}`, arity, flags, NO_KEYS, flags.includes('admin') ? 'admin slow dangerous' : 'slow', { ...G, summary, since, tips, ...DOCS[name] }, handler);

register({
  ...cmd('module', -2, '', NO_KEYS, 'slow', { ...G, summary: 'A container for module commands', complexity: 'Depends on subcommand.' }),
  subcommands: [
    sub('list', 2, 'admin noscript', 'List all modules loaded by the server', (ctx) => ctx.r.array(0), undefined, ['nondeterministic_output_order']),
    sub('load', -3, 'no_async_loading admin noscript', 'Load a module', refuse),
    sub('loadex', -3, 'no_async_loading admin noscript', 'Load a module with extended parameters', refuse, '7.0.0'),
    sub('unload', 3, 'no_async_loading admin noscript', 'Unload a module', refuse),
    sub('help', 2, 'loading stale', 'Show helpful text about the different subcommands', (ctx) =>
      replyHelp(ctx.r, 'MODULE', [
        'LIST',
        '    Return a list of loaded modules.',
        'LOAD <path> [<arg> ...]',
        '    Load a module library from <path>, passing to it any optional arguments.',
        'LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]',
        '    Load a module library from <path>, while passing it module configurations and optional arguments.',
        'UNLOAD <name>',
        '    Unload a module.',
      ]), '5.0.0'),
  ],
});
