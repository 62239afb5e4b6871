/**
 * Go text/template, the subset Prometheus alert labels and annotations use: text and actions with
 * `{{-`/`-}}` trimming and comments; pipelines (`|`) of function calls and operands (fields and
 * map keys `.A.b`, variables `$x.a`, strings, raw strings, numbers, booleans, nil, parentheses);
 * variable declaration and assignment; `if`/`else if`/`else`, `with`/`else`, `range` (with
 * `$i, $v :=`, over slices and maps in key order, `else`), `break`/`continue`; the builtins
 * `and or not len index print printf println eq ne lt le gt ge urlquery html js`. Options as
 * Prometheus sets them: a missing map key yields the element type's zero value.
 * Not supported: `define`/`template`/`block`, methods, `call`, `slice`, complex numbers.
 * Go ints are bigint and float64 are number (see go-format.ts), as the difference shows in output.
 */
import { formatValue, GoStruct, sprintf } from './go-format.js';

export class TemplateError extends Error {}

/** A map whose missing keys read as nil (Go's map[string]interface{}), unlike a Map<string, string>. */
export class AnyMap extends Map<string, unknown> {}

type Operand =
  | { k: 'dot'; chain: string[] }
  | { k: 'field'; chain: string[] }
  | { k: 'var'; name: string; chain: string[] }
  | { k: 'ident'; name: string }
  | { k: 'lit'; v: unknown }
  | { k: 'pipe'; pipe: Pipe; chain: string[] };

interface Command {
  args: Operand[];
  pos: string;
}
interface Pipe {
  decls: string[];
  assign: boolean;
  cmds: Command[];
}
type Node =
  | { k: 'text'; s: string }
  | { k: 'action'; pipe: Pipe }
  | { k: 'if' | 'with' | 'range'; pipe: Pipe; list: Node[]; elseList: Node[] | undefined }
  | { k: 'break' | 'continue' };

export type TemplateFunc = (...args: unknown[]) => unknown;
/** A function callable from a template; may return a promise. */
type Func = TemplateFunc;

const KEYWORDS = new Set(['if', 'else', 'end', 'range', 'with', 'define', 'template', 'block', 'break', 'continue', 'nil']);

interface Token {
  t: 'ident' | 'field' | 'var' | 'str' | 'num' | 'char' | 'sym' | 'kw' | 'bool' | 'dot' | 'chain';
  v: string;
  pos: number;
  /** Whitespace precedes the token. */
  spaced: boolean;
}

/** Go string literal escapes. */
function unquote(s: string, where: string): string {
  let out = '';
  for (let i = 1; i < s.length - 1; i++) {
    const c = s[i];
    if (c !== '\\') {
      out += c;
      continue;
    }
    const n = s[++i];
    const simple: Record<string, string> = {
      n: '\n',
      t: '\t',
      r: '\r',
      '\\': '\\',
      '"': '"',
      "'": "'",
      a: '\x07',
      b: '\b',
      f: '\f',
      v: '\v',
    };
    if (n in simple) out += simple[n];
    else if (n === 'x') {
      out += String.fromCharCode(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (n === 'u' || n === 'U') {
      const len = n === 'u' ? 4 : 8;
      out += String.fromCodePoint(parseInt(s.slice(i + 1, i + 1 + len), 16));
      i += len;
    } else if (/[0-7]/.test(n)) {
      out += String.fromCharCode(parseInt(s.slice(i, i + 3), 8));
      i += 2;
    } else throw new TemplateError(`${where}: invalid syntax`);
  }
  return out;
}

function parseNumber(s: string, where: string): unknown {
  const clean = s.replace(/_/g, '');
  if (/^[+-]?(0[xX][0-9a-fA-F]+|0[oO]?[0-7]+|0[bB][01]+|\d+)$/.test(clean)) {
    const neg = clean.startsWith('-');
    let body = clean.replace(/^[+-]/, '');
    if (/^0[0-7]+$/.test(body)) body = '0o' + body.slice(1);
    const v = BigInt(body);
    return neg ? -v : v;
  }
  const f = Number(clean);
  if (!Number.isFinite(f) && !/inf/i.test(clean)) throw new TemplateError(`${where}: bad number syntax: "${s}"`);
  return f;
}

class Parser {
  private tokens: Token[] = [];
  private ti = 0;
  private lineStarts: number[] = [0];

  constructor(
    private readonly name: string,
    private readonly text: string,
  ) {
    for (let i = 0; i < text.length; i++) if (text[i] === '\n') this.lineStarts.push(i + 1);
  }

  where(pos: number): string {
    let line = 0;
    while (line + 1 < this.lineStarts.length && this.lineStarts[line + 1] <= pos) line++;
    return `template: ${this.name}:${line + 1}:${pos - this.lineStarts[line]}`;
  }

  fail(pos: number, msg: string): never {
    throw new TemplateError(`${this.where(pos)}: ${msg}`);
  }

  /** The whole template: text and actions, then the tree of control structures. */
  parse(): Node[] {
    const raw: ({ k: 'text'; s: string } | { k: 'action'; tokens: Token[]; pos: number })[] = [];
    const t = this.text;
    let i = 0;
    let trimNext = false;
    while (i <= t.length) {
      const open = t.indexOf('{{', i);
      let chunk = open < 0 ? t.slice(i) : t.slice(i, open);
      if (trimNext) chunk = chunk.replace(/^[ \t\r\n]+/, '');
      if (open < 0) {
        if (chunk) raw.push({ k: 'text', s: chunk });
        break;
      }
      let start = open + 2;
      if (t.startsWith('- ', start) || t.startsWith('-\t', start) || t.startsWith('-\n', start) || t.startsWith('-\r', start)) {
        chunk = chunk.replace(/[ \t\r\n]+$/, '');
        start += 1;
      }
      if (chunk) raw.push({ k: 'text', s: chunk });
      // Comments: {{/* ... */}}, possibly trimmed.
      const afterSpace = /^[ \t\r\n]*/.exec(t.slice(start))![0].length;
      if (t.startsWith('/*', start + afterSpace)) {
        const endC = t.indexOf('*/', start + afterSpace + 2);
        if (endC < 0) this.fail(open, 'unclosed comment');
        let close = endC + 2;
        const rest = /^[ \t\r\n]*(-?)\}\}/.exec(t.slice(close));
        if (!rest) this.fail(open, 'comment ends before closing delimiter');
        trimNext = rest[1] === '-';
        close += rest[0].length;
        i = close;
        continue;
      }
      const { tokens, end, trim } = this.lexAction(start);
      raw.push({ k: 'action', tokens, pos: open });
      trimNext = trim;
      i = end;
    }
    let ri = 0;
    const list = (terminators: Set<string>): { nodes: Node[]; term: string; termTokens: Token[]; pos: number } => {
      const nodes: Node[] = [];
      while (ri < raw.length) {
        const r = raw[ri++];
        if (r.k === 'text') {
          nodes.push(r);
          continue;
        }
        this.tokens = r.tokens;
        this.ti = 0;
        const first = this.tokens[0];
        if (!first) this.fail(r.pos, 'missing value for command');
        if (first.t === 'kw') {
          const kw = first.v;
          this.ti = 1;
          if (kw === 'end' || kw === 'else') {
            if (!terminators.has(kw)) this.fail(r.pos, `unexpected {{${kw}}}`);
            return { nodes, term: kw, termTokens: this.tokens.slice(1), pos: r.pos };
          }
          if (kw === 'break' || kw === 'continue') {
            if (!terminators.has('range-body')) this.fail(r.pos, `{{${kw}}} outside {{range}}`);
            nodes.push({ k: kw });
            continue;
          }
          if (kw === 'if' || kw === 'with' || kw === 'range') {
            nodes.push(this.control(kw, r.pos, list, terminators));
            continue;
          }
          if (kw === 'nil') {
            this.fail(r.pos, 'nil is not a command');
          }
          this.fail(r.pos, `{{${kw}}} is not supported`);
        }
        nodes.push({ k: 'action', pipe: this.pipeline(r.pos, false) });
      }
      if (terminators.size > 0 && !(terminators.size === 1 && terminators.has('range-body'))) this.fail(this.text.length, 'unexpected EOF');
      return { nodes, term: '', termTokens: [], pos: this.text.length };
    };
    return list(new Set()).nodes;
  }

  private control(
    kw: 'if' | 'with' | 'range',
    pos: number,
    list: (t: Set<string>) => { nodes: Node[]; term: string; termTokens: Token[]; pos: number },
    outer: Set<string>,
  ): Node {
    const pipe = this.pipeline(pos, kw === 'range');
    const inner = new Set(['end', 'else']);
    if (kw === 'range' || outer.has('range-body')) inner.add('range-body');
    const body = list(inner);
    let elseList: Node[] | undefined;
    if (body.term === 'else') {
      if (
        body.termTokens.length > 0 &&
        body.termTokens[0].t === 'kw' &&
        (body.termTokens[0].v === 'if' || body.termTokens[0].v === 'with')
      ) {
        // {{else if ...}}: a nested if whose {{end}} is ours.
        const nestedKw = body.termTokens[0].v as 'if' | 'with';
        this.tokens = body.termTokens;
        this.ti = 1;
        const nestedPipe = this.pipeline(body.pos, false);
        const nestedBody = list(inner);
        let nestedElse: Node[] | undefined;
        let node: Node = { k: nestedKw, pipe: nestedPipe, list: nestedBody.nodes, elseList: undefined };
        const root = node;
        let cur = nestedBody;
        while (cur.term === 'else') {
          if (
            cur.termTokens.length > 0 &&
            cur.termTokens[0].t === 'kw' &&
            (cur.termTokens[0].v === 'if' || cur.termTokens[0].v === 'with')
          ) {
            const k2 = cur.termTokens[0].v as 'if' | 'with';
            this.tokens = cur.termTokens;
            this.ti = 1;
            const p2 = this.pipeline(cur.pos, false);
            const b2 = list(inner);
            const n2: Node = { k: k2, pipe: p2, list: b2.nodes, elseList: undefined };
            (node as { elseList: Node[] | undefined }).elseList = [n2];
            node = n2;
            cur = b2;
          } else {
            if (cur.termTokens.length > 0) this.fail(cur.pos, 'unexpected tokens after else');
            const b3 = list(new Set(inner.has('range-body') ? ['end', 'range-body'] : ['end']));
            nestedElse = b3.nodes;
            (node as { elseList: Node[] | undefined }).elseList = nestedElse;
            cur = b3;
          }
        }
        elseList = [root];
      } else {
        if (body.termTokens.length > 0) this.fail(body.pos, 'unexpected tokens after else');
        elseList = list(new Set(inner.has('range-body') && kw !== 'range' ? ['end', 'range-body'] : ['end'])).nodes;
      }
    }
    return { k: kw, pipe, list: body.nodes, elseList };
  }

  private lexAction(start: number): { tokens: Token[]; end: number; trim: boolean } {
    const t = this.text;
    const tokens: Token[] = [];
    let i = start;
    let spaced = true;
    for (;;) {
      if (i >= t.length) this.fail(start, 'unclosed action');
      const c = t[i];
      if (/[ \t\r\n]/.test(c)) {
        if (t[i + 1] === '-' && t.startsWith('}}', i + 2)) {
          return { tokens, end: i + 4, trim: true };
        }
        i++;
        spaced = true;
        continue;
      }
      if (t.startsWith('}}', i)) return { tokens, end: i + 2, trim: false };
      const push = (tt: Token['t'], v: string) => {
        tokens.push({ t: tt, v, pos: i, spaced });
        i += v.length;
        spaced = false;
      };
      let m: RegExpExecArray | null;
      const rest = t.slice(i);
      if (c === '"') {
        m = /^"(?:[^"\\\n]|\\.)*"/.exec(rest);
        if (!m) this.fail(i, 'unterminated quoted string');
        push('str', m[0]);
      } else if (c === '`') {
        const e = t.indexOf('`', i + 1);
        if (e < 0) this.fail(i, 'unterminated raw quoted string');
        push('str', t.slice(i, e + 1));
      } else if (c === "'") {
        m = /^'(?:[^'\\\n]|\\.[^']*)'/.exec(rest);
        if (!m) this.fail(i, 'unterminated character constant');
        push('char', m[0]);
      } else if (c === '$') {
        m = /^\$[A-Za-z0-9_]*/.exec(rest)!;
        push('var', m[0]);
      } else if (c === '.') {
        m = /^(\.[A-Za-z_][A-Za-z0-9_]*)+/.exec(rest);
        if (m) push(tokens.length > 0 && !spaced && /^(var|sym)$/.test(tokens[tokens.length - 1].t) ? 'chain' : 'field', m[0]);
        else if (/^\.\d/.test(rest)) push('num', /^\.\d[\d_]*([eE][+-]?\d+)?/.exec(rest)![0]);
        else push('dot', '.');
      } else if (
        /[0-9+-]/.test(c) &&
        (m = /^[+-]?(0[xX][0-9a-fA-F_]+|(\d[\d_]*)?\.?\d*([eE][+-]?\d+)?)/.exec(rest)) &&
        m[0] &&
        /\d/.test(m[0])
      ) {
        push('num', m[0]);
      } else if (rest.startsWith(':=')) push('sym', ':=');
      else if ('=|(),'.includes(c)) push('sym', c);
      else if ((m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest))) {
        const w = m[0];
        if (w === 'true' || w === 'false') push('bool', w);
        else if (KEYWORDS.has(w)) push('kw', w);
        else push('ident', w);
      } else this.fail(i, `unexpected ${JSON.stringify(c)} in command`);
    }
  }

  private peek(): Token | undefined {
    return this.tokens[this.ti];
  }

  private pipeline(pos: number, isRange: boolean): Pipe {
    const decls: string[] = [];
    let assign = false;
    // Declarations: $x := / $x = / $i, $v :=
    const save = this.ti;
    const a = this.tokens[this.ti];
    if (a?.t === 'var') {
      const b = this.tokens[this.ti + 1];
      if (b?.t === 'sym' && (b.v === ':=' || b.v === '=')) {
        decls.push(a.v);
        assign = b.v === '=';
        this.ti += 2;
      } else if (isRange && b?.t === 'sym' && b.v === ',') {
        const c = this.tokens[this.ti + 2];
        const d = this.tokens[this.ti + 3];
        if (c?.t === 'var' && d?.t === 'sym' && (d.v === ':=' || d.v === '=')) {
          decls.push(a.v, c.v);
          assign = d.v === '=';
          this.ti += 4;
        } else this.fail(b.pos, 'range can only initialize variables');
      } else this.ti = save;
    }
    const cmds: Command[] = [];
    for (;;) {
      const tok = this.peek();
      if (!tok) break;
      if (tok.t === 'sym' && tok.v === ')') break;
      const cmd = this.command();
      cmds.push(cmd);
      const n = this.peek();
      if (n?.t === 'sym' && n.v === '|') {
        this.ti++;
        if (!this.peek() || (this.peek()!.t === 'sym' && this.peek()!.v === ')')) this.fail(n.pos, 'missing command after |');
        continue;
      }
      break;
    }
    if (cmds.length === 0) this.fail(pos, 'missing value for command');
    return { decls, assign, cmds };
  }

  private command(): Command {
    const args: Operand[] = [];
    const first = this.peek()!;
    for (;;) {
      const tok = this.peek();
      if (!tok || (tok.t === 'sym' && (tok.v === '|' || tok.v === ')'))) break;
      if (args.length > 0 && !tok.spaced && !(tok.t === 'sym' && tok.v === '(')) this.fail(tok.pos, `unexpected ${tok.v} in operand`);
      args.push(this.operand());
    }
    if (args.length === 0) this.fail(first.pos, 'empty command');
    return { args, pos: this.where(first.pos) };
  }

  private chain(): string[] {
    const tok = this.peek();
    if (tok?.t === 'chain') {
      this.ti++;
      return tok.v.slice(1).split('.');
    }
    return [];
  }

  private operand(): Operand {
    const tok = this.tokens[this.ti++];
    switch (tok.t) {
      case 'dot':
        return { k: 'dot', chain: [] };
      case 'field':
        return { k: 'field', chain: tok.v.slice(1).split('.') };
      case 'var':
        return { k: 'var', name: tok.v, chain: this.chain() };
      case 'ident':
        return { k: 'ident', name: tok.v };
      case 'bool':
        return { k: 'lit', v: tok.v === 'true' };
      case 'str':
        return { k: 'lit', v: tok.v.startsWith('`') ? tok.v.slice(1, -1) : unquote(tok.v, this.where(tok.pos)) };
      case 'char': {
        const s = unquote(tok.v, this.where(tok.pos));
        return { k: 'lit', v: BigInt(s.codePointAt(0) ?? 0) };
      }
      case 'num':
        return { k: 'lit', v: parseNumber(tok.v, this.where(tok.pos)) };
      case 'kw':
        if (tok.v === 'nil') return { k: 'lit', v: null };
        return this.fail(tok.pos, `unexpected <${tok.v}> in command`);
      case 'sym':
        if (tok.v === '(') {
          const pipe = this.pipeline(tok.pos, false);
          const close = this.tokens[this.ti++];
          if (!close || close.v !== ')') this.fail(tok.pos, 'unclosed left paren');
          return { k: 'pipe', pipe, chain: this.chain() };
        }
        return this.fail(tok.pos, `unexpected "${tok.v}" in operand`);
      case 'chain':
        return this.fail(tok.pos, `unexpected ${tok.v} in operand`);
    }
  }
}

/** Truth as Go templates see it: false, 0, nil, and empty strings, slices and maps are false. */
export function truth(v: unknown): boolean {
  if (v === null || v === undefined) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'bigint') return v !== 0n;
  if (typeof v === 'string') return v.length > 0;
  if (Array.isArray(v)) return v.length > 0;
  if (v instanceof Map) return v.size > 0;
  return true;
}

function basicKind(v: unknown): string {
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'number') return 'float';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  return 'other';
}

function compare(op: string, a: unknown, b: unknown): number {
  const ka = basicKind(a);
  const kb = basicKind(b);
  if (ka !== kb || ka === 'other') {
    if (op === 'eq' || op === 'ne') {
      if (a === null || b === null) return a === b ? 0 : 1;
    }
    throw new Error('incompatible types for comparison');
  }
  if (ka === 'bool' && op !== 'eq' && op !== 'ne') throw new Error('invalid type for comparison');
  const x = a as number | bigint | string;
  const y = b as number | bigint | string;
  return x < y ? -1 : x > y ? 1 : x === y ? 0 : NaN;
}

class Break {}
class Continue {}

function goQueryEscape(s: string): string {
  return encodeURIComponent(s)
    .replace(/%20/g, '+')
    .replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

const BUILTINS: Record<string, Func> = {
  not: (a) => !truth(a),
  len: (a) => {
    if (typeof a === 'string') return BigInt(Buffer.byteLength(a));
    if (Array.isArray(a)) return BigInt(a.length);
    if (a instanceof Map) return BigInt(a.size);
    throw new Error(`len of type ${typeof a}`);
  },
  index: (a, ...keys) => {
    let v = a;
    for (const k of keys) {
      if (Array.isArray(v)) {
        const i = Number(k);
        if (typeof k !== 'bigint' || i < 0 || i >= v.length) throw new Error(`index out of range: ${formatValue(k)}`);
        v = v[i];
      } else if (v instanceof Map) v = v.has(k as string) ? v.get(k as string) : v instanceof AnyMap ? null : '';
      else throw new Error(`can't index item of type ${typeof v}`);
    }
    return v;
  },
  print: (...a) => a.map((x, i) => (i > 0 && typeof x !== 'string' && typeof a[i - 1] !== 'string' ? ' ' : '') + formatValue(x)).join(''),
  println: (...a) => a.map(formatValue).join(' ') + '\n',
  printf: (f, ...a) => {
    if (typeof f !== 'string') throw new Error('wrong type for value; expected string');
    return sprintf(f, a);
  },
  eq: (a, ...bs) => {
    if (bs.length === 0) throw new Error('missing argument for comparison');
    return bs.some((b) => compare('eq', a, b) === 0);
  },
  ne: (a, b) => compare('ne', a, b) !== 0,
  lt: (a, b) => compare('lt', a, b) < 0,
  le: (a, b) => compare('le', a, b) <= 0,
  gt: (a, b) => compare('gt', a, b) > 0,
  ge: (a, b) => compare('ge', a, b) >= 0,
  urlquery: (...a) => goQueryEscape(a.map(formatValue).join('')),
  html: (...a) =>
    a
      .map(formatValue)
      .join('')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&#34;')
      .replace(/'/g, '&#39;')
      .replace(/\0/g, '\uFFFD'),
  js: (...a) =>
    a
      .map(formatValue)
      .join('')
      .replace(/[\\'"<>&=]/g, (c) =>
        c === '\\' ? '\\\\' : c === "'" ? "\\'" : c === '"' ? '\\"' : `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`,
      ),
};

/** A parsed template, executed against data with a set of functions. */
export class Template {
  private readonly nodes: Node[];

  constructor(
    readonly name: string,
    text: string,
    private readonly funcs: Readonly<Record<string, Func>> = {},
  ) {
    this.nodes = new Parser(name, text).parse();
    this.checkFuncs(this.nodes);
  }

  private checkFuncs(nodes: Node[]): void {
    const checkPipe = (p: Pipe) => {
      for (const c of p.cmds) for (const a of c.args) checkOp(a, c.pos);
    };
    const checkOp = (a: Operand, pos: string) => {
      if (a.k === 'ident' && !(a.name in BUILTINS) && !(a.name in this.funcs) && a.name !== 'and' && a.name !== 'or')
        throw new TemplateError(`${pos}: function "${a.name}" not defined`);
      if (a.k === 'pipe') checkPipe(a.pipe);
    };
    for (const n of nodes) {
      if (n.k === 'action') checkPipe(n.pipe);
      else if (n.k === 'if' || n.k === 'with' || n.k === 'range') {
        checkPipe(n.pipe);
        this.checkFuncs(n.list);
        if (n.elseList) this.checkFuncs(n.elseList);
      }
    }
  }

  /** Runs the template; throws TemplateError with Go's "executing" message on failure. */
  async execute(data: unknown): Promise<string> {
    const vars: [string, unknown][] = [['$', data]];
    const out: string[] = [];
    await this.walk(this.nodes, data, vars, out);
    return out.join('');
  }

  private async walk(nodes: Node[], dot: unknown, vars: [string, unknown][], out: string[]): Promise<void> {
    for (const n of nodes) {
      switch (n.k) {
        case 'text':
          out.push(n.s);
          break;
        case 'action': {
          const v = await this.pipe(n.pipe, dot, vars);
          if (n.pipe.decls.length === 0) out.push(printable(v));
          break;
        }
        case 'break':
          throw new Break();
        case 'continue':
          throw new Continue();
        case 'if':
        case 'with': {
          const mark = vars.length;
          const v = await this.pipe(n.pipe, dot, vars);
          if (truth(v)) await this.walk(n.list, n.k === 'with' ? v : dot, vars, out);
          else if (n.elseList) await this.walk(n.elseList, dot, vars, out);
          vars.length = mark;
          break;
        }
        case 'range': {
          const mark = vars.length;
          const v = await this.pipe({ ...n.pipe, decls: [] }, dot, vars);
          const entries: [unknown, unknown][] = [];
          if (Array.isArray(v)) v.forEach((e, i) => entries.push([BigInt(i), e]));
          else if (v instanceof Map) for (const k of [...v.keys()].sort()) entries.push([k, v.get(k)]);
          else if (typeof v === 'bigint') for (let i = 0n; i < v; i++) entries.push([i, i]);
          else if (v !== null && v !== undefined)
            throw new TemplateError(`${n.pipe.cmds[0].pos}: range can't iterate over ${formatValue(v)}`);
          if (entries.length === 0) {
            if (n.elseList) await this.walk(n.elseList, dot, vars, out);
            vars.length = mark;
            break;
          }
          for (const [k, e] of entries) {
            const inner = vars.length;
            if (n.pipe.decls.length === 1) this.declare(vars, n.pipe.decls[0], e, n.pipe.assign);
            else if (n.pipe.decls.length === 2) {
              this.declare(vars, n.pipe.decls[0], k, n.pipe.assign);
              this.declare(vars, n.pipe.decls[1], e, n.pipe.assign);
            }
            try {
              await this.walk(n.list, e, vars, out);
            } catch (err) {
              if (err instanceof Break) break;
              if (!(err instanceof Continue)) throw err;
            } finally {
              vars.length = Math.max(inner, n.pipe.assign ? vars.length : inner);
            }
          }
          vars.length = mark;
          break;
        }
      }
    }
  }

  private declare(vars: [string, unknown][], name: string, v: unknown, assign: boolean): void {
    if (assign) {
      for (let i = vars.length - 1; i >= 0; i--) {
        if (vars[i][0] === name) {
          vars[i][1] = v;
          return;
        }
      }
      throw new TemplateError(`template: ${this.name}: undefined variable: ${name}`);
    }
    vars.push([name, v]);
  }

  private async pipe(p: Pipe, dot: unknown, vars: [string, unknown][]): Promise<unknown> {
    let v: unknown = undefined;
    let first = true;
    for (const c of p.cmds) {
      v = await this.command(c, dot, vars, first ? undefined : { v });
      first = false;
    }
    for (const d of p.decls) this.declare(vars, d, v, p.assign);
    return v;
  }

  private fail(c: Command, what: string, msg: string): never {
    throw new TemplateError(`${c.pos}: executing "${this.name}" at <${what}>: ${msg}`);
  }

  private async command(c: Command, dot: unknown, vars: [string, unknown][], piped: { v: unknown } | undefined): Promise<unknown> {
    const head = c.args[0];
    if (head.k === 'ident') {
      const name = head.name;
      if (name === 'and' || name === 'or') {
        const args = c.args.slice(1);
        let last: unknown = undefined;
        const all = [...args.map((a) => ({ a })), ...(piped ? [{ v: piped.v }] : [])];
        if (all.length === 0) this.fail(c, name, `wrong number of args for ${name}: want at least 1 got 0`);
        for (const x of all) {
          last = 'a' in x ? await this.operand(x.a, dot, vars, c) : x.v;
          if (name === 'and' ? !truth(last) : truth(last)) return last;
        }
        return last;
      }
      const fn = BUILTINS[name] ?? this.funcs[name];
      if (!fn) this.fail(c, name, `function "${name}" not defined`);
      const args: unknown[] = [];
      for (const a of c.args.slice(1)) args.push(await this.operand(a, dot, vars, c));
      if (piped) args.push(piped.v);
      try {
        return await fn(...args);
      } catch (e) {
        if (e instanceof TemplateError) throw e;
        this.fail(c, name, `error calling ${name}: ${(e as Error).message}`);
      }
    }
    if (c.args.length > 1 || piped) this.fail(c, describe(head), `can't give argument to non-function ${describe(head)}`);
    return this.operand(head, dot, vars, c);
  }

  private async operand(a: Operand, dot: unknown, vars: [string, unknown][], c: Command): Promise<unknown> {
    switch (a.k) {
      case 'lit':
        return a.v;
      case 'dot':
        return dot;
      case 'field':
        return this.fields(dot, a.chain, c, '.' + a.chain.join('.'));
      case 'var': {
        let v: unknown;
        let found = false;
        for (let i = vars.length - 1; i >= 0; i--) {
          if (vars[i][0] === a.name) {
            v = vars[i][1];
            found = true;
            break;
          }
        }
        if (!found) throw new TemplateError(`${c.pos}: undefined variable "${a.name}"`);
        return this.fields(v, a.chain, c, a.name + (a.chain.length ? '.' + a.chain.join('.') : ''));
      }
      case 'pipe':
        return this.fields(await this.pipe(a.pipe, dot, vars), a.chain, c, '(...)');
      case 'ident': {
        const fn = BUILTINS[a.name] ?? this.funcs[a.name];
        if (!fn) this.fail(c, a.name, `function "${a.name}" not defined`);
        try {
          return await fn();
        } catch (e) {
          this.fail(c, a.name, `error calling ${a.name}: ${(e as Error).message}`);
        }
      }
    }
  }

  private fields(v: unknown, chain: string[], c: Command, what: string): unknown {
    for (const f of chain) {
      if (v instanceof Map) v = v.has(f) ? v.get(f) : v instanceof AnyMap ? null : '';
      else if (v instanceof GoStruct) {
        if (!(f in v.fields)) this.fail(c, what, `can't evaluate field ${f} in type ${v.typeName}`);
        v = v.fields[f];
      } else if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
        // A plain object stands for a Go struct.
        if (!(f in v)) this.fail(c, what, `can't evaluate field ${f} in type struct`);
        v = (v as Record<string, unknown>)[f];
      } else if (v === null || v === undefined) this.fail(c, what, `nil pointer evaluating interface {}.${f}`);
      else this.fail(c, what, `can't evaluate field ${f} in type ${typeof v === 'number' ? 'float64' : typeof v}`);
    }
    return v;
  }
}

function describe(a: Operand): string {
  if (a.k === 'field') return '.' + a.chain.join('.');
  if (a.k === 'var') return a.name + (a.chain.length ? '.' + a.chain.join('.') : '');
  if (a.k === 'dot') return '.';
  if (a.k === 'lit') return formatValue(a.v);
  return '(...)';
}

/** What an action prints: Go's `<no value>` for a missing value, fmt.Sprint otherwise. */
function printable(v: unknown): string {
  if (v === undefined) return '<no value>';
  return formatValue(v);
}
