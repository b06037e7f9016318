/**
 * HTTP on the main port, as Dragonfly answers it there: a connection whose
 * first line is an HTTP/1.x request line is not a Redis client. It gets
 * `GET /metrics` (Prometheus) and is closed after the response. Redis
 * clients never start that way (a RESP request starts with `*`; an inline
 * command would need an argument "HTTP/1.1").
 */
import type { Socket } from 'node:net';
import type { Server } from './server.js';
import { metricsText } from './metrics.js';
import { defineParam, getBool } from '../config/params.js';
import { log } from '../log.js';

defineParam({
  name: 'primary_port_http_enabled',
  type: 'bool',
  default: 'yes',
  flagOnly: true,
  help: 'answer HTTP (GET /metrics) on the main port, as Dragonfly does',
});

const REQUEST_LINE = /^(GET|HEAD) (\S+) HTTP\/1\.[01]\r?\n/;

/**
 * For the first bytes of a connection: 'http' (serve it), 'redis' (a
 * Redis client), or 'more' (could still be either: wait for more bytes).
 */
export function sniff(head: Buffer): 'http' | 'redis' | 'more' {
  if (!getBool('primary_port_http_enabled')) return 'redis';
  const s = head.subarray(0, 2048).toString('latin1');
  if (REQUEST_LINE.test(s)) return 'http';
  if (s.includes('\n') || head.length >= 2048) return 'redis';
  // A request line still arriving: wait for its end.
  return /^(GET|HEAD) \//.test(s) || 'GET /'.startsWith(s) || 'HEAD /'.startsWith(s) ? 'more' : 'redis';
}

/** Answer one HTTP request (its head is in `head`) and close. */
export function serveHttp(server: Server, socket: Socket, head: Buffer): void {
  const m = REQUEST_LINE.exec(head.toString('latin1'))!;
  const [, method, target] = m;
  const path = target.split('?')[0];
  let status = '200 OK';
  let type = 'text/plain; version=0.0.4; charset=utf-8';
  let body: string;
  if (path === '/metrics') body = metricsText(server);
  else {
    status = '404 Not Found';
    type = 'text/plain; charset=utf-8';
    body = 'not found: try /metrics\n';
  }
  const bytes = Buffer.from(body, 'utf8');
  const headers = `HTTP/1.1 ${status}\r\nContent-Type: ${type}\r\nContent-Length: ${bytes.length}\r\nConnection: close\r\n\r\n`;
  socket.end(method === 'HEAD' ? headers : Buffer.concat([Buffer.from(headers, 'latin1'), bytes]));
  log.debug({ path, status }, 'answered an HTTP request');
}
