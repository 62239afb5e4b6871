/**
 * The in-memory head of one tenant: series registry, postings index and per-series chunks.
 * Appends are validated here (appendable) and applied after the WAL made them durable (apply).
 */
import {
  Labels,
  type CounterResetHint,
  emptyRawSizes,
  inQueryShards,
  pace,
  splitQueryShard,
  sortPaced,
  type Matcher,
  type Querier,
  type RawPacker,
  type RawPart,
  type RawSeries,
  type SelectHints,
  type Series,
} from '@strata/model';
import {
  AppendStatus,
  DEFAULT_BLOCK_DURATION_MS,
  DEFAULT_SAMPLES_PER_CHUNK,
  type HeadOptions,
  type HeadStats,
  type SeriesBudget,
  type TsdbStatus,
} from '../api.js';
import { MetricCardinality, type MetricLimitHit } from './metric-cardinality.js';
import { PostingsIndex } from './postings.js';
import { MemSeries } from './series.js';
import { HistogramSeriesData, withHistograms } from './histogram-series.js';
import type { HistogramSample } from '../chunkenc/histogram.js';
import { WireRefTable } from './wire-refs.js';
import { DEFAULT_MAX_EXEMPLARS, ExemplarStore, type Exemplar } from '../exemplars/store.js';

export interface HeadConfig extends HeadOptions {
  blockDurationMs?: number;
  /** Called after getOrCreate made a series (appends only; replay and snapshots use create). */
  onCreated?: (pairs: readonly string[]) => void;
  /** The exemplar store's size when exemplars are read back at start (the tenant's limit; absent = Prometheus' default). */
  maxExemplars?: number;
}

export class Head {
  private readonly byRef: (MemSeries | undefined)[] = [];
  /**
   * Label-set hash -> series (or the few series sharing a hash). Keyed by a number rather than a
   * string per series, which would cost more memory than the series' labels themselves.
   */
  private readonly byHash = new Map<number, MemSeries | MemSeries[]>();
  /** One copy of each label string, shared by all series that use it. */
  private readonly strings = new Map<string, string>();
  /**
   * Wire encoding of a label set -> series ref. Senders repeat the same bytes for a series on
   * every request, so known series skip string decoding, validation and key building. Bounded:
   * cleared when it outgrows the series count (several encodings of one series are possible).
   */
  private readonly wireRefs = new WireRefTable();
  readonly index = new PostingsIndex();
  /** The tenant's exemplars: no memory until a write sizes the store from the tenant's limit, or a load finds some. */
  readonly exemplars = new ExemplarStore(0);
  private nextRef = 1;
  private numSeriesLive = 0;
  /** Newest and oldest sample timestamps in the head. */
  maxT = -Infinity;
  minT = Infinity;
  readonly blockDurationMs: number;

  /** Series and label values per metric, kept while a per-metric limit is set. */
  private cardinality: MetricCardinality | undefined;
  /** The postings ids of one series' label pairs, for the per-metric counts. */
  private pairIds = new Int32Array(32);
  /** The process' series ceiling shared by all heads, once attached (after loading: a discarded load never counts). */
  private budget: SeriesBudget | undefined;
  /** Why getOrCreate last refused a series. */
  refusal: 'tenant' | 'receiver' | MetricLimitHit | undefined;

  constructor(private readonly opts: HeadConfig) {
    this.blockDurationMs = opts.blockDurationMs ?? DEFAULT_BLOCK_DURATION_MS;
    this.setMetricLimits(opts.maxSeriesPerMetric ?? 0, opts.maxLabelValuesPerMetric ?? 0);
  }

  /** An exemplar read back at start (WAL replay, snapshot): the first one sizes the store. */
  loadExemplar(seriesLabels: Labels, e: Exemplar): void {
    if (this.exemplars.capacity === 0) this.exemplars.resize(this.opts.maxExemplars ?? DEFAULT_MAX_EXEMPLARS);
    this.exemplars.add(seriesLabels, e);
  }

  /** Counts this head's series, from now on, against a process-wide ceiling. */
  attachBudget(b: SeriesBudget): void {
    if (this.budget) return;
    this.budget = b;
    b.live += this.numSeriesLive;
  }

  detachBudget(): void {
    if (this.budget) this.budget.live -= this.numSeriesLive;
    this.budget = undefined;
  }

  setMetricLimits(maxSeriesPerMetric: number, maxLabelValuesPerMetric: number): void {
    this.opts.maxSeriesPerMetric = maxSeriesPerMetric;
    this.opts.maxLabelValuesPerMetric = maxLabelValuesPerMetric;
    const want = maxSeriesPerMetric > 0 || maxLabelValuesPerMetric > 0;
    const values = maxLabelValuesPerMetric > 0;
    if (!want) this.cardinality = undefined;
    else if (!this.cardinality || this.cardinality.countValues !== values) {
      // Built from the series held now (a limit set by a reload applies to what is already there).
      const c = new MetricCardinality(values);
      for (const s of this.byRef) if (s) c.add(s.labels.pairs, this.idsOf(s.labels.pairs));
      this.cardinality = c;
    }
  }

  get numSeries(): number {
    return this.numSeriesLive;
  }

  setMaxSeries(n: number): void {
    this.opts.maxSeries = n;
  }

  /** The postings ids of these pairs (in a shared buffer, valid until the next call). */
  private idsOf(pairs: readonly string[]): Int32Array {
    if (this.pairIds.length < pairs.length >> 1) this.pairIds = new Int32Array(pairs.length);
    this.index.idsOf(pairs, this.pairIds);
    return this.pairIds;
  }

  private intern(x: string): string {
    const have = this.strings.get(x);
    if (have !== undefined) return have;
    this.strings.set(x, x);
    return x;
  }

  wireRef(hash: number, verify: (labels: Labels) => boolean): number | undefined {
    const ref = this.wireRefs.get(hash);
    if (ref === undefined) return undefined;
    const s = this.byRef[ref];
    return s && verify(s.labels) ? ref : undefined;
  }

  /** The series remembered (rememberWireRef with bytes) for exactly the wire bytes buf[start, end). */
  wireRefByBytes(hash: number, buf: Uint8Array, start: number, end: number): number | undefined {
    const ref = this.wireRefs.getBytes(hash, buf, start, end);
    return ref !== undefined && this.byRef[ref] ? ref : undefined;
  }

  /** Remembers a series for a wire hash; with bytes, keeps a copy of them to verify later lookups by. */
  rememberWireRef(key: number, ref: number, buf?: Uint8Array, start = 0, end = 0): void {
    const t = this.wireRefs;
    if (t.size > 2 * this.numSeriesLive + 10_000 || t.arenaGarbage > t.arenaUsed - t.arenaGarbage + (1 << 20)) t.clear();
    if (buf) t.setBytes(key, ref, buf, start, end);
    else t.set(key, ref);
  }

  get(ref: number): MemSeries | undefined {
    return this.byRef[ref];
  }

  getByLabels(labels: Labels, hash = hashLabels(labels.pairs)): MemSeries | undefined {
    const e = this.byHash.get(hash);
    if (e === undefined) return undefined;
    if (!Array.isArray(e)) return e.labels.equals(labels) ? e : undefined;
    return e.find((s) => s.labels.equals(labels));
  }

  /** The series for a label set; creates it unless the tenant's series limit is reached. */
  getOrCreate(labels: Labels): { series: MemSeries; created: boolean } | undefined {
    // One hash per call: creating a series is the hot path of high-churn workloads.
    const h = hashLabels(labels.pairs);
    const existing = this.getByLabels(labels, h);
    if (existing) return { series: existing, created: false };
    if (this.opts.maxSeries > 0 && this.numSeriesLive >= this.opts.maxSeries) {
      this.refusal = 'tenant';
      return undefined;
    }
    const hit = this.cardinality?.check(
      labels.pairs,
      this.idsOf(labels.pairs),
      this.opts.maxSeriesPerMetric ?? 0,
      this.opts.maxLabelValuesPerMetric ?? 0,
    );
    if (hit) {
      this.refusal = hit;
      return undefined;
    }
    const b = this.budget;
    if (b && b.max > 0 && b.live >= b.max) {
      this.refusal = 'receiver';
      return undefined;
    }
    const series = this.insert(this.nextRef, labels, h);
    this.opts.onCreated?.(series.labels.pairs);
    return { series, created: true };
  }

  /** Creates a series with a known ref (WAL replay, snapshot load). */
  create(ref: number, labels: Labels): MemSeries {
    const h = hashLabels(labels.pairs);
    return this.getByLabels(labels, h) ?? this.insert(ref, labels, h);
  }

  /** Adds a series known to be absent; `h` is the hash of its labels. */
  private insert(ref: number, labels: Labels, h: number): MemSeries {
    const pairs = labels.pairs.map((x) => this.intern(x));
    const s = new MemSeries(ref, Labels.fromSortedPairs(pairs));
    this.byRef[ref] = s;
    const e = this.byHash.get(h);
    if (e === undefined) this.byHash.set(h, s);
    else if (Array.isArray(e)) e.push(s);
    else this.byHash.set(h, [e, s]);
    if (this.cardinality) {
      if (this.pairIds.length < labels.pairs.length >> 1) this.pairIds = new Int32Array(labels.pairs.length);
      this.index.add(ref, labels.pairs, this.pairIds);
      this.cardinality.add(labels.pairs, this.pairIds);
    } else this.index.add(ref, labels.pairs);
    this.numSeriesLive++;
    if (this.budget) this.budget.live++;
    if (ref >= this.nextRef) this.nextRef = ref + 1;
    return s;
  }

  appendable(s: MemSeries, t: number, hi: number, lo: number): AppendStatus {
    const horizon = Math.max(this.blockDurationMs / 2, this.opts.outOfOrderWindowMs);
    const minValidT = this.maxT === -Infinity ? -Infinity : this.maxT - horizon;
    const oooMinT = this.opts.outOfOrderWindowMs > 0 && this.maxT !== -Infinity ? this.maxT - this.opts.outOfOrderWindowMs : Infinity;
    // A float where a histogram sample is would give the series two samples at one time.
    if (s.hist && t <= s.hist.maxT && s.hist.has(t)) return AppendStatus.DUPLICATE_DIFFERENT;
    return s.appendable(t, hi, lo, minValidT, oooMinT);
  }

  /**
   * Applies a sample that was accepted and made durable. Only an existing sample at the same
   * timestamp stops it (a concurrent commit got there first): the time horizon was checked when
   * the sample was accepted, and re-checking it here would drop acknowledged data once an
   * earlier sample of the same request moved the head forward.
   */
  applyLogged(s: MemSeries, t: number, hi: number, lo: number): boolean {
    if (s.has(t)) return false;
    this.apply(s, t, hi, lo);
    return true;
  }

  /** Whether a histogram sample could be appended: in order, within the head's horizon, at no float sample's time. */
  histogramAppendable(s: MemSeries, t: number, h: HistogramSample, float: boolean): AppendStatus {
    const horizon = Math.max(this.blockDurationMs / 2, this.opts.outOfOrderWindowMs);
    const minValidT = this.maxT === -Infinity ? -Infinity : this.maxT - horizon;
    const newest = s.hist ? s.hist.maxT : -Infinity;
    if (s.has(t)) return AppendStatus.DUPLICATE_DIFFERENT;
    if (t <= newest) {
      // A resent histogram (a retried request) is accepted as the float path accepts a resent sample.
      const same = s.hist!.sameAt(t, h, float);
      if (same === true) return AppendStatus.DUPLICATE_IDENTICAL;
      return same === false ? AppendStatus.DUPLICATE_DIFFERENT : AppendStatus.TOO_OLD;
    }
    if (t < minValidT) return AppendStatus.TOO_OLD;
    return AppendStatus.OK;
  }

  /** Applies a histogram sample that was accepted and made durable (see applyLogged). */
  applyHistogramLogged(s: MemSeries, t: number, h: HistogramSample, float: boolean, hint: number): boolean {
    if (s.hist && t <= s.hist.maxT) return false;
    if (!s.hist) s.hist = new HistogramSeriesData();
    // A histogram after floats ends their chunk, as in Prometheus: a block then holds the
    // series' float and histogram chunks one after the other, none overlapping.
    if (t > s.maxT) s.cutOpen();
    s.hist.append(t, h, float, hint as CounterResetHint, this.opts.samplesPerChunk ?? DEFAULT_SAMPLES_PER_CHUNK, this.blockDurationMs);
    if (t > this.maxT) this.maxT = t;
    if (t < this.minT) this.minT = t;
    if (t < this.lowestApplied) this.lowestApplied = t;
    return true;
  }

  apply(s: MemSeries, t: number, hi: number, lo: number): void {
    // A float after histograms ends their chunk, as a float sample ends a Prometheus histogram chunk.
    if (s.hist && t > s.hist.maxT) s.hist.cutOpen();
    s.append(t, hi, lo, this.opts.samplesPerChunk ?? DEFAULT_SAMPLES_PER_CHUNK, this.blockDurationMs);
    if (t > this.maxT) this.maxT = t;
    if (t < this.minT) this.minT = t;
    if (t < this.lowestApplied) this.lowestApplied = t;
  }

  /**
   * Lowest timestamp applied since markApplied(). A compaction marks before it copies a range
   * out and checks after writing the block: samples acknowledged meanwhile below the range's end
   * (staged before the head moved on, or out of order) must survive the truncation.
   */
  private lowestApplied = Infinity;

  /**
   * Reads in progress, by the truncation count when they began. Reads yield to the event loop
   * between series (pace()), so a compaction could otherwise truncate a range that a read has
   * not reached yet, after that read chose not to look at the block holding the range.
   */
  private readonly reads = new Map<number, number>();
  private nextRead = 0;

  /** Marks a read as in progress until the returned function is called. */
  beginRead(): () => void {
    const id = this.nextRead++;
    this.reads.set(id, id);
    return () => this.reads.delete(id);
  }

  /** Resolves once every read begun before this call has ended (Prometheus waits likewise). */
  async readsBegunBefore(): Promise<void> {
    const before = this.nextRead;
    const pending = () => {
      for (const id of this.reads.keys()) if (id < before) return true;
      return false;
    };
    while (pending()) await new Promise((r) => setTimeout(r, 5));
  }

  markApplied(): void {
    this.lowestApplied = Infinity;
  }

  get lowestAppliedSinceMark(): number {
    return this.lowestApplied;
  }

  /**
   * Drops all data older than t and forgets series left without samples; `keep` holds samples
   * older than t that must stay (they go to the out-of-order buffer and into a later block),
   * `keepHistograms` per series the start times of histogram chunks older than t that must stay.
   * Returns how many series were removed.
   */
  truncateBefore(
    t: number,
    keep?: ReadonlyMap<MemSeries, { timestamps: Float64Array; bits: Uint32Array }>,
    keepHistograms?: ReadonlyMap<MemSeries, ReadonlySet<number>>,
  ): number {
    const dead = new Set<number>();
    let minT = Infinity;
    for (const s of this.byRef) {
      if (!s) continue;
      let alive = s.truncateBefore(t, keepHistograms?.get(s));
      const kept = keep?.get(s);
      if (kept) {
        for (let i = 0; i < kept.timestamps.length; i++) s.keepOutOfOrder(kept.timestamps[i], kept.bits[2 * i + 1], kept.bits[2 * i]);
        alive = true;
      }
      // A series about to receive staged samples stays, even if it holds none right now.
      if (!alive && s.pendingCommits > 0) alive = true;
      if (!alive) dead.add(s.ref);
      else minT = Math.min(minT, s.minT);
    }
    for (const ref of dead) {
      const s = this.byRef[ref]!;
      this.byRef[ref] = undefined;
      const h = hashLabels(s.labels.pairs);
      const e = this.byHash.get(h);
      if (Array.isArray(e)) {
        const rest = e.filter((x) => x !== s);
        if (rest.length === 1) this.byHash.set(h, rest[0]);
        else this.byHash.set(h, rest);
      } else this.byHash.delete(h);
      // Before the index forgets the series' pairs (and may give their ids to new ones).
      this.cardinality?.remove(s.labels.pairs, this.idsOf(s.labels.pairs));
      this.numSeriesLive--;
      if (this.budget) this.budget.live--;
    }
    if (dead.size > 0) {
      this.index.remove(dead);
      // Cached wire lookups may point at removed refs; they are only hints, but drop them.
      this.wireRefs.clear();
    }
    this.minT = minT;
    return dead.size;
  }

  stats(): HeadStats {
    return { numSeries: this.numSeriesLive, minTime: this.minT, maxTime: this.maxT };
  }

  /** Values and series counts per label name among the series matching `matchers` (all if none). */
  labelValueCounts(names: readonly string[] | undefined, matchers: readonly Matcher[] | undefined): Map<string, Map<string, number>> {
    return this.index.valueCounts(names, matchers && matchers.length > 0 ? this.index.select(matchers) : undefined);
  }

  /** /api/v1/status/tsdb: the head's size and its largest cardinality contributors. */
  tsdbStatus(limit: number): TsdbStatus {
    const { numLabelPairs, ...lists } = this.index.stats('__name__', limit);
    let chunkCount = 0;
    for (const s of this.byRef) if (s) chunkCount += s.numChunks;
    const empty = this.numSeriesLive === 0 || this.maxT === -Infinity;
    return {
      headStats: {
        numSeries: this.numSeriesLive,
        numLabelPairs,
        chunkCount,
        minTime: empty ? 0 : this.minT,
        maxTime: empty ? 0 : this.maxT,
      },
      ...lists,
    };
  }

  /** Live series in ref order (for snapshots and block cutting). */
  *allSeries(): IterableIterator<MemSeries> {
    for (const s of this.byRef) if (s) yield s;
  }

  querier(): Querier {
    return new HeadQuerier(this);
  }

  /**
   * Series matching the matchers, sorted by labels when `sorted` (label queries need no order).
   * Paced: sorting 100k label sets in one piece would hold the thread for hundreds of ms.
   */
  async selectSeries(matchers: readonly Matcher[], signal?: AbortSignal, sorted = true): Promise<MemSeries[]> {
    // A query shard's pseudo-matcher is no label: the shard keeps the series its hash picks.
    const { matchers: lookup, shards } = splitQueryShard(matchers);
    // A copy: the index may answer a view of its own lists, which a truncation compacts in place
    // while this loop yields.
    const refs = this.index.select(lookup).slice();
    const out: MemSeries[] = [];
    for (let i = 0; i < refs.length; i++) {
      if ((i & 4095) === 0) signal?.throwIfAborted();
      // Paced too: over a whole head this loop alone is milliseconds per 100k series (more with a
      // query shard's hashing), one stretch before the select's own paced work begins.
      const y = pace();
      if (y) await y;
      const s = this.byRef[refs[i]];
      if (s && (!shards || inQueryShards(s.labels, shards))) out.push(s);
    }
    return sorted ? sortPaced(out, (a, b) => Labels.compare(a.labels, b.labels)) : out;
  }
}

/** FNV-1a over the label strings' UTF-16 code units, with a separator between strings. */
export function hashLabels(pairs: readonly string[]): number {
  let h = 0x811c9dc5;
  for (const s of pairs) {
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    h = Math.imul(h ^ 0xffff, 0x01000193);
  }
  return h >>> 0;
}

class HeadQuerier implements Querier {
  constructor(private readonly head: Head) {}

  async select(matchers: readonly Matcher[], hints: SelectHints): Promise<Series[]> {
    const out: Series[] = [];
    const done = this.head.beginRead();
    try {
      const series = await this.head.selectSeries(matchers, hints.signal);
      if (hints.budget) chargeBudget(series, hints);
      for (let i = 0; i < series.length; i++) {
        if ((i & 1023) === 0) hints.signal?.throwIfAborted();
        // Decoding every chunk of many series is the longest stretch of a query: yield to ingest.
        const y = pace();
        if (y) await y;
        const s = series[i];
        const data = s.samples(hints.start, hints.end);
        if (s.hist) {
          const merged = withHistograms(data, s.hist.samples(hints.start, hints.end));
          if (merged) out.push({ labels: s.labels, ...merged });
        } else if (data) out.push({ labels: s.labels, timestamps: data.timestamps, values: data.values });
        else continue;
        if (hints.limit && out.length >= hints.limit) break;
      }
    } finally {
      done();
    }
    return out;
  }

  /**
   * The chunks select() would decode, undecoded: the closed chunks overlapping the range as they
   * are, the open one as a copy (it grows), native histogram chunks likewise as a part of their
   * own, out-of-order samples decoded (they are not XOR).
   */
  async selectRaw(matchers: readonly Matcher[], hints: SelectHints): Promise<RawSeries[]> {
    const out: RawSeries[] = [];
    const done = this.head.beginRead();
    try {
      // Sorted only for a limit: otherwise the reader sorts, off this thread.
      const series = await this.head.selectSeries(matchers, hints.signal, !!hints.limit);
      if (hints.budget) chargeBudget(series, hints);
      for (let i = 0; i < series.length; i++) {
        if ((i & 1023) === 0) hints.signal?.throwIfAborted();
        const y = pace();
        if (y) await y;
        const s = series[i];
        const parts: RawPart[] = [];
        const chunks = s.chunksIn(hints.start, hints.end);
        if (chunks.length > 0) parts.push({ chunks: chunks.map((c) => c.data), ranges: rangesOf(chunks) });
        const hc = s.hist?.chunksIn(hints.start, hints.end);
        if (hc && hc.length > 0) parts.push({ histogramChunks: hc.map((c) => c.data), encodings: hc.map((c) => c.encoding) });
        const ooo = s.oooSamples(hints.start, hints.end);
        if (ooo) parts.push(ooo);
        if (parts.length === 0) continue;
        out.push({ labels: s.labels, parts });
        if (hints.limit && out.length >= hints.limit) break;
      }
    } finally {
      done();
    }
    return out;
  }

  /**
   * selectRaw() straight into a packer: each series' chunk bytes are copied once, from the head
   * into the buffer that crosses to the worker (the open chunk there too, since it grows), and
   * out-of-order samples go in as their value bits; no object is made per series or chunk.
   */
  async selectRawInto(matchers: readonly Matcher[], hints: SelectHints, into: RawPacker): Promise<void> {
    const done = this.head.beginRead();
    try {
      into.beginSource();
      const series = await this.head.selectSeries(matchers, hints.signal, false);
      if (hints.budget) chargeBudget(series, hints);
      // Sized first, so that the packer allocates each array once (see RawSizes).
      const sizes = emptyRawSizes();
      for (let i = 0; i < series.length; i++) {
        if ((i & 1023) === 0) hints.signal?.throwIfAborted();
        const y = pace();
        if (y) await y;
        series[i].addRawSize(hints.start, hints.end, sizes);
      }
      into.reserve(sizes);
      for (let i = 0; i < series.length; i++) {
        if ((i & 1023) === 0) hints.signal?.throwIfAborted();
        // Nothing is awaited within a series: ingest appending to its open chunk meanwhile cannot
        // tear what is copied.
        const y = pace();
        if (y) await y;
        series[i].packRaw(hints.start, hints.end, into);
      }
    } finally {
      done();
    }
  }

  async series(matchers: readonly Matcher[], hints: SelectHints): Promise<Labels[]> {
    const out: Labels[] = [];
    for (const s of await this.head.selectSeries(matchers, hints.signal)) {
      if (!overlaps(s, hints)) continue;
      out.push(s.labels);
      if (hints.limit && out.length >= hints.limit) break;
    }
    return out;
  }

  /**
   * As Prometheus' head: when the head's time range meets the request's, the head counts as a
   * whole (as a block does), so label names and values come from the postings index alone and
   * no series' time bounds, let alone samples, are looked at.
   */
  async labelNames(matchers: readonly Matcher[], hints: SelectHints): Promise<string[]> {
    if (!headOverlaps(this.head, hints)) return [];
    if (matchers.length === 0) return this.head.index.labelNames().slice();
    const names = new Set<string>();
    const refs = this.head.index.select(matchers);
    for (let i = 0; i < refs.length; i++) {
      if ((i & 4095) === 0) hints.signal?.throwIfAborted();
      this.head.get(refs[i])?.labels.forEach((n) => names.add(n));
    }
    return [...names].sort();
  }

  async labelValues(name: string, matchers: readonly Matcher[], hints: SelectHints): Promise<string[]> {
    if (!headOverlaps(this.head, hints)) return [];
    if (matchers.length === 0) return this.head.index.labelValues(name).slice();
    hints.signal?.throwIfAborted();
    return this.head.index.labelValuesAmong(name, this.head.index.select(matchers), (ref) => this.head.get(ref)?.labels.get(name));
  }
}

/**
 * The series with data in the range and their chunks' bytes charged to the query's budget before
 * any is decoded (as blocks charge theirs), so a query over its limits fails before the work.
 */
function chargeBudget(series: readonly MemSeries[], hints: SelectHints): void {
  let n = 0;
  let bytes = 0;
  for (const s of series) {
    if (!overlaps(s, hints)) continue;
    n++;
    for (const c of s.chunksIn(hints.start, hints.end)) bytes += c.data.length;
    if (s.hist) for (const c of s.hist.chunksIn(hints.start, hints.end)) bytes += c.data.length;
  }
  hints.budget!.series(n);
  hints.budget!.chunks(0);
  hints.budget!.bytes(bytes);
}

function overlaps(s: MemSeries, hints: SelectHints): boolean {
  // A series of histograms only has no float maxT: its histograms' counts.
  const maxT = Math.max(s.maxT, s.ooo?.length ? s.ooo.ts[s.ooo.length - 1] : -Infinity, s.hist ? s.hist.maxT : -Infinity);
  if (maxT === -Infinity) return false;
  return s.minT <= hints.end && maxT >= hints.start;
}

/** Whether the head holds a sample time within the requested range's bounds (an empty head holds none). */
function headOverlaps(head: Head, hints: SelectHints): boolean {
  return head.minT <= hints.end && head.maxT >= hints.start;
}

/** Chunks' minT, maxT pairs (RawPart.ranges). */
function rangesOf(chunks: readonly { minT: number; maxT: number }[]): Float64Array {
  const out = new Float64Array(chunks.length * 2);
  chunks.forEach((c, i) => {
    out[2 * i] = c.minT;
    out[2 * i + 1] = c.maxT;
  });
  return out;
}
