import { parse } from '@strata/promql';
import { dataWindow } from './data-window.js';

const MIN = 60_000;
const LOOKBACK = 5 * MIN;

describe('dataWindow: the sample times a step at t reads, [t - back, t + forward]', () => {
  test.each([
    ['x', LOOKBACK, 0, null],
    ['rate(x[1m])', MIN, 0, null],
    ['x offset -2m', LOOKBACK - 2 * MIN, 2 * MIN, null],
    // anchored reads the newest sample up to a lookback before the range start.
    ['increase(x[1m] anchored)', MIN + LOOKBACK, 0, null],
    // smoothed also interpolates with a sample up to a lookback after the range end.
    ['rate(x[1m] smoothed)', MIN + LOOKBACK, LOOKBACK, null],
    ['rate(x[1m] offset 1m smoothed)', 2 * MIN + LOOKBACK, LOOKBACK - MIN, null],
    ['max_over_time(rate(x[1m] smoothed)[10m:1m])', 11 * MIN + MIN + LOOKBACK, LOOKBACK, null],
    // A smoothed instant selector interpolates towards the next sample, up to a lookback later.
    ['x smoothed', LOOKBACK, LOOKBACK, null],
    ['x offset 1m smoothed', MIN + LOOKBACK, LOOKBACK - MIN, null],
    ['rate(x[1m] @ 600 smoothed)', -Infinity, -Infinity, { min: 10 * MIN - MIN - LOOKBACK, max: 10 * MIN + LOOKBACK }],
  ])('%s: back %d, forward %d, fixed %p', (q, back, forward, fixed) => {
    expect(dataWindow(parse(q), LOOKBACK, MIN)).toEqual({ back, forward, fixed });
  });
});
