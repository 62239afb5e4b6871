/** PromQL AST -> canonical text, as Prometheus' Expr.String() prints it (format_query). */
import { isValidLegacyLabelName, isValidLegacyMetricName, type Matcher } from '@strata/model';
import type { Expr, QueryDuration, TimeModifiers, VectorMatching, VectorSelector } from './ast.js';
import { formatDurationExpr } from './duration.js';
import { formatFloat } from './engine/math.js';

const UNITS: [string, number][] = [
  ['y', 31_536_000_000],
  ['w', 604_800_000],
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
  ['ms', 1],
];

/** Prometheus' model.Duration string: 1h30m, 5m, 0s. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let out = ms < 0 ? '-' : '';
  let rest = Math.abs(ms);
  for (const [u, size] of UNITS) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${u}`;
      rest -= n * size;
    }
  }
  return out;
}

function quote(s: string): string {
  return JSON.stringify(s);
}

function labelName(n: string): string {
  return isValidLegacyLabelName(n) ? n : quote(n);
}

function matcher(m: Matcher): string {
  return `${labelName(m.name)}${m.type}${quote(m.value)}`;
}

function grouping(labels: string[]): string {
  return `(${labels.map(labelName).join(', ')})`;
}

function modifiers(m: TimeModifiers): string {
  let s = '';
  if (m.at !== null) s += ` @ ${(m.at / 1000).toFixed(3)}`;
  else if (m.atModifier) s += ` @ ${m.atModifier}()`;
  if (m.offsetExpr) s += ` offset ${formatDurationExpr(m.offsetExpr.expr)}`;
  else if (m.offset !== 0) s += ` offset ${formatDuration(m.offset)}`;
  return s;
}

/** A range or step: its expression while it depends on the query, else its value. */
function duration(ms: number, e: QueryDuration | undefined): string {
  return e ? formatDurationExpr(e.expr) : formatDuration(ms);
}

function selector(v: VectorSelector): string {
  const legacyName = v.name !== '' && isValidLegacyMetricName(v.name);
  const rest = v.matchers.filter((m) => !(v.name !== '' && m.name === '__name__' && m.type === '=' && m.value === v.name));
  const parts = rest.map(matcher);
  if (v.name !== '' && !legacyName) parts.unshift(quote(v.name));
  if (legacyName && parts.length === 0) return v.name;
  return `${legacyName ? v.name : ''}{${parts.join(', ')}}`;
}

/** As Prometheus: a group modifier is printed only together with on/ignoring. */
function matching(m: VectorMatching | null, setOp: boolean): string {
  if (!m || !(m.on || m.matchingLabels.length > 0)) return '';
  let s = ` ${m.on ? 'on' : 'ignoring'} ${grouping(m.matchingLabels)}`;
  if (!setOp && (m.card === 'many-to-one' || m.card === 'one-to-many'))
    s += ` ${m.card === 'many-to-one' ? 'group_left' : 'group_right'} ${grouping(m.include)}`;
  return s;
}

function fills(m: VectorMatching | null): string {
  const l = m?.fillLeft ?? null;
  const r = m?.fillRight ?? null;
  if (l !== null && r !== null && Object.is(l, r)) return ` fill(${formatFloat(l)})`;
  return (l !== null ? ` fill_left(${formatFloat(l)})` : '') + (r !== null ? ` fill_right(${formatFloat(r)})` : '');
}

export function formatExpr(e: Expr): string {
  switch (e.kind) {
    case 'NumberLiteral':
      return formatFloat(e.value);
    case 'StringLiteral':
      return quote(e.value);
    case 'VectorSelector':
      return selector(e) + modifiers(e) + (e.rangeModifier ? ` ${e.rangeModifier}` : '');
    case 'MatrixSelector':
      return `${selector(e.vectorSelector)}[${duration(e.range, e.rangeExpr)}]${modifiers(e.vectorSelector)}${
        e.vectorSelector.rangeModifier ? ` ${e.vectorSelector.rangeModifier}` : ''
      }`;
    case 'SubqueryExpr':
      return `${formatExpr(e.expr)}[${duration(e.range, e.rangeExpr)}:${e.step || e.stepExpr ? duration(e.step, e.stepExpr) : ''}]${modifiers(e)}`;
    case 'Call':
      return `${e.func}(${e.args.map(formatExpr).join(', ')})`;
    case 'AggregateExpr': {
      const g = e.without ? ` without ${grouping(e.grouping)} ` : e.grouping.length > 0 ? ` by ${grouping(e.grouping)} ` : '';
      const args = e.param ? `${formatExpr(e.param)}, ${formatExpr(e.expr)}` : formatExpr(e.expr);
      return `${e.op}${g}(${args})`;
    }
    case 'BinaryExpr': {
      const setOp = e.op === 'and' || e.op === 'or' || e.op === 'unless';
      return `${formatExpr(e.lhs)} ${e.op}${e.returnBool ? ' bool' : ''}${matching(e.matching, setOp)}${fills(e.matching)} ${formatExpr(e.rhs)}`;
    }
    case 'UnaryExpr':
      return `${e.op}${formatExpr(e.expr)}`;
    case 'ParenExpr':
      return `(${formatExpr(e.expr)})`;
  }
}
