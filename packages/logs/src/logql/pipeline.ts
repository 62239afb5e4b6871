/**
 * A compiled log pipeline. A pipeline of line filters only never builds a label map (the common
 * `|= "needle"` costs a substring test per line); the others run each stage on one reused entry state.
 */
import { compileSearchRegex, Template, TemplateError, type Labels } from '@strata/model';
import type { Grouping, LabelFilter, LineFilterStage, Stage, Unwrap } from './ast.js';
import {
  ERROR_DETAILS_LABEL,
  ERROR_LABEL,
  jsonExtractor,
  jsonWantedExtractor,
  logfmtExtractor,
  patternExtractor,
  regexpExtractor,
  unpackExtractor,
  type EntryState,
} from './extract.js';
import { ipMatcher, lineHasIp } from './ip-filter.js';
import { LogqlParseError } from './lexer.js';
import { patternLineTest, patternLiterals } from './line-pattern.js';
import { templateFuncs } from './template-funcs.js';
import { parseBytes, parseDurationNs, parseGoFloat } from './units.js';

export type LinePredicate = (line: string) => boolean;

export function lineFilterPredicate(f: LineFilterStage): LinePredicate {
  const positive = f.op === '|=' || f.op === '|~' || f.op === '|>';
  const tests: LinePredicate[] = f.values.map((v) => {
    if (typeof v !== 'string') {
      const m = ipMatcher(v.ip);
      return (line: string) => lineHasIp(line, m);
    }
    if (f.op === '|=' || f.op === '!=') return (line: string) => line.includes(v);
    if (f.op === '|>' || f.op === '!>') return patternLineTest(v);
    const re = compileSearchRegex(v);
    return (line: string) => re.test(line);
  });
  const any = tests.length === 1 ? tests[0] : (line: string) => tests.some((t) => t(line));
  return positive ? any : (line) => !any(line);
}

/** The leading line filters (before any other stage): pushed to the store as hints. */
export function leadingLineFilters(stages: readonly Stage[]): LineFilterStage[] {
  const out: LineFilterStage[] = [];
  for (const s of stages) {
    if (s.k !== 'line') break;
    out.push(s);
  }
  return out;
}

export function andPredicates(ps: readonly LinePredicate[]): LinePredicate | undefined {
  if (ps.length === 0) return undefined;
  if (ps.length === 1) return ps[0];
  return (line) => {
    for (const p of ps) if (!p(line)) return false;
    return true;
  };
}

/** Strings every matching line contains: each `|=` without alternatives, and the literals of a `|>` without alternatives. */
export function requiredSubstrings(filters: readonly LineFilterStage[]): string[] {
  const out: string[] = [];
  for (const f of filters) {
    if (f.values.length !== 1) continue;
    const v = f.values[0];
    if (typeof v !== 'string' || v === '') continue;
    if (f.op === '|=') out.push(v);
    else if (f.op === '|>') out.push(...patternLiterals(v));
  }
  return out;
}

type StageFn = (e: EntryState) => boolean | Promise<boolean>;

function compare(op: string, a: number, b: number): boolean {
  switch (op) {
    case '==':
      return a === b;
    case '!=':
      return a !== b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '<':
      return a < b;
    default:
      return a <= b;
  }
}

/** A label filter; numeric comparisons pass entries that already carry an error (only string matchers drop them, as in Loki). */
export function labelFilterFn(f: LabelFilter): (labels: Map<string, string>) => boolean {
  switch (f.k) {
    case 'and': {
      const l = labelFilterFn(f.l);
      const r = labelFilterFn(f.r);
      return (m) => l(m) && r(m);
    }
    case 'or': {
      const l = labelFilterFn(f.l);
      const r = labelFilterFn(f.r);
      return (m) => l(m) || r(m);
    }
    case 'string':
      return (m) => f.matcher.matches(m.get(f.matcher.name) ?? '');
    case 'ip': {
      // As Loki's IPLabelFilter: an entry with an error passes (only string matchers drop those), a missing label fails.
      const ip = ipMatcher(f.pattern);
      return (m) => {
        if (m.has(ERROR_LABEL)) return true;
        const v = m.get(f.name);
        if (v === undefined) return false;
        return lineHasIp(v, ip) !== f.negate;
      };
    }
    default: {
      const conv =
        f.k === 'number'
          ? parseGoFloat
          : f.k === 'duration'
            ? (s: string) => {
                const ns = parseDurationNs(s);
                return ns === undefined ? undefined : ns / 1e9;
              }
            : parseBytes;
      return (m) => {
        if (m.has(ERROR_LABEL)) return true;
        const raw = m.get(f.name);
        if (raw === undefined) return false;
        const v = conv(raw);
        if (v === undefined) {
          m.set(ERROR_LABEL, 'LabelFilterErr');
          m.set(ERROR_DETAILS_LABEL, `cannot convert '${raw}' to a ${f.k === 'number' ? 'float' : f.k}`);
          return true;
        }
        return compare(f.op, v, f.value);
      };
    }
  }
}

// SGR escape sequences (colours, bold): ESC [ params m.
// eslint-disable-next-line no-control-regex
const ANSI_COLOR = /\x1b\[[0-9;]*m/g;

/**
 * Every label a metric query's samples can depend on, or undefined when that is every label: the
 * series are grouped `by` some, and no stage reads labels wholesale (templates, keep) or unnamed.
 * A parser may then leave other labels out (jsonWantedExtractor). __error__ is always read (the
 * query fails on it); an error's message, which lists every label, is made by the full pipeline.
 */
export function labelsRead(stages: readonly Stage[], grouping: Grouping | undefined, unwrap: Unwrap | undefined): Set<string> | undefined {
  if (!grouping || grouping.without) return undefined;
  const out = new Set<string>([...grouping.labels, ERROR_LABEL]);
  const addFilter = (f: LabelFilter): void => {
    switch (f.k) {
      case 'and':
      case 'or':
        addFilter(f.l);
        addFilter(f.r);
        break;
      case 'string':
        out.add(f.matcher.name);
        break;
      default:
        out.add(f.name);
    }
  };
  for (const s of stages) {
    if (s.k === 'filter') addFilter(s.filter);
    else if (s.k === 'drop') for (const it of s.items) out.add(it.name);
    else if (s.k === 'line_format' || s.k === 'label_format' || s.k === 'keep') return undefined;
  }
  if (unwrap) {
    out.add(unwrap.label);
    for (const f of unwrap.post) addFilter(f);
  }
  return out;
}

function compileStage(s: Stage, current: () => EntryState, read: ReadonlySet<string> | undefined): StageFn {
  switch (s.k) {
    case 'line': {
      const p = lineFilterPredicate(s);
      return (e) => p(e.line);
    }
    case 'json':
      return wrapExtractor(read && s.params.length === 0 ? jsonWantedExtractor(read) : jsonExtractor(s.params));
    case 'logfmt':
      return wrapExtractor(logfmtExtractor(s.params, s.strict, s.keepEmpty, read));
    case 'regexp':
      return wrapExtractor(regexpExtractor(s.re));
    case 'pattern':
      return wrapExtractor(patternExtractor(s.pattern));
    case 'unpack':
      return wrapExtractor(unpackExtractor());
    case 'filter': {
      const f = labelFilterFn(s.filter);
      return (e) => f(e.labels);
    }
    case 'decolorize':
      return (e) => {
        e.line = e.line.replace(ANSI_COLOR, '');
        return true;
      };
    case 'line_format': {
      const tpl = template('line_format', s.template, current);
      return async (e) => {
        e.line = await runTemplate(tpl, e);
        return true;
      };
    }
    case 'label_format': {
      const items = s.items.map((it) => ({
        ...it,
        tpl: it.template !== undefined ? template('label_format', it.template, current) : undefined,
      }));
      return async (e) => {
        // Every item sees the labels as they were before this stage.
        const before = new Map(e.labels);
        for (const it of items) {
          if (it.tpl) {
            const v = await runTemplate(it.tpl, e, before);
            if (v === '') e.labels.delete(it.dst);
            else e.labels.set(it.dst, v);
          } else {
            const v = before.get(it.src!);
            if (v === undefined) continue;
            e.labels.delete(it.src!);
            e.labels.set(it.dst, v);
          }
        }
        return true;
      };
    }
    case 'drop':
      return (e) => {
        for (const it of s.items) {
          const v = e.labels.get(it.name);
          if (v !== undefined && (!it.matcher || it.matcher.matches(v))) e.labels.delete(it.name);
        }
        return true;
      };
    case 'keep':
      return (e) => {
        for (const [name, v] of [...e.labels]) {
          const ok = s.items.some((it) => it.name === name && (!it.matcher || it.matcher.matches(v)));
          if (!ok) e.labels.delete(name);
        }
        return true;
      };
  }
}

function wrapExtractor(x: (e: EntryState) => void): StageFn {
  return (e) => {
    x(e);
    return true;
  };
}

function template(stage: string, text: string, current: () => EntryState): Template {
  try {
    return new Template(stage, text, templateFuncs(current));
  } catch (err) {
    throw new LogqlParseError(`invalid ${stage} template: ${(err as Error).message}`, 0, 0);
  }
}

async function runTemplate(tpl: Template, e: EntryState, data: Map<string, string> = e.labels): Promise<string> {
  try {
    return await tpl.execute(data);
  } catch (err) {
    if (!(err instanceof TemplateError)) throw err;
    if (!e.labels.has(ERROR_LABEL)) {
      e.labels.set(ERROR_LABEL, 'TemplateFormatErr');
      e.labels.set(ERROR_DETAILS_LABEL, err.message);
    }
    return e.line;
  }
}

/** The outcome for one entry: undefined when dropped. The label map is the pipeline's and is reused: copy what you keep. */
export interface Pipeline {
  /** True when the pipeline never touches labels (line filters only). */
  readonly linesOnly: boolean;
  /** Filters-only pipelines answer synchronously through this. */
  readonly test: LinePredicate;
  run(line: string, ts: bigint, stream: Labels, metadata: Labels | undefined): Promise<EntryState | undefined>;
}

/** `read`: the only labels read after the pipeline (labelsRead), when the query knows them. */
export function compilePipeline(stages: readonly Stage[], read?: ReadonlySet<string>): Pipeline {
  const linesOnly = stages.every((s) => s.k === 'line');
  const test = andPredicates(stages.filter((s): s is LineFilterStage => s.k === 'line').map(lineFilterPredicate)) ?? (() => true);
  let state: EntryState;
  const fns = stages.map((s) => compileStage(s, () => state, read));
  let streamKey: Labels | undefined;
  let streamNames: Set<string> = new Set();
  return {
    linesOnly,
    test,
    async run(line, ts, stream, metadata) {
      if (stream !== streamKey) {
        streamKey = stream;
        streamNames = new Set(stream.pairs.filter((_, i) => i % 2 === 0));
      }
      const labels = new Map<string, string>();
      const p = stream.pairs;
      for (let i = 0; i < p.length; i += 2) labels.set(p[i], p[i + 1]);
      if (metadata) for (let i = 0; i < metadata.pairs.length; i += 2) labels.set(metadata.pairs[i], metadata.pairs[i + 1]);
      state = { line, ts, labels, streamLabels: streamNames };
      for (const f of fns) {
        const r = f(state);
        if (!(r === true || (r !== false && (await r)))) return undefined;
      }
      return state;
    },
  };
}
