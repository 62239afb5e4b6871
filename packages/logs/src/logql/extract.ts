/**
 * LogQL's parsers: each reads a line and sets labels on the entry being processed. Label names from
 * json and logfmt keys are sanitized as Loki does (every character outside [a-zA-Z0-9_] becomes `_`,
 * a leading digit gets a `_` in front); a name the stream already carries gets the suffix `_extracted`.
 */
import { compileSearchRegex } from '@strata/model';
import type { ExtractParam } from './ast.js';
import { LogqlParseError } from './lexer.js';
import { consecutiveCaptures, patternNodes, type PatternNode } from './line-pattern.js';
import { JsonFieldScanner } from './json-fields.js';

export const ERROR_LABEL = '__error__';
export const ERROR_DETAILS_LABEL = '__error_details__';

/** The entry a stage sees: its line (stages may rewrite it) and a mutable label set. */
export interface EntryState {
  line: string;
  ts: bigint;
  readonly labels: Map<string, string>;
  /** The stream's own label names: extracted labels with these names are renamed `<name>_extracted`. */
  readonly streamLabels: ReadonlySet<string>;
}

export type Extractor = (e: EntryState) => void;

export function sanitizeLabelName(key: string): string {
  if (isLabelName(key)) return key;
  let out = '';
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    const ok = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || (c >= 48 && c <= 57);
    out += ok ? key[i] : '_';
  }
  if (out.length > 0 && out.charCodeAt(0) >= 48 && out.charCodeAt(0) <= 57) out = '_' + out;
  return out;
}

/** [a-zA-Z_][a-zA-Z0-9_]*: the name sanitizing leaves as it is (most keys are). */
function isLabelName(key: string): boolean {
  if (key.length === 0) return false;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    const ok = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || (i > 0 && c >= 48 && c <= 57);
    if (!ok) return false;
  }
  return true;
}

function setExtracted(e: EntryState, name: string, value: string): void {
  if (name === '') return;
  const n = e.streamLabels.has(name) ? name + '_extracted' : name;
  e.labels.set(n, value);
}

function setError(e: EntryState, kind: string, details: string): void {
  if (e.labels.has(ERROR_LABEL)) return;
  e.labels.set(ERROR_LABEL, kind);
  e.labels.set(ERROR_DETAILS_LABEL, details);
}

/** The text Loki's json parser gives a scalar: strings unquoted, numbers and booleans as written. */
function scalarText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

function flattenJson(e: EntryState, obj: Record<string, unknown>, prefix: string): void {
  for (const key of Object.keys(obj)) {
    const v = obj[key];
    const name = prefix === '' ? sanitizeLabelName(key) : prefix + '_' + sanitizeLabelName(key);
    if (v !== null && typeof v === 'object') {
      // Arrays are skipped, as Loki's json parser does without parameters.
      if (!Array.isArray(v)) flattenJson(e, v as Record<string, unknown>, name);
      continue;
    }
    const s = scalarText(v);
    if (s !== undefined) setExtracted(e, name, s);
  }
}

/** A json parameter's path: `a.b`, `a[0]`, `a["b c"]`, `["a"].b`. */
type PathStep = string | number;

function parseJsonPath(expr: string): PathStep[] {
  const steps: PathStep[] = [];
  let i = 0;
  const bad = (): never => {
    throw new LogqlParseError(`invalid json expression: ${expr}`, 0, 0);
  };
  while (i < expr.length) {
    if (expr[i] === '.') {
      if (i === 0) bad();
      i++;
    }
    if (expr[i] === '[') {
      const close = expr.indexOf(']', i);
      if (close < 0) bad();
      const inner = expr.slice(i + 1, close).trim();
      if (/^\d+$/.test(inner)) steps.push(Number(inner));
      else if (inner.length >= 2 && inner.startsWith('"') && inner.endsWith('"')) steps.push(inner.slice(1, -1));
      else bad();
      i = close + 1;
      continue;
    }
    let j = i;
    while (j < expr.length && expr[j] !== '.' && expr[j] !== '[') j++;
    if (j === i) bad();
    steps.push(expr.slice(i, j));
    i = j;
  }
  if (steps.length === 0) bad();
  return steps;
}

const NOT_AN_OBJECT = "Value looks like object, but can't find closing '}' symbol";

export function jsonExtractor(params: readonly ExtractParam[]): Extractor {
  const paths = params.map((p) => ({ label: p.label, path: parseJsonPath(p.expr) }));
  return (e) => {
    let doc: unknown;
    try {
      doc = JSON.parse(e.line);
    } catch (err) {
      setError(e, 'JSONParserErr', (err as Error).message);
      return;
    }
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
      setError(e, 'JSONParserErr', NOT_AN_OBJECT);
      return;
    }
    if (paths.length === 0) {
      flattenJson(e, doc as Record<string, unknown>, '');
      return;
    }
    for (const { label, path } of paths) {
      let v: unknown = doc;
      for (const s of path) {
        if (v === null || typeof v !== 'object') {
          v = undefined;
          break;
        }
        v =
          typeof s === 'number' ? (Array.isArray(v) ? v[s] : undefined) : Array.isArray(v) ? undefined : (v as Record<string, unknown>)[s];
      }
      // An object or array is given as its JSON text, as Loki does.
      const text = v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
      setExtracted(e, label, text);
    }
  };
}

/**
 * `| json` without parameters when only the labels in `wanted` are read after it (the query
 * knows; see labelsRead in pipeline.ts): the same labels and errors as jsonExtractor([]) for
 * those, others left out. A line's labels are set only once the whole line is known valid JSON.
 */
export function jsonWantedExtractor(wanted: ReadonlySet<string>): Extractor {
  const full = jsonExtractor([]);
  const details = wanted.has(ERROR_DETAILS_LABEL);
  let cur: EntryState;
  const found: string[] = [];
  const scanner = new JsonFieldScanner(sanitizeLabelName, (name, text) => {
    const n = cur.streamLabels.has(name) ? name + '_extracted' : name;
    if (wanted.has(n)) found.push(n, text());
  });
  return (e) => {
    cur = e;
    found.length = 0;
    const kind = scanner.scan(e.line);
    if (kind === 'object') for (let i = 0; i < found.length; i += 2) e.labels.set(found[i], found[i + 1]);
    else if (kind === 'not-object') setError(e, 'JSONParserErr', NOT_AN_OBJECT);
    // The details are JSON.parse's message: asked of it only when the query reads them.
    else if (kind === 'invalid' && !details) setError(e, 'JSONParserErr', '');
    else full(e);
  };
}

export function unpackExtractor(): Extractor {
  return (e) => {
    let doc: unknown;
    try {
      doc = JSON.parse(e.line);
    } catch (err) {
      setError(e, 'JSONParserErr', (err as Error).message);
      return;
    }
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
      setError(e, 'JSONParserErr', 'expecting json object');
      return;
    }
    let entry: string | undefined;
    for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
      if (typeof v !== 'string') continue;
      if (k === '_entry') entry = v;
      else setExtracted(e, sanitizeLabelName(k), v);
    }
    if (entry !== undefined) e.line = entry;
  };
}

/** logfmt pairs of a line; strict mode reports the first malformed part instead of skipping it. */
export function decodeLogfmt(line: string, strict: boolean): { pairs: [string, string][]; error?: string } {
  const pairs: [string, string][] = [];
  let i = 0;
  const n = line.length;
  while (i < n) {
    while (i < n && line[i] <= ' ') i++;
    if (i >= n) break;
    const ks = i;
    while (i < n && line[i] > ' ' && line[i] !== '=' && line[i] !== '"') i++;
    const key = line.slice(ks, i);
    if (key === '') {
      if (strict) return { pairs, error: `logfmt syntax error at pos ${i + 1} : unexpected '${line[i]}'` };
      // Skip the malformed token up to the next space.
      while (i < n && line[i] > ' ') i++;
      continue;
    }
    if (i >= n || line[i] <= ' ') {
      pairs.push([key, '']);
      continue;
    }
    if (line[i] === '"') {
      if (strict) return { pairs, error: `logfmt syntax error at pos ${i + 1} : unexpected '"'` };
      while (i < n && line[i] > ' ') i++;
      continue;
    }
    i++; // '='
    if (i < n && line[i] === '"') {
      let v = '';
      i++;
      let closed = false;
      // Runs between escapes are sliced whole rather than added a character at a time.
      let run = i;
      while (i < n) {
        const c = line.charCodeAt(i);
        if (c === 92 && i + 1 < n) {
          const esc = line[i + 1];
          v += line.slice(run, i) + (esc === 'n' ? '\n' : esc === 't' ? '\t' : esc === 'r' ? '\r' : esc);
          i += 2;
          run = i;
          continue;
        }
        if (c === 34) {
          v += line.slice(run, i);
          closed = true;
          i++;
          break;
        }
        i++;
      }
      if (!closed) {
        if (strict) return { pairs, error: `logfmt syntax error at pos ${n + 1} : unterminated quoted value` };
        break;
      }
      pairs.push([key, v]);
    } else {
      const vs = i;
      while (i < n && line[i] > ' ') {
        if (line[i] === '"' || line[i] === '=') {
          if (strict) return { pairs, error: `logfmt syntax error at pos ${i + 1} : unexpected '${line[i]}'` };
        }
        i++;
      }
      pairs.push([key, line.slice(vs, i)]);
    }
  }
  return { pairs };
}

/** `read`: when given, the only labels read after the parser (labelsRead in pipeline.ts); others are not set. */
export function logfmtExtractor(
  params: readonly ExtractParam[],
  strict: boolean,
  keepEmpty: boolean,
  read?: ReadonlySet<string>,
): Extractor {
  const wanted = params.length ? new Map(params.map((p) => [p.expr, p.label])) : undefined;
  return (e) => {
    const { pairs, error } = decodeLogfmt(e.line, strict);
    if (error !== undefined) {
      setError(e, 'LogfmtParserErr', error);
      return;
    }
    for (const [k, v] of pairs) {
      if (v === '' && !keepEmpty) continue;
      if (wanted) {
        const label = wanted.get(k);
        if (label !== undefined) setExtracted(e, label, v);
      } else if (!read) setExtracted(e, sanitizeLabelName(k), v);
      else {
        const name = sanitizeLabelName(k);
        if (read.has(e.streamLabels.has(name) ? name + '_extracted' : name)) setExtracted(e, name, v);
      }
    }
  };
}

export function regexpExtractor(source: string): Extractor {
  const re = compileSearchRegex(source);
  const names = re.groupNames;
  if (names.length === 0) throw new LogqlParseError('at least one named capture must be supplied', 0, 0);
  return (e) => {
    const m = re.find(e.line);
    if (!m) return;
    for (const name of names) {
      const v = m.group(name);
      if (v !== undefined) setExtracted(e, name, v);
    }
  };
}

function parsePattern(p: string): PatternNode[] {
  const nodes = patternNodes(p);
  if (consecutiveCaptures(nodes)) throw new LogqlParseError(`invalid pattern: consecutive captures are not allowed: ${p}`, 0, 0);
  return nodes;
}

/**
 * Loki's pattern matching: a leading literal must begin the line; each capture runs up to the next
 * occurrence of the literal after it (or to the end of the line when it is last); when a literal
 * is not found, the captures taken so far are kept.
 */
export function patternExtractor(pattern: string): Extractor {
  const nodes = parsePattern(pattern);
  return (e) => {
    const line = e.line;
    let pos = 0;
    let k = 0;
    if (k < nodes.length && 'lit' in nodes[k]) {
      const l = (nodes[k] as { lit: string }).lit;
      if (!line.startsWith(l)) return;
      pos = l.length;
      k++;
    }
    while (k < nodes.length) {
      const cap = (nodes[k] as { capture: string }).capture;
      const lit = nodes[k + 1] as { lit: string } | undefined;
      if (!lit) {
        if (cap !== '_') setExtracted(e, cap, line.slice(pos));
        return;
      }
      const at = line.indexOf(lit.lit, pos);
      if (at < 0) return;
      if (cap !== '_') setExtracted(e, cap, line.slice(pos, at));
      pos = at + lit.lit.length;
      k += 2;
    }
  };
}
