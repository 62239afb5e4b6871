/**
 * LogQL evaluation over a LogQuerier. Log queries return streams (entries in [start, end), the
 * `limit` nearest the start or the end as `direction` says); metric queries are evaluated at each
 * step t of [start, end] with range windows (t - offset - range, t - offset], as Loki's range vectors.
 *
 * Samples of a metric query are kept per series in typed arrays (times relative to the read window's
 * start, in ns, as float64: exact for windows shorter than 104 days) and step results as one
 * Float64Array per series, so nothing is allocated per sample.
 */
import { Labels, StrataError, compileRegex, type CompiledRegex } from '@strata/model';
import { arith as promqlArith, type BinaryOp } from '@strata/promql';
import type { LogDirection, LogQuerier, LogSelectHints, LogStreamEntries } from '../types.js';
import type { BinaryExpr, Expr, Grouping, LogExpr, RangeAggExpr, SampleExpr, VectorAggExpr } from './ast.js';
import { ERROR_DETAILS_LABEL, ERROR_LABEL } from './extract.js';
import {
  andPredicates,
  compilePipeline,
  labelFilterFn,
  labelsRead,
  leadingLineFilters,
  lineFilterPredicate,
  requiredSubstrings,
  type Pipeline,
} from './pipeline.js';
import { expandReplacement } from './template-funcs.js';
import { parseBytes, parseDurationNs, parseGoFloat } from './units.js';
import { sampledOutTotal } from '../ingest/sampled-out.js';

export interface LogqlQueryOptions {
  startNs: bigint;
  endNs: bigint;
  /** Step of a metric range query; ignored for instant queries (start = end). */
  stepNs: bigint;
  /** Entries a log query returns at most (Loki's default 100). */
  limit: number;
  direction: LogDirection;
  signal?: AbortSignal;
  /** Series a metric query may produce (Loki's max_query_series); 0 = unlimited. */
  maxSeries?: number;
}

export interface LogqlStream {
  labels: Labels;
  timestampsNs: bigint[];
  lines: string[];
}

export interface LogqlSeries {
  labels: Labels;
  /** Step timestamps (ns) with values. */
  timestampsNs: bigint[];
  values: number[];
}

export interface LogqlStats {
  linesProcessed: number;
  bytesProcessed: number;
  entriesReturned: number;
  /** Lines (and their bytes) ingest sampling left out of the selected streams in the windows read, summed over the query's selectors. */
  sampledOutLines: number;
  sampledOutBytes: number;
}

/** Adds what sampling left out of a selector's streams in a window to the stats. */
async function countSampledOut(q: LogQuerier, matchers: LogExpr['matchers'], hints: LogSelectHints, stats: LogqlStats): Promise<void> {
  if (!q.sampledOut) return;
  const c = sampledOutTotal(await q.sampledOut(matchers, hints));
  stats.sampledOutLines += c.entries;
  stats.sampledOutBytes += c.bytes;
}

export type LogqlResult =
  | { type: 'streams'; streams: LogqlStream[]; stats: LogqlStats }
  | { type: 'matrix'; series: LogqlSeries[]; stats: LogqlStats }
  | { type: 'scalar'; timestampNs: bigint; value: number; stats: LogqlStats };

/** One series of a step evaluation: a value per step, present where `present[i]` is 1. */
interface StepSeries {
  labels: Labels;
  values: Float64Array;
  present: Uint8Array;
}

type StepValue = { kind: 'vector'; series: StepSeries[] } | { kind: 'scalar'; values: Float64Array };

function checkAbort(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new StrataError('query-canceled', 'query was cancelled');
}

/** The hints for selecting a log expression's streams: leading line filters pushed down. */
export function selectHints(log: LogExpr, startNs: bigint, endNs: bigint, extra: Partial<LogSelectHints> = {}): LogSelectHints {
  const leading = leadingLineFilters(log.stages);
  const required = requiredSubstrings(leading);
  const lineFilter = andPredicates(leading.map(lineFilterPredicate));
  return {
    startNs,
    endNs,
    ...(required.length ? { requiredSubstrings: required } : {}),
    ...(lineFilter ? { lineFilter, lineFilters: leading } : {}),
    ...extra,
  };
}

export async function evaluateLogql(expr: Expr, q: LogQuerier, opts: LogqlQueryOptions): Promise<LogqlResult> {
  const stats: LogqlStats = { linesProcessed: 0, bytesProcessed: 0, entriesReturned: 0, sampledOutLines: 0, sampledOutBytes: 0 };
  if (expr.k === 'log') return { type: 'streams', streams: await evalLogQuery(expr, q, opts, stats), stats };
  const steps: bigint[] = [];
  if (opts.stepNs <= 0n || opts.startNs === opts.endNs) steps.push(opts.endNs);
  else for (let t = opts.startNs; t <= opts.endNs; t += opts.stepNs) steps.push(t);
  const ev = new StepEvaluator(q, steps, opts, stats);
  const v = await ev.eval(expr);
  if (v.kind === 'scalar') {
    if (steps.length === 1) return { type: 'scalar', timestampNs: steps[0], value: v.values[0], stats };
    return {
      type: 'matrix',
      series: [toSeries({ labels: Labels.EMPTY, values: v.values, present: new Uint8Array(steps.length).fill(1) }, steps)],
      stats,
    };
  }
  const out = v.series.filter((s) => s.present.some((p) => p === 1)).map((s) => toSeries(s, steps));
  if (opts.maxSeries && out.length > opts.maxSeries)
    throw new StrataError(
      'logql-max-series',
      `maximum number of series (${opts.maxSeries}) reached for a single query; consider reducing query cardinality by adding more filters or aggregation`,
    );
  if (!(expr.k === 'agg' && (expr.op === 'sort' || expr.op === 'sort_desc' || expr.op === 'topk' || expr.op === 'bottomk')))
    out.sort((a, b) => Labels.compare(a.labels, b.labels));
  else if (steps.length === 1) {
    const desc = expr.op === 'sort_desc' || expr.op === 'topk';
    out.sort((a, b) => (desc ? b.values[0] - a.values[0] : a.values[0] - b.values[0]) || Labels.compare(a.labels, b.labels));
  }
  return { type: 'matrix', series: out, stats };
}

function toSeries(s: StepSeries, steps: readonly bigint[]): LogqlSeries {
  const ts: bigint[] = [];
  const vs: number[] = [];
  for (let i = 0; i < steps.length; i++)
    if (s.present[i]) {
      ts.push(steps[i]);
      vs.push(s.values[i]);
    }
  return { labels: s.labels, timestampsNs: ts, values: vs };
}

function labelsFromMap(m: Map<string, string>): Labels {
  return Labels.fromMap(m);
}

/** A metric query fails on an entry its pipeline marked with __error__, as Loki's does. */
function pipelineError(labels: Map<string, string>): StrataError {
  const err = labels.get(ERROR_LABEL)!;
  return new StrataError(
    'logql-pipeline-error',
    `pipeline error: '${err}' for series: '${labelsFromMap(labels).toString()}'. Use a label filter to intentionally skip this error. (e.g | __error__!="${err}"). To skip all potential errors you can match empty errors.(e.g __error__="") The label filter can also be specified after unwrap. (e.g | unwrap latency | __error__="" )`,
  );
}

/** The grouped labels of an entry straight from its label map: `by` needs no sort of the whole set. */
function groupFromMap(m: Map<string, string>, g: Grouping | undefined, sortedBy: readonly string[]): Labels {
  if (!g) return Labels.fromMap(m);
  if (g.without) {
    const drop = new Set(g.labels);
    const pairs: string[] = [];
    for (const [k, v] of m) if (!drop.has(k)) pairs.push(k, v);
    return Labels.fromPairs(pairs);
  }
  const pairs: string[] = [];
  for (const n of sortedBy) {
    const v = m.get(n);
    if (v !== undefined && v !== '') pairs.push(n, v);
  }
  return Labels.fromSortedPairs(pairs);
}

/** Range functions whose value over merged samples is the sum of their values per series: `sum by` can group at extraction. */
const ADDITIVE = new Set(['count_over_time', 'rate', 'bytes_over_time', 'bytes_rate', 'sum_over_time']);

async function evalLogQuery(expr: LogExpr, q: LogQuerier, opts: LogqlQueryOptions, stats: LogqlStats): Promise<LogqlStream[]> {
  const pipeline = compilePipeline(expr.stages);
  const hints = selectHints(expr, opts.startNs, opts.endNs, {
    // A store may stop after `limit` entries only when no later stage can drop one.
    ...(pipeline.linesOnly ? { limit: opts.limit } : {}),
    direction: opts.direction,
    signal: opts.signal,
  });
  const [selected] = await Promise.all([q.selectLogs(expr.matchers, hints), countSampledOut(q, expr.matchers, hints, stats)]);
  const byLabels = new Map<string, LogqlStream>();
  for (const s of selected) {
    checkAbort(opts.signal);
    const ts = s.timestampsNs;
    for (let i = 0; i < ts.length; i++) {
      if (ts[i] < opts.startNs || ts[i] >= opts.endNs) continue;
      const line = s.lines[i];
      stats.linesProcessed++;
      stats.bytesProcessed += Buffer.byteLength(line);
      let labels: Labels;
      let outLine = line;
      if (pipeline.linesOnly) {
        if (!pipeline.test(line)) continue;
        labels = s.labels;
        const md = s.metadata?.[i];
        if (md && md.size) labels = mergeLabels(s.labels, md);
      } else {
        const r = await pipeline.run(line, ts[i], s.labels, s.metadata?.[i]);
        if (!r) continue;
        labels = labelsFromMap(r.labels);
        outLine = r.line;
      }
      const key = labels.key();
      let out = byLabels.get(key);
      if (!out) byLabels.set(key, (out = { labels, timestampsNs: [], lines: [] }));
      out.timestampsNs.push(ts[i]);
      out.lines.push(outLine);
    }
  }
  const streams = limitEntries([...byLabels.values()], opts.limit, opts.direction);
  stats.entriesReturned = streams.reduce((n, s) => n + s.lines.length, 0);
  streams.sort((a, b) => Labels.compare(a.labels, b.labels));
  return streams;
}

function mergeLabels(a: Labels, b: Labels): Labels {
  const m = new Map<string, string>();
  for (let i = 0; i < a.pairs.length; i += 2) m.set(a.pairs[i], a.pairs[i + 1]);
  for (let i = 0; i < b.pairs.length; i += 2) m.set(b.pairs[i], b.pairs[i + 1]);
  return Labels.fromMap(m);
}

/** The `limit` entries nearest the start (forward) or end (backward) across streams, each stream's entries in that order. */
function limitEntries(streams: LogqlStream[], limit: number, direction: LogDirection): LogqlStream[] {
  // Each stream's entries are ascending (entries of one source stream arrive in time order; merged
  // output streams may interleave sources, so sort by time keeping push order for ties).
  for (const s of streams) {
    const idx = s.timestampsNs.map((_, i) => i);
    let sorted = true;
    for (let i = 1; i < s.timestampsNs.length; i++) if (s.timestampsNs[i] < s.timestampsNs[i - 1]) sorted = false;
    if (!sorted) {
      idx.sort((a, b) => (s.timestampsNs[a] < s.timestampsNs[b] ? -1 : s.timestampsNs[a] > s.timestampsNs[b] ? 1 : a - b));
      s.timestampsNs = idx.map((i) => s.timestampsNs[i]);
      s.lines = idx.map((i) => s.lines[i]);
    }
  }
  const total = streams.reduce((n, s) => n + s.lines.length, 0);
  const keep = streams.map((s) => (total <= limit ? s.lines.length : 0));
  if (total > limit) {
    // Walk all streams at once from the chosen end, taking the nearest entry each time.
    const cur = streams.map((s) => (direction === 'forward' ? 0 : s.lines.length - 1));
    for (let taken = 0; taken < limit; taken++) {
      let best = -1;
      for (let j = 0; j < streams.length; j++) {
        const c = cur[j];
        if (c < 0 || c >= streams[j].lines.length) continue;
        if (best < 0) best = j;
        else {
          const t = streams[j].timestampsNs[c];
          const bt = streams[best].timestampsNs[cur[best]];
          if (direction === 'forward' ? t < bt : t > bt) best = j;
        }
      }
      if (best < 0) break;
      keep[best]++;
      cur[best] += direction === 'forward' ? 1 : -1;
    }
  }
  const out: LogqlStream[] = [];
  streams.forEach((s, j) => {
    const n = keep[j];
    if (n === 0) return;
    let ts = direction === 'forward' ? s.timestampsNs.slice(0, n) : s.timestampsNs.slice(s.lines.length - n);
    let lines = direction === 'forward' ? s.lines.slice(0, n) : s.lines.slice(s.lines.length - n);
    if (direction === 'backward') {
      ts = ts.reverse();
      lines = lines.reverse();
    }
    out.push({ labels: s.labels, timestampsNs: ts, lines });
  });
  return out;
}

/** The samples of one extracted series: times relative to the evaluator's base, ascending. */
interface SampleSeries {
  labels: Labels;
  times: number[];
  values: number[];
}

function groupLabels(labels: Labels, g: Grouping | undefined): Labels {
  if (!g) return labels;
  const keep = new Set(g.labels);
  const out: string[] = [];
  const p = labels.pairs;
  for (let i = 0; i < p.length; i += 2) if (keep.has(p[i]) !== g.without) out.push(p[i], p[i + 1]);
  return Labels.fromSortedPairs(out);
}

class StepEvaluator {
  private readonly n: number;

  constructor(
    private readonly q: LogQuerier,
    private readonly steps: readonly bigint[],
    private readonly opts: LogqlQueryOptions,
    private readonly stats: LogqlStats,
  ) {
    this.n = steps.length;
  }

  async eval(e: SampleExpr): Promise<StepValue> {
    checkAbort(this.opts.signal);
    switch (e.k) {
      case 'number':
        return { kind: 'scalar', values: new Float64Array(this.n).fill(e.value) };
      case 'vector':
        return {
          kind: 'vector',
          series: [{ labels: Labels.EMPTY, values: new Float64Array(this.n).fill(e.value), present: new Uint8Array(this.n).fill(1) }],
        };
      case 'range':
        return { kind: 'vector', series: await this.rangeAgg(e) };
      case 'agg':
        // sum by (x) (count_over_time(...)) groups the samples as they are extracted, so an entry's
        // full label set never becomes a series of its own (Loki pushes the grouping down the same way).
        if (e.op === 'sum' && e.inner.k === 'range' && !e.inner.grouping && ADDITIVE.has(e.inner.fn) && e.inner.fn !== 'absent_over_time')
          return { kind: 'vector', series: this.vectorAgg(e, await this.rangeAgg(e.inner, e.grouping ?? { without: false, labels: [] })) };
        return { kind: 'vector', series: this.vectorAgg(e, await this.vectorOf(e.inner)) };
      case 'label_replace':
        return { kind: 'vector', series: labelReplace(await this.vectorOf(e.inner), e.dst, e.replacement, e.src, compileRegex(e.regex)) };
      case 'binary':
        return this.binary(e);
    }
  }

  private async vectorOf(e: SampleExpr): Promise<StepSeries[]> {
    const v = await this.eval(e);
    if (v.kind === 'scalar') throw new StrataError('bad-query', 'parse error : expected a vector, got a scalar');
    return v.series;
  }

  /** Runs the pipeline and extracts each entry's sample, grouping samples by their series labels. */
  private async extract(
    e: RangeAggExpr,
    base: bigint,
    fromNs: bigint,
    toNs: bigint,
    grouping: Grouping | undefined,
  ): Promise<SampleSeries[]> {
    const sortedBy = grouping && !grouping.without ? [...new Set(grouping.labels)].sort() : [];
    const unwrap = e.unwrap;
    const read = labelsRead(e.log.stages, grouping, unwrap);
    const pipeline = compilePipeline(e.log.stages, read);
    // The pipeline that sets every label, for the message of an error (which lists them all).
    const full = read ? compilePipeline(e.log.stages) : pipeline;
    const hints = selectHints(e.log, fromNs, toNs, { signal: this.opts.signal });
    const [selected] = await Promise.all([
      this.q.selectLogs(e.log.matchers, hints),
      countSampledOut(this.q, e.log.matchers, hints, this.stats),
    ]);
    const bySeries = new Map<string, SampleSeries>();
    const post = unwrap?.post.map(labelFilterFn) ?? [];
    const bytes = e.fn === 'bytes_over_time' || e.fn === 'bytes_rate';
    /** The entry's labels and value after the pipeline and the unwrap; undefined when dropped. */
    const sample = async (p: Pipeline, line: string, t: bigint, s: LogStreamEntries, i: number) => {
      const r = await p.run(line, t, s.labels, s.metadata?.[i]);
      if (!r) return undefined;
      let value = 1;
      if (unwrap) {
        const raw = r.labels.get(unwrap.label) ?? '';
        const v = convertUnwrapped(raw, unwrap.conversion);
        if (v === undefined) {
          if (!r.labels.has(ERROR_LABEL)) {
            r.labels.set(ERROR_LABEL, 'SampleExtractionErr');
            r.labels.set(ERROR_DETAILS_LABEL, `strconv.ParseFloat: parsing "${raw}": invalid syntax`);
          }
          value = 0;
        } else value = v;
        r.labels.delete(unwrap.label);
        let kept = true;
        for (const f of post) if (!f(r.labels)) kept = false;
        if (!kept) return undefined;
      }
      return { r, value };
    };
    for (const s of selected) {
      checkAbort(this.opts.signal);
      const ts = s.timestampsNs;
      for (let i = 0; i < ts.length; i++) {
        if (ts[i] < fromNs || ts[i] >= toNs) continue;
        const line = s.lines[i];
        this.stats.linesProcessed++;
        this.stats.bytesProcessed += Buffer.byteLength(line);
        let labels: Labels;
        let value = 1;
        let outLine = line;
        let grouped = false;
        if (pipeline.linesOnly && !unwrap) {
          if (!pipeline.test(line)) continue;
          const md = s.metadata?.[i];
          labels = md && md.size ? mergeLabels(s.labels, md) : s.labels;
        } else {
          const got = await sample(pipeline, line, ts[i], s, i);
          if (!got) continue;
          const r = got.r;
          value = got.value;
          outLine = r.line;
          if (r.labels.has(ERROR_LABEL)) {
            const all = full === pipeline ? got : await sample(full, line, ts[i], s, i);
            throw pipelineError((all ?? got).r.labels);
          }
          labels = groupFromMap(r.labels, grouping, sortedBy);
          grouped = true;
        }
        if (bytes) value = Buffer.byteLength(outLine);
        if (!grouped) labels = groupLabels(labels, grouping);
        const key = labels.key();
        let out = bySeries.get(key);
        if (!out) bySeries.set(key, (out = { labels, times: [], values: [] }));
        out.times.push(Number(ts[i] - base));
        out.values.push(value);
      }
    }
    for (const s of bySeries.values()) sortSamples(s);
    return [...bySeries.values()];
  }

  /** `grouping` overrides the expression's own (a `sum by` above it pushes its grouping here). */
  private async rangeAgg(e: RangeAggExpr, grouping: Grouping | undefined = e.grouping): Promise<StepSeries[]> {
    const first = this.steps[0] - e.offsetNs - e.rangeNs;
    const last = this.steps[this.n - 1] - e.offsetNs;
    // The window is open at its start: read from just after it; toNs is exclusive.
    const series = await this.extract(e, first, first + 1n, last + 1n, grouping);
    const rangeSec = Number(e.rangeNs) / 1e9;
    const rangeNs = Number(e.rangeNs);
    if (e.fn === 'absent_over_time') return this.absent(e, series, first);
    const out: StepSeries[] = [];
    for (const s of series) {
      const values = new Float64Array(this.n);
      const present = new Uint8Array(this.n);
      let lo = 0;
      let hi = 0;
      for (let k = 0; k < this.n; k++) {
        const end = Number(this.steps[k] - e.offsetNs - first);
        const start = end - rangeNs;
        while (lo < s.times.length && s.times[lo] <= start) lo++;
        while (hi < s.times.length && s.times[hi] <= end) hi++;
        if (hi <= lo) continue;
        const v = rangeFn(e, s, lo, hi, start, end, rangeSec);
        if (v === undefined) continue;
        values[k] = v;
        present[k] = 1;
      }
      out.push({ labels: s.labels, values, present });
    }
    return out;
  }

  private absent(e: RangeAggExpr, series: SampleSeries[], first: bigint): StepSeries[] {
    const values = new Float64Array(this.n);
    const present = new Uint8Array(this.n);
    const rangeNs = Number(e.rangeNs);
    for (let k = 0; k < this.n; k++) {
      const end = Number(this.steps[k] - e.offsetNs - first);
      const start = end - rangeNs;
      const any = series.some((s) => s.times.some((t) => t > start && t <= end));
      if (!any) {
        values[k] = 1;
        present[k] = 1;
      }
    }
    // Labels of the equality matchers, as Prometheus' absent derives them.
    const pairs: string[] = [];
    const seen = new Set<string>();
    for (const m of e.log.matchers)
      if (m.type === '=' && !seen.has(m.name)) {
        seen.add(m.name);
        pairs.push(m.name, m.value);
      }
    return [{ labels: Labels.fromPairs(pairs), values, present }];
  }

  private vectorAgg(e: VectorAggExpr, input: StepSeries[]): StepSeries[] {
    if (e.op === 'sort' || e.op === 'sort_desc') return input;
    const groups = new Map<string, { labels: Labels; members: StepSeries[] }>();
    for (const s of input) {
      const g = e.grouping ? groupLabels(s.labels, e.grouping) : Labels.EMPTY;
      const key = g.key();
      let grp = groups.get(key);
      if (!grp) groups.set(key, (grp = { labels: g, members: [] }));
      grp.members.push(s);
    }
    if (e.op === 'topk' || e.op === 'bottomk') {
      const k = e.param!;
      const kept = new Map<StepSeries, StepSeries>();
      for (const { members } of groups.values()) {
        for (let i = 0; i < this.n; i++) {
          const here = members.filter((m) => m.present[i]);
          here.sort(
            (a, b) => (e.op === 'topk' ? b.values[i] - a.values[i] : a.values[i] - b.values[i]) || Labels.compare(a.labels, b.labels),
          );
          for (const m of here.slice(0, k)) {
            let o = kept.get(m);
            if (!o) kept.set(m, (o = { labels: m.labels, values: new Float64Array(this.n), present: new Uint8Array(this.n) }));
            o.values[i] = m.values[i];
            o.present[i] = 1;
          }
        }
      }
      return [...kept.values()];
    }
    const out: StepSeries[] = [];
    for (const { labels, members } of groups.values()) {
      const values = new Float64Array(this.n);
      const present = new Uint8Array(this.n);
      for (let i = 0; i < this.n; i++) {
        let count = 0;
        let sum = 0;
        let min = Infinity;
        let max = -Infinity;
        let mean = 0;
        let m2 = 0;
        for (const m of members) {
          if (!m.present[i]) continue;
          const v = m.values[i];
          count++;
          sum += v;
          if (v < min || Number.isNaN(min)) min = v;
          if (v > max || Number.isNaN(max)) max = v;
          const d = v - mean;
          mean += d / count;
          m2 += d * (v - mean);
        }
        if (count === 0) continue;
        present[i] = 1;
        values[i] =
          e.op === 'sum'
            ? sum
            : e.op === 'avg'
              ? sum / count
              : e.op === 'min'
                ? min
                : e.op === 'max'
                  ? max
                  : e.op === 'count'
                    ? count
                    : e.op === 'stdvar'
                      ? m2 / count
                      : Math.sqrt(m2 / count);
      }
      out.push({ labels, values, present });
    }
    return out;
  }

  private async binary(e: BinaryExpr): Promise<StepValue> {
    const l = await this.eval(e.lhs);
    const r = await this.eval(e.rhs);
    const n = this.n;
    const comparison = ['==', '!=', '>', '>=', '<', '<='].includes(e.op);
    if (l.kind === 'scalar' && r.kind === 'scalar') {
      const values = new Float64Array(n);
      for (let i = 0; i < n; i++) values[i] = arith(e.op, l.values[i], r.values[i]);
      if (comparison && !e.bool) throw new StrataError('bad-query', 'parse error : comparisons between scalars must use BOOL modifier');
      return { kind: 'scalar', values };
    }
    if (e.op === 'and' || e.op === 'or' || e.op === 'unless') {
      if (l.kind === 'scalar' || r.kind === 'scalar')
        throw new StrataError('bad-query', `parse error : set operator "${e.op}" not allowed in binary scalar expression`);
      return { kind: 'vector', series: setOp(e, l.series, r.series, n) };
    }
    if (l.kind === 'scalar' || r.kind === 'scalar') {
      const vec = (l.kind === 'vector' ? l : r) as { series: StepSeries[] };
      const sc = (l.kind === 'scalar' ? l : r) as { values: Float64Array };
      const swap = l.kind === 'scalar';
      return {
        kind: 'vector',
        series: vec.series.map((s) => {
          const values = new Float64Array(n);
          const present = new Uint8Array(n);
          for (let i = 0; i < n; i++) {
            if (!s.present[i]) continue;
            const a = swap ? sc.values[i] : s.values[i];
            const b = swap ? s.values[i] : sc.values[i];
            const v = arith(e.op, a, b);
            if (comparison) {
              if (e.bool) {
                values[i] = v ? 1 : 0;
                present[i] = 1;
              } else if (v) {
                values[i] = s.values[i];
                present[i] = 1;
              }
            } else {
              values[i] = v!;
              present[i] = 1;
            }
          }
          return { labels: s.labels, values, present };
        }),
      };
    }
    return { kind: 'vector', series: vectorBinary(e, l.series, r.series, n, comparison) };
  }
}

function sortSamples(s: SampleSeries): void {
  let sorted = true;
  for (let i = 1; i < s.times.length; i++) if (s.times[i] < s.times[i - 1]) sorted = false;
  if (sorted) return;
  const idx = s.times.map((_, i) => i).sort((a, b) => s.times[a] - s.times[b] || a - b);
  s.times = idx.map((i) => s.times[i]);
  s.values = idx.map((i) => s.values[i]);
}

function convertUnwrapped(raw: string, conv: string): number | undefined {
  if (conv === 'duration' || conv === 'duration_seconds') {
    const ns = parseDurationNs(raw);
    return ns === undefined ? undefined : ns / 1e9;
  }
  if (conv === 'bytes') return parseBytes(raw);
  return parseGoFloat(raw);
}

/** Prometheus' quantile over sorted values (linear interpolation; φ outside [0, 1] gives ±Inf). */
function quantile(phi: number, vs: number[]): number {
  if (vs.length === 0) return NaN;
  if (phi < 0) return -Infinity;
  if (phi > 1) return Infinity;
  const sorted = [...vs].sort((a, b) => a - b);
  const rank = phi * (sorted.length - 1);
  const lo = Math.max(0, Math.floor(rank));
  const hi = Math.min(sorted.length - 1, lo + 1);
  const w = rank - Math.floor(rank);
  return sorted[lo] * (1 - w) + sorted[hi] * w;
}

/** Prometheus' extrapolated counter rate over the window (start, end], as Loki's rate_counter. */
function counterRate(
  times: number[],
  values: number[],
  lo: number,
  hi: number,
  start: number,
  end: number,
  rangeSec: number,
): number | undefined {
  const n = hi - lo;
  if (n < 2) return undefined;
  let result = values[hi - 1] - values[lo];
  for (let i = lo + 1; i < hi; i++) if (values[i] < values[i - 1]) result += values[i - 1];
  const firstT = times[lo];
  const lastT = times[hi - 1];
  let durationToStart = (firstT - start) / 1e9;
  const durationToEnd = (end - lastT) / 1e9;
  const sampled = (lastT - firstT) / 1e9;
  const avg = sampled / (n - 1);
  if (result > 0 && values[lo] >= 0) {
    const toZero = sampled * (values[lo] / result);
    if (toZero < durationToStart) durationToStart = toZero;
  }
  const threshold = avg * 1.1;
  let interval = sampled;
  interval += durationToStart < threshold ? durationToStart : avg / 2;
  interval += durationToEnd < threshold ? durationToEnd : avg / 2;
  return (result * (interval / sampled)) / rangeSec;
}

function rangeFn(
  e: RangeAggExpr,
  s: SampleSeries,
  lo: number,
  hi: number,
  start: number,
  end: number,
  rangeSec: number,
): number | undefined {
  const vs = s.values;
  const n = hi - lo;
  let sum = 0;
  for (let i = lo; i < hi; i++) sum += vs[i];
  switch (e.fn) {
    case 'count_over_time':
      return n;
    case 'rate':
      return (e.unwrap ? sum : n) / rangeSec;
    case 'bytes_over_time':
    case 'sum_over_time':
      return sum;
    case 'bytes_rate':
      return sum / rangeSec;
    case 'avg_over_time':
      return sum / n;
    case 'min_over_time': {
      let m = vs[lo];
      for (let i = lo + 1; i < hi; i++) if (vs[i] < m || Number.isNaN(m)) m = vs[i];
      return m;
    }
    case 'max_over_time': {
      let m = vs[lo];
      for (let i = lo + 1; i < hi; i++) if (vs[i] > m || Number.isNaN(m)) m = vs[i];
      return m;
    }
    case 'stdvar_over_time':
    case 'stddev_over_time': {
      let mean = 0;
      let m2 = 0;
      let c = 0;
      for (let i = lo; i < hi; i++) {
        c++;
        const d = vs[i] - mean;
        mean += d / c;
        m2 += d * (vs[i] - mean);
      }
      return e.fn === 'stdvar_over_time' ? m2 / c : Math.sqrt(m2 / c);
    }
    case 'quantile_over_time':
      return quantile(e.param!, vs.slice(lo, hi));
    case 'first_over_time':
      return vs[lo];
    case 'last_over_time':
      return vs[hi - 1];
    case 'rate_counter':
      return counterRate(s.times, vs, lo, hi, start, end, rangeSec);
    default:
      return undefined;
  }
}

/** Arithmetic or comparison of two sample values (comparisons as 1/0): PromQL's, which LogQL's binary operators share. */
const arith = (op: BinaryExpr['op'], a: number, b: number): number => promqlArith(op as BinaryOp, a, b);

function matchKey(labels: Labels, e: BinaryExpr): string {
  const m = e.matching;
  if (!m) return labels.key();
  return groupLabels(labels, { without: !m.on, labels: m.labels }).key();
}

function setOp(e: BinaryExpr, l: StepSeries[], r: StepSeries[], n: number): StepSeries[] {
  const rightAt = new Map<string, Uint8Array>();
  for (const s of r) {
    const k = matchKey(s.labels, e);
    const p = rightAt.get(k) ?? new Uint8Array(n);
    for (let i = 0; i < n; i++) p[i] |= s.present[i];
    rightAt.set(k, p);
  }
  if (e.op === 'and' || e.op === 'unless') {
    return l.map((s) => {
      const rp = rightAt.get(matchKey(s.labels, e));
      const present = new Uint8Array(n);
      for (let i = 0; i < n; i++) present[i] = s.present[i] && (e.op === 'and' ? rp?.[i] === 1 : rp?.[i] !== 1) ? 1 : 0;
      return { labels: s.labels, values: s.values, present };
    });
  }
  const leftAt = new Map<string, Uint8Array>();
  for (const s of l) {
    const k = matchKey(s.labels, e);
    const p = leftAt.get(k) ?? new Uint8Array(n);
    for (let i = 0; i < n; i++) p[i] |= s.present[i];
    leftAt.set(k, p);
  }
  const out = [...l];
  for (const s of r) {
    const lp = leftAt.get(matchKey(s.labels, e));
    const present = new Uint8Array(n);
    for (let i = 0; i < n; i++) present[i] = s.present[i] && lp?.[i] !== 1 ? 1 : 0;
    out.push({ labels: s.labels, values: s.values, present });
  }
  return out;
}

function resultLabels(lhs: Labels, rhs: Labels, e: BinaryExpr): Labels {
  const m = e.matching;
  if (!m || !m.group) {
    if (!m) return lhs;
    return groupLabels(lhs, { without: !m.on, labels: m.labels });
  }
  if (m.include.length === 0) return lhs;
  const map = new Map<string, string>();
  for (let i = 0; i < lhs.pairs.length; i += 2) map.set(lhs.pairs[i], lhs.pairs[i + 1]);
  for (const name of m.include) {
    const v = rhs.get(name);
    if (v === '') map.delete(name);
    else map.set(name, v);
  }
  return Labels.fromMap(map);
}

function vectorBinary(e: BinaryExpr, l: StepSeries[], r: StepSeries[], n: number, comparison: boolean): StepSeries[] {
  const right = e.matching?.group === 'right';
  const many = right ? r : l;
  const one = right ? l : r;
  const oneByKey = new Map<string, StepSeries[]>();
  for (const s of one) {
    const k = matchKey(s.labels, e);
    const list = oneByKey.get(k) ?? [];
    list.push(s);
    oneByKey.set(k, list);
  }
  const out = new Map<string, StepSeries>();
  const usedOne = new Map<string, number>();
  for (const s of many) {
    const k = matchKey(s.labels, e);
    const cands = oneByKey.get(k);
    if (!cands) continue;
    if (!e.matching?.group) {
      usedOne.set(k, (usedOne.get(k) ?? 0) + 1);
      if ((usedOne.get(k) ?? 0) > 1)
        throw new StrataError(
          'query-execution',
          'multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)',
        );
    }
    for (let i = 0; i < n; i++) {
      if (!s.present[i]) continue;
      const here = cands.filter((c) => c.present[i]);
      if (here.length === 0) continue;
      if (here.length > 1)
        throw new StrataError(
          'query-execution',
          'found duplicate series for the match group on the right hand-side of the operation: many-to-many matching not allowed',
        );
      const o = here[0];
      const lv = right ? o.values[i] : s.values[i];
      const rv = right ? s.values[i] : o.values[i];
      const v = arith(e.op, lv, rv);
      const labels = right ? resultLabels(s.labels, o.labels, e) : resultLabels(s.labels, o.labels, e);
      const key = labels.key();
      let res = out.get(key);
      if (!res) out.set(key, (res = { labels, values: new Float64Array(n), present: new Uint8Array(n) }));
      if (comparison && !e.bool) {
        if (!v) continue;
        res.values[i] = lv;
      } else res.values[i] = comparison ? (v ? 1 : 0) : v;
      res.present[i] = 1;
    }
  }
  return [...out.values()];
}

function labelReplace(input: StepSeries[], dst: string, replacement: string, src: string, re: CompiledRegex): StepSeries[] {
  return input.map((s) => {
    const m = re.exec(s.labels.get(src));
    if (!m) return s;
    const v = expandReplacement(replacement, (ref) => m.group(ref));
    const map = new Map<string, string>();
    for (let i = 0; i < s.labels.pairs.length; i += 2) map.set(s.labels.pairs[i], s.labels.pairs[i + 1]);
    if (v === '') map.delete(dst);
    else map.set(dst, v);
    return { labels: Labels.fromMap(map), values: s.values, present: s.present };
  });
}
