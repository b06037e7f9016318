/**
 * The server proper: parse flags strictly, open the port, load the newest
 * snapshot, serve. src/main.ts (the launcher) imports this once the heap
 * limit is right, in its own process or in a re-executed child.
 */
import '../config/server-params.js';
import '../commands/index.js';
import { applyFlags } from '../config/flags.js';
import { ConfigError, getBool, getInt, getString } from '../config/params.js';
import { configureLog, fatalStartup, log, type LogFormat } from '../log.js';
import { Server } from './server.js';
import { adjustOpenFilesLimit } from './fd-limit.js';
import { boot, shutdown } from './lifecycle.js';
import { startHeapGuard } from '../memory/heap.js';
import type { HeapDecision } from '../memory/heap-limit.js';
import { BootError } from '../persistence/boot.js';
import { loadAclFileAtStartup } from '../acl/startup.js';

/** `supervised`: started by the launcher, which is gone if the IPC channel closes. */
export async function runServer(decision: HeapDecision, supervised: boolean): Promise<void> {
  try {
    await run(decision, supervised);
  } catch (e) {
    log.fatal({ err: e }, 'fatal error');
    process.exit(1);
  }
}

async function run(decision: HeapDecision, supervised: boolean): Promise<void> {
  if (supervised) {
    // kill -9 of the launcher must not leave a server holding the port and
    // the data folder with nobody to stop it: its IPC channel closing is the
    // only notice we get.
    process.on('disconnect', () => {
      log.warn('the launcher process is gone: exiting');
      process.exit(1);
    });
    process.channel?.unref();
  }
  try {
    applyFlags(process.argv.slice(2));
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`damselfly: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  configureLog(getBool('logtostderr'), getString('loglevel'), getString('log_format') as LogFormat);
  startHeapGuard(decision);
  adjustOpenFilesLimit();
  loadAclFileAtStartup();
  const server = new Server(getInt('databases'));
  try {
    await server.listen();
  } catch (e) {
    const port = getInt('port');
    const bind = getString('bind');
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'EADDRINUSE'
        ? `the port is in use by another process: stop it, or start with another --port`
        : code === 'EADDRNOTAVAIL'
          ? `no interface has that address: check --bind`
          : code === 'EACCES'
            ? `not allowed to bind that port: use a port above 1023, or give the process the right`
            : (e as Error).message;
    fatalStartup(`cannot listen on ${bind}:${port}: ${why}`, { port, bind, code });
  }
  log.info({ port: server.port, bind: getString('bind'), pid: process.pid }, 'listening');
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.on(sig, () => {
      log.info({ signal: sig }, 'received signal, shutting down');
      shutdown(server, { save: null, force: false, now: false }).catch(() => log.error('shutdown refused: staying up'));
    });
  }
  try {
    await boot(server);
  } catch (e) {
    // The boot step logged its one clear line already; a stack adds nothing.
    if (e instanceof BootError) process.exit(1);
    throw e;
  }
}
