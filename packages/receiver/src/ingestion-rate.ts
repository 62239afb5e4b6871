/**
 * Per-tenant ingestion rate limits, charged once per client sample (Mimir's model).
 *
 * The limit (`ingestion_rate`, samples/s) is global per tenant. It is charged only where a
 * client's request enters the ring: the receiver the client sent it to. The shares that receiver
 * forwards to the other replicas are never charged again, so replication does not shrink the
 * tenant's limit by the replication factor.
 *
 * Clients may spread a tenant's traffic over several receivers (a load balancer in front of the
 * ring). As Mimir's distributors do, each receiver that takes client traffic for the tenant
 * enforces limit / k, where k is the number of receivers that took client traffic for it in the
 * last ROUTER_WINDOW_MS. Receivers learn each other without a separate membership protocol: a
 * forwarded request names the receiver that took it from the client (FORWARDED_HEADER), and every
 * receiver that takes client traffic forwards to its peers. The burst is not divided (as in
 * Mimir), so a tenant can burst on every entry point.
 */
import { StrataError } from '@strata/model';
import type { Limits } from '@strata/api';
import { RateLimiter } from './limits.js';
import { limitHint } from './validate.js';

/** How long a receiver counts as taking a tenant's client traffic after its last forward. */
export const ROUTER_WINDOW_MS = 30_000;

export interface IngestionRateOptions {
  limits: Limits;
  /** Status of a rejection: 503 (retried by every Prometheus) or 429. */
  status: 429 | 503;
  now?: () => number;
}

export class IngestionRate {
  private readonly bucket = new RateLimiter();
  /** tenant -> other receivers that took its client traffic -> when last seen. */
  private readonly routers = new Map<string, Map<string, number>>();
  private readonly now: () => number;

  constructor(private readonly opts: IngestionRateOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** A forwarded request from `router`: that receiver takes client traffic for the tenant. */
  noteRouter(tenant: string, router: string): void {
    let m = this.routers.get(tenant);
    if (!m) this.routers.set(tenant, (m = new Map()));
    if (m.size < 1024 || m.has(router)) m.set(router, this.now());
  }

  /** Receivers taking client traffic for the tenant, this one included. */
  entryPoints(tenant: string): number {
    const m = this.routers.get(tenant);
    if (!m) return 1;
    const since = this.now() - ROUTER_WINDOW_MS;
    for (const [r, at] of m) if (at < since) m.delete(r);
    return 1 + m.size;
  }

  /** Charges a client request of `samples`; throws the configured 503/429 when over the limit. */
  charge(tenant: string, samples: number): void {
    const limits = this.opts.limits.forTenant(tenant);
    if (limits.ingestionRate <= 0) return;
    const k = this.entryPoints(tenant);
    const rate = limits.ingestionRate / k;
    const wait = this.bucket.take(tenant, samples, rate, limits.ingestionBurstSize, this.now());
    if (wait > 0) {
      const share = k > 1 ? ` (${rate.toFixed(0)} samples/s on each of the ${k} receivers taking this tenant's traffic)` : '';
      throw new StrataError(
        'ingestion-rate-limited',
        `the request has been rejected because the tenant exceeded its ingestion rate limit, set to ${limits.ingestionRate} samples/s${share} with a maximum allowed burst of ${limits.ingestionBurstSize}; this request would add ${samples} samples. ${limitHint('ingestionRate')}`,
        { status: this.opts.status, retryAfter: wait },
      );
    }
  }
}
