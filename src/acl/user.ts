/**
 * An ACL user (Redis 7.0's `user`): flags, SHA-256 password hashes and
 * selectors, changed by the rules of ACL SETUSER and the ACL file.
 * Passwords are never kept in clear, only as lowercase hex SHA-256.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { RuleError, Selector, selectorFromOpSet } from './selector.js';

export function hashPassword(pass: string | Buffer): string {
  return createHash('sha256').update(typeof pass === 'string' ? Buffer.from(pass, 'latin1') : pass).digest('hex');
}

function validHash(h: string): boolean {
  return /^[0-9a-f]{64}$/.test(h);
}

export class User {
  enabled = false;
  nopass = false;
  /** skip-sanitize-payload / sanitize-payload: neither until set (or `reset`). */
  sanitize: 'skip' | 'sanitize' | null = null;
  passwords: string[] = [];
  /** The root selector first, then the ones added with (...). */
  selectors: Selector[] = [new Selector(true)];
  /**
   * One selector allowing every command, key and channel: the dispatcher
   * skips all checks for such a user (the default user, usually), so
   * permissions cost one property read per command.
   */
  unrestricted = false;

  constructor(readonly name: string) {}

  get root(): Selector {
    return this.selectors[0];
  }

  /** Redis's ACLCopyUser: dst gets src's rules, keeping its name (and its identity, which clients hold). */
  copyFrom(src: User): void {
    this.enabled = src.enabled;
    this.nopass = src.nopass;
    this.sanitize = src.sanitize;
    this.passwords = [...src.passwords];
    this.selectors = src.selectors.map((s) => s.copy());
    this.refresh();
  }

  clone(name = this.name): User {
    const u = new User(name);
    u.copyFrom(this);
    return u;
  }

  refresh(): void {
    this.unrestricted = this.selectors.some((s) => s.unrestricted);
  }

  /** Redis's ACLSetUser: applies one rule or throws RuleError. */
  apply(op: string): void {
    this.applyOne(op);
    this.refresh();
  }

  private applyOne(op: string): void {
    if (op.length === 0) return;
    const l = op.toLowerCase();
    if (l === 'on') this.enabled = true;
    else if (l === 'off') this.enabled = false;
    else if (l === 'skip-sanitize-payload') this.sanitize = 'skip';
    else if (l === 'sanitize-payload') this.sanitize = 'sanitize';
    else if (l === 'nopass') {
      this.nopass = true;
      this.passwords = [];
    } else if (l === 'resetpass') {
      this.nopass = false;
      this.passwords = [];
    } else if (op[0] === '>' || op[0] === '#') {
      let h: string;
      if (op[0] === '>') h = hashPassword(op.slice(1));
      else {
        h = op.slice(1);
        if (!validHash(h)) throw new RuleError('EBADMSG');
      }
      if (!this.passwords.includes(h)) this.passwords.push(h);
      this.nopass = false;
    } else if (op[0] === '<' || op[0] === '!') {
      let h: string;
      if (op[0] === '<') h = hashPassword(op.slice(1));
      else {
        h = op.slice(1);
        if (!validHash(h)) throw new RuleError('EBADMSG');
      }
      const i = this.passwords.indexOf(h);
      if (i < 0) throw new RuleError('ENODEV');
      this.passwords.splice(i, 1);
    } else if (op[0] === '(' && op[op.length - 1] === ')') {
      this.selectors.push(selectorFromOpSet(op));
    } else if (l === 'clearselectors') {
      this.selectors = [this.root];
    } else if (l === 'reset') {
      for (const r of ['resetpass', 'resetkeys', 'resetchannels']) this.applyOne(r);
      if (new Selector(false).allChannels) this.applyOne('allchannels');
      for (const r of ['off', 'sanitize-payload', 'clearselectors', '-@all']) this.applyOne(r);
    } else this.root.apply(op);
  }

  /** Whether pass opens this user (Redis's ACLCheckUserCredentials, minus the lookup). */
  checkPassword(pass: string): boolean {
    if (!this.enabled) return false;
    if (this.nopass) return true;
    const h = Buffer.from(hashPassword(pass));
    let ok = false;
    for (const p of this.passwords) if (timingSafeEqual(h, Buffer.from(p))) ok = true;
    return ok;
  }

  flagNames(): string[] {
    const out = [this.enabled ? 'on' : 'off'];
    if (this.nopass) out.push('nopass');
    if (this.sanitize === 'skip') out.push('skip-sanitize-payload');
    if (this.sanitize === 'sanitize') out.push('sanitize-payload');
    return out;
  }

  /** Redis's ACLDescribeUser: what follows "user <name> " in ACL LIST and the ACL file. */
  describe(): string {
    let res = '';
    for (const f of this.flagNames()) res += f + ' ';
    for (const p of this.passwords) res += '#' + p + ' ';
    for (const s of this.selectors) res += s.root ? s.describe() : ` (${s.describe()})`;
    return res;
  }
}

/** Redis's ACLMergeSelectorArguments: "(+get" "~k)" become one "(+get ~k)"; null and the index of an unclosed one. */
export function mergeSelectorArgs(argv: string[]): { args: string[] } | { unclosed: number } {
  const out: string[] = [];
  let open = -1;
  let sel = '';
  for (let j = 0; j < argv.length; j++) {
    const op = argv[j];
    if (op[0] === '(' && op[op.length - 1] !== ')') {
      sel = op;
      open = j;
      continue;
    }
    if (open !== -1) {
      sel += ' ' + op;
      if (op[op.length - 1] === ')') {
        open = -1;
        out.push(sel);
      }
      continue;
    }
    out.push(op);
  }
  if (open !== -1) return { unclosed: open };
  return { args: out };
}
