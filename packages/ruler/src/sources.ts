/**
 * The ruler's queries and writes, in-process (the PromQL engine over a Queryable) or over HTTP
 * (the Prometheus query API of a querier or query frontend, remote-write to a receiver), and
 * writes straight into a write path of the same process.
 */
import { isStrataError, Labels, type Matcher, type Queryable } from '@strata/model';
import { parse, type Engine, type Expr } from '@strata/promql';
import { encodeWriteRequestV1, snappyEncode, WriteBatch, type SeriesToWrite } from '@strata/remote';
import type { Appendable, InstantVector, LastSample, RuleQueries, RuleSamples, RuleWriter } from './interfaces.js';

// Prometheus' stale marker, 0x7ff0000000000002, as little-endian 32-bit words.
const STALE_LO = 0x00000002;
const STALE_HI = 0x7ff00000;

const MAX_PARSED = 50_000;

/** Queries evaluated by an engine in this process. */
export function engineQueries(engine: Pick<Engine, 'instantQuery'>, queryable: Queryable, timeoutMs?: number): RuleQueries {
  // Rules ask the same expressions every round, and parsing one costs about as much as evaluating a
  // small rule: each is parsed once (the set is bounded by the ruler_max_* limits; the cache is
  // emptied when it outgrows them, e.g. after many edits).
  const parsed = new Map<string, Expr>();
  const exprOf = (text: string): Expr => {
    let e = parsed.get(text);
    if (!e) {
      if (parsed.size >= MAX_PARSED) parsed.clear();
      parsed.set(text, (e = parse(text)));
    }
    return e;
  };
  return {
    async instant(tenant, expr, tMs, signal) {
      const out = await engine.instantQuery(queryable.querier(tenant), exprOf(expr), tMs, { signal, timeoutMs, text: expr, source: expr });
      const r = out.result;
      if (r.resultType === 'vector') {
        const values = new Float64Array(r.vector.length);
        r.vector.forEach((s, i) => (values[i] = s.v));
        return { labels: r.vector.map((s) => s.labels), values };
      }
      if (r.resultType === 'scalar') return { labels: [Labels.EMPTY], values: Float64Array.of(r.v) };
      throw new Error('rule result is not a vector or scalar');
    },
    async lastSamples(tenant, matchers, startMs, endMs) {
      const series = await queryable.querier(tenant).select(matchers, { start: startMs, end: endMs });
      const out: LastSample[] = [];
      for (const s of series) {
        const n = s.timestamps.length;
        if (n === 0) continue;
        const bits = new Uint32Array(s.values.buffer, s.values.byteOffset + (n - 1) * 8, 2);
        out.push({ labels: s.labels, t: s.timestamps[n - 1], v: s.values[n - 1], stale: bits[0] === STALE_LO && bits[1] === STALE_HI });
      }
      return out;
    },
  };
}

export interface HttpOptions {
  /** Base URL of a Prometheus-compatible query API, e.g. http://querier:9009/prometheus. */
  url: string;
  tenantHeader: string;
  /** Sends the tenant header (multi-tenancy); otherwise no header. */
  sendTenant: boolean;
  timeoutMs?: number;
}

function parseSampleValue(v: string): number {
  if (v === '+Inf') return Infinity;
  if (v === '-Inf') return -Infinity;
  return Number(v);
}

const RANGE_SELECTOR_NAME = (ms: number) => `${Math.max(1, Math.ceil(ms / 1000))}s`;

/** Queries sent to /api/v1/query of a querier or query frontend. */
export function httpQueries(o: HttpOptions): RuleQueries {
  const base = o.url.replace(/\/$/, '');
  const post = async (tenant: string, query: string, tMs: number, signal?: AbortSignal) => {
    const body = new URLSearchParams({ query, time: (tMs / 1000).toFixed(3) });
    if (o.timeoutMs) body.set('timeout', `${o.timeoutMs / 1000}s`);
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (o.sendTenant) headers[o.tenantHeader] = tenant;
    const res = await fetch(`${base}/api/v1/query`, { method: 'POST', body, headers, signal });
    const text = await res.text();
    let json: { status: string; error?: string; data?: { resultType: string; result: unknown } };
    try {
      json = JSON.parse(text);
    } catch {
      throw new Error(`query API answered ${res.status}: ${text.slice(0, 200)}`);
    }
    if (json.status !== 'success' || !json.data) throw new Error(json.error ?? `query API answered ${res.status}`);
    return json.data;
  };
  return {
    async instant(tenant, expr, tMs, signal) {
      const data = await post(tenant, expr, tMs, signal);
      if (data.resultType === 'scalar') {
        const [, v] = data.result as [number, string];
        return { labels: [Labels.EMPTY], values: Float64Array.of(parseSampleValue(v)) };
      }
      if (data.resultType !== 'vector') throw new Error('rule result is not a vector or scalar');
      const result = data.result as { metric: Record<string, string>; value: [number, string] }[];
      const values = new Float64Array(result.length);
      result.forEach((s, i) => (values[i] = parseSampleValue(s.value[1])));
      return { labels: result.map((s) => Labels.fromObject(s.metric)), values } satisfies InstantVector;
    },
    async lastSamples(tenant, matchers: readonly Matcher[], startMs, endMs) {
      // A range selector at endMs returns the raw samples (the API leaves out stale markers).
      const sel = `{${matchers.map((m) => m.toString()).join(',')}}[${RANGE_SELECTOR_NAME(endMs - startMs)}]`;
      const data = await post(tenant, sel, endMs);
      if (data.resultType !== 'matrix') return [];
      const result = data.result as { metric: Record<string, string>; values: [number, string][] }[];
      return result
        .filter((s) => s.values.length > 0)
        .map((s) => {
          const [t, v] = s.values[s.values.length - 1];
          return { labels: Labels.fromObject(s.metric), t: Math.round(t * 1000), v: parseSampleValue(v), stale: false };
        });
    },
  };
}

export interface RemoteWriteOptions {
  url: string;
  tenantHeader: string;
  sendTenant: boolean;
  timeoutMs?: number;
}

/** Writes rule results with remote-write 1.0 to a receiver (its distributor). */
export function remoteWriter(o: RemoteWriteOptions): RuleWriter {
  return {
    async write(tenant: string, s: RuleSamples) {
      const series: SeriesToWrite[] = s.labels.map((labels, i) => ({
        labels,
        timestamps: s.timestamps.subarray(i, i + 1),
        values: s.values.subarray(i, i + 1),
      }));
      const headers: Record<string, string> = {
        'content-type': 'application/x-protobuf',
        'content-encoding': 'snappy',
        'x-prometheus-remote-write-version': '0.1.0',
      };
      if (o.sendTenant) headers[o.tenantHeader] = tenant;
      const res = await fetch(o.url, {
        method: 'POST',
        body: snappyEncode(encodeWriteRequestV1(series)),
        headers,
        signal: o.timeoutMs ? AbortSignal.timeout(o.timeoutMs) : undefined,
      });
      if (!res.ok) throw new Error(`remote write answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
      await res.arrayBuffer().catch(() => undefined);
    },
  };
}

/**
 * Writes rule results into a write path of this process as one decoded batch: no protobuf, no
 * snappy, no HTTP round trip. The series' label pairs are given as they are (sorted, valid), so
 * the receiver only validates them against the tenant's limits. Where the path offers it,
 * `visible` lets a group wait for the WAL fsync once per evaluation instead of once per rule.
 */
export function appendWriter(target: Appendable): RuleWriter {
  // The rule's lastError then names the cause's stable ID, as a remote-write answer's body does.
  const named = (e: unknown) => {
    throw isStrataError(e) ? new Error(e.detail, { cause: e }) : e;
  };
  const { appendVisible, sync } = target;
  return {
    write: (tenant, s) => target.append(tenant, batchOf(s)).catch(named),
    visible:
      appendVisible && sync
        ? {
            write: (tenant, s) => appendVisible.call(target, tenant, batchOf(s)).catch(named),
            sync: (tenant) => sync.call(target, tenant).catch(named),
          }
        : undefined,
  };
}

/** One decoded batch of the samples: no protobuf, no snappy. */
function batchOf(s: RuleSamples): WriteBatch {
  const n = s.labels.length;
  const batch = new WriteBatch(Math.max(1, n));
  // Copies of the value bits: stale markers keep their NaN payload.
  new Uint8Array(batch.values.buffer).set(new Uint8Array(s.values.buffer, s.values.byteOffset, n * 8));
  batch.timestamps.set(s.timestamps.subarray(0, n));
  batch.numSamples = n;
  for (let i = 0; i < n; i++)
    batch.series.push({
      labels: s.labels[i].pairs as string[],
      sampleStart: i,
      sampleEnd: i + 1,
      histograms: 0,
      exemplars: 0,
      labelsStart: -1,
      labelsEnd: -1,
      labelsHash: 0,
      messageStart: -1,
      messageEnd: -1,
    });
  return batch;
}
