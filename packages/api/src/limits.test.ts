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
