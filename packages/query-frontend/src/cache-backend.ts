/**
 * Where cached extents live: a byte-bounded in-memory LRU (the default) or memcached. A backend
 * never fails a query: a get that errors is a miss, a set that errors is dropped.
 */
import memjs from 'memjs';
import { Counter, type Registry } from 'prom-client';

export interface CacheBackend {
  get(key: string): Promise<Buffer | undefined>;
  set(key: string, value: Buffer): Promise<void>;
  close(): Promise<void>;
  /**
   * In-process backends may keep values as objects: no serialisation on either side (a day's
   * extent of a dashboard panel is megabytes of JSON). `bytes` is the caller's estimate of its size.
   */
  getObject?(key: string): unknown;
  setObject?(key: string, value: unknown, bytes: number): void;
}

/** Least recently used entries go first once the keys and values exceed `maxBytes`. */
export class MemoryCache implements CacheBackend {
  private readonly entries = new Map<string, { value: unknown; size: number; stored: number }>();
  private bytes = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async get(key: string): Promise<Buffer | undefined> {
    const v = this.getObject(key);
    return Buffer.isBuffer(v) ? v : undefined;
  }

  async set(key: string, value: Buffer): Promise<void> {
    this.setObject(key, value, value.length);
  }

  getObject(key: string): unknown {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    if (this.ttlMs > 0 && this.now() - e.stored > this.ttlMs) {
      this.delete(key);
      return undefined;
    }
    // Re-inserting moves the entry to the young end of the Map's order.
    this.entries.delete(key);
    this.entries.set(key, e);
    return e.value;
  }

  setObject(key: string, value: unknown, bytes: number): void {
    this.delete(key);
    const size = key.length + bytes;
    if (size > this.maxBytes) return;
    this.entries.set(key, { value, size, stored: this.now() });
    this.bytes += size;
    for (const k of this.entries.keys()) {
      if (this.bytes <= this.maxBytes) break;
      this.delete(k);
    }
  }

  private delete(key: string): void {
    const e = this.entries.get(key);
    if (e === undefined) return;
    this.entries.delete(key);
    this.bytes -= e.size;
  }

  /** Bytes held (keys and values). */
  size(): number {
    return this.bytes;
  }

  async close(): Promise<void> {
    this.entries.clear();
    this.bytes = 0;
  }
}

export interface MemcachedOptions {
  /** host:port list. */
  addresses: string[];
  ttlSeconds: number;
  /** Per operation; a slow memcached must not slow queries down much. */
  timeoutMs: number;
  onError?: (e: unknown) => void;
  /** Where strata_query_frontend_results_cache_errors_total is registered. */
  registry?: Registry;
}

export class MemcachedCache implements CacheBackend {
  private readonly client: memjs.Client;
  private readonly errors: Counter | undefined;

  constructor(private readonly opts: MemcachedOptions) {
    this.errors = opts.registry
      ? new Counter({
          name: 'strata_query_frontend_results_cache_errors_total',
          help: 'Failed memcached operations of the results cache (the query went on uncached).',
          registers: [opts.registry],
        })
      : undefined;
    this.client = memjs.Client.create(opts.addresses.join(','), {
      retries: 0,
      timeout: opts.timeoutMs / 1000,
      conntimeout: opts.timeoutMs / 1000,
      expires: opts.ttlSeconds,
      keepAlive: true,
      failover: opts.addresses.length > 1,
      logger: { log: () => undefined },
    });
  }

  async get(key: string): Promise<Buffer | undefined> {
    try {
      const r = await this.bounded(this.client.get(key));
      return r.value ?? undefined;
    } catch (e) {
      this.failed(e);
      return undefined;
    }
  }

  async set(key: string, value: Buffer): Promise<void> {
    try {
      await this.bounded(this.client.set(key, value, { expires: this.opts.ttlSeconds }));
    } catch (e) {
      this.failed(e);
    }
  }

  /**
   * memjs' own timeout is the socket's idle timeout, which new requests keep resetting: a
   * memcached that stops answering while queries keep coming would hang them all. Every
   * operation gets its own deadline instead (responses are matched to requests by their opaque
   * field, so an answer arriving after its deadline cannot reach another request).
   */
  private bounded<T>(p: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`memcached did not answer within ${this.opts.timeoutMs} ms`)), this.opts.timeoutMs);
    });
    p.catch(() => undefined);
    return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
  }

  private failed(e: unknown): void {
    this.errors?.inc();
    this.opts.onError?.(e);
  }

  async close(): Promise<void> {
    this.client.close();
  }
}
