/** PromQL functions. Range functions cut each series' samples into (t - range, t] per step. */
import {
  Labels,
  LabelsBuilder,
  METRIC_NAME,
  StrataError,
  compileRegex,
  pace,
  type CompiledRegex,
  type FloatHistogram,
  type RegexGroups,
  type RollupSamples,
} from '@strata/model';
import type { Call, Expr, VectorSelector } from '../ast.js';
import { anchoredFrom, checkRangeModifier, extendedRate, rangeModifierReach } from './extended-range.js';
import type { Evaluator } from './evaluator.js';
import { histogramFraction, histogramQuantile, histogramQuantiles } from './histogram.js';
import { kahanInc, MeanAccumulator, quantile } from './math.js';
import {
  ANY_SAMPLE_WINDOWS,
  HISTOGRAM_WINDOWS,
  anchoredHistogramRate,
  smoothedHistogramRate,
  type HistogramWindowContext,
} from './histogram-range.js';
import { nativeVariance } from './native-histogram.js';
import { evalInfo } from './info.js';
import { isStale } from './stale.js';
import { advance, newStepSeries, setHistogram, upperBound, type MatrixValue, type StepSeries, type Value } from './values.js';

/** t: the window's end (after @ and offset); stepT: the step being evaluated. */
type Window = (
  ts: Float64Array,
  vs: Float64Array,
  from: number,
  to: number,
  t: number,
  range: number,
  args: number[],
  stepT: number,
) => number | undefined;

const SIMPLE_MATH: Record<string, (x: number) => number> = {
  abs: Math.abs,
  ceil: Math.ceil,
  floor: Math.floor,
  exp: Math.exp,
  sqrt: Math.sqrt,
  ln: Math.log,
  log2: Math.log2,
  log10: Math.log10,
  sin: Math.sin,
  cos: Math.cos,
  tan: Math.tan,
  asin: Math.asin,
  acos: Math.acos,
  atan: Math.atan,
  sinh: Math.sinh,
  cosh: Math.cosh,
  tanh: Math.tanh,
  asinh: Math.asinh,
  acosh: Math.acosh,
  atanh: Math.atanh,
  deg: (x) => (x * 180) / Math.PI,
  rad: (x) => (x * Math.PI) / 180,
  sgn: (x) => (x > 0 ? 1 : x < 0 ? -1 : x),
};

const DATE_FUNCS: Record<string, (d: Date) => number> = {
  minute: (d) => d.getUTCMinutes(),
  hour: (d) => d.getUTCHours(),
  day_of_week: (d) => d.getUTCDay(),
  day_of_month: (d) => d.getUTCDate(),
  day_of_year: (d) =>
    Math.floor((Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1,
  days_in_month: (d) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate(),
  month: (d) => d.getUTCMonth() + 1,
  year: (d) => d.getUTCFullYear(),
};

function kahanSum(vs: Float64Array, from: number, to: number): number {
  let sum = 0;
  let c = 0;
  for (let i = from; i < to; i++) [sum, c] = kahanInc(vs[i], sum, c);
  return sum + c;
}

function variance(vs: Float64Array, from: number, to: number): number {
  let mean = 0;
  let m2 = 0;
  let n = 0;
  for (let i = from; i < to; i++) {
    n++;
    const d = vs[i] - mean;
    mean += d / n;
    m2 += d * (vs[i] - mean);
  }
  return m2 / n;
}

function extrapolatedRate(
  ts: Float64Array,
  vs: Float64Array,
  from: number,
  to: number,
  t: number,
  range: number,
  isCounter: boolean,
  isRate: boolean,
): number | undefined {
  const n = to - from;
  if (n < 2) return undefined;
  const rangeStart = t - range;
  const firstT = ts[from];
  const lastT = ts[to - 1];
  let result = vs[to - 1] - vs[from];
  if (isCounter) {
    for (let i = from + 1; i < to; i++) if (vs[i] < vs[i - 1]) result += vs[i - 1];
  }
  let durationToStart = (firstT - rangeStart) / 1000;
  let durationToEnd = (t - lastT) / 1000;
  const sampled = (lastT - firstT) / 1000;
  const avgBetween = sampled / (n - 1);
  // Extrapolate to the window's edges only when the data reaches close to them; otherwise by
  // half a sample interval. A counter is never extrapolated below zero.
  const threshold = avgBetween * 1.1;
  if (durationToStart >= threshold) durationToStart = avgBetween / 2;
  if (isCounter && result > 0 && vs[from] >= 0) {
    const durationToZero = sampled * (vs[from] / result);
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }
  if (durationToEnd >= threshold) durationToEnd = avgBetween / 2;
  let factor = (sampled + durationToStart + durationToEnd) / sampled;
  if (isRate) factor /= range / 1000;
  return result * factor;
}

function linearRegression(
  ts: Float64Array,
  vs: Float64Array,
  from: number,
  to: number,
  interceptTime: number,
): [slope: number, intercept: number] | undefined {
  const n = to - from;
  if (n < 2) return undefined;
  let sumX = 0,
    cX = 0,
    sumY = 0,
    cY = 0,
    sumXY = 0,
    cXY = 0,
    sumX2 = 0,
    cX2 = 0;
  const add = (s: number, c: number, x: number): [number, number] => kahanInc(x, s, c);
  let constY = true;
  const y0 = vs[from];
  for (let i = from; i < to; i++) {
    if (vs[i] !== y0) constY = false;
    const x = (ts[i] - interceptTime) / 1000;
    [sumX, cX] = add(sumX, cX, x);
    [sumY, cY] = add(sumY, cY, vs[i]);
    [sumXY, cXY] = add(sumXY, cXY, x * vs[i]);
    [sumX2, cX2] = add(sumX2, cX2, x * x);
  }
  if (constY && Number.isFinite(y0)) return [0, y0];
  sumX += cX;
  sumY += cY;
  sumXY += cXY;
  sumX2 += cX2;
  const covXY = sumXY - (sumX * sumY) / n;
  const varX = sumX2 - (sumX * sumX) / n;
  const slope = covXY / varX;
  const intercept = sumY / n - (slope * sumX) / n;
  return [slope, intercept];
}

const RANGE_FUNCS: Record<string, Window> = {
  rate: (ts, vs, f, t2, t, r) => extrapolatedRate(ts, vs, f, t2, t, r, true, true),
  increase: (ts, vs, f, t2, t, r) => extrapolatedRate(ts, vs, f, t2, t, r, true, false),
  delta: (ts, vs, f, t2, t, r) => extrapolatedRate(ts, vs, f, t2, t, r, false, false),
  irate: (ts, vs, f, to) => {
    if (to - f < 2) return undefined;
    const dt = (ts[to - 1] - ts[to - 2]) / 1000;
    if (dt === 0) return undefined;
    const last = vs[to - 1];
    const prev = vs[to - 2];
    return (last < prev ? last : last - prev) / dt;
  },
  idelta: (ts, vs, f, to) => (to - f < 2 ? undefined : vs[to - 1] - vs[to - 2]),
  avg_over_time: (ts, vs, f, to) => {
    const a = new MeanAccumulator();
    for (let i = f; i < to; i++) a.add(vs[i]);
    return a.value();
  },
  sum_over_time: (ts, vs, f, to) => kahanSum(vs, f, to),
  count_over_time: (ts, vs, f, to) => to - f,
  min_over_time: (ts, vs, f, to) => {
    let m = vs[f];
    for (let i = f + 1; i < to; i++) if (vs[i] < m || Number.isNaN(m)) m = vs[i];
    return m;
  },
  max_over_time: (ts, vs, f, to) => {
    let m = vs[f];
    for (let i = f + 1; i < to; i++) if (vs[i] > m || Number.isNaN(m)) m = vs[i];
    return m;
  },
  last_over_time: (ts, vs, f, to) => vs[to - 1],
  first_over_time: (ts, vs, f) => vs[f],
  ts_of_first_over_time: (ts, vs, f) => ts[f] / 1000,
  ts_of_last_over_time: (ts, vs, f, to) => ts[to - 1] / 1000,
  ts_of_max_over_time: (ts, vs, f, to) => {
    let m = f;
    for (let i = f + 1; i < to; i++) if (vs[i] >= vs[m] || Number.isNaN(vs[m])) m = i;
    return ts[m] / 1000;
  },
  ts_of_min_over_time: (ts, vs, f, to) => {
    let m = f;
    for (let i = f + 1; i < to; i++) if (vs[i] <= vs[m] || Number.isNaN(vs[m])) m = i;
    return ts[m] / 1000;
  },
  present_over_time: () => 1,
  stddev_over_time: (ts, vs, f, to) => Math.sqrt(variance(vs, f, to)),
  stdvar_over_time: (ts, vs, f, to) => variance(vs, f, to),
  quantile_over_time: (ts, vs, f, to, t, r, args) => quantile(args[0], Array.from(vs.subarray(f, to))),
  mad_over_time: (ts, vs, f, to) => {
    const values = Array.from(vs.subarray(f, to));
    // A NaN makes the deviation undefined rather than being silently sorted away.
    if (values.some((x) => Number.isNaN(x))) return NaN;
    const med = quantile(0.5, values);
    return quantile(
      0.5,
      values.map((x) => Math.abs(x - med)),
    );
  },
  changes: (ts, vs, f, to) => {
    let c = 0;
    for (let i = f + 1; i < to; i++) {
      const a = vs[i - 1];
      const b = vs[i];
      if (a !== b && !(Number.isNaN(a) && Number.isNaN(b))) c++;
    }
    return c;
  },
  resets: (ts, vs, f, to) => {
    let c = 0;
    for (let i = f + 1; i < to; i++) if (vs[i] < vs[i - 1]) c++;
    return c;
  },
  deriv: (ts, vs, f, to) => linearRegression(ts, vs, f, to, ts[f])?.[0],
  predict_linear: (ts, vs, f, to, t, r, args, stepT) => {
    // Prometheus predicts from the evaluation time, which differs from the window end under @.
    const lr = linearRegression(ts, vs, f, to, stepT);
    return lr === undefined ? undefined : lr[0] * args[0] + lr[1];
  },
  double_exponential_smoothing: (ts, vs, f, to, t, r, args) => {
    const [sf, tf] = args;
    if (!(sf > 0 && sf < 1)) throw new StrataError('query-execution', `invalid smoothing factor. Expected: 0 < sf < 1, got: ${sf}`);
    if (!(tf > 0 && tf < 1)) throw new StrataError('query-execution', `invalid trend factor. Expected: 0 < tf < 1, got: ${tf}`);
    const n = to - f;
    if (n < 2) return undefined;
    let s1 = vs[f];
    let b = vs[f + 1] - vs[f];
    let s0 = 0;
    for (let i = 1; i < n; i++) {
      const x = vs[f + i];
      if (i > 1) b = tf * (s1 - s0) + (1 - tf) * b;
      s0 = s1;
      s1 = sf * x + (1 - sf) * (s0 + b);
    }
    return s1;
  },
};
RANGE_FUNCS.holt_winters = RANGE_FUNCS.double_exponential_smoothing;

/** Range functions whose result keeps the metric name. */
const KEEPS_NAME = new Set(['last_over_time', 'first_over_time']);
const COUNTER_FUNCS = new Set(['rate', 'increase', 'irate', 'resets']);

export async function evalCall(ev: Evaluator, e: Call): Promise<Value> {
  const f = e.func;
  const n = ev.n;
  for (const a of e.args)
    if (a.kind === 'MatrixSelector' && a.vectorSelector.rangeModifier) checkRangeModifier(f, a.vectorSelector.rangeModifier);
  if (RANGE_FUNCS[f]) return rangeFunction(ev, e);
  if (SIMPLE_MATH[f]) return mapVector(ev, await ev.evalVector(e.args[0]), SIMPLE_MATH[f]);
  if (HISTOGRAM_STATS[f]) return histogramStat(await ev.evalVector(e.args[0]), n, HISTOGRAM_STATS[f]);
  switch (f) {
    case 'time':
      return { type: 'scalar', values: ev.steps.map((t) => t / 1000) };
    case 'pi':
      return { type: 'scalar', values: new Float64Array(n).fill(Math.PI) };
    case 'step':
      return { type: 'scalar', values: new Float64Array(n).fill(ev.ctx.queryStep / 1000) };
    case 'range':
      return { type: 'scalar', values: new Float64Array(n).fill((ev.ctx.queryEnd - ev.ctx.queryStart) / 1000) };
    case 'start':
      return { type: 'scalar', values: new Float64Array(n).fill(ev.ctx.queryStart / 1000) };
    case 'end':
      return { type: 'scalar', values: new Float64Array(n).fill(ev.ctx.queryEnd / 1000) };
    case 'vector': {
      const v = await ev.evalScalar(e.args[0]);
      const s = newStepSeries(Labels.EMPTY, n);
      s.values.set(v);
      s.present.fill(1);
      return { type: 'vector', series: [s] };
    }
    case 'scalar': {
      const v = await ev.evalVector(e.args[0]);
      const out = new Float64Array(n).fill(NaN);
      for (let i = 0; i < n; i++) {
        let count = 0;
        for (const s of v.series) {
          if (!s.present[i] || s.histograms?.[i]) continue;
          count++;
          out[i] = s.values[i];
        }
        if (count !== 1) out[i] = NaN;
      }
      return { type: 'scalar', values: out };
    }
    case 'round': {
      const v = await ev.evalVector(e.args[0]);
      const to = e.args[1] ? await ev.evalScalar(e.args[1]) : new Float64Array(n).fill(1);
      return mapVectorStep(v.series, n, (x, i) => {
        const inv = 1 / to[i];
        return Math.floor(x * inv + 0.5) / inv;
      });
    }
    case 'clamp':
    case 'clamp_min':
    case 'clamp_max': {
      const v = await ev.evalVector(e.args[0]);
      const a = await ev.evalScalar(e.args[1]);
      const b = f === 'clamp' ? await ev.evalScalar(e.args[2]) : undefined;
      if (f === 'clamp') {
        // min > max yields an empty result at that step.
        const out = mapVectorStep(v.series, n, (x, i) => Math.max(a[i], Math.min(b![i], x)));
        for (const s of out.series) for (let i = 0; i < n; i++) if (a[i] > b![i]) s.present[i] = 0;
        out.series = out.series.filter((s) => s.present.some((p) => p));
        return out;
      }
      return mapVectorStep(v.series, n, (x, i) => (f === 'clamp_min' ? Math.max(a[i], x) : Math.min(a[i], x)));
    }
    case 'timestamp':
      return timestampOf(ev, e.args[0]);
    case 'absent':
      return absent(ev, e.args[0], false);
    case 'absent_over_time':
      return absent(ev, e.args[0], true);
    case 'sort':
    case 'sort_desc':
    case 'sort_by_label':
    case 'sort_by_label_desc':
      if (ev.ctx.queryStep > 0)
        ev.ctx.warnings.add(
          `PromQL warning: sort is ineffective for range queries since results are always ordered by labels ${ev.ctx.pos(e.pos)}`,
        );
      if (f === 'sort' || f === 'sort_desc') {
        // Sorting by value leaves histogram samples out, as Prometheus does.
        const v = await ev.evalVector(e.args[0]);
        v.series.forEach(dropHistograms);
        return v;
      }
      return ev.eval(e.args[0]); // ordering is applied to instant results by the engine
    case 'label_replace':
      return labelReplace(ev, e);
    case 'info':
      return evalInfo(ev, e);
    case 'label_join':
      return labelJoin(ev, e);
    case 'histogram_quantile': {
      const phi = await ev.evalScalar(e.args[0]);
      return histogramQuantile(ev, phi, (await ev.evalVector(e.args[1])).series, ev.ctx.pos(e.args[0].pos), ev.ctx.pos(e.args[1].pos));
    }
    case 'histogram_quantiles': {
      const [label] = await stringArgs(ev, [e.args[1]]);
      const phis: Float64Array[] = [];
      for (const a of e.args.slice(2)) phis.push(await ev.evalScalar(a));
      return histogramQuantiles(
        ev,
        (await ev.evalVector(e.args[0])).series,
        label,
        phis,
        ev.ctx.pos(e.args[2].pos),
        ev.ctx.pos(e.args[0].pos),
      );
    }
    case 'min_of':
    case 'max_of': {
      const a = await ev.evalScalar(e.args[0]);
      const b = await ev.evalScalar(e.args[1]);
      // math.Min/Max: any NaN gives NaN.
      return { type: 'scalar', values: a.map((x, i) => (f === 'min_of' ? Math.min(x, b[i]) : Math.max(x, b[i]))) };
    }
    case 'histogram_fraction': {
      const lo = await ev.evalScalar(e.args[0]);
      const hi = await ev.evalScalar(e.args[1]);
      return histogramFraction(ev, lo, hi, (await ev.evalVector(e.args[2])).series, ev.ctx.pos(e.args[2].pos));
    }
  }
  if (DATE_FUNCS[f]) {
    const fn = DATE_FUNCS[f];
    if (e.args.length === 0) {
      const s = newStepSeries(Labels.EMPTY, n);
      for (let i = 0; i < n; i++) {
        s.values[i] = fn(new Date(ev.steps[i]));
        s.present[i] = 1;
      }
      return { type: 'vector', series: [s] };
    }
    return mapVector(ev, await ev.evalVector(e.args[0]), (x) => (Number.isFinite(x) ? fn(new Date(Math.trunc(x * 1000))) : NaN));
  }
  throw new StrataError('query-execution', `function ${JSON.stringify(f)} is not supported yet`);
}

function mapVector(ev: Evaluator, v: { series: StepSeries[] }, fn: (x: number) => number): Value {
  return mapVectorStep(v.series, ev.n, (x) => fn(x));
}

function mapVectorStep(series: StepSeries[], n: number, fn: (x: number, i: number) => number): { type: 'vector'; series: StepSeries[] } {
  for (const s of series) {
    dropHistograms(s);
    for (let i = 0; i < n; i++) if (s.present[i]) s.values[i] = fn(s.values[i], i);
    s.dropName = true;
  }
  return { type: 'vector', series };
}

/** Float functions skip histogram samples (Prometheus leaves them out of the result). */
function dropHistograms(s: StepSeries): void {
  const hs = s.histograms;
  if (!hs) return;
  for (let i = 0; i < hs.length; i++) if (hs[i]) s.present[i] = 0;
  s.histograms = undefined;
}

/** histogram_count() and friends: a float from each histogram sample; float samples are left out. */
function histogramStat(v: { series: StepSeries[] }, n: number, fn: (h: FloatHistogram) => number): Value {
  const out: StepSeries[] = [];
  for (const s of v.series) {
    if (!s.histograms) continue;
    const r = newStepSeries(s.labels, n, true);
    for (let i = 0; i < n; i++) {
      const h = s.present[i] ? s.histograms[i] : undefined;
      if (!h) continue;
      r.values[i] = fn(h);
      r.present[i] = 1;
    }
    out.push(r);
  }
  return { type: 'vector', series: out };
}

const HISTOGRAM_STATS: Record<string, (h: FloatHistogram) => number> = {
  histogram_count: (h) => h.count,
  histogram_sum: (h) => h.sum,
  histogram_avg: (h) => h.sum / h.count,
  histogram_stdvar: (h) => nativeVariance(h),
  histogram_stddev: (h) => Math.sqrt(nativeVariance(h)),
};

async function rangeFunction(ev: Evaluator, e: Call): Promise<Value> {
  const f = e.func;
  const fn = RANGE_FUNCS[f];
  const matrixArg = e.args.findIndex((a) => unwrapType(a));
  const scalarArgs: Float64Array[] = [];
  for (let k = 0; k < e.args.length; k++) if (k !== matrixArg) scalarArgs.push(await ev.evalScalar(e.args[k]));
  const marg = e.args[matrixArg];
  const mod = marg.kind === 'MatrixSelector' ? marg.vectorSelector.rangeModifier : undefined;
  // A range vector straight from a selector tells the store its function: rollups answer with its aggregate.
  const m: MatrixValue = marg.kind === 'MatrixSelector' ? await ev.matrixSelector(marg, f) : await ev.evalMatrix(marg);
  const reach = rangeModifierReach(mod, ev.ctx.opts.lookbackDeltaMs);
  if (f === 'quantile_over_time') {
    for (const q of scalarArgs[0]) {
      if (!(q >= 0 && q <= 1)) {
        ev.ctx.warnings.add(`PromQL warning: quantile value should be between 0 and 1, got ${fmtNum(q)} ${ev.ctx.pos(e.args[0].pos)}`);
        break;
      }
    }
  }
  const out: StepSeries[] = [];
  const args: number[] = new Array(scalarArgs.length);
  for (const s of m.series) {
    const y = pace();
    if (y) await y;
    const hs = s.histograms;
    if (COUNTER_FUNCS.has(f) && (!hs || hs.some((h) => !h))) counterInfo(ev, s.labels, e.args[matrixArg]);
    const r = newStepSeries(s.labels, ev.n, s.dropName || !KEEPS_NAME.has(f));
    const sfn = (s.rollup && rollupWindow(f, s.rollup)) || fn;
    let any = false;
    // Window [from, to) slides forward with the steps; a step back in time (never produced by
    // the evaluator, but cheap to honour) restarts the cursors.
    let from = 0;
    let to = 0;
    let prevT = -Infinity;
    for (let i = 0; i < ev.n; i++) {
      ev.ctx.checkCancelled();
      const t = m.stepTimes[i];
      if (t < prevT) from = to = 0;
      prevT = t;
      from = advance(s.timestamps, from, t - m.range - reach.back);
      to = advance(s.timestamps, Math.max(to, from), t + reach.forward);
      if (to === from) continue;
      // The window the function reads: for anchored changes() and resets(), from the anchor on.
      let lo = from;
      if (mod === 'anchored' && (f === 'changes' || f === 'resets')) {
        const a = anchoredFrom(s.timestamps, from, to, t - m.range);
        if (a === undefined) continue;
        lo = a;
      } else if (mod === 'anchored' && hs && hasHistogram(hs, from, to)) {
        const a = anchoredFrom(s.timestamps, from, to, t - m.range);
        if (a === undefined) continue;
        const res = anchoredHistogramRate(hs, a, to, m.range, f !== 'delta', f === 'rate', windowContext(ev, s.labels, marg));
        if (!res?.h) continue;
        setHistogram(r, i, res.h);
        any = true;
        continue;
      } else if (mod === 'smoothed' && hs && hasHistogram(hs, from, to)) {
        const ctx = windowContext(ev, s.labels, marg);
        const res = smoothedHistogramRate(s.timestamps, hs, from, to, t - m.range, t, f !== 'delta', f === 'rate', ctx);
        if (!res) continue;
        setHistogram(r, i, res.h);
        any = true;
        continue;
      } else if (mod) {
        const v = extendedRate(s.timestamps, s.values, from, to, t - m.range, t, mod === 'smoothed', f !== 'delta');
        if (v === undefined) continue;
        r.values[i] = f === 'rate' ? v / (m.range / 1000) : v;
        r.present[i] = 1;
        any = true;
        continue;
      }
      for (let k = 0; k < scalarArgs.length; k++) args[k] = scalarArgs[k][i];
      if (hs && hasHistogram(hs, lo, to)) {
        const hw = HISTOGRAM_WINDOWS[f];
        if (hw) {
          const res = hw(s.timestamps, s.values, hs, lo, to, t, m.range, windowContext(ev, s.labels, e.args[matrixArg]));
          if (!res) continue;
          if (res.h) setHistogram(r, i, res.h);
          else {
            r.values[i] = res.v;
            r.present[i] = 1;
          }
          any = true;
          continue;
        }
        if (!ANY_SAMPLE_WINDOWS.has(f)) {
          // Functions of float values ignore histograms (with an info when floats remain).
          const floats = floatsOf(s.timestamps, s.values, hs, lo, to);
          if (floats.ts.length === 0) continue;
          ev.ctx.infos.add(
            `PromQL info: ignored histograms in a range containing both floats and histograms for metric name ${JSON.stringify(s.labels.get(METRIC_NAME))} ${ev.ctx.pos(e.args[matrixArg].pos)}`,
          );
          const v = sfn(floats.ts, floats.vs, 0, floats.ts.length, t, m.range, args, ev.steps[i]);
          if (v === undefined) continue;
          r.values[i] = v;
          r.present[i] = 1;
          any = true;
          continue;
        }
      }
      const v = sfn(s.timestamps, s.values, lo, to, t, m.range, args, ev.steps[i]);
      if (v === undefined) continue;
      r.values[i] = v;
      r.present[i] = 1;
      any = true;
    }
    if (any) out.push(r);
  }
  return { type: 'vector', series: out };
}

/**
 * The functions that over rollup windows need more than one value per window: each window's
 * count of raw samples, and sketches for quantiles (docs/format/downsampling.md).
 */
function rollupWindow(f: string, r: RollupSamples): Window | undefined {
  switch (f) {
    case 'count_over_time':
      return (ts, vs, from, to) => kahanSum(r.counts, from, to);
    case 'avg_over_time':
      return (ts, vs, from, to) => kahanSum(vs, from, to) / kahanSum(r.counts, from, to);
    case 'quantile_over_time':
      return r.quantile ? (ts, vs, from, to, t, range, args) => r.quantile!(r, vs, from, to, args[0]) : undefined;
  }
  return undefined;
}

function hasHistogram(hs: readonly (FloatHistogram | undefined)[], from: number, to: number): boolean {
  for (let k = from; k < to; k++) if (hs[k]) return true;
  return false;
}

function floatsOf(
  ts: Float64Array,
  vs: Float64Array,
  hs: readonly (FloatHistogram | undefined)[],
  from: number,
  to: number,
): { ts: Float64Array; vs: Float64Array } {
  const t2: number[] = [];
  const v2: number[] = [];
  for (let k = from; k < to; k++) {
    if (hs[k]) continue;
    t2.push(ts[k]);
    v2.push(vs[k]);
  }
  return { ts: Float64Array.from(t2), vs: Float64Array.from(v2) };
}

function windowContext(ev: Evaluator, labels: Labels, arg: Expr): HistogramWindowContext {
  return {
    warn: (m) => ev.ctx.warnings.add(m),
    info: (m) => ev.ctx.infos.add(m),
    pos: ev.ctx.pos(arg.pos),
    name: labels.get(METRIC_NAME),
  };
}

function unwrapType(a: Expr): boolean {
  return a.kind === 'MatrixSelector' || a.kind === 'SubqueryExpr' || (a.kind === 'ParenExpr' && unwrapType(a.expr));
}

function counterInfo(ev: Evaluator, labels: Labels, arg: Expr): void {
  const name = labels.get(METRIC_NAME);
  if (name && !/(_total|_sum|_count|_bucket)$/.test(name)) {
    ev.ctx.infos.add(
      `PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: ${JSON.stringify(name)} ${ev.ctx.pos(arg.pos)}`,
    );
  }
}

async function timestampOf(ev: Evaluator, arg: Expr): Promise<Value> {
  let inner = arg;
  while (inner.kind === 'ParenExpr') inner = inner.expr;
  // A smoothed selector's value is made at the step, not read from a sample: its time is the step's.
  if (inner.kind === 'VectorSelector' && !inner.rangeModifier) {
    // The timestamp of the sample the selector picked, not the step's.
    const sel = inner as VectorSelector;
    const times = ev.modifiedTimes(sel);
    const lookback = ev.ctx.opts.lookbackDeltaMs;
    let min = Infinity;
    let max = -Infinity;
    for (const t of times) {
      min = Math.min(min, t);
      max = Math.max(max, t);
    }
    const fetched = await ev.ctx.querier.select(sel.matchers, { start: min - lookback + 1, end: max, signal: ev.ctx.signal });
    const out: StepSeries[] = [];
    for (const s of fetched) {
      const r = newStepSeries(s.labels, ev.n, true);
      let any = false;
      for (let i = 0; i < ev.n; i++) {
        const j = upperBound(s.timestamps, times[i]) - 1;
        if (j < 0 || s.timestamps[j] <= times[i] - lookback || isStale(s.values, j)) continue;
        r.values[i] = s.timestamps[j] / 1000;
        r.present[i] = 1;
        any = true;
      }
      if (any) out.push(r);
    }
    return { type: 'vector', series: out };
  }
  const v = await ev.evalVector(arg);
  return mapVectorStep(v.series, ev.n, (_x, i) => ev.steps[i] / 1000);
}

async function absent(ev: Evaluator, arg: Expr, overTime: boolean): Promise<Value> {
  const v = overTime
    ? await rangeFunction(ev, { kind: 'Call', func: 'present_over_time', returnType: 'vector', args: [arg], pos: arg.pos })
    : await ev.evalVector(arg);
  if (v.type !== 'vector') throw new StrataError('query-execution', 'absent needs a vector');
  // Labels of the result: the equality matchers of a plain selector, as Prometheus.
  let inner = arg;
  while (inner.kind === 'ParenExpr') inner = inner.expr;
  if (inner.kind === 'MatrixSelector') inner = inner.vectorSelector;
  let labels = Labels.EMPTY;
  if (inner.kind === 'VectorSelector') {
    const b = new LabelsBuilder();
    const seen = new Set<string>();
    const dup = new Set<string>();
    for (const m of inner.matchers) {
      if (m.name === METRIC_NAME) continue;
      if (seen.has(m.name)) dup.add(m.name);
      seen.add(m.name);
      if (m.type === '=') b.set(m.name, m.value);
    }
    for (const d of dup) b.del(d);
    labels = b.labels();
  }
  const s = newStepSeries(labels, ev.n);
  for (let i = 0; i < ev.n; i++) {
    if (v.series.some((x) => x.present[i])) continue;
    s.values[i] = 1;
    s.present[i] = 1;
  }
  return { type: 'vector', series: s.present.some((x) => x) ? [s] : [] };
}

async function labelReplace(ev: Evaluator, e: Call): Promise<Value> {
  const v = await ev.evalVector(e.args[0]);
  const [dst, repl, src, regex] = await stringArgs(ev, e.args.slice(1));
  let re: CompiledRegex;
  try {
    re = compileRegex(regex);
  } catch {
    throw new StrataError('bad-query', `invalid regular expression in label_replace(): ${regex}`);
  }
  // Any UTF-8 name is valid in Prometheus 3; an empty one, or one that was not valid UTF-8
  // (decoded to U+FFFD), is not.
  if (dst === '' || dst.includes('\ufffd'))
    throw new StrataError('query-execution', `invalid destination label name in label_replace(): ${dst}`);
  for (const s of v.series) {
    // Prometheus 3 removes __name__ lazily, so label functions still see it.
    const m = re.exec(s.labels.get(src));
    if (!m) continue;
    s.labels = new LabelsBuilder(s.labels).set(dst, expandTemplate(repl, m)).labels();
    if (dst === METRIC_NAME) s.dropName = false;
  }
  return { type: 'vector', series: v.series };
}

/** Go regexp Expand: $1, ${1}, $name, ${name}; $$ is a literal $. */
function expandTemplate(t: string, m: RegexGroups): string {
  return t.replace(/\$(\$|\{([a-zA-Z0-9_]+)\}|([a-zA-Z0-9_]+))/g, (_all, d: string, braced?: string, bare?: string) => {
    if (d === '$') return '$';
    const name = braced ?? bare!;
    return m.group(/^\d+$/.test(name) ? Number(name) : name) ?? '';
  });
}

async function labelJoin(ev: Evaluator, e: Call): Promise<Value> {
  const v = await ev.evalVector(e.args[0]);
  const strs = await stringArgs(ev, e.args.slice(1));
  const [dst, sep, ...srcs] = strs;
  for (const s of v.series) {
    const joined = srcs.map((x) => s.labels.get(x)).join(sep);
    s.labels = new LabelsBuilder(s.labels).set(dst, joined).labels();
    if (dst === METRIC_NAME) s.dropName = false;
  }
  return { type: 'vector', series: v.series };
}

function fmtNum(v: number): string {
  return Number.isNaN(v) ? 'NaN' : String(v);
}

async function stringArgs(ev: Evaluator, args: Expr[]): Promise<string[]> {
  const out: string[] = [];
  for (const a of args) {
    const v = await ev.eval(a);
    if (v.type !== 'string') throw new StrataError('query-execution', `expected a string argument, got ${v.type}`);
    out.push(v.value);
  }
  return out;
}
