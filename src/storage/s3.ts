/**
 * Snapshots in S3 (`--dir s3://bucket/prefix`).
 *
 * Layout under the prefix: `data/<id>.<writer>.dfs` (the snapshot stream,
 * one immutable object per snapshot), `manifests/<seq>-<id>.json`, written
 * last and create-only (If-None-Match: *), so a snapshot exists exactly when
 * its manifest does and nothing is overwritten in place, and
 * `writers/<writer>`, the lease a writer keeps fresh while it saves
 * (src/storage/writer.ts), and `tombstones/<id>.json`, snapshots deleted on
 * purpose (src/replicas/retention.ts).
 *
 * Failure handling that matters for not losing data:
 *  - credentials come from the SDK's default chain and are asked for on every
 *    request; a request refused for an expired/rotated key forces one refresh
 *    and is retried once (a long multipart upload survives key rotation);
 *  - the region is configured or discovered with HeadBucket's
 *    x-amz-bucket-region (also present on 301/403), rediscovered once on a
 *    301; GetBucketLocation is never used;
 *  - loading reads ranges in parallel, each pinned with If-Match to the ETag
 *    the manifest recorded: a replaced object is a 'changed' error, never a
 *    mix of two versions.
 */
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  UploadPartCopyCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { randomBytes } from 'node:crypto';
import { BackendError, isTombstone, manifestDamage, sealManifest, type BackendFailure, type CreateOnly, type Manifest, type ManifestProblem, type SnapshotBackend, type SnapshotWriter, type StoredItem, type Tombstone } from './backend.js';
import { WRITER_ID, writerOf } from './writer.js';
import type { S3Settings } from './s3-params.js';
import { parseS3Url, type S3Location } from './select.js';

export { parseS3Url, type S3Location };
import { log } from '../log.js';

/** Codes after which a fresh set of credentials may succeed. */
const REFRESHABLE = new Set(['ExpiredToken', 'InvalidToken', 'InvalidAccessKeyId', 'TokenRefreshRequired', 'ExpiredTokenException']);
const AUTH = new Set([...REFRESHABLE, 'AccessDenied', 'SignatureDoesNotMatch', 'InvalidSecurity', 'AllAccessDisabled', 'CredentialsProviderError', 'Forbidden', '403']);
/** Codes that say the key itself is fine (no refresh helps). */
const AUTH_CODED = new Set(['AccessDenied', 'SignatureDoesNotMatch', 'AllAccessDisabled']);
const MISSING = new Set(['NoSuchBucket', 'NotFound']);
const TRANSIENT = new Set([
  'SlowDown', 'ServiceUnavailable', 'InternalError', 'RequestTimeout', 'RequestTimeTooSkewed', 'TimeoutError', 'RequestTimeoutException',
  'Throttling', 'ThrottlingException', 'TooManyRequestsException', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH',
  'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE', 'AbortError',
]);

interface SdkError {
  name?: string;
  Code?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $response?: { statusCode?: number; headers?: Record<string, string> };
}

export function errorCode(e: unknown): string {
  const x = e as SdkError;
  return String(x?.Code ?? (x?.name && x.name !== 'Error' && x.name !== 'Unknown' ? x.name : undefined) ?? x?.code ?? statusOf(e) ?? 'Unknown');
}

export function statusOf(e: unknown): number | undefined {
  const x = e as SdkError;
  return x?.$metadata?.httpStatusCode ?? x?.$response?.statusCode;
}

/** Which failure class an SDK/network error belongs to (see BackendFailure). */
export function classifyS3Error(e: unknown): BackendFailure {
  if (e instanceof BackendError) return e.failure;
  const code = errorCode(e);
  const status = statusOf(e);
  const netCode = (e as SdkError)?.code;
  if (status === 412 || code === 'PreconditionFailed') return 'changed';
  if (MISSING.has(code)) return 'missing';
  if (AUTH.has(code) || status === 403 || status === 401) return 'auth';
  if (TRANSIENT.has(code) || (netCode && TRANSIENT.has(netCode))) return 'transient';
  if (status !== undefined && (status >= 500 || status === 429 || status === 408)) return 'transient';
  if (status === undefined && /socket|timeout|timed out|hang up|ECONN|network/i.test(String((e as Error)?.message))) return 'transient';
  return 'other';
}

const HINTS: Record<BackendFailure, string> = {
  missing: 'create the bucket, or fix --dir / --s3_endpoint',
  auth: 'check the credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, web identity) and the bucket policy',
  transient: 'S3 is unreachable, slow or overloaded; check --s3_endpoint and the network',
  changed: 'the snapshot object was replaced or deleted while it was read',
  corrupt: 'the snapshot data is damaged or missing',
  other: 'see the error code',
};

function regionHeader(e: unknown): string | undefined {
  const h = (e as SdkError)?.$response?.headers;
  return h?.['x-amz-bucket-region'] ?? h?.['X-Amz-Bucket-Region'];
}

const MANIFEST_DIR = 'manifests/';
const DATA_DIR = 'data/';
const LEASE_DIR = 'writers/';
const TOMBSTONE_DIR = 'tombstones/';

function manifestName(m: Pick<Manifest, 'seq' | 'id'>): string {
  return `${MANIFEST_DIR}${String(m.seq).padStart(16, '0')}-${m.id}.json`;
}

function validManifest(x: unknown): x is Manifest {
  const m = x as Manifest;
  return (
    !!m && m.format === 1 && typeof m.id === 'string' && Number.isSafeInteger(m.seq) && typeof m.createdAt === 'number' &&
    typeof m.dataName === 'string' && Number.isSafeInteger(m.size) && m.size >= 0 && typeof m.checksum === 'string' &&
    Array.isArray(m.keys) && m.keys.every((k) => Number.isSafeInteger(k))
  );
}

/** Run `fn` over `items` with at most `limit` in flight, results in order. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export type { ManifestProblem };

export class S3Backend implements SnapshotBackend {
  readonly location: string;
  readonly client: S3Client;
  private region: string | undefined;
  private readonly regionConfigured: boolean;
  private discovering: Promise<void> | null = null;
  private warnedNoConditionalPut = false;
  /** Manifests the last list() could not use (unreadable, malformed): boot decides what they mean. */
  lastListProblems: ManifestProblem[] = [];

  /** The same, as every backend names it. */
  get damaged(): ManifestProblem[] {
    return this.lastListProblems;
  }

  constructor(
    readonly where: S3Location,
    readonly settings: S3Settings,
  ) {
    this.location = `s3://${where.bucket}/${where.prefix}`;
    this.region = settings.region;
    this.regionConfigured = settings.region !== undefined;
    // The chain asks IMDS unless told not to; we only want it when asked for.
    if (!settings.ec2Metadata && process.env.AWS_EC2_METADATA_DISABLED === undefined) process.env.AWS_EC2_METADATA_DISABLED = 'true';
    const custom = settings.endpoint !== undefined;
    const checksum =
      settings.checksum === 'when_required' || (settings.checksum === 'auto' && custom)
        ? 'WHEN_REQUIRED'
        : settings.checksum === 'when_supported'
          ? 'WHEN_SUPPORTED'
          : undefined;
    const config: S3ClientConfig & { ignoreCache: boolean } = {
      // Asked on every request, so a rediscovered region applies at once.
      region: async () => this.region ?? 'us-east-1',
      endpoint: settings.endpoint,
      ...(settings.profile !== undefined ? { profile: settings.profile } : {}),
      forcePathStyle: custom,
      maxAttempts: 3,
      requestHandler: { connectionTimeout: Math.min(settings.requestTimeoutMs, 10000), requestTimeout: settings.requestTimeoutMs, throwOnRequestTimeout: true },
      // Passed through to the default credential chain: a forced refresh
      // re-reads the shared credentials/config files instead of a cached copy.
      ignoreCache: true,
    };
    if (checksum) {
      config.requestChecksumCalculation = checksum;
      config.responseChecksumValidation = checksum;
    }
    this.client = new S3Client(config);
    this.installMiddleware();
  }

  private installMiddleware(): void {
    if (!this.settings.signPayload) {
      // The signer uses an x-amz-content-sha256 already present as the payload hash.
      this.client.middlewareStack.add(
        (next) => async (args) => {
          const req = args.request as { headers?: Record<string, string> };
          if (req.headers) req.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
          return next(args);
        },
        { step: 'build', name: 'damselflyUnsignedPayload' },
      );
    }
    // Outermost: one forced credential refresh, or one region rediscovery, then the same request again.
    this.client.middlewareStack.add(
      (next, context) => async (args) => {
        try {
          return await next(args);
        } catch (e) {
          const code = errorCode(e);
          // A HEAD 403 carries no code: it may be an expired key as well.
          // (Not during region discovery: there a 403 is expected and its region header is the answer.)
          const headRefused = statusOf(e) === 403 && context.commandName === 'HeadBucketCommand' && !AUTH_CODED.has(code) && !this.discovering;
          if (REFRESHABLE.has(code) || headRefused) {
            log.warn({ code, op: context.commandName, location: this.location }, 'S3 refused the credentials: refreshing them and retrying once');
            await this.refreshCredentials();
            return await next(args);
          }
          if ((statusOf(e) === 301 || code === 'PermanentRedirect') && !this.regionConfigured && !this.discovering) {
            const before = this.region;
            await this.discoverRegion(regionHeader(e));
            if (this.region !== before) return await next(args);
          }
          throw e;
        }
      },
      { step: 'initialize', name: 'damselflyRefreshOrRedirectRetry', priority: 'high' },
    );
  }

  async refreshCredentials(): Promise<void> {
    const provider = this.client.config.credentials as unknown as (o?: { forceRefresh?: boolean }) => Promise<unknown>;
    await provider({ forceRefresh: true });
  }

  /** Region from a 301's header, else HeadBucket's x-amz-bucket-region (on 200, 301 or 403). */
  private async discoverRegion(hint?: string): Promise<void> {
    if (hint) {
      this.setRegion(hint, '301 response');
      return;
    }
    if (this.discovering) return this.discovering;
    this.discovering = (async () => {
      let found: string | undefined;
      try {
        const r = await this.client.send(new HeadBucketCommand({ Bucket: this.where.bucket }));
        found = r.BucketRegion;
      } catch (e) {
        found = regionHeader(e);
        if (!found && statusOf(e) !== 301) throw e;
      }
      if (found) this.setRegion(found, 'HeadBucket');
      else if (this.region === undefined) {
        this.region = 'us-east-1';
        log.info({ location: this.location }, 'S3 did not name the bucket region: using us-east-1');
      }
    })().finally(() => (this.discovering = null));
    return this.discovering;
  }

  private setRegion(region: string, how: string): void {
    if (region !== this.region) log.info({ location: this.location, region, how }, 'S3 bucket region discovered');
    this.region = region;
  }

  private async ensureRegion(): Promise<void> {
    if (this.region === undefined) await this.discoverRegion();
  }

  /** @internal the object key of a backend-relative name. */
  key(name: string): string {
    return this.where.prefix + name;
  }

  /** A BackendError naming bucket, prefix, code and a hint. */
  toBackendError(op: string, e: unknown, failure = classifyS3Error(e)): BackendError {
    if (e instanceof BackendError) return e;
    const code = errorCode(e);
    const status = statusOf(e);
    const msg = String((e as Error)?.message ?? '').replace(/\.+$/, '');
    const detail = msg && msg !== code ? `: ${msg}` : '';
    const elsewhere = regionHeader(e);
    const hint = status === 301 && elsewhere ? `the bucket is in region ${elsewhere}: set --s3_region=${elsewhere} (or leave it unset to discover it)` : HINTS[failure];
    return new BackendError(
      `S3 ${op} failed for bucket '${this.where.bucket}' prefix '${this.where.prefix}': ${code}${status ? ` (HTTP ${status})` : ''}${detail}. Hint: ${hint}`,
      failure,
      code,
      { cause: e },
    );
  }

  private async send<T>(op: string, fn: () => Promise<T>): Promise<T> {
    try {
      await this.ensureRegion();
      return await fn();
    } catch (e) {
      throw this.toBackendError(op, e);
    }
  }

  async check(): Promise<void> {
    try {
      await this.send('HeadBucket', async () => {
        await this.client.send(new HeadBucketCommand({ Bucket: this.where.bucket }));
      });
    } catch (e) {
      // A HEAD answer has no body: a 403 does not say why. A one-key listing does.
      if (statusOf((e as BackendError).cause) !== 403) throw e;
      await this.send('ListObjectsV2', () => this.client.send(new ListObjectsV2Command({ Bucket: this.where.bucket, Prefix: this.where.prefix, MaxKeys: 1 })));
      throw e;
    }
  }

  async create(id: string): Promise<SnapshotWriter> {
    await this.send('region discovery', async () => {});
    return new S3Writer(this, `${DATA_DIR}${id}.${WRITER_ID}.dfs`);
  }

  /** @internal used by the writer */
  async uploadData(name: string, data: Readable, track: (u: Upload) => void): Promise<{ size: number; etag?: string }> {
    let size = 0;
    // Lazy, so nothing reads (or fails) before the upload pulls: an error of
    // `data` always reaches upload.done(), never an 'error' event nobody hears.
    async function* counting(): AsyncGenerator<Buffer> {
      try {
        for await (const chunk of data) {
          size += (chunk as Buffer).length;
          yield chunk as Buffer;
        }
      } finally {
        data.destroy();
      }
    }
    const counted = Readable.from(counting(), { objectMode: false });
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.where.bucket, Key: this.key(name), Body: counted, ContentType: 'application/octet-stream' },
      partSize: this.settings.partSize,
      queueSize: this.settings.concurrency,
      leavePartsOnError: false,
    });
    track(upload);
    const out = await this.send('upload', () => upload.done());
    return { size, etag: out.ETag };
  }

  /**
   * The S3 location behind `src` if this store can copy its objects itself:
   * only on one endpoint, and with the same credentials (a copy is
   * authorised by the destination's keys reading the source, which another
   * account's keys may not).
   */
  copySource(src: SnapshotBackend): S3Backend | null {
    let b: SnapshotBackend | null | undefined = src;
    while (b && !(b instanceof S3Backend)) b = b.inner;
    return b instanceof S3Backend && b.settings.endpoint === this.settings.endpoint && b.settings.profile === this.settings.profile ? b : null;
  }

  /**
   * @internal server-side copy of `m`'s data from `src` to `name`, pinned
   * to the source's ETag (a replaced object fails with 412, not a mixed
   * copy): one CopyObject up to a part, else UploadPartCopy in parts of the
   * upload part size (at most 10,000 of them), `concurrency` at a time.
   *
   * Some stores refuse x-amz-copy-source-if-match on an object that is
   * unchanged (Swift's s3api does for multipart objects): when a pinned HEAD
   * of the source shows it unchanged, the copy is redone unconditionally
   * and pinned by checking the source's ETag again once it is done (data
   * objects are never overwritten in place, only deleted).
   */
  async copyData(name: string, src: S3Backend, m: Manifest, track: (uploadId: string) => void): Promise<{ size: number; etag?: string }> {
    await this.send('region discovery', async () => {});
    if (m.etag === undefined || !this.copyPinHonoured) return this.copyOnce(name, src, m, false, track).then(async (r) => (await src.checkUnchanged(m), r));
    try {
      return await this.copyOnce(name, src, m, true, track);
    } catch (e) {
      if (statusOf((e as BackendError).cause) !== 412) throw e;
      await src.checkUnchanged(m);
      this.copyPinHonoured = false;
      log.warn({ location: this.location }, 'this store refuses x-amz-copy-source-if-match on an unchanged object: server-side copies are pinned by checking the source ETag after the copy instead');
      return this.copyOnce(name, src, m, false, track).then(async (r) => (await src.checkUnchanged(m), r));
    }
  }

  /** Whether the store evaluates x-amz-copy-source-if-match correctly (until it shows otherwise). */
  private copyPinHonoured = true;

  private async copyOnce(name: string, src: S3Backend, m: Manifest, pinned: boolean, track: (uploadId: string) => void): Promise<{ size: number; etag?: string }> {
    const Bucket = this.where.bucket;
    const Key = this.key(name);
    const CopySource = encodeURI(`${src.where.bucket}/${src.key(m.dataName)}`);
    const pin = pinned ? { CopySourceIfMatch: m.etag } : {};
    const part = Math.min(5 * 1024 ** 3, Math.max(this.settings.partSize, Math.ceil(m.size / 10000)));
    if (m.size <= part) {
      const out = await this.send('CopyObject', () => this.client.send(new CopyObjectCommand({ Bucket, Key, CopySource, ...pin, ContentType: 'application/octet-stream', MetadataDirective: 'REPLACE' })));
      return { size: m.size, etag: out.CopyObjectResult?.ETag };
    }
    const created = await this.send('CreateMultipartUpload', () => this.client.send(new CreateMultipartUploadCommand({ Bucket, Key, ContentType: 'application/octet-stream' })));
    const UploadId = created.UploadId!;
    track(UploadId);
    try {
      const numbers = Array.from({ length: Math.ceil(m.size / part) }, (_, i) => i + 1);
      const Parts = await mapLimit(numbers, this.settings.concurrency, async (PartNumber) => {
        const start = (PartNumber - 1) * part;
        const CopySourceRange = `bytes=${start}-${Math.min(m.size, start + part) - 1}`;
        const out = await this.send('UploadPartCopy', () => this.client.send(new UploadPartCopyCommand({ Bucket, Key, UploadId, PartNumber, CopySource, CopySourceRange, ...pin })));
        return { PartNumber, ETag: out.CopyPartResult?.ETag };
      });
      const done = await this.send('CompleteMultipartUpload', () => this.client.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts } })));
      return { size: m.size, etag: done.ETag };
    } catch (e) {
      // No parts left behind (billed) by an attempt that failed; the caller may try again.
      await this.abortMultipart(name, UploadId).catch(() => {});
      throw e;
    }
  }

  /** @internal throws BackendError('changed') unless `m`'s data is still there with its ETag. */
  async checkUnchanged(m: Manifest): Promise<void> {
    if (m.etag === undefined) return;
    const Key = this.key(m.dataName);
    await this.send('HeadObject', () => this.client.send(new HeadObjectCommand({ Bucket: this.where.bucket, Key, IfMatch: m.etag }))).catch((e: BackendError) => {
      throw statusOf(e.cause) === 404 ? this.missingData(m, e) : e;
    });
  }

  /** @internal create-only PUT of a manifest. */
  async putManifest(m: Manifest): Promise<void> {
    const Key = this.key(manifestName(m));
    const Body = JSON.stringify(sealManifest(m));
    try {
      await this.send('manifest PUT', () =>
        this.client.send(new PutObjectCommand({ Bucket: this.where.bucket, Key, Body, ContentType: 'application/json', IfNoneMatch: '*' })),
      );
    } catch (e) {
      const be = e as BackendError;
      if (be.code !== 'NotImplemented' && statusOf(be.cause) !== 501) throw e;
      // Stores without conditional PUT: the name is fresh per snapshot, so check-then-put is the fallback.
      if (!this.warnedNoConditionalPut) {
        this.warnedNoConditionalPut = true;
        log.warn({ location: this.location }, 'S3 store does not support If-None-Match on PUT: writing manifests after an existence check');
      }
      const exists = await this.send('manifest HEAD', () => this.client.send(new HeadObjectCommand({ Bucket: this.where.bucket, Key }))).then(
        () => true,
        (err: BackendError) => {
          if (err.code === 'NotFound' || err.code === 'NoSuchKey' || statusOf(err.cause) === 404) return false;
          throw err;
        },
      );
      if (exists) throw new BackendError(`S3 manifest ${Key} already exists`, 'other', 'PreconditionFailed');
      await this.send('manifest PUT', () => this.client.send(new PutObjectCommand({ Bucket: this.where.bucket, Key, Body, ContentType: 'application/json' })));
    }
  }

  /** @internal */
  async deleteKey(name: string): Promise<void> {
    await this.send('DeleteObject', () => this.client.send(new DeleteObjectCommand({ Bucket: this.where.bucket, Key: this.key(name) })));
  }

  /** @internal */
  async abortMultipart(name: string, uploadId: string): Promise<void> {
    await this.send('AbortMultipartUpload', () =>
      this.client.send(new AbortMultipartUploadCommand({ Bucket: this.where.bucket, Key: this.key(name), UploadId: uploadId })),
    ).catch((e: BackendError) => {
      if (e.code !== 'NoSuchUpload') throw e;
    });
  }

  /** Names (relative to the prefix) of every manifest object, paginated. */
  async listManifestNames(): Promise<string[]> {
    const names: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.send('ListObjectsV2', () =>
        this.client.send(new ListObjectsV2Command({ Bucket: this.where.bucket, Prefix: this.key(MANIFEST_DIR), ContinuationToken: token, MaxKeys: this.settings.listPageSize })),
      );
      for (const o of page.Contents ?? []) if (o.Key?.endsWith('.json')) names.push(o.Key.slice(this.where.prefix.length));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return names;
  }

  async list(): Promise<Manifest[]> {
    const names = await this.listManifestNames();
    const problems: ManifestProblem[] = [];
    const read = await mapLimit(names, 8, async (name) => {
      const body = await this.send('manifest GET', async () => {
        const r = await this.client.send(new GetObjectCommand({ Bucket: this.where.bucket, Key: this.key(name) }));
        return r.Body!.transformToString();
      }).catch((e: BackendError) => {
        // Deleted between list and get (retention elsewhere): it no longer exists.
        if (e.code === 'NoSuchKey' || statusOf(e.cause) === 404) return null;
        throw e;
      });
      if (body === null) return null;
      try {
        const m: unknown = JSON.parse(body);
        if (!validManifest(m)) throw new Error('missing or malformed fields');
        if (manifestName(m) !== name) throw new Error('name does not match its seq/id');
        const why = manifestDamage(m, DATA_DIR);
        if (why !== null) throw new Error(why);
        return m;
      } catch (e) {
        problems.push({ name, reason: (e as Error).message });
        return null;
      }
    });
    this.lastListProblems = problems;
    for (const p of problems) log.warn({ location: this.location, manifest: p.name, reason: p.reason }, 'unreadable snapshot manifest');
    return read.filter((m): m is Manifest => m !== null).sort((a, b) => b.seq - a.seq);
  }

  async open(manifest: Manifest): Promise<Readable> {
    const Key = this.key(manifest.dataName);
    await this.send('region discovery', async () => {});
    let etag = manifest.etag;
    if (!etag) {
      const head = await this.send('HeadObject', () => this.client.send(new HeadObjectCommand({ Bucket: this.where.bucket, Key }))).catch((e: BackendError) => {
        throw statusOf(e.cause) === 404 ? this.missingData(manifest, e) : e;
      });
      etag = head.ETag!;
    }
    const chunk = this.settings.partSize;
    const count = Math.ceil(manifest.size / chunk);
    const abort = new AbortController();
    const window: Promise<Buffer>[] = [];
    let next = 0;
    const launch = () => {
      const i = next++;
      const start = i * chunk;
      const end = Math.min(manifest.size, start + chunk) - 1;
      const p = this.readRange(manifest, Key, etag!, start, end, i, abort.signal);
      p.catch(() => {}); // awaited in order below; this only keeps Node from calling it unhandled
      window.push(p);
    };
    const self = this;
    async function* ranges(): AsyncGenerator<Buffer> {
      try {
        while (next < count && window.length < self.settings.concurrency) launch();
        while (window.length > 0) {
          const buf = await window.shift()!;
          if (next < count) launch();
          yield buf;
        }
      } finally {
        abort.abort();
      }
    }
    return Readable.from(ranges(), { objectMode: false, highWaterMark: 1 });
  }

  async openNamed(name: string): Promise<{ size: number; data: Readable } | null> {
    const Key = this.key(name);
    await this.send('region discovery', async () => {});
    const head = await this.send('HeadObject', () => this.client.send(new HeadObjectCommand({ Bucket: this.where.bucket, Key }))).catch((e: BackendError) => {
      if (statusOf(e.cause) === 404) return null;
      throw e;
    });
    if (head === null) return null;
    const size = head.ContentLength ?? 0;
    // Read like a snapshot's data: ranges in parallel, each pinned to this ETag.
    const m: Manifest = { format: 1, id: name, seq: 0, createdAt: 0, serverId: '', dataName: name, size, checksum: '', keys: [], etag: head.ETag };
    return { size, data: await this.open(m) };
  }

  private missingData(m: Manifest, e: unknown): BackendError {
    return new BackendError(
      `S3 snapshot ${m.id} in bucket '${this.where.bucket}' prefix '${this.where.prefix}': manifest without data (${m.dataName} is missing)`,
      'corrupt',
      'NoSuchKey',
      { cause: e },
    );
  }

  private async readRange(m: Manifest, Key: string, etag: string, start: number, end: number, index: number, signal: AbortSignal): Promise<Buffer> {
    for (let attempt = 1; ; attempt++) {
      try {
        const r = await this.client.send(new GetObjectCommand({ Bucket: this.where.bucket, Key, Range: `bytes=${start}-${end}`, IfMatch: etag }), { abortSignal: signal });
        const total = /\/(\d+)$/.exec(r.ContentRange ?? '')?.[1];
        const body = Buffer.from(await r.Body!.transformToByteArray());
        if ((total !== undefined && Number(total) !== m.size) || body.length !== end - start + 1) {
          throw new BackendError(
            `S3 snapshot ${m.id}: data object ${m.dataName} has ${total ?? '?'} bytes (range ${start}-${end} gave ${body.length}), manifest says ${m.size}: truncated or wrong object`,
            'corrupt',
            'SizeMismatch',
          );
        }
        return body;
      } catch (e) {
        if (e instanceof BackendError) throw e;
        const status = statusOf(e);
        const code = errorCode(e);
        if (status === 404 || code === 'NoSuchKey') {
          // Gone before anything was read: the manifest never had data; gone later: changed under us.
          if (index === 0) throw this.missingData(m, e);
          throw this.toBackendError('ranged GET', e, 'changed');
        }
        if (status === 416 || code === 'InvalidRange') throw this.toBackendError('ranged GET', e, 'corrupt');
        const failure = classifyS3Error(e);
        // A reset mid-body is not retried by the SDK: a couple more tries per range, then up to the caller.
        if (failure === 'transient' && attempt < 3 && !signal.aborted) continue;
        throw this.toBackendError('ranged GET', e, failure);
      }
    }
  }

  async delete(manifest: Manifest): Promise<void> {
    await this.deleteKey(manifestName(manifest));
    await this.deleteKey(manifest.dataName);
  }

  /** Every object under `dir` of the prefix, paginated. */
  private async listObjects(dir: string): Promise<{ name: string; size: number; at: number }[]> {
    const out: { name: string; size: number; at: number }[] = [];
    let token: string | undefined;
    do {
      const page = await this.send('ListObjectsV2', () =>
        this.client.send(new ListObjectsV2Command({ Bucket: this.where.bucket, Prefix: this.key(dir), ContinuationToken: token, MaxKeys: this.settings.listPageSize })),
      );
      for (const o of page.Contents ?? []) {
        if (o.Key) out.push({ name: o.Key.slice(this.where.prefix.length), size: o.Size ?? 0, at: o.LastModified?.getTime() ?? 0 });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  /** Unfinished multipart uploads of snapshot data under the prefix, with the bytes their parts hold. */
  private async listUploads(): Promise<StoredItem[]> {
    const out: StoredItem[] = [];
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      const page = await this.send('ListMultipartUploads', () =>
        this.client.send(new ListMultipartUploadsCommand({ Bucket: this.where.bucket, Prefix: this.key(DATA_DIR), KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker })),
      );
      for (const u of page.Uploads ?? []) {
        if (!u.Key || !u.UploadId) continue;
        const name = u.Key.slice(this.where.prefix.length);
        const writer = writerOf(name);
        out.push({ name, kind: 'upload', size: 0, at: u.Initiated?.getTime() ?? 0, uploadId: u.UploadId, ...(writer ? { writer } : {}) });
      }
      if (!page.IsTruncated) break;
      keyMarker = page.NextKeyMarker;
      uploadIdMarker = page.NextUploadIdMarker;
      if (!keyMarker && !uploadIdMarker) break;
    }
    await mapLimit(out, 4, async (u) => {
      u.size = await this.uploadedBytes(u).catch(() => 0);
    });
    return out;
  }

  private async uploadedBytes(u: StoredItem): Promise<number> {
    let bytes = 0;
    let marker: string | undefined;
    for (;;) {
      const page = await this.send('ListParts', () =>
        this.client.send(new ListPartsCommand({ Bucket: this.where.bucket, Key: this.key(u.name), UploadId: u.uploadId, PartNumberMarker: marker })),
      );
      for (const p of page.Parts ?? []) bytes += p.Size ?? 0;
      if (!page.IsTruncated || !page.NextPartNumberMarker) return bytes;
      marker = page.NextPartNumberMarker;
    }
  }

  async stored(): Promise<StoredItem[]> {
    const out: StoredItem[] = [];
    for (const o of await this.listObjects(DATA_DIR)) {
      const writer = writerOf(o.name);
      out.push({ ...o, kind: 'data', ...(writer ? { writer } : {}) });
    }
    out.push(...(await this.listUploads()));
    for (const o of await this.listObjects(LEASE_DIR)) out.push({ ...o, kind: 'lease', writer: o.name.slice(LEASE_DIR.length) });
    await this.list();
    if (this.lastListProblems.length > 0) {
      const manifests = new Map((await this.listObjects(MANIFEST_DIR)).map((o) => [o.name, o]));
      for (const p of this.lastListProblems) {
        const o = manifests.get(p.name);
        if (o) out.push({ ...o, kind: 'manifest' });
      }
    }
    return out;
  }

  async remove(item: StoredItem): Promise<void> {
    if (item.kind === 'upload') {
      await this.abortMultipart(item.name, item.uploadId!);
      return;
    }
    await this.deleteKey(item.name);
  }

  async dropLease(writer: string): Promise<void> {
    await this.deleteKey(LEASE_DIR + writer);
  }

  async putTombstone(t: Tombstone): Promise<void> {
    const Key = this.key(`${TOMBSTONE_DIR}${t.id}.json`);
    await this.send('tombstone PUT', () => this.client.send(new PutObjectCommand({ Bucket: this.where.bucket, Key, Body: JSON.stringify(t), ContentType: 'application/json' })));
  }

  async dropTombstone(id: string): Promise<void> {
    await this.deleteKey(`${TOMBSTONE_DIR}${id}.json`);
  }

  async tombstones(): Promise<Tombstone[]> {
    const objs = await this.listObjects(TOMBSTONE_DIR);
    const out = await mapLimit(objs, 8, async (o) => {
      const body = await this.send('tombstone GET', async () => {
        const r = await this.client.send(new GetObjectCommand({ Bucket: this.where.bucket, Key: this.key(o.name) }));
        return r.Body!.transformToString();
      }).catch(() => 'null');
      const t: unknown = JSON.parse(body);
      return isTombstone(t) ? t : null;
    });
    return out.filter((t): t is Tombstone => t !== null);
  }

  /**
   * PUT one probe key twice with If-None-Match: *. The second must be
   * refused (412); a store that accepts it ignores the header and a manifest
   * name could be overwritten (several S3-compatible stores do).
   */
  async probeCreateOnly(): Promise<CreateOnly> {
    const Key = this.key(`probes/${WRITER_ID}-${randomBytes(4).toString('hex')}`);
    const put = () => this.send('probe PUT', () => this.client.send(new PutObjectCommand({ Bucket: this.where.bucket, Key, Body: 'probe', IfNoneMatch: '*' })));
    try {
      try {
        await put();
      } catch (e) {
        const be = e as BackendError;
        if (be.code === 'NotImplemented' || statusOf(be.cause) === 501) return 'unsupported';
        throw e;
      }
      return await put().then(
        () => 'ignored' as const,
        (e: BackendError) => {
          if (e.failure === 'changed') return 'enforced' as const;
          if (e.code === 'NotImplemented' || statusOf(e.cause) === 501) return 'unsupported' as const;
          throw e;
        },
      );
    } finally {
      await this.send('probe DELETE', () => this.client.send(new DeleteObjectCommand({ Bucket: this.where.bucket, Key }))).catch(() => {});
    }
  }

  async touchLease(writer: string): Promise<void> {
    const Key = this.key(LEASE_DIR + writer);
    const Body = JSON.stringify({ writer, pid: process.pid, at: new Date().toISOString() });
    await this.send('lease PUT', () => this.client.send(new PutObjectCommand({ Bucket: this.where.bucket, Key, Body, ContentType: 'application/json' })));
  }
}

class S3Writer implements SnapshotWriter {
  private current: Upload | null = null;
  /** The multipart upload of a server-side copy in parts, for abort(). */
  private copyUploadId: string | null = null;
  private uploaded = false;
  constructor(
    private readonly backend: S3Backend,
    readonly dataName: string,
  ) {}

  async upload(data: Readable): Promise<{ size: number; etag?: string }> {
    const r = await this.backend.uploadData(this.dataName, data, (u) => (this.current = u));
    this.uploaded = true;
    return r;
  }

  async copyFrom(source: SnapshotBackend, m: Manifest): Promise<{ size: number; etag?: string } | null> {
    const src = this.backend.copySource(source);
    if (src === null) return null;
    const r = await this.backend.copyData(this.dataName, src, m, (id) => (this.copyUploadId = id));
    this.uploaded = true;
    return r;
  }

  async commit(manifest: Manifest): Promise<void> {
    await this.backend.putManifest(manifest);
  }

  async abort(): Promise<void> {
    const u = this.current;
    if (u) {
      await u.abort().catch(() => {});
      // Upload aborts the multipart upload itself on failure; make sure even if that request failed.
      const uploadId = (u as unknown as { uploadId?: string }).uploadId;
      if (uploadId) await this.backend.abortMultipart(this.dataName, uploadId).catch(() => {});
    }
    if (this.copyUploadId) await this.backend.abortMultipart(this.dataName, this.copyUploadId).catch(() => {});
    if (this.uploaded) await this.backend.deleteKey(this.dataName).catch(() => {});
  }
}
