/**
 * Cache generations per tenant and time bucket: the results cache's defence against late data.
 *
 * Whatever changes samples older than the freshness window (a receiver accepting an out-of-order
 * sample, a deletion, a block uploaded into a range already cached) bumps the generation of the
 * buckets its samples fall in. A cached split's key carries the sum of the generations of every
 * bucket its steps can read (see data-window.ts); generations only grow, so the sum over a fixed
 * set of buckets changes with any bump among them and a stale extent is never found again.
 *
 * Ordering: the writer bumps after its samples are visible to queries, and the frontend reads
 * the generations before it asks the queriers. A query racing a write therefore either saw the
 * sample or stores its answer under the old key, which nobody reads after the bump.
 *
 * The process start is part of every key (`epoch`): generations live in memory, so after a
 * restart entries left in a shared cache (memcached) from before are never trusted.
 */
import { randomBytes } from 'node:crypto';

/** What a writer calls when it accepted samples older than the freshness window (ms range). */
export type LateDataHook = (tenant: string, minTime: number, maxTime: number) => void;

/** A bump over more buckets than this bumps the tenant's whole history instead (bounded work). */
const MAX_BUCKETS_PER_BUMP = 10_000;

export class Generations {
  private readonly byTenant = new Map<string, Map<number, number>>();
  /** Per tenant, a generation counted into every sum: bumped by bumps too wide to do per bucket. */
  private readonly whole = new Map<string, number>();
  /** Counted into every tenant's every sum: bumped when what changed is unknown (bumpAll). */
  private all = 0;
  readonly epoch = randomBytes(6).toString('hex');

  constructor(readonly bucketMs: number) {}

  bump(tenant: string, minTime: number, maxTime: number): void {
    let m = this.byTenant.get(tenant);
    if (!m) this.byTenant.set(tenant, (m = new Map()));
    const first = Math.floor(minTime / this.bucketMs);
    const last = Math.floor(maxTime / this.bucketMs);
    if (!(last - first < MAX_BUCKETS_PER_BUMP)) {
      this.whole.set(tenant, (this.whole.get(tenant) ?? 0) + 1);
      return;
    }
    for (let b = first; b <= last; b++) m.set(b, (m.get(b) ?? 0) + 1);
  }

  /**
   * Every tenant's whole history changed, as far as anyone knows (a source of late-data notices
   * restarted, lost notices or could not be read): no split cached until now is served again.
   */
  bumpAll(): void {
    this.all++;
  }

  /** Sum of the generations of the buckets overlapping [from, to]. */
  sum(tenant: string, from: number, to: number): number {
    const base = this.all + (this.whole.get(tenant) ?? 0);
    const m = this.byTenant.get(tenant);
    if (!m || !(to >= from)) return base;
    const first = Math.floor(from / this.bucketMs);
    const last = Math.floor(to / this.bucketMs);
    let s = base;
    if (last - first + 1 > m.size) {
      for (const [b, g] of m) if (b >= first && b <= last) s += g;
    } else for (let b = first; b <= last; b++) s += m.get(b) ?? 0;
    return s;
  }
}
