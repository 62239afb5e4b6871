/** Label matchers, with Prometheus' fully anchored RE2 regular-expression semantics. */
import { compileRegex, type CompiledRegex } from './regex.js';

export type MatchType = '=' | '!=' | '=~' | '!~';

export class Matcher {
  private readonly re: CompiledRegex | undefined;

  constructor(
    readonly type: MatchType,
    readonly name: string,
    readonly value: string,
  ) {
    if (type === '=~' || type === '!~') this.re = compileRegex(value);
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

export function matchesAll(matchers: readonly Matcher[], get: (name: string) => string): boolean {
  for (const m of matchers) if (!m.matches(get(m.name))) return false;
  return true;
}
