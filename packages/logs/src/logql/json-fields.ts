/**
 * The json parser without parameters, for a query that reads only some labels (a metric query
 * grouping `by` a few): the line is checked against the whole JSON grammar in one pass, without
 * building its object, and only the labels the query reads get a value made. The outcome is the
 * full parser's (extract.ts) for those labels: the same values, the same __error__. Lines where
 * the object's key order or repeated keys could make JSON.parse's object differ from the text's
 * order (integer-like keys, which objects list first; a key given twice) go to the full parser.
 */
/** What a scan found: the line is an object, valid JSON but not an object, not JSON, or needs the full parser. */
export type JsonScan = 'object' | 'not-object' | 'invalid' | 'full';

/** Sanitized label names by key and prefix: a query's lines repeat the same few keys. */
const NAME_CACHE_MAX = 10_000;

const enum C {
  Quote = 34,
  Backslash = 92,
  Comma = 44,
  Colon = 58,
  OpenBrace = 123,
  CloseBrace = 125,
  OpenBracket = 91,
  CloseBracket = 93,
  Minus = 45,
  Plus = 43,
  Dot = 46,
  Zero = 48,
  Nine = 57,
}

class Bail extends Error {}
const INVALID = new Bail('invalid');
const FULL = new Bail('full');

/**
 * Scans one line; for each scalar member the full parser's flattening reaches (arrays are not
 * flattened, nulls give nothing), calls `scalar` with its flattened label name and a function
 * making the value's text as the full parser gives it (called only for the labels wanted).
 */
export class JsonFieldScanner {
  private s = '';
  private i = 0;
  private readonly names = new Map<string, string>();

  constructor(
    private readonly sanitize: (key: string) => string,
    private readonly scalar: (name: string, text: () => string) => void,
  ) {}

  scan(line: string): JsonScan {
    this.s = line;
    this.i = 0;
    try {
      this.ws();
      let kind: JsonScan;
      if (this.s.charCodeAt(this.i) === C.OpenBrace) {
        this.object('');
        kind = 'object';
      } else {
        this.value(undefined);
        kind = 'not-object';
      }
      this.ws();
      return this.i === this.s.length ? kind : 'invalid';
    } catch (e) {
      if (e === INVALID) return 'invalid';
      if (e === FULL) return 'full';
      throw e;
    }
  }

  private ws(): void {
    const s = this.s;
    let i = this.i;
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === 32 || c === 10 || c === 13 || c === 9) i++;
      else break;
    }
    this.i = i;
  }

  /** A value; `name` is its flattened label name, undefined inside arrays (nothing there is extracted). */
  private value(name: string | undefined): void {
    const c = this.s.charCodeAt(this.i);
    if (c === C.OpenBrace) return this.object(name);
    if (c === C.OpenBracket) return this.array();
    if (c === C.Quote) {
      const start = this.i;
      const escaped = this.string();
      if (name !== undefined) this.emit(name, () => this.stringText(start, escaped));
      return;
    }
    if (c === C.Minus || (c >= C.Zero && c <= C.Nine)) {
      const start = this.i;
      this.number();
      if (name !== undefined) this.emit(name, () => String(Number(this.s.slice(start, this.i))));
      return;
    }
    for (const lit of LITERALS) {
      if (this.s.startsWith(lit, this.i)) {
        this.i += lit.length;
        // null gives no label, as in the full parser.
        if (name !== undefined && lit !== 'null') this.emit(name, () => lit);
        return;
      }
    }
    throw INVALID;
  }

  private emit(name: string, text: () => string): void {
    if (name !== '') this.scalar(name, text);
  }

  /** An object; members are flattened under `prefix` ('' at the top), or not at all inside arrays. */
  private object(prefix: string | undefined): void {
    this.i++;
    this.ws();
    if (this.s.charCodeAt(this.i) === C.CloseBrace) {
      this.i++;
      return;
    }
    let keys: string[] | undefined;
    for (;;) {
      if (this.s.charCodeAt(this.i) !== C.Quote) throw INVALID;
      const start = this.i;
      const escaped = this.string();
      const key = this.stringText(start, escaped);
      if (isIntegerLike(key)) throw FULL;
      if (keys === undefined) keys = [key];
      else if (keys.includes(key)) throw FULL;
      else keys.push(key);
      this.ws();
      if (this.s.charCodeAt(this.i) !== C.Colon) throw INVALID;
      this.i++;
      this.ws();
      this.value(prefix === undefined ? undefined : this.nameOf(prefix, key));
      this.ws();
      const c = this.s.charCodeAt(this.i++);
      if (c === C.CloseBrace) return;
      if (c !== C.Comma) throw INVALID;
      this.ws();
    }
  }

  private nameOf(prefix: string, key: string): string {
    const k = prefix === '' ? key : prefix + '\u0000' + key;
    let n = this.names.get(k);
    if (n === undefined) {
      n = prefix === '' ? this.sanitize(key) : prefix + '_' + this.sanitize(key);
      if (this.names.size >= NAME_CACHE_MAX) this.names.clear();
      this.names.set(k, n);
    }
    return n;
  }

  private array(): void {
    this.i++;
    this.ws();
    if (this.s.charCodeAt(this.i) === C.CloseBracket) {
      this.i++;
      return;
    }
    for (;;) {
      this.value(undefined);
      this.ws();
      const c = this.s.charCodeAt(this.i++);
      if (c === C.CloseBracket) return;
      if (c !== C.Comma) throw INVALID;
      this.ws();
    }
  }

  /** Steps over a string starting at its quote; returns whether it holds escapes. */
  private string(): boolean {
    const s = this.s;
    let i = this.i + 1;
    let escaped = false;
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === C.Quote) break;
      // NaN past the end, and control characters, are not allowed in a JSON string.
      if (!(c >= 32)) throw INVALID;
      if (c === C.Backslash) {
        escaped = true;
        const e = s.charCodeAt(i + 1);
        if (e === 117) {
          for (let k = 2; k < 6; k++) if (!isHex(s.charCodeAt(i + k))) throw INVALID;
          i += 6;
          continue;
        }
        if (!(e === C.Quote || e === C.Backslash || e === 47 || e === 98 || e === 102 || e === 110 || e === 114 || e === 116))
          throw INVALID;
        i += 2;
        continue;
      }
      i++;
    }
    this.i = i + 1;
    return escaped;
  }

  private stringText(start: number, escaped: boolean): string {
    const raw = this.s.slice(start, this.i);
    return escaped ? (JSON.parse(raw) as string) : raw.slice(1, -1);
  }

  /** -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
  private number(): void {
    const s = this.s;
    let i = this.i;
    if (s.charCodeAt(i) === C.Minus) i++;
    const first = s.charCodeAt(i);
    if (first === C.Zero) i++;
    else if (first > C.Zero && first <= C.Nine) i = digits(s, i);
    else throw INVALID;
    if (s.charCodeAt(i) === C.Dot) {
      const from = i + 1;
      i = digits(s, from);
      if (i === from) throw INVALID;
    }
    const e = s.charCodeAt(i);
    if (e === 101 || e === 69) {
      i++;
      const sign = s.charCodeAt(i);
      if (sign === C.Plus || sign === C.Minus) i++;
      const from = i;
      i = digits(s, from);
      if (i === from) throw INVALID;
    }
    this.i = i;
  }
}

const LITERALS = ['true', 'false', 'null'] as const;

function digits(s: string, i: number): number {
  for (;;) {
    const c = s.charCodeAt(i);
    if (c >= C.Zero && c <= C.Nine) i++;
    else return i;
  }
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
}

/** Keys made only of digits: objects list integer keys first, whatever the text's order (all-digit keys are taken as such, to be safe). */
function isIntegerLike(key: string): boolean {
  if (key.length === 0) return false;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c < C.Zero || c > C.Nine) return false;
  }
  return true;
}
