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
  if (lit[0] === '`' || !lit.includes('\\')) return lit.slice(1, -1);
  return lenientUtf8.decode(unquoteBytes(lit));
}

/** The bytes a PromQL string literal stands for, which need not be valid UTF-8 (see unquoteString). */
export function unquoteBytes(lit: string): Uint8Array {
  const body = lit.slice(1, -1);
  if (lit[0] === '`') return Buffer.from(body, 'utf8');
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
  return Uint8Array.from(bytes);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const GO_ESCAPES: Record<string, string> = {
  '\x07': 'a',
  '\b': 'b',
  '\f': 'f',
  '\n': 'n',
  '\r': 'r',
  '\t': 't',
  '\v': 'v',
  '"': '"',
  '\\': '\\',
};

/**
 * Go's %q of a byte string (strconv.Quote), for messages that name a string as Prometheus does:
 * printable characters as they are, escapes for the rest, \xNN for bytes that are not UTF-8.
 */
export function goQuoteBytes(bytes: Uint8Array): string {
  let out = '"';
  let i = 0;
  while (i < bytes.length) {
    const n = utf8Length(bytes, i);
    if (n === 0) {
      out += `\\x${bytes[i].toString(16).padStart(2, '0')}`;
      i++;
      continue;
    }
    const ch = strictUtf8.decode(bytes.subarray(i, i + n));
    i += n;
    const c = ch.codePointAt(0)!;
    if (GO_ESCAPES[ch] !== undefined) out += `\\${GO_ESCAPES[ch]}`;
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else if (ch === ' ' || /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(ch)) out += ch;
    else if (c < 0x10000) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += `\\U${c.toString(16).padStart(8, '0')}`;
  }
  return `${out}"`;
}

/** Length of the valid UTF-8 sequence starting at i, or 0 when the byte there starts none. */
function utf8Length(b: Uint8Array, i: number): number {
  const x = b[i];
  const n = x < 0x80 ? 1 : x >= 0xc2 && x < 0xe0 ? 2 : x >= 0xe0 && x < 0xf0 ? 3 : x >= 0xf0 && x < 0xf5 ? 4 : 0;
  if (n <= 1) return n;
  try {
    strictUtf8.decode(b.subarray(i, i + n));
    return n;
  } catch {
    return 0;
  }
}

/** Whether the bytes are valid UTF-8. */
export function isValidUtf8(bytes: Uint8Array): boolean {
  try {
    strictUtf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
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
