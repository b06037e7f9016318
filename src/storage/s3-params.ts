/**
 * S3 backend settings. Dragonfly's flag names where Dragonfly has one
 * (s3_endpoint, s3_use_https, s3_ec2_metadata, s3_sign_payload); the rest
 * are ours. All are start-up only: the backend is built once at boot.
 */
import { defineParam, getBool, getInt, getString } from '../config/params.js';

const MiB = 1024 * 1024;

defineParam({ name: 's3-endpoint', flag: 's3_endpoint', type: 'string', default: '', help: 'custom S3 endpoint, host[:port] (scheme from --s3_use_https) or a full URL; path-style addressing. Empty: AWS' });
defineParam({ name: 's3-use-https', flag: 's3_use_https', type: 'bool', default: 'yes', help: 'use https for a custom --s3_endpoint given without scheme' });
defineParam({ name: 's3-region', flag: 's3_region', type: 'string', default: '', help: 'bucket region; empty: AWS_REGION, else discovered with HeadBucket' });
defineParam({ name: 's3-ec2-metadata', flag: 's3_ec2_metadata', type: 'bool', default: 'no', help: 'let the credential chain ask the EC2 instance metadata service (IMDS)' });
defineParam({ name: 's3-sign-payload', flag: 's3_sign_payload', type: 'bool', default: 'yes', help: 'sign request bodies (SigV4 payload hash); no: UNSIGNED-PAYLOAD' });
defineParam({
  name: 's3-checksum',
  flag: 's3_checksum',
  type: 'enum',
  default: 'auto',
  values: ['auto', 'when_required', 'when_supported'],
  help: 'request/response checksums: auto = SDK default on AWS, when_required on custom endpoints (many S3-compatible stores break on CRC32/aws-chunked)',
});
defineParam({ name: 's3-part-size', flag: 's3_part_size', type: 'memory', default: String(8 * MiB), min: 5 * MiB, max: 5 * 1024 * MiB, help: 'multipart upload part size, also the ranged-GET size when loading' });
defineParam({ name: 's3-upload-concurrency', flag: 's3_upload_concurrency', type: 'int', default: '4', min: 1, max: 64, help: 'parts uploaded (and ranges downloaded) in parallel; memory is about part size x this' });
defineParam({ name: 's3-request-timeout', flag: 's3_request_timeout', type: 'int', default: '30000', min: 100, max: 3600000, help: 'ms without a response before an S3 request is abandoned and retried' });

export interface S3Settings {
  endpoint?: string;
  region?: string;
  ec2Metadata: boolean;
  signPayload: boolean;
  checksum: 'auto' | 'when_required' | 'when_supported';
  partSize: number;
  concurrency: number;
  requestTimeoutMs: number;
  /** Shared config/credentials file profile for this location (a replica's own account); else the default chain's. */
  profile?: string;
  /** ListObjectsV2 MaxKeys (tests use a small one to exercise paging). */
  listPageSize?: number;
}

/** A custom endpoint as a URL: "host[:port]" gets the scheme --s3_use_https says. */
export function endpointUrl(raw: string, https: boolean): string | undefined {
  const v = raw.trim();
  if (v === '') return undefined;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) return v;
  return `${https ? 'https' : 'http'}://${v}`;
}

export function s3SettingsFromParams(env: NodeJS.ProcessEnv = process.env): S3Settings {
  return {
    endpoint: endpointUrl(getString('s3-endpoint'), getBool('s3-use-https')),
    region: getString('s3-region') || env.AWS_REGION || undefined,
    ec2Metadata: getBool('s3-ec2-metadata'),
    signPayload: getBool('s3-sign-payload'),
    checksum: getString('s3-checksum') as S3Settings['checksum'],
    partSize: getInt('s3-part-size'),
    concurrency: getInt('s3-upload-concurrency'),
    requestTimeoutMs: getInt('s3-request-timeout'),
  };
}
