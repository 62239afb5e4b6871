/** Shared by the remote-write tests: random series (fast-check) and a bit-exact batch check. */
import fc from 'fast-check';
import { Labels } from '@strata/model';
import type { SeriesToWrite } from '../src/write-v1.js';
import type { WriteBatch } from '../src/write-batch.js';
import type { WireHistogram } from '../src/histogram-table.js';

const STALE = new Float64Array(new Uint32Array([2, 0x7ff00000]).buffer)[0];

const labelStr = fc.string({ minLength: 1, maxLength: 12, unit: fc.constantFrom('a', 'b', '_', 'é', '😀', '1', '.') });

export const seriesArb: fc.Arbitrary<SeriesToWrite> = fc
  .record({
    labels: fc.uniqueArray(fc.tuple(labelStr, labelStr), { selector: (t) => t[0], minLength: 1, maxLength: 6 }),
    samples: fc.array(fc.tuple(fc.integer({ min: -2e12, max: 4e12 }), fc.oneof(fc.double(), fc.constant(STALE), fc.constant(-0))), {
      maxLength: 5,
    }),
  })
  .map(({ labels, samples }) => {
    // Values live in a typed array: V8 may quiet NaN payloads held in plain JS arrays.
    const values = new Float64Array(samples.length);
    samples.forEach((s, i) => (values[i] = s[1]));
    return { labels: Labels.fromPairs(labels.flat()), timestamps: samples.map((s) => s[0]), values };
  });

const spansArb = fc.array(fc.record({ offset: fc.integer({ min: -20, max: 20 }), length: fc.integer({ min: 0, max: 5 }) }), {
  maxLength: 3,
});

/**
 * Histograms as the wire can carry them, valid or not (decoding does not validate): integer ones
 * with bucket deltas, float ones with absolute counts, every schema the message can name.
 */
export const wireHistogramArb: fc.Arbitrary<WireHistogram> = fc
  .record({
    t: fc.integer({ min: -2e12, max: 4e12 }),
    float: fc.boolean(),
    schema: fc.oneof(fc.integer({ min: -4, max: 8 }), fc.constant(-53), fc.integer({ min: -60, max: 60 })),
    zeroThreshold: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1, noNaN: true })),
    resetHint: fc.integer({ min: 0, max: 3 }),
    sum: fc.oneof(fc.double(), fc.constant(STALE)),
    positiveSpans: spansArb,
    negativeSpans: spansArb,
    ints: fc.array(fc.integer({ min: -1e6, max: 1e6 }), { maxLength: 12 }),
    floats: fc.array(fc.double({ noNaN: true }), { maxLength: 12 }),
    count: fc.nat(1e9),
    zeroCount: fc.nat(1e6),
    customValues: fc.array(fc.double({ noNaN: true }), { maxLength: 4 }),
  })
  .map((r) => {
    const buckets = r.float ? r.floats : r.ints;
    const half = buckets.length >>> 1;
    return {
      t: r.t,
      float: r.float,
      schema: r.schema,
      zeroThreshold: r.zeroThreshold,
      zeroCount: r.float ? r.zeroCount / 4 : r.zeroCount,
      count: r.float ? r.count / 8 : r.count,
      sum: r.sum,
      resetHint: r.resetHint,
      positiveSpans: r.positiveSpans,
      positiveBuckets: buckets.slice(0, half),
      negativeSpans: r.negativeSpans,
      negativeBuckets: buckets.slice(half),
      customValues: r.customValues,
    };
  });

/** Series with native histograms besides (or instead of) float samples. */
export const seriesWithHistogramsArb: fc.Arbitrary<SeriesToWrite> = fc
  .tuple(seriesArb, fc.array(wireHistogramArb, { maxLength: 3 }))
  .map(([s, histograms]) => ({ ...s, histograms }));

function valueBits(v: number): string {
  const f = new Float64Array(1);
  f[0] = v; // not via an array literal, which may quiet a NaN payload
  return Buffer.from(f.buffer).toString('hex');
}

/** The batch holds exactly these series: labels, timestamps and value bits (staleness markers, -0). */
export function expectBatchOf(batch: WriteBatch, series: SeriesToWrite[]): void {
  expect(batch.series.length).toBe(series.length);
  series.forEach((s, i) => {
    const got = batch.series[i];
    expect(batch.labelsOf(got)).toEqual(s.labels.pairs);
    expect(got.sampleEnd - got.sampleStart).toBe(s.timestamps.length);
    for (let k = 0; k < s.timestamps.length; k++) {
      expect(batch.timestamps[got.sampleStart + k]).toBe(s.timestamps[k]);
      expect(valueBits(batch.values[got.sampleStart + k])).toBe(valueBits(s.values[k] as number));
    }
    const hs = s.histograms ?? [];
    expect(got.histograms).toBe(hs.length);
    hs.forEach((h, k) => {
      const row = batch.histogramRows!.get(got.histogramStart! + k);
      expect(valueBits(row.sum)).toBe(valueBits(h.sum));
      expect({ ...row, sum: 0 }).toEqual({ ...h, sum: 0 });
    });
  });
}

/** Runs f; any error it throws must be a StrataError (never a RangeError from a bad offset). */
export function failsOnlyWith(errorClass: new (...a: never[]) => Error, f: () => unknown): void {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(errorClass);
  }
}
