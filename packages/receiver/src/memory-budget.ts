/**
 * The receiver's memory budget, checked before a request body is read. Past it, writes get 503
 * with Retry-After, so senders back off and retry, instead of the process growing until the
 * kernel OOM-kills it mid-write (the receivers' most common failure in the field).
 *
 * Two ceilings: resident memory against --receiver.memory-limit-bytes (by default 80% of the
 * cgroup memory limit or of the machine's memory), and the V8 heap against V8's own limit,
 * whose exhaustion is a crash that no error handler survives.
 */
import fs from 'node:fs';
import os from 'node:os';
import v8 from 'node:v8';
import { StrataError } from '@strata/model';

export interface MemoryReading {
  rss: number;
  heapUsed: number;
  heapLimit: number;
}

export function readMemory(): MemoryReading {
  const h = v8.getHeapStatistics();
  return { rss: process.memoryUsage.rss(), heapUsed: h.used_heap_size, heapLimit: h.heap_size_limit };
}

/** Fraction of the V8 heap limit past which writes are refused. */
export const HEAP_FRACTION = 0.9;
const DEFAULT_FRACTION = 0.8;
const RETRY_AFTER_SECONDS = 5;

/** The memory this process may use: the cgroup's limit (v2, then v1) when set, else the machine's. */
export function availableMemory(readFile: (p: string) => string = (p) => fs.readFileSync(p, 'utf8')): number {
  for (const p of ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes']) {
    try {
      const n = Number(readFile(p).trim());
      // v1 reports "no limit" as a huge number; v2 as "max" (NaN here).
      if (Number.isFinite(n) && n > 0 && n < os.totalmem()) return n;
    } catch {
      // not in a cgroup with that file: try the next
    }
  }
  return os.totalmem();
}

export function defaultMemoryLimit(): number {
  return Math.floor(availableMemory() * DEFAULT_FRACTION);
}

export class MemoryBudget {
  private checkedAt = -Infinity;
  private refusal: StrataError | undefined;

  /**
   * @param limitBytes resident-memory ceiling
   * @param read memory reader (injectable for tests)
   * @param intervalMs readings are reused this long: the check runs on every request
   */
  constructor(
    readonly limitBytes: number,
    private readonly read: () => MemoryReading = readMemory,
    private readonly intervalMs = 100,
  ) {}

  /** Throws a retryable 503 when the process is over its budget. */
  check(now = performance.now()): void {
    if (now - this.checkedAt >= this.intervalMs) {
      this.checkedAt = now;
      this.refusal = this.evaluate();
    }
    if (this.refusal) throw this.refusal;
  }

  private evaluate(): StrataError | undefined {
    const m = this.read();
    if (m.rss > this.limitBytes) {
      return new StrataError(
        'memory-budget-exceeded',
        `the receiver uses ${mib(m.rss)} of resident memory, above its budget of ${mib(this.limitBytes)} (--receiver.memory-limit-bytes); writes resume when memory is freed (head compaction, fewer series); retry later`,
        { retryAfter: RETRY_AFTER_SECONDS },
      );
    }
    if (m.heapUsed > HEAP_FRACTION * m.heapLimit) {
      return new StrataError(
        'memory-budget-exceeded',
        `the receiver's JavaScript heap holds ${mib(m.heapUsed)}, above ${HEAP_FRACTION * 100}% of its ${mib(m.heapLimit)} limit (raise it with NODE_OPTIONS=--max-old-space-size); retry later`,
        { retryAfter: RETRY_AFTER_SECONDS },
      );
    }
    return undefined;
  }
}

function mib(n: number): string {
  return `${(n / 1048576).toFixed(0)} MiB`;
}
