/** LogQL's tokens, with the offset each starts at (turned into Loki's line:col in errors). */

export type TokenKind = 'ident' | 'string' | 'number' | 'op' | 'eof';

export interface Token {
  readonly kind: TokenKind;
  /** For strings the unquoted value; for numbers the literal text (`5m`, `20MB`, `1.5`). */
  readonly text: string;
  readonly pos: number;
}

/** Loki's parse error: `parse error at line L, col C: message` (1-based, as Loki counts). */
export class LogqlParseError extends Error {
  constructor(
    readonly msg: string,
    readonly line: number,
    readonly col: number,
  ) {
    super(line === 0 && col === 0 ? `parse error : ${msg}` : `parse error at line ${line}, col ${col}: ${msg}`);
  }

  static at(src: string, pos: number, msg: string): LogqlParseError {
    let line = 1;
    let col = 1;
    for (let i = 0; i < pos && i < src.length; i++) {
      if (src[i] === '\n') {
        line++;
        col = 1;
      } else col++;
    }
    return new LogqlParseError(msg, line, col);
  }
}

// Longest first, so `|=` wins over `|` and `=~` over `=`.
const OPS = [
  '|=',
  '|~',
  '|>',
  '!=',
  '!~',
  '!>',
  '=~',
  '==',
  '>=',
  '<=',
  '|',
  '=',
  '>',
  '<',
  '{',
  '}',
  '(',
  ')',
  '[',
  ']',
  ',',
  '+',
  '-',
  '*',
  '/',
  '%',
  '^',
];

const isIdentStart = (c: string): boolean => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_';
const isIdentPart = (c: string): boolean => isIdentStart(c) || (c >= '0' && c <= '9');
const isDigit = (c: string): boolean => c >= '0' && c <= '9';

export function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    if (c === '#') {
      // A comment runs to the end of the line.
      while (i < src.length && src[i] !== '\n') i++;
      continue;
    }
    const start = i;
    if (c === '"') {
      const [value, end] = readQuoted(src, i);
      out.push({ kind: 'string', text: value, pos: start });
      i = end;
      continue;
    }
    if (c === '`') {
      const end = src.indexOf('`', i + 1);
      if (end < 0) throw LogqlParseError.at(src, start, 'literal not terminated');
      out.push({ kind: 'string', text: src.slice(i + 1, end), pos: start });
      i = end + 1;
      continue;
    }
    if (isDigit(c) || (c === '.' && isDigit(src[i + 1] ?? ''))) {
      // Numbers, durations (1h30m, 250ms) and byte sizes (20MB, 1.5KiB) share one token; the parser classifies it.
      while (i < src.length && (isIdentPart(src[i]) || src[i] === '.' || src[i] === 'µ')) {
        if ((src[i] === 'e' || src[i] === 'E') && (src[i + 1] === '+' || src[i + 1] === '-') && /^[0-9.]+$/.test(src.slice(start, i))) i++;
        i++;
      }
      out.push({ kind: 'number', text: src.slice(start, i), pos: start });
      continue;
    }
    if (isIdentStart(c)) {
      while (i < src.length && (isIdentPart(src[i]) || src[i] === '.')) i++;
      // Dots belong to identifiers only inside (e.g. `json a="b.c"` never needs it; label names have none).
      let text = src.slice(start, i);
      while (text.endsWith('.')) text = text.slice(0, -1);
      i = start + text.length;
      out.push({ kind: 'ident', text, pos: start });
      continue;
    }
    if (c === '-' && src[i + 1] === '-' && isIdentStart(src[i + 2] ?? '')) {
      // logfmt's flags: --strict, --keep-empty.
      i += 2;
      while (i < src.length && (isIdentPart(src[i]) || src[i] === '-')) i++;
      out.push({ kind: 'ident', text: src.slice(start, i), pos: start });
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (!op) throw LogqlParseError.at(src, start, `syntax error: unexpected character '${c}'`);
    out.push({ kind: 'op', text: op, pos: start });
    i += op.length;
  }
  out.push({ kind: 'eof', text: '', pos: src.length });
  return out;
}

/** A Go interpreted string literal starting at `i` (the opening quote): its value and the offset after it. */
function readQuoted(src: string, i: number): [string, number] {
  let out = '';
  let j = i + 1;
  while (j < src.length) {
    const c = src[j];
    if (c === '"') return [out, j + 1];
    if (c === '\n') break;
    if (c !== '\\') {
      out += c;
      j++;
      continue;
    }
    const n = src[j + 1];
    const simple: Record<string, string> = {
      n: '\n',
      t: '\t',
      r: '\r',
      '"': '"',
      '\\': '\\',
      a: '\x07',
      b: '\b',
      f: '\f',
      v: '\v',
      "'": "'",
    };
    if (n !== undefined && n in simple) {
      out += simple[n];
      j += 2;
    } else if (n === 'x' || n === 'u' || n === 'U') {
      const len = n === 'x' ? 2 : n === 'u' ? 4 : 8;
      const hex = src.slice(j + 2, j + 2 + len);
      if (hex.length !== len || !/^[0-9a-fA-F]+$/.test(hex)) throw LogqlParseError.at(src, j, 'invalid syntax: bad escape in string');
      out += String.fromCodePoint(parseInt(hex, 16));
      j += 2 + len;
    } else if (n !== undefined && n >= '0' && n <= '7') {
      const oct = src.slice(j + 1, j + 4);
      if (!/^[0-7]{3}$/.test(oct)) throw LogqlParseError.at(src, j, 'invalid syntax: bad escape in string');
      out += String.fromCharCode(parseInt(oct, 8));
      j += 4;
    } else throw LogqlParseError.at(src, j, 'invalid syntax: unknown escape sequence in string');
  }
  throw LogqlParseError.at(src, i, 'literal not terminated');
}
