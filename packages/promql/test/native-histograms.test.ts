import { FloatHistogram, Labels } from '@strata/model';
import { Engine, histogramJson } from '@strata/promql';
import { HistogramStore } from './promqltest/histogram-store.js';

const h = (count: number, buckets: number[], extra: Partial<ConstructorParameters<typeof FloatHistogram>[0]> = {}) =>
  new FloatHistogram({ count, sum: count * 2, positiveSpans: [{ offset: 0, length: buckets.length }], positiveBuckets: buckets, ...extra });

describe('native histograms through the engine', () => {
  const store = new HistogramStore();
  const a = Labels.fromPairs(['__name__', 'lat', 'pod', 'a']);
  const b = Labels.fromPairs(['__name__', 'lat', 'pod', 'b']);
  // A counter growing by 10 observations per minute (5 in bucket (0.5,1], 5 in (1,2]).
  for (let m = 0; m <= 10; m++) {
    store.append(a, m * 60_000, 0, h(10 * m, [5 * m, 5 * m], { positiveSpans: [{ offset: 0, length: 2 }] }));
    store.append(b, m * 60_000, 0, h(10 * m, [5 * m, 5 * m], { positiveSpans: [{ offset: 0, length: 2 }] }));
  }
  const engine = new Engine();

  test('rate, sum and histogram_count/quantile agree with the counter', async () => {
    const out = await engine.instantQuery(store, 'sum(rate(lat[5m]))', 10 * 60_000);
    expect(out.result.resultType).toBe('vector');
    if (out.result.resultType !== 'vector') return;
    const r = out.result.vector[0].h!;
    // Two series at 10 observations per minute each.
    expect(r.count).toBeCloseTo(20 / 60, 9);
    const q = await engine.instantQuery(store, 'histogram_count(sum(rate(lat[5m])))', 10 * 60_000);
    if (q.result.resultType !== 'vector') throw new Error('vector expected');
    expect(q.result.vector[0].v).toBeCloseTo(20 / 60, 9);
    const med = await engine.instantQuery(store, 'histogram_quantile(0.5, sum(rate(lat[5m])))', 10 * 60_000);
    if (med.result.resultType !== 'vector') throw new Error('vector expected');
    // Half the observations are at most 1: the median is the bucket boundary.
    expect(med.result.vector[0].v).toBeCloseTo(1, 9);
  });

  test('range queries carry histogram points', async () => {
    const out = await engine.rangeQuery(store, 'lat{pod="a"} * 2', 60_000, 180_000, 60_000);
    if (out.result.resultType !== 'matrix') throw new Error('matrix expected');
    const counts = out.result.matrix[0].histograms!.map((x) => x!.count);
    expect(counts).toEqual([20, 40, 60]);
  });

  test.each([
    [
      h(3, [1, 2]),
      {
        count: '3',
        sum: '6',
        buckets: [
          [0, '0.5', '1', '1'],
          [0, '1', '2', '2'],
        ],
      },
    ],
    [
      new FloatHistogram({ count: 2, zeroCount: 1, zeroThreshold: 0.001, negativeSpans: [{ offset: 0, length: 1 }], negativeBuckets: [1] }),
      {
        count: '2',
        sum: '0',
        buckets: [
          [1, '-1', '-0.5', '1'],
          [3, '-0.001', '0.001', '1'],
        ],
      },
    ],
    [new FloatHistogram(), { count: '0', sum: '0' }],
  ])('JSON of %s', (hist, want) => {
    expect(histogramJson(hist)).toEqual(want);
  });
});
