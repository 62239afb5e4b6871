/**
 * The functions Loki's line_format and label_format templates may call (a subset of Loki's list:
 * its Go strings functions, the sprig string functions, arithmetic, `__line__` and `__timestamp__`).
 * Piped values arrive as the last argument, as Go templates pass them.
 */
import { compileSearchRegex, type TemplateFunc } from '@strata/model';

const str = (v: unknown): string => (v === undefined || v === null ? '' : String(v));
const num = (v: unknown): number => (typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : Number(str(v)) || 0);
const int = (v: unknown): bigint => BigInt(Math.trunc(num(v)));

function trimSet(s: string, cut: string, left: boolean, right: boolean): string {
  let a = 0;
  let b = s.length;
  while (left && a < b && cut.includes(s[a])) a++;
  while (right && b > a && cut.includes(s[b - 1])) b--;
  return s.slice(a, b);
}

/** Go's regexp.Expand template: `$1`, `${1}`, `$name`, `${name}`, `$$`. */
export function expandReplacement(tpl: string, group: (ref: number | string) => string | undefined): string {
  let out = '';
  for (let i = 0; i < tpl.length; i++) {
    const c = tpl[i];
    if (c !== '$' || i + 1 >= tpl.length) {
      out += c;
      continue;
    }
    if (tpl[i + 1] === '$') {
      out += '$';
      i++;
      continue;
    }
    let name: string;
    let end: number;
    if (tpl[i + 1] === '{') {
      const close = tpl.indexOf('}', i + 2);
      if (close < 0) {
        out += c;
        continue;
      }
      name = tpl.slice(i + 2, close);
      end = close;
    } else {
      const m = /^[a-zA-Z0-9_]+/.exec(tpl.slice(i + 1));
      if (!m) {
        out += c;
        continue;
      }
      name = m[0];
      end = i + m[0].length;
    }
    out += group(/^\d+$/.test(name) ? Number(name) : name) ?? '';
    i = end;
  }
  return out;
}

/** The functions for one template; `current` gives the entry being formatted to `__line__` and `__timestamp__`. */
export function templateFuncs(current: () => { line: string; ts: bigint }): Record<string, TemplateFunc> {
  return {
    __line__: () => current().line,
    __timestamp__: () => new Date(Number(current().ts / 1_000_000n)),
    ToLower: (s) => str(s).toLowerCase(),
    ToUpper: (s) => str(s).toUpperCase(),
    lower: (s) => str(s).toLowerCase(),
    upper: (s) => str(s).toUpperCase(),
    title: (s) => str(s).replace(/(^|[^\p{L}\p{N}])(\p{L})/gu, (_m, a: string, b: string) => a + b.toUpperCase()),
    Replace: (s, old, neu, n) => {
      let count = num(n);
      const src = str(s);
      if (count < 0) return src.split(str(old)).join(str(neu));
      let out = src;
      let from = 0;
      while (count-- > 0) {
        const at = out.indexOf(str(old), from);
        if (at < 0) break;
        out = out.slice(0, at) + str(neu) + out.slice(at + str(old).length);
        from = at + str(neu).length;
      }
      return out;
    },
    replace: (old, neu, s) => str(s).split(str(old)).join(str(neu)),
    Trim: (s, cut) => trimSet(str(s), str(cut), true, true),
    TrimLeft: (s, cut) => trimSet(str(s), str(cut), true, false),
    TrimRight: (s, cut) => trimSet(str(s), str(cut), false, true),
    TrimPrefix: (s, p) => (str(s).startsWith(str(p)) ? str(s).slice(str(p).length) : str(s)),
    TrimSuffix: (s, p) => (str(p) !== '' && str(s).endsWith(str(p)) ? str(s).slice(0, -str(p).length) : str(s)),
    TrimSpace: (s) => str(s).trim(),
    trim: (s) => str(s).trim(),
    trimAll: (cut, s) => trimSet(str(s), str(cut), true, true),
    trimPrefix: (p, s) => (str(s).startsWith(str(p)) ? str(s).slice(str(p).length) : str(s)),
    trimSuffix: (p, s) => (str(p) !== '' && str(s).endsWith(str(p)) ? str(s).slice(0, -str(p).length) : str(s)),
    contains: (sub, s) => str(s).includes(str(sub)),
    hasPrefix: (p, s) => str(s).startsWith(str(p)),
    hasSuffix: (p, s) => str(s).endsWith(str(p)),
    trunc: (n, s) => {
      const c = num(n);
      const v = str(s);
      return c >= 0 ? v.slice(0, c) : v.slice(Math.max(0, v.length + c));
    },
    substr: (a, b, s) => {
      const v = str(s);
      const start = num(a);
      const end = num(b);
      if (start < 0) return v.slice(0, end < 0 ? v.length : end);
      return end < 0 || end > v.length ? v.slice(start) : v.slice(start, end);
    },
    repeat: (n, s) => str(s).repeat(Math.max(0, num(n))),
    indent: (n, s) => str(s).replace(/^/gm, ' '.repeat(num(n))),
    nindent: (n, s) => '\n' + str(s).replace(/^/gm, ' '.repeat(num(n))),
    default: (d, v) => (v === undefined || v === null || v === '' || v === 0 || v === 0n || v === false ? d : v),
    count: (sub, s) => {
      const v = str(s);
      const m = str(sub);
      if (m === '') return BigInt([...v].length + 1);
      return BigInt(v.split(m).length - 1);
    },
    regexReplaceAll: (re, s, repl) =>
      compileSearchRegex(str(re)).replaceAll(str(s), (g) => expandReplacement(str(repl), (r) => g.group(r))),
    regexReplaceAllLiteral: (re, s, repl) => compileSearchRegex(str(re)).replaceAll(str(s), () => str(repl)),
    add: (a, b) => int(a) + int(b),
    sub: (a, b) => int(a) - int(b),
    mul: (a, b) => int(a) * int(b),
    div: (a, b) => (int(b) === 0n ? 0n : int(a) / int(b)),
    mod: (a, b) => (int(b) === 0n ? 0n : int(a) % int(b)),
    addf: (a, b) => num(a) + num(b),
    subf: (a, b) => num(a) - num(b),
    mulf: (a, b) => num(a) * num(b),
    divf: (a, b) => num(a) / num(b),
    floor: (a) => Math.floor(num(a)),
    ceil: (a) => Math.ceil(num(a)),
    round: (a, p) => {
      const f = 10 ** num(p ?? 0);
      return Math.round(num(a) * f) / f;
    },
    int: (a) => int(a),
    float64: (a) => num(a),
    max: (a, b) => (int(a) > int(b) ? int(a) : int(b)),
    min: (a, b) => (int(a) < int(b) ? int(a) : int(b)),
    unixEpoch: (d) => BigInt(Math.floor((d instanceof Date ? d.getTime() : Date.parse(str(d))) / 1000)),
    unixEpochMillis: (d) => BigInt(d instanceof Date ? d.getTime() : Date.parse(str(d))),
    b64enc: (s) => Buffer.from(str(s), 'utf8').toString('base64'),
    b64dec: (s) => Buffer.from(str(s), 'base64').toString('utf8'),
    urlencode: (s) => encodeURIComponent(str(s)),
    urldecode: (s) => decodeURIComponent(str(s)),
    alignLeft: (n, s) => {
      const c = num(n);
      const v = str(s);
      return v.length >= c ? v.slice(0, c) : v + ' '.repeat(c - v.length);
    },
    alignRight: (n, s) => {
      const c = num(n);
      const v = str(s);
      return v.length >= c ? v.slice(v.length - c) : ' '.repeat(c - v.length) + v;
    },
  };
}
