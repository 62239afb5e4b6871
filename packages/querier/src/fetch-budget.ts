/**
 * The per-tenant max_fetched_series_per_query and max_fetched_chunk_bytes_per_query of one
 * query, as a QueryBudget the stores charge as they find series and before they read chunks
 * (SelectHints.budget): a query over the limit fails with 422 instead of loading everything.
 * Each store's series count, so a series found in the head and in a block counts twice, as
 * both are fetched.
 */
import { StrataError, type QueryBudget } from '@strata/model';
import { limitHint, type TenantLimits } from '@strata/api';

export function fetchBudget(
  limits: Pick<TenantLimits, 'maxFetchedSeriesPerQuery' | 'maxFetchedChunkBytesPerQuery'>,
): QueryBudget | undefined {
  const maxSeries = limits.maxFetchedSeriesPerQuery ?? 0;
  const maxBytes = limits.maxFetchedChunkBytesPerQuery ?? 0;
  if (!(maxSeries > 0) && !(maxBytes > 0)) return undefined;
  let series = 0;
  let bytes = 0;
  return {
    series(n) {
      series += n;
      if (maxSeries > 0 && series > maxSeries)
        throw new StrataError(
          'max-fetched-series-per-query',
          `the query fetched more series than the limit of ${maxSeries} (${series} so far) (err-strata-max-fetched-series-per-query); add label matchers or shorten the time range, or ${limitHint('maxFetchedSeriesPerQuery')}`,
        );
    },
    chunks() {},
    bytes(n) {
      bytes += n;
      if (maxBytes > 0 && bytes > maxBytes)
        throw new StrataError(
          'max-fetched-chunk-bytes-per-query',
          `the query fetched more chunk bytes than the limit of ${maxBytes} (${bytes} so far) (err-strata-max-fetched-chunk-bytes-per-query); add label matchers or shorten the time range, or ${limitHint('maxFetchedChunkBytesPerQuery')}`,
        );
    },
  };
}
