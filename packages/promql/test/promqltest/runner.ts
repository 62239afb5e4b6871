/** Runs promqltest scripts against the engine over a real head (TSDB), eval by eval. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CUSTOM_BUCKETS_SCHEMA, FloatHistogram, Labels, MergeQuerier } from '@strata/model';
import { STALE_NAN, TSDB } from '@strata/tsdb';
import { Engine, parse, type Expr, type QueryOutcome } from '@strata/promql';
import { promqltestDir } from './location.js';
import type { HistogramValue } from './histogram-literal.js';
import { HistogramStore } from './histogram-store.js';
import { parseScript, STALE, type EvalCmd, type LoadCmd, type ScriptValue } from './script.js';

export const STABLE = [
  'aggregators',
  'at_modifier',
  'collision',
  'functions',
  'histograms',
  'literals',
  'name_label_dropping',
  'operators',
  'range_queries',
  'selectors',
  'staleness',
  'subquery',
  'trig_functions',
];
export type Group = 'stable' | 'native-histograms' | 'experimental';

export interface EvalResult {
  file: string;
  line: number;
  expr: string;
  group: Group;
  outcome: 'passed' | 'failed' | 'skipped';
  reason?: string;
}

const EPSILON = 1e-6;
const MIN_NORMAL = 2.2250738585072014e-308;

/** Prometheus' almost-equal comparison for test results. */
export function almostEqual(a: number, b: number): boolean {
  if (Number.isNaN(a) && Number.isNaN(b)) return true;
  if (a === b) return true;
  const absSum = Math.abs(a) + Math.abs(b);
  const diff = Math.abs(a - b);
  if (a === 0 || b === 0 || absSum < MIN_NORMAL) return diff < EPSILON * MIN_NORMAL;
  return diff / Math.min(absSum, Number.MAX_VALUE) < EPSILON;
}

const isHistogram = (v: ScriptValue): v is HistogramValue => typeof v === 'object';

/** Floats go to the head; a series with any histogram sample goes whole to the histogram store. */
async function load(db: TSDB, hs: HistogramStore, cmd: LoadCmd): Promise<void> {
  const t = await db.tenant('t');
  const app = t.appender();
  const vals = new Float64Array(1);
  // A series listed twice in one block: the later line wins, as in Prometheus' test loader.
  const byKey = new Map<string, (typeof cmd.series)[number]>();
  for (const s of cmd.series) {
    const prev = byKey.get(s.labels.key());
    byKey.set(s.labels.key(), prev ? { labels: s.labels, values: mergeValues(prev.values, s.values) } : s);
  }
  for (const s of byKey.values()) {
    if (hs.has(s.labels) || s.values.some(isHistogram)) {
      s.values.forEach((v, i) => {
        if (v === undefined) return;
        if (isHistogram(v)) hs.append(s.labels, i * cmd.stepMs, 0, v.histogram);
        else hs.append(s.labels, i * cmd.stepMs, v === STALE ? STALE_NAN : v, undefined);
      });
      continue;
    }
    const ref = app.ref(s.labels);
    s.values.forEach((v, i) => {
      if (v === undefined || isHistogram(v)) return;
      vals[0] = v === STALE ? STALE_NAN : v;
      app.append(ref, i * cmd.stepMs, vals[0]);
    });
  }
  await app.commit();
  if (cmd.withNhcb) loadNhcb(hs, [...byKey.values()], cmd.stepMs);
}

/**
 * load_with_nhcb: each classic histogram (its _bucket series with le, _count, _sum) is also
 * loaded as a native histogram with custom buckets, named without the suffix, per timestamp.
 */
function loadNhcb(hs: HistogramStore, series: LoadCmd['series'], stepMs: number): void {
  interface Temp {
    buckets: Map<number, number>;
    count?: number;
    sum?: number;
  }
  const byBase = new Map<string, { labels: Labels; at: Map<number, Temp> }>();
  for (const s of series) {
    const name = s.labels.get('__name__');
    const m = /^(.*)_(bucket|count|sum)$/.exec(name);
    if (!m) continue;
    let le: number | undefined;
    if (m[2] === 'bucket') {
      const raw = s.labels.get('le');
      if (raw === '') continue;
      le = raw === '+Inf' ? Infinity : Number(raw);
      if (Number.isNaN(le)) continue;
    }
    const base = s.labels.with('__name__', m[1]).without('le');
    const k = base.key();
    let entry = byBase.get(k);
    if (!entry) {
      entry = { labels: base, at: new Map() };
      byBase.set(k, entry);
    }
    s.values.forEach((v, i) => {
      if (typeof v !== 'number') return;
      const t = i * stepMs;
      let temp = entry!.at.get(t);
      if (!temp) {
        temp = { buckets: new Map() };
        entry!.at.set(t, temp);
      }
      if (m[2] === 'bucket') temp.buckets.set(le!, v);
      else if (m[2] === 'count') temp.count = v;
      else temp.sum = v;
    });
  }
  for (const { labels, at } of byBase.values()) {
    const times = [...at.keys()].sort((a, b) => a - b);
    for (const t of times) {
      const temp = at.get(t)!;
      const les = [...temp.buckets.keys()].sort((a, b) => a - b);
      if (les.length === 0) continue;
      const cumulative = les.map((le) => temp.buckets.get(le)!);
      const count = temp.count ?? cumulative[cumulative.length - 1];
      if (les[les.length - 1] !== Infinity) {
        les.push(Infinity);
        cumulative.push(count);
      }
      if (count !== cumulative[cumulative.length - 1]) continue; // Prometheus refuses such a conversion
      const buckets = cumulative.map((c, i) => c - (i > 0 ? cumulative[i - 1] : 0));
      const h = new FloatHistogram({
        schema: CUSTOM_BUCKETS_SCHEMA,
        count,
        sum: temp.sum ?? 0,
        customValues: les.slice(0, -1),
        positiveSpans: [{ offset: 0, length: buckets.length }],
        positiveBuckets: buckets,
      });
      hs.append(labels, t, 0, h.compact());
    }
  }
}

/** Prometheus' comparison of an expected with a result histogram (both compacted); the hint only when the script wrote it. */
function histogramMismatch(exp: HistogramValue, got: FloatHistogram): boolean {
  const e = exp.histogram.copy().compact();
  const g = got.copy().compact();
  if (e.schema !== g.schema || !almostEqual(e.count, g.count) || !almostEqual(e.sum, g.sum)) return true;
  if (e.usesCustomBuckets() && (e.customValues ?? []).join() !== (g.customValues ?? []).join()) return true;
  if (e.zeroThreshold !== g.zeroThreshold || !almostEqual(e.zeroCount, g.zeroCount)) return true;
  const same = (a: { upper: number; count: number }[], b: { upper: number; count: number }[]) =>
    a.length === b.length && a.every((x, i) => x.upper === b[i].upper && almostEqual(x.count, b[i].count));
  if (!same(e.positiveBucketList(), g.positiveBucketList()) || !same(e.negativeBucketList(), g.negativeBucketList())) return true;
  return exp.hintSet && e.counterResetHint !== g.counterResetHint;
}

/** Why a result sample differs from the expected one, or undefined. */
function sampleMismatch(exp: number | HistogramValue, v: number, h: FloatHistogram | undefined): string | undefined {
  if (typeof exp === 'number') {
    if (h) return `expected ${fmt(exp)}, got histogram ${h.toString()}`;
    return almostEqual(v, exp) ? undefined : `expected ${fmt(exp)}, got ${fmt(v)}`;
  }
  if (!h) return `expected histogram ${exp.histogram.toString()}, got ${fmt(v)}`;
  return histogramMismatch(exp, h) ? `expected ${exp.histogram.toString()}, got ${h.toString()}` : undefined;
}

function mergeValues<T>(a: (T | undefined)[], b: (T | undefined)[]): (T | undefined)[] {
  const out = a.slice();
  b.forEach((v, i) => {
    if (v !== undefined) out[i] = v;
  });
  return out;
}

function fmt(v: number): string {
  return Number.isNaN(v) ? 'NaN' : v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : String(v);
}

/** Compares one eval's outcome with its expectations; returns a reason on mismatch. */
function check(cmd: EvalCmd, out: QueryOutcome): string | undefined {
  if (cmd.fail) return 'expected the query to fail, but it succeeded';
  if (cmd.warn && out.warnings.length === 0) return 'expected a warning, got none';
  if (cmd.warn?.msg && !out.warnings.includes(cmd.warn.msg))
    return `expected warning ${JSON.stringify(cmd.warn.msg)}, got ${JSON.stringify(out.warnings)}`;
  if (cmd.warn?.regex && !out.warnings.some((w) => new RegExp(cmd.warn!.regex!).test(w)))
    return `expected a warning matching /${cmd.warn.regex}/, got ${JSON.stringify(out.warnings)}`;
  if (cmd.info && out.infos.length === 0) return 'expected an info annotation, got none';
  if (cmd.info?.regex && !out.infos.some((w) => new RegExp(cmd.info!.regex!).test(w)))
    return `expected info matching /${cmd.info.regex}/, got ${JSON.stringify(out.infos)}`;
  if (cmd.info?.msg && !out.infos.includes(cmd.info.msg))
    return `expected info ${JSON.stringify(cmd.info.msg)}, got ${JSON.stringify(out.infos)}`;
  if (cmd.noWarn && out.warnings.length > 0) return `expected no warnings, got ${JSON.stringify(out.warnings)}`;
  if (cmd.noInfo && out.infos.length > 0) return `expected no info annotations, got ${JSON.stringify(out.infos)}`;
  const r = out.result;
  if (cmd.string !== undefined) {
    if (r.resultType !== 'string') return `expected string, got ${r.resultType}`;
    return r.value === cmd.string ? undefined : `expected string ${JSON.stringify(cmd.string)}, got ${JSON.stringify(r.value)}`;
  }
  if (r.resultType === 'scalar') {
    if (cmd.expected.length !== 1 || cmd.expected[0].labels !== null)
      return `got scalar ${fmt(r.v)}, expected ${cmd.expected.length} series`;
    const m = sampleMismatch(cmd.expected[0].values[0]!, r.v, undefined);
    return m && `scalar: ${m}`;
  }
  if (r.resultType === 'string') return 'unexpected string result';
  if (r.resultType === 'vector') {
    if (!cmd.instant) return 'range query returned a vector';
    if (r.vector.length !== cmd.expected.length) {
      return `expected ${cmd.expected.length} samples, got ${r.vector.length}: ${r.vector
        .slice(0, 5)
        .map((s) => `${s.labels.toString()} ${s.h ? s.h.toString() : fmt(s.v)}`)
        .join('; ')}`;
    }
    const byKey = new Map(r.vector.map((s, i) => [s.labels.key(), { s, i }]));
    for (let k = 0; k < cmd.expected.length; k++) {
      const exp = cmd.expected[k];
      const got = byKey.get((exp.labels ?? Labels.EMPTY).key());
      if (!got) return `missing series ${exp.labels?.toString()}`;
      if (cmd.ordered && got.i !== k) return `series ${exp.labels?.toString()} at position ${got.i}, expected ${k}`;
      const m = sampleMismatch(exp.values[0]!, got.s.v, got.s.h);
      if (m) return `${exp.labels?.toString()}: ${m}`;
    }
    return undefined;
  }
  // matrix
  const series = r.matrix;
  if (series.length !== cmd.expected.length) {
    return `expected ${cmd.expected.length} series, got ${series.length}: ${series
      .slice(0, 5)
      .map((s) => s.labels.toString())
      .join('; ')}`;
  }
  const byKey = new Map(series.map((s) => [s.labels.key(), s]));
  const start = cmd.rangeVector ? cmd.rangeVector.from : cmd.at;
  const step = cmd.rangeVector ? cmd.rangeVector.step : cmd.stepMs;
  for (const exp of cmd.expected) {
    const got = byKey.get((exp.labels ?? Labels.EMPTY).key());
    if (!got) return `missing series ${exp.labels?.toString()}`;
    const want: [number, number | HistogramValue][] = [];
    exp.values.forEach((v, i) => {
      if (v !== undefined) want.push([start + i * step, v]);
    });
    if (want.length !== got.timestamps.length) {
      return `${exp.labels?.toString()}: expected ${want.length} points, got ${got.timestamps.length} (${Array.from(
        got.timestamps.slice(0, 6),
      )
        .map((t, i) => `${t / 1000}:${fmt(got.values[i])}`)
        .join(' ')})`;
    }
    for (let i = 0; i < want.length; i++) {
      if (got.timestamps[i] !== want[i][0])
        return `${exp.labels?.toString()}: point ${i}: expected t=${want[i][0] / 1000}, got t=${got.timestamps[i] / 1000}`;
      const m = sampleMismatch(want[i][1], got.values[i], got.histograms?.[i]);
      if (m) return `${exp.labels?.toString()}: point ${i} (t=${want[i][0] / 1000}): ${m}`;
    }
  }
  return undefined;
}

export async function runFile(file: string, engine = new Engine({ timeoutMs: 20_000 })): Promise<EvalResult[]> {
  const name = path.basename(file, '.test');
  const fileGroup: Group = name === 'native_histograms' ? 'native-histograms' : STABLE.includes(name) ? 'stable' : 'experimental';
  const cmds = parseScript(fs.readFileSync(file, 'utf8'));
  const results: EvalResult[] = [];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-promqltest-'));
  let db: TSDB | undefined;
  let dbN = 0;
  let nhSeries: Labels[] = [];
  let hs = new HistogramStore();
  const open = async () =>
    TSDB.open({
      dir: path.join(tmp, String(dbN++)),
      fsync: 'none',
      head: { outOfOrderWindowMs: Number.MAX_SAFE_INTEGER / 2, maxSeries: 0 },
    });
  try {
    db = await open();
    for (const cmd of cmds) {
      if (cmd.kind === 'clear') {
        await db.close();
        db = await open();
        nhSeries = [];
        hs = new HistogramStore();
        continue;
      }
      if (cmd.kind === 'load') {
        nhSeries.push(...cmd.nativeHistogramSeries);
        await load(db, hs, cmd);
        continue;
      }
      const group: Group =
        cmd.nativeHistograms || fileGroup === 'native-histograms' || selectsAny(cmd.expr, nhSeries) ? 'native-histograms' : fileGroup;
      const base = { file: name, line: cmd.line, expr: cmd.expr, group };
      if (cmd.expr.includes('{{')) {
        results.push({ ...base, outcome: 'skipped', reason: 'histogram literals in queries are not supported yet' });
        continue;
      }
      const q = new MergeQuerier([(await db.tenant('t')).querier(), hs]);
      let reason: string | undefined;
      try {
        const out = cmd.instant
          ? await engine.instantQuery(q, cmd.expr, cmd.at)
          : await engine.rangeQuery(q, cmd.expr, cmd.at, cmd.end, cmd.stepMs);
        reason = check(cmd, out);
      } catch (e) {
        const msg = (e as Error).message;
        if (!cmd.fail) reason = `unexpected error: ${msg}`;
        else if (cmd.fail.msg !== undefined && msg !== cmd.fail.msg)
          reason = `expected error ${JSON.stringify(cmd.fail.msg)}, got ${JSON.stringify(msg)}`;
        else if (cmd.fail.regex !== undefined && !new RegExp(cmd.fail.regex).test(msg))
          reason = `expected error matching /${cmd.fail.regex}/, got ${JSON.stringify(msg)}`;
      }
      results.push({ ...base, outcome: reason ? 'failed' : 'passed', reason });
    }
  } finally {
    await db?.close().catch(() => undefined);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return results;
}

/** Whether any selector of the expression matches one of the given series. */
function selectsAny(query: string, series: Labels[]): boolean {
  if (series.length === 0) return false;
  let expr: Expr;
  try {
    expr = parse(query);
  } catch {
    return false;
  }
  let hit = false;
  const walk = (e: unknown): void => {
    if (hit || e === null || typeof e !== 'object') return;
    const node = e as Expr;
    if (node.kind === 'VectorSelector') {
      hit = series.some((l) => node.matchers.every((m) => m.matches(l.get(m.name))));
      return;
    }
    for (const v of Object.values(node)) {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object' && 'kind' in v) walk(v);
    }
  };
  walk(expr);
  return hit;
}

/** The scripts' folder: `STRATA_PROMQLTEST_DIR` (relative to the repository root), default `../shared/promqltest`. */
export function defaultScriptDir(repo: string): string {
  return promqltestDir(repo);
}
