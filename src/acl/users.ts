/**
 * The set of users (Redis's Users radix tree: listed in byte order) and the
 * default user every connection starts as. The default user object is never
 * replaced, only changed in place (ACL LOAD copies into it), because clients
 * hold it.
 */
import { User, mergeSelectorArgs } from './user.js';
import { RuleError, RULE_ERROR_TEXT } from './selector.js';

let users = new Map<string, User>();
let defaultUser: User | null = null;

function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Redis's ACLCreateDefaultUser: on, nopass, everything allowed. */
export function makeDefaultUser(): User {
  const u = new User('default');
  for (const r of ['+@all', '~*', '&*', 'on', 'nopass']) u.apply(r);
  return u;
}

/**
 * requirepass as given before the default user exists: the user is made on
 * first use, once every command is registered (+@all must see them all).
 */
let pendingPassword: string | null = null;

export function getDefaultUser(): User {
  if (defaultUser === null) {
    defaultUser = makeDefaultUser();
    users.set('default', defaultUser);
    if (pendingPassword !== null) setDefaultPassword(pendingPassword);
    pendingPassword = null;
  }
  return defaultUser;
}

export function getUser(name: string): User | undefined {
  getDefaultUser();
  return users.get(name);
}

export function allUsers(): User[] {
  getDefaultUser();
  return [...users.values()].sort((a, b) => byteOrder(a.name, b.name));
}

export function deleteUser(name: string): User | undefined {
  const u = users.get(name);
  if (u !== undefined) users.delete(name);
  return u;
}

/** Whether a connection that has not authenticated must (Redis's authRequired without the client). */
export function defaultNeedsAuth(): boolean {
  const d = getDefaultUser();
  return !d.nopass || !d.enabled;
}

/** Whether a new connection starts authenticated (as default). */
export function newClientAuthenticated(): boolean {
  const d = getDefaultUser();
  return d.nopass && d.enabled;
}

export { hasSpaces as hasSpacesOrNul } from './selector.js';

/**
 * Redis's ACLStringSetUser: the rules are tried on a copy, and the user is
 * created or changed only if all of them apply. Returns the error text or
 * null, and the user before the change (for pub/sub revocation).
 */
export function setUser(name: string, rules: string[]): { error: string | null; before: User | null; user: User | null } {
  const merged = mergeSelectorArgs(rules);
  if ('unclosed' in merged) {
    return { error: `Unmatched parenthesis in acl selector starting at '${rules[merged.unclosed]}'.`, before: null, user: null };
  }
  const existing = getUser(name) ?? null;
  const temp = existing !== null ? existing.clone() : new User(name);
  for (const op of merged.args) {
    try {
      temp.apply(op);
    } catch (e) {
      if (!(e instanceof RuleError)) throw e;
      return { error: `Error in ACL SETUSER modifier '${op}': ${RULE_ERROR_TEXT[e.code]}`, before: null, user: null };
    }
  }
  const before = existing?.clone() ?? null;
  if (existing !== null) {
    existing.copyFrom(temp);
    return { error: null, before, user: existing };
  }
  users.set(name, temp);
  return { error: null, before: null, user: temp };
}

/**
 * Replace every user at once (ACL LOAD, --aclfile at start-up): the default
 * user's object is kept and given the new rules. Returns the users dropped.
 */
export function replaceUsers(next: Map<string, User>): User[] {
  const d = getDefaultUser();
  const dropped = [...users.values()].filter((u) => u !== d);
  d.copyFrom(next.get('default') ?? makeDefaultUser());
  next.set('default', d);
  users = next;
  return dropped;
}

/** requirepass (start-up flag or CONFIG SET) is the default user's one password, as Redis's ACLUpdateDefaultUserPassword. */
export function setDefaultPassword(pass: string): void {
  if (defaultUser === null) {
    pendingPassword = pass;
    return;
  }
  const d = defaultUser;
  d.apply('resetpass');
  d.apply(pass === '' ? 'nopass' : '>' + pass);
}
