/**
 * Several queriers behind one frontend, with Mimir's shuffle sharding of tenants over them
 * (max_queriers_per_tenant): a tenant's requests go only to its own N queriers, chosen by
 * rendezvous hashing of the tenant over the queriers' names. The choice is stable (every frontend
 * computes the same set without coordination, and adding a querier moves a tenant only when the new
 * one wins a place), and a tenant whose queries crash or saturate queriers takes down at most its
 * N, so tenants whose sets differ keep being answered. Among its queriers a request goes to the
 * one with the fewest requests in flight from this frontend; a retry after a failure prefers a
 * querier that did not just fail it.
 *
 * The per-tenant queue stays in front of the pool (tenant-queue.ts): fairness between tenants is
 * decided there, the pool only decides where a dispatched request goes.
 */
import { owners } from '@strata/ring';
import type { Downstream, DownstreamRequest, DownstreamResponse, UpgradeOutcome, UpgradeRequest } from './downstream.js';

export interface PoolMember {
  /** Stable name of the querier (its URL): what the tenant's shuffle shard is computed from. */
  name: string;
  downstream: Downstream;
}

/**
 * The names of the queriers a tenant may use: n of them by rendezvous hash, or all of them when
 * n is 0 (unlimited) or at least their number.
 */
export function tenantQueriers(tenant: string, names: readonly string[], n: number): string[] {
  if (!(n > 0) || n >= names.length) return [...names];
  return owners(tenant, names, n);
}

export class QuerierPool implements Downstream {
  private readonly inFlight = new Map<string, number>();
  private readonly byName = new Map<string, Downstream>();
  private readonly names: string[];
  /** The querier that last failed a request, per request: a retry goes elsewhere when it can. */
  private readonly lastFailed = new WeakMap<DownstreamRequest, string>();

  /** maxQueriers: the tenant's max_queriers_per_tenant (0 = every querier). */
  constructor(
    members: readonly PoolMember[],
    private readonly maxQueriers: (tenant: string) => number,
  ) {
    if (members.length === 0) throw new Error('a querier pool needs at least one querier');
    for (const m of members) {
      if (this.byName.has(m.name)) throw new Error(`querier ${m.name} is listed twice`);
      this.byName.set(m.name, m.downstream);
      this.inFlight.set(m.name, 0);
    }
    this.names = members.map((m) => m.name);
  }

  /** Where a request of this tenant would go now (exported for tests and the stats log). */
  pick(tenant: string, avoid?: string): string {
    const allowed = tenantQueriers(tenant, this.names, this.maxQueriers(tenant));
    let best: string | undefined;
    let bestLoad = Infinity;
    for (const name of allowed) {
      // A querier that just failed this request counts as fully loaded: used only if it is the only one.
      const load = name === avoid && allowed.length > 1 ? Number.MAX_SAFE_INTEGER : this.inFlight.get(name)!;
      if (load < bestLoad) [best, bestLoad] = [name, load];
    }
    return best!;
  }

  async request(r: DownstreamRequest): Promise<DownstreamResponse> {
    const name = this.pick(r.tenant ?? '', this.lastFailed.get(r));
    this.inFlight.set(name, this.inFlight.get(name)! + 1);
    try {
      const res = await this.byName.get(name)!.request(r);
      if (res.status >= 500) this.lastFailed.set(r, name);
      return res;
    } catch (e) {
      this.lastFailed.set(r, name);
      throw e;
    } finally {
      this.inFlight.set(name, this.inFlight.get(name)! - 1);
    }
  }

  /** An upgrade (a live tail) goes to the least busy of the tenant's queriers. */
  upgrade(r: UpgradeRequest): Promise<UpgradeOutcome> {
    const d = this.byName.get(this.pick(r.tenant ?? ''))!;
    if (!d.upgrade) return Promise.reject(new Error('this querier cannot take upgrades'));
    return d.upgrade(r);
  }

  close(): void {
    for (const d of this.byName.values()) (d as { close?: () => void }).close?.();
  }
}
