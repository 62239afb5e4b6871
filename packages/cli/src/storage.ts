/** The bucket from --objstore.config-file (Thanos YAML), or a local folder under the storage path. */
import fs from 'node:fs';
import path from 'node:path';
import type { Registry } from 'prom-client';
import { ConfigError } from './config.js';
import { bucketFromConfig, FilesystemBucket, instrumentBucket, type Bucket } from '@strata/objstore';

export function openBucket(configFile: string, storagePath: string, registry: Registry): Bucket {
  const inner = configFile ? bucketFromConfig(readObjstoreConfig(configFile)) : new FilesystemBucket(path.join(storagePath, 'bucket'));
  return instrumentBucket(inner, registry);
}

/** A start-up error that names the flag, not a bare fs error (a missing, unreadable or oversized file). */
function readObjstoreConfig(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read --objstore.config-file ${file}: ${(e as Error).message}`);
  }
}
