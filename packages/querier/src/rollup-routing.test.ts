import { Engine } from '@strata/promql';
import { RollupRoutingExecutor } from './rollup-routing.js';
import type { PromqlExecutor } from './worker-pool.js';

// The rule that keeps rollup-reading queries off the workers (whose stores hand out raw chunks only).
const never: PromqlExecutor = {
  opts: { timeoutMs: 1000 },
  instantQuery: () => Promise.reject(new Error('not used')),
  rangeQuery: () => Promise.reject(new Error('not used')),
};

describe.each([
  // [default resolution, max_source_resolution given, step (undefined: instant), may read rollups]
  ['auto', undefined, undefined, false],
  ['auto', undefined, 60_000, false],
  ['auto', undefined, 24 * 60_000, false],
  ['auto', undefined, 25 * 60_000, true],
  ['auto', undefined, 3_600_000, true],
  ['auto', 0, 3_600_000, false],
  ['auto', 300_000, undefined, true],
  ['auto', 299_999, 3_600_000, false],
  [0, undefined, 3_600_000, false],
  [3_600_000, undefined, undefined, true],
  [3_600_000, 'auto', 60_000, false],
] as const)('default %s, max_source_resolution %s, step %s', (def, given, step, want) => {
  test(`may read rollups: ${want}`, () => {
    const r = new RollupRoutingExecutor(never, new Engine({ defaultResolution: def }));
    expect(r.mayReadRollups(given === undefined ? {} : { maxResolution: given }, step)).toBe(want);
  });
});
