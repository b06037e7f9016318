/**
 * Finding a command's keys from its key specs, as Redis 7.0 does
 * (db.c getKeysFromCommandWithSpecs / getKeysUsingKeySpecs): COMMAND
 * GETKEYS and GETKEYSANDFLAGS answer from here, and ACL key permissions
 * (%R~ / %W~) need the same keys with the same flags.
 */
import { keyPositions, type CommandSpec, type KeySpecDoc } from './spec.js';

export interface KeyRef {
  /** Index in argv (argv[0] is the command name). */
  pos: number;
  /** Key-spec flags: RW/RO/OW/RM, access/update/insert/delete, ... */
  flags: string[];
}

/**
 * The key specs COMMAND INFO shows: the table's own, or for a command that
 * gives none, one range spec derived from first/last/step (read commands
 * read, write commands update, and read-write ones both).
 */
export function keySpecsOf(spec: CommandSpec): KeySpecDoc[] {
  if (spec.keySpec !== undefined) return Array.isArray(spec.keySpec) ? spec.keySpec : [spec.keySpec];
  const { first, last, step } = spec.keys;
  if (first <= 0) return [];
  const write = (spec.flags as string[]).includes('write');
  const flags = write ? (spec.acl.includes('read') ? ['RW', 'access', 'update'] : ['RW', 'update']) : ['RO', 'access'];
  return [{ flags, begin: { index: first }, find: { lastkey: last < 0 ? last : last - first, keystep: step, limit: 0 } }];
}

/** doesCommandHaveKeys: a key-finding function, or a spec that is not marked not_key. */
export function commandHasKeys(spec: CommandSpec): boolean {
  return spec.getKeys !== undefined || keySpecsOf(spec).some((s) => !s.flags.includes('not_key'));
}

/**
 * The keys of one invocation with their flags, in Redis's order: from the
 * specs when they are complete and their flags fixed, else from the
 * command's own key finder (SORT, SET's GET, BITFIELD, and specs that did
 * not match the arguments), which give the flags through keyFlags.
 */
export function commandKeys(spec: CommandSpec, argv: string[]): KeyRef[] {
  const specs = keySpecsOf(spec);
  const usable = specs.some((s) => !s.flags.includes('not_key'));
  const variable = specs.some((s) => s.flags.includes('variable_flags'));
  if (usable && !variable) {
    const found = keysFromSpecs(specs, argv, spec.arity);
    if (found !== null) return found;
    // Complete specs that do not fit the arguments (a bad key count): Redis's
    // key finders refuse the same invocations, so there are no keys.
    if (specs.every(complete)) return [];
  }
  return keyPositions(spec, argv).map((pos) => ({ pos, flags: spec.keyFlags?.(argv, pos) ?? flagsAt(specs, argv, pos) }));
}

function complete(s: KeySpecDoc): boolean {
  return !('unknown' in s.begin) && !('unknown' in s.find) && !s.flags.includes('incomplete');
}

/** getKeysUsingKeySpecs; null where Redis gives up on the specs (-1). */
function keysFromSpecs(specs: KeySpecDoc[], argv: string[], arity: number): KeyRef[] | null {
  const argc = argv.length;
  const out: KeyRef[] = [];
  for (const s of specs) {
    if (s.flags.includes('not_key')) continue;
    let first = 0;
    const b = s.begin;
    if ('index' in b) first = b.index;
    else if ('keyword' in b) {
      first = keywordStart(argv, b.keyword, b.startfrom);
      if (first === 0) continue;
    } else return null;
    let last: number;
    let step: number;
    const f = s.find;
    if ('lastkey' in f) {
      step = f.keystep;
      if (f.lastkey >= 0) last = first + f.lastkey;
      else if (f.limit === 0) last = argc + f.lastkey;
      else last = first + (Math.trunc((argc - first) / f.limit) + f.lastkey);
    } else if ('keynumidx' in f) {
      step = f.keystep;
      const at = first + f.keynumidx;
      if (at >= argc) return null;
      const n = /^(0|-?[1-9][0-9]*)$/.test(argv[at]) ? Number(argv[at]) : -1;
      if (n < 0 || !Number.isSafeInteger(n)) return null;
      first += f.firstkey;
      last = first + n - 1;
    } else return null;
    if (last >= argc || last < first || first >= argc) return null;
    for (let i = first; i <= last; i += step) {
      // Variadic commands are not arity-checked against their keys: Redis skips what is missing.
      if (i >= argc && arity < 0) continue;
      out.push({ pos: i, flags: s.flags });
    }
    if (s.flags.includes('incomplete')) return null;
  }
  return out;
}

/** Where a keyword search begins its keys: after the keyword, searched forwards or (negative startfrom) backwards; 0 if absent. */
function keywordStart(argv: string[], keyword: string, startfrom: number): number {
  const argc = argv.length;
  const kw = keyword.toLowerCase();
  const start = startfrom > 0 ? startfrom : argc + startfrom;
  const end = startfrom > 0 ? argc - 1 : 1;
  for (let i = start; i !== end; i = start <= end ? i + 1 : i - 1) {
    if (i >= argc || i < 1) break;
    if (argv[i].toLowerCase() === kw) return i + 1;
  }
  return 0;
}

/** The flags of the spec that finds the key at argv[p] for a key finder with no flags of its own: the last one beginning at or before it. */
function flagsAt(specs: KeySpecDoc[], argv: string[], p: number): string[] {
  let best: KeySpecDoc | undefined;
  for (const d of specs) {
    const b = d.begin;
    const start = 'index' in b ? b.index : 'keyword' in b ? keywordStart(argv, b.keyword, b.startfrom) : -1;
    if (start > 0 && start <= p) best = d;
  }
  return best?.flags ?? specs[0]?.flags ?? [];
}
