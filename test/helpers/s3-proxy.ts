/**
 * A fault-injecting HTTP proxy between the code under test and a real S3
 * server. By default every request passes through untouched (the Host header
 * included, so SigV4 signatures stay valid); rules programmed by a test turn
 * chosen requests into S3 errors, delays, connection resets, a 301 with a
 * region header, or run an action first (e.g. replace the object being read
 * with a real PUT to the backend). Every request is recorded for assertions.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  method: string;
  /** Path without the query string, e.g. "/bucket/prefix/key". */
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  /** The access key from the SigV4 Authorization header. */
  accessKey?: string;
  /** Status sent back to the client (after any fault). */
  status?: number;
  fault?: string;
}

export type Fault =
  /** Answer with this status and an S3 XML error body carrying `code`. */
  | { status: number; code: string; message?: string; headers?: Record<string, string> }
  /** Wait, then pass through (a long delay trips the client's timeout). */
  | { delayMs: number }
  /** Destroy the connection without answering. */
  | { reset: true }
  /** 301 PermanentRedirect naming the bucket's real region. */
  | { redirectRegion: string }
  /** Run an action (awaited), then pass through. */
  | { before: (req: SeenRequest) => Promise<void> }
  /** Answer 200 with an empty body without forwarding: a store that "accepts" what it should refuse. */
  | { fakeOk: true };

export type Matcher = (req: SeenRequest) => boolean;

export interface Rule {
  match: Matcher;
  fault: Fault;
  /** How many more requests this rule applies to (Infinity: all). */
  remaining: number;
  /** How many requests it has applied to. */
  hits: number;
}

/** Common matchers. */
export const on = {
  any: (): Matcher => () => true,
  method: (m: string): Matcher => (r) => r.method === m,
  /** A request on an object whose key (path after the bucket) matches. */
  key: (re: RegExp, method?: string): Matcher => (r) => (!method || r.method === method) && re.test(objectKey(r.path)),
  /** A ranged GET of an object whose key matches. */
  rangedGet: (re: RegExp): Matcher => (r) => r.method === 'GET' && !!r.headers.range && re.test(objectKey(r.path)),
  /** A request on the bucket itself (HeadBucket, ListObjectsV2, ...). */
  bucket: (method?: string): Matcher => (r) => (!method || r.method === method) && objectKey(r.path) === '',
  list: (): Matcher => (r) => r.method === 'GET' && objectKey(r.path) === '' && r.query.get('list-type') === '2',
  uploadPart: (): Matcher => (r) => r.method === 'PUT' && r.query.has('partNumber') && r.query.has('uploadId'),
};

function objectKey(path: string): string {
  const rest = path.replace(/^\/+/, '');
  const i = rest.indexOf('/');
  return i < 0 ? '' : decodeURIComponent(rest.slice(i + 1));
}

function accessKeyOf(h: http.IncomingHttpHeaders): string | undefined {
  const m = /Credential=([^/,\s]+)\//.exec(String(h.authorization ?? ''));
  return m ? m[1] : undefined;
}

function xmlError(code: string, message: string): string {
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${esc(code)}</Code><Message>${esc(message)}</Message><RequestId>s3-proxy</RequestId></Error>`;
}

export class S3Proxy {
  readonly requests: SeenRequest[] = [];
  private rules: Rule[] = [];
  private rejected = new Map<string, string>();
  private sockets = new Set<import('node:net').Socket>();

  private constructor(
    private readonly server: http.Server,
    readonly target: URL,
  ) {}

  /** Start a proxy on 127.0.0.1 (free port) in front of `target` (http URL). */
  static async start(target: string): Promise<S3Proxy> {
    const server = http.createServer();
    const proxy = new S3Proxy(server, new URL(target));
    server.on('request', (req, res) => void proxy.handle(req, res));
    server.on('connection', (s) => {
      proxy.sockets.add(s);
      s.on('close', () => proxy.sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }
  /** host:port, the form --s3_endpoint takes. */
  get hostPort(): string {
    return `127.0.0.1:${this.port}`;
  }
  get url(): string {
    return `http://${this.hostPort}`;
  }

  /** Apply `fault` to the next `times` requests that match (default: all). */
  add(match: Matcher, fault: Fault, times = Infinity): Rule {
    const rule: Rule = { match, fault, remaining: times, hits: 0 };
    this.rules.push(rule);
    return rule;
  }

  /** From now on, any request signed with `accessKey` gets 403 `code`. */
  rejectKey(accessKey: string, code = 'InvalidAccessKeyId'): void {
    this.rejected.set(accessKey, code);
  }

  /** Back to plain pass-through; the request log is kept. */
  reset(): void {
    this.rules = [];
    this.rejected.clear();
  }

  /** Requests seen so far that match. */
  seen(match: Matcher = on.any()): SeenRequest[] {
    return this.requests.filter(match);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', 'http://proxy');
    const seen: SeenRequest = {
      method: req.method ?? 'GET',
      path: u.pathname,
      query: u.searchParams,
      headers: req.headers,
      accessKey: accessKeyOf(req.headers),
    };
    this.requests.push(seen);
    const reply = (status: number, code: string, message: string, headers: Record<string, string> = {}) => {
      seen.status = status;
      req.resume();
      const body = seen.method === 'HEAD' ? '' : xmlError(code, message);
      res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body), 'x-amz-request-id': 's3-proxy', ...headers });
      res.end(body);
    };

    const rejectedCode = seen.accessKey ? this.rejected.get(seen.accessKey) : undefined;
    if (rejectedCode) {
      seen.fault = `reject-key:${rejectedCode}`;
      return reply(403, rejectedCode, 'The access key is no longer valid (s3-proxy).');
    }

    const rule = this.rules.find((r) => r.remaining > 0 && r.match(seen));
    if (rule) {
      rule.remaining--;
      rule.hits++;
      const f = rule.fault;
      if ('status' in f) {
        seen.fault = `status:${f.status}:${f.code}`;
        return reply(f.status, f.code, f.message ?? `${f.code} (s3-proxy)`, f.headers);
      }
      if ('fakeOk' in f) {
        seen.fault = 'fake-ok';
        seen.status = 200;
        req.resume();
        res.writeHead(200, { etag: '"00000000000000000000000000000000"', 'content-length': 0, 'x-amz-request-id': 's3-proxy' });
        res.end();
        return;
      }
      if ('redirectRegion' in f) {
        seen.fault = `redirect:${f.redirectRegion}`;
        return reply(301, 'PermanentRedirect', 'The bucket is in another region (s3-proxy).', { 'x-amz-bucket-region': f.redirectRegion });
      }
      if ('reset' in f) {
        seen.fault = 'reset';
        req.socket.destroy();
        return;
      }
      if ('delayMs' in f) {
        seen.fault = `delay:${f.delayMs}`;
        await new Promise((r) => setTimeout(r, f.delayMs));
        if (req.socket.destroyed) return;
      }
      if ('before' in f) {
        seen.fault = 'before';
        await f.before(seen);
      }
    }
    this.forward(req, res, seen);
  }

  private forward(req: http.IncomingMessage, res: http.ServerResponse, seen: SeenRequest): void {
    const tls = this.target.protocol === 'https:';
    const up = (tls ? https : http).request(
      {
        host: this.target.hostname,
        port: this.target.port || (tls ? 443 : 80),
        servername: tls ? this.target.hostname : undefined,
        method: req.method,
        path: req.url,
        headers: req.headers, // Host unchanged: it is part of the signature
      },
      (upRes) => {
        seen.status = upRes.statusCode;
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
        upRes.on('error', () => res.destroy());
      },
    );
    up.on('error', () => {
      if (!res.headersSent) {
        seen.status = 502;
        res.writeHead(502).end();
      } else res.destroy();
    });
    req.on('error', () => up.destroy());
    res.on('close', () => {
      if (!res.writableFinished) up.destroy();
    });
    req.pipe(up);
  }
}
