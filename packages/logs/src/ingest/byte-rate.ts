/** A token bucket per tenant over log line bytes (Loki's ingestion_rate_mb / ingestion_burst_size_mb). */
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
    if (ratePerSec <= 0) return;
    const now = this.now();
    let b = this.buckets.get(tenant);
    if (!b) this.buckets.set(tenant, (b = { tokens: burst, at: now }));
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * ratePerSec);
    b.at = now;
    // A request larger than the burst could never pass: it is let through when the bucket is full.
    if (b.tokens >= bytes || b.tokens >= burst) {
      b.tokens -= bytes;
      return;
    }
    const wait = Math.max(1, Math.ceil((Math.min(bytes, burst) - b.tokens) / ratePerSec));
    throw new StrataError(
      'ingestion-rate-limited',
      `log ingestion rate limit (${(ratePerSec / 1024 / 1024).toFixed(1)} MB/s, ingestion_rate_mb) reached; ${bytes} bytes of lines refused`,
      { retryAfter: wait },
    );
  }
}
