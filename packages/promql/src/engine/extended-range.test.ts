import fc from 'fast-check';
import { FloatHistogram, Labels, type SelectHints } from '@strata/model';
import { HistogramStore } from '../../test/promqltest/histogram-store.js';
import { Engine } from './engine.js';

const MIN = 60_000;

/** A store that keeps the hints of every select it answers. */
class HintStore extends HistogramStore {
  readonly hints: SelectHints[] = [];
  override select(...a: Parameters<HistogramStore['select']>): ReturnType<HistogramStore['select']> {
    this.hints.push(a[1]);
    return super.select(...a);
  }
}

const engine = new Engine();

async function instant(store: HistogramStore, q: string, t: number): Promise<number | undefined> {
  const out = await engine.instantQuery(store, q, t);
  if (out.result.resultType !== 'vector') throw new Error('vector expected');
  return out.result.vector[0]?.v;
}

describe('anchored and smoothed range selectors', () => {
  test.each([
    // [query, select start, select end, func hint] at t = 10m with the default 5m lookback.
    ['rate(x[1m])', 9 * MIN + 1, 10 * MIN, 'rate'],
    ['rate(x[1m] anchored)', 4 * MIN + 1, 10 * MIN, undefined],
    ['rate(x[1m] smoothed)', 4 * MIN + 1, 15 * MIN, undefined],
    ['increase(x[1m] offset 1m smoothed)', 3 * MIN + 1, 14 * MIN, undefined],
    ['x smoothed', 5 * MIN + 1, 15 * MIN, undefined],
  ])('%s selects (%d, %d] without a rollup function', async (q, start, end, func) => {
    const store = new HintStore();
    await instant(store, q, 10 * MIN);
    expect(store.hints).toHaveLength(1);
    expect(store.hints[0]).toMatchObject({ start, end });
    expect(store.hints[0].func).toBe(func);
  });

  test.each([
    [
      'max_over_time(x[1m] anchored)',
      'anchored modifier can only be used with: changes, delta, increase, rate, resets - not with max_over_time',
    ],
    ['changes(x[1m] smoothed)', 'smoothed modifier can only be used with: delta, increase, rate - not with changes'],
    ['absent_over_time(x[1m] anchored)', 'not with absent_over_time'],
  ])('%s fails', async (q, msg) => {
    await expect(instant(new HistogramStore(), q, 0)).rejects.toThrow(msg);
  });

  test.each([
    // [t, value] of y smoothed over samples 0 at 10s and 10 at 30s.
    [5_000, undefined],
    [10_000, 0],
    [15_000, 2.5],
    [30_000, 10],
    [100_000, 10],
    [331_000, undefined],
  ])('y smoothed at %d is %p', async (t, want) => {
    const store = new HistogramStore();
    const l = Labels.fromObject({ __name__: 'y' });
    store.append(l, 10_000, 0, undefined);
    store.append(l, 30_000, 10, undefined);
    expect(await instant(store, 'y smoothed', t)).toBe(want);
  });

  test('anchored increase of histograms is the last in the range minus the anchor (a single sample: none), smoothed histograms interpolate at both ends', async () => {
    const store = new HistogramStore();
    const l = Labels.fromObject({ __name__: 'h' });
    const hist = (count: number) =>
      new FloatHistogram({ count, sum: count, positiveSpans: [{ offset: 0, length: 1 }], positiveBuckets: [count] });
    [2, 5, 9].forEach((c, i) => store.append(l, i * 30_000, 0, hist(c)));
    const at = async (q: string, t: number) => {
      const out = await engine.instantQuery(store, q, t);
      if (out.result.resultType !== 'vector') throw new Error('vector expected');
      return out.result.vector.map((s) => s.h?.count);
    };
    // (30s, 90s]: anchored at the sample at 30s (count 5), the last at 60s (count 9).
    expect(await at('increase(h[1m] anchored)', 90_000)).toEqual([4]);
    expect(await at('rate(h[1m] anchored)', 90_000)).toEqual([4 / 60]);
    expect(await at('increase(h[1m] anchored)', 10_000)).toEqual([0]);
    // (30s, 90s] smoothed: 5 at 30s on the left, 9 carried from 60s on the right.
    expect(await at('increase(h[1m] smoothed)', 90_000)).toEqual([4]);
    // (-15s, 45s]: 2 before the first sample, 7 halfway between 30s and 60s.
    expect(await at('increase(h[1m] smoothed)', 45_000)).toEqual([5]);
    // A smoothed instant selector interpolates histograms as floats: counts 5 at 30s, 9 at 60s.
    expect(await at('h smoothed', 45_000)).toEqual([7]);
    expect(await at('h smoothed', 100_000)).toEqual([9]);
  });

  test('a range query answers at each step what an instant query there does', async () => {
    const store = new HistogramStore();
    const l = Labels.fromObject({ __name__: 'x' });
    [1, 4, 2, 9, 9, 13, 0, 5].forEach((v, i) => store.append(l, i * 25_000 + 3_000, v, undefined));
    for (const q of [
      'increase(x[1m] anchored)',
      'rate(x[40s] smoothed)',
      'delta(x[1m] smoothed)',
      'resets(x[30s] anchored)',
      'x smoothed',
    ]) {
      const out = await engine.rangeQuery(store, q, 0, 240_000, 10_000);
      if (out.result.resultType !== 'matrix') throw new Error('matrix expected');
      const got = new Map<number, number>();
      const s = out.result.matrix[0];
      s.timestamps.forEach((t, i) => got.set(t, s.values[i]));
      for (let t = 0; t <= 240_000; t += 10_000) expect([q, t, got.get(t)]).toEqual([q, t, await instant(store, q, t)]);
    }
  });

  test('anchored increase of a counter without resets is its last value in the range minus the one before it', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(100), { minLength: 1, maxLength: 20 }), fc.integer({ min: 1, max: 300 }), async (steps, at) => {
        const store = new HistogramStore();
        const l = Labels.fromObject({ __name__: 'c' });
        let v = 0;
        const samples = steps.map((d, i) => ({ t: i * 15_000, v: (v += d) }));
        for (const s of samples) store.append(l, s.t, s.v, undefined);
        const t = at * 1000;
        const inRange = samples.filter((s) => s.t > t - MIN && s.t <= t);
        const anchor = samples.filter((s) => s.t <= t - MIN && s.t > t - MIN - 5 * MIN).at(-1) ?? inRange[0];
        const want = inRange.length === 0 ? undefined : inRange.at(-1)!.v - anchor.v;
        expect(await instant(store, 'increase(c[1m] anchored)', t)).toBe(want);
      }),
      { numRuns: 100 },
    );
  });
});
