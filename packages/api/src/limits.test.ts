import { parseOverrides, type TenantLimits } from './limits.js';

const DEFAULTS: TenantLimits = {
  ingestionRate: 0,
  ingestionBurstSize: 0,
  maxGlobalSeriesPerUser: 0,
  maxLabelNamesPerSeries: 30,
  maxLabelNameLength: 1024,
  maxLabelValueLength: 2048,
  compactorBlocksRetentionPeriod: 0,
};

test.each([
  ['30d', 30 * 86400_000],
  ['1y', 365 * 86400_000],
  ['2h30m', 2.5 * 3600_000],
  ['0', 0],
  [3600, 3600_000],
])("compactor_blocks_retention_period %p is a duration (Mimir's key)", (v, ms) => {
  const o = parseOverrides(`overrides:\n  t1:\n    compactor_blocks_retention_period: ${JSON.stringify(v)}\n`, DEFAULTS);
  expect(o.get('t1')!.compactorBlocksRetentionPeriod).toBe(ms);
  expect(o.get('t1')!.maxLabelNamesPerSeries).toBe(30);
});

test.each(['soon', '-1d', '5x'])('a retention period %p that is no duration is refused', (v) => {
  expect(() => parseOverrides(`overrides:\n  t1:\n    compactor_blocks_retention_period: ${v}\n`, DEFAULTS)).toThrow(
    /t1.compactor_blocks_retention_period must be a non-negative duration/,
  );
});

test("query limits are read under Mimir's keys: lengths as durations, counts as numbers", () => {
  const o = parseOverrides(
    [
      'overrides:',
      '  t1:',
      '    max_query_length: 31d',
      '    max_total_query_length: 7d',
      '    max_query_lookback: 1y',
      '    max_fetched_series_per_query: 1000',
      '    max_fetched_chunk_bytes_per_query: 1048576',
      '    max_query_parallelism: 4',
      '    max_estimated_query_cost: 5000000',
      '    query_sharding_total_shards: 8',
      '',
    ].join('\n'),
    DEFAULTS,
  );
  expect(o.get('t1')).toEqual({
    ...DEFAULTS,
    maxQueryLength: 31 * 86400_000,
    maxTotalQueryLength: 7 * 86400_000,
    maxQueryLookback: 365 * 86400_000,
    maxFetchedSeriesPerQuery: 1000,
    maxFetchedChunkBytesPerQuery: 1048576,
    maxQueryParallelism: 4,
    maxEstimatedQueryCost: 5_000_000,
    queryShardingTotalShards: 8,
  });
});
