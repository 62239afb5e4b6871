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
 * Prometheus regexes are RE2, anchored at both ends, with `.` matching newlines. JavaScript lacks
 * RE2's scoped inline flags, so `(?i)` and `(?i:...)` are rewritten into explicit case classes,
 * and `(?P<name>` into `(?<name>`.
 */
export function compileAnchored(re: string): RegExp {
  const src = translateRE2(re);
  try {
    return new RegExp(`^(?:${src})$`, 'su');
  } catch {
    // Unicode mode rejects some escapes RE2 allows (e.g. "\-" outside classes); retry without it.
    return new RegExp(`^(?:${src})$`, 's');
  }
}

function caseClass(c: string): string {
  const lo = c.toLowerCase();
  const up = c.toUpperCase();
  return lo === up ? c : `[${lo}${up}]`;
}

export function translateRE2(re: string): string {
  if (!re.includes('(?')) return re;
  let out = '';
  // Case-insensitivity per open group; the innermost applies.
  const stack: boolean[] = [false];
  let i = 0;
  const ci = () => stack[stack.length - 1];
  while (i < re.length) {
    const c = re[i];
    if (c === '\\') {
      out += re.slice(i, i + 2);
      i += 2;
      continue;
    }
    if (c === '[') {
      // Copy the class; when case-insensitive add the other case of each letter.
      let j = i + 1;
      if (re[j] === '^') j++;
      if (re[j] === ']') j++;
      while (j < re.length && re[j] !== ']') j += re[j] === '\\' ? 2 : 1;
      const body = re.slice(i + 1, j);
      if (ci() && /[a-zA-Z]/.test(body)) {
        const neg = body.startsWith('^');
        const inner = neg ? body.slice(1) : body;
        out += `[${neg ? '^' : ''}${inner}${inner.toLowerCase() === inner ? inner.toUpperCase() : inner.toLowerCase()}]`;
      } else out += `[${body}]`;
      i = j + 1;
      continue;
    }
    if (c === '(') {
      const flagOnly = /^\(\?([imsU-]+)\)/.exec(re.slice(i));
      if (flagOnly) {
        // (?i) applies to the rest of the enclosing group.
        if (/i/.test(flagOnly[1].split('-')[0])) stack[stack.length - 1] = true;
        if (flagOnly[1].includes('-') && /i/.test(flagOnly[1].split('-')[1])) stack[stack.length - 1] = false;
        i += flagOnly[0].length;
        continue;
      }
      const scoped = /^\(\?([imsU-]+):/.exec(re.slice(i));
      if (scoped) {
        const [on, off = ''] = scoped[1].split('-');
        stack.push(on.includes('i') ? true : off.includes('i') ? false : ci());
        out += '(?:';
        i += scoped[0].length;
        continue;
      }
      if (re.startsWith('(?P<', i)) {
        out += '(?<';
        i += 4;
      } else {
        out += '(';
        i++;
      }
      stack.push(ci());
      continue;
    }
    if (c === ')') {
      if (stack.length > 1) stack.pop();
      out += ')';
      i++;
      continue;
    }
    out += ci() ? caseClass(c) : c;
    i++;
  }
  return out;
}

export function matchesAll(matchers: readonly Matcher[], get: (name: string) => string): boolean {
  for (const m of matchers) if (!m.matches(get(m.name))) return false;
  return true;
}
