import fc from 'fast-check';
import { Labels } from '@strata/model';
import { Head } from './head.js';
import { MetricCardinality, PairCounts } from './metric-cardinality.js';
import { PostingsIndex } from './postings.js';

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

  test("series the head drops (truncation) stop counting, and their pairs' ids go to new values", () => {
    const h = head({ maxLabelValuesPerMetric: 2, maxSeriesPerMetric: 3 });
    const add = (u: string, t: number) => {
      const got = h.getOrCreate(L({ __name__: 'm', user_id: u }));
      if (got) h.apply(got.series, t, 0, 0);
      return got !== undefined;
    };
    expect([add('1', 1000), add('2', 1000), add('3', 1000)]).toEqual([true, true, false]);
    expect(h.truncateBefore(2000)).toBe(2);
    // Both values are gone: two new ones fit, the metric's third is refused again.
    expect([add('4', 3000), add('5', 3000), add('6', 3000)]).toEqual([true, true, false]);
    expect(h.refusal).toEqual({ kind: 'label-values-per-metric', metric: 'm', label: 'user_id', seen: 2, limit: 2 });
    expect(add('4', 4000)).toBe(true);
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
    // Through the postings index, as the head uses it: pair ids are handed back when no series holds
    // the pair, and reused by new pairs.
    const series = fc.record({ m: fc.constantFrom('a', 'b', 'c'), u: fc.constantFrom('1', '2', '3', '4'), p: fc.constantFrom('x', 'y') });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), series), { maxLength: 80 }), fc.boolean(), (ops, countValues) => {
        const index = new PostingsIndex();
        const c = new MetricCardinality(countValues);
        const ids = new Int32Array(3);
        const held = new Map<string, { ref: number; pairs: string[] }>();
        let nextRef = 1;
        for (const [add, s] of ops) {
          const pairs = ['__name__', s.m, 'p', s.p, 'u', s.u];
          const key = pairs.join('\u0000');
          const had = held.get(key);
          if (add && !had) {
            const ref = nextRef++;
            held.set(key, { ref, pairs });
            index.add(ref, pairs, ids);
            c.add(pairs, ids);
          } else if (!add && had) {
            held.delete(key);
            index.idsOf(pairs, ids);
            c.remove(pairs, ids);
            index.remove(new Set([had.ref]));
          }
        }
        for (const m of ['a', 'b', 'c']) {
          const mine = [...held.values()].map((h) => h.pairs).filter((p) => p[1] === m);
          const fresh = ['__name__', m, 'u', 'new'];
          index.idsOf(fresh, ids);
          expect(c.seriesOf(fresh, ids)).toBe(mine.length);
          // A new series is refused by the series limit exactly when the metric holds that many.
          expect(c.check(fresh, ids, mine.length, 0)?.kind).toBe(mine.length > 0 ? 'series-per-metric' : undefined);
          if (!countValues) continue;
          const distinctU = new Set(mine.map((p) => p[5])).size;
          // A new user_id is refused exactly when the metric already has `distinctU` of them and the limit is that.
          const hit = c.check(fresh, ids, 0, distinctU);
          expect(hit?.label === 'u').toBe(distinctU > 0);
          if (hit) expect(hit).toEqual({ kind: 'label-values-per-metric', metric: m, label: 'u', seen: distinctU, limit: distinctU });
          // A value the metric holds is no new value, whatever the limit.
          for (const u of new Set(mine.map((p) => p[5]))) {
            const again = ['__name__', m, 'u', u];
            index.idsOf(again, ids);
            expect(c.check(again, ids, 0, 1)).toBeUndefined();
          }
        }
      }),
    );
  });
});

describe('PairCounts', () => {
  test('equals a Map after any sequence of increments and decrements, across growth and deletions', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(40), fc.nat(40), fc.constantFrom(1, -1, 2)), { maxLength: 3000 }), (ops) => {
        const t = new PairCounts();
        const want = new Map<string, number>();
        for (const [a, b, d] of ops) {
          const k = `${a},${b}`;
          const have = want.get(k) ?? 0;
          const got = t.add(a, b, d);
          if (have + d > 0) want.set(k, have + d);
          else want.delete(k);
          expect(got).toBe(have === 0 && d < 0 ? -1 : have + d);
        }
        expect(t.size).toBe(want.size);
        for (let a = 0; a <= 40; a++) for (let b = 0; b <= 40; b++) expect(t.get(a, b)).toBe(want.get(`${a},${b}`) ?? 0);
      }),
      { numRuns: 50 },
    );
  });
});
