/**
 * Which thread evaluates a query. Workers are handed the stores' raw XOR chunks (selectRaw); rollup
 * blocks carry per-window counts and sketches that have no raw form. So a query that may read
 * rollups — its max_source_resolution, or the default (auto = step / 5; raw for instant queries),
 * reaches the finest rollup — is evaluated by the Engine on this thread, where select() returns
 * them (paced, see pace.ts); every other query goes to the worker pool. Dashboards over days at
 * steps under 25 minutes, alerts and instant queries all evaluate on the workers.
 */
import type { Querier } from '@strata/model';
import type { Engine, Expr, QueryOptions, QueryOutcome } from '@strata/promql';
import type { PromqlExecutor } from './worker-pool.js';

/** The finest rollup resolution (5 minutes): below it a query reads raw data only. */
export const FINEST_ROLLUP_MS = 5 * 60_000;

export class RollupRoutingExecutor implements PromqlExecutor {
  constructor(
    private readonly pool: PromqlExecutor,
    private readonly local: Engine,
  ) {}

  get opts(): { timeoutMs: number } {
    return this.local.opts;
  }

  /** Whether a query with these options and step (undefined: instant) may be answered from rollups. */
  mayReadRollups(o: QueryOptions, stepMs: number | undefined): boolean {
    const res = o.maxResolution ?? this.local.opts.defaultResolution;
    const ms = res === 'auto' ? (stepMs === undefined ? 0 : Math.floor(stepMs / 5)) : res;
    return ms >= FINEST_ROLLUP_MS;
  }

  instantQuery(q: Querier, query: string | Expr, timeMs: number, o: QueryOptions = {}): Promise<QueryOutcome> {
    return (this.mayReadRollups(o, undefined) ? this.local : this.pool).instantQuery(q, query, timeMs, o);
  }

  rangeQuery(
    q: Querier,
    query: string | Expr,
    startMs: number,
    endMs: number,
    stepMs: number,
    o: QueryOptions = {},
  ): Promise<QueryOutcome> {
    return (this.mayReadRollups(o, stepMs) ? this.local : this.pool).rangeQuery(q, query, startMs, endMs, stepMs, o);
  }
}
