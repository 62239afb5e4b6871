/**
 * OpenTelemetry names to Prometheus names, as Prometheus 3's OTLP endpoint does under its
 * `otlp.translation_strategy`: metric names get unit and type suffixes (`_seconds`, `_total`,
 * `_ratio`) and lose characters Prometheus' classic names cannot hold, or are kept as UTF-8.
 */

export const TRANSLATION_STRATEGIES = [
  'UnderscoreEscapingWithSuffixes',
  'UnderscoreEscapingWithoutSuffixes',
  'NoUTF8EscapingWithSuffixes',
  'NoTranslation',
] as const;

export type TranslationStrategy = (typeof TRANSLATION_STRATEGIES)[number];

/** What the metric becomes, as far as suffixes care. */
export type SuffixKind = 'counter' | 'gauge' | 'other';

export function withSuffixes(s: TranslationStrategy): boolean {
  return s === 'UnderscoreEscapingWithSuffixes' || s === 'NoUTF8EscapingWithSuffixes';
}

export function escapes(s: TranslationStrategy): boolean {
  return s === 'UnderscoreEscapingWithSuffixes' || s === 'UnderscoreEscapingWithoutSuffixes';
}

/** OpenTelemetry (UCUM) units to the words Prometheus puts in names. */
const UNITS: Record<string, string> = {
  d: 'days',
  h: 'hours',
  min: 'minutes',
  s: 'seconds',
  ms: 'milliseconds',
  us: 'microseconds',
  ns: 'nanoseconds',
  By: 'bytes',
  KiBy: 'kibibytes',
  MiBy: 'mebibytes',
  GiBy: 'gibibytes',
  TiBy: 'tibibytes',
  KBy: 'kilobytes',
  MBy: 'megabytes',
  GBy: 'gigabytes',
  TBy: 'terabytes',
  m: 'meters',
  V: 'volts',
  A: 'amperes',
  J: 'joules',
  W: 'watts',
  g: 'grams',
  Cel: 'celsius',
  Hz: 'hertz',
  1: '',
  '%': 'percent',
};

/** The denominator of a unit such as `By/s`. */
const PER_UNITS: Record<string, string> = {
  s: 'second',
  m: 'minute',
  h: 'hour',
  d: 'day',
  w: 'week',
  mo: 'month',
  y: 'year',
};

const NOT_NAME_TOKEN = /[^a-zA-Z0-9:]+/;
const NOT_METRIC_CHAR = /[^a-zA-Z0-9:_]+/;
const NOT_ALNUM = /[^a-zA-Z0-9]+/;
const NOT_LABEL_CHAR = /[^a-zA-Z0-9_]/g;

function tokens(s: string, sep: RegExp): string[] {
  return s.split(sep).filter((t) => t !== '');
}

/** A unit word with anything but letters and digits turned into single underscores. */
function cleanUnit(u: string): string {
  return tokens(u, NOT_ALNUM).join('_');
}

/** The main and per-unit suffix words of a unit ('' when none); units in braces are annotations. */
export function unitSuffixes(unit: string): [string, string] {
  const slash = unit.indexOf('/');
  const main = (slash < 0 ? unit : unit.slice(0, slash)).trim();
  const per = slash < 0 ? '' : unit.slice(slash + 1).trim();
  const mainWord = main !== '' && !/[{}]/.test(main) ? cleanUnit(UNITS[main] ?? main) : '';
  const perWord = per !== '' && !/[{}]/.test(per) ? cleanUnit(PER_UNITS[per] ?? per) : '';
  return [mainWord, perWord];
}

/** The Prometheus metric name of an OpenTelemetry metric (before `_bucket`/`_sum`/`_count`). */
export function metricName(name: string, unit: string, kind: SuffixKind, strategy: TranslationStrategy): string {
  if (strategy === 'NoTranslation') return name;
  if (strategy === 'UnderscoreEscapingWithSuffixes') return normalizedName(name, unit, kind);
  if (strategy === 'UnderscoreEscapingWithoutSuffixes') return leadingDigit(tokens(name, NOT_METRIC_CHAR).join('_'));
  // UTF-8 kept as it is, suffixes appended unless already there.
  let n = name;
  const [main, per] = unitSuffixes(unit);
  if (main !== '' && !n.endsWith(main)) n += '_' + main;
  if (per !== '' && !n.endsWith('per_' + per)) n += '_per_' + per;
  if (kind === 'counter' && !n.endsWith('_total')) n += '_total';
  if (unit === '1' && kind === 'gauge' && !n.endsWith('_ratio')) n += '_ratio';
  return n;
}

function normalizedName(name: string, unit: string, kind: SuffixKind): string {
  let t = tokens(name, NOT_NAME_TOKEN);
  const [main, per] = unitSuffixes(unit);
  if (main !== '' && !t.includes(main)) t.push(main);
  if (per !== '' && !(t.includes('per') && t.includes(per))) t.push('per', per);
  if (kind === 'counter') t = [...t.filter((x) => x !== 'total'), 'total'];
  if (unit === '1' && kind === 'gauge') t = [...t.filter((x) => x !== 'ratio'), 'ratio'];
  return leadingDigit(t.join('_'));
}

function leadingDigit(n: string): string {
  return n !== '' && n.charCodeAt(0) >= 48 && n.charCodeAt(0) <= 57 ? '_' + n : n;
}

/** An attribute key as a label name: escaped to [a-zA-Z0-9_] under the escaping strategies. */
export function labelName(key: string, strategy: TranslationStrategy): string {
  if (!escapes(strategy) || key === '') return key;
  let l = escaped.get(key);
  if (l === undefined) {
    // Attribute keys repeat on every point: each is escaped once (a bounded cache, cleared when full).
    if (escaped.size >= MAX_ESCAPED) escaped.clear();
    escaped.set(key, (l = escapeLabelName(key)));
  }
  return l;
}

const MAX_ESCAPED = 10_000;
const escaped = new Map<string, string>();

function escapeLabelName(key: string): string {
  let l = key.replace(NOT_LABEL_CHAR, '_');
  const c = l.charCodeAt(0);
  if (c >= 48 && c <= 57) l = 'key_' + l;
  else if (l.startsWith('_') && !l.startsWith('__')) l = 'key' + l;
  return l;
}

/**
 * A float as Go's strconv.FormatFloat(v, 'f', -1, 64), which the translator uses for `le` and
 * `quantile`: the shortest digits that round-trip, never an exponent.
 */
export function formatFloat(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (Number.isNaN(v)) return 'NaN';
  const s = String(v);
  const e = s.indexOf('e');
  if (e < 0) return s;
  const neg = s.startsWith('-');
  const mantissa = s.slice(neg ? 1 : 0, e);
  const exp = Number(s.slice(e + 1));
  const dot = mantissa.indexOf('.');
  const digits = mantissa.replace('.', '');
  const intLen = (dot < 0 ? mantissa.length : dot) + exp;
  let out: string;
  if (intLen <= 0) out = '0.' + '0'.repeat(-intLen) + digits;
  else if (intLen >= digits.length) out = digits + '0'.repeat(intLen - digits.length);
  else out = digits.slice(0, intLen) + '.' + digits.slice(intLen);
  return (neg ? '-' : '') + out;
}
