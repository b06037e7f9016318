/**
 * Open files for maxclients (Redis's adjustOpenFilesLimit): the process
 * needs maxclients + 32 descriptors (listeners, snapshot files, the
 * runtime's own). At start-up the soft limit is raised as far as the hard
 * limit allows; if that is not enough, maxclients is lowered to fit, and
 * the log says so, as Redis does. Node has no setrlimit: util-linux's
 * `prlimit` (in every Debian/Ubuntu base system) does it for this pid.
 */
import { execFileSync } from 'node:child_process';
import { getInt, paramByName, setParam } from '../config/params.js';
import { log } from '../log.js';

export const RESERVED_FDS = 32;

function limits(): { soft: number; hard: number } | null {
  try {
    const out = execFileSync('prlimit', ['--pid', String(process.pid), '--nofile', '--output', 'SOFT,HARD', '--noheadings', '--raw'], { encoding: 'utf8' }).trim();
    const [soft, hard] = out.split(/\s+/).map((v) => (v === 'unlimited' ? Infinity : Number(v)));
    return Number.isNaN(soft) || Number.isNaN(hard) ? null : { soft, hard };
  } catch {
    return null;
  }
}

function raiseTo(n: number): boolean {
  try {
    execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${n}:`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The descriptors this process may open now, raised toward `want` if the hard limit allows. */
export function ensureOpenFiles(want: number): number | null {
  const l = limits();
  if (l === null) return null;
  if (l.soft >= want) return l.soft;
  const target = Math.min(want, l.hard);
  if (target > l.soft && raiseTo(target)) return limits()?.soft ?? l.soft;
  return l.soft;
}

/** At start-up: make room for maxclients, or lower it to what the system gives. */
export function adjustOpenFilesLimit(): void {
  const maxclients = getInt('maxclients');
  const want = maxclients + RESERVED_FDS;
  const got = ensureOpenFiles(want);
  if (got === null) {
    log.warn({ maxclients }, 'could not read the open files limit (prlimit missing?): maxclients stays as configured');
    return;
  }
  if (got >= want) {
    log.info({ openFiles: got, maxclients }, `open files limit ${got}: room for maxclients ${maxclients}`);
    return;
  }
  const lowered = Math.max(1, got - RESERVED_FDS);
  setParam(paramByName('maxclients')!, String(lowered), false);
  log.warn(
    { requested: maxclients, openFiles: got, maxclients: lowered },
    `You requested maxclients of ${maxclients} requiring at least ${want} max file descriptors; the open files limit is ${got} ('ulimit -n'), so maxclients has been reduced to ${lowered}. Raise 'ulimit -n' for more.`,
  );
}

/** CONFIG SET maxclients: refused when the system cannot give the descriptors (Redis's updateMaxclients). */
export function checkMaxclients(v: string): void {
  const n = Number(v);
  const got = ensureOpenFiles(n + RESERVED_FDS);
  if (got !== null && got < n + RESERVED_FDS) throw new Error(`The operating system is not able to handle the specified number of clients, try with ${Math.max(1, got - RESERVED_FDS)}`);
}
