/**
 * MEMORY DOCTOR: Redis's report (object.c getMemoryDoctorReport), its
 * checks applied to our figures, plus what only this server can go wrong
 * on: garbage waiting for V8's next GC, and a heap near V8's limit.
 */
import v8 from 'node:v8';
import type { Server } from '../server/server.js';
import { memoryFacts } from './usage.js';
import { mem } from './settings.js';
import { evictionExceededTime } from './evict.js';

const MB = 1024 * 1024;

export function memoryDoctor(server: Server): string {
  const f = memoryFacts();
  if (f.used < 5 * MB) {
    return "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n";
  }
  const issues: string[] = [];
  if (f.peak / f.used > 1.5) {
    issues.push(' * Peak memory: In the past this instance used more than 150% the memory that is currently using. V8 gives memory back to the system after its next major GCs, so RSS may stay high for a while; MEMORY PURGE runs a full GC now (blocking the server while it runs) to return it sooner.');
  }
  if (f.rss / f.used > 1.4 && f.rss - f.used > 10 * MB) {
    issues.push(` * High total RSS: RSS (${mb(f.rss)}) is ${(f.rss / f.used).toFixed(2)} times used_memory (${mb(f.used)}). Between major GCs, V8's heap holds garbage (deleted and overwritten values) on top of the live data: ${mb(f.heapUsed)} allocated now against ${mb(f.liveAfterGc)} live after the last major GC. A large peak has the same effect until V8 shrinks the heap.`);
  }
  const clients = server.clients.size;
  if (clients > 0 && f.external / clients > 200 * 1024) {
    issues.push(' * Big client buffers: The clients output buffers in this instance are greater than 200K per client (on average). This may result from different causes, like Pub/Sub clients subscribed to channels but not receiving data fast enough, or clients sending commands with large replies or very large sequences of commands in the same pipeline. Use CLIENT LIST to find them.');
  }
  const h = v8.getHeapStatistics();
  if (h.used_heap_size > 0.85 * h.heap_size_limit) {
    issues.push(` * Heap near its limit: V8's heap holds ${mb(h.used_heap_size)} of its ${mb(h.heap_size_limit)} limit. Set maxmemory below the limit (or start the server with a larger heap) so that eviction, not V8, bounds memory.`);
  }
  if (mem.maxmemory > 0 && mem.policy !== 'noeviction' && evictionExceededTime().current > 10_000) {
    issues.push(` * Eviction not keeping up: used_memory has been over maxmemory for ${Math.round(evictionExceededTime().current / 1000)} s. Writes are arriving faster than eviction frees memory, or no key matches the ${mem.policy} policy (volatile-* policies only evict keys with a TTL).`);
  }
  if (mem.maxmemory > 0 && mem.maxmemory < f.startup) {
    issues.push(` * maxmemory (${mb(mem.maxmemory)}) is below what the empty server uses (${mb(f.startup)}): every key will be evicted, or every write refused.`);
  }
  if (issues.length === 0) return "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n";
  return `Sam, I detected a few issues in this Redis instance memory implants:\n\n${issues.join('\n\n')}\n\nI'm here to keep you safe, Sam. I want to help you.\n`;
}

function mb(n: number): string {
  return `${(n / MB).toFixed(1)} MB`;
}
