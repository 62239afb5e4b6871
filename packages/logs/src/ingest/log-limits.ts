/** The log push limits of a tenant, with Loki's defaults where the limits file sets none. */
import type { TenantLimits } from '@strata/api';

export interface LogLimits {
  maxLineSize: number;
  maxLineSizeTruncate: boolean;
  maxLabelNamesPerStream: number;
  maxLabelNameLength: number;
  maxLabelValueLength: number;
  /** 0 = unlimited. */
  maxGlobalStreamsPerUser: number;
  /** ms; 0 = entries of any age. */
  rejectOldSamplesMaxAgeMs: number;
  /** Line bytes per second; 0 = unlimited. */
  ingestionRateBytes: number;
  ingestionBurstBytes: number;
  /** Line bytes per second of one stream (Loki's per_stream_rate_limit); 0 = unlimited. */
  perStreamRateBytes: number;
  perStreamBurstBytes: number;
}

const MB = 1024 * 1024;

/**
 * Loki's defaults (limits_config): 256KB lines, 15 labels, 5000 streams, 1 week, 4 MB/s with a
 * 6 MB burst per tenant, 3 MB/s with a 15 MB burst per stream (Loki's 3 << 20 and 5 times that).
 */
export const LOKI_LIMIT_DEFAULTS = {
  maxLineSize: 256 * 1024,
  maxLineSizeTruncate: 0,
  maxLabelNamesPerStream: 15,
  maxGlobalStreamsPerUser: 5000,
  rejectOldSamplesMaxAge: 7 * 24 * 3600 * 1000,
  ingestionRateMb: 4,
  ingestionBurstSizeMb: 6,
  perStreamRateLimit: 3 * MB,
  perStreamRateLimitBurst: 15 * MB,
};

export function logLimitsOf(t: TenantLimits): LogLimits {
  const d = LOKI_LIMIT_DEFAULTS;
  return {
    maxLineSize: t.maxLineSize ?? d.maxLineSize,
    maxLineSizeTruncate: (t.maxLineSizeTruncate ?? d.maxLineSizeTruncate) !== 0,
    maxLabelNamesPerStream: t.maxLabelNamesPerStream ?? d.maxLabelNamesPerStream,
    // Loki's defaults for these two (1024, 2048) are Mimir's: the metrics keys serve both.
    maxLabelNameLength: t.maxLabelNameLength,
    maxLabelValueLength: t.maxLabelValueLength,
    maxGlobalStreamsPerUser: t.maxGlobalStreamsPerUser ?? d.maxGlobalStreamsPerUser,
    rejectOldSamplesMaxAgeMs: t.rejectOldSamplesMaxAge ?? d.rejectOldSamplesMaxAge,
    ingestionRateBytes: (t.ingestionRateMb ?? d.ingestionRateMb) * MB,
    ingestionBurstBytes: (t.ingestionBurstSizeMb ?? d.ingestionBurstSizeMb) * MB,
    perStreamRateBytes: t.perStreamRateLimit ?? d.perStreamRateLimit,
    perStreamBurstBytes: t.perStreamRateLimitBurst ?? d.perStreamRateLimitBurst,
  };
}
