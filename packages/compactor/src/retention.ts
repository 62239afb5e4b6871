/**
 * Retention per resolution tier: a block is past retention once its newest sample is older than
 * its tier's retention (0 keeps the tier forever). The raw tier may be overridden per tenant.
 */
import { FINEST_ROLLUP_RESOLUTION } from '@strata/model';
import type { BlockMeta } from '@strata/tsdb';
import { resolutionOf } from './planner.js';

export const RESOLUTION_5M = FINEST_ROLLUP_RESOLUTION;
export const RESOLUTION_1H = 3600_000;
export const RESOLUTION_1D = 86400_000;

export interface RetentionPolicy {
  /** Milliseconds per tier; 0 = forever. */
  raw: number;
  fiveMinutes: number;
  oneHour: number;
  oneDay: number;
}

export function retentionFor(policy: RetentionPolicy, resolution: number): number {
  if (resolution === 0) return policy.raw;
  if (resolution === RESOLUTION_5M) return policy.fiveMinutes;
  if (resolution === RESOLUTION_1H) return policy.oneHour;
  if (resolution === RESOLUTION_1D) return policy.oneDay;
  return 0; // a resolution we do not know: never delete it on a guess
}

/** The blocks whose tier's retention has passed at `nowMs`. */
export function pastRetention(blocks: readonly BlockMeta[], policy: RetentionPolicy, nowMs: number): BlockMeta[] {
  return blocks.filter((b) => {
    const keep = retentionFor(policy, resolutionOf(b));
    return keep > 0 && b.maxTime <= nowMs - keep;
  });
}
