/**
 * A recursive-descent LogQL parser. Operator precedence as PromQL's (`^` right-associative, then
 * `* / %`, `+ -`, comparisons, `and unless`, `or`); inside label filters `and` (also `,` or plain
 * juxtaposition) binds tighter than `or`, as Loki's grammar declares.
 */
import { compileSearchRegex, Matcher, Template, type MatchType } from '@strata/model';
import {
  LOG_RANGE_FUNCS,
  UNWRAP_RANGE_FUNCS,
  VECTOR_AGGS,
  type BinaryOp,
  type CompareOp,
  type Expr,
  type ExtractParam,
  type Grouping,
  type LabelFilter,
  type LabelFormatItem,
  type LabelSelectItem,
  type LineFilterOp,
  type LineFilterValue,
  type LogExpr,
  type RangeFunc,
  type SampleExpr,
  type Stage,
  type Unwrap,
  type UnwrapConversion,
  type VectorAggOp,
  type VectorMatching,
} from './ast.js';
import { ipMatcher } from './ip-filter.js';
import { LogqlParseError, tokenize, type Token } from './lexer.js';
import { patternLineTest } from './line-pattern.js';
import { isBytesLiteral, parseBytes, parseDurationNs, parseGoFloat, parseRangeNs } from './units.js';

export function parseLogql(src: string): Expr {
  return new Parser(src).parseQuery();
}

const BINARY_PRECEDENCE: Record<string, number> = {
  or: 1,
  and: 2,
  unless: 2,
  '==': 3,
  '!=': 3,
  '>': 3,
  '>=': 3,
  '<': 3,
  '<=': 3,
  '+': 4,
  '-': 4,
  '*': 5,
  '/': 5,
  '%': 5,
  '^': 6,
};
const COMPARISONS = new Set(['==', '!=', '>', '>=', '<', '<=']);
const LINE_FILTER_OPS = new Set(['|=', '!=', '|~', '!~', '|>', '!>']);
const RANGE_FUNCS = new Set<string>([...LOG_RANGE_FUNCS, ...UNWRAP_RANGE_FUNCS]);
const UNWRAP_ONLY = new Set<string>(UNWRAP_RANGE_FUNCS.filter((f) => !(LOG_RANGE_FUNCS as readonly string[]).includes(f)));
const AGGS = new Set<string>(VECTOR_AGGS);

class Parser {
  private readonly toks: Token[];
  private i = 0;

  constructor(private readonly src: string) {
    this.toks = tokenize(src);
  }

  private peek(o = 0): Token {
    return this.toks[Math.min(this.i + o, this.toks.length - 1)];
  }

  private next(): Token {
    const t = this.peek();
    if (this.i < this.toks.length - 1) this.i++;
    return t;
  }

  private is(text: string, o = 0): boolean {
    const t = this.peek(o);
    return (t.kind === 'op' || t.kind === 'ident') && t.text === text;
  }

  private fail(t: Token, msg?: string): never {
    const what = t.kind === 'eof' ? 'end of input' : t.kind === 'string' ? `STRING "${t.text}"` : t.text;
    throw LogqlParseError.at(this.src, t.pos, msg ?? `syntax error: unexpected ${what}`);
  }

  private expect(text: string): Token {
    const t = this.next();
    if ((t.kind === 'op' || t.kind === 'ident') && t.text === text) return t;
    return this.fail(t, `syntax error: unexpected ${t.kind === 'eof' ? 'end of input' : t.text}, expecting ${text}`);
  }

  private string(): string {
    const t = this.next();
    if (t.kind !== 'string') this.fail(t, `syntax error: unexpected ${t.kind === 'eof' ? 'end of input' : t.text}, expecting STRING`);
    return t.text;
  }

  private ident(): string {
    const t = this.next();
    if (t.kind !== 'ident') this.fail(t, `syntax error: unexpected ${t.kind === 'eof' ? 'end of input' : t.text}, expecting IDENTIFIER`);
    return t.text;
  }

  parseQuery(): Expr {
    const e = this.expr(0);
    if (this.peek().kind !== 'eof') this.fail(this.peek());
    return e;
  }

  /** Precedence climbing over binary operators; a log expression may only stand alone. */
  private expr(minPrec: number): Expr {
    let lhs: Expr = this.unary();
    for (;;) {
      const t = this.peek();
      const prec = (t.kind === 'op' || t.kind === 'ident') && t.text in BINARY_PRECEDENCE ? BINARY_PRECEDENCE[t.text] : 0;
      if (prec === 0 || prec < minPrec) return lhs;
      this.next();
      const op = t.text as BinaryOp;
      let bool = false;
      if (this.is('bool')) {
        if (!COMPARISONS.has(op)) this.fail(this.peek(), 'bool modifier can only be used on comparison operators');
        this.next();
        bool = true;
      }
      const matching = this.vectorMatching();
      // `^` is right-associative: its right side may hold another `^`.
      const rhs = this.expr(op === '^' ? prec : prec + 1);
      if (lhs.k === 'log' || rhs.k === 'log') this.fail(t, 'unexpected log expression in a binary operation: use a metric query');
      lhs = { k: 'binary', op, lhs, rhs, bool, matching };
    }
  }

  private vectorMatching(): VectorMatching | undefined {
    if (!this.is('on') && !this.is('ignoring')) return undefined;
    const on = this.next().text === 'on';
    const labels = this.labelList();
    let group: 'left' | 'right' | undefined;
    let include: string[] = [];
    if (this.is('group_left') || this.is('group_right')) {
      group = this.next().text === 'group_left' ? 'left' : 'right';
      if (this.is('(')) include = this.labelList();
    }
    return { on, labels, group, include };
  }

  private unary(): Expr {
    if (this.is('-') || this.is('+')) {
      const neg = this.next().text === '-';
      const e = this.unary();
      if (e.k === 'log') this.fail(this.peek(), 'unexpected log expression');
      if (!neg) return e;
      if (e.k === 'number') return { k: 'number', value: -e.value };
      return { k: 'binary', op: '*', lhs: { k: 'number', value: -1 }, rhs: e, bool: false };
    }
    return this.primary();
  }

  private primary(): Expr {
    const t = this.peek();
    if (t.kind === 'number') {
      this.next();
      const v = parseGoFloat(t.text);
      if (v === undefined) this.fail(t);
      return { k: 'number', value: v };
    }
    if (this.is('{')) return this.logExpr();
    if (this.is('(')) {
      this.next();
      const e = this.expr(0);
      this.expect(')');
      return e;
    }
    if (t.kind === 'ident') {
      if (RANGE_FUNCS.has(t.text)) return this.rangeAgg();
      if (AGGS.has(t.text)) return this.vectorAgg();
      if (t.text === 'label_replace') return this.labelReplace();
      if (t.text === 'vector') {
        this.next();
        this.expect('(');
        const n = this.next();
        const v = n.kind === 'number' ? parseGoFloat(n.text) : undefined;
        if (v === undefined) this.fail(n);
        this.expect(')');
        return { k: 'vector', value: v };
      }
    }
    return this.fail(t);
  }

  // ---- log expressions ----

  private selector(): Matcher[] {
    this.expect('{');
    const out: Matcher[] = [];
    while (out.length === 0 ? !this.is('}') : true) {
      const name = this.ident();
      const op = this.next();
      if (op.kind !== 'op' || !['=', '!=', '=~', '!~'].includes(op.text)) this.fail(op);
      const valueTok = this.peek();
      const value = this.string();
      out.push(this.matcher(op.text as MatchType, name, value, valueTok));
      if (!this.is(',')) break;
      this.next();
    }
    const close = this.expect('}');
    if (out.length === 0) this.fail(close, 'syntax error: unexpected }, expecting IDENTIFIER');
    if (!out.some((m) => !m.matchesEmpty()))
      throw LogqlParseError.at(
        this.src,
        close.pos,
        'queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~".*" does not meet this requirement, but app=~".+" will',
      );
    return out;
  }

  private matcher(op: MatchType, name: string, value: string, at: Token): Matcher {
    try {
      return new Matcher(op, name, value);
    } catch (e) {
      return this.fail(at, (e as Error).message);
    }
  }

  private logExpr(): LogExpr {
    if (this.is('(')) {
      this.next();
      const e = this.logExpr();
      this.expect(')');
      return e;
    }
    const matchers = this.selector();
    return { k: 'log', matchers, stages: this.pipeline() };
  }

  /** Stages until something that is not a stage: `[`, `)`, a binary operator or the end. Stops before `| unwrap`. */
  private pipeline(): Stage[] {
    const stages: Stage[] = [];
    for (;;) {
      const t = this.peek();
      if (t.kind === 'op' && LINE_FILTER_OPS.has(t.text)) {
        stages.push(this.lineFilter());
        continue;
      }
      if (!this.is('|') || this.is('unwrap', 1)) return stages;
      this.next();
      stages.push(this.stage());
    }
  }

  private lineFilter(): Stage {
    const op = this.next().text as LineFilterOp;
    const values = [this.lineFilterValue(op)];
    while (this.is('or') && (this.peek(1).kind === 'string' || (this.is('ip', 1) && this.is('(', 2)))) {
      this.next();
      values.push(this.lineFilterValue(op));
    }
    return { k: 'line', op, values };
  }

  private lineFilterValue(op: LineFilterOp): LineFilterValue {
    const t = this.peek();
    if (t.kind === 'ident' && t.text === 'ip') {
      const pattern = this.ipCall();
      // Loki refuses ip() after anything but |= and != when it builds the filter; here it is refused while parsing.
      if (op !== '|=' && op !== '!=') this.fail(t, 'ip: invalid operation');
      return { ip: pattern };
    }
    const v = this.string();
    if (op === '|~' || op === '!~') this.checkRegex(v, t);
    if (op === '|>' || op === '!>') this.check(() => patternLineTest(v), t);
    return v;
  }

  /** `ip("...")`: the pattern, checked (Loki's `ip: invalid pattern: "..."` at the string). */
  private ipCall(): string {
    this.next();
    this.expect('(');
    const at = this.peek();
    const pattern = this.string();
    this.expect(')');
    this.check(() => ipMatcher(pattern), at);
    return pattern;
  }

  private check(build: () => unknown, at: Token): void {
    try {
      build();
    } catch (e) {
      this.fail(at, (e as Error).message);
    }
  }

  private checkRegex(re: string, at: Token): void {
    try {
      new Matcher('=~', 'x', re);
    } catch (e) {
      this.fail(at, (e as Error).message);
    }
  }

  /** Templates are checked for syntax here (functions are resolved when the pipeline is built). */
  private checkTemplate(text: string, at: Token): void {
    try {
      new Template('check', text, new Proxy({}, { has: () => true, get: () => () => '' }));
    } catch (e) {
      this.fail(at, `invalid template: ${(e as Error).message}`);
    }
  }

  private stage(): Stage {
    const t = this.peek();
    if (t.kind === 'ident') {
      switch (t.text) {
        case 'json':
          this.next();
          return { k: 'json', params: this.extractParams() };
        case 'logfmt': {
          this.next();
          let strict = false;
          let keepEmpty = false;
          while (this.is('--strict') || this.is('--keep-empty')) {
            if (this.next().text === '--strict') strict = true;
            else keepEmpty = true;
          }
          return { k: 'logfmt', params: this.extractParams(), strict, keepEmpty };
        }
        case 'regexp': {
          this.next();
          const at = this.peek();
          const re = this.string();
          this.checkRegex(re, at);
          if (compileSearchRegex(re).groupNames.length === 0) this.fail(at, 'at least one named capture must be supplied');
          return { k: 'regexp', re };
        }
        case 'pattern': {
          this.next();
          const at = this.peek();
          const pattern = this.string();
          if (!/<[a-zA-Z_][a-zA-Z0-9_]*>/.test(pattern.replace(/<_>/g, ''))) this.fail(at, 'at least one capture is required');
          if (/<(_|[a-zA-Z_][a-zA-Z0-9_]*)><(_|[a-zA-Z_][a-zA-Z0-9_]*)>/.test(pattern))
            this.fail(at, 'consecutive captures are not allowed');
          return { k: 'pattern', pattern };
        }
        case 'unpack':
          this.next();
          return { k: 'unpack' };
        case 'decolorize':
          this.next();
          return { k: 'decolorize' };
        case 'line_format': {
          this.next();
          const at = this.peek();
          const template = this.string();
          this.checkTemplate(template, at);
          return { k: 'line_format', template };
        }
        case 'label_format':
          this.next();
          return { k: 'label_format', items: this.labelFormatItems() };
        case 'drop':
        case 'keep':
          this.next();
          return { k: t.text, items: this.labelSelectItems() };
      }
    }
    return { k: 'filter', filter: this.labelFilterOr() };
  }

  /** `a="expr", b` (a bare name extracts the field of that name). */
  private extractParams(): ExtractParam[] {
    const out: ExtractParam[] = [];
    while (this.peek().kind === 'ident' && !this.is('--strict') && !this.is('--keep-empty')) {
      const label = this.ident();
      let expr = label;
      if (this.is('=')) {
        this.next();
        expr = this.string();
      }
      out.push({ label, expr });
      if (!this.is(',')) break;
      this.next();
    }
    return out;
  }

  private labelFormatItems(): LabelFormatItem[] {
    const out: LabelFormatItem[] = [];
    const seen = new Set<string>();
    for (;;) {
      const at = this.peek();
      const dst = this.ident();
      if (seen.has(dst)) this.fail(at, `multiple label name '${dst}' appears in LabelFormat`);
      seen.add(dst);
      this.expect('=');
      const v = this.next();
      if (v.kind === 'ident') out.push({ dst, src: v.text });
      else if (v.kind === 'string') {
        this.checkTemplate(v.text, v);
        out.push({ dst, template: v.text });
      } else this.fail(v);
      if (!this.is(',')) return out;
      this.next();
    }
  }

  private labelSelectItems(): LabelSelectItem[] {
    const out: LabelSelectItem[] = [];
    for (;;) {
      const name = this.ident();
      const op = this.peek();
      if (op.kind === 'op' && ['=', '!=', '=~', '!~'].includes(op.text)) {
        this.next();
        const at = this.peek();
        out.push({ name, matcher: this.matcher(op.text as MatchType, name, this.string(), at) });
      } else out.push({ name });
      if (!this.is(',')) return out;
      this.next();
    }
  }

  private labelFilterOr(): LabelFilter {
    let l = this.labelFilterAnd();
    while (this.is('or')) {
      this.next();
      l = { k: 'or', l, r: this.labelFilterAnd() };
    }
    return l;
  }

  private labelFilterAnd(): LabelFilter {
    let l = this.labelFilterAtom();
    for (;;) {
      if (this.is('and') || this.is(',')) this.next();
      // Juxtaposition is `and` too: `| a="x" b="y"`.
      else if (!(this.peek().kind === 'ident' && this.peek(1).kind === 'op' && /^(=|!=|=~|!~|==|>|>=|<|<=)$/.test(this.peek(1).text))) {
        if (!this.is('(') || this.peek(1).kind !== 'ident') return l;
      }
      l = { k: 'and', l, r: this.labelFilterAtom() };
    }
  }

  private labelFilterAtom(): LabelFilter {
    if (this.is('(')) {
      this.next();
      const f = this.labelFilterOr();
      this.expect(')');
      return f;
    }
    const name = this.ident();
    const opTok = this.next();
    if (opTok.kind !== 'op' || !/^(=|!=|=~|!~|==|>|>=|<|<=)$/.test(opTok.text)) this.fail(opTok);
    const op = opTok.text;
    let v = this.peek();
    if (v.kind === 'ident' && v.text === 'ip' && this.is('(', 1)) {
      // Loki's grammar has ip() after `=` and `!=` only: `addr >= ip(...)` is a syntax error at `ip`.
      if (op !== '=' && op !== '!=') this.fail(v, 'syntax error: unexpected ip');
      return { k: 'ip', name, negate: op === '!=', pattern: this.ipCall() };
    }
    if (v.kind === 'string') {
      if (op !== '=' && op !== '!=' && op !== '=~' && op !== '!~') this.fail(v);
      this.next();
      return { k: 'string', matcher: this.matcher(op as MatchType, name, v.text, v) };
    }
    let neg = false;
    if (v.kind === 'op' && v.text === '-') {
      this.next();
      neg = true;
      v = this.peek();
    }
    if (v.kind !== 'number') this.fail(v);
    this.next();
    if (op === '=~' || op === '!~') this.fail(v);
    const cmp = (op === '=' ? '==' : op) as CompareOp;
    const sign = neg ? -1 : 1;
    const text = (neg ? '-' : '') + v.text;
    const num = parseGoFloat(v.text);
    if (num !== undefined) return { k: 'number', name, op: cmp, value: sign * num, text };
    const dur = parseDurationNs(v.text);
    if (dur !== undefined) return { k: 'duration', name, op: cmp, value: (sign * dur) / 1e9, text };
    if (isBytesLiteral(v.text)) return { k: 'bytes', name, op: cmp, value: sign * parseBytes(v.text)!, text };
    return this.fail(v);
  }

  // ---- metric expressions ----

  private grouping(): Grouping | undefined {
    if (!this.is('by') && !this.is('without')) return undefined;
    const without = this.next().text === 'without';
    return { without, labels: this.labelList() };
  }

  private labelList(): string[] {
    this.expect('(');
    const out: string[] = [];
    while (!this.is(')')) {
      out.push(this.ident());
      if (!this.is(',')) break;
      this.next();
    }
    this.expect(')');
    return out;
  }

  private numberArg(): number {
    const t = this.next();
    const v = t.kind === 'number' ? parseGoFloat(t.text) : undefined;
    if (v === undefined) this.fail(t);
    return v;
  }

  private rangeAgg(): SampleExpr {
    const fnTok = this.next();
    const fn = fnTok.text as RangeFunc;
    this.expect('(');
    let param: number | undefined;
    if (fn === 'quantile_over_time') {
      param = this.numberArg();
      this.expect(',');
    }
    // Both `({sel} | stages [5m])` and `({sel}[5m] | stages)` are LogQL.
    let log: LogExpr;
    let rangeNs: bigint;
    let unwrap: Unwrap | undefined;
    if (this.is('(')) {
      this.next();
      log = this.logExpr();
      unwrap = this.unwrap();
      this.expect(')');
      rangeNs = this.range();
    } else {
      const matchers = this.selector();
      if (this.is('[')) {
        rangeNs = this.range();
        log = { k: 'log', matchers, stages: this.pipeline() };
        unwrap = this.unwrap();
      } else {
        log = { k: 'log', matchers, stages: this.pipeline() };
        unwrap = this.unwrap();
        rangeNs = this.range();
      }
    }
    let offsetNs = 0n;
    if (this.is('offset')) {
      this.next();
      offsetNs = this.durationLiteral();
    }
    this.expect(')');
    const grouping = this.grouping();
    if (UNWRAP_ONLY.has(fn) && !unwrap) this.fail(fnTok, `invalid aggregation ${fn} without unwrap`);
    if (unwrap && !(UNWRAP_RANGE_FUNCS as readonly string[]).includes(fn)) this.fail(fnTok, `invalid aggregation ${fn} with unwrap`);
    if (grouping && !unwrap) this.fail(fnTok, `grouping not allowed for ${fn} aggregation`);
    return { k: 'range', fn, log, rangeNs, offsetNs, unwrap, param, grouping };
  }

  private range(): bigint {
    this.expect('[');
    const ns = this.durationLiteral();
    this.expect(']');
    return ns;
  }

  private durationLiteral(): bigint {
    const t = this.next();
    const ns = t.kind === 'number' ? parseRangeNs(t.text) : undefined;
    if (ns === undefined || (t.kind === 'number' && parseGoFloat(t.text) !== undefined && t.text !== '0'))
      this.fail(t, `syntax error: unexpected ${t.text || 'end of input'}, expecting DURATION`);
    return ns;
  }

  private unwrap(): Unwrap | undefined {
    if (!(this.is('|') && this.is('unwrap', 1))) return undefined;
    this.next();
    this.next();
    let conversion: UnwrapConversion = '';
    let label: string;
    if (['duration', 'duration_seconds', 'bytes'].includes(this.peek().text) && this.is('(', 1)) {
      conversion = this.next().text as UnwrapConversion;
      this.expect('(');
      label = this.ident();
      this.expect(')');
    } else label = this.ident();
    const post: LabelFilter[] = [];
    while (this.is('|')) {
      this.next();
      post.push(this.labelFilterOr());
    }
    return { label, conversion, post };
  }

  private vectorAgg(): SampleExpr {
    const opTok = this.next();
    const op = opTok.text as VectorAggOp;
    let grouping = this.grouping();
    this.expect('(');
    let param: number | undefined;
    if (op === 'topk' || op === 'bottomk') {
      param = this.numberArg();
      if (!Number.isInteger(param) || param <= 0) this.fail(opTok, `invalid parameter ${op}(${param},`);
      this.expect(',');
    }
    const inner = this.expr(0);
    if (inner.k === 'log') this.fail(opTok, `syntax error: unexpected log expression in ${op}, expecting a metric query`);
    this.expect(')');
    const after = this.grouping();
    if (after) {
      if (grouping) this.fail(this.peek(), 'syntax error: grouping given twice');
      grouping = after;
    }
    if ((op === 'sort' || op === 'sort_desc') && grouping) this.fail(opTok, `grouping not allowed for ${op} aggregation`);
    return { k: 'agg', op, inner, grouping, param };
  }

  private labelReplace(): SampleExpr {
    this.next();
    this.expect('(');
    const inner = this.expr(0);
    if (inner.k === 'log') this.fail(this.peek(), 'syntax error: label_replace needs a metric query');
    const args: string[] = [];
    for (let i = 0; i < 4; i++) {
      this.expect(',');
      const at = this.peek();
      args.push(this.string());
      if (i === 3) this.checkRegex(args[3], at);
    }
    this.expect(')');
    return { k: 'label_replace', inner, dst: args[0], replacement: args[1], src: args[2], regex: args[3] };
  }
}
