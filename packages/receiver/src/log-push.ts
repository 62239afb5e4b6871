/**
 * POST /loki/api/v1/push: Loki's push API on the receiver. The body (snappy protobuf, JSON or
 * gzip JSON) is read under the overload gates (overload-gates.ts), decoded, validated against
 * the tenant's log limits, sampled, charged to its line-byte rate and each stream to its own
 * (per_stream_rate_limit), then stored: in the local log store, or with a ring at the write
 * quorum of the streams' owners (log-replicate.ts). Acknowledged only after the WAL fsync.
 * Answers as Loki does: 204; 400 naming the first refused stream while the valid ones landed;
 * 503 with Retry-After when a retry can succeed (over a rate, a replica unreachable), so
 * clients retry instead of dropping lines.
 *
 * The same route takes the shares peers forward (FORWARDED_HEADER, signed): stored after the
 * owner's own checks (the stream's order, the tenant's streams), never forwarded, sampled or
 * charged to a rate again: limits are charged once, where the client's request entered.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { Counter, Histogram, type Registry } from 'prom-client';
import { StrataError, toStrataError, type ErrorId } from '@strata/model';
import { tenantOf, type Limits } from '@strata/api';
import { encodeSeriesSelection, MAX_SELECTABLE_SERIES } from '@strata/remote';
import {
  ByteRateLimiter,
  decodeLogShare,
  decodePushBody,
  lineBytes,
  LOG_SHARE_CONTENT_TYPE,
  logLimitsOf,
  sampleStreams,
  validatePush,
  type LogLimits,
  type PushStream,
  SampledOutTally,
  type StreamState,
} from '@strata/logs';
import { MAX_DECOMPRESSION_RATIO, readLimited, tooLarge } from './write-handler.js';
import { FORWARDED_HEADER, REJECTED_SERIES_HEADER, type Distributor } from './distributor.js';
import { internalHeaderGuard, type InternalHeaderGuard } from './forward-auth.js';
import { decodeParts, PARTS_CONTENT_TYPE, type PartResult } from './forward-batcher.js';
import type { OverloadGates } from './overload-gates.js';
import { replicateLogs, type ShareResult } from './log-replicate.js';
import { IngestionRate } from './ingestion-rate.js';

/** Where accepted streams go: a LogStore. */
export interface LogSink {
  state(tenant: string): StreamState;
  push(tenant: string, streams: readonly PushStream[]): Promise<void>;
  /**
   * Keeps what sampling left out of a push, for query stats (durably: the log WAL, then the log
   * block); without it sampled-out lines are only counted in strata_logs_sampled_out_total.
   */
  recordSampledOut?(tenant: string, tally: SampledOutTally): Promise<void>;
}

export interface LogPushConfig {
  maxRequestBytes: number;
  multiTenancy: boolean;
  tenantHeader: string;
  creationGracePeriodMs: number;
  /** Loki's unordered-writes window: max_chunk_age / 2, 1 h by default. */
  outOfOrderWindowMs: number;
}

export interface LogPushOptions {
  sink: LogSink;
  limits: Limits;
  registry: Registry;
  logger?: Logger;
  config: LogPushConfig;
  now?: () => number;
  /** Replication over the ring; without it every push is stored here only. */
  distributor?: Distributor;
  /** The write path's overload gates (memory, disk, bytes in flight), shared with remote-write. */
  gates?: OverloadGates;
  /** The write path's check of forwarded requests' signatures; without one no push may carry internal headers. */
  internalHeaders?: InternalHeaderGuard;
}

/** Validation at the router of a replicated push: stateless checks only; each owner checks against its own head. */
const NO_STATE: StreamState = { numStreams: 0, newest: () => undefined };
/** Per-stream buckets idle this long are full again and forgotten (15 MB burst at 3 MB/s is 5 s). */
const STREAM_BUCKET_IDLE_MS = 10 * 60_000;

type HttpHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export function createLogPushHandler(opts: LogPushOptions): HttpHandler {
  return createLogPushPath(opts).handler;
}

/** What became of a client's streams: the first refusal (the rest landed) and the entries refused and stored. */
export interface IngestResult {
  firstError?: StrataError;
  refusedEntries: number;
  storedEntries: number;
}

/**
 * The log write path with two entrances: Loki's push API (`handler`) and OTLP logs
 * (otlp-logs-handler.ts), which hands `ingest` the streams it mapped. Both share the counters,
 * the rate limiters, the gates and replication.
 */
export interface LogPushPath {
  handler: HttpHandler;
  /** Validates, samples, charges and stores a client's streams; throws what must fail the whole request (503s). */
  ingest(tenant: string, streams: PushStream[], refusedAtDecode: readonly { error: StrataError }[]): Promise<IngestResult>;
  /** Reads a request body under the gates (the reservation is released by `release`). */
  readBody(req: IncomingMessage): Promise<{ body: Buffer; release(): void }>;
}

export function createLogPushPath(opts: LogPushOptions): LogPushPath {
  const cfg = opts.config;
  const now = opts.now ?? Date.now;
  const d = opts.distributor;
  const rate = new ByteRateLimiter(now);
  // The tenant's rate is global: each receiver taking its client pushes enforces rate / k, k the
  // receivers seen routing its log shares lately (ingestion-rate.ts; only its router count is used).
  const routers = new IngestionRate({ limits: opts.limits, status: 503, now });
  const streamRate = new ByteRateLimiter(now);
  const checkInternal = opts.internalHeaders ?? internalHeaderGuard(opts.registry, undefined);
  const prune = setInterval(() => streamRate.prune(STREAM_BUCKET_IDLE_MS), 60_000);
  prune.unref();
  const requests = new Counter({
    name: 'strata_logs_push_requests_total',
    help: 'Log push requests (/loki/api/v1/push) by status code; forwarded shares from peers under kind="forwarded".',
    labelNames: ['code', 'kind'],
    registers: [opts.registry],
  });
  const received = new Counter({
    name: 'strata_logs_received_entries_total',
    help: 'Log entries accepted and made durable, by tenant.',
    labelNames: ['tenant'],
    registers: [opts.registry],
  });
  const receivedBytes = new Counter({
    name: 'strata_logs_received_bytes_total',
    help: 'Bytes of log lines accepted, by tenant.',
    labelNames: ['tenant'],
    registers: [opts.registry],
  });
  const discarded = new Counter({
    name: 'strata_logs_discarded_entries_total',
    help: 'Log entries refused at push, by tenant and error ID.',
    labelNames: ['tenant', 'reason'],
    registers: [opts.registry],
  });
  const sampledOut = new Counter({
    name: 'strata_logs_sampled_out_total',
    help: "Valid log entries left out by the tenant's log_sampling rules, by tenant.",
    labelNames: ['tenant'],
    registers: [opts.registry],
  });
  const duration = new Histogram({
    name: 'strata_logs_push_duration_seconds',
    help: 'Time to accept a log push, WAL fsync (and with a ring the write quorum) included.',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [opts.registry],
  });
  const entries = (streams: readonly PushStream[]) => {
    let n = 0;
    for (const s of streams) n += s.lines.length;
    return n;
  };
  const validateOpts = () => ({
    nowMs: now(),
    creationGracePeriodMs: cfg.creationGracePeriodMs,
    outOfOrderWindowMs: cfg.outOfOrderWindowMs,
  });

  /** An owner's part of a push (all of it without a ring): checked against this head, stored. */
  async function storeShare(tenant: string, streams: PushStream[]): Promise<ShareResult> {
    let limits = logLimitsOf(opts.limits.forTenant(tenant));
    // Each owner holds its share of the tenant's streams (RF / ring size), as for metric series.
    const share = d?.seriesShare(tenant) ?? 1;
    if (share < 1 && limits.maxGlobalStreamsPerUser > 0)
      limits = { ...limits, maxGlobalStreamsPerUser: Math.ceil(limits.maxGlobalStreamsPerUser * share) };
    const v = validatePush(streams, limits, opts.sink.state(tenant), validateOpts());
    countDiscards(tenant, v.discarded);
    const stored = entries(v.accepted);
    await opts.sink.push(tenant, v.accepted);
    received.inc({ tenant }, stored);
    return { firstError: v.firstError, refusedStreams: v.refusedStreams };
  }

  function countDiscards(tenant: string, byReason: Iterable<[ErrorId | string, number]>): void {
    for (const [reason, n] of byReason) discarded.inc({ tenant, reason }, n);
  }

  /** A peer's forwarded share, answered as the router's quorum reads it (rejected streams named). */
  async function storeForwarded(tenant: string, body: Buffer): Promise<PartResult> {
    try {
      const streams = decodeLogShare(body);
      const r = await storeShare(tenant, streams);
      if (!r.firstError) return { status: 204, message: '' };
      const rejected =
        streams.length <= MAX_SELECTABLE_SERIES ? encodeSeriesSelection(r.refusedStreams as number[], streams.length) : undefined;
      return { status: r.firstError.status, message: r.firstError.detail, rejected };
    } catch (e) {
      const err = toStrataError(e);
      if (err.id === 'internal' || (err.status >= 500 && err.status !== 503)) opts.logger?.error({ err: e }, 'forwarded log share failed');
      return { status: err.status, message: err.detail };
    }
  }

  /** Streams over their own rate are refused whole (the others land); the answer is then 503 + Retry-After. */
  function takeStreamRates(tenant: string, streams: PushStream[], limits: LogLimits): { kept: PushStream[]; error?: StrataError } {
    if (limits.perStreamRateBytes <= 0) return { kept: streams };
    const kept: PushStream[] = [];
    let error: StrataError | undefined;
    let wait = 0;
    for (const s of streams) {
      const bytes = lineBytes([s]);
      const w = streamRate.tryTake(`${tenant}\n${s.labels.key()}`, bytes, limits.perStreamRateBytes, limits.perStreamBurstBytes);
      if (w === 0) {
        kept.push(s);
        continue;
      }
      wait = Math.max(wait, w);
      discarded.inc({ tenant, reason: 'per-stream-rate-limited' }, s.lines.length);
      error ??= new StrataError(
        'per-stream-rate-limited',
        `stream ${s.labelsText.slice(0, 300)}: over its rate limit of ${(limits.perStreamRateBytes / 1024 / 1024).toFixed(1)} MB/s (per_stream_rate_limit); ${bytes} bytes of lines refused`,
      );
    }
    if (error) error.retryAfter = wait;
    return { kept, error };
  }

  async function ingest(tenant: string, streams: PushStream[], refusedAtDecode: readonly { error: StrataError }[]): Promise<IngestResult> {
    const tenantLimits = opts.limits.forTenant(tenant);
    const limits = logLimitsOf(tenantLimits);
    const v = validatePush(streams, limits, d ? NO_STATE : opts.sink.state(tenant), validateOpts());
    let firstError: StrataError | undefined = refusedAtDecode[0]?.error ?? v.firstError;
    let refused = refusedAtDecode.length;
    for (const r of refusedAtDecode) discarded.inc({ tenant, reason: r.error.id });
    for (const n of v.discarded.values()) refused += n;
    countDiscards(tenant, v.discarded);
    // Sampled after validation (refusals are reported whatever the sampling) and before the
    // rates: lines left out cost the tenant nothing.
    const tally = opts.sink.recordSampledOut ? new SampledOutTally(Infinity) : undefined;
    const sampled = sampleStreams(v.accepted, tenantLimits.logSampling, tally);
    if (sampled.sampledOut > 0) sampledOut.inc({ tenant }, sampled.sampledOut);
    let accepted = sampled.kept;
    try {
      rate.take(tenant, lineBytes(accepted), limits.ingestionRateBytes / routers.entryPoints(tenant), limits.ingestionBurstBytes);
    } catch (e) {
      discarded.inc({ tenant, reason: 'ingestion-rate-limited' }, entries(accepted));
      throw e;
    }
    // Kept for query stats once the push is past the tenant's rate (a push refused whole is retried,
    // and sampled again), alongside storing the kept lines. A failure to keep the counts does not
    // fail the push: its lines are stored or replicated already.
    const tallied =
      tally && !tally.isEmpty()
        ? opts.sink.recordSampledOut!(tenant, tally).catch((e: Error) =>
            opts.logger?.warn({ tenant, err: e.message }, 'sampled-out counts not recorded; query stats will miss them'),
          )
        : undefined;
    const perStream = takeStreamRates(tenant, accepted, limits);
    refused += entries(accepted) - entries(perStream.kept);
    accepted = perStream.kept;
    const bytes = lineBytes(accepted);
    // Counted before the store awaits its fsync: the lines need not stay reachable through it.
    const storedEntries = entries(accepted);
    if (d && accepted.length > 0) {
      const r = await replicateLogs(d, tenant, accepted, storeShare);
      if (r.error && r.status !== 400) throw r.error;
      // Owners refused some entries for good (the rest landed): reported like the router's refusals.
      firstError ??= r.error;
    } else if (!d) {
      // Validated above against this head already: stored as is.
      await opts.sink.push(tenant, accepted);
      received.inc({ tenant }, storedEntries);
    }
    receivedBytes.inc({ tenant }, bytes);
    await tallied;
    // A retry can still land a stream refused for its rate: that outranks bad data (quorum.ts).
    if (perStream.error) firstError = perStream.error;
    return { firstError, refusedEntries: refused, storedEntries };
  }

  async function readBody(req: IncomingMessage): Promise<{ body: Buffer; release(): void }> {
    opts.gates?.check();
    const declared = Number(req.headers['content-length'] ?? -1);
    if (declared > cfg.maxRequestBytes) throw tooLarge(declared, cfg.maxRequestBytes);
    if (!opts.gates) return { body: await readLimited(req, cfg.maxRequestBytes, () => undefined, 0), release: () => undefined };
    const reserve = declared > 0 ? declared : 0;
    const held = opts.gates.reserve(reserve);
    try {
      return { body: await readLimited(req, cfg.maxRequestBytes, (extra) => held.grow(extra), reserve), release: () => held.release() };
    } catch (e) {
      held.release();
      throw e;
    }
  }

  const handler: HttpHandler = async (req, res) => {
    const start = process.hrtime.bigint();
    const forwarded = req.headers[FORWARDED_HEADER] !== undefined;
    const kind = forwarded ? 'forwarded' : 'client';
    let reservation: { release(): void } | undefined;
    try {
      const read = await readBody(req);
      reservation = read;
      const body = read.body;
      const tenant = tenantOf(req, { multiTenancy: cfg.multiTenancy, header: cfg.tenantHeader });
      checkInternal(req, tenant, body);
      if (forwarded) {
        routers.noteRouter(tenant, String(req.headers[FORWARDED_HEADER]));
        const ctype = header(req, 'content-type');
        if (ctype === PARTS_CONTENT_TYPE) {
          const answers = await Promise.all(decodeParts(body).map((p) => storeForwarded(tenant, p.body)));
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify(answers));
          requests.inc({ code: '200', kind });
          return;
        }
        if (ctype !== LOG_SHARE_CONTENT_TYPE)
          throw new StrataError('unsupported-content-type', `a forwarded log push must be ${LOG_SHARE_CONTENT_TYPE}, got ${ctype}`);
        const r = await storeForwarded(tenant, body);
        res.writeHead(r.status, {
          'Content-Type': 'text/plain; charset=utf-8',
          ...(r.rejected !== undefined ? { [REJECTED_SERIES_HEADER]: r.rejected } : {}),
        });
        res.end(r.message ? r.message + '\n' : undefined);
        requests.inc({ code: String(r.status), kind });
        return;
      }
      const decoded = decodePushBody(
        body,
        { contentType: header(req, 'content-type'), contentEncoding: header(req, 'content-encoding') },
        cfg.maxRequestBytes * MAX_DECOMPRESSION_RATIO,
      );
      const r = await ingest(tenant, decoded.streams, decoded.rejected);
      if (r.firstError) throw r.firstError;
      res.writeHead(204);
      res.end();
      requests.inc({ code: '204', kind });
    } catch (e) {
      const err = toStrataError(e);
      if (err.id === 'internal' || (err.status >= 500 && err.status !== 503)) opts.logger?.error({ err: e }, 'log push failed');
      res.writeHead(err.status, {
        'Content-Type': 'text/plain; charset=utf-8',
        ...(err.retryAfter ? { 'Retry-After': String(err.retryAfter) } : {}),
      });
      res.end(err.detail + '\n');
      requests.inc({ code: String(err.status), kind });
    } finally {
      reservation?.release();
      duration.observe(Number(process.hrtime.bigint() - start) / 1e9);
    }
  };
  return { handler, ingest, readBody };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
