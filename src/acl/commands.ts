/**
 * The command table as ACL sees it: every command and subcommand once, in a
 * fixed order (Redis walks its dict; we walk names sorted), and lookups by
 * the "cmd" / "cmd|sub" names ACL rules use.
 */
import { allCommands, lookup, lookupSub } from '../commands/registry.js';
import type { CommandSpec } from '../commands/spec.js';

let cache: CommandSpec[] | null = null;
let cachedCount = -1;

/** Top-level commands sorted by name; a rule's effect never depends on when it was computed. */
export function topLevel(): CommandSpec[] {
  const all = allCommands();
  if (cache === null || cachedCount !== all.length) {
    cache = all.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    cachedCount = all.length;
  }
  return cache;
}

/** Redis's lookupCommandBySdsLogic on the original table: "get", "config|get"; anything else is unknown. */
export function aclLookup(name: string): CommandSpec | undefined {
  const parts = name.split('|');
  if (parts.length > 2 || name === '') return undefined;
  const base = lookup(parts[0]);
  if (base === undefined || parts.length === 1) return base;
  if (base.subcommands === undefined) return undefined;
  return lookupSub(base, parts[1]);
}

/** The container of a subcommand spec, or null. */
export function parentOf(spec: CommandSpec): CommandSpec | null {
  const bar = spec.name.indexOf('|');
  return bar < 0 ? null : lookup(spec.name.slice(0, bar)) ?? null;
}
