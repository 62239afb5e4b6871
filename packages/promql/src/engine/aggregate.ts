/** Aggregation operators, evaluated per step over groups computed once per series. */
import { IncompatibleSchemaError, Labels, LabelsBuilder, METRIC_NAME, StrataError, pace, type FloatHistogram } from '@strata/model';
import type { AggregateExpr } from '../ast.js';
import type { Evaluator } from './evaluator.js';
import { formatFloat, kahanIncAt, MeanAccumulator, quantile } from './math.js';
import { groupIndices, groupLabels } from './grouping.js';
import { goQuoteBytes, isValidUtf8, unquoteBytes } from '../parser/literals.js';
import { limit } from './limit.js';
import { HistogramSum } from './native-histogram.js';
import { newStepSeries, outputLabels, setHistogram, type StepSeries, type Value } from './values.js';

export async function evalAggregate(ev: Evaluator, e: AggregateExpr): Promise<Value> {
  let param: Float64Array | undefined;
  let labelParam = '';
  if (e.param) {
    const p = await ev.eval(e.param);
    if (p.type === 'scalar') param = p.values;
    else if (p.type === 'string') labelParam = p.value;
  }
  // Prometheus 3 groups by the labels as they are, __name__ included even when it is still to
  // be dropped; a group inherits the pending drop from any of its members.
  const series = (await ev.evalVector(e.expr)).series;
  if (e.op === 'topk' || e.op === 'bottomk') return topk(ev, e, series, param!);
  if (e.op === 'count_values') {
    checkValueLabel(ev, e, labelParam);
    return countValues(ev, e, series, labelParam);
  }
  if (e.op === 'limitk' || e.op === 'limit_ratio') return limit(ev, e, series, param!);

  const groupOf: number[] = [];
  const groups: Labels[] = [];
  const keyIndex = new Map<string, number>();
  for (const s of series) {
    const y = pace();
    if (y) await y;
    const g = groupLabels(s.labels, e);
    const k = g.key();
    let gi = keyIndex.get(k);
    if (gi === undefined) {
      gi = groups.length;
      groups.push(g);
      keyIndex.set(k, gi);
    }
    groupOf.push(gi);
  }
  const out = groups.map((g) => newStepSeries(g, ev.n));
  series.forEach((s, j) => {
    if (s.dropName && out[groupOf[j]].labels.has(METRIC_NAME)) out[groupOf[j]].dropName = true;
  });
  const G = groups.length;
  const sum = new Float64Array(G);
  const comp = new Float64Array(G);
  const cnt = new Float64Array(G);
  const mean = new Float64Array(G);
  const vals: number[][] = e.op === 'quantile' ? groups.map(() => []) : [];
  const means = e.op === 'avg' ? groups.map(() => new MeanAccumulator()) : [];
  if (e.op === 'quantile') {
    for (const q of param!) {
      if (!(q >= 0 && q <= 1)) {
        ev.ctx.warnings.add(
          `PromQL warning: quantile value should be between 0 and 1, got ${Number.isNaN(q) ? 'NaN' : q} ${ev.ctx.pos(e.param!.pos)}`,
        );
        break;
      }
    }
  }
  // Histogram samples take their own path, only when the input has any: floats stay as they were.
  const withHistograms = series.some((s) => s.histograms);
  const hsum: (HistogramSum | undefined)[] = withHistograms ? new Array(G) : [];
  const hcnt = withHistograms ? new Float64Array(G) : new Float64Array(0);
  const hbad = withHistograms ? new Uint8Array(G) : new Uint8Array(0);
  const exprPos = ev.ctx.pos(e.expr.pos);
  for (let i = 0; i < ev.n; i++) {
    ev.ctx.checkCancelled();
    const y = pace();
    if (y) await y;
    if (withHistograms) {
      hsum.fill(undefined);
      hcnt.fill(0);
      hbad.fill(0);
    }
    sum.fill(0);
    comp.fill(0);
    cnt.fill(0);
    mean.fill(0);
    for (const v of vals) v.length = 0;
    for (let g = 0; g < means.length; g++) means[g] = new MeanAccumulator();
    for (let j = 0; j < series.length; j++) {
      const s = series[j];
      if (!s.present[i]) continue;
      const g = groupOf[j];
      if (withHistograms) {
        const h = s.histograms?.[i];
        if (h) {
          aggregateHistogram(ev, e, exprPos, g, h, s, hsum, hcnt, hbad);
          continue;
        }
      }
      const x = s.values[i];
      const c = ++cnt[g];
      switch (e.op) {
        case 'sum':
        case 'avg': {
          // Kahan-Neumaier summation, as Prometheus, so sums of large and small values stay exact.
          kahanIncAt(sum, comp, g, x);
          if (e.op === 'avg') means[g].add(x);
          break;
        }
        case 'min':
          if (c === 1 || sum[g] > x || Number.isNaN(sum[g])) sum[g] = x;
          break;
        case 'max':
          if (c === 1 || sum[g] < x || Number.isNaN(sum[g])) sum[g] = x;
          break;
        case 'stddev':
        case 'stdvar': {
          const delta = x - mean[g];
          mean[g] += delta / c;
          sum[g] += delta * (x - mean[g]);
          break;
        }
        case 'quantile':
          vals[g].push(x);
          break;
      }
    }
    for (let g = 0; g < G; g++) {
      if (withHistograms && hcnt[g] > 0) {
        if (e.op === 'count' || e.op === 'group') {
          out[g].values[i] = e.op === 'count' ? cnt[g] + hcnt[g] : 1;
          out[g].present[i] = 1;
          continue;
        }
        if (e.op === 'sum' || e.op === 'avg') {
          if (cnt[g] > 0) {
            ev.ctx.warnings.add(`PromQL warning: encountered a mix of histograms and floats for aggregation ${exprPos}`);
            continue;
          }
          const h = e.op === 'avg' ? hsum[g]?.mean() : hsum[g]?.result();
          if (hbad[g] || !h) continue;
          setHistogram(out[g], i, h.compact());
          continue;
        }
      }
      if (cnt[g] === 0) continue;
      let v: number;
      switch (e.op) {
        case 'sum':
          v = sum[g] + comp[g];
          break;
        case 'avg':
          v = means[g].value();
          break;
        case 'count':
          v = cnt[g];
          break;
        case 'group':
          v = 1;
          break;
        case 'min':
        case 'max':
          v = sum[g];
          break;
        case 'stddev':
          v = Math.sqrt(sum[g] / cnt[g]);
          break;
        case 'stdvar':
          v = sum[g] / cnt[g];
          break;
        case 'quantile':
          v = quantile(param![i], vals[g]);
          break;
        default:
          throw new StrataError('query-execution', `unknown aggregation ${e.op}`);
      }
      out[g].values[i] = v;
      out[g].present[i] = 1;
    }
  }
  return { type: 'vector', series: out.filter((s) => s.present.some((x) => x)) };
}

/** Adds one histogram sample to its group's sum (sum, avg), or notes that the aggregation ignores it. */
function aggregateHistogram(
  ev: Evaluator,
  e: AggregateExpr,
  pos: string,
  g: number,
  h: FloatHistogram,
  s: StepSeries,
  hsum: (HistogramSum | undefined)[],
  hcnt: Float64Array,
  hbad: Uint8Array,
): void {
  switch (e.op) {
    case 'count':
    case 'group':
      hcnt[g]++;
      return;
    case 'sum':
    case 'avg': {
      hcnt[g]++;
      if (hbad[g]) return;
      const acc = (hsum[g] ??= new HistogramSum(e.op === 'avg'));
      try {
        const r = acc.add(h);
        if (!r) return;
        if (r.counterResetCollision) ev.ctx.warnings.add(`PromQL warning: conflicting counter resets during histogram aggregation ${pos}`);
        if (r.customBoundsReconciled) ev.ctx.infos.add(`PromQL info: mismatched custom buckets were reconciled during aggregation ${pos}`);
      } catch (err) {
        if (!(err instanceof IncompatibleSchemaError)) throw err;
        hbad[g] = 1;
        ev.ctx.warnings.add(
          `PromQL warning: vector contains a mix of histograms with exponential and custom buckets schemas for metric name ${JSON.stringify(s.labels.get(METRIC_NAME))} ${pos}`,
        );
      }
      return;
    }
    default:
      ev.ctx.infos.add(`PromQL info: ignored histogram in ${e.op} aggregation ${pos}`);
  }
}

function topk(ev: Evaluator, e: AggregateExpr, series: StepSeries[], param: Float64Array): Value {
  // Groups are computed once; per step each group keeps only its best k (a small sorted array),
  // so a step costs O(series x k) instead of sorting every series.
  const { groupOf, groups } = groupIndices(series, e);
  const out = series.map((s) => newStepSeries(s.labels, ev.n, s.dropName));
  const top = e.op === 'topk';
  // "a ranks before b": larger first for topk, smaller first for bottomk; NaN always last.
  const before = (a: number, b: number): boolean => {
    if (Number.isNaN(b)) return !Number.isNaN(a);
    if (Number.isNaN(a)) return false;
    return top ? a > b : a < b;
  };
  const best: number[][] = Array.from({ length: groups }, () => []);
  for (let i = 0; i < ev.n; i++) {
    ev.ctx.checkCancelled();
    const k = param[i];
    if (Number.isNaN(k)) throw new StrataError('query-execution', 'Parameter value is NaN');
    const kk = Math.min(Math.floor(k), series.length);
    if (kk < 1) continue;
    for (const b of best) b.length = 0;
    for (let j = 0; j < series.length; j++) {
      if (!series[j].present[i]) continue;
      if (series[j].histograms?.[i]) {
        ev.ctx.infos.add(`PromQL info: ignored histogram in ${e.op} aggregation ${ev.ctx.pos(e.expr.pos)}`);
        continue;
      }
      const list = best[groupOf[j]];
      const v = series[j].values[i];
      if (list.length === kk && !before(v, series[list[kk - 1]].values[i])) continue;
      let pos = list.length === kk ? kk - 1 : list.length;
      if (list.length < kk) list.push(j);
      while (pos > 0 && before(v, series[list[pos - 1]].values[i])) {
        list[pos] = list[pos - 1];
        pos--;
      }
      list[pos] = j;
    }
    for (const list of best) {
      for (const j of list) {
        out[j].values[i] = series[j].values[i];
        out[j].present[i] = 1;
      }
    }
  }
  return { type: 'vector', series: out.filter((s) => s.present.some((x) => x)) };
}

/**
 * count_values' label must be a valid label name: any UTF-8 but the empty string. A literal's
 * bytes are looked at, since its text here has invalid UTF-8 already replaced.
 */
function checkValueLabel(ev: Evaluator, e: AggregateExpr, label: string): void {
  let p = e.param!;
  while (p.kind === 'ParenExpr') p = p.expr;
  // Without the query text (an expression given as a tree) the decoded value is all there is.
  const lit = p.kind === 'StringLiteral' ? ev.ctx.query.slice(p.pos.start, p.pos.end) : '';
  let bytes: Uint8Array = Buffer.from(label, 'utf8');
  try {
    if (/^["'`]/.test(lit)) bytes = unquoteBytes(lit);
  } catch {
    // Text that does not match the tree: keep the decoded value.
  }
  if (bytes.length === 0 || !isValidUtf8(bytes)) throw new StrataError('query-execution', `invalid label name ${goQuoteBytes(bytes)}`);
}

function countValues(ev: Evaluator, e: AggregateExpr, series: StepSeries[], label: string): Value {
  const results = new Map<string, StepSeries>();
  for (let i = 0; i < ev.n; i++) {
    for (const s of series) {
      if (!s.present[i]) continue;
      // A histogram counts under Prometheus' text of it, floats under their shortest decimal form.
      const h = s.histograms?.[i];
      const value = h ? h.prometheusString() : formatFloat(s.values[i]);
      const labels = new LabelsBuilder(groupLabels(outputLabels(s), e)).set(label, value).labels();
      const k = labels.key();
      let r = results.get(k);
      if (!r) {
        r = newStepSeries(labels, ev.n);
        results.set(k, r);
      }
      r.values[i] = (r.present[i] ? r.values[i] : 0) + 1;
      r.present[i] = 1;
    }
  }
  return { type: 'vector', series: [...results.values()] };
}
