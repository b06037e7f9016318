/**
 * String family (t_string.c): GET SET and friends.
 */
import { register } from './registry.js';
import { cmd } from './spec.js';
import { ERR, ReplyError } from '../protocol/errors.js';

const G = { group: 'string' };

register(
  cmd('get', 2, 'readonly fast', [1, 1, 1], 'read string fast', { ...G, summary: 'Returns the string value of a key.' }, (ctx, args) => {
    const v = ctx.db.get(args[1]);
    if (v === undefined) ctx.r.null();
    else if (typeof v === 'string') ctx.r.bulk(v);
    else throw new ReplyError(ERR.wrongType);
  }),
  cmd('set', -3, 'write denyoom', [1, 1, 1], 'write string slow', { ...G, summary: 'Sets the string value of a key, ignoring its type.' }, (ctx, args) => {
    if (args.length !== 3) throw new ReplyError(ERR.syntax);
    ctx.db.set(args[1], args[2]);
    ctx.r.ok();
  }),
);
