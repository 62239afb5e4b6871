/**
 * Cardinality as mergeable sketches, so a querier can add up receivers without counting a
 * series once per replica.
 *
 * A receiver answers with one DistinctSketch of series keys for: all its (matching) head series,
 * each candidate metric, each candidate label pair and each label name; and one sketch of value
 * keys per label name. Candidates are the `top` largest by the receiver's own exact counts, plus
 * any the querier names explicitly: the querier asks once for everybody's top, then asks each
 * receiver for the candidates it did not return (see ClusterCardinality), so a key large across
 * the cluster but not in one receiver's top still gets every receiver's part.
 *
 * Wire form (little endian): "SCS1", f64 local series, chunks, min time, max time, the total
 * sketch; u32 count + names (str, f64 local series, f64 bytes, values sketch, series sketch);
 * u32 count + metrics (str, sketch); u32 count + pairs (str name, str value, sketch).
 * Strings are u32 length + UTF-8.
 */
import { DistinctSketch, hashKey, hashPairsKey, Matcher, pace, StrataError, type Labels } from '@strata/model';

export interface NameSketch {
  /** Distinct values of the label. */
  values: DistinctSketch;
  /** Distinct series carrying the label. */
  series: DistinctSketch;
  /** Series carrying it, summed over the receivers (replicas included): for ratios only. */
  localSeries: number;
  /** Prometheus' memoryInBytesByLabelName figure, summed over the receivers (replicas included). */
  bytes: number;
}

export interface CardinalitySketches {
  total: DistinctSketch;
  /** Head series summed over the receivers, replicas included. */
  localSeries: number;
  chunks: number;
  minTime: number;
  maxTime: number;
  names: Map<string, NameSketch>;
  metrics: Map<string, DistinctSketch>;
  /** Keyed by pairKey(name, value). */
  pairs: Map<string, { name: string; value: string; sketch: DistinctSketch }>;
}

export interface SketchRequest {
  matchers?: readonly Matcher[];
  /** Candidates per dimension by local count (per label name when pairNames is given). */
  top: number;
  /** Only pairs of these label names (Mimir's label_values); all names when absent. */
  pairNames?: readonly string[];
  /** Metrics and pairs wanted whatever their local rank. */
  metrics?: readonly string[];
  pairs?: readonly (readonly [string, string])[];
  /**
   * Only the sketches of `metrics` and `pairs`, from their own series (the querier's second
   * round): no totals, names or top lists, and no pass over every series.
   */
  keysOnly?: boolean;
}

/** What a receiver's head gives to build its sketches. */
export interface SketchSource {
  labelValueCounts(names: readonly string[] | undefined, matchers: readonly Matcher[] | undefined): Map<string, Map<string, number>>;
  seriesLabels(matchers: readonly Matcher[] | undefined): Promise<readonly Labels[]>;
  headStats(): { chunkCount: number; minTime: number; maxTime: number };
}

export function pairKey(name: string, value: string): string {
  return `${name}=${value}`;
}

export function emptySketches(): CardinalitySketches {
  return {
    total: new DistinctSketch(),
    localSeries: 0,
    chunks: 0,
    minTime: Infinity,
    maxTime: -Infinity,
    names: new Map(),
    metrics: new Map(),
    pairs: new Map(),
  };
}

function topKeys(counts: Map<string, number> | undefined, k: number): string[] {
  if (!counts || k <= 0) return [];
  return [...counts]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, k)
    .map((e) => e[0]);
}

/** A receiver's sketches for one request: exact counts pick the candidates, one pass over the series fills them. */
/** The sketches of the asked-for keys only, each from the series the index gives for it. */
async function keySketches(src: SketchSource, req: SketchRequest): Promise<CardinalitySketches> {
  const out = emptySketches();
  const base = req.matchers ?? [];
  const fill = async (sketch: DistinctSketch, name: string, value: string) => {
    const series = await src.seriesLabels([...base, new Matcher('=', name, value)]);
    for (let i = 0; i < series.length; i++) {
      if ((i & 255) === 0) {
        const y = pace();
        if (y) await y;
      }
      sketch.add(hashPairsKey(series[i].pairs));
    }
  };
  for (const m of req.metrics ?? []) {
    const sk = new DistinctSketch();
    await fill(sk, '__name__', m);
    out.metrics.set(m, sk);
  }
  for (const [name, value] of req.pairs ?? []) {
    const sk = new DistinctSketch();
    await fill(sk, name, value);
    out.pairs.set(pairKey(name, value), { name, value, sketch: sk });
  }
  return out;
}

export async function buildSketches(src: SketchSource, req: SketchRequest): Promise<CardinalitySketches> {
  if (req.keysOnly) return keySketches(src, req);
  const out = emptySketches();
  const matchers = req.matchers && req.matchers.length > 0 ? req.matchers : undefined;
  const counts = src.labelValueCounts(undefined, matchers);
  const wantMetric = new Set([...topKeys(counts.get('__name__'), req.top), ...(req.metrics ?? [])]);
  for (const m of wantMetric) out.metrics.set(m, new DistinctSketch());
  // Chosen pairs, looked up per series label by name then value.
  const wantPair = new Map<string, Map<string, DistinctSketch>>();
  const choose = (name: string, value: string) => {
    let byValue = wantPair.get(name);
    if (!byValue) wantPair.set(name, (byValue = new Map()));
    if (byValue.has(value)) return;
    const sketch = new DistinctSketch();
    byValue.set(value, sketch);
    out.pairs.set(pairKey(name, value), { name, value, sketch });
  };
  if (req.pairNames) {
    for (const name of req.pairNames) for (const v of topKeys(counts.get(name), req.top)) choose(name, v);
  } else {
    const all = new Map<string, number>();
    for (const [name, values] of counts) for (const [v, n] of values) all.set(pairKey(name, v), n);
    for (const key of topKeys(all, req.top)) {
      const at = key.indexOf('=');
      choose(key.slice(0, at), key.slice(at + 1));
    }
  }
  for (const [name, value] of req.pairs ?? []) choose(name, value);
  // Distinct values come from the index, once per value rather than once per series.
  for (const [name, values] of counts) {
    const ns: NameSketch = { values: new DistinctSketch(), series: new DistinctSketch(), localSeries: 0, bytes: 0 };
    const nameBytes = Buffer.byteLength(name);
    for (const [v, n] of values) {
      ns.values.add(hashKey(v));
      ns.localSeries += n;
      ns.bytes += (nameBytes + Buffer.byteLength(v)) * n;
    }
    out.names.set(name, ns);
  }
  const series = await src.seriesLabels(matchers);
  for (let s = 0; s < series.length; s++) {
    // A receiver's head may hold millions: acknowledgements must not wait for the whole pass.
    if ((s & 255) === 0) {
      const y = pace();
      if (y) await y;
    }
    const pairs = series[s].pairs;
    const key = hashPairsKey(pairs);
    out.total.add(key);
    for (let i = 0; i < pairs.length; i += 2) {
      out.names.get(pairs[i])?.series.add(key);
      if (pairs[i] === '__name__') out.metrics.get(pairs[i + 1])?.add(key);
      wantPair
        .get(pairs[i])
        ?.get(pairs[i + 1])
        ?.add(key);
    }
  }
  out.localSeries = series.length;
  const hs = src.headStats();
  out.chunks = hs.chunkCount;
  if (series.length > 0) {
    out.minTime = hs.minTime;
    out.maxTime = hs.maxTime;
  }
  return out;
}

/** Adds `b` into `a` (sketches merged, local figures summed). */
export function mergeSketchesInto(a: CardinalitySketches, b: CardinalitySketches): void {
  a.total.merge(b.total);
  a.localSeries += b.localSeries;
  a.chunks += b.chunks;
  a.minTime = Math.min(a.minTime, b.minTime);
  a.maxTime = Math.max(a.maxTime, b.maxTime);
  for (const [name, ns] of b.names) {
    const have = a.names.get(name);
    if (!have) a.names.set(name, ns);
    else {
      have.values.merge(ns.values);
      have.series.merge(ns.series);
      have.localSeries += ns.localSeries;
      have.bytes += ns.bytes;
    }
  }
  for (const [m, s] of b.metrics) {
    const have = a.metrics.get(m);
    if (have) have.merge(s);
    else a.metrics.set(m, s);
  }
  for (const [k, p] of b.pairs) {
    const have = a.pairs.get(k);
    if (have) have.sketch.merge(p.sketch);
    else a.pairs.set(k, p);
  }
}

class Writer {
  private buf = new Uint8Array(1024);
  private view = new DataView(this.buf.buffer);
  pos = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u32(n: number): void {
    this.ensure(4);
    this.view.setUint32(this.pos, n, true);
    this.pos += 4;
  }
  f64(n: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, n, true);
    this.pos += 8;
  }
  str(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u32(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  sketch(s: DistinctSketch): void {
    this.ensure(s.encodedSize());
    this.pos = s.encodeTo(this.buf, this.pos);
  }
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

const MAGIC = 'SCS1';

export function encodeSketches(s: CardinalitySketches): Uint8Array {
  const w = new Writer();
  w.str(MAGIC);
  w.f64(s.localSeries);
  w.f64(s.chunks);
  w.f64(s.minTime);
  w.f64(s.maxTime);
  w.sketch(s.total);
  w.u32(s.names.size);
  for (const [name, ns] of s.names) {
    w.str(name);
    w.f64(ns.localSeries);
    w.f64(ns.bytes);
    w.sketch(ns.values);
    w.sketch(ns.series);
  }
  w.u32(s.metrics.size);
  for (const [m, sk] of s.metrics) {
    w.str(m);
    w.sketch(sk);
  }
  w.u32(s.pairs.size);
  for (const p of s.pairs.values()) {
    w.str(p.name);
    w.str(p.value);
    w.sketch(p.sketch);
  }
  return w.bytes();
}

export function decodeSketches(buf: Uint8Array): CardinalitySketches {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let pos = 0;
  const need = (n: number) => {
    if (pos + n > buf.length) throw new StrataError('store-unavailable', 'cardinality sketches: truncated');
  };
  const u32 = () => {
    need(4);
    const n = view.getUint32(pos, true);
    pos += 4;
    return n;
  };
  const f64 = () => {
    need(8);
    const n = view.getFloat64(pos, true);
    pos += 8;
    return n;
  };
  const str = () => {
    const n = u32();
    need(n);
    const s = Buffer.from(buf.buffer, buf.byteOffset + pos, n).toString('utf8');
    pos += n;
    return s;
  };
  const sketch = () => {
    need(1);
    const { sketch: s, next } = DistinctSketch.decodeFrom(buf, pos);
    pos = next;
    return s;
  };
  if (str() !== MAGIC) throw new StrataError('store-unavailable', 'cardinality sketches: not a sketch answer');
  const out = emptySketches();
  out.localSeries = f64();
  out.chunks = f64();
  out.minTime = f64();
  out.maxTime = f64();
  out.total = sketch();
  for (let n = u32(); n > 0; n--) {
    const name = str();
    const localSeries = f64();
    const bytes = f64();
    out.names.set(name, { localSeries, bytes, values: sketch(), series: sketch() });
  }
  for (let n = u32(); n > 0; n--) out.metrics.set(str(), sketch());
  for (let n = u32(); n > 0; n--) {
    const name = str();
    const value = str();
    out.pairs.set(pairKey(name, value), { name, value, sketch: sketch() });
  }
  return out;
}
