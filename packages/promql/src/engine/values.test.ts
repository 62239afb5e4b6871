import fc from 'fast-check';
import { advance, upperBound } from './values.js';

describe('sample cursors', () => {
  test('advance from any earlier position lands where a binary search does (property)', () => {
    const sortedTimes = fc
      .array(fc.integer({ min: 0, max: 500 }), { maxLength: 200 })
      .map((a) => Float64Array.from(a.sort((x, y) => x - y)));
    fc.assert(
      fc.property(sortedTimes, fc.integer({ min: -10, max: 510 }), fc.nat(), (ts, t, p) => {
        const want = upperBound(ts, t);
        const pos = want === 0 ? 0 : p % (want + 1); // any position not past the answer
        expect(advance(ts, pos, t)).toBe(want);
      }),
    );
  });
});
