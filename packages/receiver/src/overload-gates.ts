/**
 * The receiver's overload gates, checked before and while a request body is read: the process is
 * starting (WAL replay), the disk is nearly full, the memory budget is spent, or too many request
 * bytes are in flight. Each answers 503 + Retry-After, so senders back off and retry instead of
 * dropping data, and the process never grows until the kernel kills it mid-write.
 */
import fs from 'node:fs';
import { Gauge, type Registry } from 'prom-client';
import { StrataError } from '@strata/model';
import type { MemoryBudget } from './memory-budget.js';

export const OVERLOAD_RETRY_AFTER_SECONDS = 5;
const DISK_CHECK_INTERVAL_MS = 5000;

export interface OverloadGatesOptions {
  maxInflightBytes: number;
  /** 0 disables the disk check. */
  diskMinFreeBytes: number;
  storagePath: string;
  memory?: MemoryBudget;
  /** False while the WAL is replaying (or the process shuts down): writes wait. */
  ready?: () => boolean;
  registry: Registry;
}

/** Bytes of one request counted against the in-flight budget until released. */
export interface Reservation {
  /** Counts more bytes (a body larger than its Content-Length); throws 503 past the budget. */
  grow(bytes: number): void;
  release(): void;
}

export class OverloadGates {
  private inflight = 0;
  private diskCheckedAt = 0;
  private diskLow = false;
  private readonly gauge: Gauge;

  constructor(private readonly opts: OverloadGatesOptions) {
    this.gauge = new Gauge({
      name: 'strata_inflight_request_bytes',
      help: 'Remote-write request bytes being processed.',
      registers: [opts.registry],
    });
  }

  /** Bytes of request bodies being processed now. */
  get inflightBytes(): number {
    return this.inflight;
  }

  /** The gates that need no request: replay, disk, memory. */
  check(): void {
    if (this.opts.ready && !this.opts.ready())
      throw new StrataError('not-ready', 'the receiver is replaying its write-ahead log; retry shortly', {
        retryAfter: OVERLOAD_RETRY_AFTER_SECONDS,
      });
    this.checkDisk();
    this.opts.memory?.check();
  }

  /** Reserves `bytes` (the declared body size) of the in-flight budget, or throws 503. */
  reserve(bytes: number): Reservation {
    if (this.inflight + bytes > this.opts.maxInflightBytes) throw this.tooManyInflight();
    let held = 0;
    const add = (n: number) => {
      this.inflight += n;
      held += n;
      this.gauge.set(this.inflight);
    };
    add(bytes);
    let released = false;
    return {
      grow: (n) => {
        add(n);
        if (this.inflight > this.opts.maxInflightBytes) throw this.tooManyInflight();
      },
      release: () => {
        if (released) return;
        released = true;
        add(-held);
      },
    };
  }

  private tooManyInflight(): StrataError {
    return new StrataError(
      'too-many-inflight-bytes',
      `the receiver is processing ${this.inflight} request bytes, above --receiver.max-inflight-bytes (${this.opts.maxInflightBytes}); retry later`,
      { retryAfter: OVERLOAD_RETRY_AFTER_SECONDS },
    );
  }

  /** statfs at most every few seconds: it is a syscall per request otherwise. */
  private checkDisk(): void {
    const { diskMinFreeBytes, storagePath } = this.opts;
    if (diskMinFreeBytes <= 0) return;
    const t = Date.now();
    if (t - this.diskCheckedAt >= DISK_CHECK_INTERVAL_MS) {
      this.diskCheckedAt = t;
      try {
        const st = fs.statfsSync(storagePath);
        this.diskLow = st.bavail * st.bsize < diskMinFreeBytes;
      } catch {
        this.diskLow = false; // the path may not exist yet; the WAL write itself will report real failures
      }
    }
    if (this.diskLow) {
      throw new StrataError(
        'disk-nearly-full',
        `free disk space under ${storagePath} is below --receiver.min-free-disk-bytes (${diskMinFreeBytes} bytes); writes resume when space is freed`,
        { retryAfter: OVERLOAD_RETRY_AFTER_SECONDS * 6 },
      );
    }
  }
}
