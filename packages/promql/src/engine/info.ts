/**
 * info(v, {selector}): Prometheus 3's (experimental) join of series with the data labels of info
 * series such as OpenTelemetry's `target_info`, matched on the identifying labels `instance` and
 * `job` that both carry. The selector's `__name__` matchers pick the info metrics (`target_info`
 * when there are none); its other matchers both filter the info series and name the only data
 * labels to add. Per step, the newest info sample (within the lookback) of each info metric and
 * identifying label set wins, so a series changing its data labels enriches with the new ones
 * from its first sample on. The info series are read at the times the argument's first selector
 * reads (its `@` and offset, and those of the subqueries around it), not at the step itself.
 */
import { Labels, LabelsBuilder, Matcher, METRIC_NAME, StrataError } from '@strata/model';
import type { Call, Expr, TimeModifiers, VectorSelector } from '../ast.js';
import type { Evaluator } from './evaluator.js';
import { isStale } from './stale.js';
import { advance, bounds, histogramAt, newStepSeries, setHistogram, type StepSeries, type VectorValue } from './values.js';

export const DEFAULT_INFO_METRIC = 'target_info';
export const IDENTIFYING_LABELS = ['instance', 'job'] as const;

/**
 * The `__name__` matchers that pick the info metrics: the query's when one is positive; only
 * negative ones narrow the metrics whose names end in `_info`; none means `target_info`.
 */
export function infoNameMatchers(selector: VectorSelector | undefined): Matcher[] {
  const named = selector ? selector.matchers.filter((m) => m.name === METRIC_NAME) : [];
  if (named.some((m) => m.type === '=' || m.type === '=~')) return named;
  if (named.length > 0) return [new Matcher('=~', METRIC_NAME, '.+_info'), ...named];
  return [new Matcher('=', METRIC_NAME, DEFAULT_INFO_METRIC)];
}

/**
 * The matchers of the info series an info() call may read, before the identifying labels of its
 * argument narrow them: what a cost estimate can count without evaluating the argument.
 */
export function infoSeriesMatchers(call: Call): Matcher[] {
  const selector = infoSelector(call);
  const data = selector ? selector.matchers.filter((m) => m.name !== METRIC_NAME) : [];
  return [...data, ...infoNameMatchers(selector)];
}

function infoSelector(call: Call): VectorSelector | undefined {
  const s = call.args[1];
  return s?.kind === 'VectorSelector' ? s : undefined;
}

/**
 * The time modifiers the info series are read with: those of the argument's first vector
 * selector, plus the offsets of the subqueries around it up to the first one pinned by `@`.
 */
export function infoTimeModifiers(arg: Expr): TimeModifiers {
  const path: Expr[] = [];
  const first = firstSelector(arg, path);
  if (!first) return { offset: 0, at: null, atModifier: null };
  const out: TimeModifiers = { offset: first.offset, at: first.at, atModifier: first.atModifier };
  for (let i = path.length - 1; i >= 0 && out.at === null && out.atModifier === null; i--) {
    const sq = path[i];
    if (sq.kind !== 'SubqueryExpr') continue;
    out.offset += sq.offset;
    out.at = sq.at;
    out.atModifier = sq.atModifier;
  }
  return out;
}

/** The first vector selector in evaluation order (depth first), with the expressions above it. */
function firstSelector(e: Expr, path: Expr[]): VectorSelector | undefined {
  if (e.kind === 'VectorSelector') return e;
  path.push(e);
  let kids: Expr[];
  switch (e.kind) {
    case 'MatrixSelector':
      kids = [e.vectorSelector];
      break;
    case 'SubqueryExpr':
    case 'ParenExpr':
    case 'UnaryExpr':
      kids = [e.expr];
      break;
    case 'Call':
      kids = e.args;
      break;
    case 'AggregateExpr':
      kids = e.param ? [e.expr, e.param] : [e.expr];
      break;
    case 'BinaryExpr':
      kids = [e.lhs, e.rhs];
      break;
    default:
      kids = [];
  }
  for (const k of kids) {
    const found = firstSelector(k, path);
    if (found) return found;
  }
  path.pop();
  return undefined;
}

/**
 * Past this many values of an identifying label the info series are selected without a matcher
 * on it and sorted out here: an alternation of 50k values takes re2js 2.5 s to compile, on this
 * thread and again in every store; the info series of a tenant are few beside that.
 */
const MAX_ID_ALTERNATIVES = 256;

/** An RE2 pattern matching exactly one of the values. */
function alternation(values: Iterable<string>): string {
  return [...values].map((v) => v.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&')).join('|');
}

/** What info series are matched on: the metric name and the identifying labels a series has. */
function signature(name: string, l: Labels): string {
  let sig = name;
  for (const id of IDENTIFYING_LABELS) {
    const v = l.get(id);
    if (v !== '') sig += `\xff${id}\xff${v}`;
  }
  return sig;
}

/** The info series of one signature and, per step, which of them has the newest sample (-1: none). */
interface InfoGroup {
  members: Labels[];
  winner: Int32Array;
}

export async function evalInfo(ev: Evaluator, e: Call): Promise<VectorValue> {
  const selector = infoSelector(e);
  const nameMatchers = infoNameMatchers(selector);
  const dataMatchers = selector ? selector.matchers.filter((m) => m.name !== METRIC_NAME) : [];
  const dataNames = new Set(dataMatchers.map((m) => m.name));
  const dropUnmatched = dataMatchers.some((m) => !m.matchesEmpty());
  const times = ev.modifiedTimes(infoTimeModifiers(e.args[0]));

  const base = await ev.evalVector(e.args[0]);
  // Info series among the argument are passed on as they are, never enriched.
  const isInfo = base.series.map((s) => nameMatchers.every((m) => m.matches(s.labels.get(METRIC_NAME))));
  const idValues = new Map<string, Set<string>>();
  base.series.forEach((s, k) => {
    if (isInfo[k]) return;
    for (const id of IDENTIFYING_LABELS) {
      const v = s.labels.get(id);
      if (v === '') continue;
      let set = idValues.get(id);
      if (!set) idValues.set(id, (set = new Set()));
      set.add(v);
    }
  });
  const groups = idValues.size === 0 ? new Map<string, InfoGroup>() : await infoGroups(ev, times, idValues, dataMatchers, nameMatchers);
  const infoNames = new Set<string>();
  for (const g of groups.values()) infoNames.add(g.members[0].get(METRIC_NAME));

  const n = ev.n;
  const out = new Map<string, StepSeries>();
  const emit = (labels: Labels, src: StepSeries, i: number): void => {
    const key = src.dropName ? `${labels.key()}\xffdrop` : labels.key();
    let r = out.get(key);
    if (!r) out.set(key, (r = newStepSeries(labels, n, src.dropName)));
    if (r.present[i]) throw new StrataError('query-execution', 'vector cannot contain metrics with the same labelset');
    r.values[i] = src.values[i];
    r.present[i] = 1;
    const h = histogramAt(src, i);
    if (h) setHistogram(r, i, h);
  };
  base.series.forEach((s, k) => {
    if (isInfo[k]) {
      for (let i = 0; i < n; i++) if (s.present[i]) emit(s.labels, s, i);
      return;
    }
    const mine: InfoGroup[] = [];
    for (const name of infoNames) {
      const g = groups.get(signature(name, s.labels));
      if (g) mine.push(g);
    }
    // Steps with the same winning info series share their labels: they are built when it changes.
    const prev = new Int32Array(mine.length);
    let labels: Labels | undefined;
    let built = false;
    for (let i = 0; i < n; i++) {
      if (!s.present[i]) continue;
      let same = built;
      for (let g = 0; g < mine.length; g++) if (mine[g].winner[i] !== prev[g]) same = false;
      if (!same) {
        built = true;
        for (let g = 0; g < mine.length; g++) prev[g] = mine[g].winner[i];
        labels = enriched(s.labels, mine, i, dataNames, dropUnmatched);
      }
      if (labels) emit(labels, s, i);
    }
  });
  return { type: 'vector', series: [...out.values()] };
}

/** The base labels with the data labels of the step's winning info series; undefined drops the sample. */
function enriched(
  baseLabels: Labels,
  groups: readonly InfoGroup[],
  i: number,
  dataNames: ReadonlySet<string>,
  dropUnmatched: boolean,
): Labels | undefined {
  const b = new LabelsBuilder(baseLabels);
  const added = new Map<string, string>();
  let matched = false;
  for (const g of groups) {
    const w = g.winner[i];
    if (w < 0) continue;
    matched = true;
    g.members[w].forEach((name, value) => {
      if (name === METRIC_NAME || (dataNames.size > 0 && !dataNames.has(name))) return;
      const have = added.get(name);
      if (have !== undefined && have !== value) throw new StrataError('query-execution', `conflicting label: ${name}`);
      if (baseLabels.has(name)) return;
      added.set(name, value);
      b.set(name, value);
    });
  }
  // With no info series, a data matcher that needs a value cannot hold.
  if (!matched && dropUnmatched) return undefined;
  return added.size === 0 ? baseLabels : b.labels();
}

/** Whether the info series has one of the values met of every identifying label (what the select's matchers say, or would). */
function idMatch(l: Labels, idValues: ReadonlyMap<string, ReadonlySet<string>>): boolean {
  for (const [id, values] of idValues) if (!values.has(l.get(id))) return false;
  return true;
}

/** Selects the candidate info series and picks, per signature and step, the one with the newest sample. */
async function infoGroups(
  ev: Evaluator,
  times: Float64Array,
  idValues: ReadonlyMap<string, ReadonlySet<string>>,
  dataMatchers: readonly Matcher[],
  nameMatchers: readonly Matcher[],
): Promise<Map<string, InfoGroup>> {
  const matchers: Matcher[] = [];
  for (const [id, values] of idValues) if (values.size <= MAX_ID_ALTERNATIVES) matchers.push(new Matcher('=~', id, alternation(values)));
  matchers.push(...dataMatchers, ...nameMatchers);
  const lookback = ev.ctx.opts.lookbackDeltaMs;
  const { min, max } = bounds(times);
  const fetched = await ev.ctx.querier.select(matchers, {
    start: min - lookback + 1,
    end: max,
    func: 'info',
    signal: ev.ctx.signal,
    maxResolution: ev.ctx.maxResolution,
  });
  const n = ev.n;
  const groups = new Map<string, InfoGroup>();
  // The sample time each group's current winner has at each step.
  const newest = new Map<InfoGroup, Float64Array>();
  for (const s of fetched) {
    if (!idMatch(s.labels, idValues)) continue;
    ev.ctx.addSamples(s.timestamps.length);
    const sig = signature(s.labels.get(METRIC_NAME), s.labels);
    let g = groups.get(sig);
    if (!g) {
      g = { members: [], winner: new Int32Array(n).fill(-1) };
      groups.set(sig, g);
      newest.set(g, new Float64Array(n));
    }
    const at = newest.get(g)!;
    const me = g.members.length;
    g.members.push(s.labels);
    let next = 0;
    let prevT = -Infinity;
    for (let i = 0; i < n; i++) {
      ev.ctx.checkCancelled();
      const t = times[i];
      if (t < prevT) next = 0;
      prevT = t;
      next = advance(s.timestamps, next, t);
      const j = next - 1;
      if (j < 0 || s.timestamps[j] <= t - lookback || isStale(s.values, j)) continue;
      if (s.histograms?.[j]) throw new StrataError('query-execution', 'info sample should be float');
      const sampleT = s.timestamps[j];
      const w = g.winner[i];
      if (w >= 0 && at[i] === sampleT)
        throw new StrataError(
          'query-execution',
          `found duplicate series for info metric: existing ${g.members[w].toString()} @ ${sampleT}, new ${s.labels.toString()} @ ${sampleT}`,
        );
      if (w < 0 || sampleT > at[i]) {
        g.winner[i] = me;
        at[i] = sampleT;
      }
    }
    ev.ctx.samples -= s.timestamps.length;
  }
  return groups;
}
