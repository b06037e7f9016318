/**
 * The snapshot benchmarks' dataset (issue 4), shared by
 * snapshot-side-by-side.mjs and snapshot-boot.mjs: 900k strings of 80 bytes
 * named like redis-benchmark's keys, plus 25k each of hashes (10 fields x
 * 16 B), lists, sets and zsets (20 x 12 B), loaded by a pipelined raw-RESP
 * loader. `scale` shrinks it for a quick trial of a harness.
 */
import net from 'node:net';
import { encode } from './resp.mjs';

export function snapshotDataset(scale = 1) {
  const N_STRINGS = Math.round(900_000 * scale);
  const N_EACH = Math.round(25_000 * scale); // hashes, lists, sets, zsets each
  const N_KEYS = N_STRINGS + 4 * N_EACH;
  /** Deterministic pseudo-random printable text, so values do not compress (RDB uses LZF). */
  const POOL = (() => {
    const abc = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
    let x = 0x2545f491;
    let s = '';
    for (let i = 0; i < 1 << 20; i++) {
      x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
      s += abc[x % abc.length];
    }
    return s;
  })();
  const text = (i, len) => {
    const o = (i * 7919) % (POOL.length - len);
    return POOL.slice(o, o + len);
  };
  const pad = (i) => String(i).padStart(12, '0');

  /** The i-th command of the dataset (identical for both servers). */
  function command(i) {
    if (i < N_STRINGS) return encode(['SET', 'key:' + pad(i), text(i, 80)]);
    const j = i - N_STRINGS;
    const kind = j % 4;
    const id = pad((j / 4) | 0);
    const args = [];
    switch (kind) {
      case 0:
        args.push('HSET', 'hash:' + id);
        for (let f = 0; f < 10; f++) args.push('field' + f, text(i * 10 + f, 16));
        break;
      case 1:
        args.push('RPUSH', 'list:' + id);
        for (let e = 0; e < 20; e++) args.push(text(i * 20 + e, 12));
        break;
      case 2:
        args.push('SADD', 'set:' + id);
        for (let e = 0; e < 20; e++) args.push(text(i * 20 + e, 12));
        break;
      case 3:
        args.push('ZADD', 'zset:' + id);
        for (let e = 0; e < 20; e++) args.push(String((i * 31 + e * 17) % 100000 / 7), text(i * 20 + e, 12));
        break;
    }
    return encode(args);
  }

  /**
   * Pipelined loader: batches of BATCH commands, up to two batches in flight.
   * Every reply of the dataset's commands is one line (+OK or :n), so replies
   * are counted by newlines; a line starting with '-' is an error.
   */
  function loadDataset(port) {
    const BATCH = 2000;
    return new Promise((resolve, reject) => {
      const sock = net.connect({ port, host: '127.0.0.1' });
      let sent = 0;
      let replies = 0;
      let lineStart = true;
      let firstError = null;
      let errLine = '';
      const pump = () => {
        while (sent < N_KEYS && sent - replies < 2 * BATCH) {
          const end = Math.min(N_KEYS, sent + BATCH);
          let payload = '';
          for (let i = sent; i < end; i++) payload += command(i);
          sent = end;
          sock.write(payload, 'latin1');
        }
      };
      sock.on('connect', pump);
      sock.on('error', reject);
      sock.on('data', (buf) => {
        for (let k = 0; k < buf.length; k++) {
          const b = buf[k];
          if (lineStart && b === 0x2d /* - */) firstError ??= k;
          if (firstError !== null && errLine.length < 200 && !(b === 10 || b === 13)) errLine += String.fromCharCode(b);
          lineStart = b === 10;
          if (lineStart) replies++;
        }
        if (firstError !== null) {
          sock.destroy();
          return reject(new Error('error reply while loading: ' + errLine));
        }
        if (replies === N_KEYS) {
          sock.destroy();
          return resolve();
        }
        pump();
      });
    });
  }
  return { N_STRINGS, N_EACH, N_KEYS, command, loadDataset };
}
