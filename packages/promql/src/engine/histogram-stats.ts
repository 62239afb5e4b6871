/**
 * Selectors whose histograms only feed histogram_count/sum/avg read them as Prometheus' stats
 * iterator does: count and sum only, with counter resets detected on the fly, so a reset shows
 * up as a "reset" hint (a plain read gives the first sample of a chunk as "unknown").
 */
import { CounterResetHint, FloatHistogram, type Series } from '@strata/model';
import type { Expr, VectorSelector } from '../ast.js';

/** The vector selectors under histogram_count/sum/avg with no subquery or bucket-reading function above them. */
export function statsSelectors(root: Expr): WeakSet<VectorSelector> {
  const out = new WeakSet<VectorSelector>();
  const path: Expr[] = [];
  const visit = (e: Expr): void => {
    if (e.kind === 'VectorSelector') {
      let skip = false;
      for (let k = path.length - 1; k >= 0; k--) {
        const p = path[k];
        // Trimming reads buckets, so does a subquery's counter reset detection.
        if (p.kind === 'SubqueryExpr' || (p.kind === 'BinaryExpr' && (p.op === '</' || p.op === '>/'))) {
          skip = false;
          break;
        }
        if (p.kind === 'Call') {
          if (p.func === 'histogram_count' || p.func === 'histogram_sum' || p.func === 'histogram_avg') skip = true;
          else if (p.func === 'histogram_quantile' || p.func === 'histogram_quantiles' || p.func === 'histogram_fraction') {
            skip = false;
            break;
          }
        }
      }
      if (skip) out.add(e);
      return;
    }
    path.push(e);
    switch (e.kind) {
      case 'ParenExpr':
      case 'UnaryExpr':
      case 'SubqueryExpr':
        visit(e.expr);
        break;
      case 'MatrixSelector':
        visit(e.vectorSelector);
        break;
      case 'Call':
        e.args.forEach(visit);
        break;
      case 'AggregateExpr':
        visit(e.expr);
        if (e.param) visit(e.param);
        break;
      case 'BinaryExpr':
        visit(e.lhs);
        visit(e.rhs);
        break;
    }
    path.pop();
  };
  visit(root);
  return out;
}

/** The series with each histogram reduced to count and sum and its reset hint decided against the previous one. */
export function statsOnly(s: Series): Series {
  const hs = s.histograms;
  if (!hs) return s;
  let last: FloatHistogram | undefined;
  const out = hs.map((h) => {
    if (!h) return undefined;
    let hint = h.counterResetHint;
    if (hint === CounterResetHint.Unknown && last)
      hint = h.detectReset(last) ? CounterResetHint.CounterReset : CounterResetHint.NotCounterReset;
    last = h;
    return new FloatHistogram({ schema: h.schema, count: h.count, sum: h.sum, counterResetHint: hint, customValues: h.customValues });
  });
  return { ...s, histograms: out };
}
