/**
 * A minimal RESP client for the bench tooling (probing commands, DBSIZE,
 * bulk loading). Replies are parsed with redis-parser, the same package the
 * test suite uses, so the harness never trusts our own parser.
 */
import net from 'node:net';
import RedisParser from 'redis-parser';

export function encode(args) {
  let s = `*${args.length}\r\n`;
  for (const a of args) {
    const str = String(a);
    s += `$${Buffer.byteLength(str, 'latin1')}\r\n${str}\r\n`;
  }
  return s;
}

export class RespClient {
  static connect(port, host = '127.0.0.1') {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ port, host }, () => resolve(new RespClient(sock)));
      sock.once('error', reject);
    });
  }

  constructor(sock) {
    this.sock = sock;
    this.waiting = [];
    this.parser = new RedisParser({
      returnBuffers: false,
      returnReply: (r) => this.waiting.shift().resolve(r),
      returnError: (e) => this.waiting.shift().resolve(e),
      returnFatalError: (e) => {
        for (const w of this.waiting.splice(0)) w.reject(e);
      },
    });
    sock.on('data', (d) => this.parser.execute(d));
    sock.on('error', (e) => {
      for (const w of this.waiting.splice(0)) w.reject(e);
    });
  }

  /** One command; resolves with the reply (a ReplyError instance for -ERR). */
  call(...args) {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.sock.write(encode(args), 'latin1');
    });
  }

  /** Many pre-encoded commands in one write; resolves when all replies arrived. */
  async pipeline(payload, count) {
    const ps = [];
    for (let i = 0; i < count; i++) ps.push(new Promise((resolve, reject) => this.waiting.push({ resolve, reject })));
    this.sock.write(payload, 'latin1');
    const replies = await Promise.all(ps);
    const err = replies.find((r) => r instanceof Error);
    if (err) throw err;
    return replies;
  }

  close() {
    this.sock.destroy();
  }
}
