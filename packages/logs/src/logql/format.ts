/** A syntax tree back to LogQL text that parses to the same tree (canonical spacing, fully parenthesized binaries). */
import type { Matcher } from '@strata/model';
import type { Expr, Grouping, LabelFilter, LogExpr, SampleExpr, Stage } from './ast.js';

const q = (s: string): string => JSON.stringify(s);

function formatNs(ns: bigint): string {
  const units: [string, bigint][] = [
    ['h', 3_600_000_000_000n],
    ['m', 60_000_000_000n],
    ['s', 1_000_000_000n],
    ['ms', 1_000_000n],
    ['us', 1_000n],
    ['ns', 1n],
  ];
  if (ns === 0n) return '0s';
  let out = '';
  let rest = ns;
  for (const [u, size] of units) {
    if (rest >= size) {
      out += `${rest / size}${u}`;
      rest %= size;
    }
  }
  return out;
}

const matcher = (m: Matcher): string => `${m.name}${m.type}${q(m.value)}`;

function filter(f: LabelFilter): string {
  switch (f.k) {
    case 'and':
      return `(${filter(f.l)} and ${filter(f.r)})`;
    case 'or':
      return `(${filter(f.l)} or ${filter(f.r)})`;
    case 'string':
      return matcher(f.matcher);
    case 'ip':
      return `${f.name}${f.negate ? '!=' : '='}ip(${q(f.pattern)})`;
    default:
      return `${f.name} ${f.op} ${f.text}`;
  }
}

function stage(s: Stage): string {
  switch (s.k) {
    case 'line':
      return `${s.op} ${s.values.map((v) => (typeof v === 'string' ? q(v) : `ip(${q(v.ip)})`)).join(' or ')}`;
    case 'json':
      return `| json${s.params.length ? ' ' + s.params.map((p) => `${p.label}=${q(p.expr)}`).join(', ') : ''}`;
    case 'logfmt':
      return `| logfmt${s.strict ? ' --strict' : ''}${s.keepEmpty ? ' --keep-empty' : ''}${s.params.length ? ' ' + s.params.map((p) => `${p.label}=${q(p.expr)}`).join(', ') : ''}`;
    case 'regexp':
      return `| regexp ${q(s.re)}`;
    case 'pattern':
      return `| pattern ${q(s.pattern)}`;
    case 'unpack':
      return '| unpack';
    case 'decolorize':
      return '| decolorize';
    case 'filter':
      return `| ${filter(s.filter)}`;
    case 'line_format':
      return `| line_format ${q(s.template)}`;
    case 'label_format':
      return `| label_format ${s.items.map((i) => (i.src !== undefined ? `${i.dst}=${i.src}` : `${i.dst}=${q(i.template!)}`)).join(', ')}`;
    case 'drop':
    case 'keep':
      return `| ${s.k} ${s.items.map((i) => (i.matcher ? matcher(i.matcher) : i.name)).join(', ')}`;
  }
}

function log(e: LogExpr): string {
  return `{${e.matchers.map(matcher).join(', ')}}${e.stages.map((s) => ' ' + stage(s)).join('')}`;
}

const grouping = (g: Grouping | undefined): string => (g ? ` ${g.without ? 'without' : 'by'} (${g.labels.join(', ')})` : '');

function sample(e: SampleExpr): string {
  switch (e.k) {
    case 'number':
      return Number.isFinite(e.value) ? String(e.value) : e.value > 0 ? 'Inf' : '-Inf';
    case 'vector':
      return `vector(${e.value})`;
    case 'range': {
      const u = e.unwrap;
      const unwrap = u
        ? ` | unwrap ${u.conversion ? `${u.conversion}(${u.label})` : u.label}${u.post.map((f) => ' | ' + filter(f)).join('')}`
        : '';
      const param = e.param !== undefined ? `${e.param}, ` : '';
      const offset = e.offsetNs ? ` offset ${formatNs(e.offsetNs)}` : '';
      return `${e.fn}(${param}${log(e.log)}${unwrap} [${formatNs(e.rangeNs)}]${offset})${grouping(e.grouping)}`;
    }
    case 'agg':
      return `${e.op}${grouping(e.grouping)}(${e.param !== undefined ? `${e.param}, ` : ''}${sample(e.inner)})`;
    case 'label_replace':
      return `label_replace(${sample(e.inner)}, ${q(e.dst)}, ${q(e.replacement)}, ${q(e.src)}, ${q(e.regex)})`;
    case 'binary': {
      const m = e.matching;
      const matching = m
        ? ` ${m.on ? 'on' : 'ignoring'} (${m.labels.join(', ')})${m.group ? ` group_${m.group} (${m.include.join(', ')})` : ''}`
        : '';
      return `(${sample(e.lhs)} ${e.op}${e.bool ? ' bool' : ''}${matching} ${sample(e.rhs)})`;
    }
  }
}

export function formatLogql(e: Expr): string {
  return e.k === 'log' ? log(e) : sample(e);
}
