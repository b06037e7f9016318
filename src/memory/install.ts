/**
 * Starts the memory machinery once flags are applied (the Server
 * constructor calls this): settings cache, the access clock, used_memory
 * tracking, GC pacing and eviction.
 */
import type { Keyspace } from '../keyspace/keyspace.js';
import { reloadMemorySettings, settingsListeners } from './settings.js';
import { startAccessClock } from './lru.js';
import { setKeyCounter, startUsageTracking } from './usage.js';
import { installGcPacing } from './gc-pacing.js';
import { evictionSettingsChanged, installEviction } from './evict.js';

let installed = false;

export function installMemory(ks: Keyspace): void {
  if (installed) return;
  installed = true;
  reloadMemorySettings();
  startAccessClock();
  startUsageTracking();
  installGcPacing();
  installEviction(ks);
  setKeyCounter(() => ks.dbs.reduce((n, db) => n + db.size, 0));
  settingsListeners.push(evictionSettingsChanged);
}
