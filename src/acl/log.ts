/**
 * The ACL log (Redis 7.0's ACLLog): refused commands, keys, channels and
 * failed AUTHs, newest first, at most acllog-max-len entries. An event like
 * one of the 10 newest entries (same reason, context, object and user,
 * within 60 s of it) bumps that entry's count and moves it to the front
 * instead of adding one.
 */
import type { Client } from '../server/client.js';
import { DENIED_AUTH, DENIED_CHANNEL, DENIED_CMD, DENIED_KEY } from './check.js';

export type LogContext = 'toplevel' | 'multi' | 'lua' | 'module';

export interface LogEntry {
  count: number;
  reason: number;
  context: LogContext;
  object: string;
  username: string;
  /** ms of the last event merged into it. */
  ctime: number;
  clientInfo: string;
}

const GROUPING_MAX_MS = 60000;

export const logSettings = { maxLen: 128 };

/** CLIENT LIST's line for a client, set by the connection family (which owns that format). */
export const clientInfo = { of: (_c: Client): string => '' };

let entries: LogEntry[] = [];

export function logEntries(): readonly LogEntry[] {
  return entries;
}

export function resetLog(): void {
  entries = [];
}

export function reasonName(reason: number): string {
  switch (reason) {
    case DENIED_CMD:
      return 'command';
    case DENIED_KEY:
      return 'key';
    case DENIED_CHANNEL:
      return 'channel';
    case DENIED_AUTH:
      return 'auth';
    default:
      return 'unknown';
  }
}

/** Redis's addACLLogEntry; `client` is the real client (a script's caller, not the script client). */
export function addLogEntry(client: Client, reason: number, context: LogContext, object: string, username: string): void {
  const now = Date.now();
  const cinfo = clientInfo.of(client);
  const scan = Math.min(10, entries.length);
  for (let i = 0; i < scan; i++) {
    const e = entries[i];
    if (e.reason === reason && e.context === context && Math.abs(e.ctime - now) <= GROUPING_MAX_MS && e.object === object && e.username === username) {
      e.count++;
      e.ctime = now;
      e.clientInfo = cinfo;
      entries.splice(i, 1);
      entries.unshift(e);
      return;
    }
  }
  entries.unshift({ count: 1, reason, context, object, username, ctime: now, clientInfo: cinfo });
  if (entries.length > logSettings.maxLen) entries.length = logSettings.maxLen;
}
