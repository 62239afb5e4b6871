/**
 * limitk and limit_ratio: per step and group, a subset of the input series with their samples
 * unchanged (histograms included, unlike topk). limitk keeps the first k series of a group in
 * input order; limit_ratio keeps a series when the hash of its labels, as a fraction of 2^64,
 * falls in the ratio's part of [0, 1), so that a series is kept or dropped the same way at every
 * step and by Prometheus, and limit_ratio(r) and limit_ratio(-(1-r)) are complements.
 */
import { StrataError, prometheusLabelsHash } from '@strata/model';
import type { AggregateExpr } from '../ast.js';
import type { Evaluator } from './evaluator.js';
import { groupIndices } from './grouping.js';
import { newStepSeries, setHistogram, type StepSeries, type Value } from './values.js';

const TWO_TO_64 = 2 ** 64;

export function limit(ev: Evaluator, e: AggregateExpr, series: StepSeries[], param: Float64Array): Value {
  if (e.op === 'limitk') {
    if (param.some((x) => Number.isNaN(x))) throw new StrataError('query-execution', 'Parameter value is NaN');
    return select(
      ev,
      series,
      (i) => {
        const k = Math.min(Math.trunc(param[i]), series.length);
        return k < 1 ? undefined : { k };
      },
      e,
    );
  }
  if (param.some((x) => Number.isNaN(x))) throw new StrataError('query-execution', 'Ratio value is NaN');
  const pos = ev.ctx.pos(e.param!.pos);
  let max = -Infinity;
  let min = Infinity;
  for (const r of param) {
    max = Math.max(max, r);
    min = Math.min(min, r);
  }
  if (max > 1) ev.ctx.warnings.add(`PromQL warning: ratio value should be between -1 and 1, got ${max}, capping to 1 ${pos}`);
  if (min < -1) ev.ctx.warnings.add(`PromQL warning: ratio value should be between -1 and 1, got ${min}, capping to -1 ${pos}`);
  let offsets: Float64Array | undefined;
  return select(
    ev,
    series,
    (i) => {
      const r = Math.max(-1, Math.min(1, param[i]));
      if (r === 0) return undefined;
      // Hashed only when some step needs it: XXH64 over bigints is not cheap.
      offsets ??= Float64Array.from(series, (s) => Number(prometheusLabelsHash(s.labels.pairs)) / TWO_TO_64);
      const off = offsets;
      return { keep: (j: number) => (r >= 0 ? off[j] < r : off[j] >= 1 + r) };
    },
    e,
  );
}

/** Per step, `rule` says how many series a group keeps (k) or which ones (keep), or nothing for an empty step. */
function select(
  ev: Evaluator,
  series: StepSeries[],
  rule: (step: number) => { k?: number; keep?: (j: number) => boolean } | undefined,
  e: AggregateExpr,
): Value {
  const { groupOf, groups } = groupIndices(series, e);
  const out = series.map((s) => newStepSeries(s.labels, ev.n, s.dropName));
  const taken = new Int32Array(groups);
  for (let i = 0; i < ev.n; i++) {
    ev.ctx.checkCancelled();
    const r = rule(i);
    if (!r) continue;
    taken.fill(0);
    for (let j = 0; j < series.length; j++) {
      const s = series[j];
      if (!s.present[i]) continue;
      if (r.k !== undefined ? taken[groupOf[j]]++ >= r.k : !r.keep!(j)) continue;
      const h = s.histograms?.[i];
      if (h) setHistogram(out[j], i, h);
      else {
        out[j].values[i] = s.values[i];
        out[j].present[i] = 1;
      }
    }
  }
  return { type: 'vector', series: out.filter((s) => s.present.some((x) => x)) };
}
