/**
 * The coarsest rollup a range selector may read. A rollup holds one sample per window, so a range
 * shorter than the windows gives a function too few samples to answer: `rate(x[1h])` over 1h
 * rollups sees one sample per range and answers nothing (Thanos answers nothing there; its users
 * learn to widen the range). The range selector's select asks instead for rollups whose windows
 * the range holds enough of (two for functions needing two samples, one otherwise); finer rollups
 * or raw data answer it, as the block planner falls back to them.
 */

/** Range functions that need at least two samples in their range. */
const TWO_SAMPLES = new Set([
  'rate',
  'increase',
  'irate',
  'delta',
  'idelta',
  'deriv',
  'predict_linear',
  'resets',
  'changes',
  'double_exponential_smoothing',
  'holt_winters',
]);

/** SelectHints.maxResolution for a range selector of `rangeMs` under `func`, given the query's. */
export function rangeMaxResolution(maxResolution: number, rangeMs: number, func: string | undefined): number {
  if (maxResolution <= 0) return maxResolution;
  const windows = func !== undefined && TWO_SAMPLES.has(func) ? 2 : 1;
  return Math.min(maxResolution, Math.floor(rangeMs / windows));
}
