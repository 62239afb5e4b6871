/**
 * User-supplied regular expressions (PromQL matchers, label_replace, remote-read matchers, later
 * relabelling and LogQL), with Prometheus' semantics: RE2 syntax, fully anchored, `.` matching
 * newlines (Prometheus compiles `^(?s:<re>)$`).
 *
 * Why RE2 and not JavaScript's RegExp: RegExp backtracks, so a pattern like `(a+)+` against a
 * value of 34 `a`s and a `!` runs for minutes, synchronously, on the thread that also
 * acknowledges writes; no timeout can interrupt it. RE2 matches in time linear in the value.
 *
 * Engine choice (measured with 100k label values, 4 typical patterns, Node 20 on this project's
 * 2-core machine): re2js (pure JavaScript, with a DFA) 250-600 ns a match, the native `re2`
 * binding 1.5-1.8 µs (crossing into C++ and converting every string costs more than the match),
 * re2-wasm 2.2-3.5 µs, backtracking RegExp 30-80 ns. So re2js, and the common shapes never reach
 * an engine at all: literals, alternations of literals, `.*`/`.+`, and literal prefixes,
 * suffixes and infixes around `.*` (Prometheus' FastRegexMatcher takes the same shortcuts).
 */
import { RE2JS } from 're2js';

/** A full match's capture groups: by number (0 is the whole value) or by name. */
export interface RegexGroups {
  group(ref: number | string): string | undefined;
}

export interface CompiledRegex {
  readonly source: string;
  /** True when the whole value matches. */
  test(v: string): boolean;
  /** The capture groups when the whole value matches, otherwise null. */
  exec(v: string): RegexGroups | null;
}

export class RegexSyntaxError extends Error {}

const cache = new Map<string, CompiledRegex>();
const CACHE_SIZE = 1024;

/** Compiles (or reuses) an anchored RE2 regex; throws RegexSyntaxError with RE2's message. */
export function compileRegex(source: string): CompiledRegex {
  let re = cache.get(source);
  if (re) {
    // Refresh its place so dashboards' regexes stay cached (least recently used leaves first).
    cache.delete(source);
    cache.set(source, re);
    return re;
  }
  re = new Regex(source);
  cache.set(source, re);
  if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value!);
  return re;
}

class Regex implements CompiledRegex {
  private engine: RE2JS | undefined;
  private readonly fast: ((v: string) => boolean) | undefined;

  constructor(readonly source: string) {
    // Always compiled once, so syntax errors surface even when a fast path would answer.
    try {
      this.engine = RE2JS.compile(source, RE2JS.DOTALL);
    } catch (e) {
      throw new RegexSyntaxError(`error parsing regexp: ${(e as Error).message}`);
    }
    this.fast = fastPath(source);
  }

  test(v: string): boolean {
    return this.fast ? this.fast(v) : this.engine!.matches(v);
  }

  exec(v: string): RegexGroups | null {
    const m = this.engine!.matcher(v);
    if (!m.matches()) return null;
    return {
      group(ref: number | string): string | undefined {
        try {
          return m.group(ref) ?? undefined;
        } catch {
          // An unknown group number or name expands to nothing, as in Go's Regexp.Expand.
          return undefined;
        }
      },
    };
  }
}

const ANY = (): boolean => true;
const NON_EMPTY = (v: string): boolean => v.length > 0;

/**
 * A matcher for the shapes that need no engine, or undefined. Exact by construction: each
 * shape's meaning under RE2 with `(?s)` is the plain string test used.
 */
export function fastPath(src: string): ((v: string) => boolean) | undefined {
  if (src === '.*') return ANY;
  if (src === '.+') return NON_EMPTY;
  const lit = literal(src);
  if (lit !== undefined) return (v) => v === lit;
  const alts = alternatives(src);
  if (alts) {
    const set = new Set(alts);
    return (v) => set.has(v);
  }
  const head = src.startsWith('.*') ? '.*' : src.startsWith('.+') ? '.+' : '';
  const tail = src.length >= head.length + 2 && (src.endsWith('.*') || src.endsWith('.+')) ? src.slice(-2) : '';
  const middle = literal(src.slice(head.length, src.length - tail.length));
  // An escaped final dot (`foo\.*`) is a quantified literal, not `.*`.
  if (middle === undefined || middle === '' || (tail !== '' && src[src.length - 3] === '\\')) return undefined;
  const needMore = (head === '.+' ? 1 : 0) + (tail === '.+' ? 1 : 0);
  // `.*x.*` is a substring test; the rarer `.+x.+` shapes go to the engine.
  if (head && tail) return needMore === 0 ? (v) => v.includes(middle) : undefined;
  if (head) return needMore ? (v) => v.length > middle.length && v.endsWith(middle) : (v) => v.endsWith(middle);
  if (tail) return needMore ? (v) => v.length > middle.length && v.startsWith(middle) : (v) => v.startsWith(middle);
  return undefined;
}

const META = new Set(['\\', '.', '+', '*', '?', '(', ')', '|', '[', ']', '{', '}', '^', '$']);

/** The string a regex matches when it is a plain literal (escaped punctuation allowed), or undefined. */
function literal(src: string): string | undefined {
  let out = '';
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') {
      const n = src[i + 1];
      // Only escaped ASCII punctuation is a literal; `\d`, `\pL`, `\x41`, `\Q` are not.
      if (n === undefined || !/[!-/:-@[-`{-~]/.test(n)) return undefined;
      out += n;
      i++;
    } else if (META.has(c)) return undefined;
    else out += c;
  }
  return out;
}

/** `a|b|c` (optionally in one group) with literal branches, or undefined. */
function alternatives(src: string): string[] | undefined {
  let body = src;
  if (body.startsWith('(?:') && body.endsWith(')')) body = body.slice(3, -1);
  else if (body.startsWith('(') && body.endsWith(')') && body[1] !== '?') body = body.slice(1, -1);
  if (!body.includes('|')) return undefined;
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i <= body.length; i++) {
    if (i < body.length && body[i] === '\\') {
      i++;
      continue;
    }
    if (i === body.length || body[i] === '|') {
      const l = literal(body.slice(start, i));
      if (l === undefined) return undefined;
      out.push(l);
      start = i + 1;
    }
  }
  return out;
}

/**
 * An unanchored RE2 regex with Go's default flags (`.` stops at newlines), for Go-style callers
 * such as Prometheus' template functions `match` and `reReplaceAll`. Linear time like every user
 * regex; throws RegexSyntaxError with RE2's message.
 */
export interface SearchRegex {
  /** True when the regex matches anywhere in the value (Go's MatchString). */
  test(v: string): boolean;
  /** Every non-overlapping match replaced by what `expand` makes of its groups (Go's ReplaceAllString). */
  replaceAll(v: string, expand: (groups: RegexGroups) => string): string;
  /** The groups of the leftmost match, or null when nothing matches (Go's FindStringSubmatch). */
  find(v: string): RegexGroups | null;
  /** The names of the regex's named groups, in order of their opening parenthesis. */
  readonly groupNames: readonly string[];
}

export function compileSearchRegex(source: string): SearchRegex {
  let engine: RE2JS;
  try {
    engine = RE2JS.compile(source);
  } catch (e) {
    throw new RegexSyntaxError(`error parsing regexp: ${(e as Error).message}`);
  }
  const groupsOf = (m: ReturnType<RE2JS['matcher']>): RegexGroups => ({
    group(ref) {
      try {
        return m.group(ref) ?? undefined;
      } catch {
        return undefined;
      }
    },
  });
  return {
    groupNames: Object.entries(engine.namedGroups())
      .sort((a, b) => a[1] - b[1])
      .map(([name]) => name),
    test: (v) => engine.matcher(v).find(),
    find(v) {
      const m = engine.matcher(v);
      return m.find() ? groupsOf(m) : null;
    },
    replaceAll(v, expand) {
      const m = engine.matcher(v);
      const groups: RegexGroups = {
        group(ref) {
          try {
            return m.group(ref) ?? undefined;
          } catch {
            return undefined;
          }
        },
      };
      let out = '';
      let last = 0;
      while (m.find()) {
        out += v.slice(last, m.start()) + expand(groups);
        last = m.end();
      }
      return out + v.slice(last);
    },
  };
}
