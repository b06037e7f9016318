/**
 * Checking a snapshot's data against its manifest, chunk by chunk as it
 * streams past: `snapshots verify` reads a copy this way, and catch-up runs
 * the bytes it copies through the same check before it commits a manifest
 * for them, so a location is never "caught up" with data that would fail
 * to load (a truncated read, a bit flipped in transit, the wrong object).
 */
import { Readable } from 'node:stream';
import type { Manifest } from '../storage/backend.js';
import { SnapshotReader } from '../snapshot/reader.js';
import type { SnapshotFooter, SnapshotHeader } from '../snapshot/format.js';

export class SnapshotCheck {
  private readonly keys: number[] = [];
  private readonly reader = new SnapshotReader({
    key: (db) => {
      this.keys[db] = (this.keys[db] ?? 0) + 1;
    },
  });

  constructor(private readonly m: Manifest) {}

  /** Throws (the reader's error) as soon as the data is malformed. */
  push(chunk: Buffer): void {
    this.reader.push(chunk);
  }

  /** At end of data: why it does not match its manifest, or null when it is sound. */
  finish(): string | null {
    let header: SnapshotHeader;
    let footer: SnapshotFooter;
    try {
      ({ header, footer } = this.reader.end());
    } catch (e) {
      return (e as Error).message;
    }
    const m = this.m;
    if (footer.sha256 !== m.checksum) return `checksum ${footer.sha256} differs from the manifest's ${m.checksum}`;
    if (header.seq !== m.seq) return `data is seq ${header.seq}, the manifest says ${m.seq}`;
    if (this.reader.consumed !== m.size) return `data has ${this.reader.consumed} bytes, the manifest says ${m.size}`;
    for (let i = 0; i < Math.max(this.keys.length, m.keys.length); i++) {
      if ((this.keys[i] ?? 0) !== (m.keys[i] ?? 0)) return `db ${i} has ${this.keys[i] ?? 0} keys, the manifest says ${m.keys[i] ?? 0}`;
    }
    return null;
  }
}

/** Read `data` completely and check it against `m`: null when it is sound. */
export async function verifyData(data: Readable, m: Manifest): Promise<string | null> {
  const check = new SnapshotCheck(m);
  try {
    for await (const chunk of data) check.push(chunk as Buffer);
  } catch (e) {
    return (e as Error).message;
  } finally {
    data.destroy();
  }
  return check.finish();
}

/**
 * `data` passed through unchanged, failing the stream if it does not match
 * `m`. Lazy: nothing is read (so nothing can fail) before the consumer pulls,
 * so an error always reaches whoever reads; a backend that gives up before
 * reading (it could not create its file) destroys it and the source with it.
 */
export function verifyingStream(data: Readable, m: Manifest): Readable {
  async function* checked(): AsyncGenerator<Buffer> {
    const check = new SnapshotCheck(m);
    try {
      for await (const chunk of data) {
        check.push(chunk as Buffer);
        yield chunk as Buffer;
      }
    } finally {
      data.destroy();
    }
    const why = check.finish();
    if (why !== null) throw new Error(`snapshot ${m.id} does not match its manifest: ${why}`);
  }
  return Readable.from(checked(), { objectMode: false });
}
