/**
 * histogram_quantile and histogram_fraction over classic histograms (`le` buckets) and native
 * histograms (each histogram sample on its own).
 */
import { LabelsBuilder, METRIC_NAME, StrataError, type FloatHistogram } from '@strata/model';
import { formatFloat } from './math.js';
import type { Evaluator } from './evaluator.js';
import { nativeFraction, nativeQuantile } from './native-histogram.js';
import { newStepSeries, outputLabels, type StepSeries, type Value } from './values.js';

function hasFloatSample(s: StepSeries): boolean {
  if (!s.histograms) return true;
  for (let i = 0; i < s.present.length; i++) if (s.present[i] && !s.histograms[i]) return true;
  return false;
}

/**
 * One output series per input series with native histograms, `f` applied to each of them.
 * Where a classic histogram of the same labels has buckets at the same step, Prometheus drops
 * both and warns.
 */
function perNative(
  ev: Evaluator,
  series: StepSeries[],
  classic: { labels: ReturnType<typeof outputLabels>; members: { s: StepSeries; le: number }[] }[],
  argPos: string,
  f: (h: FloatHistogram, i: number, name: string) => number,
): { native: StepSeries[]; conflicts: Map<string, Uint8Array> } {
  const native: StepSeries[] = [];
  const conflicts = new Map<string, Uint8Array>();
  const classicByKey = new Map(classic.map((g) => [g.labels.without(METRIC_NAME).key(), g]));
  for (const s of series) {
    if (!s.histograms) continue;
    const r = newStepSeries(s.labels, ev.n, true);
    const key = outputLabels(s).without(METRIC_NAME).key();
    const g = classicByKey.get(key);
    for (let i = 0; i < ev.n; i++) {
      const h = s.present[i] ? s.histograms[i] : undefined;
      if (!h) continue;
      if (g && g.members.some((m) => m.s.present[i] && !m.s.histograms?.[i])) {
        ev.ctx.warnings.add(
          `PromQL warning: vector contains a mix of classic and native histograms for metric name ${JSON.stringify(s.labels.get(METRIC_NAME))} ${argPos}`,
        );
        let mask = conflicts.get(key);
        if (!mask) conflicts.set(key, (mask = new Uint8Array(ev.n)));
        mask[i] = 1;
        continue;
      }
      r.values[i] = f(h, i, s.labels.get(METRIC_NAME));
      r.present[i] = 1;
    }
    if (r.present.some((x) => x)) native.push(r);
  }
  return { native, conflicts };
}

function quantileNote(ev: Evaluator, note: 'nan-result' | 'nan-skew' | undefined, name: string, argPos: string): void {
  if (note === 'nan-result')
    ev.ctx.infos.add(
      `PromQL info: input to histogram_quantile has NaN observations, result is NaN for metric name ${JSON.stringify(name)} ${argPos}`,
    );
  else if (note === 'nan-skew')
    ev.ctx.infos.add(
      `PromQL info: input to histogram_quantile has NaN observations, result is skewed higher for metric name ${JSON.stringify(name)} ${argPos}`,
    );
}

interface Bucket {
  upper: number;
  count: number;
}

/** Relative tolerance below which a non-monotonic bucket is float noise, not a data problem. */
const SMALL_DELTA_TOLERANCE = 1e-12;

function parseLe(v: string): number | undefined {
  if (v === '') return undefined;
  const lower = v.toLowerCase();
  if (lower === '+inf' || lower === 'inf') return Infinity;
  if (lower === '-inf') return -Infinity;
  const n = Number(v);
  return Number.isNaN(n) && lower !== 'nan' ? undefined : n;
}

function groups(
  ev: Evaluator,
  series: StepSeries[],
  argPos: string,
): { labels: ReturnType<typeof outputLabels>; members: { s: StepSeries; le: number }[] }[] {
  const byKey = new Map<string, { labels: ReturnType<typeof outputLabels>; members: { s: StepSeries; le: number }[] }>();
  for (const s of series) {
    if (!hasFloatSample(s)) continue; // native histograms only: not a classic bucket
    const labels = outputLabels(s);
    const le = parseLe(labels.get('le'));
    if (le === undefined) {
      ev.ctx.warnings.add(
        `PromQL warning: bucket label "le" is missing or has a malformed value of ${JSON.stringify(labels.get('le'))} for metric name ${JSON.stringify(s.labels.get(METRIC_NAME))} ${argPos}`,
      );
      continue;
    }
    // Grouped with the metric name, which the output then drops: two histograms that differ
    // only by name collide afterwards, an error as in Prometheus.
    const g = new LabelsBuilder(labels).del('le').labels();
    const k = g.key();
    let entry = byKey.get(k);
    if (!entry) {
      entry = { labels: g, members: [] };
      byKey.set(k, entry);
    }
    entry.members.push({ s, le });
  }
  return [...byKey.values()];
}

function bucketsAt(members: { s: StepSeries; le: number }[], i: number): Bucket[] {
  const bs: Bucket[] = [];
  for (const m of members) if (m.s.present[i] && !m.s.histograms?.[i]) bs.push({ upper: m.le, count: m.s.values[i] });
  bs.sort((a, b) => a.upper - b.upper);
  // Buckets with the same bound (e.g. "1" and "1.0") are one bucket.
  const out: Bucket[] = [];
  for (const b of bs) {
    const last = out[out.length - 1];
    if (last && last.upper === b.upper) last.count += b.count;
    else out.push({ ...b });
  }
  return out;
}

/** Makes counts non-decreasing; returns true when a real (not float-noise) fix was needed. */
function ensureMonotonic(bs: Bucket[]): boolean {
  let forced = false;
  let prev = bs[0].count;
  for (let i = 1; i < bs.length; i++) {
    const curr = bs[i].count;
    if (curr === prev) continue;
    if (Math.abs(curr - prev) <= SMALL_DELTA_TOLERANCE * Math.max(Math.abs(curr), Math.abs(prev))) {
      bs[i].count = prev;
      continue;
    }
    if (curr < prev) {
      bs[i].count = prev;
      forced = true;
      continue;
    }
    prev = curr;
  }
  return forced;
}

export function bucketQuantile(q: number, bs: Bucket[]): { value: number; forced: boolean } {
  if (Number.isNaN(q)) return { value: NaN, forced: false };
  if (q < 0) return { value: -Infinity, forced: false };
  if (q > 1) return { value: Infinity, forced: false };
  if (bs.length === 0 || bs[bs.length - 1].upper !== Infinity) return { value: NaN, forced: false };
  const forced = ensureMonotonic(bs);
  if (bs.length < 2) return { value: NaN, forced };
  const observations = bs[bs.length - 1].count;
  if (observations === 0 || Number.isNaN(observations)) return { value: NaN, forced };
  let rank = q * observations;
  let b = bs.findIndex((x) => x.count >= rank);
  if (b < 0) b = bs.length - 1;
  if (b === bs.length - 1) return { value: bs[bs.length - 2].upper, forced };
  if (b === 0 && bs[0].upper <= 0) return { value: bs[0].upper, forced };
  let start = 0;
  const end = bs[b].upper;
  let count = bs[b].count;
  if (b > 0) {
    start = bs[b - 1].upper;
    count -= bs[b - 1].count;
    rank -= bs[b - 1].count;
  }
  return { value: start + (end - start) * (rank / count), forced };
}

export function histogramQuantile(ev: Evaluator, phi: Float64Array, series: StepSeries[], phiPos: string, argPos: string): Value {
  const out: StepSeries[] = [];
  for (let i = 0; i < ev.n; i++) {
    if (!(phi[i] >= 0 && phi[i] <= 1)) {
      ev.ctx.warnings.add(
        `PromQL warning: quantile value should be between 0 and 1, got ${Number.isNaN(phi[i]) ? 'NaN' : phi[i]} ${phiPos}`,
      );
      break;
    }
  }
  const classic = groups(ev, series, argPos);
  const { native, conflicts } = perNative(ev, series, classic, argPos, (h, i, name) => {
    const { value, note } = nativeQuantile(phi[i], h);
    quantileNote(ev, note, name, argPos);
    return value;
  });
  out.push(...native);
  for (const g of classic) {
    const r = newStepSeries(g.labels, ev.n, true);
    const mask = conflicts.get(g.labels.without(METRIC_NAME).key());
    for (let i = 0; i < ev.n; i++) {
      if (mask?.[i]) continue;
      const bs = bucketsAt(g.members, i);
      if (bs.length === 0) continue;
      const { value, forced } = bucketQuantile(phi[i], bs);
      if (forced) {
        ev.ctx.infos.add(
          `PromQL info: input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name ${JSON.stringify(g.members[0].s.labels.get(METRIC_NAME))} ${argPos}`,
        );
      }
      r.values[i] = value;
      r.present[i] = 1;
    }
    if (r.present.some((x) => x)) out.push(r);
  }
  return { type: 'vector', series: out };
}

/**
 * The estimated share of observations in [lower, upper]: each bucket contributes the part of its
 * count that its overlap with the range covers, assuming observations spread evenly inside it.
 * The first bucket starts at 0 when its bound is positive (as for quantiles); a bucket of
 * infinite width contributes only when the range covers it entirely.
 */
export function bucketFraction(lower: number, upper: number, bs: Bucket[]): number {
  if (Number.isNaN(lower) || Number.isNaN(upper)) return NaN;
  if (bs.length === 0 || bs[bs.length - 1].upper !== Infinity) return NaN;
  ensureMonotonic(bs);
  const total = bs[bs.length - 1].count;
  if (total === 0 || Number.isNaN(total)) return NaN;
  if (lower >= upper) return 0;
  let inRange = 0;
  let prevCount = 0;
  for (let i = 0; i < bs.length; i++) {
    const ub = bs[i].upper;
    const lb = i > 0 ? bs[i - 1].upper : ub > 0 ? 0 : -Infinity;
    const c = bs[i].count - prevCount;
    prevCount = bs[i].count;
    if (ub <= lower || lb >= upper) {
      // Outside, except a point bucket exactly at the lower end of the range.
      if (!(lb === ub && ub >= lower && ub <= upper)) continue;
    }
    if (lb >= lower && ub <= upper) {
      inRange += c;
      continue;
    }
    // An infinite bucket counts whole when the range reaches its infinite end, else not at all.
    if ((ub === Infinity && upper === Infinity) || (lb === -Infinity && lower === -Infinity)) {
      inRange += c;
      continue;
    }
    if (!Number.isFinite(lb) || !Number.isFinite(ub)) continue;
    const from = Math.max(lb, lower);
    const to = Math.min(ub, upper);
    inRange += (c * (to - from)) / (ub - lb);
  }
  return inRange / total;
}

export function histogramFraction(ev: Evaluator, lo: Float64Array, hi: Float64Array, series: StepSeries[], argPos: string): Value {
  const out: StepSeries[] = [];
  const classic = groups(ev, series, argPos);
  const { native, conflicts } = perNative(ev, series, classic, argPos, (h, i, name) => {
    const { value, nanExcluded } = nativeFraction(lo[i], hi[i], h);
    if (nanExcluded)
      ev.ctx.infos.add(
        `PromQL info: input to histogram_fraction has NaN observations, which are excluded from all fractions for metric name ${JSON.stringify(name)} ${argPos}`,
      );
    return value;
  });
  out.push(...native);
  for (const g of classic) {
    const r = newStepSeries(g.labels, ev.n, true);
    const mask = conflicts.get(g.labels.without(METRIC_NAME).key());
    for (let i = 0; i < ev.n; i++) {
      if (mask?.[i]) continue;
      const bs = bucketsAt(g.members, i);
      if (bs.length === 0) continue;
      r.values[i] = bucketFraction(lo[i], hi[i], bs);
      r.present[i] = 1;
    }
    if (r.present.some((x) => x)) out.push(r);
  }
  return { type: 'vector', series: out };
}

/** The text of a quantile in the label histogram_quantiles adds: always with a decimal point. */
function quantileLabel(q: number): string {
  const s = formatFloat(q);
  return /[.eIN]/.test(s) ? s : `${s}.0`;
}

/** histogram_quantiles(v, "label", q1, q2, ...): one series per quantile, told apart by the label. */
export function histogramQuantiles(
  ev: Evaluator,
  series: StepSeries[],
  label: string,
  phis: Float64Array[],
  phiPos: string,
  argPos: string,
): Value {
  const out: StepSeries[] = [];
  for (const phi of phis) {
    for (let i = 0; i < ev.n; i++) {
      if (!(phi[i] >= 0 && phi[i] <= 1)) {
        ev.ctx.warnings.add(
          `PromQL warning: quantile value should be between 0 and 1, got ${Number.isNaN(phi[i]) ? 'NaN' : phi[i]} ${phiPos}`,
        );
        break;
      }
    }
  }
  const classic = groups(ev, series, argPos);
  let conflicts = new Map<string, Uint8Array>();
  for (const phi of phis) {
    const { native, conflicts: c } = perNative(ev, series, classic, argPos, (h, i, name) => {
      const { value, note } = nativeQuantile(phi[i], h);
      quantileNote(ev, note, name, argPos);
      return value;
    });
    conflicts = c;
    for (const r of native) {
      if (r.labels.has(label))
        throw new StrataError(
          'query-execution',
          `label ${JSON.stringify(label)} of histogram_quantiles() already exists on the input series ${r.labels.toString()}`,
        );
      r.labels = new LabelsBuilder(r.labels).set(label, quantileLabel(phi[0])).labels();
      out.push(r);
    }
  }
  for (const g of classic) {
    const mask = conflicts.get(g.labels.without(METRIC_NAME).key());
    if (g.labels.has(label))
      throw new StrataError(
        'query-execution',
        `label ${JSON.stringify(label)} of histogram_quantiles() already exists on the input series ${g.labels.toString()}`,
      );
    for (const phi of phis) {
      const r = newStepSeries(new LabelsBuilder(g.labels).set(label, quantileLabel(phi[0])).labels(), ev.n, true);
      for (let i = 0; i < ev.n; i++) {
        if (mask?.[i]) continue;
        const bs = bucketsAt(g.members, i);
        if (bs.length === 0) continue;
        const { value, forced } = bucketQuantile(phi[i], bs);
        if (forced) {
          ev.ctx.infos.add(
            `PromQL info: input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name ${JSON.stringify(g.members[0].s.labels.get(METRIC_NAME))} ${argPos}`,
          );
        }
        r.values[i] = value;
        r.present[i] = 1;
      }
      if (r.present.some((x) => x)) out.push(r);
    }
  }
  return { type: 'vector', series: out };
}
