/** The HELP subcommands' reply, shared by every command family. */
import type { Reply } from '../protocol/reply.js';

/** addReplyHelp: "<CMD> <subcommand> ...", the lines, then HELP, as status replies. */
export function replyHelp(r: Reply, cmd: string, lines: string[]): void {
  const all = [`${cmd} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:`, ...lines, 'HELP', '    Prints this help.'];
  r.array(all.length);
  for (const l of all) r.simple(l);
}
