/** Shared by the remote-write tests: random series (fast-check) and a bit-exact batch check. */
import fc from 'fast-check';
import { Labels } from '@strata/model';
import type { SeriesToWrite } from '../src/write-v1.js';
import type { WriteBatch } from '../src/write-batch.js';

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
