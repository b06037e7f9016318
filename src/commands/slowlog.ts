/**
 * SLOWLOG GET / LEN / RESET / HELP (slowlog.c); the log itself is
 * src/server/slowlog.ts, fed by the dispatcher.
 */
import { replyHelp } from './help.js';
import { register } from './registry.js';
import { cmd, NO_KEYS, type CommandSpec, type CmdOptions } from './spec.js';
import { ReplyError, parseInt64 } from '../protocol/errors.js';

import { slowlogEntries, slowlogLen, slowlogReset } from '../server/slowlog.js';

const G = { group: 'server' as const, since: '2.2.12' };
const TIPS = ['request_policy:all_nodes', 'nondeterministic_output'];

/** Redis 7.0's COMMAND DOCS for these entries. */
const DOCS: Record<string, Partial<CmdOptions>> = {
  get: { history: [['4.0.0', 'Added client IP address, port and name to the reply.']] },
  len: { complexity: 'O(1)' },
  reset: { complexity: 'O(N) where N is the number of entries in the slowlog' },
  help: { complexity: 'O(1)' },
};

const sub = (name: string, arity: number, flags: string, summary: string, handler: CommandSpec['handler'], extra: Partial<Parameters<typeof cmd>[5]> = {}) =>
  cmd(`slowlog|${name}`, arity, flags, NO_KEYS, flags.includes('admin') ? 'admin slow dangerous' : 'slow', { ...G, summary, ...extra, ...DOCS[name] }, handler);

register({
  ...cmd('slowlog', -2, '', NO_KEYS, 'slow', { ...G, summary: 'A container for slow log commands', complexity: 'Depends on subcommand.' }),
  subcommands: [
    sub('get', -2, 'admin loading stale', "Get the slow log's entries", (ctx, args) => {
      if (args.length > 3) throw new ReplyError(`ERR unknown subcommand or wrong number of arguments for 'get'. Try SLOWLOG HELP.`);
      let count = 10;
      if (args.length === 3) {
        const n = parseInt64(args[2]);
        if (n === null) throw new ReplyError('ERR value is not an integer or out of range');
        if (n < -1n) throw new ReplyError('ERR count should be greater than or equal to -1');
        count = n === -1n ? Infinity : Number(n);
      }
      const r = ctx.r;
      const es = slowlogEntries(count);
      r.array(es.length);
      for (const e of es) {
        r.array(6);
        r.int(e.id);
        r.int(e.time);
        r.int(e.duration);
        r.bulks(e.args);
        r.bulk(e.peer);
        r.bulk(e.name);
      }
    }, { tips: TIPS, complexity: 'O(N) where N is the number of entries returned' }),
    sub('len', 2, 'admin loading stale', "Get the slow log's length", (ctx) => ctx.r.int(slowlogLen()), { tips: [...TIPS.slice(0, 1), 'response_policy:agg_sum', TIPS[1]] }),
    sub('reset', 2, 'admin loading stale', 'Clear all entries from the slow log', (ctx) => {
      slowlogReset();
      ctx.r.ok();
    }, { tips: ['request_policy:all_nodes', 'response_policy:all_succeeded'] }),
    sub('help', 2, 'loading stale', 'Show helpful text about the different subcommands', (ctx) =>
      replyHelp(ctx.r, 'SLOWLOG', [
        'GET [<count>]',
        '    Return top <count> entries from the slowlog (default: 10, -1 mean all).',
        '    Entries are made of:',
        '    id, timestamp, time in microseconds, arguments array, client IP and port,',
        '    client name',
        'LEN',
        '    Return the length of the slowlog.',
        'RESET',
        '    Reset the slowlog.',
      ]), { since: '6.2.0' }),
  ],
});
