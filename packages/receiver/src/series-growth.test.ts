import { Registry } from 'prom-client';
import { growthAnswer } from '@strata/api';
import { OTHER_METRIC, SeriesGrowth } from './series-growth.js';

const MIN = 60_000;

function setup(opts: { topMetrics?: number; maxMetricsPerTenant?: number } = {}) {
  let now = 10 * 60 * MIN;
  const registry = new Registry();
  const g = new SeriesGrowth({
    topMetrics: opts.topMetrics ?? 2,
    maxMetricsPerTenant: opts.maxMetricsPerTenant ?? 100,
    registry,
    now: () => now,
  });
  const create = (metric: string, labels: Record<string, string>, tenant = 't') =>
    g.created(tenant, ['__name__', metric, ...Object.entries(labels).sort().flat()]);
  const exported = async (tenant = 't') => {
    const text = await registry.getSingleMetricAsString('strata_tenant_series_created_total');
    return Object.fromEntries(
      [...text.matchAll(new RegExp(`tenant="${tenant}",metric="([^"]+)"} (\\d+)`, 'g'))].map((m) => [m[1], Number(m[2])]),
    );
  };
  return { g, create, exported, advance: (ms: number) => (now += ms) };
}

describe('SeriesGrowth', () => {
  test.each([
    // window, minutes ago of three bursts of creations (10, 20, 30 series) -> series created in the window
    ['1m', [0, 5, 30], 10],
    ['10m', [0, 5, 30], 30],
    ['1h', [0, 5, 30], 60],
    ['1h', [0, 59, 60], 30],
  ])('window %s over bursts %j minutes ago counts %d', (window, ago, want) => {
    const { g, create, advance } = setup();
    const bursts = [...ago].sort((a, b) => b - a); // oldest first
    let at = 0;
    for (const [i, minutesAgo] of bursts.entries()) {
      advance((bursts[0] - minutesAgo - at) * MIN);
      at = bursts[0] - minutesAgo;
      const n = [10, 20, 30][ago.indexOf(minutesAgo)];
      for (let k = 0; k < n; k++) create('m', { id: `${i}-${k}` });
    }
    const ms = { '1m': MIN, '10m': 10 * MIN, '1h': 60 * MIN }[window]!;
    const answer = growthAnswer(g.sketches('t', ms, 10), 10);
    expect(answer.metrics.length > 0 ? answer.metrics[0].series_created : 0).toBe(want);
  });

  test('the label with the most new values is named; per-minute rate over the window', () => {
    const { g, create } = setup();
    for (let u = 0; u < 300; u++) create('http_requests_total', { instance: `i${u % 3}`, user_id: `u${u}` });
    for (let i = 0; i < 4; i++) create('up', { instance: `i${i}` });
    const a = growthAnswer(g.sketches('t', 10 * MIN, 10), 10);
    expect(a.metrics.map((m) => [m.metric, m.series_created, m.fastest_growing_label])).toEqual([
      ['http_requests_total', 300, 'user_id'],
      ['up', 4, 'instance'],
    ]);
    expect(a.metrics[0].series_created_per_minute).toBe(30);
    expect(a.metrics[0].labels).toEqual([
      { label_name: 'user_id', new_values: 300 },
      { label_name: 'instance', new_values: 3 },
    ]);
  });

  test('tracked metrics per tenant are bounded: later ones share __other__', () => {
    const { g, create } = setup({ maxMetricsPerTenant: 3 });
    for (let m = 0; m < 10; m++) create(`metric_${m}`, { a: 'x' });
    const names = [...g.sketches('t', MIN, 100).metrics.keys()].sort();
    expect(names).toEqual([OTHER_METRIC, 'metric_0', 'metric_1', 'metric_2']);
    expect(g.sketches('t', MIN, 100).metrics.get(OTHER_METRIC)!.createdLocal).toBe(7);
  });

  test('the counter exports the top metrics, moves the ones leaving the top into __other__, and never decreases', async () => {
    const { create, exported, advance } = setup({ topMetrics: 1 });
    for (let k = 0; k < 3; k++) create('a', { k: String(k) });
    for (let k = 0; k < 5; k++) create('b', { k: String(k) });
    // `a` took the free place at once; the scrape re-ranks first: b is the top, a's 3 move into __other__.
    expect(await exported()).toEqual({ b: 0, [OTHER_METRIC]: 8 });
    for (let k = 5; k < 7; k++) create('b', { k: String(k) });
    create('a', { k: 'late' });
    expect(await exported()).toEqual({ b: 2, [OTHER_METRIC]: 9 });
    // An hour later nothing was created: the top is empty and b's count moves too.
    advance(61 * MIN);
    expect(await exported()).toEqual({ [OTHER_METRIC]: 11 });
  });

  test('prune drops minutes older than an hour and then the metrics without any', () => {
    const { g, create, advance } = setup();
    create('old', { a: '1' });
    advance(30 * MIN);
    create('new', { a: '1' });
    advance(31 * MIN);
    g.prune();
    expect([...g.sketches('t', 60 * MIN, 10).metrics.keys()]).toEqual(['new']);
    advance(60 * MIN);
    g.prune();
    expect(g.sketches('t', 60 * MIN, 10).metrics.size).toBe(0);
  });
});
