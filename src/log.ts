/**
 * Logs through pino: JSON lines for machines (log collectors), or
 * human-readable lines (pino-pretty) for a person at a terminal —
 * `--log_format auto` picks the second when the log goes to a TTY. pino's
 * redaction keeps secrets out of logs even when a whole config is logged.
 */
import pino from 'pino';
import type PinoPretty from 'pino-pretty';
import { createRequire } from 'node:module';
import { isatty } from 'node:tty';

/** pino-pretty (and its dependencies, ~1.5 MB resident) only when a person reads the log. */
const loadPretty = (): typeof PinoPretty => createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;

const REDACT = ['requirepass', 'password', 'pass', 'secretAccessKey', 'sessionToken', '*.requirepass', '*.secretAccessKey', '*.sessionToken', 'credentials'];

export type LogFormat = 'auto' | 'json' | 'text';

function create(fd: 1 | 2, level: string, format: LogFormat): pino.Logger {
  const opts: pino.LoggerOptions = { level, base: { pid: process.pid }, redact: { paths: REDACT, censor: '[redacted]' } };
  const text = format === 'text' || (format === 'auto' && isatty(fd));
  if (!text) return pino(opts, pino.destination({ fd, sync: true }));
  return pino(opts, loadPretty()({ destination: fd, sync: true, colorize: isatty(fd), singleLine: true, translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l', ignore: 'pid,hostname' }));
}

export let log: pino.Logger = create(1, 'info', 'json');

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

export function configureLog(toStderr: boolean, redisLevel: string, format: LogFormat = 'auto'): void {
  log = create(toStderr ? 2 : 1, levelFor(redisLevel), format);
}

/** CONFIG SET loglevel. */
export function setLogLevel(redisLevel: string): void {
  log.level = levelFor(redisLevel);
}

/**
 * A start-up failure that ends the process: one line naming the cause and
 * what to do (no stack: the cause is known), logged, then the exit.
 */
export function fatalStartup(msg: string, fields: Record<string, unknown> = {}, code = 1): never {
  log.fatal(fields, msg);
  process.exit(code);
}
