/**
 * Arguments that carry secrets, hidden as "(redacted)" wherever a command
 * is shown back (MONITOR, SLOWLOG), as Redis's redactClientCommandArgument:
 * AUTH's arguments, HELLO's AUTH pair, ACL SETUSER's rules, and CONFIG SET
 * values of sensitive parameters.
 */
import type { CommandSpec } from '../commands/spec.js';
import { paramByName } from '../config/params.js';

const NONE: ReadonlySet<number> = new Set();

export function redactedArgs(spec: CommandSpec, args: string[]): ReadonlySet<number> {
  if (spec.name === 'auth') {
    const out = new Set<number>();
    for (let i = 1; i < args.length; i++) out.add(i);
    return out;
  }
  if (spec.name === 'hello') {
    const out = new Set<number>();
    for (let i = 2; i < args.length; i++) {
      if (args[i].toLowerCase() === 'auth') {
        out.add(i + 1);
        out.add(i + 2);
        i += 2;
      }
    }
    return out;
  }
  // The user name and every rule: rules hold passwords (Redis redacts them all).
  if (spec.name === 'acl|setuser') {
    const out = new Set<number>();
    for (let i = 2; i < args.length; i++) out.add(i);
    return out;
  }
  if (spec.name === 'config|set') {
    const out = new Set<number>();
    for (let i = 2; i + 1 < args.length; i += 2) if (paramByName(args[i])?.secret) out.add(i + 1);
    return out;
  }
  return NONE;
}
