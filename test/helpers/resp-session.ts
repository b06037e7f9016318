/**
 * Pipelined command sessions for reply-for-reply comparisons with
 * redis-server: every command is written at once and the raw reply bytes
 * come back split at RESP frame boundaries (so thousands of commands cost
 * one round trip, and a reply holding any bytes at all splits right).
 */
import net from 'node:net';
import { resp } from './server.js';

/** Length of the RESP2/RESP3 frame at `at` in s, or -1 if s does not hold all of it yet. */
export function frameEnd(s: string, at: number): number {
  const eol = s.indexOf('\r\n', at);
  if (eol < 0) return -1;
  const t = s[at];
  const head = s.slice(at + 1, eol);
  const after = eol + 2;
  switch (t) {
    case '+':
    case '-':
    case ':':
    case '_':
    case ',':
    case '#':
    case '(':
      return after;
    case '$':
    case '=':
    case '!': {
      const n = Number(head);
      if (n < 0) return after;
      return s.length >= after + n + 2 ? after + n + 2 : -1;
    }
    case '*':
    case '~':
    case '>':
    case '%':
    case '|': {
      let n = Number(head);
      if (n < 0) return after;
      if (t === '%' || t === '|') n *= 2;
      let p = after;
      for (let i = 0; i < n; i++) {
        p = frameEnd(s, p);
        if (p < 0) return -1;
      }
      return p;
    }
  }
  throw new Error('bad RESP at ' + at + ': ' + JSON.stringify(s.slice(at, at + 40)));
}

/** Each command's raw reply (latin1), sent pipelined on one connection in protocol `proto`. */
export async function session(port: number, proto: 2 | 3, cmds: string[][]): Promise<string[]> {
  const c = net.connect(port, '127.0.0.1');
  await new Promise((res, rej) => {
    c.once('connect', res);
    c.once('error', rej);
  });
  const all = proto === 3 ? [['HELLO', '3'], ...cmds] : cmds;
  let buf = '';
  let pos = 0;
  const out: string[] = [];
  const done = new Promise<void>((res, rej) => {
    const deadline = setTimeout(() => rej(new Error(`timeout after ${out.length}/${all.length} replies`)), 60000);
    c.on('data', (d) => {
      buf += d.toString('latin1');
      for (;;) {
        const end = frameEnd(buf, pos);
        if (end < 0) break;
        out.push(buf.slice(pos, end));
        pos = end;
        if (out.length === all.length) {
          clearTimeout(deadline);
          res();
          return;
        }
      }
      if (pos > 1 << 20) {
        buf = buf.slice(pos);
        pos = 0;
      }
    });
    c.once('error', rej);
  });
  const payload = all.map((a) => resp(...a)).join('');
  c.write(Buffer.from(payload, 'latin1'));
  await done;
  c.destroy();
  return proto === 3 ? out.slice(1) : out;
}
