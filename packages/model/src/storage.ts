/**
 * The read contract every series source implements: the head, blocks, the store gateway and the
 * querier's fan-out over stores. The PromQL engine and the series/label APIs only see this.
 */
import type { FloatHistogram } from './histogram.js';
import type { Labels } from './labels.js';
import type { Matcher } from './matchers.js';
import type { RawPacker } from './raw-pack.js';

export interface SelectHints {
  /** Inclusive time range of the data wanted, in milliseconds since the epoch. */
  start: number;
  end: number;
  /** Query step in ms for range queries (0 for instant queries). Informational. */
  step?: number;
  /** Enclosing function name and range, as Prometheus' hints. Informational. */
  func?: string;
  range?: number;
  /** At most this many series; an implementation may stop early. 0/undefined: no limit. */
  limit?: number;
  /** Aborted when the query times out or is cancelled: implementations must stop work promptly. */
  signal?: AbortSignal;
  /**
   * Per-query limits, charged by stores as data is found and before it is loaded: each call
   * throws once its limit is exceeded, so a query over too much data fails instead of
   * exhausting memory.
   */
  budget?: QueryBudget;
  /**
   * Thanos' partial_response for this query: answer from the stores that can when some fail.
   * Unset: the implementation's default.
   */
  partialResponse?: boolean;
  /**
   * Receives what the caller should be told without failing the query (Prometheus' warning
   * annotations), such as a store left out of a partial response.
   */
  warn?: (message: string) => void;
  /**
   * Thanos' max_source_resolution in ms: stores may answer from rollups (downsampled blocks)
   * whose window is at most this, coarsest first. 0/undefined: raw data only.
   */
  maxResolution?: number;
}

/** The finest rollup window the compactor writes (5 minutes): a select allowing less reads raw data only. */
export const FINEST_ROLLUP_RESOLUTION = 5 * 60_000;

/**
 * Whether a select may be answered from rollups: its max_source_resolution reaches the finest
 * rollup. `auto` makes it step / 5, so any range query has one, and most (steps under 25 minutes)
 * still read raw data alone.
 */
export function mayReadRollups(hints: Pick<SelectHints, 'maxResolution'>): boolean {
  return (hints.maxResolution ?? 0) >= FINEST_ROLLUP_RESOLUTION;
}

export interface QueryBudget {
  series(n: number): void;
  chunks(n: number): void;
  bytes(n: number): void;
}

/**
 * One series with its float samples in ascending timestamp order. Timestamps are integral
 * milliseconds held in a Float64Array (exact below 2^53) so arithmetic needs no BigInt.
 * Stale markers are kept as the exact staleness NaN bit pattern.
 */
export interface Series {
  readonly labels: Labels;
  readonly timestamps: Float64Array;
  readonly values: Float64Array;
  /** Set when samples stand for rollup windows and the function asked for needs more than their values. */
  readonly rollup?: RollupSamples;
  /**
   * Native histogram samples, parallel to values: where an entry is set the sample is that
   * histogram (its value slot is unused; a stale marker is a float sample). Absent for series of
   * floats only, which stay the fast path.
   */
  readonly histograms?: readonly (FloatHistogram | undefined)[];
}

/**
 * What a series read from rollups carries beside its values (docs/format/downsampling.md):
 * the engine's count_over_time, avg_over_time and quantile_over_time read it.
 */
export interface RollupSamples {
  /** Raw samples each sample stands for (1 for raw samples joined to rollup windows). */
  readonly counts: Float64Array;
  /** Per sample, its window's encoded quantile sketch; undefined for a raw sample (it stands for itself). */
  readonly sketches?: readonly (Uint8Array | undefined)[];
  /**
   * The q-quantile of the raw values behind samples [from, to) of a series, merged from their
   * sketches (a pure function of its arguments, so merged series can share it).
   */
  readonly quantile?: (rollup: RollupSamples, values: Float64Array, from: number, to: number, q: number) => number;
}

/**
 * One part of a series' stored data as a store keeps it: XOR chunks (without the encoding byte),
 * in time order and not overlapping each other; native histogram chunks (Prometheus' encodings 2
 * and 3, one per chunk in `encodings`), likewise; or samples already decoded, where `histograms`,
 * when set, holds the native histogram samples as Series does.
 */
export type RawPart =
  | {
      readonly chunks: readonly Uint8Array[];
      /**
       * Each chunk's first and last timestamp as the store's index has them (minT, maxT pairs), when
       * the store knows them: a streamed remote-read then sends a chunk lying wholly inside the
       * range as it is.
       */
      readonly ranges?: Float64Array;
    }
  | { readonly histogramChunks: readonly Uint8Array[]; readonly encodings: readonly number[] }
  | {
      readonly timestamps: Float64Array;
      readonly values: Float64Array;
      readonly histograms?: readonly (FloatHistogram | undefined)[];
    };

/**
 * A series' data undecoded, for a reader on another thread that decodes it there (a query worker):
 * decoding and its garbage then stay out of the thread that reads the store. Parts are in order
 * of precedence: on equal timestamps the earlier part's sample wins, as in MergeQuerier. Parts may
 * hold samples outside [hints.start, hints.end] or none in it; the reader clips and drops them.
 */
export interface RawSeries {
  readonly labels: Labels;
  readonly parts: RawPart[];
}

export interface Querier {
  /** Series matching all matchers with their samples in [hints.start, hints.end], sorted by labels. */
  select(matchers: readonly Matcher[], hints: SelectHints): Promise<Series[]>;
  /**
   * What select() would decode, undecoded. In any order unless hints.limit is set (then the
   * first series by labels, sorted), so the thread that reads the store need not sort: the
   * reader sorts what it decoded. Optional: stores that keep chunks implement it; selectRawOf()
   * falls back to select() for the others.
   */
  selectRaw?(matchers: readonly Matcher[], hints: SelectHints): Promise<RawSeries[]>;
  /**
   * What selectRaw() would return, written into `into` as the store walks its series (no object
   * per series on this thread; see raw-pack.ts). Never called with hints.limit set. A store calls
   * into.beginSource() once; composites write their parts one after the other, in querier order.
   * Optional: selectRawIntoOf() packs selectRaw()'s answer for stores without it.
   */
  selectRawInto?(matchers: readonly Matcher[], hints: SelectHints, into: RawPacker): Promise<void>;
  /** Label sets only, with no sample decoding: for /api/v1/series. Sorted by labels. */
  series(matchers: readonly Matcher[], hints: SelectHints): Promise<Labels[]>;
  /** Sorted label names of series matching the matchers (all series when none). */
  labelNames(matchers: readonly Matcher[], hints: SelectHints): Promise<string[]>;
  /** Sorted distinct values of a label over series matching the matchers. */
  labelValues(name: string, matchers: readonly Matcher[], hints: SelectHints): Promise<string[]>;
}

/** Something that can be queried; per tenant. */
export interface Queryable {
  querier(tenant: string): Querier;
}

/** Metric metadata as remote-write carries it and /api/v1/metadata returns it. */
export interface MetricMetadata {
  type: 'counter' | 'gauge' | 'histogram' | 'gaugehistogram' | 'summary' | 'info' | 'stateset' | 'unknown';
  help: string;
  unit: string;
}
