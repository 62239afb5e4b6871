/**
 * POST /loki/api/v1/push: Loki's push API on the receiver. The body (snappy protobuf, JSON or
 * gzip JSON) is decoded, validated against the tenant's log limits, charged to its line-byte
 * rate, and handed to the log store, which acknowledges only after the WAL fsync. Answers as
 * Loki does: 204; 400 naming the first refused stream while the valid ones landed; 503 with
 * Retry-After when the tenant is over its rate, so clients retry instead of dropping lines.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { Counter, Histogram, type Registry } from 'prom-client';
import { StrataError, toStrataError } from '@strata/model';
import { tenantOf, type Limits } from '@strata/api';
import {
  ByteRateLimiter,
  decodePushBody,
  lineBytes,
  logLimitsOf,
  sampleStreams,
  validatePush,
  type PushStream,
  type StreamState,
} from '@strata/logs';
import { MAX_DECOMPRESSION_RATIO } from './write-handler.js';

/** Where accepted streams go: a LogStore, or replication in front of one. */
export interface LogSink {
  state(tenant: string): StreamState;
  push(tenant: string, streams: readonly PushStream[]): Promise<void>;
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
}

export function createLogPushHandler(opts: LogPushOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const cfg = opts.config;
  const now = opts.now ?? Date.now;
  const rate = new ByteRateLimiter(now);
  const requests = new Counter({
    name: 'strata_logs_push_requests_total',
    help: 'Log push requests (/loki/api/v1/push) by status code.',
    labelNames: ['code'],
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
    help: 'Time to accept a log push, WAL fsync included.',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [opts.registry],
  });

  return async (req, res) => {
    const start = process.hrtime.bigint();
    try {
      const tenant = tenantOf(req, { multiTenancy: cfg.multiTenancy, header: cfg.tenantHeader });
      const body = await readBody(req, cfg.maxRequestBytes);
      const decoded = decodePushBody(
        body,
        { contentType: header(req, 'content-type'), contentEncoding: header(req, 'content-encoding') },
        cfg.maxRequestBytes * MAX_DECOMPRESSION_RATIO,
      );
      const tenantLimits = opts.limits.forTenant(tenant);
      const limits = logLimitsOf(tenantLimits);
      const v = validatePush(decoded.streams, limits, opts.sink.state(tenant), {
        nowMs: now(),
        creationGracePeriodMs: cfg.creationGracePeriodMs,
        outOfOrderWindowMs: cfg.outOfOrderWindowMs,
      });
      const firstError = decoded.rejected[0]?.error ?? v.firstError;
      for (const r of decoded.rejected) discarded.inc({ tenant, reason: r.error.id });
      for (const [reason, n] of v.discarded) discarded.inc({ tenant, reason }, n);
      // Sampled after validation (refusals are reported whatever the sampling) and before the
      // rate: lines left out cost the tenant nothing.
      const sampled = sampleStreams(v.accepted, tenantLimits.logSampling);
      if (sampled.sampledOut > 0) sampledOut.inc({ tenant }, sampled.sampledOut);
      v.accepted = sampled.kept;
      const bytes = lineBytes(v.accepted);
      try {
        rate.take(tenant, bytes, limits.ingestionRateBytes, limits.ingestionBurstBytes);
      } catch (e) {
        let n = 0;
        for (const s of v.accepted) n += s.lines.length;
        discarded.inc({ tenant, reason: 'ingestion-rate-limited' }, n);
        throw e;
      }
      await opts.sink.push(tenant, v.accepted);
      let n = 0;
      for (const s of v.accepted) n += s.lines.length;
      received.inc({ tenant }, n);
      receivedBytes.inc({ tenant }, bytes);
      if (firstError) throw firstError;
      res.writeHead(204);
      res.end();
      requests.inc({ code: '204' });
    } catch (e) {
      const err = toStrataError(e);
      if (err.id === 'internal' || (err.status >= 500 && err.status !== 503)) opts.logger?.error({ err: e }, 'log push failed');
      res.writeHead(err.status, {
        'Content-Type': 'text/plain; charset=utf-8',
        ...(err.retryAfter ? { 'Retry-After': String(err.retryAfter) } : {}),
      });
      res.end(err.detail + '\n');
      requests.inc({ code: String(err.status) });
    } finally {
      duration.observe(Number(process.hrtime.bigint() - start) / 1e9);
    }
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? -1);
  if (declared > limit) throw tooLarge(declared, limit);
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > limit) throw tooLarge(n, limit);
    chunks.push(c);
  }
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, n);
}

function tooLarge(n: number, limit: number): StrataError {
  return new StrataError(
    'request-too-large',
    `the push body of ${n} bytes exceeds the limit of ${limit} bytes (--receiver.max-request-bytes)`,
  );
}
