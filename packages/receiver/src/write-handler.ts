/**
 * POST /api/v1/write (and /api/v1/push): the HTTP side of remote-write 1.0 and 2.0. Content
 * negotiation, the request body under the overload gates (overload-gates.ts), the tenant, the
 * rate limit, then the batch goes to the distributor (replication at quorum) or straight to the
 * local writer (writer.ts), and the result becomes the answer: 204, the first reason of a
 * rejected series (400, the valid ones landed), or 503 + Retry-After so senders retry instead
 * of dropping data. A request is acknowledged only after every accepted sample is in the WAL.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { Counter, Histogram, type Registry } from 'prom-client';
import { StrataError, toStrataError } from '@strata/model';
import type { TenantStorage } from '@strata/tsdb';
import {
  decodeSeriesSelection,
  decodeShare,
  decodeWriteRequestV1,
  decodeWriteRequestV2,
  encodeSeriesSelection,
  MAX_SELECTABLE_SERIES,
  SERIES_SELECTION_HEADER,
  SHARE_CONTENT_TYPE,
  snappyDecode,
  type WriteBatch,
} from '@strata/remote';
import type { Limits } from '@strata/api';
import { IngestionRate } from './ingestion-rate.js';
import { IngestRelabeller } from './ingest-relabel.js';
import { MetadataStore } from './metadata-store.js';
import type { MemoryBudget } from './memory-budget.js';
import { FORWARDED_HEADER, REJECTED_SERIES_HEADER, type Distributor } from './distributor.js';
import { OverloadGates } from './overload-gates.js';
import { decodeParts, PARTS_CONTENT_TYPE, type Part, type PartResult } from './forward-batcher.js';
import { Writer, type LateSamples, type WriteResult } from './writer.js';
import { tenantOf } from '@strata/api';
import { internalHeaderGuard, type ForwardAuth, type InternalHeaderGuard } from './forward-auth.js';
import type { PartialRecord, StreamAggregation } from './stream-aggr/aggregator.js';
import { outputWriter, PARTIALS_CONTENT_TYPE } from './stream-aggr/wiring.js';

/** Remote-write bodies compress 5-10x; a larger ratio is a decompression bomb, not data. */
export const MAX_DECOMPRESSION_RATIO = 16;
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
  /** The ceiling of series the storage holds for all tenants (--receiver.max-series), for rejection messages. */
  receiverMaxSeries?: number;
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
  /** Verifies forwarded writes; without it no request may carry the internal headers. */
  forwardAuth?: ForwardAuth;
  /** Who hears of accepted samples that change the past (a query frontend's results cache). */
  lateSamples?: LateSamples;
  /** Streaming aggregation (stream-aggr/): fed by the writer, its outputs written through this path. */
  streamAggregation?: StreamAggregation;
}

interface Metrics {
  requests: Counter<'version' | 'code'>;
  duration: Histogram<'version'>;
}

function metrics(registry: Registry): Metrics {
  return {
    requests: new Counter({
      name: 'strata_received_requests_total',
      help: 'Remote-write requests by protocol version and status code.',
      labelNames: ['version', 'code'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'strata_remote_write_duration_seconds',
      help: 'Time to accept a remote-write request, WAL fsync included.',
      labelNames: ['version'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
  };
}

/** The HTTP handler for remote-write requests. */
export function createWriteHandler(opts: WriteHandlerOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return createWritePath(opts).handler;
}

/**
 * The write path with two entrances: remote-write requests over HTTP, and batches appended in
 * this process (the ruler of `strata all`), which skip the encoding, the HTTP round trip and the
 * decoding but pass the same overload gates, rate limit, replication and WAL commit.
 */
export interface WritePath {
  handler(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Resolves once every sample is durable (at quorum, with a ring); rejects with the first rejection. */
  append(tenant: string, batch: WriteBatch): Promise<void>;
  /**
   * As append, but resolves once the samples are visible to this process' queries, with no
   * fsync: they are durable once sync(tenant) resolves. The ruler of `strata all` writes each
   * rule's results so and syncs once per group evaluation. With a distributor (a ring) it is
   * append: other receivers' acknowledgements are what makes them visible there.
   */
  appendVisible(tenant: string, batch: WriteBatch): Promise<void>;
  /** Resolves once everything appendVisible wrote for the tenant so far is durable. */
  sync(tenant: string): Promise<void>;
  /** As append, but a rejected series is in the result (the others landed) instead of thrown. */
  write(tenant: string, batch: WriteBatch): Promise<WriteResult>;
  /** The path's overload gates, for other entrances reading request bodies (OTLP, Loki push). */
  readonly gates: OverloadGates;
  /** The path's check of forwarded requests (one per process: it owns a metric), for the Loki push route. */
  readonly internalHeaders: InternalHeaderGuard;
}

export function createWritePath(opts: WriteHandlerOptions): WritePath {
  const cfg = opts.config;
  const m = metrics(opts.registry);
  const checkInternalHeaders = internalHeaderGuard(opts.registry, opts.forwardAuth);
  const rate = new IngestionRate({ limits: opts.limits, status: cfg.ingestionRateLimitStatus });
  const gates = new OverloadGates({
    maxInflightBytes: cfg.maxInflightBytes,
    diskMinFreeBytes: cfg.diskMinFreeBytes,
    storagePath: cfg.storagePath,
    memory: opts.memory,
    registry: opts.registry,
  });
  const d = opts.distributor;
  const relabeller = new IngestRelabeller();
  const writer = new Writer({
    storage: opts.storage,
    limits: opts.limits,
    metadata: opts.metadata,
    registry: opts.registry,
    creationGracePeriodMs: cfg.creationGracePeriodMs,
    now: opts.now,
    seriesLimitShare: d ? (tenant) => d.seriesShare(tenant) : undefined,
    lateSamples: opts.lateSamples,
    streamAggregation: opts.streamAggregation,
    receiverMaxSeries: cfg.receiverMaxSeries,
  });
  opts.streamAggregation?.setOutputWriter(outputWriter(writer, d));

  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const start = process.hrtime.bigint();
    let version = 'unknown';
    let reservation: { release(): void } | undefined;
    try {
      // A batch of forwarded shares from another receiver (forward-batcher.ts), one share
      // (forwarded-share.ts), or a remote-write request.
      const fromPeer = req.headers[FORWARDED_HEADER] !== undefined;
      const parts = fromPeer && req.headers['content-type'] === PARTS_CONTENT_TYPE;
      const share = fromPeer && req.headers['content-type'] === SHARE_CONTENT_TYPE;
      const partials = fromPeer && req.headers['content-type'] === PARTIALS_CONTENT_TYPE;
      version = parts ? 'forwarded-batch' : share ? 'forwarded-share' : partials ? 'stream-aggregation-partials' : protocolVersion(req);
      gates.check();
      const declared = Number(req.headers['content-length'] ?? -1);
      if (declared > cfg.maxRequestBytes) throw tooLarge(declared, cfg.maxRequestBytes);
      const reserve = declared > 0 ? declared : 0;
      const held = (reservation = gates.reserve(reserve));
      const body = await readLimited(req, cfg.maxRequestBytes, (extra) => held.grow(extra), reserve);
      const tenant = tenantOf(req, { multiTenancy: cfg.multiTenancy, header: cfg.tenantHeader });
      checkInternalHeaders(req, tenant, body);
      if (parts) {
        rate.noteRouter(tenant, String(req.headers[FORWARDED_HEADER]));
        const answers = await Promise.all(decodeParts(body).map((p) => writePart(tenant, p)));
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(answers));
        m.requests.inc({ version, code: '200' });
        return;
      }
      if (partials) {
        // Streaming aggregation partials for groups this receiver owns (stream-aggr/aggregator.ts).
        if (!opts.streamAggregation) throw new StrataError('invalid-request-body', 'streaming aggregation is not enabled on this receiver');
        let records: PartialRecord[];
        try {
          records = JSON.parse(snappyDecode(body, cfg.maxRequestBytes * MAX_DECOMPRESSION_RATIO).toString('utf8')) as PartialRecord[];
        } catch (e) {
          throw new StrataError('invalid-request-body', `unreadable streaming aggregation partials: ${(e as Error).message}`);
        }
        if (!Array.isArray(records)) throw new StrataError('invalid-request-body', 'expected a list of partials');
        opts.streamAggregation.acceptPartials(tenant, records);
        res.writeHead(204);
        res.end();
        m.requests.inc({ version, code: '204' });
        return;
      }
      if (share) {
        rate.noteRouter(tenant, String(req.headers[FORWARDED_HEADER]));
        const { batch, v2 } = decodeShare(body);
        respond(res, await writer.write(tenant, batch, v2), version, true, batch.seriesCount);
        m.requests.inc({ version, code: String(res.statusCode) });
        return;
      }
      const raw = snappyDecode(body, cfg.maxRequestBytes * MAX_DECOMPRESSION_RATIO);
      // A request forwarded by another receiver is this receiver's share: store it, never
      // forward again, never charge the rate limit again (the receiver that took it from the
      // client did). It may be the client's whole body with a selection of the series to keep.
      const router = req.headers[FORWARDED_HEADER];
      const forwarded = router !== undefined;
      const selHeader = forwarded ? req.headers[SERIES_SELECTION_HEADER] : undefined;
      const selection = typeof selHeader === 'string' ? decodeSeriesSelection(selHeader) : undefined;
      const v2 = version === '2.0';
      const batch = v2 ? decodeWriteRequestV2(raw, selection) : decodeWriteRequestV1(raw, selection);
      if (typeof router === 'string') rate.noteRouter(tenant, router);
      else {
        // Relabelled before anything else sees the series; dropped samples cost no rate.
        const dropped = relabeller.apply(batch, writer.tenantLimits(tenant).metricRelabelConfigs);
        writer.discard(tenant, 'relabel', dropped);
        chargeRate(tenant, batch.numSamples - dropped);
      }
      let result: WriteResult;
      if (opts.distributor && !forwarded) {
        const r = await opts.distributor.replicate({ tenant, batch, v2 }, writer);
        if (r.error) throw r.error;
        result = r.written!;
      } else result = await writer.write(tenant, batch, v2);
      respond(res, result, version, forwarded, batch.seriesCount);
      m.requests.inc({ version, code: String(res.statusCode) });
    } catch (e) {
      const err = toStrataError(e);
      // Overload (503) is answered and counted, not logged: it comes in floods exactly when busiest.
      if (err.id === 'internal' || (err.status >= 500 && err.status !== 503)) opts.logger?.error({ err: e }, 'remote-write failed');
      res.writeHead(err.status, {
        'Content-Type': 'text/plain; charset=utf-8',
        ...(err.retryAfter ? { 'Retry-After': String(err.retryAfter) } : {}),
      });
      res.end(err.detail + '\n');
      m.requests.inc({ version, code: String(err.status) });
    } finally {
      reservation?.release();
      m.duration.observe({ version }, Number(process.hrtime.bigint() - start) / 1e9);
    }
  };

  async function append(tenant: string, batch: WriteBatch): Promise<void> {
    const result = await write(tenant, batch);
    if (result.firstError) throw result.firstError;
  }

  async function appendVisible(tenant: string, batch: WriteBatch): Promise<void> {
    if (opts.distributor) return append(tenant, batch);
    admit(tenant, batch);
    const result = await writer.write(tenant, batch, false, true);
    if (result.firstError) throw result.firstError;
  }

  async function sync(tenant: string): Promise<void> {
    if (!opts.distributor) await writer.sync(tenant);
  }

  /** What an in-process batch passes before it is written, as a client's request does. */
  function admit(tenant: string, batch: WriteBatch): void {
    gates.check();
    // Relabelled first, dropped samples cost no rate.
    const dropped = relabeller.apply(batch, writer.tenantLimits(tenant).metricRelabelConfigs);
    writer.discard(tenant, 'relabel', dropped);
    chargeRate(tenant, batch.numSamples - dropped);
  }

  async function write(tenant: string, batch: WriteBatch): Promise<WriteResult> {
    admit(tenant, batch);
    let result: WriteResult;
    if (opts.distributor) {
      const r = await opts.distributor.replicate({ tenant, batch, v2: false }, writer);
      if (r.error) throw r.error;
      result = r.written!;
    } else result = await writer.write(tenant, batch, false);
    return result;
  }

  return { handler, append, appendVisible, sync, write, gates, internalHeaders: checkInternalHeaders };

  /** One share of a forwarded batch, answered as its own request would have been. */
  async function writePart(tenant: string, part: Part): Promise<PartResult> {
    try {
      let batch: WriteBatch;
      let v2: boolean;
      if (part.contentType === SHARE_CONTENT_TYPE) ({ batch, v2 } = decodeShare(part.body));
      else {
        // remote-write 1.0/2.0 with an optional selection, as receivers before shares forwarded.
        v2 = remoteWriteVersion(part.contentType) === '2.0';
        const raw = snappyDecode(part.body, cfg.maxRequestBytes * MAX_DECOMPRESSION_RATIO);
        const selection = part.selection === undefined ? undefined : decodeSeriesSelection(part.selection);
        batch = v2 ? decodeWriteRequestV2(raw, selection) : decodeWriteRequestV1(raw, selection);
      }
      const r = await writer.write(tenant, batch, v2);
      return {
        status: r.firstError?.status ?? 204,
        message: r.firstError?.detail ?? '',
        rejected: rejectedSelection(r, batch.seriesCount),
      };
    } catch (e) {
      const err = toStrataError(e);
      if (err.id === 'internal' || (err.status >= 500 && err.status !== 503)) opts.logger?.error({ err: e }, 'forwarded write failed');
      return { status: err.status, message: err.detail };
    }
  }

  function chargeRate(tenant: string, samples: number): void {
    try {
      rate.charge(tenant, samples);
    } catch (e) {
      writer.discard(tenant, 'ingestion-rate-limited', samples);
      throw e;
    }
  }
}

function respond(res: ServerResponse, r: WriteResult, version: string, forwarded: boolean, total = 0): void {
  const headers: Record<string, string> = {};
  // A replica names the series it rejected so the router's quorum counts the others as stored.
  const rejected = forwarded ? rejectedSelection(r, total) : undefined;
  if (rejected !== undefined) headers[REJECTED_SERIES_HEADER] = rejected;
  if (version === '2.0') {
    headers['X-Prometheus-Remote-Write-Samples-Written'] = String(r.samplesWritten);
    headers['X-Prometheus-Remote-Write-Histograms-Written'] = String(r.histogramsWritten);
    headers['X-Prometheus-Remote-Write-Exemplars-Written'] = String(r.exemplarsWritten ?? 0);
  }
  if (r.firstError) {
    if (r.firstError.retryAfter !== undefined) headers['Retry-After'] = String(r.firstError.retryAfter);
    res.writeHead(r.firstError.status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(r.firstError.detail + '\n');
    return;
  }
  res.writeHead(204, headers);
  res.end();
}

/** The series a write rejected, as REJECTED_SERIES_HEADER names them (when they fit a header). */
function rejectedSelection(r: WriteResult, total: number): string | undefined {
  return r.firstError && r.rejected && total <= MAX_SELECTABLE_SERIES ? encodeSeriesSelection(r.rejected, total) : undefined;
}

export function tooLarge(size: number, limit: number): StrataError {
  return new StrataError(
    'request-too-large',
    `the request body of ${size} bytes exceeds the limit of ${limit} bytes (--receiver.max-request-bytes); split the request (Prometheus: lower queue_config.max_samples_per_send)`,
  );
}

/** Content negotiation as the remote-write specs define it; returns '1.0' or '2.0'. */
export function protocolVersion(req: IncomingMessage): '1.0' | '2.0' {
  const version = remoteWriteVersion((req.headers['content-type'] ?? '').toString());
  const enc = (req.headers['content-encoding'] ?? '').toString().toLowerCase();
  if (enc !== 'snappy') {
    throw new StrataError(
      'unsupported-content-encoding',
      `unsupported Content-Encoding ${JSON.stringify(enc)}; remote-write bodies must be snappy-compressed`,
    );
  }
  return version;
}

/** The remote-write version a Content-Type names. */
function remoteWriteVersion(ctype: string): '1.0' | '2.0' {
  const [media, ...params] = ctype.split(';').map((p) => p.trim());
  if (media.toLowerCase() !== 'application/x-protobuf') {
    throw new StrataError(
      'unsupported-content-type',
      `unsupported Content-Type ${JSON.stringify(ctype)}; remote-write needs application/x-protobuf`,
    );
  }
  let proto = PROTO_V1;
  for (const p of params) {
    const [k, v] = p.split('=').map((x) => x.trim());
    if (k.toLowerCase() === 'proto') proto = (v ?? '').replace(/^"|"$/g, '');
  }
  if (proto === PROTO_V1) return '1.0';
  if (proto === PROTO_V2) return '2.0';
  throw new StrataError(
    'unsupported-content-type',
    `unsupported remote-write message ${JSON.stringify(proto)}; this receiver accepts ${PROTO_V1} and ${PROTO_V2}`,
  );
}

export async function readLimited(
  req: IncomingMessage,
  limit: number,
  onExtra: (bytes: number) => void,
  reserved: number,
): Promise<Buffer> {
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
