import { cacheKey, type SplitKey } from './results-cache.js';

// An extent holds the steps of one grid: a query whose steps are shifted within the step (start 13 s
// past a minute against on the minute) must never be answered from the other grid's extent.
const base: SplitKey = {
  epoch: 'e',
  tenant: 't',
  query: 'up',
  step: 60_000,
  gridPhase: 0,
  splitIndex: 20_000,
  splitInterval: 86_400_000,
  generation: 0,
};

test.each([
  ['another grid phase', { gridPhase: 13_000 }, false],
  ['the same grid phase', { gridPhase: 0 }, true],
  ['another step', { step: 30_000 }, false],
  ['another split', { splitIndex: 20_001 }, false],
  ['another generation', { generation: 1 }, false],
  ['another tenant', { tenant: 'u' }, false],
] as const)('cache key with %s: same key %s', (_name, change, same) => {
  expect(cacheKey({ ...base, ...change }) === cacheKey(base)).toBe(same);
});
