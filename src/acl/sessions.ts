/**
 * Connections and users: authenticating, and what happens to connections
 * when their user changes (Redis 7.0's acl.c): a deleted user's clients
 * (and, on ACL LOAD, every non-default user's clients) are closed, the one
 * running the command after its reply; a subscriber whose channels were
 * revoked is closed at once.
 */
import type { Client } from '../server/client.js';
import type { Server } from '../server/server.js';
import type { User } from './user.js';
import { getUser } from './users.js';
import { addLogEntry } from './log.js';
import { channelAllowedBy, DENIED_AUTH } from './check.js';

/** Subscriptions of a client, for revocation (set by the pub/sub family, which keeps shard channels apart). */
export const subscriptionsOf = {
  shard: (_c: Client): Iterable<string> => [],
};

/** Redis's ACLAuthenticateUser: true and c becomes that user, or false and the log says so. */
export function authenticate(c: Client, username: string, password: string, argv0: string): boolean {
  const u = getUser(username);
  if (u !== undefined && u.checkPassword(password)) {
    c.user = u;
    c.setAuthenticated(true);
    return true;
  }
  addLogEntry(c, DENIED_AUTH, c.multi !== null ? 'multi' : 'toplevel', argv0, username);
  return false;
}

/** Close c; the client running the command is closed once its reply is written. */
function closeSoon(server: Server, current: Client | null, c: Client): void {
  // Defensive, as Redis: should anything still run for it, it is an unauthenticated default client.
  c.user = getUser('default')!;
  c.setAuthenticated(false);
  if (c === current) {
    c.suspended = true;
    setImmediate(() => server.closeClient(c, true));
  } else server.closeClient(c);
}

/** Redis's ACLFreeUserAndKillClients, for each user given. */
export function killClientsOf(server: Server, current: Client | null, gone: User[]): void {
  if (gone.length === 0) return;
  const set = new Set(gone);
  for (const c of [...server.clients.values()]) if (set.has(c.user)) closeSoon(server, current, c);
}

/**
 * Redis's ACLKillPubsubClientsIfNeeded: after `user` changed (it was
 * `before`), its subscribers holding a channel or pattern it may no longer
 * use are closed.
 */
export function revokeSubscribers(server: Server, current: Client | null, user: User, before: User): void {
  if (user.selectors.some((s) => s.allChannels)) return;
  const upcoming = user.selectors.flatMap((s) => s.channels);
  let superset = true;
  for (const s of before.selectors) {
    if (s.allChannels || s.channels.some((ch) => !upcoming.includes(ch))) {
      superset = false;
      break;
    }
  }
  if (superset) return;
  for (const c of [...server.clients.values()]) {
    if (c.user !== user || c.subs === null) continue;
    let kill = false;
    for (const p of c.subs.patterns) if (!channelAllowedBy(upcoming, p, true)) kill = true;
    for (const ch of c.subs.channels) if (!kill && !channelAllowedBy(upcoming, ch, false)) kill = true;
    for (const ch of subscriptionsOf.shard(c)) if (!kill && !channelAllowedBy(upcoming, ch, false)) kill = true;
    if (kill) {
      if (c === current) closeSoon(server, current, c);
      else server.closeClient(c);
    }
  }
}
