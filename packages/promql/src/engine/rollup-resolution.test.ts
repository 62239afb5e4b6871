/** The rollup a range selector may read: windows its range holds enough of for its function. */
import { rangeMaxResolution } from './rollup-resolution.js';

const M5 = 300_000;
const H = 3_600_000;
const D = 24 * H;

test.each<[string, number, number, string | undefined, number]>([
  ['raw only stays raw', 0, H, 'rate', 0],
  ['rate over a range of two 1h windows may read 1h rollups', H, 2 * H, 'rate', H],
  ['rate over 1h with 1h allowed: 5m rollups or raw (one 1h window is one sample)', H, H, 'rate', H / 2],
  ['irate needs two samples too', H, H, 'irate', H / 2],
  ['increase over a day may read 1h rollups, not 1d', D, D, 'increase', D / 2],
  ['max_over_time needs one window', H, H, 'max_over_time', H],
  ['sum_over_time over 5m with 1h allowed: at most 5m rollups', H, M5, 'sum_over_time', M5],
  ['a range longer than needed keeps the query bound', M5, 7 * D, 'rate', M5],
  ['no function (a subquery-free matrix): one window', H, 30 * 60_000, undefined, 30 * 60_000],
])('%s', (_, maxResolution, range, func, want) => {
  expect(rangeMaxResolution(maxResolution, range, func)).toBe(want);
});
