/**
 * Prometheus' template functions (its template package) over the Go template engine, and the
 * expansion of alert labels and annotations: `$labels`, `$value`, `$externalLabels`,
 * `$externalURL` defined before the text, errors turned into `<error expanding template: ...>`.
 * Supported: query first value label strvalue sortByLabel args reReplaceAll safeHtml match title
 * toUpper toLower graphLink tableLink humanize humanize1024 humanizeDuration humanizePercentage
 * humanizeTimestamp toTime pathPrefix externalURL parseDuration stripPort stripDomain.
 */
import { AnyMap, compileSearchRegex, formatG, GoStruct, sprintf, Template, type RegexGroups } from '@strata/model';
import { parseDurationLiteral } from '@strata/promql';

/** A sample of a `query` result: `.Labels` (a map) and `.Value`. */
export function querySample(labels: ReadonlyMap<string, string>, value: number): GoStruct {
  return new GoStruct('*template.sample', { Labels: new Map(labels), Value: value });
}

export type TemplateQuery = (q: string) => Promise<GoStruct[]>;

export interface ExpandContext {
  /** Evaluation time in ms. */
  timeMs: number;
  externalURL: string;
  query: TemplateQuery;
}

function toFloat(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string') {
    const n = Number(v.trim());
    if (v.trim() === '' || Number.isNaN(n)) {
      if (/^[+-]?nan$/i.test(v.trim())) return NaN;
      if (/^[+-]?inf(inity)?$/i.test(v.trim())) return v.trim().startsWith('-') ? -Infinity : Infinity;
      throw new Error(`strconv.ParseFloat: parsing ${JSON.stringify(v)}: invalid syntax`);
    }
    return n;
  }
  if (typeof v === 'boolean') return v ? 1 : 0;
  throw new Error(`can't convert ${typeof v} to float`);
}

const g4 = (v: number) => formatG(v, 4);

export function humanize(x: unknown): string {
  let v = toFloat(x);
  if (v === 0 || !Number.isFinite(v)) return g4(v);
  if (Math.abs(v) >= 1) {
    let prefix = '';
    for (const p of ['k', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y']) {
      if (Math.abs(v) < 1000) break;
      prefix = p;
      v /= 1000;
    }
    return g4(v) + prefix;
  }
  let prefix = '';
  for (const p of ['m', 'u', 'n', 'p', 'f', 'a', 'z', 'y']) {
    if (Math.abs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return g4(v) + prefix;
}

export function humanize1024(x: unknown): string {
  let v = toFloat(x);
  if (Math.abs(v) <= 1 || !Number.isFinite(v)) return g4(v);
  let prefix = '';
  for (const p of ['ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei', 'Zi', 'Yi']) {
    if (Math.abs(v) < 1024) break;
    prefix = p;
    v /= 1024;
  }
  return g4(v) + prefix;
}

export function humanizeDuration(x: unknown): string {
  let v = toFloat(x);
  if (!Number.isFinite(v)) return g4(v);
  if (v === 0) return g4(v) + 's';
  if (Math.abs(v) >= 1) {
    let sign = '';
    if (v < 0) {
      sign = '-';
      v = -v;
    }
    const d = Math.trunc(v);
    const seconds = d % 60;
    const minutes = Math.trunc(d / 60) % 60;
    const hours = Math.trunc(d / 3600) % 24;
    const days = Math.trunc(d / 86400);
    if (days !== 0) return `${sign}${days}d ${hours}h ${minutes}m ${seconds}s`;
    if (hours !== 0) return `${sign}${hours}h ${minutes}m ${seconds}s`;
    if (minutes !== 0) return `${sign}${minutes}m ${seconds}s`;
    return `${sign}${g4(v)}s`;
  }
  let prefix = '';
  for (const p of ['m', 'u', 'n', 'p', 'f', 'a', 'z', 'y']) {
    if (Math.abs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return `${g4(v)}${prefix}s`;
}

export function humanizePercentage(x: unknown): string {
  return g4(toFloat(x) * 100) + '%';
}

/**
 * Go's time.Time.String() of the UTC time a float of seconds names, at millisecond precision as
 * Prometheus converts it (nanoseconds truncated to its model.Time): `2006-01-02 15:04:05.999 +0000 UTC`.
 */
export function goTimeString(seconds: number): string {
  const ms = Math.trunc(Math.trunc(seconds * 1e9) / 1e6);
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const frac = d.getUTCMilliseconds() === 0 ? '' : '.' + p(d.getUTCMilliseconds(), 3).replace(/0+$/, '');
  return `${p(d.getUTCFullYear(), 4)}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}${frac} +0000 UTC`;
}

export function humanizeTimestamp(x: unknown): string {
  const v = toFloat(x);
  if (!Number.isFinite(v)) return g4(v);
  return goTimeString(v);
}

/**
 * Go's Regexp.Expand of a replacement: $name or ${name} (digits: a group number), $$ a literal $;
 * an unknown group expands to nothing, a $ starting no name stays as it is.
 */
function goExpand(repl: string): (groups: RegexGroups) => string {
  return (groups) =>
    repl.replace(/\$\$|\$\{(\w+)\}|\$(\w+)/g, (m, braced: string | undefined, bare: string | undefined) => {
      if (m === '$$') return '$';
      const name = braced ?? bare!;
      return groups.group(/^\d+$/.test(name) ? Number(name) : name) ?? '';
    });
}

function goTitle(s: string): string {
  return s.replace(/(^|[^\p{L}\p{N}_'])(\p{L})/gu, (_m, sep: string, c: string) => sep + c.toUpperCase());
}

function queryEscape(s: string): string {
  return encodeURIComponent(s)
    .replace(/%20/g, '+')
    .replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

function asSample(v: unknown, fn: string): GoStruct {
  if (!(v instanceof GoStruct) || !('Labels' in v.fields)) throw new Error(`wrong type for value; expected *template.sample for ${fn}`);
  return v;
}

export function prometheusFuncs(ctx: ExpandContext): Record<string, (...a: unknown[]) => unknown> {
  return {
    query: (q) => ctx.query(String(q)),
    first: (v) => {
      if (!Array.isArray(v)) throw new Error('wrong type for value; expected template.queryResult');
      if (v.length === 0) throw new Error('first() called on vector with no elements');
      return v[0];
    },
    label: (name, s) => (asSample(s, 'label').fields.Labels as Map<string, string>).get(String(name)) ?? '',
    value: (s) => asSample(s, 'value').fields.Value,
    strvalue: (s) => (asSample(s, 'strvalue').fields.Labels as Map<string, string>).get('__value__') ?? '',
    args: (...a) => {
      const m = new AnyMap();
      a.forEach((v, i) => m.set(`arg${i}`, v));
      return m;
    },
    // User regexes of rule files: RE2, linear time, like every other (see packages/model/src/regex.ts).
    reReplaceAll: (pattern, repl, text) => compileSearchRegex(String(pattern)).replaceAll(String(text), goExpand(String(repl))),
    safeHtml: (s) => String(s),
    match: (pattern, s) => compileSearchRegex(String(pattern)).test(String(s)),
    title: (s) => goTitle(String(s)),
    toUpper: (s) => String(s).toUpperCase(),
    toLower: (s) => String(s).toLowerCase(),
    graphLink: (expr) => `/graph?g0.expr=${queryEscape(String(expr))}&g0.tab=0`,
    tableLink: (expr) => `/graph?g0.expr=${queryEscape(String(expr))}&g0.tab=1`,
    sortByLabel: (name, v) => {
      if (!Array.isArray(v)) throw new Error('wrong type for value; expected template.queryResult');
      const n = String(name);
      const key = (s: GoStruct) => (s.fields.Labels as Map<string, string>).get(n) ?? '';
      return [...(v as GoStruct[])].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
    },
    humanize,
    humanize1024,
    humanizeDuration,
    humanizePercentage,
    humanizeTimestamp,
    toTime: (x) => goTimeString(toFloat(x)),
    pathPrefix: () => {
      try {
        return new URL(ctx.externalURL).pathname.replace(/\/$/, '');
      } catch {
        return '';
      }
    },
    externalURL: () => ctx.externalURL,
    parseDuration: (d) => {
      const ms = parseDurationLiteral(String(d));
      if (ms === undefined) throw new Error(`not a valid duration string: ${JSON.stringify(String(d))}`);
      return ms / 1000;
    },
    stripPort: (hostPort) => {
      const s = String(hostPort);
      const m = /^\[([^\]]+)\]:\d*$/.exec(s) ?? /^([^:]*):\d*$/.exec(s);
      return m ? m[1] : s;
    },
    stripDomain: (hostPort) => {
      const s = String(hostPort);
      const m = /^(.*?)(:\d+)?$/.exec(s)!;
      const host = m[1];
      if (/^[\d.]+$/.test(host) || host.includes(':')) return s;
      return host.split('.')[0] + (m[2] ?? '');
    },
  };
}

/** Prepended to every label and annotation template, as Prometheus does. */
const DEFS = '{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}';

export interface AlertTemplateData {
  labels: ReadonlyMap<string, string>;
  externalLabels: ReadonlyMap<string, string>;
  externalURL: string;
  value: number;
}

/** Checks a template's syntax: the error promtool reports, or undefined. */
export function templateSyntaxError(name: string, text: string): string | undefined {
  try {
    new Template(name, DEFS + text, prometheusFuncs({ timeMs: 0, externalURL: '', query: async () => [] }));
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** Expands one label or annotation; an error becomes the text, as Prometheus shows it. */
export async function expandAlertTemplate(name: string, text: string, data: AlertTemplateData, ctx: ExpandContext): Promise<string> {
  if (!text.includes('{{')) return text;
  try {
    const t = new Template(name, DEFS + text, prometheusFuncs(ctx));
    return await t.execute(
      new GoStruct('template.tmplData', {
        Labels: new Map(data.labels),
        ExternalLabels: new Map(data.externalLabels),
        ExternalURL: data.externalURL,
        Value: data.value,
      }),
    );
  } catch (e) {
    return `<error expanding template: ${(e as Error).message}>`;
  }
}

export { sprintf };
