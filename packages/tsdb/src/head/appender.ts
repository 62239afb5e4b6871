/**
 * Stages samples for one request, then makes them durable in the WAL before applying them to
 * the head, so nothing is visible or acknowledged that a crash could lose (commit). Rule results
 * may be applied first and synced later (commitVisible): the next rule of a group reads them at
 * once, and the group waits for one fsync at its end.
 */
import { StrataError, type Labels } from '@strata/model';
import {
  AppendStatus,
  METRIC_LIMIT_REACHED,
  RECEIVER_SERIES_LIMIT_REACHED,
  SERIES_LIMIT_REACHED,
  type Appender,
  type MetricLimitHit,
} from '../api.js';
import {
  encodeExemplars,
  encodeHistograms,
  encodeSamples,
  encodeSeries,
  type LoggedExemplar,
  type LoggedHistogram,
} from '../wal/records.js';
import { ExemplarStatus, exemplarOrder, type Exemplar } from '../exemplars/store.js';
import type { HistogramSample } from '../chunkenc/histogram.js';
import type { WAL } from '../wal/wal.js';
import type { Head } from './head.js';
import type { MemSeries } from './series.js';

// Value bits without allocating a pair per sample.
const SCRATCH_F64 = new Float64Array(1);
const SCRATCH_U32 = new Uint32Array(SCRATCH_F64.buffer);

export class HeadAppender implements Appender {
  private refs = new Uint32Array(64);
  private ts = new Float64Array(64);
  private bits = new Uint32Array(128);
  private n = 0;
  /** Index of the last staged sample per series, to catch duplicates inside one request. */
  private lastStaged = new Map<number, number>();
  private createdSeries = false;
  /** Staged histogram samples: few next to floats, so plain records. */
  private histograms: LoggedHistogram[] = [];
  /** Staged exemplars, and the last one staged per series (a request's exemplars of a series come oldest first). */
  private exemplars: LoggedExemplar[] = [];
  private lastExemplar = new Map<number, number>();
  /** Series with staged samples: pinned so a head truncation cannot drop them before commit applies. */
  private pinned: MemSeries[] = [];

  constructor(
    private readonly head: Head,
    private readonly wal: WAL,
  ) {}

  cachedRef(wireHash: number, verify: (labels: Labels) => boolean): number | undefined {
    return this.head.wireRef(wireHash, verify);
  }

  cachedRefByBytes(wireHash: number, buf: Uint8Array, start: number, end: number): number | undefined {
    return this.head.wireRefByBytes(wireHash, buf, start, end);
  }

  existingRef(labels: Labels): number | undefined {
    return this.head.getByLabels(labels)?.ref;
  }

  ref(labels: Labels, wireHash?: number, wire?: Uint8Array, wireStart = 0, wireEnd = 0): number {
    const r = this.head.getOrCreate(labels);
    if (!r) {
      const why = this.head.refusal;
      return why === 'tenant' ? SERIES_LIMIT_REACHED : why === 'receiver' ? RECEIVER_SERIES_LIMIT_REACHED : METRIC_LIMIT_REACHED;
    }
    if (wireHash !== undefined) this.head.rememberWireRef(wireHash, r.series.ref, wire, wireStart, wireEnd);
    // The series record goes into the WAL queue now, ahead of any samples record that could
    // reference it, whichever appender commits first.
    if (r.created) {
      this.wal.enqueue(encodeSeries(r.series.ref, labels));
      this.createdSeries = true;
    }
    return r.series.ref;
  }

  metricLimitHit(): MetricLimitHit | undefined {
    const why = this.head.refusal;
    return typeof why === 'object' ? why : undefined;
  }

  append(ref: number, t: number, v: number): AppendStatus {
    const s = this.head.get(ref);
    if (!s) throw new Error(`append to unknown series ref ${ref}`);
    SCRATCH_F64[0] = v;
    const hi = SCRATCH_U32[1];
    const lo = SCRATCH_U32[0];
    const prev = this.lastStaged.get(ref);
    if (prev !== undefined && this.ts[prev] === t) {
      return this.bits[2 * prev + 1] === hi && this.bits[2 * prev] === lo
        ? AppendStatus.DUPLICATE_IDENTICAL
        : AppendStatus.DUPLICATE_DIFFERENT;
    }
    const status = this.head.appendable(s, t, hi, lo);
    if (status !== AppendStatus.OK) return status;
    if (prev === undefined) {
      s.pendingCommits++;
      this.pinned.push(s);
    }
    this.stage(ref, t, hi, lo);
    return AppendStatus.OK;
  }

  appendHistogram(ref: number, t: number, h: HistogramSample, float: boolean, hint: number): AppendStatus {
    const s = this.head.get(ref);
    if (!s) throw new Error(`append to unknown series ref ${ref}`);
    const prev = this.lastStaged.get(ref);
    if (prev !== undefined && this.ts[prev] === t) return AppendStatus.DUPLICATE_DIFFERENT;
    for (let i = this.histograms.length - 1; i >= 0; i--) {
      const x = this.histograms[i];
      if (x.ref !== ref) continue;
      if (t <= x.t) return t === x.t ? AppendStatus.DUPLICATE_DIFFERENT : AppendStatus.TOO_OLD;
      break;
    }
    const status = this.head.histogramAppendable(s, t, h, float);
    if (status !== AppendStatus.OK) return status;
    s.pendingCommits++;
    this.pinned.push(s);
    this.histograms.push({ ref, t, h, float, hint });
    return AppendStatus.OK;
  }

  private stage(ref: number, t: number, hi: number, lo: number): void {
    if (this.n === this.refs.length) {
      const m = this.refs.length * 2;
      const refs = new Uint32Array(m);
      refs.set(this.refs);
      const ts = new Float64Array(m);
      ts.set(this.ts);
      const bits = new Uint32Array(2 * m);
      bits.set(this.bits);
      this.refs = refs;
      this.ts = ts;
      this.bits = bits;
    }
    const i = this.n++;
    this.refs[i] = ref;
    this.ts[i] = t;
    this.bits[2 * i] = lo;
    this.bits[2 * i + 1] = hi;
    this.lastStaged.set(ref, i);
  }

  get staged(): number {
    return this.n;
  }

  async commit(): Promise<void> {
    const n = this.n;
    if (!this.enqueueStaged()) {
      // Series records this request queued must still be durable before we answer.
      if (this.createdSeries) await this.syncOrFail();
      this.rollback();
      return;
    }
    await this.syncOrFail();
    for (let i = 0; i < n; i++) {
      const s = this.head.get(this.refs[i])!;
      const hi = this.bits[2 * i + 1];
      const lo = this.bits[2 * i];
      // A concurrent commit may have written this timestamp meanwhile; replay applies records
      // in the same order with the same rule, so the outcome is the same after a crash.
      this.head.applyLogged(s, this.ts[i], hi, lo);
    }
    this.applyHistograms();
    this.applyExemplars();
    this.rollback();
  }

  commitVisible(): void {
    const n = this.n;
    // In the same order as commit(): the WAL replays what the head applies here.
    this.enqueueStaged();
    for (let i = 0; i < n; i++) this.head.applyLogged(this.head.get(this.refs[i])!, this.ts[i], this.bits[2 * i + 1], this.bits[2 * i]);
    this.applyHistograms();
    this.applyExemplars();
    this.rollback();
  }

  /** Queues the WAL records of everything staged (histograms, samples, exemplars: replay's order); false if nothing is. */
  private enqueueStaged(): boolean {
    if (this.histograms.length > 0) this.wal.enqueue(encodeHistograms(this.histograms));
    if (this.n > 0) this.wal.enqueue(encodeSamples(this.refs, this.ts, this.bits, this.n));
    if (this.exemplars.length > 0) this.wal.enqueue(encodeExemplars(this.exemplars));
    return this.n > 0 || this.histograms.length > 0 || this.exemplars.length > 0;
  }

  private applyHistograms(): void {
    for (const x of this.histograms) this.head.applyHistogramLogged(this.head.get(x.ref)!, x.t, x.h, x.float, x.hint);
  }

  /** Into the tenant's store, as replay adds them: a concurrent commit's newer exemplar makes this one refused in both. */
  private applyExemplars(): void {
    const store = this.head.exemplars;
    for (const x of this.exemplars) store.add(this.head.get(x.ref)!.labels, { labels: x.labels, value: x.value, timestamp: x.t });
  }

  appendExemplar(ref: number, e: Exemplar): ExemplarStatus {
    const s = this.head.get(ref);
    if (!s) throw new Error(`append exemplar to unknown series ref ${ref}`);
    const prev = this.lastExemplar.get(ref);
    // Against the one staged before it in this request, else against the store's newest: the same rule either way.
    const p = prev === undefined ? undefined : this.exemplars[prev];
    const st = p ? exemplarOrder(p.t, p.value, p.labels, e) : this.head.exemplars.check(s.labels, e);
    if (st !== ExemplarStatus.OK) return st;
    if (prev === undefined) {
      s.pendingCommits++;
      this.pinned.push(s);
    }
    this.lastExemplar.set(ref, this.exemplars.length);
    this.exemplars.push({ ref, t: e.timestamp, value: e.value, labels: e.labels });
    return ExemplarStatus.OK;
  }

  private async syncOrFail(): Promise<void> {
    try {
      await this.wal.sync();
    } catch (e) {
      this.rollback();
      throw new StrataError('storage-failure', `write-ahead log write failed; samples were not acknowledged: ${(e as Error).message}`, {
        cause: e,
      });
    }
  }

  rollback(): void {
    this.n = 0;
    this.histograms = [];
    this.exemplars = [];
    this.lastExemplar.clear();
    this.createdSeries = false;
    this.lastStaged.clear();
    for (const s of this.pinned) s.pendingCommits--;
    this.pinned = [];
  }
}
