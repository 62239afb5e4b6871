/** PromQL literal syntax: numbers, durations and Go-style quoted strings. */

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
};
const DURATION_RE = /^((\d+)(ms|s|m|h|d|w|y))+$/;
const PART_RE = /(\d+)(ms|s|m|h|d|w|y)/g;

/** A duration literal like 1h30m in ms, or undefined when the text is not one. */
export function parseDurationLiteral(s: string): number | undefined {
  if (!DURATION_RE.test(s)) return undefined;
  let total = 0;
  for (const m of s.matchAll(PART_RE)) total += Number(m[1]) * DURATION_UNITS[m[2]];
  return total;
}

/** A number literal (decimal, hex, octal-looking, Inf, NaN, underscores) or a duration as seconds. */
export function parseNumberLiteral(text: string): number | undefined {
  let s = text.replace(/_/g, '').replace(/^([+-])\s+/, '$1');
  let sign = 1;
  if (s.startsWith('-')) {
    sign = -1;
    s = s.slice(1);
  } else if (s.startsWith('+')) s = s.slice(1);
  const lower = s.toLowerCase();
  if (lower === 'inf' || lower === 'infinity') return sign * Infinity;
  if (lower === 'nan') return NaN;
  if (/^0x[0-9a-f]+$/i.test(s)) return sign * parseInt(s, 16);
  if (/^0[0-7]+$/.test(s)) return sign * parseInt(s, 8);
  if (/^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(s)) return sign * Number(s);
  const d = parseDurationLiteral(s);
  return d === undefined ? undefined : (sign * d) / 1000;
}

const lenientUtf8 = new TextDecoder('utf-8');

/**
 * Unquotes a PromQL string literal with Go's escape rules; backtick strings are raw. As in Go,
 * \x and octal escapes are bytes, so "\xff" is not valid UTF-8: such bytes come out as U+FFFD,
 * which label functions then refuse as a label name.
 */
export function unquoteString(lit: string): string {
  const q = lit[0];
  const body = lit.slice(1, -1);
  if (q === '`') return body;
  if (!body.includes('\\')) return body;
  const bytes: number[] = [];
  const pushStr = (str: string) => {
    for (const b of Buffer.from(str, 'utf8')) bytes.push(b);
  };
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== '\\') {
      pushStr(c);
      continue;
    }
    const n = body[++i];
    if (n === 'x') {
      const hex = body.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new Error(`invalid escape sequence \\x${hex}`);
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (n !== undefined && /[0-7]/.test(n)) {
      const oct = body.slice(i, i + 3);
      if (!/^[0-7]{3}$/.test(oct)) throw new Error(`invalid escape sequence \\${oct}`);
      bytes.push(parseInt(oct, 8));
      i += 2;
    } else if (n === 'u' || n === 'U') {
      const len = n === 'u' ? 4 : 8;
      const hex = body.slice(i + 1, i + 1 + len);
      if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) throw new Error(`invalid escape sequence \\${n}${hex}`);
      pushStr(String.fromCodePoint(parseInt(hex, 16)));
      i += len;
    } else {
      const simple = SIMPLE_ESCAPES[n ?? ''];
      if (simple === undefined) throw new Error(`unknown escape sequence \\${n ?? ''}`);
      pushStr(simple);
    }
  }
  return lenientUtf8.decode(Uint8Array.from(bytes));
}

const SIMPLE_ESCAPES: Record<string, string> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
  "'": "'",
  '"': '"',
};
