/**
 * used_memory after a boot load counts the heap the loaded keys take.
 * Loaders fill tables without accounting each key, so what used_memory
 * knows of them is the live heap measured after major GCs; it used to keep
 * the smallest of the last few measurements, all from before the load, and
 * read a 20M-key server's heap as 180 MB where 835 MB were live: eviction
 * started late, and idle-release took a 640 ms full collection for a short one.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { startServer, type TestServer } from './helpers/server.js';

const servers: TestServer[] = [];
const dir = mkdtempSync(path.join(tmpdir(), 'damselfly-usedmem-'));

afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop();
});

const field = (info: string, f: string) => Number(new RegExp(`^${f}:(\\d+)`, 'm').exec(info)![1]);

describe('used_memory after a boot', () => {
  it('includes the heap of the keys the snapshot loaded', async () => {
    const N = 500_000;
    const a = await startServer(['--dir', dir, '--save', '', '--enable-debug-command', 'yes']);
    servers.push(a);
    const ra = new Redis({ port: a.port });
    // 8-byte values stay JS strings: each key costs the heap its slot and its value.
    await ra.call('DEBUG', 'POPULATE', String(N), 'key', '8');
    await ra.save();
    await ra.quit();
    await a.stop();
    servers.length = 0;

    const b = await startServer(['--dir', dir, '--save', '']);
    servers.push(b);
    const rb = new Redis({ port: b.port });
    expect(await rb.dbsize()).toBe(N);
    const info = await rb.info('memory');
    const heapPart = field(info, 'used_memory') - field(info, 'values_offheap_used') - field(info, 'used_memory_startup');
    // Slots (~40 B a key) and 8-byte value strings (24 B): at least 50 B a key is on the heap.
    expect(heapPart).toBeGreaterThan(50 * N);
    await rb.quit();
    rmSync(dir, { recursive: true, force: true });
  });
});
