import fc from 'fast-check';
import { Labels } from '@strata/model';
import { Head } from './head.js';
import { MetricCardinality } from './metric-cardinality.js';

const L = (o: Record<string, string>) => Labels.fromObject(o);
const head = (o: Partial<ConstructorParameters<typeof Head>[0]> = {}) => new Head({ outOfOrderWindowMs: 0, maxSeries: 0, ...o });

describe('head: per-metric limits refuse only the new series that would exceed them', () => {
  test.each([
    // [limits, series created in order, which of them are refused (indices)]
    [
      'series per metric',
      { maxSeriesPerMetric: 2 },
      [
        ['m', '1'],
        ['m', '2'],
        ['m', '3'],
        ['other', '1'],
        ['m', '1'],
      ],
      [2],
    ],
    [
      'label values per metric',
      { maxLabelValuesPerMetric: 2 },
      [
        ['m', '1'],
        ['m', '2'],
        ['m', '3'],
        ['other', '3'],
        ['m', '2'],
      ],
      [2],
    ],
    [
      'both unlimited',
      {},
      [
        ['m', '1'],
        ['m', '2'],
        ['m', '3'],
      ],
      [],
    ],
  ] as const)('%s', (_n, limits, series, refused) => {
    const h = head(limits);
    const got: number[] = [];
    series.forEach(([m, u], i) => {
      if (!h.getOrCreate(L({ __name__: m, user_id: u }))) got.push(i);
    });
    expect(got).toEqual(refused);
  });

  test('a label value already held is no new value: another series with it is created', () => {
    const h = head({ maxLabelValuesPerMetric: 2 });
    for (const u of ['1', '2']) h.getOrCreate(L({ __name__: 'm', user_id: u, path: 'a' }));
    expect(h.getOrCreate(L({ __name__: 'm', user_id: '1', path: 'b' }))).toBeDefined();
    expect(h.getOrCreate(L({ __name__: 'm', user_id: '9', path: 'a' }))).toBeUndefined();
    expect(h.refusal).toEqual({ kind: 'label-values-per-metric', metric: 'm', label: 'user_id', seen: 2, limit: 2 });
  });

  test('a limit set by a reload counts the series already held; removing the limit stops counting', () => {
    const h = head();
    for (let u = 0; u < 5; u++) h.getOrCreate(L({ __name__: 'm', user_id: String(u) }));
    h.setMetricLimits(3, 0);
    expect(h.getOrCreate(L({ __name__: 'm', user_id: 'new' }))).toBeUndefined();
    expect(h.refusal).toEqual({ kind: 'series-per-metric', metric: 'm', seen: 5, limit: 3 });
    h.setMetricLimits(0, 0);
    expect(h.getOrCreate(L({ __name__: 'm', user_id: 'new' }))).toBeDefined();
  });

  test("the process' ceiling counts every attached head; 'receiver' is the refusal", () => {
    const budget = { live: 0, max: 3 };
    const a = head();
    const b = head();
    a.getOrCreate(L({ __name__: 'x' }));
    a.attachBudget(budget);
    b.attachBudget(budget);
    b.getOrCreate(L({ __name__: 'y' }));
    b.getOrCreate(L({ __name__: 'z' }));
    expect(budget.live).toBe(3);
    expect(a.getOrCreate(L({ __name__: 'w' }))).toBeUndefined();
    expect(a.refusal).toBe('receiver');
    expect(a.getOrCreate(L({ __name__: 'x' }))).toMatchObject({ created: false }); // existing series still land
  });
});

describe('MetricCardinality', () => {
  test('counts equal a recount of the series held, after any sequence of creations and removals', () => {
    const series = fc.record({ m: fc.constantFrom('a', 'b'), u: fc.constantFrom('1', '2', '3'), p: fc.constantFrom('x', 'y') });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), series), { maxLength: 60 }), (ops) => {
        const c = new MetricCardinality(true);
        const held = new Map<string, string[]>();
        for (const [add, s] of ops) {
          const pairs = ['__name__', s.m, 'p', s.p, 'u', s.u];
          const key = pairs.join('\u0000');
          if (add && !held.has(key)) {
            held.set(key, pairs);
            c.add(pairs);
          } else if (!add && held.has(key)) {
            held.delete(key);
            c.remove(pairs);
          }
        }
        for (const m of ['a', 'b']) {
          const mine = [...held.values()].filter((p) => p[1] === m);
          expect(c.seriesOf(m)).toBe(mine.length);
          const distinctU = new Set(mine.map((p) => p[5])).size;
          // A new user_id is refused exactly when the metric already has `distinctU` of them and the limit is that.
          const hit = c.check(['__name__', m, 'u', 'new'], 0, distinctU);
          expect(hit?.label === 'u').toBe(distinctU > 0);
        }
      }),
    );
  });
});
