/** Bucket configuration in the Thanos objstore YAML format, so existing Thanos configs work. */
import YAML from 'yaml';
import type { Bucket } from './bucket.js';
import { FilesystemBucket } from './filesystem.js';
import { PrefixedBucket } from './prefixed.js';
import { S3Bucket } from './s3.js';

export class BucketConfigError extends Error {}

function str(o: Record<string, unknown>, k: string): string | undefined {
  const v = o[k];
  return v === undefined || v === null || v === '' ? undefined : String(v);
}

/** `type: FILESYSTEM|S3`, `config: {...}`, optional `prefix`. */
export function bucketFromConfig(input: string | Record<string, unknown>): Bucket {
  const doc = (typeof input === 'string' ? YAML.parse(input) : input) as Record<string, unknown> | null;
  if (!doc || typeof doc !== 'object') throw new BucketConfigError('objstore config: expected a mapping with "type" and "config"');
  const type = String(doc.type ?? '').toUpperCase();
  const cfg = (doc.config ?? {}) as Record<string, unknown>;
  let bucket: Bucket;
  switch (type) {
    case 'FILESYSTEM': {
      const directory = str(cfg, 'directory');
      if (!directory) throw new BucketConfigError('objstore config: FILESYSTEM needs config.directory');
      bucket = new FilesystemBucket(directory);
      break;
    }
    case 'S3': {
      const name = str(cfg, 'bucket');
      if (!name) throw new BucketConfigError('objstore config: S3 needs config.bucket');
      const partSize = cfg.part_size === undefined ? undefined : Number(cfg.part_size);
      bucket = new S3Bucket({
        bucket: name,
        endpoint: str(cfg, 'endpoint'),
        region: str(cfg, 'region'),
        accessKey: str(cfg, 'access_key') ?? process.env.AWS_ACCESS_KEY_ID,
        secretKey: str(cfg, 'secret_key') ?? process.env.AWS_SECRET_ACCESS_KEY,
        insecure: cfg.insecure === true || cfg.insecure === 'true',
        forcePathStyle: cfg.bucket_lookup_type === 'path' || cfg.bucket_lookup_type === undefined ? undefined : false,
        partSize,
      });
      break;
    }
    default:
      throw new BucketConfigError(`objstore config: unsupported type ${JSON.stringify(doc.type)} (supported: FILESYSTEM, S3)`);
  }
  const prefix = str(doc, 'prefix');
  return prefix ? new PrefixedBucket(bucket, prefix) : bucket;
}
