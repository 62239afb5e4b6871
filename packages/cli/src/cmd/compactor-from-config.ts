/** A compactor configured from flags (used by `compactor` and `all`). */
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Bucket } from '@strata/objstore';
import { Compactor, corruptBlockOf, downsampleStep, mergeBlocks } from '@strata/compactor';
import type { Limits } from '@strata/api';
import { ConfigError, parseDuration, type Config } from '../config.js';
import { list } from './common.js';

const RESOLUTION_NAMES: Record<number, string> = { 300_000: '5m', 3_600_000: '1h', 86_400_000: '1d' };

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
  const blockRangesMs = blockRangesFrom(cfg);
  const replicaLabels = list(cfg.str('compactor.replica-label'));
  // Rollups are made by a step of each group's pass, after its compactions (docs/format/downsampling.md).
  const downsampling = downsampleStep({
    after: {
      fiveMinutes: cfg.num('compactor.downsample.5m-after'),
      oneHour: cfg.num('compactor.downsample.1h-after'),
      oneDay: cfg.num('compactor.downsample.1d-after'),
    },
    blockRangesMs,
    replicaLabels,
    onDone: (resolution, result) =>
      compactor.metrics.downsamplings.inc({ resolution: RESOLUTION_NAMES[resolution] ?? `${resolution}ms`, result }),
  });
  const compactor: Compactor = new Compactor({
    bucket,
    dataDir: path.resolve(cfg.str('compactor.data-dir') || path.join(cfg.str('storage.path'), 'compactor')),
    registry,
    logger,
    merge: mergeBlocks,
    corruptBlockOf,
    blockRangesMs,
    replicaLabels,
    groupSteps: [downsampling],
    deletionDelayMs: cfg.num('compactor.deletion-delay'),
    partialUploadThresholdMs: cfg.num('compactor.partial-upload-threshold'),
    retention: (tenant) => ({
      raw: limits.forTenant(tenant).compactorBlocksRetentionPeriod ?? cfg.num('compactor.retention.raw'),
      fiveMinutes: cfg.num('compactor.retention.5m'),
      oneHour: cfg.num('compactor.retention.1h'),
      oneDay: cfg.num('compactor.retention.1d'),
    }),
    // Log blocks: Loki's per-tenant retention_period, 0 (the default) keeping them forever.
    logRetention: (tenant) => limits.forTenant(tenant).retentionPeriod ?? 0,
    members: members.length ? members : [self],
    self,
  });
  return compactor;
}
