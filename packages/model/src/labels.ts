/**
 * A label set: name/value pairs sorted by name, names unique. Stored as one flat array
 * [n0, v0, n1, v1, ...] so a series costs one array, not one object per label.
 * Instances are immutable; every "modifying" method returns a new Labels.
 */
export const METRIC_NAME = '__name__';

export class Labels {
  /** Flat, sorted [name, value, ...]. Never mutate. */
  readonly pairs: readonly string[];
  private keyCache: string | undefined;

  private constructor(pairs: readonly string[]) {
    this.pairs = pairs;
  }

  static readonly EMPTY = new Labels([]);

  /** Trusts the caller: pairs must already be sorted by name with unique names. */
  static fromSortedPairs(pairs: readonly string[]): Labels {
    return pairs.length === 0 ? Labels.EMPTY : new Labels(pairs);
  }

  /** Sorts by name; a later duplicate name overrides an earlier one. Empty values are dropped (Prometheus semantics). */
  static fromPairs(pairs: readonly string[]): Labels {
    const m = new Map<string, string>();
    for (let i = 0; i < pairs.length; i += 2) m.set(pairs[i], pairs[i + 1]);
    return Labels.fromMap(m);
  }

  static fromObject(obj: Record<string, string>): Labels {
    return Labels.fromMap(new Map(Object.entries(obj)));
  }

  static fromMap(m: ReadonlyMap<string, string>): Labels {
    const names = [...m.keys()].filter((n) => m.get(n) !== '').sort(compareStrings);
    const out: string[] = new Array(names.length * 2);
    for (let i = 0; i < names.length; i++) {
      out[2 * i] = names[i];
      out[2 * i + 1] = m.get(names[i])!;
    }
    return Labels.fromSortedPairs(out);
  }

  get size(): number {
    return this.pairs.length >> 1;
  }

  get(name: string): string {
    const p = this.pairs;
    for (let i = 0; i < p.length; i += 2) if (p[i] === name) return p[i + 1];
    return '';
  }

  has(name: string): boolean {
    const p = this.pairs;
    for (let i = 0; i < p.length; i += 2) if (p[i] === name) return true;
    return false;
  }

  metricName(): string {
    return this.get(METRIC_NAME);
  }

  /**
   * A string unique per label set, for maps and de-duplication. Length-prefixed rather than
   * joined by a separator: UTF-8 label values may contain any separator character.
   */
  key(): string {
    if (this.keyCache === undefined) {
      let k = '';
      for (const s of this.pairs) k += s.length + ':' + s;
      this.keyCache = k;
    }
    return this.keyCache;
  }

  equals(o: Labels): boolean {
    if (this === o) return true;
    const a = this.pairs;
    const b = o.pairs;
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  /** Labels with the given names removed. */
  without(...names: string[]): Labels {
    const drop = new Set(names);
    const out: string[] = [];
    const p = this.pairs;
    for (let i = 0; i < p.length; i += 2) if (!drop.has(p[i])) out.push(p[i], p[i + 1]);
    return out.length === p.length ? this : Labels.fromSortedPairs(out);
  }

  /** Labels restricted to the given names. */
  keep(...names: string[]): Labels {
    const want = new Set(names);
    const out: string[] = [];
    const p = this.pairs;
    for (let i = 0; i < p.length; i += 2) if (want.has(p[i])) out.push(p[i], p[i + 1]);
    return Labels.fromSortedPairs(out);
  }

  /** A copy with name set to value (value '' removes the label): one array copied, nothing sorted again. */
  with(name: string, value: string): Labels {
    const p = this.pairs;
    let i = 0;
    while (i < p.length && p[i] < name) i += 2;
    const found = i < p.length && p[i] === name;
    if (value === '' && !found) return this;
    const out = p.slice(0, i);
    if (value !== '') out.push(name, value);
    for (let j = found ? i + 2 : i; j < p.length; j++) out.push(p[j]);
    return Labels.fromSortedPairs(out);
  }

  toMap(): Map<string, string> {
    const m = new Map<string, string>();
    const p = this.pairs;
    for (let i = 0; i < p.length; i += 2) m.set(p[i], p[i + 1]);
    return m;
  }

  toObject(): Record<string, string> {
    const o: Record<string, string> = {};
    const p = this.pairs;
    for (let i = 0; i < p.length; i += 2) o[p[i]] = p[i + 1];
    return o;
  }

  forEach(fn: (name: string, value: string) => void): void {
    const p = this.pairs;
    for (let i = 0; i < p.length; i += 2) fn(p[i], p[i + 1]);
  }

  /**
   * Prometheus 3 text form: `up{job="x"}`; a metric name outside the legacy character set goes
   * quoted inside the braces: `{"my.metric", job="x"}`.
   */
  toString(): string {
    const p = this.pairs;
    let name = '';
    const parts: string[] = [];
    for (let i = 0; i < p.length; i += 2) {
      if (p[i] === METRIC_NAME) {
        if (isValidLegacyMetricName(p[i + 1])) name = p[i + 1];
        else parts.unshift(JSON.stringify(p[i + 1]));
      } else parts.push(`${formatLabelName(p[i])}=${JSON.stringify(p[i + 1])}`);
    }
    if (name !== '' && parts.length === 0) return name;
    return `${name}{${parts.join(', ')}}`;
  }

  static compare(a: Labels, b: Labels): number {
    const x = a.pairs;
    const y = b.pairs;
    const n = Math.min(x.length, y.length);
    for (let i = 0; i < n; i++) {
      if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
    }
    return x.length - y.length;
  }
}

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const LEGACY_METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LEGACY_LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function isValidLegacyMetricName(s: string): boolean {
  return LEGACY_METRIC_NAME.test(s);
}

export function isValidLegacyLabelName(s: string): boolean {
  return LEGACY_LABEL_NAME.test(s);
}

function formatLabelName(n: string): string {
  return isValidLegacyLabelName(n) ? n : JSON.stringify(n);
}

/** Builds label sets incrementally; cheaper than repeated Labels.with(). */
export class LabelsBuilder {
  private readonly m: Map<string, string>;
  constructor(base: Labels = Labels.EMPTY) {
    this.m = base.toMap();
  }
  set(name: string, value: string): this {
    if (value === '') this.m.delete(name);
    else this.m.set(name, value);
    return this;
  }
  del(...names: string[]): this {
    for (const n of names) this.m.delete(n);
    return this;
  }
  get(name: string): string {
    return this.m.get(name) ?? '';
  }
  labels(): Labels {
    return Labels.fromMap(this.m);
  }
}
