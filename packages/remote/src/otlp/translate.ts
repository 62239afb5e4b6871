/**
 * OTLP metrics to a remote-write 1.0 WriteRequest, as Prometheus 3's OTLP endpoint translates
 * them, so that they take the same write path as remote-write (relabelling, limits, WAL):
 *
 * - gauges and non-monotonic cumulative sums become gauges; monotonic cumulative sums counters
 *   (`_total`); delta sums and histograms are refused (Prometheus does not convert them either);
 * - histograms become classic `_bucket{le}` / `_sum` / `_count` series, exponential histograms
 *   native histograms (prompb.Histogram), summaries `{quantile}` / `_sum` / `_count`;
 * - each data point's attributes become labels; `service.name` (with `service.namespace`) and
 *   `service.instance.id` become `job` and `instance`; the other resource attributes go to one
 *   `target_info` series per resource, and the promoted ones onto every series as well;
 * - exemplars are attached to the series they describe (a classic histogram's to its bucket).
 */
import { PbWriter } from '../pb-writer.js';
import {
  FLAG_NO_RECORDED_VALUE,
  MetricKind,
  TEMPORALITY_CUMULATIVE,
  type OtlpExemplar,
  type OtlpMetric,
  type OtlpPoint,
  type OtlpRequest,
} from './model.js';
import { formatFloat, labelName, metricName, type SuffixKind, type TranslationStrategy } from './names.js';

export interface TranslateOptions {
  strategy: TranslationStrategy;
  /** Resource attributes copied onto every series of their resource (as well as target_info). */
  promoteResourceAttributes: readonly string[];
  /** Whether exemplars are written into the request (off while the write path cannot store them). */
  exemplars: boolean;
}

export interface Translation {
  /** The remote-write 1.0 WriteRequest, uncompressed. */
  request: Buffer;
  /** Float samples and native histogram samples written into the request. */
  samples: number;
  histograms: number;
  /** OTLP data points that could not be translated, and why (one line per metric). */
  rejectedPoints: number;
  errors: string[];
}

/** Zero threshold of every translated exponential histogram, as in Prometheus' translator. */
const ZERO_THRESHOLD = 1e-128;
/** Prometheus' native histograms stop at schema 8; finer OTLP scales are merged down to it. */
const MAX_SCHEMA = 8;
const MIN_SCHEMA = -4;
/** The staleness marker's bits (value.StaleNaN), written for points flagged "no recorded value". */
const STALE_NAN_BYTES = new Uint8Array(new Uint32Array([0x00000002, 0x7ff00000]).buffer);

interface NativeHistogram {
  timestamp: number;
  schema: number;
  count: number;
  stale: boolean;
  sum: number;
  zeroCount: number;
  positiveSpans: number[];
  positiveDeltas: number[];
  negativeSpans: number[];
  negativeDeltas: number[];
}

/**
 * The labels a data point gives every series made from it (its attributes and its resource's
 * labels, sorted, without `__name__`): a classic histogram's buckets, `_sum` and `_count` share
 * one, so its key is joined and its labels encoded once per point, not once per series.
 */
class PointLabels {
  readonly key: string;
  /** Whether the pairs hold a name a series inserts (INSERTED): such labels take seriesOf's slow path. */
  readonly special: boolean;
  /** The series made from these labels, by their inserted pairs joined (`__name__\xffm_bucket\xffle\xff0.5`). */
  readonly series = new Map<string, Series>();
  /** The pairs' Label fields, encoded when first written; pair i ends at ends[i]. */
  private encoded: Buffer | undefined;
  private ends: Int32Array | undefined;

  constructor(readonly pairs: string[]) {
    this.key = pairs.join('\xff');
    let special = false;
    for (let i = 0; i < pairs.length; i += 2) if (INSERTED.has(pairs[i])) special = true;
    this.special = special;
  }

  /** The Label fields of pairs [from, to), written as they are. */
  write(w: PbWriter, from: number, to: number): void {
    if (from >= to) return;
    if (!this.encoded) {
      const e = new PbWriter(64 + this.key.length * 2);
      const ends = new Int32Array(this.pairs.length / 2);
      for (let i = 0; i < this.pairs.length; i += 2) {
        e.stringPair(1, this.pairs[i], this.pairs[i + 1]);
        ends[i / 2] = e.length;
      }
      this.encoded = e.finish();
      this.ends = ends;
    }
    const start = from === 0 ? 0 : this.ends![from - 1];
    w.rawRange(this.encoded, start, this.ends![to - 1]);
  }
}

/**
 * One output series: its labels (a point's, with the pairs a series inserts) and everything
 * written to it. Each label set has one split: `base` holds none of the INSERTED names, and
 * `inserted` (sorted by name) all of them, so equal label sets are always the same series.
 */
interface Series {
  base: PointLabels;
  inserted: string[];
  timestamps: number[];
  values: number[];
  /** Positions in values that are staleness markers; undefined while there are none. */
  stale: number[] | undefined;
  histograms: NativeHistogram[] | undefined;
  exemplars: OtlpExemplar[] | undefined;
}

export function translateOtlp(req: OtlpRequest, opts: TranslateOptions): Translation {
  const t = new Translator(opts);
  for (const res of req.resources)
    t.resource(
      res.attributes,
      res.scopes.flatMap((s) => s.metrics),
    );
  return t.finish();
}

const SERVICE_NAME = 'service.name';
const SERVICE_NAMESPACE = 'service.namespace';
const SERVICE_INSTANCE_ID = 'service.instance.id';

class Translator {
  /** Every series once, in the order first seen, found through their point labels. */
  private readonly series: Series[] = [];
  private readonly bases = new Map<string, PointLabels>();
  private readonly metadata = new Map<string, { type: number; help: string; unit: string }>();
  private samples = 0;
  private histograms = 0;
  private rejected = 0;
  private readonly errors: string[] = [];
  /** Labels every series of the current resource carries (job, instance, promoted attributes), sorted by name. */
  private resourceLabels: string[] = [];

  constructor(private readonly opts: TranslateOptions) {}

  resource(attrs: string[], metrics: OtlpMetric[]): void {
    const get = (k: string): string | undefined => {
      for (let i = attrs.length - 2; i >= 0; i -= 2) if (attrs[i] === k) return attrs[i + 1];
      return undefined;
    };
    const name = get(SERVICE_NAME);
    const ns = get(SERVICE_NAMESPACE);
    const instance = get(SERVICE_INSTANCE_ID);
    const own: string[] = [];
    if (name !== undefined) own.push('job', ns ? `${ns}/${name}` : name);
    if (instance !== undefined) own.push('instance', instance);
    const promoted: string[] = [];
    for (const key of this.opts.promoteResourceAttributes) {
      const v = get(key);
      if (v !== undefined) promoted.push(key, v);
    }
    // Promoted attributes first, so that job and instance win a collision, as in Prometheus.
    this.resourceLabels = sortedLastWins([...this.sanitized(promoted), ...own]);

    let latest = -Infinity;
    for (const m of metrics) {
      const before = this.rejected;
      this.metric(m);
      if (this.rejected === before) for (const p of m.points) if (p.timeMs > latest) latest = p.timeMs;
    }

    // target_info: the resource's other attributes, once, at the resource's latest sample.
    const info: string[] = [];
    for (let i = 0; i < attrs.length; i += 2) {
      const k = attrs[i];
      if (k !== SERVICE_NAME && k !== SERVICE_NAMESPACE && k !== SERVICE_INSTANCE_ID) info.push(k, attrs[i + 1]);
    }
    if (info.length > 0 && latest > -Infinity) {
      const s = this.seriesOf(this.baseOf(this.base(this.sanitized(info), sortedLastWins(own))), 'target_info', NO_EXTRA);
      this.pushSample(s, latest, 1, false);
      this.noteMetadata('target_info', 2, 'Target metadata', '');
    }
  }

  private metric(m: OtlpMetric): void {
    if (m.name === '') return this.reject(m, 'has no name');
    const cumulativeOnly = m.kind === MetricKind.Sum || m.kind === MetricKind.Histogram || m.kind === MetricKind.ExponentialHistogram;
    if (cumulativeOnly && m.temporality !== TEMPORALITY_CUMULATIVE) {
      const what = m.temporality === 1 ? 'delta' : 'unspecified';
      return this.reject(
        m,
        `has ${what} aggregation temporality; only cumulative sums and histograms are accepted (configure the exporter's temporality preference as cumulative)`,
      );
    }
    const counter = m.kind === MetricKind.Sum && m.monotonic;
    const gauge = m.kind === MetricKind.Gauge || (m.kind === MetricKind.Sum && !m.monotonic);
    const kind: SuffixKind = counter ? 'counter' : gauge ? 'gauge' : 'other';
    const name = metricName(m.name, m.unit, kind, this.opts.strategy);
    switch (m.kind) {
      case MetricKind.None:
        return this.reject(m, 'has no data (gauge, sum, histogram, exponential histogram or summary)');
      case MetricKind.Gauge:
      case MetricKind.Sum:
        this.noteMetadata(name, counter ? 1 : 2, m.description, m.unit);
        for (const p of m.points) {
          const s = this.pointSeries(p, name, NO_EXTRA);
          this.pushSample(s, p.timeMs, p.value, stale(p));
          if (this.opts.exemplars && p.exemplars.length > 0) (s.exemplars ??= []).push(...p.exemplars);
        }
        return;
      case MetricKind.Histogram:
        this.noteMetadata(name, 3, m.description, m.unit);
        for (const p of m.points) this.classicHistogram(name, p);
        return;
      case MetricKind.ExponentialHistogram:
        this.noteMetadata(name, 3, m.description, m.unit);
        for (const p of m.points) {
          if (p.scale < MIN_SCHEMA) {
            this.rejected++;
            this.errors.push(
              `exponential histogram ${JSON.stringify(m.name)}: scale ${p.scale} is below the lowest Prometheus supports (-4)`,
            );
            continue;
          }
          const s = this.pointSeries(p, name, NO_EXTRA);
          (s.histograms ??= []).push(nativeHistogram(p));
          this.histograms++;
          if (this.opts.exemplars && p.exemplars.length > 0) (s.exemplars ??= []).push(...p.exemplars);
        }
        return;
      case MetricKind.Summary:
        this.noteMetadata(name, 5, m.description, m.unit);
        for (const p of m.points) {
          const st = stale(p);
          for (let i = 0; i < p.quantiles.length; i += 2) {
            this.pushSample(this.pointSeries(p, name, ['quantile', formatFloat(p.quantiles[i])]), p.timeMs, p.quantiles[i + 1], st);
          }
          this.pushSample(this.pointSeries(p, name + '_sum', NO_EXTRA), p.timeMs, p.sum, st);
          this.pushSample(this.pointSeries(p, name + '_count', NO_EXTRA), p.timeMs, p.count, st);
        }
        return;
    }
  }

  private classicHistogram(name: string, p: OtlpPoint): void {
    const st = stale(p);
    if (p.hasSum) this.pushSample(this.pointSeries(p, name + '_sum', NO_EXTRA), p.timeMs, p.sum, st);
    this.pushSample(this.pointSeries(p, name + '_count', NO_EXTRA), p.timeMs, p.count, st);
    // Exemplars go to the first bucket whose bound holds them.
    const exemplars = this.opts.exemplars ? [...p.exemplars].sort((a, b) => a.value - b.value) : [];
    let e = 0;
    let cumulative = 0;
    for (let i = 0; i < p.bounds.length; i++) {
      cumulative += p.bucketCounts[i] ?? 0;
      const s = this.pointSeries(p, name + '_bucket', ['le', formatFloat(p.bounds[i])]);
      this.pushSample(s, p.timeMs, cumulative, st);
      while (e < exemplars.length && exemplars[e].value <= p.bounds[i]) (s.exemplars ??= []).push(exemplars[e++]);
    }
    const inf = this.pointSeries(p, name + '_bucket', LE_INF);
    this.pushSample(inf, p.timeMs, p.count, st);
    while (e < exemplars.length) (inf.exemplars ??= []).push(exemplars[e++]);
  }

  private reject(m: OtlpMetric, why: string): void {
    this.rejected += m.points.length;
    this.errors.push(`metric ${JSON.stringify(m.name)} ${why}`);
  }

  /**
   * The series of the point's attributes, then the resource's labels, then the name and the
   * extra pair. The labels of the last point asked for are kept: a histogram asks once per bucket.
   */
  private pointSeries(p: OtlpPoint, name: string, extra: string[]): Series {
    if (p !== this.lastPoint) {
      this.lastPoint = p;
      this.lastBase = this.baseOf(this.base(this.sanitized(p.attributes), this.resourceLabels));
    }
    return this.seriesOf(this.lastBase!, name, extra);
  }

  private lastPoint: OtlpPoint | undefined = undefined;
  /** The last point's attributes merged with the resource's labels, sorted (see base). */
  private lastBase: PointLabels | undefined = undefined;

  private baseOf(pairs: string[]): PointLabels {
    const key = pairs.join('\xff');
    let b = this.bases.get(key);
    if (!b) this.bases.set(key, (b = new PointLabels(pairs)));
    return b;
  }

  /**
   * Attribute pairs under their label names. Keys that escape to the same name are joined with
   * ';' in the order of their original keys, as Prometheus does. A point has a few attributes:
   * a collision is looked for in the pairs so far, with no map made per point.
   */
  private sanitized(attrs: string[]): string[] {
    const n = attrs.length;
    if (n === 0) return attrs;
    let sorted = true;
    for (let i = 2; i < n && sorted; i += 2) if (attrs[i] < attrs[i - 2]) sorted = false;
    const pairs: string[] = [];
    const add = (i: number) => {
      const k = labelName(attrs[i], this.opts.strategy);
      for (let j = 0; j < pairs.length; j += 2) {
        if (pairs[j] === k) {
          pairs[j + 1] = `${pairs[j + 1]};${attrs[i + 1]}`;
          return;
        }
      }
      pairs.push(k, attrs[i + 1]);
    };
    if (sorted) for (let i = 0; i < n; i += 2) add(i);
    else for (const i of byName(attrs)) add(i);
    return pairs;
  }

  /**
   * Point labels (distinct names) overridden by the resource's (sorted, distinct names), sorted
   * by name, empty names and values dropped: computed once per point, then a histogram's buckets
   * only insert their name and `le`. Promoted attributes do not replace a point's own
   * attribute; job and instance do.
   */
  private base(point: string[], resource: string[]): string[] {
    if (point.length > 2) {
      for (let i = 2; i < point.length; i += 2) {
        if (point[i] < point[i - 2]) {
          point = pairsIn(point, byName(point));
          break;
        }
      }
    }
    const out: string[] = [];
    const keep = (k: string, v: string) => {
      if (k !== '' && v !== '') out.push(k, v);
    };
    let i = 0;
    let j = 0;
    while (i < point.length && j < resource.length) {
      const a = point[i];
      const b = resource[j];
      if (a < b) {
        keep(a, point[i + 1]);
        i += 2;
      } else if (b < a) {
        keep(b, resource[j + 1]);
        j += 2;
      } else {
        keep(a, a === 'job' || a === 'instance' ? resource[j + 1] : point[i + 1]);
        i += 2;
        j += 2;
      }
    }
    for (; i < point.length; i += 2) keep(point[i], point[i + 1]);
    for (; j < resource.length; j += 2) keep(resource[j], resource[j + 1]);
    return out;
  }

  /**
   * The series of these labels with `__name__` and the extra pair set. When a point's own labels
   * hold either name (an attribute escaped to `le`, say), it is replaced, as a map would: the
   * series is then found under the labels without them, so equal label sets are one series.
   */
  private seriesOf(base: PointLabels, name: string, extra: string[]): Series {
    let inserted: string[];
    if (base.special) {
      // The point's own labels hold `__name__`, `le` or `quantile` (attributes escaped to them):
      // the name and the extra pair replace theirs, as a map would; the rest is the base.
      const all = withPairs(base.pairs, name, extra);
      const rest: string[] = [];
      inserted = [];
      for (let i = 0; i < all.length; i += 2) (INSERTED.has(all[i]) ? inserted : rest).push(all[i], all[i + 1]);
      base = this.baseOf(rest);
    } else if (extra.length === 0) inserted = ['__name__', name];
    else inserted = extra[0] < '__name__' ? [extra[0], extra[1], '__name__', name] : ['__name__', name, extra[0], extra[1]];
    const key = inserted.join('\xff');
    let s = base.series.get(key);
    if (!s) {
      s = { base, inserted, timestamps: [], values: [], stale: undefined, histograms: undefined, exemplars: undefined };
      base.series.set(key, s);
      this.series.push(s);
    }
    return s;
  }

  private pushSample(s: Series, t: number, v: number, isStale: boolean): void {
    if (isStale) (s.stale ??= []).push(s.values.length);
    s.timestamps.push(t);
    s.values.push(v);
    this.samples++;
  }

  private noteMetadata(family: string, type: number, help: string, unit: string): void {
    if (!this.metadata.has(family)) this.metadata.set(family, { type, help, unit });
  }

  finish(): Translation {
    const w = new PbWriter(4096);
    for (const s of this.series) w.message(1, () => writeSeries(w, s));
    for (const [family, m] of this.metadata) {
      w.message(3, () => {
        w.uint(1, m.type);
        w.string(2, family);
        w.string(4, m.help);
        w.string(5, m.unit);
      });
    }
    return { request: w.finish(), samples: this.samples, histograms: this.histograms, rejectedPoints: this.rejected, errors: this.errors };
  }
}

/**
 * Sorted label pairs with `__name__` and the extra pairs (at most one, sorted) set: they replace
 * a pair of the same name, and an empty value removes it, as a map would.
 */
function withPairs(base: string[], name: string, extra: string[]): string[] {
  const out: string[] = [];
  let ek = 0;
  const add: string[] =
    extra.length === 0
      ? ['__name__', name]
      : extra[0] < '__name__'
        ? [extra[0], extra[1], '__name__', name]
        : ['__name__', name, extra[0], extra[1]];
  if (extra.length > 2) throw new Error('withPairs: one extra pair at most');
  for (let i = 0; i < base.length; i += 2) {
    const k = base[i];
    while (ek < add.length && add[ek] <= k) {
      if (add[ek + 1] !== '') out.push(add[ek], add[ek + 1]);
      ek += 2;
    }
    if (add[0] === k || add[2] === k) continue;
    out.push(k, base[i + 1]);
  }
  for (; ek < add.length; ek += 2) if (add[ek + 1] !== '') out.push(add[ek], add[ek + 1]);
  return out;
}

/** Positions of pairs' names in name order (equal names in the order given: sort is stable). */
function byName(pairs: readonly string[]): number[] {
  const order: number[] = [];
  for (let i = 0; i < pairs.length; i += 2) order.push(i);
  return order.sort((a, b) => (pairs[a] < pairs[b] ? -1 : pairs[a] > pairs[b] ? 1 : 0));
}

function pairsIn(pairs: readonly string[], order: readonly number[]): string[] {
  const out: string[] = [];
  for (const i of order) out.push(pairs[i], pairs[i + 1]);
  return out;
}

/** Pairs sorted by name, a repeated name keeping its last value (as a map filled in order would). */
function sortedLastWins(pairs: readonly string[]): string[] {
  const out: string[] = [];
  for (const i of byName(pairs)) {
    if (out.length > 0 && out[out.length - 2] === pairs[i]) out[out.length - 1] = pairs[i + 1];
    else out.push(pairs[i], pairs[i + 1]);
  }
  return out;
}

const NO_EXTRA: string[] = [];
const LE_INF = ['le', '+Inf'];
/** The label names a series sets over its point's labels: its name, and the extra pair's. */
const INSERTED = new Set(['__name__', 'le', 'quantile']);

/**
 * A series' Label fields: its point's, encoded once per point, with the inserted pairs written
 * in their sorted places (both lists are sorted by name and share none).
 */
function writeSeriesLabels(w: PbWriter, s: Series): void {
  const pairs = s.base.pairs;
  const n = pairs.length / 2;
  let from = 0;
  for (let j = 0; j < s.inserted.length; j += 2) {
    const name = s.inserted[j];
    let at = from;
    while (at < n && pairs[2 * at] < name) at++;
    s.base.write(w, from, at);
    w.stringPair(1, name, s.inserted[j + 1]);
    from = at;
  }
  s.base.write(w, from, n);
}

function stale(p: OtlpPoint): boolean {
  return (p.flags & FLAG_NO_RECORDED_VALUE) !== 0;
}

/**
 *   message TimeSeries { repeated Label labels = 1; repeated Sample samples = 2;
 *                        repeated Exemplar exemplars = 3; repeated Histogram histograms = 4; }
 *   message Exemplar { repeated Label labels = 1; double value = 2; int64 timestamp = 3; }
 */
function writeSeries(w: PbWriter, s: Series): void {
  writeSeriesLabels(w, s);
  // Samples in time order (a request may carry several points of one series in any order).
  if (s.timestamps.length === 1 && s.stale === undefined) {
    // The common case, one point per series in an export: no ordering to do.
    w.message(2, () => {
      w.double(1, s.values[0]);
      w.int64(2, s.timestamps[0]);
    });
  } else {
    const order = s.timestamps.map((_, i) => i);
    if (!isSorted(s.timestamps)) order.sort((a, b) => s.timestamps[a] - s.timestamps[b]);
    const stale = new Set(s.stale ?? []);
    for (const i of order) {
      w.message(2, () => {
        if (stale.has(i)) w.doubleBytes(1, STALE_NAN_BYTES, 0);
        else w.double(1, s.values[i]);
        w.int64(2, s.timestamps[i]);
      });
    }
  }
  for (const e of s.exemplars ?? []) {
    w.message(3, () => {
      const l: string[] = [];
      for (let i = 0; i < e.attributes.length; i += 2)
        if (e.attributes[i] !== '' && e.attributes[i + 1] !== '') l.push(e.attributes[i], e.attributes[i + 1]);
      if (e.spanId !== '') l.push('span_id', e.spanId);
      if (e.traceId !== '') l.push('trace_id', e.traceId);
      writeLabels(w, sortPairs(l));
      w.double(2, e.value);
      w.int64(3, e.timeMs);
    });
  }
  if (s.histograms) for (const h of [...s.histograms].sort((a, b) => a.timestamp - b.timestamp)) w.message(4, () => writeHistogram(w, h));
}

function writeLabels(w: PbWriter, pairs: string[]): void {
  for (let i = 0; i < pairs.length; i += 2) w.stringPair(1, pairs[i], pairs[i + 1]);
}

function sortPairs(p: string[]): string[] {
  const idx: number[] = [];
  for (let i = 0; i < p.length; i += 2) idx.push(i);
  idx.sort((a, b) => (p[a] < p[b] ? -1 : p[a] > p[b] ? 1 : 0));
  const out: string[] = [];
  for (const i of idx) out.push(p[i], p[i + 1]);
  return out;
}

function isSorted(a: number[]): boolean {
  for (let i = 1; i < a.length; i++) if (a[i] < a[i - 1]) return false;
  return true;
}

/**
 *   message Histogram {
 *     oneof count { uint64 count_int = 1; double count_float = 2; }  double sum = 3;  sint32 schema = 4;
 *     double zero_threshold = 5;  oneof zero_count { uint64 zero_count_int = 6; double zero_count_float = 7; }
 *     repeated BucketSpan negative_spans = 8;  repeated sint64 negative_deltas = 9;
 *     repeated BucketSpan positive_spans = 11; repeated sint64 positive_deltas = 12;
 *     ResetHint reset_hint = 14;  int64 timestamp = 15;
 *   }
 *   message BucketSpan { sint32 offset = 1; uint32 length = 2; }
 */
function writeHistogram(w: PbWriter, h: NativeHistogram): void {
  if (h.stale) w.doubleBytes(2, STALE_NAN_BYTES, 0);
  else w.uint(1, h.count);
  if (h.stale) w.doubleBytes(3, STALE_NAN_BYTES, 0);
  else w.double(3, h.sum);
  if (h.schema !== 0) {
    w.rawVarint((4 << 3) | 0);
    w.rawVarint(zigzag(h.schema));
  }
  w.double(5, ZERO_THRESHOLD);
  w.uint(6, h.zeroCount);
  writeSpans(w, 8, h.negativeSpans);
  writeDeltas(w, 9, h.negativeDeltas);
  writeSpans(w, 11, h.positiveSpans);
  writeDeltas(w, 12, h.positiveDeltas);
  // reset_hint stays UNKNOWN (0): the translator cannot know about resets, as in Prometheus.
  w.int64(15, h.timestamp);
}

function writeSpans(w: PbWriter, field: number, spans: number[]): void {
  for (let i = 0; i < spans.length; i += 2) {
    w.message(field, () => {
      if (spans[i] !== 0) {
        w.rawVarint((1 << 3) | 0);
        w.rawVarint(zigzag(spans[i]));
      }
      w.uint(2, spans[i + 1]);
    });
  }
}

function writeDeltas(w: PbWriter, field: number, deltas: number[]): void {
  if (deltas.length === 0) return;
  w.message(field, () => {
    for (const d of deltas) w.rawVarint(zigzag(d));
  });
}

function zigzag(v: number): number {
  return v >= 0 ? v * 2 : -v * 2 - 1;
}

/** An exponential histogram point as a native histogram sample (OTLP's index i is Prometheus' i + 1). */
export function nativeHistogram(p: OtlpPoint): NativeHistogram {
  const scaleDown = p.scale > MAX_SCHEMA ? p.scale - MAX_SCHEMA : 0;
  const h: NativeHistogram = {
    timestamp: p.timeMs,
    schema: p.scale - scaleDown,
    count: p.count,
    stale: stale(p),
    sum: p.hasSum ? p.sum : 0,
    zeroCount: p.zeroCount,
    positiveSpans: [],
    positiveDeltas: [],
    negativeSpans: [],
    negativeDeltas: [],
  };
  bucketLayout(p.positiveOffset, p.positive, scaleDown, h.positiveSpans, h.positiveDeltas);
  bucketLayout(p.negativeOffset, p.negative, scaleDown, h.negativeSpans, h.negativeDeltas);
  return h;
}

/**
 * OTLP bucket counts to Prometheus spans and deltas. Bucket i of OTLP covers (base^i, base^(i+1)],
 * Prometheus' bucket i covers (base^(i-1), base^i]; reducing the scale by n merges 2^n neighbours.
 * Empty buckets are left out, except gaps of one or two, which cost less as zeros than as a new
 * span (the rule Prometheus' client libraries follow).
 */
export function bucketLayout(offset: number, counts: readonly number[], scaleDown: number, spans: number[], deltas: number[]): void {
  let idx = 0;
  let acc = 0;
  let have = false;
  let last = 0;
  let prev = 0;
  const emit = (i: number, c: number) => {
    if (c === 0) return;
    if (spans.length === 0) spans.push(i, 0);
    else {
      const gap = i - last - 1;
      if (gap > 2) spans.push(gap, 0);
      else
        for (let g = 0; g < gap; g++) {
          spans[spans.length - 1]++;
          deltas.push(0 - prev);
          prev = 0;
        }
    }
    spans[spans.length - 1]++;
    deltas.push(c - prev);
    prev = c;
    last = i;
  };
  for (let k = 0; k < counts.length; k++) {
    const i = Math.floor((offset + k) / 2 ** scaleDown) + 1;
    if (have && i !== idx) {
      emit(idx, acc);
      acc = 0;
    }
    idx = i;
    have = true;
    acc += counts[k];
  }
  if (have) emit(idx, acc);
}
