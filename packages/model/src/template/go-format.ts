/**
 * Go's fmt formatting of the values a Prometheus template handles: `%v` of float64 (strconv's
 * shortest 'g'), `%.4g` and the other verbs `printf` is used with in alert templates. Go ints are
 * bigint here and float64 numbers, so `%d` of a float fails as Go's does (`%!d(float64=1.5)`).
 */

/** The exact decimal expansion of a finite a > 0: a = 0.digits x 10^dp, digits without leading or trailing zeros. */
function exactDecimal(a: number): { digits: string; dp: number } {
  let digits: string;
  let dp: number;
  if (a >= 1e21) {
    digits = BigInt(a).toString();
    dp = digits.length;
  } else {
    // toFixed is exact up to 100 fractional digits: enough to see a tie at the precisions used.
    const [int, frac] = a.toFixed(100).split('.');
    digits = (int === '0' ? '' : int) + frac;
    dp = int === '0' ? 0 : int.length;
    const lead = /^0*/.exec(digits)![0].length;
    digits = digits.slice(lead);
    dp -= lead;
  }
  return { digits: digits.replace(/0+$/, '') || '0', dp };
}

/** Rounds to nd significant digits, ties to even as Go's strconv does on exact values. */
function roundDigits(digits: string, dp: number, nd: number): { digits: string; dp: number } {
  if (nd >= digits.length) return { digits, dp };
  if (nd < 0) return { digits: '0', dp: 1 };
  const kept = digits.slice(0, nd).split('').map(Number);
  const rest = digits.slice(nd);
  const up = rest[0] > '5' || (rest[0] === '5' && (/[1-9]/.test(rest.slice(1)) || (nd > 0 && kept[nd - 1] % 2 === 1)));
  if (up) {
    let i = nd - 1;
    while (i >= 0 && kept[i] === 9) kept[i--] = 0;
    if (i < 0) {
      kept.unshift(1);
      dp++;
    } else kept[i]++;
  }
  const out = kept.join('').replace(/0+$/, '');
  return out ? { digits: out, dp } : { digits: '0', dp: 1 };
}

/** Decimal digits (no trailing zeros) and the decimal point position of |v|: v = 0.d1d2... x 10^dp. */
function digitsOf(v: number, precision: number | undefined): { digits: string; dp: number } {
  const a = Math.abs(v);
  if (a === 0) return { digits: '0', dp: 1 };
  if (precision === undefined) {
    // The shortest digits that read back as v: what JavaScript prints, as Go's shortest formatting.
    const m = /^(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(a.toExponential())!;
    return { digits: (m[1] + (m[2] ?? '')).replace(/0+$/, '') || '0', dp: Number(m[3]) + 1 };
  }
  const e = exactDecimal(a);
  return roundDigits(e.digits, e.dp, precision);
}

function expPart(exp: number, e: string): string {
  const a = Math.abs(exp);
  return `${e}${exp < 0 ? '-' : '+'}${a < 10 ? '0' : ''}${a}`;
}

function special(v: number): string | undefined {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return undefined;
}

/** strconv.FormatFloat(v, 'g', prec, 64); prec undefined is -1 (shortest). */
export function formatG(v: number, prec?: number, upper = false): string {
  const sp = special(v);
  if (sp !== undefined) return sp;
  if (prec === 0) prec = 1;
  const neg = v < 0 || Object.is(v, -0);
  const { digits, dp } = digitsOf(v, prec);
  const nd = digits.length;
  let p = prec === undefined ? nd : prec;
  let eprec = p;
  if (eprec > nd && nd >= dp) eprec = nd;
  if (prec === undefined) eprec = 6;
  const exp = dp - 1;
  const sign = neg ? '-' : '';
  if (exp < -4 || exp >= eprec) {
    if (p > nd) p = nd;
    const frac = digits.slice(1, p).padEnd(p - 1, '0');
    return `${sign}${digits[0]}${frac ? '.' + frac : ''}${expPart(exp, upper ? 'E' : 'e')}`;
  }
  if (p > dp) p = nd;
  return sign + fixedFromDigits(digits, dp, Math.max(p - dp, 0));
}

function fixedFromDigits(digits: string, dp: number, fracDigits: number): string {
  let int: string;
  let frac: string;
  if (dp <= 0) {
    int = '0';
    frac = '0'.repeat(-dp) + digits;
  } else if (dp >= digits.length) {
    int = digits + '0'.repeat(dp - digits.length);
    frac = '';
  } else {
    int = digits.slice(0, dp);
    frac = digits.slice(dp);
  }
  frac = frac.slice(0, fracDigits).padEnd(fracDigits, '0');
  return fracDigits > 0 ? `${int}.${frac}` : int;
}

/** strconv.FormatFloat(v, 'f', prec, 64). */
export function formatF(v: number, prec = 6): string {
  const sp = special(v);
  if (sp !== undefined) return sp;
  const neg = v < 0 || Object.is(v, -0);
  if (v === 0) return (neg ? '-' : '') + fixedFromDigits('0', 1, prec);
  const e = exactDecimal(Math.abs(v));
  let { digits, dp } = e;
  if (dp < 0) {
    digits = '0'.repeat(-dp) + digits;
    dp = 0;
  }
  const r = roundDigits(digits, dp, dp + prec);
  return (neg ? '-' : '') + fixedFromDigits(r.digits, r.dp, prec);
}

/** strconv.FormatFloat(v, 'e', prec, 64). */
export function formatE(v: number, prec = 6, upper = false): string {
  const sp = special(v);
  if (sp !== undefined) return sp;
  const { digits, dp } = digitsOf(v, prec + 1);
  const frac = digits.slice(1).padEnd(prec, '0');
  return `${v < 0 ? '-' : ''}${digits[0]}${prec > 0 ? '.' + frac : ''}${expPart(v === 0 ? 0 : dp - 1, upper ? 'E' : 'e')}`;
}

/** A Go struct: printed by %v as {field1 field2}. Field order is the object's. */
export class GoStruct {
  constructor(
    readonly typeName: string,
    readonly fields: Record<string, unknown>,
  ) {}
}

/** A Go value printed by %v (fmt.Sprint). Maps print sorted by key, as Go's fmt does. */
export function formatValue(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return formatG(v);
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(formatValue).join(' ')}]`;
  if (v instanceof Map) {
    const keys = [...v.keys()].sort();
    return `map[${keys.map((k) => `${formatValue(k)}:${formatValue(v.get(k))}`).join(' ')}]`;
  }
  if (v instanceof GoStruct) return `{${Object.values(v.fields).map(formatValue).join(' ')}}`;
  if (typeof v === 'function') return '<func>';
  return String(v);
}

function goTypeName(v: unknown): string {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'float64';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'boolean') return 'bool';
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return '[]interface {}';
  if (v instanceof Map) return 'map[string]string';
  if (v instanceof GoStruct) return v.typeName;
  return 'interface {}';
}

function quote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out + '"';
}

function pad(s: string, width: number | undefined, minus: boolean, zero: boolean): string {
  if (width === undefined || s.length >= width) return s;
  if (minus) return s.padEnd(width, ' ');
  if (zero) {
    const sign = /^[+-]/.test(s) ? s[0] : '';
    return sign + s.slice(sign.length).padStart(width - sign.length, '0');
  }
  return s.padStart(width, ' ');
}

/** fmt.Sprintf with the verbs v s d f F e E g G q x X t and the flags + - 0 space, width and precision. */
export function sprintf(format: string, args: readonly unknown[]): string {
  let out = '';
  let argi = 0;
  const re = /%([+\- 0#]*)(\d+)?(?:\.(\d*))?([a-zA-Z%])/y;
  let i = 0;
  while (i < format.length) {
    const pct = format.indexOf('%', i);
    if (pct < 0) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, pct);
    re.lastIndex = pct;
    const m = re.exec(format);
    if (!m) {
      out += '%!(NOVERB)';
      break;
    }
    i = re.lastIndex;
    const [, flags, w, precText, verb] = m;
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (argi >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    const arg = args[argi++];
    const width = w === undefined ? undefined : Number(w);
    const prec = precText === undefined ? undefined : Number(precText || '0');
    const plus = flags.includes('+');
    const minus = flags.includes('-');
    const zero = flags.includes('0') && !minus;
    const bad = () => `%!${verb}(${goTypeName(arg)}=${formatValue(arg)})`;
    const signed = (s: string, n: number | bigint) => (plus && n >= 0 ? '+' + s : flags.includes(' ') && n >= 0 ? ' ' + s : s);
    let s: string;
    switch (verb) {
      case 'v':
        s = typeof arg === 'number' ? signed(formatG(arg), arg) : formatValue(arg);
        break;
      case 's':
        s = typeof arg === 'number' || typeof arg === 'bigint' ? bad() : formatValue(arg);
        if (prec !== undefined && typeof arg === 'string') s = [...s].slice(0, prec).join('');
        break;
      case 'q':
        s = typeof arg === 'string' ? quote(arg) : typeof arg === 'bigint' ? `'${String.fromCodePoint(Number(arg))}'` : bad();
        break;
      case 't':
        s = typeof arg === 'boolean' ? String(arg) : bad();
        break;
      case 'd':
        s = typeof arg === 'bigint' ? signed(arg.toString(), arg) : bad();
        break;
      case 'x':
      case 'X': {
        if (typeof arg === 'bigint') s = (arg < 0n ? '-' : '') + (arg < 0n ? -arg : arg).toString(16);
        else if (typeof arg === 'string') s = Buffer.from(arg, 'utf8').toString('hex');
        else s = bad();
        if (verb === 'X') s = s.toUpperCase();
        break;
      }
      case 'f':
      case 'F':
        s = typeof arg === 'number' ? signed(formatF(arg, prec ?? 6), arg) : bad();
        break;
      case 'e':
      case 'E':
        s = typeof arg === 'number' ? signed(formatE(arg, prec ?? 6, verb === 'E'), arg) : bad();
        break;
      case 'g':
      case 'G':
        s = typeof arg === 'number' ? signed(formatG(arg, prec, verb === 'G'), arg) : bad();
        break;
      default:
        s = bad();
    }
    out += pad(s, width, minus, zero && /[dfFeEgGxX]/.test(verb));
  }
  if (argi < args.length)
    out += `%!(EXTRA ${args
      .slice(argi)
      .map((a) => `${goTypeName(a)}=${formatValue(a)}`)
      .join(', ')})`;
  return out;
}
