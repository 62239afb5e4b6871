/**
 * LogQL's `ip("...")` filter, as Loki's `pkg/logql/log/ip.go` defines it: the pattern is one address,
 * a CIDR prefix or an inclusive `from-to` range (tried in that order, IPv4 or IPv6, no spaces), and a
 * line matches when any address found in it falls inside. Addresses are parsed as Go's `netip`
 * parses them (no leading zeros in IPv4 octets, one `::`, an IPv4 tail in IPv6), and an IPv4
 * address never matches an IPv6 pattern nor the reverse, IPv4-mapped ones included.
 */

/** An address as its bit length (32 or 128) and value. */
interface Addr {
  readonly bits: 32 | 128;
  readonly value: bigint;
  readonly zone: string;
}

export type IpMatcher = (addr: Addr) => boolean;

export class IpPatternError extends Error {}

/** Go's netip.ParseAddr: undefined for anything it refuses. */
export function parseAddr(s: string): Addr | undefined {
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '.') return parseIPv4(s);
    if (c === ':') return parseIPv6(s);
    if (c === '%') return undefined;
  }
  return undefined;
}

function parseIPv4(s: string): Addr | undefined {
  const v = ipv4Value(s);
  return v === undefined ? undefined : { bits: 32, value: BigInt(v), zone: '' };
}

function ipv4Value(s: string): number | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0;
  for (const p of parts) {
    // Go refuses empty fields, non-digits, leading zeros ("01") and values above 255.
    if (p.length === 0 || p.length > 3 || !/^[0-9]+$/.test(p) || (p.length > 1 && p[0] === '0')) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = v * 256 + n;
  }
  return v;
}

function parseIPv6(s: string): Addr | undefined {
  let zone = '';
  const pct = s.indexOf('%');
  if (pct >= 0) {
    zone = s.slice(pct + 1);
    s = s.slice(0, pct);
    if (zone === '') return undefined;
  }
  const groups: number[] = [];
  let ellipsis = -1;
  let i = 0;
  if (s.startsWith('::')) {
    ellipsis = 0;
    i = 2;
    if (i === s.length) return { bits: 128, value: 0n, zone };
  }
  while (i < s.length) {
    let j = i;
    while (j < s.length && j - i < 5 && /[0-9a-fA-F]/.test(s[j])) j++;
    if (j === i || j - i > 4) return undefined;
    if (j < s.length && s[j] === '.') {
      // An IPv4 tail: only where the last 32 bits are (after an ellipsis, or as groups 7 and 8).
      if (ellipsis < 0 && groups.length !== 6) return undefined;
      if (groups.length + 2 > 8) return undefined;
      const v4 = ipv4Value(s.slice(i));
      if (v4 === undefined) return undefined;
      groups.push(Math.floor(v4 / 65536), v4 % 65536);
      break;
    }
    groups.push(parseInt(s.slice(i, j), 16));
    i = j;
    if (i === s.length) break;
    if (s[i] !== ':' || groups.length === 8) return undefined;
    i++;
    if (s[i] === ':') {
      if (ellipsis >= 0) return undefined;
      ellipsis = groups.length;
      i++;
      if (i === s.length) break;
    } else if (i === s.length) return undefined;
  }
  if (groups.length < 8) {
    if (ellipsis < 0) return undefined;
    groups.splice(ellipsis, 0, ...new Array<number>(8 - groups.length).fill(0));
  } else if (ellipsis >= 0) return undefined; // `::` must stand for at least one group of zeros
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(g);
  return { bits: 128, value, zone };
}

/** Go's netip.ParsePrefix: an address without zone, `/`, decimal bits without sign or leading zeros. */
function parsePrefix(s: string): { addr: Addr; len: number } | undefined {
  const slash = s.lastIndexOf('/');
  if (slash < 0) return undefined;
  const addr = parseAddr(s.slice(0, slash));
  if (!addr || addr.zone !== '') return undefined;
  const b = s.slice(slash + 1);
  if (!/^(0|[1-9][0-9]*)$/.test(b)) return undefined;
  const len = Number(b);
  if (len > addr.bits) return undefined;
  return { addr, len };
}

/** go4.org/netipx.ParseIPRange: `from-to` split at the first `-`, one family, from ≤ to; zones dropped. */
function parseRange(s: string): { from: Addr; to: Addr } | undefined {
  const h = s.indexOf('-');
  if (h < 0) return undefined;
  const from = parseAddr(s.slice(0, h));
  const to = parseAddr(s.slice(h + 1));
  if (!from || !to || from.bits !== to.bits || to.value < from.value) return undefined;
  return { from, to };
}

/** The matcher for an `ip("...")` pattern; throws Loki's `ip: invalid pattern: "..."` for anything else. */
export function ipMatcher(pattern: string): IpMatcher {
  const single = parseAddr(pattern);
  if (single) return (a) => a.bits === single.bits && a.value === single.value && a.zone === single.zone;
  const prefix = parsePrefix(pattern);
  if (prefix) {
    const shift = BigInt(prefix.addr.bits - prefix.len);
    const net = prefix.addr.value >> shift;
    return (a) => a.bits === prefix.addr.bits && a.zone === '' && a.value >> shift === net;
  }
  const range = parseRange(pattern);
  if (range) return (a) => a.bits === range.from.bits && a.value >= range.from.value && a.value <= range.to.value;
  throw new IpPatternError(`ip: invalid pattern: ${JSON.stringify(pattern)}`);
}

const V4_CHARS = charset('0123456789.');
const V6_CHARS = charset('0123456789abcdefABCDEF:.');

function charset(s: string): Uint8Array {
  const t = new Uint8Array(128);
  for (let i = 0; i < s.length; i++) t[s.charCodeAt(i)] = 1;
  return t;
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isHex = (c: number): boolean => isDigit(c) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
const COLON = 58;
const DOT = 46;

function span(line: string, start: number, set: Uint8Array): number {
  let j = start;
  while (j < line.length) {
    const c = line.charCodeAt(j);
    if (c >= 128 || set[c] === 0) break;
    j++;
  }
  return j - start;
}

/**
 * Whether any address in `line` matches. Candidates are found as Loki finds them, without a regex:
 * a digit followed by a dot within 3 characters starts an IPv4 candidate, and the shapes `::h`,
 * `h:`, `hh:`, `hhh:`, `hhhh:` start an IPv6 one; the candidate is the longest run of the family's
 * characters, and after a candidate that does not match the scan resumes past it.
 */
export function lineHasIp(line: string, m: IpMatcher): boolean {
  const n = line.length;
  const at = (i: number): number => (i < n ? line.charCodeAt(i) : 0);
  for (let i = 0; i < n; i++) {
    const c0 = line.charCodeAt(i);
    let set: Uint8Array | undefined;
    if (i + 3 < n && isDigit(c0) && (at(i + 1) === DOT || at(i + 2) === DOT || at(i + 3) === DOT)) set = V4_CHARS;
    else if (
      (c0 === COLON && at(i + 1) === COLON && isHex(at(i + 2))) ||
      (isHex(c0) &&
        (at(i + 1) === COLON ||
          (isHex(at(i + 1)) &&
            (at(i + 2) === COLON || (isHex(at(i + 2)) && (at(i + 3) === COLON || (isHex(at(i + 3)) && at(i + 4) === COLON)))))))
    )
      set = V6_CHARS;
    if (!set) continue;
    const len = span(line, i, set);
    const addr = parseAddr(line.slice(i, i + len));
    if (addr && m(addr)) return true;
    i += len;
  }
  return false;
}
