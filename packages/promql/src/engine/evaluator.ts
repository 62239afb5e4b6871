/**
 * The evaluator: turns an AST into values for all steps of a query. Each selector reads its
 * series once for the whole query range; steps then walk typed arrays.
 */
import { CounterResetHint, FloatHistogram, Labels, METRIC_NAME, StrataError, pace, type Series } from '@strata/model';
import type { Expr, MatrixSelector, SubqueryExpr, VectorSelector } from '../ast.js';
import { rangeModifierReach, smoothedAt } from './extended-range.js';
import { smoothedHistogramAt } from './histogram-range.js';
import { isStale } from './stale.js';
import type { EvalContext } from './context.js';
import { evalAggregate } from './aggregate.js';
import { evalBinary } from './binary.js';
import { evalCall } from './functions.js';
import { statsOnly } from './histogram-stats.js';
import { rangeMaxResolution } from './rollup-resolution.js';
import {
  advance,
  bounds,
  histogramAt,
  newStepSeries,
  setHistogram,
  outputLabels,
  type MatrixSeries,
  type MatrixValue,
  type StepSeries,
  type Value,
  type VectorValue,
} from './values.js';

export class Evaluator {
  constructor(
    readonly ctx: EvalContext,
    /** Evaluation timestamps (ms), ascending. */
    readonly steps: Float64Array,
  ) {}

  get n(): number {
    return this.steps.length;
  }

  async eval(e: Expr): Promise<Value> {
    this.ctx.throwIfCancelled();
    switch (e.kind) {
      case 'NumberLiteral':
        return { type: 'scalar', values: new Float64Array(this.n).fill(e.value) };
      case 'StringLiteral':
        return { type: 'string', value: e.value };
      case 'ParenExpr':
        return this.eval(e.expr);
      case 'UnaryExpr': {
        const v = await this.eval(e.expr);
        if (e.op === '+') return v;
        if (v.type === 'scalar') return { type: 'scalar', values: v.values.map((x) => -x) };
        if (v.type === 'vector') {
          for (const s of v.series) {
            for (let i = 0; i < s.values.length; i++) s.values[i] = -s.values[i];
            const hs = s.histograms;
            if (hs) for (let i = 0; i < hs.length; i++) if (hs[i]) hs[i] = hs[i]!.copy().mul(-1);
            s.dropName = true;
          }
          return v;
        }
        throw new StrataError('query-execution', `unary minus on ${v.type}`);
      }
      case 'VectorSelector':
        return this.vectorSelector(e);
      case 'MatrixSelector':
        return this.matrixSelector(e);
      case 'SubqueryExpr':
        return this.subquery(e);
      case 'Call':
        return evalCall(this, e);
      case 'AggregateExpr':
        return evalAggregate(this, e);
      case 'BinaryExpr':
        return evalBinary(this, e);
    }
  }

  async evalVector(e: Expr): Promise<VectorValue> {
    const v = await this.eval(e);
    if (v.type !== 'vector') throw new StrataError('query-execution', `expected instant vector, got ${v.type}`);
    return v;
  }

  async evalScalar(e: Expr): Promise<Float64Array> {
    const v = await this.eval(e);
    if (v.type !== 'scalar') throw new StrataError('query-execution', `expected scalar, got ${v.type}`);
    return v.values;
  }

  async evalMatrix(e: Expr): Promise<MatrixValue> {
    const v = await this.eval(e);
    if (v.type !== 'matrix') throw new StrataError('query-execution', `expected range vector, got ${v.type}`);
    return v;
  }

  /** Evaluation time of each step for a selector or subquery, after @ and offset. */
  modifiedTimes(m: { at: number | null; atModifier: 'start' | 'end' | null; offset: number }): Float64Array {
    const out = new Float64Array(this.n);
    let fixed: number | undefined;
    if (m.at !== null) fixed = m.at;
    else if (m.atModifier === 'start') fixed = this.ctx.queryStart;
    else if (m.atModifier === 'end') fixed = this.ctx.queryEnd;
    for (let i = 0; i < this.n; i++) out[i] = (fixed ?? this.steps[i]) - m.offset;
    return out;
  }

  private async vectorSelector(e: VectorSelector): Promise<VectorValue> {
    const times = this.modifiedTimes(e);
    const lookback = this.ctx.opts.lookbackDeltaMs;
    const { min, max } = bounds(times);
    const smoothed = e.rangeModifier === 'smoothed';
    const fetched = await this.ctx.querier.select(e.matchers, {
      start: min - lookback + 1,
      // smoothed interpolates towards the next sample, up to a lookback later.
      end: max + rangeModifierReach(e.rangeModifier, lookback, true).forward,
      signal: this.ctx.signal,
      maxResolution: this.ctx.maxResolution,
    });
    const out: StepSeries[] = [];
    const stats = this.ctx.statsSelectors.has(e);
    for (const s0 of fetched) {
      const s = stats ? statsOnly(s0) : s0;
      // Per series, give the event loop its turn once a slice is used (ingest acks wait on it).
      const y = pace();
      if (y) await y;
      this.ctx.addSamples(s.timestamps.length);
      const r = newStepSeries(s.labels, this.n);
      let any = false;
      // Smoothed steps apart: the plain loop below is the hot path of every instant selector.
      if (smoothed) any = this.smoothedSteps(e, s, times, r);
      else {
        let next = 0; // first sample after the previous step: a cursor, since step times never decrease
        let prevT = -Infinity;
        for (let i = 0; i < this.n; i++) {
          this.ctx.checkCancelled();
          const t = times[i];
          if (t < prevT) next = 0;
          prevT = t;
          next = advance(s.timestamps, next, t);
          const j = next - 1;
          if (j < 0 || s.timestamps[j] <= t - lookback) continue;
          const v = s.values[j];
          if (isStale(s.values, j)) continue;
          r.values[i] = v;
          r.present[i] = 1;
          const h = s.histograms?.[j];
          if (h) setHistogram(r, i, h);
          any = true;
        }
      }
      if (any) out.push(r);
      this.ctx.samples -= s.timestamps.length;
      this.ctx.addSamples(this.n);
    }
    return { type: 'vector', series: out };
  }

  /** A smoothed selector's steps of one series into r (extended-range.ts); whether any has a value. */
  private smoothedSteps(e: VectorSelector, s: Series, times: Float64Array, r: StepSeries): boolean {
    const lookback = this.ctx.opts.lookbackDeltaMs;
    const hs = s.histograms;
    const ctx = {
      warn: (m: string) => this.ctx.warnings.add(m),
      info: (m: string) => this.ctx.infos.add(m),
      pos: this.ctx.pos(e.pos),
      name: s.labels.get(METRIC_NAME),
    };
    let any = false;
    for (let i = 0; i < this.n; i++) {
      this.ctx.checkCancelled();
      const t = times[i];
      const from = advance(s.timestamps, 0, t - lookback);
      const to = advance(s.timestamps, from, t + lookback);
      let hist = false;
      if (hs) for (let k = from; k < to && !hist; k++) hist = hs[k] !== undefined;
      if (hs && hist) {
        const h = smoothedHistogramAt(s.timestamps, s.values, hs, from, to, t, ctx);
        if (!h) continue;
        setHistogram(r, i, h);
      } else {
        const v = smoothedAt(s.timestamps, s.values, from, to, t);
        if (v === undefined) continue;
        r.values[i] = v;
        r.present[i] = 1;
      }
      any = true;
    }
    return any;
  }

  /** `func`: the function the range vector is the argument of (SelectHints.func: rollups answer with its aggregate). */
  async matrixSelector(e: MatrixSelector, func?: string): Promise<MatrixValue> {
    const vs = e.vectorSelector;
    if (vs.rangeModifier && func === undefined)
      throw new StrataError(
        'query-execution',
        `a range vector selector with the ${vs.rangeModifier} modifier is only supported inside a function`,
      );
    const times = this.modifiedTimes(vs);
    const { min, max } = bounds(times);
    // anchored and smoothed read around the written range (extended-range.ts).
    const reach = rangeModifierReach(vs.rangeModifier, this.ctx.opts.lookbackDeltaMs);
    const fetched = await this.ctx.querier.select(vs.matchers, {
      start: min - e.range - reach.back + 1,
      end: max + reach.forward,
      // A rollup's aggregate over the written window is not what the modifiers read: raw samples.
      range: e.range + reach.back + reach.forward,
      func: vs.rangeModifier ? undefined : func,
      signal: this.ctx.signal,
      maxResolution: rangeMaxResolution(this.ctx.maxResolution, e.range, func),
    });
    const series: MatrixSeries[] = [];
    const stats = this.ctx.statsSelectors.has(vs);
    for (const s0 of fetched) {
      const s = stats ? statsOnly(s0) : s0;
      const y = pace();
      if (y) await y;
      // Stale markers only end series; they never appear inside range vectors.
      let n = 0;
      for (let i = 0; i < s.timestamps.length; i++) if (!isStale(s.values, i)) n++;
      if (n === s.timestamps.length) {
        // No marker to drop (the usual case): the fetched arrays are the range vector as they are.
        this.ctx.addSamples(n);
        series.push({
          labels: s.labels,
          timestamps: s.timestamps,
          values: s.values,
          dropName: false,
          rollup: s.rollup,
          histograms: s.histograms,
        });
        continue;
      }
      const hs = s.histograms ? new Array<FloatHistogram | undefined>(n) : undefined;
      const ts = new Float64Array(n);
      const vs2 = new Float64Array(n);
      const src = new Uint32Array(s.values.buffer, s.values.byteOffset, s.values.length * 2);
      const dst = new Uint32Array(vs2.buffer);
      let k = 0;
      for (let i = 0; i < s.timestamps.length; i++) {
        if (isStale(s.values, i)) continue;
        ts[k] = s.timestamps[i];
        dst[2 * k] = src[2 * i];
        dst[2 * k + 1] = src[2 * i + 1];
        if (hs) hs[k] = s.histograms![i];
        k++;
      }
      this.ctx.addSamples(n);
      series.push({ labels: s.labels, timestamps: ts, values: vs2, dropName: false, histograms: hs });
    }
    return { type: 'matrix', series, range: e.range, stepTimes: times };
  }

  private async subquery(e: SubqueryExpr): Promise<MatrixValue> {
    const times = this.modifiedTimes(e);
    const step = e.step > 0 ? e.step : this.ctx.opts.defaultEvalIntervalMs;
    const { min, max } = bounds(times);
    // Inner steps are aligned to multiples of the step, as Prometheus does, so results do not
    // depend on when the outer query runs.
    let start = Math.floor((min - e.range) / step) * step;
    if (start <= min - e.range) start += step;
    const n = Math.max(0, Math.floor((max - start) / step) + 1);
    // Every inner step is a point held in memory: refuse before allocating, not after.
    this.ctx.addSamples(n);
    this.ctx.samples -= n;
    const inner = new Float64Array(n);
    for (let i = 0; i < n; i++) inner[i] = start + i * step;
    const sub = new Evaluator(this.ctx, inner);
    const v = await sub.eval(e.expr);
    let stepSeries: StepSeries[];
    if (v.type === 'vector') stepSeries = v.series;
    else if (v.type === 'scalar') {
      const s = newStepSeries(Labels.EMPTY, n);
      s.values.set(v.values);
      s.present.fill(1);
      stepSeries = [s];
    } else throw new StrataError('query-execution', `subquery of ${v.type}`);
    const series: MatrixSeries[] = [];
    for (const s of stepSeries) {
      let k = 0;
      for (let i = 0; i < n; i++) if (s.present[i]) k++;
      const ts = new Float64Array(k);
      const vals = new Float64Array(k);
      const hs = s.histograms ? new Array<FloatHistogram | undefined>(k) : undefined;
      k = 0;
      for (let i = 0; i < n; i++) {
        if (!s.present[i]) continue;
        ts[k] = inner[i];
        vals[k] = s.values[i];
        if (hs) hs[k] = withoutResetHint(s.histograms![i]);
        k++;
      }
      series.push({ labels: s.labels, timestamps: ts, values: vals, dropName: s.dropName, histograms: hs });
    }
    return { type: 'matrix', series, range: e.range, stepTimes: times };
  }
}

/**
 * A subquery's histograms lose an explicit counter reset hint (to unknown), as in Prometheus: the
 * hint speaks of the sample before it in storage, which a subquery may skip or repeat, so resets
 * between its points are found by comparing them. Gauge hints stay. The copy shares the buckets.
 */
function withoutResetHint(h: FloatHistogram | undefined): FloatHistogram | undefined {
  if (!h || (h.counterResetHint !== CounterResetHint.CounterReset && h.counterResetHint !== CounterResetHint.NotCounterReset)) return h;
  const out = Object.assign(Object.create(FloatHistogram.prototype) as FloatHistogram, h);
  out.counterResetHint = CounterResetHint.Unknown;
  return out;
}

/**
 * Applies pending name drops and merges series that now share a label set. Two of them with a
 * value at the same step is Prometheus' "vector cannot contain metrics with the same labelset".
 */
export function finalizeSeries(series: StepSeries[]): StepSeries[] {
  const byKey = new Map<string, StepSeries>();
  const out: StepSeries[] = [];
  for (const s of series) {
    const labels = outputLabels(s);
    const key = labels.key();
    const have = byKey.get(key);
    if (!have) {
      const r = { ...s, labels, dropName: false };
      byKey.set(key, r);
      out.push(r);
      continue;
    }
    for (let i = 0; i < s.present.length; i++) {
      if (!s.present[i]) continue;
      if (have.present[i]) throw new StrataError('query-execution', 'vector cannot contain metrics with the same labelset');
      have.present[i] = 1;
      have.values[i] = s.values[i];
      const h = histogramAt(s, i);
      if (h) setHistogram(have, i, h);
    }
  }
  return out;
}
