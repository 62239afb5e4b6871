/**
 * Token buckets over log line bytes, one per key: a tenant (Loki's ingestion_rate_mb /
 * ingestion_burst_size_mb) or a tenant's stream (per_stream_rate_limit / _burst).
 */
import { StrataError } from '@strata/model';

interface Bucket {
  tokens: number;
  at: number;
}

export class ByteRateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Takes `bytes` or throws 503 + Retry-After; a rate of 0 is unlimited. */
  take(tenant: string, bytes: number, ratePerSec: number, burst: number): void {
    const wait = this.tryTake(tenant, bytes, ratePerSec, burst);
    if (wait === 0) return;
    throw new StrataError(
      'ingestion-rate-limited',
      `log ingestion rate limit (${(ratePerSec / 1024 / 1024).toFixed(2)} MB/s on this receiver: ingestion_rate_mb shared by the receivers taking the tenant's pushes) reached; ${bytes} bytes of lines refused`,
      { retryAfter: wait },
    );
  }

  /** Takes `bytes` and answers 0, or takes nothing and answers the seconds to wait before a retry can pass. */
  tryTake(key: string, bytes: number, ratePerSec: number, burst: number): number {
    if (ratePerSec <= 0) return 0;
    const now = this.now();
    let b = this.buckets.get(key);
    if (!b) this.buckets.set(key, (b = { tokens: burst, at: now }));
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * ratePerSec);
    b.at = now;
    // A request larger than the burst could never pass: it is let through when the bucket is full.
    if (b.tokens >= bytes || b.tokens >= burst) {
      b.tokens -= bytes;
      return 0;
    }
    return Math.max(1, Math.ceil((Math.min(bytes, burst) - b.tokens) / ratePerSec));
  }

  /**
   * Forgets buckets untouched for `idleMs`: a bucket idle for burst/rate seconds is full again,
   * exactly as a new one, so with idleMs at least that long forgetting changes no answer.
   */
  prune(idleMs: number): void {
    const before = this.now() - idleMs;
    for (const [k, b] of this.buckets) if (b.at < before) this.buckets.delete(k);
  }

  get size(): number {
    return this.buckets.size;
  }
}
