/**
 * An ACL selector (Redis 7.0's aclSelector): which commands, keys and
 * channels it allows. A user has a root selector (the rules given outside
 * parentheses) and any number of others; a command runs when one selector
 * allows all of it.
 */
import type { CommandSpec } from '../commands/spec.js';
import { aclLookup, parentOf, topLevel } from './commands.js';
import { categoryByName, CATEGORIES } from './categories.js';
import { splitArgs } from '../protocol/parser.js';
import { log } from '../log.js';

export const READ = 1;
export const WRITE = 2;
export const ALL_PERMS = READ | WRITE;

export interface KeyPattern {
  flags: number;
  pattern: string;
}

/** A rule that cannot be applied; `code` picks Redis's message (ACLSetUserStringError). */
export class RuleError extends Error {
  constructor(readonly code: 'EINVAL' | 'ENOENT' | 'EEXIST' | 'EISDIR' | 'ENODEV' | 'EBADMSG' | 'ECHILD' | 'EALREADY') {
    super(code);
  }
}

export const RULE_ERROR_TEXT: Record<RuleError['code'], string> = {
  ENOENT: 'Unknown command or category name in ACL',
  EINVAL: 'Syntax error',
  EEXIST: "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns",
  EISDIR: "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels",
  ENODEV: 'The password you are trying to remove from the user does not exist',
  EBADMSG: 'The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters',
  EALREADY: 'Duplicate user found. A user can only be defined once in config files',
  ECHILD: 'Allowing first-arg of a subcommand is not supported',
};

/** acl-pubsub-default: whether new selectors start with all channels (Redis 7.0 default: no). */
export const pubsubDefault = { allChannels: false };

/** Redis's ACLStringHasSpaces: C isspace() (ASCII blanks) or NUL. */
export function hasSpaces(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0 || c === 32 || (c >= 9 && c <= 13)) return true;
  }
  return false;
}

export class Selector {
  allKeys = false;
  allChannels: boolean;
  allCommands = false;
  /** The commands whose bit is set (Redis's allowed_commands bitmap). */
  allowed = new Set<CommandSpec>();
  /** Redis's reserved bit: set by +@all, so commands added later are allowed (and the description starts with +@all). */
  future = false;
  /** +cmd|arg of a command without subcommands: the first arguments allowed while the command is not. */
  firstArgs: Map<CommandSpec, string[]> | null = null;
  patterns: KeyPattern[] = [];
  channels: string[] = [];

  constructor(readonly root: boolean) {
    this.allChannels = pubsubDefault.allChannels;
  }

  copy(root = this.root): Selector {
    const s = new Selector(root);
    s.allKeys = this.allKeys;
    s.allChannels = this.allChannels;
    s.allCommands = this.allCommands;
    s.allowed = new Set(this.allowed);
    s.future = this.future;
    if (this.firstArgs !== null) s.firstArgs = new Map([...this.firstArgs].map(([k, v]) => [k, [...v]]));
    s.patterns = this.patterns.map((p) => ({ ...p }));
    s.channels = [...this.channels];
    return s;
  }

  private setBit(spec: CommandSpec, on: boolean): void {
    if (on) this.allowed.add(spec);
    else {
      this.allowed.delete(spec);
      this.allCommands = false;
    }
  }

  /** Redis's ACLChangeSelectorPerm: a container carries its subcommands along. */
  changePerm(spec: CommandSpec, allow: boolean): void {
    this.setBit(spec, allow);
    this.firstArgs?.delete(spec);
    for (const sub of spec.subcommands ?? []) this.setBit(sub, allow);
  }

  private setCategory(cat: string, allow: boolean): void {
    const visit = (specs: CommandSpec[]) => {
      for (const s of specs) {
        if (s.acl.includes(cat)) this.changePerm(s, allow);
        if (s.subcommands) visit(s.subcommands);
      }
    };
    visit(topLevel());
  }

  private setAll(on: boolean): void {
    this.allowed.clear();
    if (on) {
      for (const s of topLevel()) {
        this.allowed.add(s);
        for (const sub of s.subcommands ?? []) this.allowed.add(sub);
      }
    }
    this.future = on;
    this.allCommands = on;
    this.firstArgs = null;
  }

  /** Redis's ACLSetSelector: applies one rule or throws RuleError. */
  apply(op: string): void {
    const l = op.toLowerCase();
    if (l === 'allkeys' || l === '~*') {
      this.allKeys = true;
      this.patterns = [];
    } else if (l === 'resetkeys') {
      this.allKeys = false;
      this.patterns = [];
    } else if (l === 'allchannels' || l === '&*') {
      this.allChannels = true;
      this.channels = [];
    } else if (l === 'resetchannels') {
      this.allChannels = false;
      this.channels = [];
    } else if (l === 'allcommands' || l === '+@all') {
      this.setAll(true);
    } else if (l === 'nocommands' || l === '-@all') {
      this.setAll(false);
    } else if (op[0] === '~' || op[0] === '%') {
      this.addKeyPattern(op);
    } else if (op[0] === '&') {
      if (this.allChannels) throw new RuleError('EISDIR');
      const pat = op.slice(1);
      if (hasSpaces(pat)) throw new RuleError('EINVAL');
      if (!this.channels.includes(pat)) this.channels.push(pat);
      this.allChannels = false;
    } else if (op[0] === '+' && op[1] !== '@') {
      this.allowCommand(op.slice(1));
    } else if (op[0] === '-' && op[1] !== '@') {
      const spec = aclLookup(op.slice(1));
      if (spec === undefined) throw new RuleError('ENOENT');
      this.changePerm(spec, false);
    } else if ((op[0] === '+' || op[0] === '-') && op[1] === '@') {
      const cat = categoryByName(op.slice(2));
      if (cat === null) throw new RuleError('ENOENT');
      this.setCategory(cat, op[0] === '+');
    } else throw new RuleError('EINVAL');
  }

  private addKeyPattern(op: string): void {
    if (this.allKeys) throw new RuleError('EEXIST');
    let flags = 0;
    let offset = 1;
    if (op[0] === '%') {
      for (; offset < op.length; offset++) {
        const ch = op[offset].toUpperCase();
        if (ch === 'R' && !(flags & READ)) flags |= READ;
        else if (ch === 'W' && !(flags & WRITE)) flags |= WRITE;
        else if (op[offset] === '~') {
          offset++;
          break;
        } else throw new RuleError('EINVAL');
      }
      // "%~x" would be a pattern granting nothing, which Redis cannot even describe back.
      if (flags === 0) throw new RuleError('EINVAL');
    } else flags = ALL_PERMS;
    const pattern = op.slice(offset);
    if (hasSpaces(pattern)) throw new RuleError('EINVAL');
    const found = this.patterns.find((p) => p.pattern === pattern);
    if (found === undefined) this.patterns.push({ flags, pattern });
    else found.flags |= flags;
    this.allKeys = false;
  }

  private allowCommand(name: string): void {
    const bar = name.lastIndexOf('|');
    if (bar < 0) {
      const spec = aclLookup(name);
      if (spec === undefined) throw new RuleError('ENOENT');
      this.changePerm(spec, true);
      return;
    }
    const spec = aclLookup(name.slice(0, bar));
    const sub = name.slice(bar + 1);
    if (spec === undefined) throw new RuleError('ENOENT');
    if (parentOf(spec) !== null) throw new RuleError('ECHILD');
    if (sub === '') throw new RuleError('EINVAL');
    if (spec.subcommands !== undefined) {
      const s = aclLookup(name);
      if (s === undefined) throw new RuleError('ENOENT');
      this.changePerm(s, true);
      return;
    }
    log.warn(`Deprecation warning: Allowing a first arg of an otherwise blocked command is a misuse of ACL and may get disabled in the future (offender: +${name})`);
    this.firstArgs ??= new Map();
    const list = this.firstArgs.get(spec) ?? [];
    if (!list.some((a) => a.toLowerCase() === sub.toLowerCase())) list.push(sub);
    this.firstArgs.set(spec, list);
  }

  /** Everything allowed, nothing to check per command. */
  get unrestricted(): boolean {
    return this.allCommands && this.allKeys && this.allChannels;
  }

  /** Redis's ACLDescribeSelectorCommandRules: +@all or -@all, the best-fitting categories, then single commands. */
  describeCommands(): string {
    const rules: string[] = [];
    const additive = !this.future;
    const fake = new Selector(false);
    fake.apply(additive ? '-@all' : '+@all');
    rules.push(additive ? '-@all' : '+@all');
    const temp = new Selector(false);
    temp.allowed = new Set(this.allowed);
    const applied = new Set<string>();
    for (;;) {
      let best: string | null = null;
      let mindiff = Number.MAX_SAFE_INTEGER;
      let maxsame = 0;
      for (const cat of CATEGORIES) {
        if (applied.has(cat)) continue;
        const [on, off] = temp.countCategory(cat);
        const diff = additive ? off : on;
        const same = additive ? on : off;
        if (same > diff && (diff < mindiff || (diff === mindiff && same > maxsame))) {
          best = cat;
          mindiff = diff;
          maxsame = same;
        }
      }
      if (best === null) break;
      fake.apply((additive ? '+@' : '-@') + best);
      temp.apply((additive ? '-@' : '+@') + best);
      rules.push((additive ? '+@' : '-@') + best);
      applied.add(best);
    }
    const single = (specs: CommandSpec[]) => {
      for (const s of specs) {
        const userbit = this.allowed.has(s);
        if (userbit !== fake.allowed.has(s)) {
          rules.push((userbit ? '+' : '-') + s.name);
          fake.changePerm(s, userbit);
        }
        if (s.subcommands) single(s.subcommands);
        const fa = this.firstArgs?.get(s);
        if (!userbit && fa !== undefined) for (const a of fa) rules.push(`+${s.name}|${a}`);
      }
    };
    single(topLevel());
    return rules.join(' ');
  }

  private countCategory(cat: string): [number, number] {
    let on = 0;
    let off = 0;
    const visit = (specs: CommandSpec[]) => {
      for (const s of specs) {
        if (s.acl.includes(cat)) {
          if (this.allowed.has(s)) on++;
          else off++;
        }
        if (s.subcommands) visit(s.subcommands);
      }
    };
    visit(topLevel());
    return [on, off];
  }

  /** Key patterns as GETUSER shows them. */
  describeKeys(): string {
    if (this.allKeys) return '~*';
    return this.patterns.map(patternString).join(' ');
  }

  describeChannels(): string {
    if (this.allChannels) return '&*';
    return this.channels.map((c) => '&' + c).join(' ');
  }

  /** Redis's ACLDescribeSelector: the rules that rebuild this selector (ACL LIST, the ACL file). */
  describe(): string {
    let res = '';
    if (this.allKeys) res += '~* ';
    else for (const p of this.patterns) res += patternString(p) + ' ';
    if (this.allChannels) res += '&* ';
    else {
      res += 'resetchannels ';
      for (const c of this.channels) res += '&' + c + ' ';
    }
    return res + this.describeCommands();
  }
}

function patternString(p: KeyPattern): string {
  return (p.flags === ALL_PERMS ? '~' : p.flags === READ ? '%R~' : '%W~') + p.pattern;
}

/** Redis's aclCreateSelectorFromOpSet: "(rule rule ...)" as a new selector. */
export function selectorFromOpSet(opset: string): Selector {
  const s = new Selector(false);
  const argv = splitArgs(opset.slice(1, -1)) ?? [];
  for (const a of argv) s.apply(a);
  return s;
}
