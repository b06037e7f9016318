/**
 * The memory parameters (defined in config/server-params.ts), cached here
 * because they are read on every key access and every command: a config
 * lookup each time showed in profiles. `reloadMemorySettings` runs once the
 * flags are applied and on every CONFIG SET of one of them.
 */
import { getInt, getString } from '../config/params.js';

export type Policy = 'noeviction' | 'allkeys-lru' | 'volatile-lru' | 'allkeys-lfu' | 'volatile-lfu' | 'allkeys-random' | 'volatile-random' | 'volatile-ttl';

export const mem = {
  /** Bytes; 0 means no limit. */
  maxmemory: 0,
  policy: 'noeviction' as Policy,
  /** The policy ranks keys by LFU frequency (and keys carry LFU metas). */
  lfu: false,
  /** The policy only considers keys with a TTL. */
  volatile: false,
  samples: 5,
  tenacity: 10,
  lfuLogFactor: 10,
  lfuDecayTime: 1,
};

/** Called after a reload (the access clock recomputes what new keys get). */
export const settingsListeners: (() => void)[] = [];

export function reloadMemorySettings(): void {
  mem.maxmemory = getInt('maxmemory');
  mem.policy = getString('maxmemory-policy') as Policy;
  mem.lfu = mem.policy.endsWith('-lfu');
  mem.volatile = mem.policy.startsWith('volatile-');
  mem.samples = getInt('maxmemory-samples');
  mem.tenacity = getInt('maxmemory-eviction-tenacity');
  mem.lfuLogFactor = getInt('lfu-log-factor');
  mem.lfuDecayTime = getInt('lfu-decay-time');
  for (const f of settingsListeners) f();
}
