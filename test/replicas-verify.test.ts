/**
 * The check catch-up runs its copies through (src/replicas/verify.ts). A
 * backend may take its time before it reads (the folder backend opens its
 * file first): a source that is already known bad in that window must fail
 * the read, not raise an 'error' event nobody listens to, which took the
 * whole server down (replicas-local's damaged-source test, about 1 run in 3).
 */
import { Readable } from 'node:stream';
import { setImmediate as tick } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { verifyingStream } from '../src/replicas/verify.js';
import type { Manifest } from '../src/storage/backend.js';

const manifest = { id: 'x', seq: 1, size: 64, checksum: '0', keys: [], dataName: 'x.dfs', createdAt: 0 } as unknown as Manifest;

describe('verifyingStream', () => {
  it('reads nothing before its consumer does; a bad source fails the read that comes later', async () => {
    let pulled = 0;
    let destroyed = false;
    const source = new Readable({
      read() {
        pulled++;
        this.push(Buffer.alloc(64, 0x41));
        this.push(null);
      },
      destroy(e, cb) {
        destroyed = true;
        cb(e);
      },
    });
    const checked = verifyingStream(source, manifest);
    for (let i = 0; i < 20; i++) await tick();
    expect(pulled).toBe(0);
    const read = (async () => {
      for await (const _ of checked) void _;
    })();
    await expect(read).rejects.toThrow(/snapshot/i);
    expect(destroyed).toBe(true);
  });

});
