/**
 * Startup checks of the querier's store-range rules (--querier.query-ingesters-within,
 * --querier.query-store-after) against what each component knows of its own part: a receiver of
 * how long it keeps data, a store gateway of how long a sample takes to reach it. Each reads the
 * querier's flags from its own configuration (a shared file, or the defaults), so a deployment that
 * breaks them says so where the cause is.
 */
import { storeRangeRulesError, type StoreRangeRules } from '@strata/querier';
import type { Config } from '../config.js';

export const STORE_RANGES_UNSAFE = 'err-strata-store-ranges-unsafe';

export function storeRangeRulesOf(cfg: Config): StoreRangeRules {
  return { queryIngestersWithinMs: cfg.num('querier.query-ingesters-within'), queryStoreAfterMs: cfg.num('querier.query-store-after') };
}

/** The querier's own rule (Mimir refuses the same): a config error, or undefined. */
export function querierRangeError(cfg: Config): string | undefined {
  return storeRangeRulesError(storeRangeRulesOf(cfg));
}

/**
 * The longest a sample takes to be served by a store gateway: its block is cut when the head
 * spans 1.5 block ranges (checked every compaction interval) and shipped at once; a gateway then
 * sees it at its next sync, or, reading the bucket index, once the compactor's next pass lists it
 * (or the index is stale and the bucket listed).
 */
export function bucketVisibilityMs(cfg: Config): number {
  const index = cfg.bool('store-gateway.bucket-index.enabled')
    ? Math.min(cfg.num('compactor.interval'), cfg.num('store-gateway.bucket-index.max-stale-period'))
    : 0;
  return 1.5 * cfg.num('tsdb.block-duration') + cfg.num('tsdb.compaction-interval') + index + cfg.num('store-gateway.sync-interval');
}

/** Warnings for a receiver: it must keep at least query-ingesters-within of data. */
export function receiverRangeWarnings(cfg: Config): string[] {
  const within = cfg.num('querier.query-ingesters-within');
  const keep = cfg.num('tsdb.retention.local');
  if (within > 0 && keep < within)
    return [
      `--tsdb.retention.local (${seconds(keep)}) is shorter than --querier.query-ingesters-within (${seconds(within)}): queriers ask receivers for the last ${seconds(within)} only, and store gateways for nothing newer than --querier.query-store-after; raise the retention or lower query-ingesters-within`,
    ];
  return [];
}

/** Warnings for a store gateway: blocks must reach it within query-store-after. */
export function gatewayRangeWarnings(cfg: Config): string[] {
  const after = cfg.num('querier.query-store-after');
  const visible = bucketVisibilityMs(cfg);
  if (after > 0 && after < visible)
    return [
      `--querier.query-store-after (${seconds(after)}) is shorter than a sample may take to reach store gateways (${seconds(visible)}: 1.5 x --tsdb.block-duration + --tsdb.compaction-interval + the bucket index's delay + --store-gateway.sync-interval): queriers ask receivers only for the last --querier.query-ingesters-within; raise query-store-after`,
    ];
  return [];
}

function seconds(ms: number): string {
  return `${ms / 1000}s`;
}
