/**
 * Where snapshot replicas live: `--dir` (the primary) plus every entry of
 * `--snapshot_replicas=LOC,LOC,...`. A location is a local folder or
 * `s3://bucket/prefix`, and an S3 location may carry its own settings as
 * URL query parameters, since a second region or account rarely shares the
 * primary's endpoint, region or credentials:
 *
 *   s3://bucket/prefix?endpoint=host:port&region=eu-west-1&https=no&profile=dr
 *
 * Anything not given falls back to the --s3_* flags. `profile` names a
 * profile of the shared AWS config/credentials files (never a key: secrets
 * stay out of flags and logs).
 */
import { defineParam, getBool, getString } from '../config/params.js';
import type { SnapshotBackend } from '../storage/backend.js';
import { FileBackend } from '../storage/file.js';
import { endpointUrl, s3SettingsFromParams, type S3Settings } from '../storage/s3-params.js';
import { parseS3Url, s3BackendWith } from '../storage/select.js';
import path from 'node:path';

const S3_OPTIONS = new Set(['endpoint', 'region', 'https', 'profile']);

export interface LocationSpec {
  /** As the operator wrote it (without secrets: there are none in the syntax). */
  raw: string;
  kind: 'file' | 's3';
  /** Canonical form, used to reject the same place listed twice: file:///abs or s3://endpoint/bucket/prefix. */
  key: string;
  /** Folder path (file) */
  dir?: string;
  /** s3://bucket/prefix without the query (s3) */
  url?: string;
  s3?: { endpoint?: string; region?: string; https?: boolean; profile?: string };
}

function parseBoolOpt(v: string, raw: string): boolean {
  if (/^(yes|true|1)$/i.test(v)) return true;
  if (/^(no|false|0)$/i.test(v)) return false;
  throw new Error(`${raw}: https=${v} is not yes or no`);
}

/** One location; throws an Error whose message names it and what is wrong. */
export function parseLocation(raw: string): LocationSpec {
  const text = raw.trim();
  if (text === '') throw new Error('empty location (two commas in a row?)');
  if (!/^s3:\/\//i.test(text)) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) throw new Error(`${text}: only local folders and s3://bucket/prefix are supported`);
    if (text.includes('?')) throw new Error(`${text}: settings (?...) are for s3:// locations only`);
    const dir = path.resolve(text);
    return { raw: text, kind: 'file', key: 'file://' + dir, dir };
  }
  const q = text.indexOf('?');
  const url = q < 0 ? text : text.slice(0, q);
  const where = parseS3Url(url);
  const s3: NonNullable<LocationSpec['s3']> = {};
  if (q >= 0) {
    for (const [k, v] of new URLSearchParams(text.slice(q + 1))) {
      if (!S3_OPTIONS.has(k)) throw new Error(`${text}: unknown setting '${k}' (known: ${[...S3_OPTIONS].join(', ')})`);
      if (v === '') throw new Error(`${text}: setting '${k}' has no value`);
      if (k === 'https') s3.https = parseBoolOpt(v, text);
      else if (k === 'endpoint') s3.endpoint = v;
      else if (k === 'region') s3.region = v;
      else s3.profile = v;
    }
  }
  return { raw: text, kind: 's3', key: `s3://${s3.endpoint ?? '(default)'}/${where.bucket}/${where.prefix}`, url, s3 };
}

/** `--snapshot_replicas` as a list; throws with one line naming the bad entry. */
export function parseReplicaList(raw: string): LocationSpec[] {
  if (raw.trim() === '') return [];
  return raw.split(',').map((x) => parseLocation(x));
}

defineParam({
  name: 'snapshot_replicas',
  type: 'string',
  default: '',
  help: 'more snapshot locations besides --dir, comma-separated: folders or s3://bucket/prefix[?endpoint=host:port&region=R&https=yes|no&profile=P]',
  validate: (v) => {
    try {
      const list = parseReplicaList(v);
      const seen = new Set<string>();
      for (const l of list) {
        if (seen.has(l.key)) return `${l.raw} is listed twice`;
        seen.add(l.key);
      }
      return null;
    } catch (e) {
      return (e as Error).message;
    }
  },
});
defineParam({
  name: 'snapshot_write_quorum',
  type: 'int',
  default: '0',
  min: 0,
  max: 64,
  help: 'locations (--dir and --snapshot_replicas) that must commit a snapshot for the save to succeed; 0: all of them',
});

/** Every location, the primary (--dir) first; throws one line on a bad or duplicate entry. */
export function configuredLocations(): LocationSpec[] {
  const primary = parseLocation(getString('dir'));
  if (primary.raw.includes('?')) throw new Error(`--dir=${primary.raw}: settings (?...) are for --snapshot_replicas entries; --dir uses the --s3_* flags`);
  const replicas = parseReplicaList(getString('snapshot_replicas'));
  for (const r of replicas) if (r.key === primary.key) throw new Error(`--snapshot_replicas lists ${r.raw}, which is --dir itself`);
  return [primary, ...replicas];
}

/** The write quorum W for N locations; throws one line when it cannot be met. */
export function writeQuorum(n: number): number {
  const w = Number(getString('snapshot_write_quorum'));
  if (w === 0) return n;
  if (w > n) throw new Error(`--snapshot_write_quorum=${w} but there are only ${n} snapshot location(s) (--dir and --snapshot_replicas)`);
  return w;
}

/** The S3 settings of one location: its own query settings over the --s3_* flags. */
export function s3SettingsFor(spec: LocationSpec): S3Settings {
  const base = s3SettingsFromParams();
  const o = spec.s3 ?? {};
  const https = o.https ?? getBool('s3-use-https');
  return {
    ...base,
    ...(o.endpoint !== undefined ? { endpoint: endpointUrl(o.endpoint, https) } : {}),
    ...(o.endpoint === undefined && o.https !== undefined ? { endpoint: endpointUrl(getString('s3-endpoint'), https) } : {}),
    ...(o.region !== undefined ? { region: o.region } : {}),
    ...(o.profile !== undefined ? { profile: o.profile } : {}),
  };
}

/** The backend of one location (not fenced: the caller wraps it). */
export function backendFor(spec: LocationSpec): SnapshotBackend {
  if (spec.kind === 'file') return new FileBackend(spec.dir!);
  return s3BackendWith(spec.url!, s3SettingsFor(spec));
}
