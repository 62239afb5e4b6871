/** The bucket from --objstore.config-file (Thanos YAML), or a local folder under the storage path. */
import fs from 'node:fs';
import path from 'node:path';
import type { Registry } from 'prom-client';
import { bucketFromConfig, FilesystemBucket, instrumentBucket, type Bucket } from '@strata/objstore';

export function openBucket(configFile: string, storagePath: string, registry: Registry): Bucket {
  const inner = configFile ? bucketFromConfig(fs.readFileSync(configFile, 'utf8')) : new FilesystemBucket(path.join(storagePath, 'bucket'));
  return instrumentBucket(inner, registry);
}
