/** The compactor the pass tests run: 2 h blocks joined into 8 h, one member, a 12 h deletion delay, nothing expires. */
import { Registry } from 'prom-client';
import type { Bucket } from '@strata/objstore';
import { Compactor, type CompactorOptions } from '../src/compactor.js';
import { corruptBlockOf, mergeBlocks } from '../src/merge.js';

const H = 3600_000;

export function testCompactor(bucket: Bucket, dataDir: string, o: Partial<CompactorOptions> = {}): Compactor {
  return new Compactor({
    bucket,
    dataDir,
    registry: new Registry(),
    merge: mergeBlocks,
    corruptBlockOf,
    blockRangesMs: [2 * H, 8 * H],
    replicaLabels: ['receive_replica'],
    deletionDelayMs: 12 * H,
    partialUploadThresholdMs: 24 * H,
    retention: () => ({ raw: 0, fiveMinutes: 0, oneHour: 0, oneDay: 0 }),
    members: ['c1'],
    self: 'c1',
    ...o,
  });
}
