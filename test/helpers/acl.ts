/** Helpers for the ACL suites: ioredis connections that fail fast instead of reconnecting, and error texts. */
import { Redis } from 'ioredis';

/** A client that never reconnects (a closed connection must show as closed) and sends nothing on its own. */
export async function connect(port: number, opts: { username?: string; password?: string } = {}): Promise<Redis> {
  const r = new Redis({ port, host: '127.0.0.1', retryStrategy: () => null, maxRetriesPerRequest: 0, enableReadyCheck: false, lazyConnect: true, ...opts });
  r.on('error', () => {});
  await r.connect();
  return r;
}

/** The error text a command answered with ("" when it succeeded). */
export async function errOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return '';
  } catch (e) {
    return (e as Error).message;
  }
}

/** ACL GETUSER's map as an object (RESP2 flat list). */
export function userMap(reply: unknown): Record<string, unknown> {
  const a = reply as unknown[];
  const out: Record<string, unknown> = {};
  for (let i = 0; i < a.length; i += 2) out[a[i] as string] = a[i + 1];
  return out;
}

/** ACL LOG entries as objects. */
export function logEntries(reply: unknown): Record<string, unknown>[] {
  return (reply as unknown[]).map(userMap);
}
