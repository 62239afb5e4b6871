/**
 * The two-stage aggregation is exact only if partials merge exactly: any split of a sample
 * stream over receivers, merged in any order (through JSON, as between receivers), gives the
 * statistics of the whole stream.
 */
import fc from 'fast-check';
import { Partial, quantileOf, seriesKey } from './partial.js';
import { vmrangeOf } from './vmrange.js';

const sample = fc.record({ t: fc.integer({ min: 0, max: 1e6 }), v: fc.double({ min: -1e6, max: 1e6, noNaN: true }).map((v) => v + 0) }); // + 0: -0 sorts ambiguously beside 0

function of(samples: { t: number; v: number }[]): Partial {
  const p = new Partial(true, true);
  for (const s of samples) p.add(s.t, s.v);
  return p;
}

const seriesKeyOf = (i: number) => seriesKey(['__name__', 'm', 'instance', `i${i}`]);

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(a), Math.abs(b));

describe('Partial', () => {
  test('merging the parts of any split equals the whole', () => {
    fc.assert(
      fc.property(
        fc.array(sample, { minLength: 1, maxLength: 60 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 60 }),
        (samples, owners) => {
          const whole = of(samples);
          const parts = [0, 1, 2, 3].map((k) => of(samples.filter((_, i) => (owners[i] ?? 0) === k)));
          const merged = new Partial(false, false);
          for (const p of parts) merged.merge(Partial.fromJSON(JSON.parse(JSON.stringify(p.toJSON()))));
          expect(merged.count).toBe(whole.count);
          expect(close(merged.sum, whole.sum)).toBe(true);
          expect(merged.min === whole.min).toBe(true); // -0 and 0 are the same minimum
          expect(merged.max === whole.max).toBe(true);
          expect(merged.lastT).toBe(whole.lastT);
          expect(close(merged.m2 / merged.count, whole.m2 / whole.count)).toBe(true);
          expect([...merged.values!].sort((a, b) => a - b)).toEqual([...whole.values!].sort((a, b) => a - b));
          expect(new Map([...merged.buckets!].sort())).toEqual(new Map([...whole.buckets!].sort()));
        },
      ),
    );
  });

  test('a moved series counts once however many senders report it, with one rate over its parts', () => {
    // Per series: its parts as (sender, increase, seconds); series 0..n-1 of one group and interval.
    const part = fc.record({
      sender: fc.integer({ min: 0, max: 2 }),
      inc: fc.integer({ min: 0, max: 1000 }),
      sec: fc.integer({ min: 0, max: 60 }),
    });
    fc.assert(
      fc.property(
        fc.array(fc.array(part, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 20 }),
        fc.nat(5),
        (series, stable) => {
          const senders = [0, 1, 2].map(() => new Partial(false, false));
          // Series that did not move add to the sums of one sender, as usual.
          senders[0].series = stable;
          series.forEach((parts, i) => {
            for (const x of parts) senders[x.sender].moverRate(seriesKeyOf(i), x.inc, x.sec);
          });
          const merged = new Partial(false, false);
          for (const p of senders) merged.merge(Partial.fromJSON(JSON.parse(JSON.stringify(p.toJSON()))));
          merged.resolveMovers();
          expect(merged.series).toBe(stable + series.length);
          let rateSum = 0;
          let rateSeries = 0;
          for (const parts of series) {
            const sec = parts.reduce((a, x) => a + x.sec, 0);
            if (sec === 0) continue;
            rateSum += parts.reduce((a, x) => a + x.inc, 0) / sec;
            rateSeries++;
          }
          expect(merged.rateSeries).toBe(rateSeries);
          expect(close(merged.rateSum, rateSum)).toBe(true);
        },
      ),
    );
  });

  test("the variance is the population variance, as PromQL's stdvar_over_time", () => {
    const p = of([2, 4, 4, 4, 5, 5, 7, 9].map((v, t) => ({ t, v })));
    expect(p.m2 / p.count).toBe(4);
  });

  test.each([
    [0, [1, 2, 3]],
    [0.5, [1, 2, 3]],
    [1, [1, 2, 3]],
    [0.25, [1, 2, 3, 4]],
    [0.9, [10]],
  ])('quantileOf(%p) interpolates between ranks as quantile_over_time', (phi, values) => {
    const want = { 0: values[0], 0.5: 2, 1: 3, 0.25: 1.75, 0.9: 10 }[phi as 0 | 0.5 | 1 | 0.25 | 0.9];
    expect(quantileOf(phi, values)).toBe(want);
  });
});

describe('vmrangeOf', () => {
  test.each([
    [1, '8.799e-01...1.000e+00'],
    [1.0001, '1.000e+00...1.136e+00'],
    [20, '1.896e+01...2.154e+01'],
    [0, '0...1.000e-09'],
    [1e-10, '0...1.000e-09'],
    [1e19, '1.000e+18...+Inf'],
  ])('%p falls in %s', (v, range) => expect(vmrangeOf(v)).toBe(range));

  test('negative values and NaN fall in no bucket', () => {
    expect(vmrangeOf(-1)).toBeUndefined();
    expect(vmrangeOf(NaN)).toBeUndefined();
  });

  test('every positive value lies within its bucket, upper bound included', () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-8, max: 1e17, noNaN: true }), (v) => {
        const [lo, hi] = vmrangeOf(v)!.split('...').map(Number);
        // Bounds print with 4 digits: allow their rounding.
        expect(v).toBeGreaterThan(lo * (1 - 1e-3));
        expect(v).toBeLessThanOrEqual(hi * (1 + 1e-3));
      }),
    );
  });
});
