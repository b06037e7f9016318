#!/usr/bin/env -S node --max-semi-space-size=2
/**
 * damselfly: parse flags, open the port, load the newest snapshot, serve.
 *
 * The shebang's V8 flag caps the young generation at 2 MB a semi-space
 * (V8's default is 16 MB): the server's garbage is short-lived request
 * data, so scavenges stay cheap, and ~30 MB less RSS brings 1M small keys
 * within 1.5x of Redis (bench/RESULTS.md). It must be a process flag: set at
 * runtime (v8.setFlagsFromString) it does not resize the heap. Run as
 * `node --max-semi-space-size=2 dist/main.js` when not using the bin.
 */
import './config/server-params.js';
import './commands/index.js';
import { applyFlags } from './config/flags.js';
import { ConfigError, getBool, getInt, getString } from './config/params.js';
import { configureLog, log } from './log.js';
import { Server } from './server/server.js';
import { boot, shutdown } from './server/lifecycle.js';

async function main(): Promise<void> {
  try {
    applyFlags(process.argv.slice(2));
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`damselfly: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  configureLog(getBool('logtostderr'), getString('loglevel'));
  const server = new Server(getInt('databases'));
  try {
    await server.listen();
  } catch (e) {
    log.fatal({ err: e, port: getInt('port'), bind: getString('bind') }, 'cannot listen');
    process.exit(1);
  }
  log.info({ port: server.port, bind: getString('bind'), pid: process.pid }, 'listening');
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.on(sig, () => {
      log.info({ signal: sig }, 'received signal, shutting down');
      shutdown(server, { save: null, force: false, now: false }).catch(() => log.error('shutdown refused: staying up'));
    });
  }
  await boot(server);
}

main().catch((e) => {
  log.fatal({ err: e }, 'fatal error');
  process.exit(1);
});
