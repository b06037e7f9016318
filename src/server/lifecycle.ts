/**
 * Start-up after the port is open, and shutdown. Modules plug in here: the
 * snapshot module loads the newest snapshot at boot (data commands get
 * -LOADING until it is done) and saves on shutdown.
 */
import type { Server } from './server.js';
import { log } from '../log.js';

export interface ShutdownOptions {
  /** true: SAVE, false: NOSAVE, null: as the save rules say. */
  save: boolean | null;
  force: boolean;
  now: boolean;
}

/** Loads data before the server serves it; fatal errors exit the process. */
export type BootStep = (server: Server) => Promise<void>;
/** Runs at shutdown; throwing refuses the shutdown (unless FORCE). */
export type ShutdownStep = (server: Server, opts: ShutdownOptions) => Promise<void>;

export const bootSteps: BootStep[] = [];
export const shutdownSteps: ShutdownStep[] = [];

export async function boot(server: Server): Promise<void> {
  server.loading = true;
  server.ks.loading = true;
  try {
    for (const step of bootSteps) await step(server);
  } finally {
    server.loading = false;
    server.ks.loading = false;
  }
  log.info({ keys: server.ks.dbs.reduce((n, db) => n + db.size, 0) }, 'ready to accept connections');
}

let shuttingDown = false;

/** Returns false if a step refused (e.g. the final save failed without FORCE). */
export async function shutdown(server: Server, opts: ShutdownOptions): Promise<boolean> {
  if (shuttingDown) return false;
  shuttingDown = true;
  for (const step of shutdownSteps) {
    try {
      await step(server, opts);
    } catch (e) {
      if (!opts.force) {
        shuttingDown = false;
        log.error({ err: e }, 'errors trying to shut down the server');
        throw e;
      }
      log.warn({ err: e }, 'error during shutdown, exiting anyway (FORCE)');
    }
  }
  await server.close();
  log.info('damselfly is now ready to exit, bye bye...');
  process.exit(0);
}
