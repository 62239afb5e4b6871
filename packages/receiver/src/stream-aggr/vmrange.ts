/**
 * VictoriaMetrics' histogram buckets (the `vmrange` label of histogram_bucket outputs): 18
 * log-spaced buckets per power of ten from 1e-9 to 1e18, each closed at its upper bound, plus one
 * bucket below and one above that range. Negative values and NaN fall in no bucket, as there.
 */
const PER_DECADE = 18;
const E10_MIN = -9;
const E10_MAX = 18;
const BUCKETS = (E10_MAX - E10_MIN) * PER_DECADE;
const LOWER = `0...${goExp(10 ** E10_MIN)}`;
const UPPER = `${goExp(10 ** E10_MAX)}...+Inf`;

/** Labels by bucket index, built on first use. */
const labels: string[] = [];

export function vmrangeOf(v: number): string | undefined {
  if (!(v >= 0)) return undefined;
  const pos = (Math.log10(v) - E10_MIN) * PER_DECADE;
  if (pos <= 0) return LOWER;
  if (pos > BUCKETS) return UPPER;
  let idx = Math.floor(pos);
  // A value on a bound belongs to the bucket below it (buckets are closed above).
  if (idx === pos) idx--;
  return (labels[idx] ??= `${goExp(bound(idx))}...${goExp(bound(idx + 1))}`);
}

/** The lower bound of bucket idx, computed from the decade so that decade bounds are exact powers of ten. */
function bound(idx: number): number {
  const decade = Math.floor(idx / PER_DECADE);
  const step = idx - decade * PER_DECADE;
  return Number(`1e${E10_MIN + decade}`) * 10 ** (step / PER_DECADE);
}

/** Go's %.3e: `1.000e+00`, `1.136e-09` (two exponent digits at least). */
function goExp(v: number): string {
  const [m, e] = v.toExponential(3).split('e');
  const n = Number(e);
  return `${m}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
}
