/**
 * The value syntaxes LogQL reads from labels and queries: Go durations (`1h2m3.5s`, `250ms`, plus
 * Prometheus' `d`, `w`, `y` for ranges) and humanized byte sizes (`20MB` = 20·1000², `1KiB` = 1024).
 */

const DURATION_UNIT_NS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  μs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
  d: 86400e9,
  w: 7 * 86400e9,
  y: 365 * 86400e9,
};

/** Go's time.ParseDuration (with d/w/y added), in nanoseconds as a float; undefined when not a duration. */
export function parseDurationNs(s: string): number | undefined {
  let i = 0;
  let sign = 1;
  if (s[0] === '-' || s[0] === '+') {
    sign = s[0] === '-' ? -1 : 1;
    i++;
  }
  if (s.slice(i) === '0') return 0;
  if (i >= s.length) return undefined;
  let total = 0;
  while (i < s.length) {
    const numStart = i;
    while (i < s.length && ((s[i] >= '0' && s[i] <= '9') || s[i] === '.')) i++;
    const num = s.slice(numStart, i);
    if (num === '' || num === '.' || num.split('.').length > 2) return undefined;
    const unitStart = i;
    while (i < s.length && !(s[i] >= '0' && s[i] <= '9') && s[i] !== '.') i++;
    const mult = DURATION_UNIT_NS[s.slice(unitStart, i)];
    if (mult === undefined) return undefined;
    total += Number(num) * mult;
  }
  return sign * total;
}

/** A range or offset literal (`5m`, `1h30m`) as integer nanoseconds. */
export function parseRangeNs(s: string): bigint | undefined {
  const ns = parseDurationNs(s);
  return ns === undefined || ns < 0 ? undefined : BigInt(Math.round(ns));
}

const BYTE_UNITS: Record<string, number> = {
  b: 1,
  '': 1,
  kb: 1e3,
  k: 1e3,
  mb: 1e6,
  m: 1e6,
  gb: 1e9,
  g: 1e9,
  tb: 1e12,
  t: 1e12,
  pb: 1e15,
  p: 1e15,
  eb: 1e18,
  e: 1e18,
  kib: 1024,
  ki: 1024,
  mib: 1024 ** 2,
  mi: 1024 ** 2,
  gib: 1024 ** 3,
  gi: 1024 ** 3,
  tib: 1024 ** 4,
  ti: 1024 ** 4,
  pib: 1024 ** 5,
  pi: 1024 ** 5,
  eib: 1024 ** 6,
  ei: 1024 ** 6,
};

/** go-humanize's ParseBytes: a number, optional space, a SI or IEC unit (case-insensitive); undefined otherwise. */
export function parseBytes(s: string): number | undefined {
  let i = 0;
  while (i < s.length && ((s[i] >= '0' && s[i] <= '9') || s[i] === '.')) i++;
  const num = s.slice(0, i);
  if (num === '' || num === '.' || num.split('.').length > 2) return undefined;
  const unit = BYTE_UNITS[s.slice(i).trim().toLowerCase()];
  return unit === undefined ? undefined : Number(num) * unit;
}

/** True when the text reads as a byte size with an explicit unit (so `| size > 20MB` is a bytes filter). */
export function isBytesLiteral(s: string): boolean {
  const u = s.replace(/^[0-9.]+/, '').toLowerCase();
  return u !== '' && u in BYTE_UNITS && parseBytes(s) !== undefined;
}

/** Go's strconv.ParseFloat on a label value: decimal, exponent, hex-free; "" and junk are undefined. */
export function parseGoFloat(s: string): number | undefined {
  const t = s.trim();
  if (t !== s || t === '') return undefined;
  if (/^[+-]?(inf|infinity)$/i.test(t)) return t.startsWith('-') ? -Infinity : Infinity;
  if (/^nan$/i.test(t)) return NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return undefined;
  return Number(t);
}

/** The shortest text of a float that reads back the same, as Go's strconv.FormatFloat(v, 'f', -1, 64) for ordinary magnitudes. */
export function formatSampleValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  const s = String(v);
  if (!s.includes('e')) return s;
  // Go's 'f' format never uses an exponent: expand JavaScript's.
  return v.toLocaleString('en-US', { useGrouping: false, maximumFractionDigits: 20, maximumSignificantDigits: 17 });
}
