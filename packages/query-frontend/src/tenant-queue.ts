/**
 * The queue between the frontend and its queriers (the query-scheduler design, in process): every
 * sub-query waits in its tenant's FIFO, and a fixed number of downstream slots (the queriers'
 * capacity) take work from the tenants in turn. A tenant that queues 50 expensive queries
 * therefore delays another tenant's query by at most one slot's worth of work per turn, not by
 * the whole backlog. A tenant with `maxOutstandingPerTenant` sub-queries waiting is refused with
 * 429 and Retry-After instead of growing the queue without bound.
 */
import { StrataError } from '@strata/model';

interface Job {
  run: () => void;
  cancel: () => void;
}

export interface TenantQueueOptions {
  /** Sub-queries executing downstream at once, over all tenants. */
  concurrency: number;
  maxOutstandingPerTenant: number;
  onQueueLength?: (n: number) => void;
}

export class TenantQueue {
  private readonly queues = new Map<string, Job[]>();
  /** Tenants with waiting work, in the order they are served. */
  private readonly ring: string[] = [];
  private next = 0;
  private running = 0;
  private waiting = 0;

  constructor(private readonly opts: TenantQueueOptions) {}

  /** Runs `fn` when a slot is free and it is this tenant's turn; resolves with `queueMs` spent waiting. */
  run<T>(tenant: string, signal: AbortSignal, fn: () => Promise<T>): Promise<{ value: T; queueMs: number }> {
    if (signal.aborted) return Promise.reject(new StrataError('query-canceled', 'the client went away; query canceled'));
    const q = this.queues.get(tenant) ?? [];
    if (q.length >= this.opts.maxOutstandingPerTenant) {
      return Promise.reject(
        new StrataError(
          'too-many-outstanding-requests',
          `tenant ${tenant} has ${q.length} queries waiting, the limit (--query-frontend.max-outstanding-requests-per-tenant); retry later`,
          { retryAfter: 1 },
        ),
      );
    }
    const queued = performance.now();
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const list = this.queues.get(tenant);
        const i = list ? list.indexOf(job) : -1;
        if (i >= 0) {
          list!.splice(i, 1);
          this.waiting--;
          this.opts.onQueueLength?.(this.waiting);
          if (list!.length === 0) this.dropTenant(tenant);
        }
        reject(new StrataError('query-canceled', 'the client went away; query canceled'));
      };
      const job: Job = {
        run: () => {
          signal.removeEventListener('abort', onAbort);
          const queueMs = performance.now() - queued;
          fn().then(
            (value) => {
              this.done();
              resolve({ value, queueMs });
            },
            (e) => {
              this.done();
              reject(e);
            },
          );
        },
        cancel: onAbort,
      };
      signal.addEventListener('abort', onAbort, { once: true });
      if (!this.queues.has(tenant)) {
        this.queues.set(tenant, q);
        this.ring.push(tenant);
      }
      q.push(job);
      this.waiting++;
      this.opts.onQueueLength?.(this.waiting);
      this.dispatch();
    });
  }

  private done(): void {
    this.running--;
    this.dispatch();
  }

  private dropTenant(tenant: string): void {
    this.queues.delete(tenant);
    const i = this.ring.indexOf(tenant);
    if (i >= 0) {
      this.ring.splice(i, 1);
      if (i < this.next) this.next--;
    }
  }

  private dispatch(): void {
    while (this.running < this.opts.concurrency && this.ring.length > 0) {
      if (this.next >= this.ring.length) this.next = 0;
      const tenant = this.ring[this.next];
      const q = this.queues.get(tenant)!;
      const job = q.shift()!;
      this.waiting--;
      if (q.length === 0) this.dropTenant(tenant);
      else this.next++;
      this.running++;
      this.opts.onQueueLength?.(this.waiting);
      job.run();
    }
  }
}
