import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Limits, LimitsFileError, parseOverrides, type TenantLimits } from './limits.js';
import { limitsAsYamlKeys } from './limits-api.js';

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

test("a tenant's otlp_config is read under Loki's key, shown as written, and a bad one refuses the file at its position", () => {
  const o = parseOverrides(
    'overrides:\n  t1:\n    otlp_config:\n      log_attributes:\n        - action: drop\n          regex: debug\\..*\n',
    DEFAULTS,
  );
  const c = o.get('t1')!.otlpConfig!;
  expect(c.log.map((r) => [r.action, r.regex?.test('debug.x'), r.regex?.test('x.debug.y')])).toEqual([['drop', true, false]]);
  expect(limitsAsYamlKeys(o.get('t1')!).otlp_config).toEqual({ log_attributes: [{ action: 'drop', regex: 'debug\\..*' }] });
  expect(() =>
    parseOverrides(
      'overrides:\n  t1:\n    otlp_config:\n      log_attributes:\n        - action: index_label\n          attributes: [a]\n',
      DEFAULTS,
    ),
  ).toThrow(/^4:\d+: limits file: t1\.otlp_config\.log_attributes\[0\]\.action must be one of structured_metadata, drop/);
});

test("LogQL limits are read under Loki's keys: the timeout as a duration, counts as numbers", () => {
  const o = parseOverrides(
    ['overrides:', '  t1:', '    max_entries_limit_per_query: 10000', '    max_query_series: 50', '    query_timeout: 2m', ''].join('\n'),
    DEFAULTS,
  );
  expect(o.get('t1')).toEqual({ ...DEFAULTS, maxEntriesLimitPerQuery: 10000, maxQuerySeries: 50, queryTimeout: 120_000 });
});

test.each([
  ['3MB', 3_000_000],
  ['1.5MiB', 1.5 * 1024 * 1024],
  ['512kb', 512_000],
  [4096, 4096],
])("per_stream_rate_limit %p is a byte size as Loki's (humanize) reads it", (v, bytes) => {
  const o = parseOverrides(
    `overrides:\n  t1:\n    per_stream_rate_limit: ${JSON.stringify(v)}\n    per_stream_rate_limit_burst: 15MB\n`,
    DEFAULTS,
  );
  expect(o.get('t1')).toEqual({ ...DEFAULTS, perStreamRateLimit: bytes, perStreamRateLimitBurst: 15_000_000 });
});

test.each(['fast', '3XB', '-1MB'])('a per-stream rate %p that is no byte size is refused', (v) => {
  expect(() => parseOverrides(`overrides:\n  t1:\n    per_stream_rate_limit: ${v}\n`, DEFAULTS)).toThrow(
    /t1.per_stream_rate_limit must be a non-negative byte size/,
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

describe('limits file: refused as a whole, with the position of the error', () => {
  const file = (rules: string) => `overrides:\n  ok:\n    max_global_series_per_metric: 10\n  t1:\n    metric_relabel_configs:\n${rules}`;
  test.each([
    [
      'an unknown action',
      '      - source_labels: [a]\n        action: explode\n',
      /t1.metric_relabel_configs\[0\]: unknown relabel action "explode"/,
      7,
      17,
    ],
    ['a regex that is not RE2', '      - source_labels: [a]\n        regex: "(?=x)"\n        action: drop\n', /invalid regex/, 7, 16],
    ['an invalid rule', '      - action: hashmod\n        target_label: x\n', /requires non-zero modulus/, 6, 9],
    ['an unknown key in a rule', '      - action: drop\n        sourcelabels: [a]\n', /field sourcelabels not found/, 7, 9],
    [
      'a later rule that is bad',
      '      - action: drop\n        source_labels: [a]\n      - action: nope\n',
      /\[1\]: unknown relabel action/,
      8,
      17,
    ],
  ])('%s', (_name, rules, msg, line, column) => {
    let err: LimitsFileError | undefined;
    try {
      parseOverrides(file(rules), DEFAULTS);
    } catch (e) {
      err = e as LimitsFileError;
    }
    expect(err).toBeInstanceOf(LimitsFileError);
    expect(err!.message).toMatch(msg);
    expect([err!.line, err!.column]).toEqual([line, column]);
    expect(err!.message.startsWith(`${line}:${column}: `)).toBe(true);
  });

  test('an unknown limit points at its key', () => {
    expect(() => parseOverrides('overrides:\n  t1:\n    max_series_per_metrik: 3\n', DEFAULTS)).toThrow(
      /^3:5: limits file: unknown limit "max_series_per_metrik"/,
    );
  });

  test('YAML syntax errors carry their position', () => {
    expect(() => parseOverrides('overrides:\n  t1: [\n', DEFAULTS)).toThrow(/^\d+:\d+: limits file: /);
  });

  test('a valid file sets the new limits and rules per tenant', () => {
    const o = parseOverrides(
      file('      - source_labels: [__name__]\n        regex: debug_.*\n        action: drop\n') +
        '    max_label_value_cardinality_per_metric: 5\n',
      DEFAULTS,
    );
    expect(o.get('ok')!.maxGlobalSeriesPerMetric).toBe(10);
    expect(o.get('ok')!.metricRelabelConfigs).toBeUndefined();
    expect(o.get('t1')!.metricRelabelConfigs!.map((r) => r.action)).toEqual(['drop']);
    expect(o.get('t1')!.maxLabelValueCardinalityPerMetric).toBe(5);
  });
});

describe('Limits.reload keeps the previous limits when an edit is refused', () => {
  test('status names the error and position; a fixed file applies again', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'limits-'));
    const f = path.join(dir, 'limits.yaml');
    fs.writeFileSync(f, 'overrides:\n  t1:\n    max_global_series_per_user: 7\n');
    const limits = new Limits({ defaults: DEFAULTS, overridesFile: f, reloadIntervalMs: 3_600_000 });
    try {
      expect(limits.forTenant('t1').maxGlobalSeriesPerUser).toBe(7);
      // A bad edit touching two tenants: neither half is applied.
      fs.writeFileSync(
        f,
        'overrides:\n  t1:\n    max_global_series_per_user: 9\n  t2:\n    metric_relabel_configs:\n      - action: what\n',
      );
      fs.utimesSync(f, new Date(), new Date(Date.now() + 5000));
      expect(limits.reload()).toBe(false);
      expect(limits.forTenant('t1').maxGlobalSeriesPerUser).toBe(7);
      expect(limits.status().lastError).toMatchObject({
        line: 6,
        column: 17,
        message: expect.stringMatching(/unknown relabel action "what"/),
      });
      fs.writeFileSync(f, 'overrides:\n  t1:\n    max_global_series_per_user: 9\n');
      fs.utimesSync(f, new Date(), new Date(Date.now() + 10000));
      expect(limits.reload()).toBe(true);
      expect(limits.forTenant('t1').maxGlobalSeriesPerUser).toBe(9);
      expect(limits.status().lastError).toBeUndefined();
    } finally {
      limits.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
