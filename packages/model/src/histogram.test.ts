import fc from 'fast-check';
import {
  CounterResetHint,
  CUSTOM_BUCKETS_SCHEMA,
  FloatHistogram,
  IncompatibleSchemaError,
  bucketBound,
  commonZeroThreshold,
  exponentialBound,
  targetIndex,
} from './histogram.js';

/** Bucket index → count over both signs, for comparing layouts independent of spans. */
function bucketMap(h: FloatHistogram): Map<string, number> {
  const m = new Map<string, number>();
  for (const b of h.positiveBucketList()) if (b.count !== 0) m.set(`+${b.upper}`, b.count);
  for (const b of h.negativeBucketList()) if (b.count !== 0) m.set(`-${b.lower}`, b.count);
  return m;
}

function close(a: number, b: number): boolean {
  return a === b || Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
}

function sameContent(a: FloatHistogram, b: FloatHistogram): boolean {
  if (a.schema !== b.schema || !close(a.count, b.count) || !close(a.sum, b.sum) || !close(a.zeroCount, b.zeroCount)) return false;
  const ma = bucketMap(a);
  const mb = bucketMap(b);
  for (const [k, v] of ma) if (!close(v, mb.get(k) ?? 0)) return false;
  for (const [k, v] of mb) if (!close(v, ma.get(k) ?? 0)) return false;
  return true;
}

const spansAndBuckets = fc
  .array(
    fc.record({ gap: fc.integer({ min: 0, max: 3 }), counts: fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 1, maxLength: 4 }) }),
    {
      maxLength: 3,
    },
  )
  .chain((parts) =>
    fc.integer({ min: -6, max: 6 }).map((start) => {
      const spans = parts.map((p, i) => ({ offset: i === 0 ? start + p.gap : p.gap, length: p.counts.length }));
      return { spans, buckets: parts.flatMap((p) => p.counts) };
    }),
  );

function total(h: FloatHistogram): number {
  return h.zeroCount + h.positiveBuckets.reduce((a, b) => a + b, 0) + h.negativeBuckets.reduce((a, b) => a + b, 0);
}

const exponential = fc
  .record({
    schema: fc.integer({ min: -2, max: 3 }),
    zeroCount: fc.integer({ min: 0, max: 5 }),
    zt: fc.constantFrom(0, 0.001, 0.5),
    pos: spansAndBuckets,
    neg: spansAndBuckets,
    sum: fc.integer({ min: -100, max: 100 }),
  })
  .map((r) => {
    const h = new FloatHistogram({
      schema: r.schema,
      zeroThreshold: r.zt,
      zeroCount: r.zeroCount,
      sum: r.sum,
      positiveSpans: r.pos.spans,
      positiveBuckets: r.pos.buckets,
      negativeSpans: r.neg.spans,
      negativeBuckets: r.neg.buckets,
    });
    h.count = total(h);
    return h;
  });

describe('bucket bounds', () => {
  test.each([
    [0, 0, 1],
    [1, 0, 2],
    [-1, 0, 0.5],
    [1, 1, Math.SQRT2],
    [2, 1, 2],
    [1, -1, 4],
    [-1, -2, 1 / 16],
    [4, 2, 2],
    [1024, 0, Number.MAX_VALUE],
    [1025, 0, Infinity],
    [2048, 1, Number.MAX_VALUE],
    [256, -2, Number.MAX_VALUE],
  ])('bucket %d of schema %d ends at %d', (idx, schema, want) => {
    if (want > 1e300) expect(exponentialBound(idx, schema)).toBe(want);
    else expect(exponentialBound(idx, schema)).toBeCloseTo(want, 12);
  });

  test('custom bounds: -1 is -Inf, one past the last bound is +Inf', () => {
    expect(bucketBound(-1, CUSTOM_BUCKETS_SCHEMA, [1, 2])).toBe(-Infinity);
    expect(bucketBound(0, CUSTOM_BUCKETS_SCHEMA, [1, 2])).toBe(1);
    expect(bucketBound(2, CUSTOM_BUCKETS_SCHEMA, [1, 2])).toBe(Infinity);
  });

  test('a bucket reduced to a lower schema lies inside its target bucket (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -200, max: 200 }),
        fc.integer({ min: -3, max: 8 }),
        fc.integer({ min: 1, max: 4 }),
        (idx, schema, d) => {
          const t = targetIndex(idx, schema, schema - d);
          expect(exponentialBound(idx, schema)).toBeLessThanOrEqual(exponentialBound(t, schema - d) * (1 + 1e-12));
          expect(exponentialBound(idx - 1, schema)).toBeGreaterThanOrEqual(exponentialBound(t - 1, schema - d) * (1 - 1e-12));
        },
      ),
    );
  });
});

describe('FloatHistogram', () => {
  test('add is commutative (property)', () => {
    fc.assert(
      fc.property(exponential, exponential, (a, b) => {
        const x = a.copy();
        x.add(b);
        const y = b.copy();
        y.add(a);
        expect(sameContent(x.compact(), y.compact())).toBe(true);
      }),
    );
  });

  test('add keeps every observation: counts add up, nothing is lost to the zero bucket or schema change (property)', () => {
    fc.assert(
      fc.property(exponential, exponential, (a, b) => {
        const x = a.copy();
        x.add(b);
        expect(close(total(x), total(a) + total(b))).toBe(true);
        expect(x.count).toBe(a.count + b.count);
        expect(x.schema).toBe(Math.min(a.schema, b.schema));
        expect(x.zeroThreshold).toBe(commonZeroThreshold(a, b));
      }),
    );
  });

  test('sub undoes add for histograms of one schema and zero bucket (property)', () => {
    fc.assert(
      fc.property(exponential, exponential, (a, b0) => {
        const b = b0.copy();
        b.schema = a.schema;
        b.zeroThreshold = a.zeroThreshold;
        const x = a.copy();
        x.add(b);
        if (x.zeroThreshold !== a.zeroThreshold) return; // the zero bucket had to widen: not reversible
        x.sub(b);
        expect(sameContent(x.compact(), a.copy().compact())).toBe(true);
      }),
    );
  });

  test('reduceResolution keeps the total and the sum; compact only drops empty buckets (property)', () => {
    fc.assert(
      fc.property(exponential, fc.integer({ min: 0, max: 3 }), (h, d) => {
        const r = h.copy().reduceResolution(h.schema - d);
        expect(r.schema).toBe(h.schema - d);
        expect(total(r)).toBe(total(h));
        const c = h.copy().compact();
        expect(c.positiveBuckets.every((x) => x !== 0) && c.negativeBuckets.every((x) => x !== 0)).toBe(true);
        expect(sameContent(c, h)).toBe(true);
      }),
    );
  });

  test('mul then div by the same factor gives the histogram back (property)', () => {
    fc.assert(
      fc.property(exponential, fc.integer({ min: 1, max: 1000 }), (h, f) => {
        expect(sameContent(h.copy().mul(f).div(f), h)).toBe(true);
      }),
    );
  });

  test('equals: a copy and a re-spanned copy are equal, a changed count is not (property)', () => {
    fc.assert(
      fc.property(exponential, (h) => {
        expect(h.copy().equals(h)).toBe(true);
        const other = h.copy();
        other.count += 1;
        expect(other.equals(h)).toBe(false);
      }),
    );
  });

  test('detectReset: adding observations is no reset, losing some is (property)', () => {
    fc.assert(
      fc.property(exponential, exponential, (a, b) => {
        const later = a.copy();
        later.add(b);
        // A later sample at a lower schema or with a wider zero bucket can still continue the counter.
        expect(later.detectReset(a)).toBe(false);
        if (total(b) > 0) expect(a.detectReset(later)).toBe(true);
      }),
    );
  });

  test('detectReset follows an explicit hint, and a finer schema is a reset', () => {
    const a = new FloatHistogram({ count: 5, positiveSpans: [{ offset: 0, length: 1 }], positiveBuckets: [5] });
    const b = new FloatHistogram({ count: 1, positiveSpans: [{ offset: 0, length: 1 }], positiveBuckets: [1] });
    expect(b.detectReset(a)).toBe(true);
    b.counterResetHint = CounterResetHint.NotCounterReset;
    expect(b.detectReset(a)).toBe(false);
    const finer = a.copy();
    finer.schema = 1;
    finer.positiveSpans = [{ offset: 0, length: 1 }];
    finer.count = 6;
    finer.positiveBuckets = [6];
    expect(finer.detectReset(a)).toBe(true);
  });

  test('the zero bucket widens to swallow a populated bucket it would cut', () => {
    const a = new FloatHistogram({ zeroThreshold: 1.5, zeroCount: 1, count: 1 });
    // Schema 0: bucket 1 is (1, 2], populated: the common threshold becomes 2.
    const b = new FloatHistogram({ zeroThreshold: 0.001, count: 3, positiveSpans: [{ offset: 1, length: 2 }], positiveBuckets: [2, 1] });
    const x = a.copy();
    x.add(b);
    expect(x.zeroThreshold).toBe(2);
    expect(x.zeroCount).toBe(3);
    expect(x.positiveBucketList().map((q) => [q.upper, q.count])).toEqual([[4, 1]]);
  });

  test('custom buckets: equal bounds add by index; differing bounds reduce to the common ones', () => {
    const a = new FloatHistogram({
      schema: CUSTOM_BUCKETS_SCHEMA,
      customValues: [1, 2, 5],
      count: 6,
      positiveSpans: [{ offset: 0, length: 4 }],
      positiveBuckets: [1, 2, 3, 0],
    });
    const same = a.copy();
    expect(same.add(a)).toEqual({ counterResetCollision: false, customBoundsReconciled: false });
    expect(same.positiveBuckets).toEqual([2, 4, 6, 0]);
    const b = new FloatHistogram({
      schema: CUSTOM_BUCKETS_SCHEMA,
      customValues: [2, 10],
      count: 3,
      positiveSpans: [{ offset: 0, length: 3 }],
      positiveBuckets: [1, 1, 1],
    });
    const x = a.copy();
    expect(x.add(b).customBoundsReconciled).toBe(true);
    expect(x.customValues).toEqual([2]);
    // (-Inf,2]: 1+2 from a, 1 from b; (2,+Inf]: 3 from a, 1+1 from b.
    expect(x.positiveBuckets).toEqual([4, 5]);
    expect(() => x.add(new FloatHistogram())).toThrow(IncompatibleSchemaError);
  });

  test('counter reset hints of a sum: gauge wins, reset against not-reset collides', () => {
    const h = (hint: CounterResetHint) => new FloatHistogram({ counterResetHint: hint });
    const cases: [CounterResetHint, CounterResetHint, CounterResetHint, boolean][] = [
      [CounterResetHint.Gauge, CounterResetHint.CounterReset, CounterResetHint.Gauge, false],
      [CounterResetHint.NotCounterReset, CounterResetHint.Gauge, CounterResetHint.Gauge, false],
      [CounterResetHint.NotCounterReset, CounterResetHint.Unknown, CounterResetHint.Unknown, false],
      [CounterResetHint.CounterReset, CounterResetHint.NotCounterReset, CounterResetHint.Unknown, true],
      [CounterResetHint.CounterReset, CounterResetHint.CounterReset, CounterResetHint.CounterReset, false],
    ];
    for (const [a, b, want, collision] of cases) {
      const x = h(a);
      expect(x.add(h(b)).counterResetCollision).toBe(collision);
      expect(x.counterResetHint).toBe(want);
    }
  });

  test('trimming below and above the same bound splits the observations between the two (property)', () => {
    fc.assert(
      fc.property(exponential, fc.double({ min: -10, max: 10, noNaN: true }), (h, bound) => {
        const below = h.copy().trimBuckets(bound, true);
        const above = h.copy().trimBuckets(bound, false);
        expect(close(below.count + above.count, h.count)).toBe(true);
        expect(h.copy().trimBuckets(Infinity, true).count).toBe(h.count);
        expect(h.copy().trimBuckets(-Infinity, false).count).toBe(h.count);
      }),
    );
  });

  test('allBuckets lists negative, zero and positive buckets from the lowest bound up, clipped at the zero bucket', () => {
    const h = new FloatHistogram({
      zeroThreshold: 0.75,
      zeroCount: 2,
      count: 5,
      positiveSpans: [{ offset: 0, length: 2 }],
      positiveBuckets: [1, 1],
      negativeSpans: [{ offset: 1, length: 1 }],
      negativeBuckets: [1],
    });
    expect(h.allBuckets().map((b) => [b.lower, b.upper, b.count])).toEqual([
      [-2, -1, 1],
      [-0.75, 0.75, 2],
      [0.75, 1, 1],
      [1, 2, 1],
    ]);
  });

  test.each([
    [
      'exponential, both signs, zero bucket (as in count_values)',
      new FloatHistogram({
        sum: 10,
        count: 20,
        zeroThreshold: 0.001,
        zeroCount: 2,
        positiveSpans: [{ offset: 0, length: 2 }],
        positiveBuckets: [1, 2],
        negativeSpans: [{ offset: 0, length: 2 }],
        negativeBuckets: [1, 2],
      }),
      '{count:20, sum:10, [-2,-1):2, [-1,-0.5):1, [-0.001,0.001]:2, (0.5,1]:1, (1,2]:2}',
    ],
    [
      'custom buckets, empty ones left out',
      new FloatHistogram({
        schema: CUSTOM_BUCKETS_SCHEMA,
        customValues: [1, 2],
        sum: 2.5e21,
        count: 3,
        positiveSpans: [{ offset: 0, length: 3 }],
        positiveBuckets: [1, 0, 2],
      }),
      '{count:3, sum:2.5e+21, (-Inf,1]:1, (2,+Inf]:2}',
    ],
  ])('prometheusString: %s', (_name, h, want) => {
    expect(h.prometheusString()).toBe(want);
  });
});
