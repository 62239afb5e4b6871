/**
 * "What grew": per metric, the series created within a window and, per label, the distinct values
 * among those new series. The label with the most new values is the one exploding (a `user_id`
 * added to a metric shows up as many new values on one label; a rollout as a few on `instance`).
 *
 * Counts are sketches so that a querier can merge receivers: a series created on its RF replicas
 * is one series, a value seen on several receivers one value. Wire form (little endian):
 * "SCG1", f64 window ms, u32 metrics, per metric: str name, f64 created here (replicas counted),
 * series sketch, u32 labels, per label: str name, values sketch.
 */
import { DistinctSketch, StrataError } from '@strata/model';
import { parseDurationParam } from './params.js';

export interface MetricGrowth {
  /** Series created, as counted by the receivers (a series counts once per replica). */
  createdLocal: number;
  series: DistinctSketch;
  /** Label name -> distinct values among the new series. */
  labels: Map<string, DistinctSketch>;
}

export interface GrowthSketches {
  windowMs: number;
  metrics: Map<string, MetricGrowth>;
}

export const GROWTH_MAX_WINDOW_MS = 3_600_000;
export const GROWTH_DEFAULT_LIMIT = 10;

/** `window` (default 1h, 1m..1h) and `limit` (default 10, 1..500) of a growth request. */
export function growthParams(params: URLSearchParams): { windowMs: number; limit: number } {
  const w = params.get('window') ?? '1h';
  const windowMs = parseDurationParam(w, 'window');
  if (windowMs < 60_000 || windowMs > GROWTH_MAX_WINDOW_MS)
    throw new StrataError('bad-query', `'window' must be between 1m and 1h, got '${w}'`);
  const l = params.get('limit') ?? String(GROWTH_DEFAULT_LIMIT);
  const limit = Number(l);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new StrataError('bad-query', `invalid 'limit' param '${l}'`);
  return { windowMs, limit };
}

export function mergeGrowthInto(a: GrowthSketches, b: GrowthSketches): void {
  for (const [name, g] of b.metrics) {
    const have = a.metrics.get(name);
    if (!have) {
      a.metrics.set(name, g);
      continue;
    }
    have.createdLocal += g.createdLocal;
    have.series.merge(g.series);
    for (const [label, sk] of g.labels) {
      const l = have.labels.get(label);
      if (l) l.merge(sk);
      else have.labels.set(label, sk);
    }
  }
}

export interface GrowthAnswer {
  window_seconds: number;
  metrics: {
    metric: string;
    series_created: number;
    series_created_per_minute: number;
    /** The label with the most new values, or null for a metric with no label besides its name. */
    fastest_growing_label: string | null;
    labels: { label_name: string; new_values: number }[];
  }[];
}

/** The JSON answer: metrics by series created, each with its labels by new values (top `limit` of each). */
export function growthAnswer(g: GrowthSketches, limit: number): GrowthAnswer {
  const minutes = g.windowMs / 60_000;
  const metrics = [...g.metrics]
    .map(([metric, m]) => {
      const labels = [...m.labels]
        .filter(([name]) => name !== '__name__')
        .map(([label_name, sk]) => ({ label_name, new_values: sk.estimate() }))
        .sort((a, b) => b.new_values - a.new_values || (a.label_name < b.label_name ? -1 : 1));
      const created = m.series.estimate();
      return {
        metric,
        series_created: created,
        series_created_per_minute: Math.round((created / minutes) * 100) / 100,
        fastest_growing_label: labels[0]?.label_name ?? null,
        labels: labels.slice(0, limit),
      };
    })
    .filter((m) => m.series_created > 0)
    .sort((a, b) => b.series_created - a.series_created || (a.metric < b.metric ? -1 : 1))
    .slice(0, limit);
  return { window_seconds: g.windowMs / 1000, metrics };
}

const MAGIC = 'SCG1';

export function encodeGrowth(g: GrowthSketches): Uint8Array {
  const parts: Uint8Array[] = [];
  const num = (n: number, f64: boolean) => {
    const b = new Uint8Array(f64 ? 8 : 4);
    const v = new DataView(b.buffer);
    if (f64) v.setFloat64(0, n, true);
    else v.setUint32(0, n, true);
    parts.push(b);
  };
  const str = (s: string) => {
    const b = Buffer.from(s, 'utf8');
    num(b.length, false);
    parts.push(b);
  };
  const sketch = (s: DistinctSketch) => {
    const b = new Uint8Array(s.encodedSize());
    s.encodeTo(b, 0);
    parts.push(b);
  };
  str(MAGIC);
  num(g.windowMs, true);
  num(g.metrics.size, false);
  for (const [name, m] of g.metrics) {
    str(name);
    num(m.createdLocal, true);
    sketch(m.series);
    num(m.labels.size, false);
    for (const [label, sk] of m.labels) {
      str(label);
      sketch(sk);
    }
  }
  return Buffer.concat(parts);
}

export function decodeGrowth(buf: Uint8Array): GrowthSketches {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let pos = 0;
  const need = (n: number) => {
    if (pos + n > buf.length) throw new StrataError('store-unavailable', 'growth sketches: truncated');
  };
  const u32 = () => {
    need(4);
    pos += 4;
    return view.getUint32(pos - 4, true);
  };
  const f64 = () => {
    need(8);
    pos += 8;
    return view.getFloat64(pos - 8, true);
  };
  const str = () => {
    const n = u32();
    need(n);
    pos += n;
    return Buffer.from(buf.buffer, buf.byteOffset + pos - n, n).toString('utf8');
  };
  const sketch = () => {
    need(1);
    const { sketch: s, next } = DistinctSketch.decodeFrom(buf, pos);
    pos = next;
    return s;
  };
  if (str() !== MAGIC) throw new StrataError('store-unavailable', 'growth sketches: not a growth answer');
  const out: GrowthSketches = { windowMs: f64(), metrics: new Map() };
  for (let n = u32(); n > 0; n--) {
    const name = str();
    const createdLocal = f64();
    const series = sketch();
    const labels = new Map<string, DistinctSketch>();
    for (let k = u32(); k > 0; k--) labels.set(str(), sketch());
    out.metrics.set(name, { createdLocal, series, labels });
  }
  return out;
}
