/**
 * POST /api/v1/write (and /api/v1/push): remote-write 1.0 and 2.0 into the tenant's head.
 * A request is acknowledged only after every accepted sample is durable in the WAL. Invalid
 * series are rejected one by one (400, first reason in the body) while the valid ones land;
 * overload answers 503 + Retry-After so senders back off and retry instead of dropping data.
 */
import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { StrataError, toStrataError, type ErrorId, type Labels } from '@strata/model';
import { AppendStatus, SERIES_LIMIT_REACHED, type TenantStorage } from '@strata/tsdb';
import { decodeSeriesSelection, decodeWriteRequestV1, encodeSeriesSelection, MAX_SELECTABLE_SERIES, decodeWriteRequestV2, SERIES_SELECTION_HEADER, snappyDecode, wireLabelsEqual, type WriteBatch } from '@strata/remote';
import { Limits, RateLimiter } from './limits.js';
import { MetadataStore } from './metadata-store.js';
import type { MemoryBudget } from './memory-budget.js';
import { describeSeries, limitHint, validateSeries } from './validate.js';
import { bitsOf, FORWARDED_HEADER, outcomeOf, REJECTED_SERIES_HEADER, tenantSalt, type Distributor, type EndpointResult } from './distributor.js';

export const DEFAULT_MAX_REQUEST_BYTES = 32 * 1024 * 1024;
export const DEFAULT_MAX_INFLIGHT_BYTES = 512 * 1024 * 1024;
export const DEFAULT_CREATION_GRACE_PERIOD_MS = 10 * 60 * 1000;
/** Remote-write bodies compress 5-10x; a larger ratio is a decompression bomb, not data. */
export const MAX_DECOMPRESSION_RATIO = 16;
export const OVERLOAD_RETRY_AFTER_SECONDS = 5;
const DISK_CHECK_INTERVAL_MS = 5000;
const PROTO_V1 = 'prometheus.WriteRequest';
const PROTO_V2 = 'io.prometheus.write.v2.Request';

export interface WriteHandlerConfig {
  maxRequestBytes: number;
  maxInflightBytes: number;
  multiTenancy: boolean;
  tenantHeader: string;
  creationGracePeriodMs: number;
  ingestionRateLimitStatus: 429 | 503;
  diskMinFreeBytes: number;
  storagePath: string;
}

export interface WriteHandlerOptions {
  storage: { tenant(id: string): Promise<TenantStorage> };
  limits: Limits;
  metadata: MetadataStore;
  registry: Registry;
  logger?: Logger;
  config: WriteHandlerConfig;
  /** Injectable clock for tests. */
  now?: () => number;
  /** Replication across receivers; without it every write is stored locally only. */
  distributor?: Distributor;
  /** Refuses writes (503 + Retry-After) while the process is over its memory budget. */
  memory?: MemoryBudget;
}

interface Metrics {
  received: Counter<'tenant'>;
  discarded: Counter<'reason' | 'tenant'>;
  requests: Counter<'version' | 'code'>;
  inflight: Gauge;
  duration: Histogram<'version'>;
}

function metrics(registry: Registry): Metrics {
  return {
    received: new Counter({ name: 'strata_received_samples_total', help: 'Samples accepted into the head, by tenant.', labelNames: ['tenant'], registers: [registry] }),
    discarded: new Counter({ name: 'strata_discarded_samples_total', help: 'Samples rejected, by reason (error ID) and tenant.', labelNames: ['reason', 'tenant'], registers: [registry] }),
    requests: new Counter({ name: 'strata_received_requests_total', help: 'Remote-write requests by protocol version and status code.', labelNames: ['version', 'code'], registers: [registry] }),
    inflight: new Gauge({ name: 'strata_inflight_request_bytes', help: 'Remote-write request bytes being processed.', registers: [registry] }),
    duration: new Histogram({ name: 'strata_remote_write_duration_seconds', help: 'Time to accept a remote-write request, WAL fsync included.', labelNames: ['version'], buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [registry] }),
  };
}

const TENANT_RE = /^[a-zA-Z0-9!\-_.*'()]{1,150}$/;

export function createWriteHandler(opts: WriteHandlerOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const cfg = opts.config;
  const m = metrics(opts.registry);
  const rate = new RateLimiter();
  const now = opts.now ?? Date.now;
  let inflight = 0;
  let diskCheckedAt = 0;
  let diskLow = false;

  const checkDisk = (): void => {
    if (cfg.diskMinFreeBytes <= 0) return;
    const t = Date.now();
    if (t - diskCheckedAt >= DISK_CHECK_INTERVAL_MS) {
      diskCheckedAt = t;
      try {
        const st = fs.statfsSync(cfg.storagePath);
        diskLow = st.bavail * st.bsize < cfg.diskMinFreeBytes;
      } catch {
        diskLow = false; // the path may not exist yet; the WAL write itself will report real failures
      }
    }
    if (diskLow) {
      throw new StrataError('disk-nearly-full', `free disk space under ${cfg.storagePath} is below --receiver.min-free-disk-bytes (${cfg.diskMinFreeBytes} bytes); writes resume when space is freed`, { retryAfter: OVERLOAD_RETRY_AFTER_SECONDS * 6 });
    }
  };

  const tenantOf = (req: IncomingMessage): string => {
    if (!cfg.multiTenancy) return 'anonymous';
    const v = req.headers[cfg.tenantHeader.toLowerCase()];
    const id = Array.isArray(v) ? v[0] : v;
    if (!id) throw new StrataError('missing-tenant', `no tenant ID in the ${cfg.tenantHeader} header while multi-tenancy is enabled`);
    if (!TENANT_RE.test(id) || id === '.' || id === '..') throw new StrataError('missing-tenant', `tenant ID ${JSON.stringify(id)} is invalid: use up to 150 characters of [a-zA-Z0-9!-_.*'()]`);
    return id;
  };

  return async (req, res) => {
    const start = process.hrtime.bigint();
    let version = 'unknown';
    let counted = 0;
    try {
      version = protocolVersion(req);
      checkDisk();
      opts.memory?.check();
      const declared = Number(req.headers['content-length'] ?? -1);
      if (declared > cfg.maxRequestBytes) throw tooLarge(declared, cfg.maxRequestBytes);
      const reserve = declared > 0 ? declared : 0;
      if (inflight + reserve > cfg.maxInflightBytes) {
        throw new StrataError('too-many-inflight-bytes', `the receiver is processing ${inflight} request bytes, above --receiver.max-inflight-bytes (${cfg.maxInflightBytes}); retry later`, { retryAfter: OVERLOAD_RETRY_AFTER_SECONDS });
      }
      inflight += reserve;
      counted = reserve;
      m.inflight.set(inflight);
      const body = await readLimited(req, cfg.maxRequestBytes, (extra) => {
        inflight += extra;
        counted += extra;
        if (inflight > cfg.maxInflightBytes) {
          throw new StrataError('too-many-inflight-bytes', `the receiver is processing ${inflight} request bytes, above --receiver.max-inflight-bytes (${cfg.maxInflightBytes}); retry later`, { retryAfter: OVERLOAD_RETRY_AFTER_SECONDS });
        }
      }, reserve);
      const tenant = tenantOf(req);
      const raw = snappyDecode(body, cfg.maxRequestBytes * MAX_DECOMPRESSION_RATIO);
      // A request forwarded by another receiver is this receiver's share: store it, never
      // forward again. It may be the client's whole body with a selection of the series to keep.
      const forwarded = req.headers[FORWARDED_HEADER] !== undefined;
      const selHeader = forwarded ? req.headers[SERIES_SELECTION_HEADER] : undefined;
      const selection = typeof selHeader === 'string' ? decodeSeriesSelection(selHeader) : undefined;
      const batch = version === '2.0' ? decodeWriteRequestV2(raw, selection) : decodeWriteRequestV1(raw, selection);
      checkRate(tenant, batch);
      const original = { body, contentType: String(req.headers['content-type']) };
      const result = opts.distributor && !forwarded ? await distribute(opts.distributor, tenant, batch, version === '2.0', original) : await ingest(tenant, batch, version === '2.0');
      respond(res, result, version, forwarded, batch.series.length);
      m.requests.inc({ version, code: String(res.statusCode) });
    } catch (e) {
      const err = toStrataError(e);
      // Overload (503) is answered and counted, not logged: it comes in floods exactly when busiest.
      if (err.id === 'internal' || (err.status >= 500 && err.status !== 503)) opts.logger?.error({ err: e }, 'remote-write failed');
      res.writeHead(err.status, { 'Content-Type': 'text/plain; charset=utf-8', ...(err.retryAfter ? { 'Retry-After': String(err.retryAfter) } : {}) });
      res.end(err.detail + '\n');
      m.requests.inc({ version, code: String(err.status) });
    } finally {
      inflight -= counted;
      m.inflight.set(inflight);
      m.duration.observe({ version }, Number(process.hrtime.bigint() - start) / 1e9);
    }
  };

  interface IngestResult {
    samplesWritten: number;
    histogramsRejected: number;
    exemplarsRejected: number;
    firstError?: StrataError;
    /** Indices (in the batch) of the series rejected for good, in order. */
    rejected?: number[];
  }

  function checkRate(tenant: string, batch: WriteBatch): void {
    const limits = opts.limits.forTenant(tenant);
    const wait = rate.take(tenant, batch.numSamples, limits.ingestionRate, limits.ingestionBurstSize);
    if (wait > 0) {
      m.discarded.inc({ reason: 'ingestion-rate-limited', tenant }, batch.numSamples);
      throw new StrataError(
        'ingestion-rate-limited',
        `the request has been rejected because the tenant exceeded its ingestion rate limit, set to ${limits.ingestionRate} samples/s with a maximum allowed burst of ${limits.ingestionBurstSize}; this request would add ${batch.numSamples} samples. ${limitHint('ingestionRate')}`,
        { status: cfg.ingestionRateLimitStatus, retryAfter: wait },
      );
    }
  }

  /**
   * Sends each series to its owners and answers at write quorum. The router validates only
   * series it has not placed before; owners validate whatever is new to their heads.
   */
  async function distribute(d: Distributor, tenant: string, batch: WriteBatch, v2: boolean, original: { body: Buffer; contentType: string }): Promise<IngestResult> {
    const ring = d.ringFor(tenant);
    if (d.ownsEverything(ring)) return replicateEverywhere(d, ring.endpoints, tenant, batch, v2, original);
    const limits = opts.limits.forTenant(tenant);
    const salt = tenantSalt(tenant);
    let firstError: StrataError | undefined;
    let valid = 0;
    const placed: number[] = [];
    const labels = batch.series.map((s, i) => {
      if (s.sampleEnd === s.sampleStart) return undefined;
      const cached = d.cachedOwners(ring, salt, batch, i);
      if (cached) {
        valid += s.sampleEnd - s.sampleStart;
        return cached;
      }
      let l;
      try {
        l = validateSeries(batch.labelsOf(s), limits, v2);
      } catch (e) {
        l = toStrataError(e);
      }
      if (l instanceof StrataError) {
        m.discarded.inc({ reason: l.id, tenant }, s.sampleEnd - s.sampleStart);
        firstError ??= l;
        return undefined;
      }
      valid += s.sampleEnd - s.sampleStart;
      placed.push(i);
      return l;
    });
    const { owners, byEndpoint } = d.plan(ring, tenant, labels);
    for (const i of placed) d.rememberOwners(ring, salt, batch, i, owners[i]!);
    const results = new Map<string, EndpointResult>();
    await Promise.all(
      [...byEndpoint].map(async ([ep, idx]) => {
        // Series the router rejected are in no endpoint's share, so the original body with a
        // selection never carries them.
        results.set(ep, ep === d.opts.self ? (await ingestAsEndpoint(tenant, batch.subset(idx), v2, idx, batch.series.length)).result : await d.forward(ep, tenant, batch, idx, original));
      }),
    );
    const decision = d.decide(owners, results);
    if (decision.error) throw decision.error;
    return { samplesWritten: valid, histogramsRejected: batch.numHistograms, exemplarsRejected: batch.numExemplars, firstError };
  }

  /**
   * RF equals the ring's size, so every endpoint owns every series: the client's body goes to
   * each peer unchanged and no series is placed or validated at the router. Each owner ingests
   * it exactly as a single receiver would, partial rejections included.
   */
  async function replicateEverywhere(d: Distributor, endpoints: readonly string[], tenant: string, batch: WriteBatch, v2: boolean, original: { body: Buffer; contentType: string }): Promise<IngestResult> {
    const all = batch.series.map((_, i) => i);
    const results = new Map<string, EndpointResult>();
    let local: IngestResult | undefined;
    await Promise.all(
      endpoints.map(async (ep) => {
        if (ep !== d.opts.self) {
          results.set(ep, await d.forward(ep, tenant, batch, all, original));
          return;
        }
        const r = await ingestAsEndpoint(tenant, batch, v2, all, all.length);
        local = r.ingested;
        results.set(ep, r.result);
      }),
    );
    const decision = d.decide(all.map(() => endpoints as string[]), results);
    if (decision.error) {
      // Bad data: the local verdict names the series and its error ID better than a peer's text.
      const mine = local?.firstError;
      throw mine && decision.status === mine.status ? mine : decision.error;
    }
    // Quorum reached: a rejection by this replica alone (its own series limit, say) is outvoted.
    return local ? { ...local, firstError: undefined } : { samplesWritten: batch.numSamples, histogramsRejected: batch.numHistograms, exemplarsRejected: batch.numExemplars };
  }

  /**
   * This receiver's own share (series `indices` of the router's batch of `total`), as an
   * endpoint result for the quorum decision.
   */
  async function ingestAsEndpoint(tenant: string, batch: WriteBatch, v2: boolean, indices: number[], total: number): Promise<{ result: EndpointResult; ingested?: IngestResult }> {
    try {
      const r = await ingest(tenant, batch, v2);
      const e = r.firstError;
      if (!e) return { ingested: r, result: { outcome: 'ok', status: 204, message: '' } };
      const rejected = r.rejected ? bitsOf(r.rejected.map((k) => indices[k]), total) : undefined;
      return { ingested: r, result: { outcome: outcomeOf(e.status), status: e.status, message: e.detail, rejected } };
    } catch (e) {
      const err = toStrataError(e);
      return { result: { outcome: outcomeOf(err.status), status: err.status, message: err.detail } };
    }
  }

  async function ingest(tenant: string, batch: WriteBatch, v2: boolean): Promise<IngestResult> {
    const limits = opts.limits.forTenant(tenant);
    const storage = await opts.storage.tenant(tenant);
    storage.setMaxSeries(limits.maxGlobalSeriesPerUser);
    const app = storage.appender();
    const maxT = now() + cfg.creationGracePeriodMs;
    const discarded = new Map<ErrorId, number>();
    let firstError: StrataError | undefined;
    let accepted = 0;
    let histograms = 0;
    let exemplars = 0;
    const rejected: number[] = [];
    let current = -1;
    const fail = (id: ErrorId, n: number, err: () => StrataError) => {
      discarded.set(id, (discarded.get(id) ?? 0) + n);
      if (!firstError) firstError = err();
      if (rejected[rejected.length - 1] !== current) rejected.push(current);
    };
    for (const s of batch.series) {
      current++;
      histograms += s.histograms;
      exemplars += s.exemplars;
      if (s.histograms > 0) fail('unsupported-sample-type', s.histograms, () => unsupported(batch.labelsOf(s), 'native histogram samples'));
      if (s.exemplars > 0) fail('unsupported-sample-type', s.exemplars, () => unsupported(batch.labelsOf(s), 'exemplars'));
      const nSamples = s.sampleEnd - s.sampleStart;
      if (s.metadata && (s.metadata.type !== 'unknown' || s.metadata.help !== '' || s.metadata.unit !== '')) {
        const name = metricNameOf(batch.labelsOf(s));
        if (name) opts.metadata.set(tenant, name, s.metadata);
      }
      if (nSamples === 0) continue;
      // A series seen before with the same wire bytes was validated when it was created; its
      // labels are neither decoded nor validated again.
      const wired = s.labelsStart >= 0;
      let ref = wired ? app.cachedRef(s.labelsHash, (l) => wireLabelsEqual(batch.raw, s.labelsStart, s.labelsEnd, l.pairs)) : undefined;
      if (ref === undefined) {
        let pairs: string[];
        try {
          pairs = batch.labelsOf(s);
        } catch (e) {
          const err = toStrataError(e);
          fail(err.id, nSamples, () => err);
          continue;
        }
        const labels = validateSeries(pairs, limits, v2);
        if (labels instanceof StrataError) {
          fail(labels.id, nSamples, () => labels);
          continue;
        }
        ref = app.ref(labels, wired ? s.labelsHash : undefined);
      }
      if (ref === SERIES_LIMIT_REACHED) {
        fail('max-series-per-tenant', nSamples, () =>
          new StrataError('max-series-per-tenant', `per-tenant series limit of ${limits.maxGlobalSeriesPerUser} exceeded; the series was not created: '${describeSeries(batch.labelsOf(s))}'. ${limitHint('maxGlobalSeriesPerUser')}`),
        );
        continue;
      }
      for (let i = s.sampleStart; i < s.sampleEnd; i++) {
        const t = batch.timestamps[i];
        if (t > maxT) {
          fail('sample-too-far-in-future', 1, () => new StrataError('sample-too-far-in-future', `received a sample whose timestamp is too far in the future (timestamp: ${new Date(t).toISOString()}, more than --receiver.creation-grace-period = ${cfg.creationGracePeriodMs / 1000}s ahead of now) series: '${describeSeries(batch.labelsOf(s))}'`));
          continue;
        }
        const st = app.append(ref, t, batch.values[i]);
        if (st === AppendStatus.OK) accepted++;
        else if (st === AppendStatus.DUPLICATE_IDENTICAL) accepted++;
        else if (st === AppendStatus.TOO_OLD) {
          fail('sample-too-old', 1, () => new StrataError('sample-too-old', `received a sample whose timestamp is too old for the head and outside the out-of-order window (timestamp: ${new Date(t).toISOString()}); configure --receiver.out-of-order-window to accept older samples series: '${describeSeries(batch.labelsOf(s))}'`));
        } else {
          fail('sample-duplicate-timestamp', 1, () => new StrataError('sample-duplicate-timestamp', `received a sample with the same timestamp as an existing sample but a different value (timestamp: ${new Date(t).toISOString()}) series: '${describeSeries(batch.labelsOf(s))}'`));
        }
      }
    }
    for (const md of batch.metadata) {
      if (md.metricFamilyName) opts.metadata.set(tenant, md.metricFamilyName, { type: md.type, help: md.help, unit: md.unit });
    }
    await app.commit();
    m.received.inc({ tenant }, accepted);
    for (const [reason, n] of discarded) m.discarded.inc({ reason, tenant }, n);
    return { samplesWritten: accepted, histogramsRejected: histograms, exemplarsRejected: exemplars, firstError, rejected };
  }
}

function respond(res: ServerResponse, r: { samplesWritten: number; firstError?: StrataError; rejected?: number[] }, version: string, forwarded: boolean, total = 0): void {
  const headers: Record<string, string> = {};
  // A replica names the series it rejected so the router's quorum counts the others as stored.
  if (forwarded && r.firstError && r.rejected && total <= MAX_SELECTABLE_SERIES) headers[REJECTED_SERIES_HEADER] = encodeSeriesSelection(r.rejected, total);
  if (version === '2.0') {
    // Native histograms and exemplars are not stored yet, so their written counts are zero.
    headers['X-Prometheus-Remote-Write-Samples-Written'] = String(r.samplesWritten);
    headers['X-Prometheus-Remote-Write-Histograms-Written'] = '0';
    headers['X-Prometheus-Remote-Write-Exemplars-Written'] = '0';
  }
  if (r.firstError) {
    res.writeHead(r.firstError.status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(r.firstError.detail + '\n');
    return;
  }
  res.writeHead(204, headers);
  res.end();
}

function unsupported(pairs: readonly string[], what: string): StrataError {
  return new StrataError('unsupported-sample-type', `${what} are not stored yet and were rejected; float samples of the same request were written. series: '${describeSeries(pairs)}'`);
}

function metricNameOf(pairs: readonly string[]): string {
  for (let i = 0; i < pairs.length; i += 2) if (pairs[i] === '__name__') return pairs[i + 1];
  return '';
}

function tooLarge(size: number, limit: number): StrataError {
  return new StrataError('request-too-large', `the request body of ${size} bytes exceeds the limit of ${limit} bytes (--receiver.max-request-bytes); split the request (Prometheus: lower queue_config.max_samples_per_send)`);
}

/** Content negotiation as the remote-write specs define it; returns '1.0' or '2.0'. */
export function protocolVersion(req: IncomingMessage): '1.0' | '2.0' {
  const ctype = (req.headers['content-type'] ?? '').toString();
  const [media, ...params] = ctype.split(';').map((p) => p.trim());
  if (media.toLowerCase() !== 'application/x-protobuf') {
    throw new StrataError('unsupported-content-type', `unsupported Content-Type ${JSON.stringify(ctype)}; remote-write needs application/x-protobuf`);
  }
  let proto = PROTO_V1;
  for (const p of params) {
    const [k, v] = p.split('=').map((x) => x.trim());
    if (k.toLowerCase() === 'proto') proto = (v ?? '').replace(/^"|"$/g, '');
  }
  const enc = (req.headers['content-encoding'] ?? '').toString().toLowerCase();
  if (enc !== 'snappy') {
    throw new StrataError('unsupported-content-encoding', `unsupported Content-Encoding ${JSON.stringify(enc)}; remote-write bodies must be snappy-compressed`);
  }
  if (proto === PROTO_V1) return '1.0';
  if (proto === PROTO_V2) return '2.0';
  throw new StrataError('unsupported-content-type', `unsupported remote-write message ${JSON.stringify(proto)}; this receiver accepts ${PROTO_V1} and ${PROTO_V2}`);
}

async function readLimited(req: IncomingMessage, limit: number, onExtra: (bytes: number) => void, reserved: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > limit) throw tooLarge(n, limit);
    if (n > reserved) {
      onExtra(n - Math.max(reserved, n - c.length));
    }
    chunks.push(c);
  }
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, n);
}
