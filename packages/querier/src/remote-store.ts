/**
 * A store queried over HTTP with the standard protocols only: remote-read (streamed XOR chunks,
 * and native histogram chunks) for samples, and the Prometheus series/label endpoints for metadata. The store's time range
 * comes from its /api/v1/status/stores info endpoint and is refreshed periodically. A query that
 * may read rollups says so in a header a Strata store understands (docs/format/rollup-read.md):
 * the store then answers from rollups with their side data, as it would in-process; any other
 * store ignores the header and answers raw data.
 */
import {
  compareCodeUnits,
  Labels,
  sortUnique,
  StrataError,
  type Matcher,
  type Querier,
  type Queryable,
  type SelectHints,
  type Series,
} from '@strata/model';
import {
  CHUNK_TYPE_FLOAT_HISTOGRAM,
  CHUNK_TYPE_HISTOGRAM,
  decodeChunkedFrames,
  encodeReadRequest,
  RESPONSE_STREAMED_XOR_CHUNKS,
  snappyEncode,
} from '@strata/remote';
import { decodeSeriesTypedChunks } from '@strata/tsdb';
import {
  CHUNK_TYPE_ROLLUP_PART,
  decodeRollupParts,
  decodeSeriesChunks,
  MAX_SOURCE_RESOLUTION_HEADER,
  ROLLUP_PARTS_HEADER,
  type HttpClient,
} from '@strata/api';
import type { Store } from './fanout.js';
import { parseStoreRole, STORE_ROLE_HEADER, type StoreRole } from './store-ranges.js';

export interface RemoteStoreOptions {
  url: string;
  tenantHeader: string;
  timeoutMs: number;
  /** TLS and credentials for this store (Prometheus' tls_config/basic_auth/authorization). */
  client?: HttpClient;
}

type FetchInit = { method?: string; body?: Buffer | URLSearchParams; headers?: Record<string, string>; signal?: AbortSignal };

function send(o: RemoteStoreOptions, url: string, init: FetchInit): Promise<Response> {
  return o.client ? o.client.fetch(url, init) : fetch(url, init);
}

type StoreInfo = Record<string, { minTime: number; maxTime: number }>;

/** Tenants not queried for this long stop being refreshed. */
const FORGET_TENANT_MS = 10 * 60_000;

export class RemoteStore implements Store, Queryable {
  readonly name: string;
  /** Per tenant, the store's last answer; a tenant missing here is unknown (always asked). */
  private readonly info = new Map<string, { minTime: number; maxTime: number }>();
  /** Tenants queried recently, with when: a store tells each tenant only its own range. */
  private readonly asked = new Map<string, number>();
  /** What the store said it serves at the last refresh; undefined (always asked) until it says. */
  private storeRole: StoreRole | undefined;

  constructor(private readonly opts: RemoteStoreOptions) {
    this.name = opts.url;
  }

  /**
   * Forwards Prometheus' delete_series to the store (a receiver or store gateway with its admin API
   * on): it records the tombstones in the bucket and hides the samples from its reads. Idempotent.
   */
  async deleteSeries(tenant: string, selectors: readonly (readonly Matcher[])[], start: number, end: number): Promise<void> {
    const form = new URLSearchParams();
    for (const ms of selectors) form.append('match[]', selector(ms));
    // The whole range is the default: sentinels are not sent, they do not survive seconds.
    if (start > Number.MIN_SAFE_INTEGER) form.set('start', String(start / 1000));
    if (end < Number.MAX_SAFE_INTEGER) form.set('end', String(end / 1000));
    const r = await send(this.opts, `${this.opts.url}/api/v1/admin/tsdb/delete_series`, {
      method: 'POST',
      body: form,
      headers: { [this.opts.tenantHeader]: tenant, 'Content-Type': 'application/x-www-form-urlencoded' },
      signal: AbortSignal.timeout(this.opts.timeoutMs),
    });
    if (r.status !== 204)
      throw new StrataError('store-unavailable', `${this.name}: delete_series: HTTP ${r.status}: ${(await r.text()).slice(0, 500)}`);
  }

  /** Refreshes the store's time ranges of the tenants queried lately; unknown when it fails. */
  async refresh(): Promise<void> {
    const now = Date.now();
    await Promise.all([
      this.refreshRole(),
      ...[...this.asked].map(async ([tenant, at]) => {
        if (now - at > FORGET_TENANT_MS) {
          this.asked.delete(tenant);
          this.info.delete(tenant);
          return;
        }
        await this.refreshTenant(tenant);
      }),
    ]);
  }

  private async refreshTenant(tenant: string): Promise<void> {
    try {
      const r = await send(this.opts, `${this.opts.url}/api/v1/status/stores`, {
        headers: { [this.opts.tenantHeader]: tenant },
        signal: AbortSignal.timeout(this.opts.timeoutMs),
      });
      const range = ((await r.json()) as { data?: StoreInfo }).data?.[tenant];
      if (r.status === 200 && range) this.info.set(tenant, range);
      else this.info.delete(tenant);
    } catch {
      this.info.delete(tenant);
    }
  }

  /** Asks the store what it serves (a header on its store info, answered without a tenant too). */
  private async refreshRole(): Promise<void> {
    try {
      const r = await send(this.opts, `${this.opts.url}/api/v1/status/stores`, { signal: AbortSignal.timeout(this.opts.timeoutMs) });
      await r.arrayBuffer();
      this.storeRole = parseStoreRole(r.headers.get(STORE_ROLE_HEADER));
    } catch {
      this.storeRole = undefined;
    }
  }

  /** What the store serves, as it last said: a receiver or a store gateway; undefined when unknown. */
  role(): StoreRole | undefined {
    return this.storeRole;
  }

  /** Forgets the tenant's time range (every tenant's when undefined): the store has data outside it. */
  forget(tenant: string | undefined): void {
    if (tenant === undefined) this.info.clear();
    else this.info.delete(tenant);
  }

  /** Known range of a tenant, or undefined (ask the store) when unknown: it may have new data since. */
  timeRange(tenant: string): { minTime: number; maxTime: number } | undefined {
    // A tenant seen for the first time is looked up at once, not at the next periodic refresh.
    if (!this.asked.has(tenant)) void this.refreshTenant(tenant);
    this.asked.set(tenant, Date.now());
    return this.info.get(tenant);
  }

  get queryable(): Queryable {
    return this;
  }

  querier(tenant: string): Querier {
    return new RemoteQuerier(this.opts, tenant);
  }
}

class RemoteQuerier implements Querier {
  constructor(
    private readonly opts: RemoteStoreOptions,
    private readonly tenant: string,
  ) {}

  private signal(hints: SelectHints): AbortSignal {
    const t = AbortSignal.timeout(this.opts.timeoutMs);
    return hints.signal ? AbortSignal.any([hints.signal, t]) : t;
  }

  async select(matchers: readonly Matcher[], hints: SelectHints): Promise<Series[]> {
    const body = snappyEncode(
      encodeReadRequest({
        queries: [
          {
            startMs: finite(hints.start, -8.64e15),
            endMs: finite(hints.end, 8.64e15),
            matchers: [...matchers],
            hints:
              hints.step || hints.range
                ? {
                    stepMs: hints.step ?? 0,
                    func: hints.func ?? '',
                    startMs: hints.start,
                    endMs: hints.end,
                    grouping: [],
                    by: false,
                    rangeMs: hints.range ?? 0,
                  }
                : undefined,
          },
        ],
        acceptedResponseTypes: [RESPONSE_STREAMED_XOR_CHUNKS],
      }),
    );
    const r = await send(this.opts, `${this.opts.url}/api/v1/read`, {
      method: 'POST',
      body,
      headers: {
        'Content-Type': 'application/x-protobuf',
        'Content-Encoding': 'snappy',
        [this.opts.tenantHeader]: this.tenant,
        ...(hints.maxResolution ? { [MAX_SOURCE_RESOLUTION_HEADER]: String(hints.maxResolution), [ROLLUP_PARTS_HEADER]: '1' } : {}),
      },
      signal: this.signal(hints),
    });
    const buf = Buffer.from(await r.arrayBuffer());
    if (r.status !== 200) throw storeError(r.status, buf.toString().slice(0, 500));
    const out: Series[] = [];
    const frames = decodeChunkedFrames(buf);
    if (hints.budget) {
      // The store's answer is charged before it is decoded (remote-read streams whole series).
      let bytes = 0;
      for (const cs of frames) for (const c of cs.chunks) bytes += c.data.length;
      hints.budget.series(frames.length);
      hints.budget.bytes(bytes);
    }
    for (const cs of frames) {
      if (cs.chunks[0]?.type === CHUNK_TYPE_ROLLUP_PART) {
        // Rollup parts: joined here, as the store would have joined them (rollup-read.ts).
        const s = decodeRollupParts(cs.labels, cs.chunks);
        if (s) out.push(s);
      } else if (cs.chunks.some((c) => c.type === CHUNK_TYPE_HISTOGRAM || c.type === CHUNK_TYPE_FLOAT_HISTOGRAM)) {
        // Native histograms (chunk types 2 and 3) beside XOR chunks; rollups never carry them.
        const chunks = cs.chunks.map((c) => ({ encoding: c.type, data: c.data }));
        const s = decodeSeriesTypedChunks(cs.labels, chunks, hints.start, hints.end);
        out.push(s ?? { labels: cs.labels, timestamps: new Float64Array(0), values: new Float64Array(0) });
      } else {
        const { timestamps, values, rollup } = decodeSeriesChunks(cs.chunks, hints.start, hints.end);
        out.push(rollup ? { labels: cs.labels, timestamps, values, rollup } : { labels: cs.labels, timestamps, values });
      }
      // Remote-read has no limit field; the stream comes in label order, so the first ones are kept.
      if (hints.limit && out.length >= hints.limit) break;
    }
    return out;
  }

  private async api<T>(path: string, params: URLSearchParams, hints: SelectHints): Promise<T> {
    if (Number.isFinite(hints.start)) params.set('start', String(hints.start / 1000));
    if (Number.isFinite(hints.end)) params.set('end', String(hints.end / 1000));
    const r = await send(this.opts, `${this.opts.url}${path}`, {
      method: 'POST',
      body: params,
      headers: { [this.opts.tenantHeader]: this.tenant },
      signal: this.signal(hints),
    });
    const body = (await r.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw storeError(r.status, body.error ?? '');
    return body.data;
  }

  async series(matchers: readonly Matcher[], hints: SelectHints): Promise<Labels[]> {
    const p = new URLSearchParams();
    p.append('match[]', selector(matchers));
    if (hints.limit) p.set('limit', String(hints.limit));
    // The store answers in label order; cut here too, for a store that ignores limit=.
    const found = (await this.api<Record<string, string>[]>('/api/v1/series', p, hints)).map((o) => Labels.fromObject(o));
    // In this process's order (a store in Go sorts UTF-8 bytes): the fan-out merges sorted lists.
    const sorted = sortUnique(found, Labels.compare);
    return hints.limit ? sorted.slice(0, hints.limit) : sorted;
  }

  async labelNames(matchers: readonly Matcher[], hints: SelectHints): Promise<string[]> {
    const p = new URLSearchParams();
    if (matchers.length) p.append('match[]', selector(matchers));
    return sortUnique(await this.api<string[]>('/api/v1/labels', p, hints), compareCodeUnits);
  }

  async labelValues(name: string, matchers: readonly Matcher[], hints: SelectHints): Promise<string[]> {
    const p = new URLSearchParams();
    if (matchers.length) p.append('match[]', selector(matchers));
    return sortUnique(await this.api<string[]>(`/api/v1/label/${encodeURIComponent(name)}/values`, p, hints), compareCodeUnits);
  }
}

function finite(v: number, fallback: number): number {
  return Number.isFinite(v) ? v : fallback;
}

/** Matchers back into a selector string for the JSON APIs (quoted names are always valid). */
function selector(ms: readonly Matcher[]): string {
  return `{${ms.map((m) => `${JSON.stringify(m.name)}${m.type}${JSON.stringify(m.value)}`).join(', ')}}`;
}

function storeError(status: number, body: string): StrataError {
  // A store's limit error is the query's problem (422); anything else means the store failed.
  if (status === 422) return new StrataError('query-execution', body);
  return new StrataError('store-unavailable', `HTTP ${status}: ${body}`);
}
