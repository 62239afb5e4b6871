/**
 * What the ruler needs from the rest of Strata, wired by the CLI: a PromQL instant query, a
 * write path for the series rules produce, and the raw samples of the for-state series. The
 * ruler imports no other component.
 */
import type { Labels, Matcher } from '@strata/model';
import type { WriteBatch } from '@strata/remote';

/** An instant vector: one sample per series at the query time (a scalar is one with no labels). */
export interface InstantVector {
  labels: Labels[];
  values: Float64Array;
}

export interface RuleQueries {
  /** Evaluates expr at tMs for the tenant. */
  instant(tenant: string, expr: string, tMs: number, signal?: AbortSignal): Promise<InstantVector>;
  /**
   * The last sample (stale markers included) of the series matching the matchers in
   * [startMs, endMs], one per series: what restores an alert's for state.
   */
  lastSamples(tenant: string, matchers: readonly Matcher[], startMs: number, endMs: number): Promise<LastSample[]>;
}

/** A series' last sample; `stale` read from the bits where they are stored (a number in an object may lose them). */
export interface LastSample {
  labels: Labels;
  t: number;
  v: number;
  stale: boolean;
}

/** Samples of one evaluation: a batch of series, each with one sample. */
export interface RuleSamples {
  labels: Labels[];
  timestamps: Float64Array;
  values: Float64Array;
}

export interface RuleWriter {
  /** Resolves once the samples are durable: the next rule of the group may read them. */
  write(tenant: string, samples: RuleSamples): Promise<void>;
  /**
   * Where offered (a write path in this process): `write` resolves once the samples are visible
   * to the ruler's queries, `sync` once everything written so is durable. A group writes each
   * rule's results so and syncs once, at the end of its evaluation (group commit).
   */
  visible?: {
    write(tenant: string, samples: RuleSamples): Promise<void>;
    sync(tenant: string): Promise<void>;
  };
}

/**
 * A write path in this process that takes decoded batches (the receiver's, in `strata all`):
 * resolves once the samples are durable, rejects with the first rejection.
 */
export interface Appendable {
  append(tenant: string, batch: WriteBatch): Promise<void>;
  /** As append, but resolves once the samples are visible to queries; durable once sync resolves. */
  appendVisible?(tenant: string, batch: WriteBatch): Promise<void>;
  sync?(tenant: string): Promise<void>;
}
