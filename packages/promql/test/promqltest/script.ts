/**
 * Reads Prometheus' PromQL test scripts (the promqltest format): load blocks in expanding
 * notation, eval commands with their expectations, clear.
 */
import { Labels } from '@strata/model';
import { parse, parseDurationLiteral, parseNumberLiteral } from '@strata/promql';
import { expandHistogramToken, valueTokens, type HistogramValue } from './histogram-literal.js';

export const STALE = 'stale';

export interface SeriesSpec {
  labels: Labels;
  /** One entry per step: a number, a native histogram, STALE, or undefined for "_" (no sample). */
  values: ScriptValue[];
}

export type ScriptValue = number | HistogramValue | typeof STALE | undefined;

export interface LoadCmd {
  kind: 'load';
  stepMs: number;
  series: SeriesSpec[];
  /** Label sets of native-histogram series in this block. */
  nativeHistogramSeries: Labels[];
  /** load_with_nhcb: classic histograms are also loaded as native histograms with custom buckets. */
  withNhcb: boolean;
  /** Lines this runner cannot read (experimental syntax), with the reason. */
  unreadable: string[];
}

export interface EvalCmd {
  kind: 'eval';
  line: number;
  instant: boolean;
  /** Instant: the time; range: start, end, step. */
  at: number;
  end: number;
  stepMs: number;
  expr: string;
  fail?: { msg?: string; regex?: string };
  warn?: { msg?: string; regex?: string };
  info?: { msg?: string; regex?: string };
  noWarn: boolean;
  noInfo: boolean;
  ordered: boolean;
  string?: string;
  rangeVector?: { from: number; to: number; step: number };
  expected: { labels: Labels | null; values: (number | HistogramValue | undefined)[] }[];
  nativeHistograms: boolean;
}

export type Command = LoadCmd | EvalCmd | { kind: 'clear' };

export function parseDuration(s: string): number {
  const d = parseDurationLiteral(s);
  if (d !== undefined) return d;
  const n = Number(s);
  if (Number.isFinite(n)) return n * 1000;
  throw new Error(`bad duration ${s}`);
}

/** Splits "metric{a="b c"} 1 2" into the label part and the value part. */
function splitSeriesLine(line: string): [string, string] {
  let depth = 0;
  let quote = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
      continue;
    }
    if (c === '"' || c === "'" || c === '`') quote = c;
    else if (c === '{') depth++;
    else if (c === '}') depth--;
    else if (/\s/.test(c) && depth === 0) return [line.slice(0, i), line.slice(i).trim()];
  }
  return [line, ''];
}

export function parseLabels(text: string): Labels {
  const t = text.trim();
  if (t === '{}' || t === '') return Labels.EMPTY;
  const e = parse(t);
  if (e.kind !== 'VectorSelector') throw new Error(`not a series: ${text}`);
  return Labels.fromPairs(e.matchers.flatMap((m) => [m.name, m.value]));
}

/** Expanding notation: 1+2x3 → 1 3 5 7; 1x3 → 1 1 1 1; _x2 → two gaps; stale; Inf; NaN. */
export function expandValues(text: string): ScriptValue[] {
  const out: ScriptValue[] = [];
  for (const tok of valueTokens(text)) {
    if (tok.startsWith('{{')) {
      out.push(...expandHistogramToken(tok));
      continue;
    }
    if (tok === '_') {
      out.push(undefined);
      continue;
    }
    if (tok === STALE) {
      out.push(STALE);
      continue;
    }
    let m = /^_x(\d+)$/.exec(tok);
    if (m) {
      for (let i = 0; i < Number(m[1]); i++) out.push(undefined);
      continue;
    }
    m = /^([^x]+?)([+-])([^x]+)x(\d+)$/.exec(tok);
    if (m && parseNumberLiteral(m[1]) !== undefined) {
      const start = parseNumberLiteral(m[1])!;
      const inc = parseNumberLiteral(m[3])! * (m[2] === '-' ? -1 : 1);
      for (let i = 0; i <= Number(m[4]); i++) out.push(start + inc * i);
      continue;
    }
    m = /^(.+)x(\d+)$/.exec(tok);
    if (m && parseNumberLiteral(m[1]) !== undefined) {
      const v = parseNumberLiteral(m[1])!;
      for (let i = 0; i <= Number(m[2]); i++) out.push(v);
      continue;
    }
    const v = parseNumberLiteral(tok);
    if (v === undefined) throw new Error(`bad value ${JSON.stringify(tok)}`);
    out.push(v);
  }
  return out;
}

export function parseScript(text: string): Command[] {
  const lines = text.split('\n');
  const cmds: Command[] = [];
  let i = 0;
  const body = (): { text: string; line: number }[] => {
    const out: { text: string; line: number }[] = [];
    while (i < lines.length && /^\s+\S/.test(lines[i])) {
      if (!/^\s*#/.test(lines[i])) out.push({ text: lines[i].trim(), line: i + 1 });
      i++;
    }
    return out;
  };
  while (i < lines.length) {
    const line = lines[i];
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) {
      i++;
      continue;
    }
    const lineNo = i + 1;
    i++;
    let m: RegExpExecArray | null;
    if (trimmed === 'clear') {
      cmds.push({ kind: 'clear' });
    } else if ((m = /^load(_with_nhcb)?\s+(\S+)(?:\s+.*)?$/.exec(trimmed))) {
      const series: SeriesSpec[] = [];
      const nhSeries: Labels[] = [];
      const unreadable: string[] = [];
      const nhcb = !!m[1];
      for (const b of body()) {
        const [l, v] = splitSeriesLine(b.text);
        try {
          const labels = parseLabels(l);
          if (b.text.includes('{{')) nhSeries.push(labels);
          series.push({ labels, values: expandValues(v) });
          // load_with_nhcb also creates a native histogram (custom buckets) named without _bucket.
          const name = labels.get('__name__');
          if (nhcb && name.endsWith('_bucket')) nhSeries.push(labels.with('__name__', name.slice(0, -'_bucket'.length)).without('le'));
        } catch (e) {
          unreadable.push(`line ${b.line}: ${(e as Error).message}`);
        }
      }
      cmds.push({ kind: 'load', stepMs: parseDuration(m[2]), series, nativeHistogramSeries: nhSeries, withNhcb: nhcb, unreadable });
    } else if (
      (m = /^eval(_fail|_warn|_info|_ordered)?\s+(instant\s+at\s+(\S+)|range\s+from\s+(\S+)\s+to\s+(\S+)\s+step\s+(\S+))\s+(.*)$/.exec(
        trimmed,
      ))
    ) {
      const instant = m[2].startsWith('instant');
      const cmd: EvalCmd = {
        kind: 'eval',
        line: lineNo,
        instant,
        at: parseDuration(instant ? m[3] : m[4]),
        end: instant ? 0 : parseDuration(m[5]),
        stepMs: instant ? 0 : parseDuration(m[6]),
        expr: m[7],
        noWarn: false,
        noInfo: false,
        ordered: m[1] === '_ordered',
        expected: [],
        nativeHistograms: m[7].includes('{{'),
      };
      if (m[1] === '_fail') cmd.fail = {};
      if (m[1] === '_warn') cmd.warn = {};
      if (m[1] === '_info') cmd.info = {};
      for (const b of body()) {
        let x: RegExpExecArray | null;
        if ((x = /^expect\s+fail(?:\s+(msg|regex):\s*(.*))?$/.exec(b.text)))
          cmd.fail = x[1] === 'msg' ? { msg: x[2].trim() } : x[1] === 'regex' ? { regex: x[2].trim() } : {};
        else if ((x = /^expect\s+(warn|info)(?:\s+(msg|regex):\s*(.*))?$/.exec(b.text))) {
          const want = x[2] === 'msg' ? { msg: x[3].trim() } : x[2] === 'regex' ? { regex: x[3].trim() } : {};
          if (x[1] === 'warn') cmd.warn = want;
          else cmd.info = want;
        } else if (/^expect\s+no_warn$/.test(b.text)) cmd.noWarn = true;
        else if (/^expect\s+no_info$/.test(b.text)) cmd.noInfo = true;
        else if (/^expect\s+ordered$/.test(b.text)) cmd.ordered = true;
        else if ((x = /^expect\s+string\s+(.*)$/.exec(b.text))) cmd.string = unquote(x[1].trim());
        else if ((x = /^expect\s+range\s+vector\s+from\s+(\S+)\s+to\s+(\S+)\s+step\s+(\S+)$/.exec(b.text)))
          cmd.rangeVector = { from: parseDuration(x[1]), to: parseDuration(x[2]), step: parseDuration(x[3]) };
        else {
          if (b.text.includes('{{')) cmd.nativeHistograms = true;
          const [l, v] = splitSeriesLine(b.text);
          const valueOnly = (parseNumberLiteral(l) !== undefined || l.startsWith('{{')) && v === '';
          if (valueOnly) cmd.expected.push({ labels: null, values: expandValues(l).map((x) => (x === STALE ? undefined : x)) });
          else cmd.expected.push({ labels: parseLabels(l), values: expandValues(v).map((x) => (x === STALE ? undefined : x)) });
        }
      }
      cmds.push(cmd);
    } else {
      throw new Error(`line ${lineNo}: cannot parse ${JSON.stringify(trimmed)}`);
    }
  }
  return cmds;
}

function unquote(s: string): string {
  if (s.startsWith('`')) return s.slice(1, -1);
  return JSON.parse(s.startsWith("'") ? `"${s.slice(1, -1)}"` : s);
}
