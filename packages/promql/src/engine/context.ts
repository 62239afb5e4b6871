/** What every evaluation step needs: the query's steps, storage, limits and cancellation. */
import { StrataError, type Querier } from '@strata/model';

export interface EngineOptions {
  lookbackDeltaMs: number;
  maxSamples: number;
  timeoutMs: number;
  /** Resolution of subqueries without a step (`[1h:]`). */
  defaultEvalIntervalMs: number;
  /**
   * Thanos' max_source_resolution when a query does not give one: a window in ms, or 'auto' for
   * step/5 (raw data for instant queries).
   */
  defaultResolution: number | 'auto';
}

export const DEFAULT_ENGINE_OPTIONS: EngineOptions = {
  lookbackDeltaMs: 5 * 60_000,
  maxSamples: 50_000_000,
  timeoutMs: 120_000,
  defaultEvalIntervalMs: 60_000,
  defaultResolution: 'auto',
};

export class EvalContext {
  /** Samples currently loaded for the query. */
  samples = 0;
  readonly warnings = new Set<string>();
  readonly infos = new Set<string>();
  private checks = 0;

  /** Evaluation is mostly synchronous, so the deadline is checked by the clock, not only by a timer. */
  private readonly deadline: number;

  constructor(
    readonly querier: Querier,
    readonly opts: EngineOptions,
    /** The query's own start and end (for @ start() / @ end()). */
    readonly queryStart: number,
    readonly queryEnd: number,
    readonly signal: AbortSignal,
    timeoutMs = opts.timeoutMs,
    /** The query's step (0 for instant queries), for step(). */
    readonly queryStep = 0,
    /** Rollups up to this window (ms) may answer selects (SelectHints.maxResolution). */
    readonly maxResolution = 0,
  ) {
    this.deadline = performance.now() + timeoutMs;
    this.timeoutMs = timeoutMs;
  }

  private readonly timeoutMs: number;
  /** The query text, to give annotations Prometheus' "(line:column)" suffix. */
  query = '';
  /** Selectors whose histograms are read for count and sum only (see histogram-stats.ts). */
  statsSelectors: WeakSet<object> = new WeakSet();

  pos(p: { start: number }): string {
    let line = 1;
    let col = 1;
    for (let i = 0; i < p.start && i < this.query.length; i++) {
      if (this.query[i] === '\n') {
        line++;
        col = 1;
      } else col++;
    }
    return `(${line}:${col})`;
  }

  addSamples(n: number): void {
    this.samples += n;
    if (this.samples > this.opts.maxSamples) {
      throw new StrataError('query-too-many-samples', 'query processing would load too many samples into memory in query execution');
    }
  }

  /** Cheap enough for inner loops: only every 1024th call looks at the signal. */
  checkCancelled(): void {
    if ((++this.checks & 1023) !== 0) return;
    this.throwIfCancelled();
  }

  throwIfCancelled(): void {
    if (performance.now() > this.deadline) {
      throw new StrataError('query-timeout', `query timed out in expression evaluation (timeout ${this.timeoutMs / 1000}s)`);
    }
    if (this.signal.aborted) {
      const reason = this.signal.reason;
      if (reason instanceof StrataError) throw reason;
      throw new StrataError('query-canceled', 'query was canceled');
    }
  }
}
