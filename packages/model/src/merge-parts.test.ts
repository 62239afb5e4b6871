/**
 * mergeParts against the plain pairwise merge by timestamp (the first part's sample wins ties):
 * the same samples, value bits included, for random overlapping parts of which some are exact
 * copies of others (RF replicas, a block read from two stores), which are kept once.
 */
import fc from 'fast-check';
import { Labels } from './labels.js';
import { mergeParts, mergeSamples } from './merge.js';
import type { Series } from './storage.js';

const labels = Labels.fromObject({ __name__: 'm' });
const STALE = new Float64Array(new Uint32Array([2, 0x7ff00000]).buffer)[0];

const partArb = fc.uniqueArray(fc.integer({ min: 0, max: 60 }), { minLength: 1, maxLength: 30 }).chain((ts) =>
  fc.array(fc.oneof(fc.double({ noNaN: true }), fc.constant(STALE)), { minLength: ts.length, maxLength: ts.length }).map((vs): Series => {
    const order = ts.map((t, i) => [t, vs[i]] as const).sort((a, b) => a[0] - b[0]);
    return { labels, timestamps: Float64Array.from(order, (x) => x[0]), values: Float64Array.from(order, (x) => x[1]) };
  }),
);

const bits = (s: Series) => ({
  ts: Array.from(s.timestamps),
  vs: Array.from(new Uint32Array(s.values.buffer, s.values.byteOffset, 2 * s.values.length)),
});
const copyOf = (s: Series): Series => ({ labels, timestamps: s.timestamps.slice(), values: s.values.slice() });

test('mergeParts with exact copies among overlapping parts answers as the pairwise merge (property)', () => {
  fc.assert(
    fc.property(fc.array(partArb, { minLength: 1, maxLength: 4 }), fc.array(fc.nat(), { maxLength: 4 }), (parts, dups) => {
      // Copies inserted at random places after their original (so precedence is kept).
      const all = [...parts];
      for (const d of dups) {
        const i = d % all.length;
        all.splice(i + 1 + (d % (all.length - i)), 0, copyOf(all[i]));
      }
      let want = all[0];
      for (let k = 1; k < all.length; k++) want = mergeSamples(want, all[k]);
      expect(bits(mergeParts(all))).toEqual(bits(want));
    }),
    { numRuns: 500 },
  );
});
