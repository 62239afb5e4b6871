/** A compactor configured from flags (used by `compactor` and `all`). */
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Bucket } from '@strata/objstore';
import { Compactor, corruptBlockOf, mergeBlocks } from '@strata/compactor';
import type { Limits } from '@strata/receiver';
import { ConfigError, parseDuration, type Config } from '../config.js';
import { list } from './common.js';

export function blockRangesFrom(cfg: Config): number[] {
  const ranges = list(cfg.str('compactor.block-ranges')).map(parseDuration);
  if (ranges.length === 0 || ranges.some((r, i) => r <= 0 || (i > 0 && r % ranges[i - 1] !== 0)))
    throw new ConfigError(
      `--compactor.block-ranges ${cfg.str('compactor.block-ranges')}: want increasing durations, each a multiple of the one before (e.g. 2h,8h,48h,336h)`,
    );
  return ranges;
}

export function compactorFrom(cfg: Config, bucket: Bucket, registry: Registry, logger: Logger, limits: Limits): Compactor {
  const self = cfg.str('compactor.name') || os.hostname();
  const members = list(cfg.str('compactor.members'));
  return new Compactor({
    bucket,
    dataDir: path.resolve(cfg.str('compactor.data-dir') || path.join(cfg.str('storage.path'), 'compactor')),
    registry,
    logger,
    merge: mergeBlocks,
    corruptBlockOf,
    blockRangesMs: blockRangesFrom(cfg),
    replicaLabels: list(cfg.str('compactor.replica-label')),
    deletionDelayMs: cfg.num('compactor.deletion-delay'),
    partialUploadThresholdMs: cfg.num('compactor.partial-upload-threshold'),
    retention: (tenant) => ({
      raw: limits.forTenant(tenant).compactorBlocksRetentionPeriod ?? cfg.num('compactor.retention.raw'),
      fiveMinutes: cfg.num('compactor.retention.5m'),
      oneHour: cfg.num('compactor.retention.1h'),
      oneDay: cfg.num('compactor.retention.1d'),
    }),
    members: members.length ? members : [self],
    self,
  });
}
