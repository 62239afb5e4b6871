/** The receiver's per-tenant ingestion rate limiter (the limits themselves are @strata/api's). */
/** A token bucket of samples per tenant; refilled lazily on use. */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  /** Returns 0 when allowed, else the seconds after which a retry can succeed. */
  take(tenant: string, n: number, rate: number, burst: number, now = Date.now()): number {
    if (rate <= 0) return 0;
    let b = this.buckets.get(tenant);
    if (!b) {
      b = { tokens: burst, at: now };
      this.buckets.set(tenant, b);
    }
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * rate);
    b.at = now;
    // A request larger than the burst passes when the bucket is full, and then drains it below zero.
    if (b.tokens >= Math.min(n, burst)) {
      b.tokens -= n;
      return 0;
    }
    return Math.max(1, Math.ceil((Math.min(n, burst) - b.tokens) / rate));
  }
}
