import fc from 'fast-check';
import { cutAnswer, hasHistograms, mergeAnswers, type MatrixSeriesJson, type RangeAnswer } from './range-result.js';

/** A native histogram sample as Prometheus' JSON has it (the frontend passes it through). */
const hist = (count: number) => ({ count: String(count), sum: String(count * 1.5), buckets: [[0, '0', '1', String(count)]] });

/** An answer over steps 0..n-1 (1 s apart): series with floats, histograms, or both (a float then a histogram). */
const answerArb = fc
  .array(
    fc.record({
      job: fc.constantFrom('a', 'b', 'c', 'd', 'e'),
      kinds: fc.array(fc.constantFrom('float', 'histogram', 'none'), { minLength: 12, maxLength: 12 }),
    }),
    { maxLength: 5 },
  )
  .map((rows) => {
    const seen = new Set<string>();
    const series: MatrixSeriesJson[] = [];
    for (const r of rows) {
      if (seen.has(r.job)) continue;
      seen.add(r.job);
      const s: MatrixSeriesJson = { metric: { __name__: 'x', job: r.job } };
      r.kinds.forEach((k, t) => {
        if (k === 'float') (s.values ??= []).push([t, String(t * 10)]);
        if (k === 'histogram') (s.histograms ??= []).push([t, hist(t)]);
      });
      if (s.values || s.histograms) series.push(s);
    }
    series.sort((a, b) => (a.metric.job < b.metric.job ? -1 : 1));
    return { series, warnings: [], infos: [] } as RangeAnswer;
  });

describe('range answers with native histograms', () => {
  test('cut at any step boundaries and merged back, an answer is unchanged (values and histograms)', () => {
    fc.assert(
      fc.property(answerArb, fc.array(fc.integer({ min: 0, max: 11 }), { maxLength: 4 }), (answer, cuts) => {
        const bounds = [...new Set(cuts)].sort((a, b) => a - b);
        const pieces: RangeAnswer[] = [];
        let from = 0;
        for (const b of [...bounds, 11]) {
          if (b < from) continue;
          pieces.push(cutAnswer(answer, from * 1000, b * 1000));
          from = b + 1;
        }
        expect(mergeAnswers(pieces)).toEqual(answer);
      }),
    );
  });

  test('a cut keeps exactly the samples whose steps lie in [from, to], for any bounds on or off the steps', () => {
    const within = <T extends [number, unknown]>(xs: T[] | undefined, from: number, to: number) =>
      xs?.filter(([t]) => Math.round(t * 1000) >= from && Math.round(t * 1000) <= to);
    fc.assert(
      fc.property(answerArb, fc.integer({ min: -2000, max: 14_000 }), fc.integer({ min: -2000, max: 14_000 }), (answer, from, to) => {
        const want = answer.series.flatMap((s) => {
          const values = within(s.values, from, to);
          const histograms = within(s.histograms, from, to);
          if (!values?.length && !histograms?.length) return [];
          return [{ metric: s.metric, ...(values?.length ? { values } : {}), ...(histograms?.length ? { histograms } : {}) }];
        });
        expect(cutAnswer(answer, from, to).series).toEqual(want);
      }),
    );
  });

  test('a histogram-only series has no values key, as Prometheus sends it', () => {
    const a: RangeAnswer = {
      series: [
        {
          metric: { job: 'h' },
          histograms: [
            [1, hist(1)],
            [2, hist(2)],
          ],
        },
      ],
      warnings: [],
      infos: [],
    };
    const b: RangeAnswer = { series: [{ metric: { job: 'h' }, histograms: [[3, hist(3)]] }], warnings: [], infos: [] };
    expect(mergeAnswers([a, b]).series).toEqual([
      {
        metric: { job: 'h' },
        histograms: [
          [1, hist(1)],
          [2, hist(2)],
          [3, hist(3)],
        ],
      },
    ]);
    expect(cutAnswer(a, 2000, 5000).series).toEqual([{ metric: { job: 'h' }, histograms: [[2, hist(2)]] }]);
    expect(cutAnswer(a, 3000, 5000).series).toEqual([]);
  });

  test.each([
    [[], false],
    [[{ metric: {}, values: [[1, '1']] }], false],
    [[{ metric: {}, histograms: [] }], false],
    [[{ metric: {}, histograms: [[1, hist(1)]] }], true],
  ] as [MatrixSeriesJson[], boolean][])('hasHistograms %j', (series, want) => {
    expect(hasHistograms([{ series, warnings: [], infos: [] }])).toBe(want);
  });
});
