import { parseOverrides, type TenantLimits } from './limits.js';

const DEFAULTS: TenantLimits = {
  ingestionRate: 0,
  ingestionBurstSize: 0,
  maxGlobalSeriesPerUser: 0,
  maxLabelNamesPerSeries: 30,
  maxLabelNameLength: 1024,
  maxLabelValueLength: 2048,
};

const file = (rules: string) => `overrides:\n  t:\n    stream_aggregation_config:\n${rules}`;

describe('stream_aggregation_config in the limits file', () => {
  test('a rule parses with VictoriaMetrics keys; by/without sorted; staleness defaults to two intervals', () => {
    const l = parseOverrides(
      file(`      - match: 'http_requests_total{job=~"a|b"}'
        interval: 1m
        without: [user_id, instance]
        outputs: [total, 'quantiles(0.5, 0.99)', histogram_bucket]
        drop_input: true
`),
      DEFAULTS,
    ).get('t')!;
    const [r] = l.streamAggregationConfig!;
    expect(r.intervalMs).toBe(60_000);
    expect(r.intervalText).toBe('1m');
    expect(r.without).toEqual(['instance', 'user_id']);
    expect(r.outputs).toEqual([{ kind: 'total' }, { kind: 'quantiles', phis: [0.5, 0.99] }, { kind: 'histogram_bucket' }]);
    expect(r.dropInput).toBe(true);
    expect(r.stalenessIntervalMs).toBe(120_000);
    expect(r.match[0].map(String)).toEqual(['__name__="http_requests_total"', 'job=~"a|b"']);
    expect(l.ingestionRate).toBe(0);
  });

  test.each([
    ['an unknown output', `      - {match: up, interval: 1m, outputs: [sum]}\n`, /\[0\]\.outputs\[0\]: unknown output "sum"/],
    ['a φ out of range', `      - {match: up, interval: 1m, outputs: ['quantiles(1.5)']}\n`, /quantiles take φs between 0 and 1/],
    ['a selector that does not parse', `      - {match: 'up{', interval: 1m, outputs: [max]}\n`, /\[0\]\.match\[0\]/],
    ['a regex that is not RE2', `      - {match: 'up{a=~"(?=x)"}', interval: 1m, outputs: [max]}\n`, /\[0\]\.match\[0\]/],
    ['no interval', `      - {match: up, outputs: [max]}\n`, /\[0\]\.interval/],
    ['by and without', `      - {match: up, interval: 1m, by: [a], without: [b], outputs: [max]}\n`, /either by or without/],
    ['an unknown key', `      - {match: up, interval: 1m, outputs: [max], ignore_old_samples: true}\n`, /unknown key "ignore_old_samples"/],
    ['a dedup interval that does not divide', `      - {match: up, interval: 1m, dedup_interval: 7s, outputs: [max]}\n`, /dedup_interval/],
    [
      'keep_metric_names with two outputs',
      `      - {match: up, interval: 1m, keep_metric_names: true, outputs: [max, min]}\n`,
      /exactly one output/,
    ],
    [
      'a second rule with a bad output',
      `      - {match: up, interval: 1m, outputs: [max]}\n      - {match: up, interval: 1m, outputs: [maxx]}\n`,
      /\[1\]\.outputs\[0\]/,
    ],
  ])('the whole file is refused for %s', (_, rules, error) => {
    expect(() => parseOverrides(file(rules), DEFAULTS)).toThrow(error);
  });
});
