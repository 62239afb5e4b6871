import fc from 'fast-check';
import { FloatHistogram } from './histogram.js';
import { Labels } from './labels.js';
import { mergeParts } from './merge.js';
import type { Series } from './storage.js';

const labels = Labels.fromPairs(['__name__', 'h']);

/** A part whose samples at the given times are histograms (count = time) or floats (value = time). */
function part(times: number[], histogram: (t: number) => boolean): Series {
  const ts = Float64Array.from(times);
  const hs = times.map((t) => (histogram(t) ? new FloatHistogram({ count: t }) : undefined));
  return { labels, timestamps: ts, values: Float64Array.from(times), ...(hs.some((h) => h) ? { histograms: hs } : {}) };
}

describe('merging series with histogram samples', () => {
  test('every merged sample keeps its histogram, for disjoint and overlapping parts (property)', () => {
    const times = fc.uniqueArray(fc.integer({ min: 0, max: 200 }), { maxLength: 20 }).map((l) => l.sort((a, b) => a - b));
    fc.assert(
      fc.property(fc.array(times, { minLength: 2, maxLength: 4 }), fc.integer({ min: 2, max: 5 }), (lists, mod) => {
        const isH = (t: number) => t % mod === 0;
        const merged = mergeParts(lists.map((l) => part(l, isH)));
        for (let k = 0; k < merged.timestamps.length; k++) {
          const t = merged.timestamps[k];
          const h = merged.histograms?.[k];
          if (isH(t)) expect(h?.count).toBe(t);
          else expect(h).toBeUndefined();
        }
        expect(new Set(lists.flat()).size).toBe(merged.timestamps.length);
      }),
    );
  });

  test('float-only parts merge without a histogram array', () => {
    const merged = mergeParts([part([1, 2], () => false), part([2, 3], () => false)]);
    expect(merged.histograms).toBeUndefined();
    expect(Array.from(merged.timestamps)).toEqual([1, 2, 3]);
  });
});
