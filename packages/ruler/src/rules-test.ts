/**
 * `strata tools rules test`: promtool's rule unit-test format (rule_files, evaluation_interval,
 * group_eval_order, tests[] with input_series, alert_rule_test, promql_expr_test,
 * external_labels, external_url) run on Strata's rule engine over a real TSDB, printing what
 * `promtool test rules` prints.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { Labels } from '@strata/model';
import { Engine, parseDurationLiteral } from '@strata/promql';
import { STALE_NAN, TSDB } from '@strata/tsdb';
import { glob } from './glob.js';
import { Group } from './group.js';
import type { RuleWriter } from './interfaces.js';
import { loadRuleFile, RuleFileError, type Printed } from './rule-file.js';
import { AlertingRule } from './rules.js';
import { expandSeriesValues, parseSeriesLabels, STALE } from './series-notation.js';
import { engineQueries } from './sources.js';

interface TestFile {
  rule_files?: string[];
  evaluation_interval?: string;
  group_eval_order?: string[];
  tests?: TestGroup[];
}
interface TestGroup {
  interval?: string;
  input_series?: { series: string; values: string }[];
  alert_rule_test?: {
    eval_time?: string;
    alertname?: string;
    exp_alerts?: { exp_labels?: Record<string, string>; exp_annotations?: Record<string, string> }[];
  }[];
  promql_expr_test?: { expr: string; eval_time?: string; exp_samples?: { labels?: string; value: number | string }[] }[];
  external_labels?: Record<string, string>;
  external_url?: string;
  name?: string;
}

const FILE_KEYS = new Set(['rule_files', 'evaluation_interval', 'group_eval_order', 'tests']);
const GROUP_KEYS = new Set(['interval', 'input_series', 'alert_rule_test', 'promql_expr_test', 'external_labels', 'external_url', 'name']);

/** Prometheus' model.Duration.String(): 1h30m, 5m, 1d, 0s. */
export function formatModelDuration(ms: number): string {
  if (ms === 0) return '0s';
  const units: [string, number][] = [
    ['y', 365 * 86_400_000],
    ['w', 7 * 86_400_000],
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ];
  let out = '';
  let rest = ms;
  for (const [u, n] of units) {
    if (rest >= n) {
      out += `${Math.floor(rest / n)}${u}`;
      rest %= n;
    }
  }
  return out;
}

function duration(s: string | undefined, what: string, def: number): number {
  if (s === undefined || s === null || s === '') return def;
  const ms = parseDurationLiteral(String(s));
  if (ms === undefined) throw new Error(`${what}: not a valid duration string: ${JSON.stringify(String(s))}`);
  return ms;
}

/** Go's strconv.Quote as Prometheus' labels.String uses it (close enough for printable text). */
function labelsString(l: Labels): string {
  const parts: string[] = [];
  l.forEach((n, v) => parts.push(`${n}=${JSON.stringify(v)}`));
  return `{${parts.join(', ')}}`;
}

function floatE(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  // strconv.FormatFloat(v, 'E', -1, 64): shortest digits in exponent form.
  const m = /^(-?\d)(?:\.(\d+))?e([+-]\d+)$/.exec(v.toExponential())!;
  const exp = Number(m[3]);
  return `${m[1]}${m[2] ? '.' + m[2] : ''}E${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
}

interface AlertOut {
  labels: Labels;
  annotations: Labels;
}

function compareAlerts(a: AlertOut, b: AlertOut): number {
  return Labels.compare(a.labels, b.labels) || Labels.compare(a.annotations, b.annotations);
}

function indentLines(s: string, indent: string): string {
  return s
    .split('\n')
    .map((l, i) => (i > 0 ? indent + l : l))
    .join('\n');
}

function alertsString(list: AlertOut[]): string {
  if (list.length === 0) return '[]';
  const item = (a: AlertOut) => indentLines(`\nLabels:${labelsString(a.labels)}\nAnnotations:${labelsString(a.annotations)}`, '  ');
  let s = '[\n0:' + item(list[0]);
  list.slice(1).forEach((a, i) => (s += `,\n${i + 1}:` + item(a)));
  return s + '\n]';
}

function checkKeys(obj: unknown, allowed: Set<string>, type: string): void {
  if (obj === null || typeof obj !== 'object') return;
  for (const k of Object.keys(obj)) if (!allowed.has(k)) throw new Error(`yaml: unmarshal errors:\n  field ${k} not found in type ${type}`);
}

/** Runs one test file; returns the errors promtool would print (empty: SUCCESS). */
export async function runRuleTestFile(file: string, engine = new Engine({ timeoutMs: 60_000 })): Promise<string[]> {
  let doc: TestFile;
  try {
    doc = (YAML.parse(fs.readFileSync(file, 'utf8')) ?? {}) as TestFile;
    checkKeys(doc, FILE_KEYS, 'main.unitTestFile');
    for (const tg of doc.tests ?? []) checkKeys(tg, GROUP_KEYS, 'main.testGroup');
  } catch (e) {
    return [(e as Error).message];
  }
  const baseDir = path.dirname(file);
  const ruleFiles: string[] = [];
  for (const rf of doc.rule_files ?? []) {
    const p = path.isAbsolute(rf) ? rf : path.join(baseDir, rf);
    ruleFiles.push(...glob(p));
  }
  let evalInterval: number;
  try {
    evalInterval = duration(doc.evaluation_interval, 'evaluation_interval', 60_000);
  } catch (e) {
    return [(e as Error).message];
  }
  const order = new Map<string, number>();
  for (const [i, g] of (doc.group_eval_order ?? []).entries()) {
    if (order.has(g)) return [`group name repeated in evaluation order: ${g}`];
    order.set(g, i);
  }
  const errs: string[] = [];
  for (const tg of doc.tests ?? []) errs.push(...(await runTestGroup(tg, evalInterval, order, ruleFiles, engine)));
  return errs;
}

async function runTestGroup(
  tg: TestGroup,
  evalInterval: number,
  order: Map<string, number>,
  ruleFiles: string[],
  engine: Engine,
): Promise<string[]> {
  let seriesInterval: number;
  try {
    seriesInterval = duration(tg.interval, 'interval', evalInterval);
  } catch (e) {
    return [(e as Error).message];
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-rules-test-'));
  const db = await TSDB.open({
    dir: tmp,
    fsync: 'none',
    head: { outOfOrderWindowMs: Number.MAX_SAFE_INTEGER / 2, maxSeries: 0 },
    compactIntervalMs: 0,
  });
  try {
    const tenant = await db.tenant('test');
    const app = tenant.appender();
    for (const s of tg.input_series ?? []) {
      let labels: Labels;
      let values;
      try {
        labels = parseSeriesLabels(s.series);
        values = expandSeriesValues(String(s.values ?? ''));
      } catch (e) {
        return [`    series ${JSON.stringify(s.series)}: ${(e as Error).message}`];
      }
      const ref = app.ref(labels);
      values.forEach((v, i) => {
        if (v !== undefined) app.append(ref, i * seriesInterval, v === STALE ? STALE_NAN : v);
      });
    }
    await app.commit();
    const queryable = { querier: () => tenant.querier() };
    const queries = engineQueries(engine, queryable);
    const writer: RuleWriter = {
      async write(_t, s) {
        const a = tenant.appender();
        for (let i = 0; i < s.labels.length; i++) a.append(a.ref(s.labels[i]), s.timestamps[i], s.values[i]);
        await a.commit();
      },
    };
    const externalLabels = new Map(Object.entries(tg.external_labels ?? {}).map(([k, v]) => [k, String(v)]));
    const groups: Group[] = [];
    const problems: string[] = [];
    for (const f of ruleFiles) {
      try {
        for (const spec of loadRuleFile(f))
          groups.push(
            new Group({
              tenant: 'test',
              spec,
              defaultIntervalMs: seriesInterval,
              queries,
              writer,
              externalLabels,
              externalURL: tg.external_url ?? '',
            }),
          );
      } catch (e) {
        if (!(e instanceof RuleFileError)) throw e;
        problems.push(...e.problems);
      }
    }
    if (problems.length > 0) return problems;
    // group_eval_order is a partial order: groups not named come first, in file order (a stable sort).
    groups.sort((a, b) => (order.get(a.name) ?? 0) - (order.get(b.name) ?? 0));
    for (const g of groups) for (const r of g.rules) if (r instanceof AlertingRule) r.restored = true;

    const alertTests = tg.alert_rule_test ?? [];
    const promqlTests = tg.promql_expr_test ?? [];
    const errs: string[] = [];
    const testName = tg.name ? `    name: ${tg.name},\n` : '';
    const evalTimes: number[] = [];
    const byTime = new Map<number, typeof alertTests>();
    let maxEval = 0;
    for (const a of alertTests) {
      if (!a.alertname)
        return [
          `an item under alert_rule_test misses required attribute alertname at eval_time ${a.eval_time ?? '0s'}${tg.name ? ` (in TestGroup ${tg.name})` : ''}`,
        ];
      const t = duration(a.eval_time, 'eval_time', 0);
      if (!byTime.has(t)) {
        byTime.set(t, []);
        evalTimes.push(t);
      }
      byTime.get(t)!.push(a);
      maxEval = Math.max(maxEval, t);
    }
    for (const p of promqlTests) maxEval = Math.max(maxEval, duration(p.eval_time, 'eval_time', 0));
    evalTimes.sort((a, b) => a - b);
    let curr = 0;
    for (let ts = 0; ts <= maxEval; ts += evalInterval) {
      const evalErrs: string[] = [];
      for (const g of groups) {
        await g.eval(ts);
        for (const r of g.rules)
          if (r.health === 'err') evalErrs.push(`    rule: ${r.name}, time: ${formatGoDuration(ts)}, err: ${r.lastError}`);
      }
      errs.push(...evalErrs);
      if (evalErrs.length > 0) return errs;
      while (curr < evalTimes.length && ts <= evalTimes[curr] && evalTimes[curr] < ts + evalInterval) {
        const t = evalTimes[curr];
        const names = new Set(byTime.get(t)!.map((a) => a.alertname!));
        const got = new Map<string, AlertOut[]>();
        for (const g of groups)
          for (const r of g.rules) {
            if (!(r instanceof AlertingRule) || !names.has(r.name)) continue;
            const list = got.get(r.name) ?? [];
            for (const a of r.activeAlerts())
              if (a.state === 'firing') list.push({ labels: a.labels, annotations: Labels.fromPairs(a.annotations.flat()) });
            got.set(r.name, list);
          }
        for (const tc of byTime.get(t)!) {
          const gotAlerts = [...(got.get(tc.alertname!) ?? [])].sort(compareAlerts);
          const exp = (tc.exp_alerts ?? [])
            .map((a) => ({
              labels: Labels.fromObject({ ...stringify(a.exp_labels), alertname: tc.alertname! }),
              annotations: Labels.fromObject(stringify(a.exp_annotations)),
            }))
            .sort(compareAlerts);
          const same = exp.length === gotAlerts.length && exp.every((e, i) => compareAlerts(e, gotAlerts[i]) === 0);
          if (!same)
            errs.push(
              `${testName}    alertname: ${tc.alertname}, time: ${formatModelDuration(t)}, \n        exp:${indentLines(alertsString(exp), '            ')}, \n        got:${indentLines(alertsString(gotAlerts), '            ')}`,
            );
        }
        curr++;
      }
    }
    for (const p of promqlTests) {
      const t = duration(p.eval_time, 'eval_time', 0);
      const where = `    expr: ${JSON.stringify(p.expr)}, time: ${formatModelDuration(t)}`;
      let got: { labels: Labels; value: number }[];
      try {
        const v = await queries.instant('test', p.expr, t);
        got = v.labels.map((l, i) => ({ labels: l, value: v.values[i] }));
      } catch (e) {
        errs.push(`${where}, err: ${(e as Error).message}`);
        continue;
      }
      let exp: { labels: Labels; value: number }[];
      try {
        exp = (p.exp_samples ?? []).map((s) => {
          try {
            return { labels: parseSeriesLabels(s.labels ?? ''), value: Number(s.value) };
          } catch (e) {
            throw new Error(`labels ${JSON.stringify(s.labels ?? '')}: ${(e as Error).message}`, { cause: e });
          }
        });
      } catch (e) {
        errs.push(`${where}, err: ${(e as Error).message}`);
        continue;
      }
      const byLabels = (a: { labels: Labels }, b: { labels: Labels }) => Labels.compare(a.labels, b.labels);
      exp.sort(byLabels);
      got.sort(byLabels);
      const same = exp.length === got.length && exp.every((e, i) => e.labels.equals(got[i].labels) && e.value === got[i].value);
      if (!same) {
        const str = (list: typeof got) =>
          list.length === 0 ? 'nil' : list.map((s) => `${labelsString(s.labels)} ${floatE(s.value)}`).join(', ');
        errs.push(`${testName}${where},\n        exp: ${str(exp)}\n        got: ${str(got)}`);
      }
    }
    return errs;
  } finally {
    await db.close().catch(() => undefined);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function stringify(m: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m ?? {})) out[k] = String(v);
  return out;
}

/** Go's time.Duration.String(): 1h30m0s, 5m0s, 0s. */
export function formatGoDuration(ms: number): string {
  if (ms === 0) return '0s';
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  if (ms < 1000) return `${ms}ms`;
  return `${s}s`;
}

/** `promtool test rules` over files: what it prints, in order, and whether all passed. */
export async function testRuleFiles(files: readonly string[]): Promise<{ printed: Printed; ok: boolean }> {
  const printed: Printed = [];
  let ok = true;
  for (const f of files) {
    printed.push({ stream: 'stdout', text: `Unit Testing:  ${f}\n` });
    const errs = await runRuleTestFile(f);
    if (errs.length > 0) {
      ok = false;
      printed.push({ stream: 'stderr', text: '  FAILED:\n' });
      for (const e of errs) {
        printed.push({ stream: 'stderr', text: e + '\n' });
        printed.push({ stream: 'stdout', text: '\n' });
      }
    } else printed.push({ stream: 'stdout', text: '  SUCCESS\n' });
    printed.push({ stream: 'stdout', text: '\n' });
  }
  return { printed, ok };
}
