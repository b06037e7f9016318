/**
 * Structured logs, one JSON line per event (pino: fast, well kept, and its
 * redaction keeps secrets out of logs even when a whole config is logged).
 */
import pino from 'pino';

const REDACT = ['requirepass', 'password', 'pass', 'secretAccessKey', 'sessionToken', '*.requirepass', '*.secretAccessKey', '*.sessionToken', 'credentials'];

function create(dest: 1 | 2, level: string): pino.Logger {
  return pino({ level, base: { pid: process.pid }, redact: { paths: REDACT, censor: '[redacted]' } }, pino.destination({ fd: dest, sync: true }));
}

export let log: pino.Logger = create(1, 'info');

/** Redis log levels onto pino's. */
export function levelFor(redisLevel: string): string {
  switch (redisLevel) {
    case 'debug':
      return 'debug';
    case 'verbose':
      return 'debug';
    case 'warning':
      return 'warn';
    case 'error':
      return 'error';
    default:
      return 'info';
  }
}

export function configureLog(toStderr: boolean, redisLevel: string): void {
  log = create(toStderr ? 2 : 1, levelFor(redisLevel));
}
