import fc from 'fast-check';
import { parse } from '@strata/promql';
import { alignToStep, splitRange, splittable } from './split.js';

const DAY = 86_400_000;

describe('splittable: only a query that reads its own range is left whole', () => {
  test.each([
    ['up', true],
    ['rate(http_requests_total[5m])', true],
    ['sum by (job) (rate(x[5m] offset 1h))', true],
    ['x offset -1h', true],
    ['x @ 1700000000', true],
    ['rate(x[5m] @ 1700000000)', true],
    ['max_over_time(rate(x[5m])[1h:1m])', true],
    ['max_over_time(rate(x[5m])[1h:])', true],
    ['time() - timestamp(x)', true],
    ['absent(x{job="a"})', true],
    ['topk(3, x)', true],
    ['histogram_quantile(0.9, sum by (le) (rate(b[5m])))', true],
    ['x @ start()', false],
    ['x @ end()', false],
    ['rate(x[5m] @ end())', false],
    ['max_over_time(x[1h:1m] @ start())', false],
    ['max_over_time((y @ end())[1h:1m])', false],
    ['sum(x) / on() group_left sum(y @ start())', false],
    ['-(x @ end())', false],
    ['topk(scalar(y @ start()), x)', false],
    ['label_replace(x @ end(), "a", "$1", "b", "(.*)")', false],
    // range() is the query's end - start, which a sub-query would shrink; step() is the same in each.
    ['rate(x[step()*4])', true],
    ['x offset min_of(step(), 1m)', true],
    ['rate(x[range()])', false],
    ['max_over_time(x[1h:min_of(range(), 5m)])', false],
    ['sum(y) / x offset -range()', false],
    // Each step of an anchored or smoothed range reads the same samples whatever the query's range.
    ['sum(increase(x[5m] anchored))', true],
    ['rate(x[5m] smoothed) / rate(y[5m] @ end() smoothed)', false],
  ])('%s -> %s', (q, want) => {
    expect(splittable(parse(q))).toBe(want);
  });
});

describe('splitRange', () => {
  test.each([
    // [start, end, step, interval, expected [start, end, index][]]
    [0, 0, 1000, DAY, [[0, 0, 0]]],
    [
      DAY - 2000,
      DAY + 2000,
      1000,
      DAY,
      [
        [DAY - 2000, DAY - 1000, 0],
        [DAY, DAY + 2000, 1],
      ],
    ],
    // A step that straddles the boundary: the next interval starts at the first grid point after it.
    [
      DAY - 1500,
      DAY + 3000,
      1000,
      DAY,
      [
        [DAY - 1500, DAY - 500, 0],
        [DAY + 500, DAY + 2500, 1],
      ],
    ],
    // end off the grid is clamped to the grid.
    [0, 2500, 1000, DAY, [[0, 2000, 0]]],
    // steps longer than the interval: intervals without a step are skipped.
    [
      0,
      3 * DAY,
      2 * DAY,
      DAY,
      [
        [0, 0, 0],
        [2 * DAY, 2 * DAY, 2],
      ],
    ],
  ])('%d..%d step %d', (start, end, step, interval, want) => {
    expect(splitRange(start, end, step, interval).map((r) => [r.start, r.end, r.index])).toEqual(want);
  });

  test('property: the sub-ranges hold exactly the original steps, each inside its interval, in order', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2_000_000_000_000 }),
        fc.integer({ min: 0, max: 30 * DAY }),
        fc.integer({ min: 1, max: 3 * DAY }),
        fc.constantFrom(DAY, 3_600_000, 7 * DAY, 12_345),
        (start, len, step, interval) => {
          fc.pre(len / step <= 11_000);
          const end = start + len;
          const want: number[] = [];
          for (let t = start; t <= end; t += step) want.push(t);
          const got: number[] = [];
          let prevIndex = -Infinity;
          for (const r of splitRange(start, end, step, interval)) {
            expect(r.index).toBeGreaterThan(prevIndex);
            prevIndex = r.index;
            expect(Math.floor(r.start / interval)).toBe(r.index);
            expect(Math.floor(r.end / interval)).toBe(r.index);
            expect((r.start - start) % step).toBe(0);
            for (let t = r.start; t <= r.end; t += step) got.push(t);
          }
          expect(got).toEqual(want);
        },
      ),
      { numRuns: 300 },
    );
  });
});

test('alignToStep moves start and end down to multiples of the step', () => {
  expect(alignToStep(61_000, 179_000, 60_000)).toEqual({ start: 60_000, end: 120_000 });
  expect(alignToStep(60_000, 180_000, 60_000)).toEqual({ start: 60_000, end: 180_000 });
});
