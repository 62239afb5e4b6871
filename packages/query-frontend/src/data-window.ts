/**
 * Which sample times an expression reads when evaluated at step time t: [t - back, t + forward],
 * plus a fixed interval for parts pinned by an absolute `@`. The results cache uses it twice:
 * a step is cached only once everything it reads is older than the freshness cutoff (negative
 * offsets read the future), and a cached split carries the generations of every time bucket its
 * steps read (an offset of 7d reads last week), so late data anywhere in that range invalidates it.
 */
import { children, rangeModifierReach, type Expr } from '@strata/promql';

export interface DataWindow {
  back: number;
  forward: number;
  /** Sample times read regardless of t (absolute `@`), or null. */
  fixed: { min: number; max: number } | null;
}

const NONE: DataWindow = { back: -Infinity, forward: -Infinity, fixed: null };

function union(a: DataWindow, b: DataWindow): DataWindow {
  let fixed = a.fixed ?? b.fixed;
  if (a.fixed && b.fixed) fixed = { min: Math.min(a.fixed.min, b.fixed.min), max: Math.max(a.fixed.max, b.fixed.max) };
  return { back: Math.max(a.back, b.back), forward: Math.max(a.forward, b.forward), fixed };
}

/** `inner` evaluated at every time in [u - range, u] where u = t - offset, or u = at - offset when pinned. */
function shifted(inner: DataWindow, range: number, offset: number, at: number | null): DataWindow {
  if (inner.back === -Infinity && inner.fixed === null) return NONE;
  const lo = range + inner.back;
  const hi = inner.forward;
  if (at !== null) {
    const u = at - offset;
    const own = inner.back === -Infinity ? null : { min: u - lo, max: u + hi };
    return {
      back: -Infinity,
      forward: -Infinity,
      fixed: own && inner.fixed ? union({ ...NONE, fixed: own }, inner).fixed : (own ?? inner.fixed),
    };
  }
  return { back: offset + lo, forward: hi - offset, fixed: inner.fixed };
}

export function dataWindow(e: Expr, lookbackMs: number, defaultSubqueryStepMs: number): DataWindow {
  switch (e.kind) {
    case 'VectorSelector':
      return shifted({ ...rangeModifierReach(e.rangeModifier, lookbackMs, true), fixed: null }, lookbackMs, e.offset, e.at);
    case 'MatrixSelector': {
      // anchored reads a lookback before the range, smoothed also a lookback after it.
      const reach = rangeModifierReach(e.vectorSelector.rangeModifier, lookbackMs);
      return shifted({ ...reach, fixed: null }, e.range, e.vectorSelector.offset, e.vectorSelector.at);
    }
    case 'SubqueryExpr': {
      const inner = dataWindow(e.expr, lookbackMs, defaultSubqueryStepMs);
      // Inner steps are aligned to multiples of the step: the first one can lie a step earlier.
      const step = e.step > 0 ? e.step : defaultSubqueryStepMs;
      return shifted(inner, e.range + step, e.offset, e.at);
    }
    default:
      return children(e).reduce((w, c) => union(w, dataWindow(c, lookbackMs, defaultSubqueryStepMs)), NONE);
  }
}
