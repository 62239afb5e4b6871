import fc from 'fast-check';
import { HistogramTable, rowToFloatHistogram, type WireHistogram } from '@strata/remote';
import { checkHistogram } from './validate-histogram.js';

/** count 6: zero bucket 1, positive buckets 2 and 3 (deltas 2, +1) at indices 0 and 1. */
const GOOD: WireHistogram = {
  t: 1000,
  float: false,
  schema: 0,
  zeroThreshold: 0.001,
  zeroCount: 1,
  count: 6,
  sum: 10,
  resetHint: 0,
  positiveSpans: [{ offset: 0, length: 2 }],
  positiveBuckets: [2, 1],
  negativeSpans: [],
  negativeBuckets: [],
  customValues: [],
};

function check(h: Partial<WireHistogram>, maxBuckets = 0) {
  const table = new HistogramTable();
  const i = table.push({ ...GOOD, ...h });
  return { verdict: checkHistogram(table, i, maxBuckets), row: table.get(i), table, i };
}

describe('native histogram validation', () => {
  test.each<[string, Partial<WireHistogram>, string | undefined]>([
    ['a consistent integer histogram', {}, undefined],
    ['a float histogram', { float: true, positiveBuckets: [2, 3] }, undefined],
    ['NaN sum with count above the buckets', { sum: NaN, count: 9 }, undefined],
    ['a custom-bucket histogram', { schema: -53, zeroCount: 0, zeroThreshold: 0, count: 5, customValues: [1, 2] }, undefined],
    [
      'spans need more buckets than sent',
      { positiveSpans: [{ offset: 0, length: 3 }] },
      'positive side: spans need 3 buckets, have 2 buckets',
    ],
    [
      'a later span going backwards',
      {
        positiveSpans: [
          { offset: 0, length: 1 },
          { offset: -2, length: 1 },
        ],
      },
      'span number 2 with offset -2',
    ],
    ['a negative bucket count', { positiveBuckets: [2, -3], count: 2 }, 'bucket number 2 has observation count of -1'],
    ['count not matching the buckets', { count: 7 }, '6 observations found in buckets, but the Count field is 7'],
    ['NaN sum, count below the buckets', { sum: NaN, count: 5 }, 'should be at least the number of observations'],
    ['schema below -4', { schema: -5 }, 'got schema -5'],
    ['schema above 52', { schema: 53 }, 'got schema 53'],
    ['a negative zero threshold', { zeroThreshold: -1 }, 'zero threshold of -1'],
    ['a NaN zero threshold', { zeroThreshold: NaN }, 'zero threshold of NaN'],
    ['a negative float count', { float: true, count: -1, positiveBuckets: [2, 3] }, 'observation count is negative'],
    [
      'custom bounds not increasing',
      { schema: -53, zeroCount: 0, zeroThreshold: 0, count: 5, customValues: [2, 1] },
      'strictly increasing',
    ],
    ['custom bounds ending at +Inf', { schema: -53, zeroCount: 0, zeroThreshold: 0, count: 5, customValues: [1, Infinity] }, '+Inf bound'],
    [
      'custom spans past the bounds',
      { schema: -53, zeroCount: 0, zeroThreshold: 0, count: 5, customValues: [], positiveSpans: [{ offset: 0, length: 2 }] },
      'too few',
    ],
    ['custom buckets with a zero bucket', { schema: -53, zeroThreshold: 0, customValues: [1, 2] }, 'must have zero count of 0'],
    ['exponential with custom bounds', { customValues: [1] }, 'must not have custom bounds'],
  ])('%s', (_name, h, problem) => {
    const { verdict } = check(h);
    if (problem === undefined) expect(verdict).toEqual({ ok: true, reduced: false });
    else {
      expect(verdict.ok).toBe(false);
      if (!verdict.ok) {
        expect(verdict.id).toBe('invalid-native-histogram');
        expect(verdict.reason).toContain(problem);
      }
    }
  });

  test('schemas 9..52 are reduced to 8, totals kept', () => {
    const { verdict, row } = check({ schema: 12, positiveSpans: [{ offset: 5, length: 2 }] });
    expect(verdict).toEqual({ ok: true, reduced: true });
    expect(row.schema).toBe(8);
    expect(row.count).toBe(6);
  });

  test('over max_native_histogram_buckets: reduced until it fits (Mimir), else refused', () => {
    // Eight buckets at schema 3, indices 1..8: schema 2 merges pairs (1,2),(3,4).. → 4 buckets, schema 1 → 2.
    const wide = { schema: 3, count: 9, positiveSpans: [{ offset: 1, length: 8 }], positiveBuckets: [1, 0, 0, 0, 0, 0, 0, 0] };
    const r = check(wide, 4);
    expect(r.verdict).toEqual({ ok: true, reduced: true });
    expect(r.row.schema).toBe(2);
    expect(r.row.positiveBuckets.length).toBe(4);
    expect(r.row.positiveBuckets).toEqual([2, 0, 0, 0]);
    const tight = check(wide, 1);
    expect(tight.verdict.ok).toBe(true);
    expect(tight.row.schema).toBeLessThanOrEqual(0);
    const never = check({ ...wide, schema: -3, positiveSpans: [{ offset: 0, length: 8 }] }, 1);
    expect(never.verdict).toMatchObject({ ok: false, id: 'max-native-histogram-buckets' });
    const custom = check({ schema: -53, zeroCount: 0, zeroThreshold: 0, count: 5, customValues: [1, 2] }, 1);
    expect(custom.verdict).toMatchObject({ ok: false, id: 'max-native-histogram-buckets' });
  });

  test('reduction keeps count, sum bits and every observation (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -4, max: 8 }),
        fc.integer({ min: -30, max: 30 }),
        fc.array(fc.nat(50), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 10 }),
        (schema, offset, counts, limit) => {
          const deltas = counts.map((c, k) => c - (k > 0 ? counts[k - 1] : 0));
          const total = counts.reduce((a, b) => a + b, 0);
          const h = { schema, count: total + 1, positiveSpans: [{ offset, length: counts.length }], positiveBuckets: deltas };
          const { verdict, table, i, row } = check(h, limit);
          if (!verdict.ok) {
            expect(verdict.id).toBe('max-native-histogram-buckets');
            return;
          }
          expect(row.positiveBuckets.length).toBeLessThanOrEqual(limit);
          expect(row.count).toBe(total + 1);
          const fh = rowToFloatHistogram(table, i);
          expect(fh.positiveBuckets.reduce((a, b) => a + b, 0)).toBe(total);
          expect(row.sum).toBe(10);
        },
      ),
    );
  });
});
