/**
 * PromQL text -> typed AST, using the Prometheus project's own grammar (@prometheus-io/lezer-promql)
 * for syntax, then Prometheus' semantic checks (types, arities, selector rules) on the result.
 */
import { parser as lezer } from '@prometheus-io/lezer-promql';
import type { SyntaxNode } from '@lezer/common';
import { Matcher, type MatchType } from '@strata/model';
import {
  ParseError,
  typeOf,
  type AggregateOp,
  type BinaryOp,
  type DurationExpr,
  type QueryDuration,
  type Expr,
  type RangeModifier,
  type PosRange,
  type VectorMatching,
  type VectorSelector,
} from '../ast.js';
import { dependsOnQuery, DurationError, durationMs } from '../duration.js';
import { FUNCTIONS } from './functions.js';
import { parseDurationLiteral, parseNumberLiteral, unquoteString } from './literals.js';

const BINARY_OPS: Record<string, BinaryOp> = {
  Pow: '^',
  Mul: '*',
  Div: '/',
  Mod: '%',
  Add: '+',
  Sub: '-',
  Atan2: 'atan2',
  Eql: '==',
  Neq: '!=',
  Gtr: '>',
  Lss: '<',
  Gte: '>=',
  Lte: '<=',
  And: 'and',
  Or: 'or',
  Unless: 'unless',
  TrimUpper: '</',
  TrimLower: '>/',
};
const COMPARISON = new Set<BinaryOp>(['==', '!=', '>', '<', '>=', '<=']);
const SET_OPS = new Set<BinaryOp>(['and', 'or', 'unless']);
const AGGREGATE_WITH_PARAM = new Set<AggregateOp>(['topk', 'bottomk', 'quantile', 'count_values', 'limitk', 'limit_ratio']);

/** A fill modifier cut out of the text before the grammar reads it (the grammar does not know them). */
interface FillModifier {
  pos: PosRange;
  left: boolean;
  right: boolean;
  value: number;
  used: boolean;
}

/** An `anchored` or `smoothed` cut out of the text likewise, to be attached to the selector before it. */
interface CutRangeModifier {
  pos: PosRange;
  kind: RangeModifier;
  used: boolean;
}

class Conv {
  constructor(
    private readonly q: string,
    readonly fills: FillModifier[] = [],
    readonly rangeMods: CutRangeModifier[] = [],
  ) {}

  text(n: SyntaxNode): string {
    return this.q.slice(n.from, n.to);
  }

  pos(n: SyntaxNode): PosRange {
    return { start: n.from, end: n.to };
  }

  fail(n: SyntaxNode | PosRange, msg: string): never {
    const p = 'from' in n ? { start: n.from, end: n.to } : n;
    throw new ParseError(`${positionOf(this.q, p.start)}: parse error: ${msg}`, p, this.q);
  }

  children(n: SyntaxNode): SyntaxNode[] {
    const out: SyntaxNode[] = [];
    for (let c = n.firstChild; c; c = c.nextSibling) out.push(c);
    return out;
  }

  expr(n: SyntaxNode): Expr {
    const e = this.node(n);
    if (this.rangeMods.length > 0 && (e.kind === 'MatrixSelector' || e.kind === 'VectorSelector')) this.attachRangeModifier(n, e);
    return e;
  }

  /** A cut `anchored` / `smoothed` right after the selector (and its offset and @) belongs to it. */
  private attachRangeModifier(n: SyntaxNode, e: Expr & { kind: 'MatrixSelector' | 'VectorSelector' }): void {
    const at = n.to + /^\s*/.exec(this.q.slice(n.to))![0].length;
    const m = this.rangeMods.find((r) => !r.used && r.pos.start === at);
    if (!m) return;
    m.used = true;
    if (e.kind === 'VectorSelector' && m.kind === 'anchored')
      this.fail(m.pos, 'the anchored modifier is only supported on range vector selectors (x[5m] anchored)');
    const vs = e.kind === 'VectorSelector' ? e : e.vectorSelector;
    if (vs.rangeModifier) this.fail(m.pos, 'anchored and smoothed modifiers cannot be used together');
    vs.rangeModifier = m.kind;
  }

  private node(n: SyntaxNode): Expr {
    switch (n.name) {
      case 'PromQL': {
        const c = this.children(n);
        if (c.length === 0) this.fail(n, 'no expression found in input');
        return this.expr(c[0]);
      }
      case 'ParenExpr':
        return { kind: 'ParenExpr', expr: this.expr(this.children(n)[0]), pos: this.pos(n) };
      case 'NumberDurationLiteral': {
        const v = parseNumberLiteral(this.text(n));
        if (v === undefined) this.fail(n, `bad number or duration syntax: "${this.text(n)}"`);
        return { kind: 'NumberLiteral', value: v, pos: this.pos(n) };
      }
      case 'StringLiteral':
        return { kind: 'StringLiteral', value: this.string(n), pos: this.pos(n) };
      case 'VectorSelector':
        return this.vectorSelector(n);
      case 'MatrixSelector': {
        const [vs, dur] = this.children(n);
        const inner = this.expr(vs);
        if (inner.kind !== 'VectorSelector') this.fail(n, 'ranges only allowed for vector selectors');
        if (inner.offset !== 0 || inner.at !== null || inner.atModifier !== null || inner.rangeModifier)
          this.fail(n, 'no offset, @, anchored or smoothed modifiers allowed before range');
        const range = this.duration(dur);
        if (!range.expr && range.ms <= 0) this.fail(dur, `duration must be greater than 0`);
        return {
          kind: 'MatrixSelector',
          vectorSelector: inner,
          range: range.ms,
          ...(range.expr ? { rangeExpr: range.expr } : {}),
          pos: this.pos(n),
        };
      }
      case 'SubqueryExpr': {
        const c = this.children(n);
        const inner = this.expr(c[0]);
        if (typeOf(inner) !== 'vector') this.fail(c[0], `subquery is only allowed on instant vector, got ${typeOf(inner)} instead`);
        const durs = c.filter((x) => x.name === 'DurationExpr');
        const range = this.duration(durs[0]);
        const step = durs[1] ? this.duration(durs[1]) : { ms: 0 };
        if (!range.expr && range.ms <= 0) this.fail(durs[0], 'duration must be greater than 0');
        return {
          kind: 'SubqueryExpr',
          expr: inner,
          range: range.ms,
          step: step.ms,
          ...(range.expr ? { rangeExpr: range.expr } : {}),
          ...(step.expr ? { stepExpr: step.expr } : {}),
          offset: 0,
          at: null,
          atModifier: null,
          pos: this.pos(n),
        };
      }
      case 'OffsetExpr': {
        const c = this.children(n);
        const target = this.expr(c[0]);
        const offset = this.duration(c[c.length - 1]);
        return this.withModifier(n, target, (t) => {
          if (t.offset !== 0 || t.offsetExpr) this.fail(n, 'offset may not be set multiple times');
          t.offset = offset.ms;
          if (offset.expr) t.offsetExpr = offset.expr;
        });
      }
      case 'StepInvariantExpr': {
        const c = this.children(n);
        const target = this.expr(c[0]);
        const at = c[c.length - 1];
        return this.withModifier(n, target, (t) => {
          if (t.at !== null || t.atModifier !== null) this.fail(n, '@ <timestamp> may not be set multiple times');
          if (at.name === 'AtModifierPreprocessors') t.atModifier = at.firstChild?.name === 'AtStart' ? 'start' : 'end';
          else {
            const v = parseNumberLiteral(this.text(at));
            if (v === undefined || !Number.isFinite(v)) this.fail(at, `timestamp out of bounds for @ modifier: ${this.text(at)}`);
            t.at = Math.round(v * 1000);
          }
        });
      }
      case 'UnaryExpr': {
        const [op, e] = this.children(n);
        const inner = this.expr(e);
        const t = typeOf(inner);
        if (t !== 'scalar' && t !== 'vector')
          this.fail(n, `unary expression only allowed on expressions of type scalar or instant vector, got "${t}"`);
        return { kind: 'UnaryExpr', op: this.text(op) === '-' ? '-' : '+', expr: inner, pos: this.pos(n) };
      }
      case 'FunctionCall':
        return this.call(n);
      case 'AggregateExpr':
        return this.aggregate(n);
      case 'BinaryExpr':
        return this.binary(n);
      default:
        if (n.type.isError) this.fail(n, this.unexpected(n));
        this.fail(n, `unsupported expression "${this.text(n)}"`);
    }
  }

  private unexpected(n: SyntaxNode): string {
    if (n.from >= this.q.length) return 'unexpected end of input';
    return `unexpected character: ${JSON.stringify(this.q[n.from])}`;
  }

  /** `offset` and `@` apply to the selector or subquery they follow (through matrix selectors). */
  private withModifier(n: SyntaxNode, target: Expr, set: (t: VectorSelector | (Expr & { kind: 'SubqueryExpr' })) => void): Expr {
    if (target.kind === 'VectorSelector' || target.kind === 'SubqueryExpr') set(target);
    else if (target.kind === 'MatrixSelector') set(target.vectorSelector);
    else if (target.kind === 'UnaryExpr') {
      // Likewise "-metric @ 100": the modifier belongs to the selector under the sign.
      this.withModifier(n, target.expr, set);
      return target;
    } else if (target.kind === 'BinaryExpr') {
      // The lezer grammar attaches a trailing modifier to the whole binary expression
      // ("a offset 1m or b offset 2m"); Prometheus binds it to the operand right before it.
      this.withModifier(n, target.rhs, set);
      return target;
    } else this.fail(n, '@ modifier and offset must be preceded by an instant vector selector or range vector selector or a subquery');
    return { ...target, pos: this.pos(n) } as Expr;
  }

  string(n: SyntaxNode): string {
    try {
      return unquoteString(this.text(n));
    } catch (e) {
      this.fail(n, (e as Error).message);
    }
  }

  private vectorSelector(n: SyntaxNode, matchAll = false): VectorSelector {
    let name = '';
    const matchers: Matcher[] = [];
    for (const c of this.children(n)) {
      if (c.name === 'Identifier' || c.name === 'MetricName') name = this.text(c);
      else if (c.name === 'LabelMatchers') {
        for (const m of this.children(c)) {
          if (m.type.isError) this.fail(m, this.unexpected(m));
          if (m.name === 'QuotedLabelName') {
            if (name !== '') this.fail(m, 'metric name must not be set twice');
            name = this.string(m.firstChild!);
            continue;
          }
          const parts = this.children(m);
          const labelNode = parts[0];
          const label = labelNode.name === 'QuotedLabelName' ? this.string(labelNode.firstChild!) : this.text(labelNode);
          const op = this.text(parts[1]) as MatchType;
          const value = this.string(parts[2]);
          try {
            matchers.push(new Matcher(op, label, value));
          } catch (e) {
            this.fail(parts[2], `invalid regular expression in matcher: ${(e as Error).message}`);
          }
        }
      }
    }
    if (name !== '') {
      if (matchers.some((m) => m.name === '__name__')) this.fail(n, `metric name must not be set twice: ${JSON.stringify(name)}`);
      matchers.unshift(new Matcher('=', '__name__', name));
    }
    if (!matchAll && !matchers.some((m) => !m.matchesEmpty())) this.fail(n, 'vector selector must contain at least one non-empty matcher');
    return { kind: 'VectorSelector', name, matchers, offset: 0, at: null, atModifier: null, pos: this.pos(n) };
  }

  /**
   * A duration in [ ] or after offset in ms, folded when it is constant; one naming step() or
   * range() is kept as `expr` (its ms 0) for resolveDurations().
   */
  duration(n: SyntaxNode): { ms: number; expr?: QueryDuration } {
    const tree = this.durationTree(n);
    if (dependsOnQuery(tree)) return { ms: 0, expr: { expr: tree, pos: this.pos(n) } };
    try {
      return { ms: durationMs(tree, 0, 0, true) };
    } catch (e) {
      if (e instanceof DurationError) this.fail(n, e.message);
      throw e;
    }
  }

  private durationTree(n: SyntaxNode): DurationExpr {
    if (n.name === 'NumberDurationLiteralInDurationContext' || n.name === 'NumberDurationLiteral') {
      const t = this.text(n);
      const d = parseDurationLiteral(t);
      if (d !== undefined) return { kind: 'DurationLiteral', seconds: d / 1000, text: t, ms: d };
      const v = parseNumberLiteral(t);
      if (v === undefined || !Number.isFinite(v)) this.fail(n, `bad duration syntax: "${t}"`);
      return { kind: 'DurationLiteral', seconds: v, text: t };
    }
    if (n.name === 'DurationStep') return { kind: 'DurationStep' };
    if (n.name === 'DurationRange') return { kind: 'DurationRange' };
    const c = this.children(n);
    if (n.name === 'DurationExpr' || n.name === 'OffsetDurationExpr' || n.name === 'ParenExpr') {
      if (c.length === 1) return this.durationTree(c[0]);
      if (c.length === 3 && (c[0].name === 'DurationMinOf' || c[0].name === 'DurationMaxOf'))
        return {
          kind: 'DurationCall',
          func: c[0].name === 'DurationMinOf' ? 'min_of' : 'max_of',
          args: [this.durationTree(c[1]), this.durationTree(c[2])],
        };
      if (c.length === 2 && c[0].name === 'UnaryOp')
        return { kind: 'DurationUnary', op: this.text(c[0]) === '-' ? '-' : '+', expr: this.durationTree(c[1]) };
      const op = c.length === 3 ? BINARY_OPS[c[1].name] : undefined;
      if (op === '+' || op === '-' || op === '*' || op === '/' || op === '%' || op === '^')
        return { kind: 'DurationBinary', op, lhs: this.durationTree(c[0]), rhs: this.durationTree(c[2]) };
    }
    if (n.type.isError) this.fail(n, this.unexpected(n));
    this.fail(n, `unsupported duration expression "${this.text(n)}"`);
  }

  private call(n: SyntaxNode): Expr {
    const [ident, body] = this.children(n);
    const name = this.text(ident);
    const sig = FUNCTIONS[name];
    if (!sig) this.fail(ident, `unknown function with name ${JSON.stringify(name)}`);
    const args = this.children(body).map((a, i) => {
      if (a.type.isError) this.fail(a, this.unexpected(a));
      if (name === 'info' && i === 1) return this.infoLabelSelector(a);
      return this.expr(a);
    });
    const nargs = args.length;
    const fixed = sig.argTypes.length;
    if (sig.variadic === 0 && nargs !== fixed) {
      this.fail(n, `expected ${fixed} argument(s) in call to ${JSON.stringify(name)}, got ${nargs}`);
    }
    if (sig.variadic > 0 && (nargs < fixed - sig.variadic || nargs > fixed)) {
      this.fail(n, `expected at least ${fixed - sig.variadic} argument(s) in call to ${JSON.stringify(name)}, got ${nargs}`);
    }
    if (sig.variadic < 0 && nargs < fixed - 1)
      this.fail(n, `expected at least ${fixed - 1} argument(s) in call to ${JSON.stringify(name)}, got ${nargs}`);
    args.forEach((a, i) => {
      const want = sig.argTypes[Math.min(i, fixed - 1)];
      this.expectType(a, want, `call to function ${JSON.stringify(name)}`);
    });
    return { kind: 'Call', func: name, returnType: sig.returnType, args, pos: this.pos(n) };
  }

  /**
   * info()'s second argument selects info series by label alone, so unlike a selector it may
   * match everything (`{data=~".*"}`), but it may not name a metric outside the braces.
   */
  private infoLabelSelector(n: SyntaxNode): Expr {
    if (n.name !== 'VectorSelector') {
      const e = this.expr(n);
      if (typeOf(e) !== 'vector') return e; // the argument type check names it
      this.fail(n, 'expected label selectors only');
    }
    if (this.children(n).some((c) => c.name === 'Identifier' || c.name === 'MetricName'))
      this.fail(n, 'expected label selectors only, got vector selector instead');
    return this.vectorSelector(n, true);
  }

  private expectType(e: Expr, want: string, context: string): void {
    const got = typeOf(e);
    if (got !== want) {
      this.fail(e.pos, `expected type ${typeName(want)} in ${context}, got ${typeName(got)}`);
    }
  }

  private aggregate(n: SyntaxNode): Expr {
    let op: AggregateOp | undefined;
    let grouping: string[] = [];
    let without = false;
    let args: Expr[] = [];
    for (const c of this.children(n)) {
      if (c.name === 'AggregateOp') op = this.text(c).toLowerCase() as AggregateOp;
      else if (c.name === 'AggregateModifier') {
        without = c.firstChild?.name === 'Without';
        grouping = this.groupingLabels(c.lastChild!);
      } else if (c.name === 'FunctionCallBody') {
        args = this.children(c).map((a) => {
          if (a.type.isError) this.fail(a, this.unexpected(a));
          return this.expr(a);
        });
      }
    }
    if (!op) this.fail(n, 'missing aggregation operator');
    const needsParam = AGGREGATE_WITH_PARAM.has(op);
    if (args.length !== (needsParam ? 2 : 1)) {
      this.fail(
        n,
        needsParam
          ? `wrong number of arguments for aggregate expression provided, expected 2, got ${args.length}`
          : `wrong number of arguments for aggregate expression provided, expected 1, got ${args.length}`,
      );
    }
    const expr = args[args.length - 1];
    const param = needsParam ? args[0] : null;
    this.expectType(expr, 'vector', 'aggregation');
    if (param) this.expectType(param, op === 'count_values' ? 'string' : 'scalar', 'aggregation parameter');
    return { kind: 'AggregateExpr', op, expr, param, grouping, without, pos: this.pos(n) };
  }

  private groupingLabels(n: SyntaxNode): string[] {
    return this.children(n).map((c) => (c.name === 'QuotedLabelName' ? this.string(c.firstChild!) : this.text(c)));
  }

  private binary(n: SyntaxNode): Expr {
    const c = this.children(n);
    const lhsNode = c[0];
    const rhsNode = c[c.length - 1];
    const opNode = c[1];
    const op = BINARY_OPS[opNode.name];
    if (!op) this.fail(opNode, `unsupported binary operator ${JSON.stringify(this.text(opNode))}`);
    let returnBool = false;
    let matching: VectorMatching | null = null;
    for (const m of c.slice(2, -1)) {
      if (m.name === 'BoolModifier') returnBool = true;
      else if (m.name === 'MatchingModifierClause') matching = this.matching(m);
    }
    const fills = this.fills.filter((f) => !f.used && f.pos.start >= opNode.to && f.pos.end <= rhsNode.from);
    let fillLeft: number | null = null;
    let fillRight: number | null = null;
    for (const f of fills) {
      f.used = true;
      if ((f.left && fillLeft !== null) || (f.right && fillRight !== null)) this.fail(f.pos, 'fill modifier may not be set multiple times');
      if (f.left) fillLeft = f.value;
      if (f.right) fillRight = f.value;
    }
    const lhs = this.expr(lhsNode);
    const rhs = this.expr(rhsNode);
    // The grammar reads "-2^2" as (-2)^2; Prometheus gives unary minus lower precedence than ^.
    if (op === '^' && lhs.kind === 'NumberLiteral' && this.text(lhsNode).startsWith('-')) {
      const pos = this.pos(n);
      const abs: Expr = { kind: 'NumberLiteral', value: -lhs.value, pos: lhs.pos };
      return { kind: 'UnaryExpr', op: '-', expr: { kind: 'BinaryExpr', op, lhs: abs, rhs, returnBool, matching, pos }, pos };
    }
    const lt = typeOf(lhs);
    const rt = typeOf(rhs);
    for (const [t, side] of [
      [lt, lhs],
      [rt, rhs],
    ] as const) {
      if (t !== 'scalar' && t !== 'vector') this.fail(side.pos, `binary expression must contain only scalar and instant vector types`);
    }
    if (returnBool && !COMPARISON.has(op)) this.fail(n, 'bool modifier can only be used on comparison operators');
    if (COMPARISON.has(op) && lt === 'scalar' && rt === 'scalar' && !returnBool)
      this.fail(n, 'comparisons between scalars must use BOOL modifier');
    if (SET_OPS.has(op)) {
      if (lt !== 'vector' || rt !== 'vector') this.fail(n, `set operator "${op}" not allowed in binary scalar expression`);
      if (matching && matching.card !== 'one-to-one') this.fail(n, `no grouping allowed for "${op}" operation`);
    }
    if (fills.length > 0 && (lt !== 'vector' || rt !== 'vector' || SET_OPS.has(op)))
      this.fail(fills[0].pos, 'fill modifiers are only allowed in binary operations between instant vectors other than set operators');
    if (lt === 'vector' && rt === 'vector') {
      matching ??= { card: 'one-to-one', matchingLabels: [], on: false, include: [] };
      if (SET_OPS.has(op)) matching.card = 'many-to-many';
      if (fills.length > 0) Object.assign(matching, { fillLeft, fillRight });
    } else if (matching && (matching.on || matching.matchingLabels.length > 0 || matching.card !== 'one-to-one')) {
      this.fail(n, 'vector matching only allowed between instant vectors');
    } else matching = null;
    if (matching?.on) {
      for (const l of matching.include)
        if (matching.matchingLabels.includes(l)) this.fail(n, `label "${l}" must not occur in ON and GROUP clause at once`);
    }
    return { kind: 'BinaryExpr', op, lhs, rhs, returnBool, matching, pos: this.pos(n) };
  }

  private matching(n: SyntaxNode): VectorMatching {
    const m: VectorMatching = { card: 'one-to-one', matchingLabels: [], on: false, include: [] };
    let mode: 'match' | 'include' = 'match';
    for (const c of this.children(n)) {
      switch (c.name) {
        case 'On':
          m.on = true;
          mode = 'match';
          break;
        case 'Ignoring':
          mode = 'match';
          break;
        case 'GroupLeft':
          m.card = 'many-to-one';
          mode = 'include';
          break;
        case 'GroupRight':
          m.card = 'one-to-many';
          mode = 'include';
          break;
        case 'GroupingLabels':
          if (mode === 'match') m.matchingLabels = this.groupingLabels(c);
          else m.include = this.groupingLabels(c);
          break;
      }
    }
    return m;
  }
}

function typeName(t: string): string {
  return t === 'vector' ? 'instant vector' : t === 'matrix' ? 'range vector' : t;
}

function positionOf(q: string, offset: number): string {
  let line = 1;
  let col = 1;
  for (let i = 0; i < offset && i < q.length; i++) {
    if (q[i] === '\n') {
      line++;
      col = 1;
    } else col++;
  }
  return `${line}:${col}`;
}

function firstError(n: SyntaxNode): SyntaxNode | undefined {
  if (n.type.isError) return n;
  for (let c = n.firstChild; c; c = c.nextSibling) {
    const e = firstError(c);
    if (e) return e;
  }
  return undefined;
}

/**
 * Prometheus accepts number literals with a trailing dot ("5."), which the lezer grammar does
 * not: append a 0 outside string literals. Positions after such a literal shift by one.
 */
function normalizeNumbers(q: string): string {
  if (!q.includes('.')) return q;
  let out = '';
  let quote = '';
  for (let i = 0; i < q.length; i++) {
    const c = q[i];
    out += c;
    if (quote) {
      if (c === '\\' && quote !== '`') out += q[++i] ?? '';
      else if (c === quote) quote = '';
      continue;
    }
    if (c === '"' || c === "'" || c === '`') quote = c;
    else if (c === '.' && /[0-9]/.test(q[i - 1] ?? '') && !/[0-9a-zA-Z_]/.test(q[i + 1] ?? '') && !/[a-zA-Z_:]/.test(leadingWord(q, i)))
      out += '0';
  }
  return out;
}

/** The identifier-ish run ending at position i (exclusive), to tell "5." from "foo5.". */
function leadingWord(q: string, i: number): string {
  let j = i;
  while (j > 0 && /[0-9a-zA-Z_:]/.test(q[j - 1])) j--;
  return q.slice(j, j + 1);
}

/**
 * Functions newer than the installed grammar, each mapped to a known function name of the same
 * length, so the grammar sees a call while positions (and the name read back from the original
 * text) stay unchanged. In durations (inside [ ], after offset) the grammar knows min_of and
 * max_of itself, and step() and range(), but in lower case only, where Prometheus takes any case.
 */
const NEWER_FUNCTIONS: Record<string, string> = { min_of: 'minute', max_of: 'vector' };
const DURATION_KEYWORDS = /^(min_of|max_of|step|range)(?=\s*\()/i;

function withGrammarNames(q: string): string {
  if (!/\b(min_of|max_of|step|range)\s*\(/i.test(q)) return q;
  let out = '';
  let quote = '';
  let brackets = 0;
  // Per open parenthesis: whether it is inside a duration.
  const parens: boolean[] = [];
  // After "offset" (and signs or parentheses): the next word starts a duration.
  let afterOffset = false;
  let nextParenInDuration = false;
  for (let i = 0; i < q.length; i++) {
    const c = q[i];
    if (quote) {
      out += c;
      if (c === '\\' && quote !== '`') out += q[++i] ?? '';
      else if (c === quote) quote = '';
      continue;
    }
    const inDuration = brackets > 0 || parens[parens.length - 1] === true || afterOffset;
    if (c === '"' || c === "'" || c === '`') quote = c;
    else if (c === '[') brackets++;
    else if (c === ']') brackets = Math.max(0, brackets - 1);
    else if (c === '(') {
      parens.push(inDuration || nextParenInDuration);
      nextParenInDuration = false;
      afterOffset = false;
    } else if (c === ')') parens.pop();
    else if (/[a-zA-Z_]/.test(c) && !(brackets > 0 ? /[a-zA-Z0-9_]/ : /[a-zA-Z0-9_:]/).test(q[i - 1] ?? '')) {
      // In [ ] a colon separates a subquery's range from its step; elsewhere it is part of a name.
      const word = (brackets > 0 ? /^[a-zA-Z_][a-zA-Z0-9_]*/ : /^[a-zA-Z_][a-zA-Z0-9_:]*/).exec(q.slice(i))![0];
      const keyword = DURATION_KEYWORDS.exec(q.slice(i));
      afterOffset = word.toLowerCase() === 'offset';
      if (keyword && inDuration) {
        out += word.toLowerCase();
        nextParenInDuration = true;
      } else out += NEWER_FUNCTIONS[word] && /^\s*\(/.test(q.slice(i + word.length)) ? NEWER_FUNCTIONS[word] : word;
      i += word.length - 1;
      continue;
    } else if (!/[\s+-]/.test(c)) afterOffset = false;
    out += c;
  }
  return out;
}

const FILL_RE = /^(fill|fill_left|fill_right)\s*\(([^()]*)\)/;

/**
 * fill(v), fill_left(v), fill_right(v) after a binary operator, blanked out of the text for the
 * grammar (positions unchanged) and given back to be attached to the operation they follow. No
 * function has these names, so "fill(" can only be a modifier; a bare "fill" is a metric name.
 */
function cutFillModifiers(q: string): { text: string; fills: FillModifier[] } {
  if (!/\bfill(_left|_right)?\s*\(/.test(q)) return { text: q, fills: [] };
  const fills: FillModifier[] = [];
  let out = '';
  let quote = '';
  for (let i = 0; i < q.length; i++) {
    const c = q[i];
    if (quote) {
      out += c;
      if (c === '\\' && quote !== '`') out += q[++i] ?? '';
      else if (c === quote) quote = '';
      continue;
    }
    if (c === '"' || c === "'" || c === '`') quote = c;
    const m = c === 'f' && !/[a-zA-Z0-9_:]/.test(q[i - 1] ?? '') ? FILL_RE.exec(q.slice(i)) : null;
    if (!m) {
      out += c;
      continue;
    }
    const pos = { start: i, end: i + m[0].length };
    const value = parseNumberLiteral(m[2].trim());
    if (value === undefined)
      throw new ParseError(`${positionOf(q, i)}: parse error: invalid fill value ${JSON.stringify(m[2].trim())}`, pos, q);
    fills.push({ pos, left: m[1] !== 'fill_right', right: m[1] !== 'fill_left', value, used: false });
    out += ' '.repeat(m[0].length);
    i += m[0].length - 1;
  }
  return { text: out, fills };
}

const RANGE_MODIFIER_RE = /\b(anchored|smoothed)\b(?![a-zA-Z0-9_:]|\s*[({])/g;
const NOT_BEFORE_MODIFIER = /(?:^|[^a-zA-Z0-9_:])(and|or|unless|by|without|on|ignoring|group_left|group_right|bool|offset)\s*$/i;

/**
 * `anchored` and `smoothed` after a selector, blanked out of the text for the grammar (which does
 * not know them) like the fill modifiers. They are words only where an operand has just ended (after
 * "]", ")", "}", a duration or a name that is no keyword); elsewhere they stay metric names.
 */
function cutRangeModifiers(q: string): { text: string; mods: CutRangeModifier[] } {
  if (!/\b(anchored|smoothed)\b/.test(q)) return { text: q, mods: [] };
  const mods: CutRangeModifier[] = [];
  let out = q;
  for (const m of q.matchAll(RANGE_MODIFIER_RE)) {
    const before = q.slice(0, m.index).trimEnd();
    if (insideQuoteOrBraces(before)) continue;
    if (!/[\])}a-zA-Z0-9_]$/.test(before) || NOT_BEFORE_MODIFIER.test(before)) continue;
    mods.push({ pos: { start: m.index, end: m.index + m[0].length }, kind: m[1] as RangeModifier, used: false });
    out = out.slice(0, m.index) + ' '.repeat(m[0].length) + out.slice(m.index + m[0].length);
  }
  return { text: out, mods };
}

/** Whether the end of text is inside a string or a selector's braces. */
function insideQuoteOrBraces(text: string): boolean {
  let quote = '';
  let braces = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\' && quote !== '`') i++;
      else if (c === quote) quote = '';
    } else if (c === '"' || c === "'" || c === '`') quote = c;
    else if (c === '{') braces++;
    else if (c === '}') braces--;
  }
  return quote !== '' || braces > 0;
}

/** Parses a PromQL expression; throws ParseError with a position and a readable message. */
export function parse(query: string): Expr {
  query = normalizeNumbers(query);
  const { text: withoutFills, fills } = cutFillModifiers(query);
  const { text, mods } = cutRangeModifiers(withoutFills);
  const tree = lezer.parse(withGrammarNames(text));
  const conv = new Conv(query, fills, mods);
  const err = firstError(tree.topNode);
  if (err) {
    // The grammar knows function names as keywords: "name(" with an unknown name fails at "(".
    const call = /([a-zA-Z_][a-zA-Z0-9_]*)\s*$/.exec(query.slice(0, err.from));
    if (query[err.from] === '(' && call)
      conv.fail({ start: call.index, end: err.from }, `unknown function with name ${JSON.stringify(call[1])}`);
    const at =
      err.from >= query.length || query.slice(err.from).trim() === ''
        ? 'unexpected end of input'
        : `unexpected ${JSON.stringify(query.slice(err.from, Math.max(err.to, err.from + 1)))}`;
    conv.fail(err, at);
  }
  if (query.trim() === '') conv.fail({ start: 0, end: 0 }, 'no expression found in input');
  const expr = conv.expr(tree.topNode);
  const stray = fills.find((f) => !f.used);
  if (stray) conv.fail(stray.pos, 'fill modifiers are only allowed after a binary operator and its modifiers');
  const strayMod = mods.find((m) => !m.used);
  if (strayMod) conv.fail(strayMod.pos, `the ${strayMod.kind} modifier must follow a range vector selector`);
  return expr;
}
