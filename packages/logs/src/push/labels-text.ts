/**
 * The labels of a pushed stream in Loki's text form, `{app="api", env="prod"}`: a selector of
 * equality matchers only. Values are double-quoted with Go/JSON escapes or back-quoted raw.
 * Every malformed text is a StrataError naming what is wrong, never an untyped exception.
 */
import { Labels, StrataError } from '@strata/model';

const NAME_START = /[a-zA-Z_]/;
const NAME_PART = /[a-zA-Z0-9_]/;

function bad(text: string, at: number, what: string): StrataError {
  return new StrataError('invalid-log-labels', `stream labels ${JSON.stringify(truncate(text))}: ${what} at position ${at}`);
}

function truncate(s: string): string {
  return s.length > 200 ? s.slice(0, 200) + '…' : s;
}

/** Parses `{name="value", ...}` into sorted labels; duplicate names and an empty set are errors. */
export function parseLabelsText(text: string): Labels {
  let i = 0;
  const n = text.length;
  const skipSpace = () => {
    while (i < n && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  skipSpace();
  if (text[i] !== '{') throw bad(text, i, "expected '{'");
  i++;
  const pairs: string[] = [];
  skipSpace();
  if (text[i] === '}') i++;
  else {
    for (;;) {
      skipSpace();
      const start = i;
      if (i >= n || !NAME_START.test(text[i])) throw bad(text, i, 'expected a label name');
      while (i < n && NAME_PART.test(text[i])) i++;
      const name = text.slice(start, i);
      skipSpace();
      if (text[i] !== '=' || text[i + 1] === '~') throw bad(text, i, "expected '=' (stream labels take no other matcher)");
      i++;
      skipSpace();
      const [value, next] = readQuoted(text, i);
      i = next;
      pairs.push(name, value);
      skipSpace();
      if (text[i] === ',') {
        i++;
        skipSpace();
        // A trailing comma before the brace, as PromQL allows.
        if (text[i] === '}') {
          i++;
          break;
        }
        continue;
      }
      if (text[i] === '}') {
        i++;
        break;
      }
      throw bad(text, i, "expected ',' or '}'");
    }
  }
  skipSpace();
  if (i !== n) throw bad(text, i, 'unexpected text after the closing brace');
  return labelsFromPairs(pairs, text);
}

/** Sorted labels from name/value pairs as pushed; refuses duplicates and empty sets (Loki needs one label at least). */
export function labelsFromPairs(pairs: string[], what: string): Labels {
  const seen = new Set<string>();
  for (let j = 0; j < pairs.length; j += 2) {
    if (seen.has(pairs[j])) throw new StrataError('duplicate-label-names', `stream ${truncate(what)}: label ${pairs[j]} appears twice`);
    seen.add(pairs[j]);
  }
  // Empty values mean "no such label", as in Prometheus and Loki.
  const labels = Labels.fromPairs(pairs);
  if (labels.size === 0)
    throw new StrataError('invalid-log-labels', `stream ${truncate(what)}: at least one label pair is required per stream`);
  return labels;
}

function readQuoted(text: string, i: number): [string, number] {
  const q = text[i];
  if (q === '`') {
    const end = text.indexOf('`', i + 1);
    if (end < 0) throw bad(text, i, 'unterminated raw string');
    return [text.slice(i + 1, end), end + 1];
  }
  if (q !== '"') throw bad(text, i, 'expected a quoted label value');
  let out = '';
  let j = i + 1;
  let run = j;
  for (;;) {
    if (j >= text.length) throw bad(text, i, 'unterminated string');
    const c = text[j];
    if (c === '"') {
      out += text.slice(run, j);
      return [out, j + 1];
    }
    if (c !== '\\') {
      j++;
      continue;
    }
    out += text.slice(run, j);
    const e = text[j + 1];
    j += 2;
    switch (e) {
      case '"':
      case '\\':
      case '/':
      case "'":
        out += e;
        break;
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case 'r':
        out += '\r';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'u': {
        const hex = text.slice(j, j + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw bad(text, j, 'bad \\u escape');
        out += String.fromCharCode(parseInt(hex, 16));
        j += 4;
        break;
      }
      default:
        throw bad(text, j - 1, `unknown escape \\${e ?? ''}`);
    }
    run = j;
  }
}
