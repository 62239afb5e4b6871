/**
 * The write and read contract of the TSDB as the receiver and the query side see it.
 * Implementations: head/* (in-memory, per tenant), db.ts (head + WAL, multi-tenant).
 */
import type { Exemplar, ExemplarStatus, ExemplarStore } from './exemplars/store.js';
import type { Labels, Querier } from '@strata/model';
import type { MetricLimitHit } from './head/metric-cardinality.js';
import type { HistogramSample } from './chunkenc/histogram.js';

export type { MetricLimitHit };

export const DEFAULT_OUT_OF_ORDER_WINDOW_MS = 30 * 60 * 1000;
export const DEFAULT_SAMPLES_PER_CHUNK = 120;
export const DEFAULT_BLOCK_DURATION_MS = 2 * 60 * 60 * 1000;

/** Result of staging one sample. Only OK and DUPLICATE_IDENTICAL are acceptable to clients. */
export const enum AppendStatus {
  OK = 0,
  /** Same timestamp, bit-identical value: accepted silently (clients retry). */
  DUPLICATE_IDENTICAL = 1,
  /** Older than the head's in-order horizon minus the out-of-order window. */
  TOO_OLD = 2,
  /** Same timestamp, another value. */
  DUPLICATE_DIFFERENT = 3,
}

/** Returned by Appender.ref when a new series would exceed the tenant's series limit. */
export const SERIES_LIMIT_REACHED = -1;
/** Returned by Appender.ref when a new series would exceed a per-metric limit (Appender.metricLimitHit() says which). */
export const METRIC_LIMIT_REACHED = -2;
/** Returned by Appender.ref when the process holds its ceiling of series, all tenants together (overload: retry later). */
export const RECEIVER_SERIES_LIMIT_REACHED = -3;

/** Series held by every head of a process, against a ceiling protecting the process (0 = none). */
export interface SeriesBudget {
  live: number;
  max: number;
}

export interface HeadOptions {
  /** Samples older than (newest sample in head - window) are rejected; 0 disables out-of-order. */
  outOfOrderWindowMs: number;
  /** Samples per head chunk before it is cut (default DEFAULT_SAMPLES_PER_CHUNK, as Prometheus'). */
  samplesPerChunk?: number;
  /** Max active series for the tenant; 0 = unlimited. May be changed at run time (limits reload). */
  maxSeries: number;
  /** Max active series of one metric name; 0 or absent = unlimited (setMetricLimits changes it). */
  maxSeriesPerMetric?: number;
  /** Max distinct values of one label among one metric's series; 0 or absent = unlimited. */
  maxLabelValuesPerMetric?: number;
}

export interface Appender {
  /**
   * The series reference for a label set, creating the series if needed. SERIES_LIMIT_REACHED
   * when full. `wireHash`, when given, is a hash of the label set as it arrived on the wire, so
   * the next request carrying the same bytes finds the series through cachedRef() undecoded.
   * With `wire`, the bytes buf[wireStart, wireEnd) those labels were decoded from are kept, and
   * found again by cachedRefByBytes.
   */
  ref(labels: Labels, wireHash?: number, wire?: Uint8Array, wireStart?: number, wireEnd?: number): number;
  /**
   * The series whose ref() was given exactly these wire bytes (and hash), if still remembered:
   * the same bytes decode to the same labels, so no comparison with the labels is needed.
   */
  cachedRefByBytes(wireHash: number, buf: Uint8Array, start: number, end: number): number | undefined;
  /**
   * The series remembered for a wire hash, if `verify` confirms that the wire bytes really are
   * its labels (hashes only find candidates), else undefined.
   */
  cachedRef(wireHash: number, verify: (labels: Labels) => boolean): number | undefined;
  /** The reference of a series the head already holds, never creating one (an exemplar sent without samples needs an existing series). */
  existingRef(labels: Labels): number | undefined;
  /** After ref() returned METRIC_LIMIT_REACHED: the metric, label and counts of the limit hit. */
  metricLimitHit(): MetricLimitHit | undefined;
  /** Stage a sample for a series reference; nothing is visible or durable before commit(). */
  append(ref: number, t: number, v: number): AppendStatus;
  /**
   * Stage a native histogram sample (in order only: t after the series' newest histogram and not
   * at a float sample's time). Integer histograms carry bucket deltas, float ones absolute
   * counts; `hint` is the sender's counter-reset hint (0 unknown, 1 reset, 2 not, 3 gauge).
   */
  appendHistogram(ref: number, t: number, h: HistogramSample, float: boolean, hint: number): AppendStatus;
  /**
   * Stage an exemplar of a series (its labels as sorted pairs); stored with the samples after the
   * commit's fsync. Not OK (older than the series' newest, a resend, exemplars disabled): not staged.
   */
  appendExemplar(ref: number, e: Exemplar): ExemplarStatus;
  /** Writes the staged samples to the WAL, waits for the (group) fsync, then applies them to the head. */
  commit(): Promise<void>;
  /**
   * Queues the staged samples' WAL records and applies them to the head at once, with no fsync:
   * they are visible to queries when this returns and durable after the next WAL flush
   * (TenantStorage.sync, or any other commit's). For data whose loss in a crash costs nothing
   * acknowledged: recording rule results, which the next evaluation recomputes.
   */
  commitVisible(): void;
  rollback(): void;
}

export interface HeadStats {
  numSeries: number;
  /** Inclusive; Infinity / -Infinity when empty. */
  minTime: number;
  maxTime: number;
}

/** The answer of /api/v1/status/tsdb, field for field as Prometheus gives it. */
export interface TsdbStatus {
  headStats: { numSeries: number; numLabelPairs: number; chunkCount: number; minTime: number; maxTime: number };
  seriesCountByMetricName: { name: string; value: number }[];
  labelValueCountByLabelName: { name: string; value: number }[];
  memoryInBytesByLabelName: { name: string; value: number }[];
  seriesCountByLabelValuePair: { name: string; value: number }[];
}

export interface TenantStorage {
  readonly tenant: string;
  appender(): Appender;
  querier(): Querier;
  stats(): HeadStats;
  setMaxSeries(n: number): void;
  /** Per-metric limits (0 = unlimited); may change at run time (limits reload). */
  setMetricLimits(maxSeriesPerMetric: number, maxLabelValuesPerMetric: number): void;
  /** The tenant's exemplars (sized by the writer from the tenant's limit); absent where not kept. */
  readonly exemplars?: ExemplarStore;
  /** Resolves once every record committed so far (commitVisible's included) is durable. */
  sync(): Promise<void>;
}
