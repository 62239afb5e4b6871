/**
 * Range query answers in the Prometheus JSON shape, and the operations the frontend needs on
 * them: merge sub-query answers that cover disjoint step ranges, and cut one to a step range.
 * Timestamps are compared in integer milliseconds (the JSON carries float seconds).
 */
import { Labels } from '@strata/model';

/**
 * One series of a matrix as Prometheus sends it: float samples in `values`, native-histogram
 * samples in `histograms`, each key left out when it has none (a histogram-only series has no
 * `values`). The histogram objects are passed through untouched.
 */
export interface MatrixSeriesJson {
  metric: Record<string, string>;
  values?: [number, string][];
  histograms?: [number, unknown][];
}

export interface RangeAnswer {
  series: MatrixSeriesJson[];
  warnings: string[];
  infos: string[];
}

const ms = (sec: number): number => Math.round(sec * 1000);

/** The canonical identity of a series: its label pairs in name order. */
function keyOf(metric: Record<string, string>): string {
  return JSON.stringify(Labels.fromObject(metric).pairs);
}

/**
 * Concatenates answers for disjoint step ranges, given in time order, into one: each series'
 * values stay in time order, series sorted by labels as the engine sorts a matrix.
 */
export function mergeAnswers(parts: readonly RangeAnswer[]): RangeAnswer {
  if (parts.length === 1) return parts[0];
  const byKey = new Map<string, MatrixSeriesJson>();
  const warnings = new Set<string>();
  const infos = new Set<string>();
  for (const p of parts) {
    for (const s of p.series) {
      const k = keyOf(s.metric);
      let have = byKey.get(k);
      if (!have) byKey.set(k, (have = { metric: s.metric }));
      if (s.values?.length) (have.values ??= []).push(...s.values);
      if (s.histograms?.length) (have.histograms ??= []).push(...s.histograms);
    }
    for (const w of p.warnings) warnings.add(w);
    for (const i of p.infos) infos.add(i);
  }
  const series = [...byKey.values()];
  if (series.length > 1) {
    const labels = new Map(series.map((s) => [s, Labels.fromObject(s.metric)]));
    series.sort((a, b) => Labels.compare(labels.get(a)!, labels.get(b)!));
  }
  return { series, warnings: [...warnings], infos: [...infos] };
}

/**
 * The part of an answer whose steps lie in [from, to] (ms); series left without values go. A
 * series' samples are in time order, so its cut is found by two binary searches and is the
 * series' own array when all of it lies inside: a warm refresh cuts whole days of cached steps.
 */
export function cutAnswer(a: RangeAnswer, from: number, to: number): RangeAnswer {
  const series: MatrixSeriesJson[] = [];
  for (const s of a.series) {
    const values = s.values && inside(s.values, from, to);
    const histograms = s.histograms && inside(s.histograms, from, to);
    if (!values?.length && !histograms?.length) continue;
    const cut: MatrixSeriesJson = { metric: s.metric };
    if (values?.length) cut.values = values;
    if (histograms?.length) cut.histograms = histograms;
    series.push(cut);
  }
  return { series, warnings: a.warnings, infos: a.infos };
}

/** The samples of a time-ordered run whose steps lie in [from, to]: the run itself when all do. */
function inside<T extends [number, unknown]>(xs: T[], from: number, to: number): T[] {
  const lo = firstAtOrAfter(xs, from);
  const hi = firstAtOrAfter(xs, to + 1);
  return lo === 0 && hi === xs.length ? xs : xs.slice(lo, hi);
}

/** The index of the first sample at or after t (ms), xs.length when none is. */
function firstAtOrAfter(xs: readonly [number, unknown][], t: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ms(xs[mid][0]) < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Whether any series of the answers carries native-histogram samples. */
export function hasHistograms(answers: readonly RangeAnswer[]): boolean {
  return answers.some((a) => a.series.some((s) => (s.histograms?.length ?? 0) > 0));
}

/** The Prometheus API body of an answer. */
export function answerBody(a: RangeAnswer): Record<string, unknown> {
  const body: Record<string, unknown> = { status: 'success', data: { resultType: 'matrix', result: a.series } };
  if (a.warnings.length > 0) body.warnings = a.warnings;
  if (a.infos.length > 0) body.infos = a.infos;
  return body;
}

/**
 * The Prometheus API body of an instant query from the answer of a one-step range query at its
 * time: each series' one sample as `value`, or as `histogram` for a native histogram.
 */
export function vectorBody(a: RangeAnswer): Record<string, unknown> {
  const result: Record<string, unknown>[] = [];
  for (const s of a.series) {
    if (s.values?.length) result.push({ metric: s.metric, value: s.values[0] });
    else if (s.histograms?.length) result.push({ metric: s.metric, histogram: s.histograms[0] });
  }
  const body: Record<string, unknown> = { status: 'success', data: { resultType: 'vector', result } };
  if (a.warnings.length > 0) body.warnings = a.warnings;
  if (a.infos.length > 0) body.infos = a.infos;
  return body;
}

/** A downstream success body as an answer, or undefined when it is not a matrix success. */
export function answerOf(body: unknown): RangeAnswer | undefined {
  const b = body as { status?: string; data?: { resultType?: string; result?: MatrixSeriesJson[] }; warnings?: string[]; infos?: string[] };
  if (b?.status !== 'success' || b.data?.resultType !== 'matrix' || !Array.isArray(b.data.result)) return undefined;
  return { series: b.data.result, warnings: b.warnings ?? [], infos: b.infos ?? [] };
}
