/** Label matchers, with Prometheus' fully anchored regular-expression semantics. */
export type MatchType = '=' | '!=' | '=~' | '!~';

export class Matcher {
  private readonly re: RegExp | undefined;

  constructor(
    readonly type: MatchType,
    readonly name: string,
    readonly value: string,
  ) {
    if (type === '=~' || type === '!~') this.re = compileAnchored(value);
  }

  matches(v: string): boolean {
    switch (this.type) {
      case '=':
        return v === this.value;
      case '!=':
        return v !== this.value;
      case '=~':
        return this.re!.test(v);
      case '!~':
        return !this.re!.test(v);
    }
  }

  /** True when the matcher matches the empty string, i.e. also series lacking the label. */
  matchesEmpty(): boolean {
    return this.matches('');
  }

  toString(): string {
    return `${this.name}${this.type}${JSON.stringify(this.value)}`;
  }
}

/**
 * Prometheus regexes are RE2, anchored at both ends. JavaScript's engine differs in a few
 * places; we translate the common RE2-only syntax and let `s` mode make `.` match newlines
 * as RE2 does with (?s) which Prometheus sets.
 */
export function compileAnchored(re: string): RegExp {
  let src = re;
  // RE2 inline flags such as (?i) at the start map to JS flags.
  let flags = 'su';
  const m = /^\(\?([imsU]+)\)/.exec(src);
  if (m) {
    if (m[1].includes('i')) flags += 'i';
    src = src.slice(m[0].length);
  }
  // RE2 named groups (?P<name>...) are (?<name>...) in JS.
  src = src.replace(/\(\?P</g, '(?<');
  try {
    return new RegExp(`^(?:${src})$`, flags);
  } catch {
    // Unicode mode rejects some escapes RE2 allows (e.g. "\-" outside classes); retry without it.
    return new RegExp(`^(?:${src})$`, flags.replace('u', ''));
  }
}

export function matchesAll(matchers: readonly Matcher[], get: (name: string) => string): boolean {
  for (const m of matchers) if (!m.matches(get(m.name))) return false;
  return true;
}
