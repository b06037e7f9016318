/**
 * The batching of replies (src/server/write-batch.ts): small replies wait
 * for the end of the event loop's turn, and nothing is ever reordered or
 * lost. The TCP suites exercise it end to end (pipelines, pub/sub,
 * streamed replies, QUIT, protocol errors); here the rules themselves, on
 * a real socket pair.
 */
import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import { ClientSink } from '../src/server/write-batch.js';

const open: net.Socket[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.destroy();
});

/** A connected pair: what is written to `a` is read from `b` (collected in `got`), and the writes `a` made. */
async function pair(): Promise<{ a: net.Socket; got: () => string; writes: () => number; arrived: (end: string) => Promise<void> }> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const b = net.connect(port, '127.0.0.1');
  const a = await accepted;
  server.close();
  open.push(a, b);
  let text = '';
  b.on('data', (d) => (text += d.toString('latin1')));
  const arrived = (end: string) =>
    new Promise<void>((r) => {
      const check = () => {
        if (!text.endsWith(end)) return;
        b.off('data', check);
        r();
      };
      b.on('data', check);
      check();
    });
  let writes = 0;
  const write = a.write.bind(a) as (...args: unknown[]) => boolean;
  (a as unknown as { write: (...args: unknown[]) => boolean }).write = (...args: unknown[]) => {
    writes++;
    return write(...args);
  };
  return { a, got: () => text, writes: () => writes, arrived };
}

const turn = () => new Promise((r) => setImmediate(r));
const b = (s: string) => Buffer.from(s, 'latin1');

describe('replies written at the end of the turn', () => {
  it('holds small writes until the end of the turn, then writes them in order', async () => {
    const { a, writes } = await pair();
    const sink = new ClientSink(a, () => true);
    sink.write(b('+one\r\n'));
    sink.write(b('+two\r\n'));
    expect(writes()).toBe(0);
    expect(sink.held).toBe(12);
    await turn();
    expect(writes()).toBe(2);
    expect(sink.held).toBe(0);
  });

  it('a large write, or one with a callback, first hands over what is held: the order is kept', async () => {
    const { a, got, arrived } = await pair();
    const sink = new ClientSink(a, () => true);
    sink.write(b('+first\r\n'));
    sink.write(Buffer.alloc(20_000, 'x'));
    let called = false;
    sink.write(b('+held\r\n'));
    sink.write(b('+streamed\r\n'), () => (called = true));
    sink.write(b('+last\r\n'));
    await arrived('+last\r\n');
    expect(got()).toBe('+first\r\n' + 'x'.repeat(20_000) + '+held\r\n+streamed\r\n+last\r\n');
    expect(called).toBe(true);
  });

  it('does not hold for a client that must still authenticate, nor more than 64 KiB', async () => {
    const { a, writes } = await pair();
    const unauth = new ClientSink(a, () => false);
    unauth.write(b('-NOAUTH Authentication required.\r\n'));
    expect(writes()).toBe(1);
    const sink = new ClientSink(a, () => true);
    for (let i = 0; i < 8; i++) sink.write(Buffer.alloc(10_000, 'y'));
    // Six pieces fit in 64 KiB; the seventh hands them over and goes itself, the eighth is held.
    expect(sink.held).toBe(10_000);
    expect(writes()).toBe(1 + 7);
  });

  it('drain() before a close keeps the last reply; discard() drops what is held', async () => {
    const { a, got, arrived } = await pair();
    const sink = new ClientSink(a, () => true);
    sink.write(b('+OK\r\n'));
    sink.drain();
    sink.write(b('+dropped\r\n'));
    sink.discard();
    await turn();
    a.write('+marker\r\n');
    await arrived('+marker\r\n');
    expect(got()).toBe('+OK\r\n+marker\r\n');
  });
});
