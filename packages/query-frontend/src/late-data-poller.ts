/**
 * Late data for a frontend in its own process (`strata query-frontend`): every poll interval it
 * reads GET /internal/late-data from each querier it sends queries to (the queriers relay their
 * receivers' logs, @strata/api late-data.ts) and bumps its generations with what it hears.
 *
 * Correctness over hit rate: when a querier cannot say what changed (it answers `reset`: a
 * receiver restarted, lost notices from its bounded log, or could not be reached; or the poll
 * itself fails), every tenant's whole history counts as changed (Generations.bumpAll), so no split
 * cached before is served again. While a querier stays unreachable, each poll does so again.
 *
 * Staleness bound: a receiver logs a notice once its samples are visible; the next poll after it
 * bumps the generations. A split cached before that poll, whenever its query ran, is under the
 * old generations and never read after it; so a late sample is in every answer from at most one
 * poll interval (plus the poll's own round trip) after the receiver accepted it.
 */
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { decodeLateDataAnswer, lateDataPath, type LateDataAnswer } from '@strata/api';
import type { Downstream } from './downstream.js';
import type { Generations } from './generations.js';

export interface LateDataSource {
  name: string;
  downstream: Downstream;
}

export interface LateDataPollerOptions {
  sources: readonly LateDataSource[];
  generations: Generations;
  intervalMs: number;
  /**
   * The frontend's --query-frontend.max-cache-freshness, named on each poll: receivers then report
   * samples older than it as late even when their own setting is longer.
   */
  freshnessMs?: number;
  /** Longest a poll of one querier may take; a slower one counts as failed. */
  timeoutMs: number;
  registry?: Registry;
  logger?: Logger;
}

/** Answers read from one querier in one poll at most (each bounded): a backlog is read over several polls. */
const MAX_READS_PER_POLL = 20;

export class LateDataPoller {
  private readonly cursors = new Map<string, string>();
  private readonly notices: Counter;
  private readonly invalidations: Counter<'reason'>;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private lastWarn = 0;

  constructor(private readonly opts: LateDataPollerOptions) {
    const registers = opts.registry ? [opts.registry] : [];
    this.notices = new Counter({
      name: 'strata_query_frontend_late_data_notices_total',
      help: 'Late-data notices (a tenant, a time range) read from the queriers and applied to the results cache generations.',
      registers,
    });
    this.invalidations = new Counter({
      name: 'strata_query_frontend_late_data_invalidations_total',
      help: "Times every tenant's cached splits were invalidated because late data could not be known: reset (a receiver restarted, lost notices or was unreachable from its querier) or poll_failed (a querier did not answer the poll).",
      labelNames: ['reason'],
      registers,
    });
    this.invalidations.inc({ reason: 'reset' }, 0);
    this.invalidations.inc({ reason: 'poll_failed' }, 0);
  }

  /** Applies one answer of a source; true when the source has more to read now. */
  apply(source: string, a: LateDataAnswer): boolean {
    if (a.reset) {
      this.opts.generations.bumpAll();
      this.invalidations.inc({ reason: 'reset' });
    }
    for (const [tenant, min, max] of a.bumps) this.opts.generations.bump(tenant, min, max);
    this.notices.inc(a.bumps.length);
    this.cursors.set(source, a.cursor);
    return a.more;
  }

  /** A poll of a source failed: nothing cached so far can be trusted. Its cursor is kept. */
  failed(source: string, why: string): void {
    this.opts.generations.bumpAll();
    this.invalidations.inc({ reason: 'poll_failed' });
    if (Date.now() - this.lastWarn >= 10_000) {
      this.lastWarn = Date.now();
      this.opts.logger?.warn({ querier: source, err: why }, 'late-data poll failed; every cached split invalidated');
    }
  }

  private async read(s: LateDataSource): Promise<LateDataAnswer> {
    const cursor = this.cursors.get(s.name);
    const r = await s.downstream.request({
      method: 'GET',
      path: lateDataPath(cursor, this.opts.freshnessMs),
      headers: {},
      signal: AbortSignal.timeout(this.opts.timeoutMs),
    });
    if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${r.body.toString('utf8').slice(0, 200)}`);
    const a = decodeLateDataAnswer(JSON.parse(r.body.toString('utf8')));
    if (!a) throw new Error('not a late-data answer');
    return a;
  }

  private async pollSource(s: LateDataSource): Promise<void> {
    for (let i = 0; i < MAX_READS_PER_POLL; i++) {
      let a: LateDataAnswer;
      try {
        a = await this.read(s);
      } catch (e) {
        this.failed(s.name, (e as Error)?.message ?? String(e));
        return;
      }
      if (!this.apply(s.name, a)) return;
    }
  }

  /** One poll of every source. */
  async poll(): Promise<void> {
    await Promise.all(this.opts.sources.map((s) => this.pollSource(s)));
  }

  /** Polls now, then every interval after the previous poll ended, until stop(). */
  start(): Promise<void> {
    const first = this.poll();
    const next = () => {
      if (this.stopped) return;
      this.timer = setTimeout(() => void this.poll().finally(next), this.opts.intervalMs);
      this.timer.unref();
    };
    void first.finally(next);
    return first;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
