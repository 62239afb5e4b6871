/** Per-tenant limits from flags and --limits.file (used by the receiver in `receiver`/`all` and by the compactor). */
import type { Logger } from 'pino';
import { Limits } from '@strata/api';
import type { Config } from '../config.js';

export function limitsFrom(cfg: Config, logger: Logger): Limits {
  return new Limits({
    defaults: {
      ingestionRate: cfg.num('limits.ingestion-rate'),
      ingestionBurstSize: cfg.num('limits.ingestion-burst-size'),
      maxGlobalSeriesPerUser: cfg.num('limits.max-global-series-per-user'),
      maxGlobalSeriesPerMetric: cfg.num('limits.max-global-series-per-metric'),
      maxLabelValueCardinalityPerMetric: cfg.num('limits.max-label-value-cardinality-per-metric'),
      maxLabelNamesPerSeries: cfg.num('limits.max-label-names-per-series'),
      maxLabelNameLength: cfg.num('limits.max-label-name-length'),
      maxLabelValueLength: cfg.num('limits.max-label-value-length'),
      compactorBlocksRetentionPeriod: cfg.num('compactor.retention.raw'),
    },
    overridesFile: cfg.str('limits.file') || undefined,
    logger,
  });
}
