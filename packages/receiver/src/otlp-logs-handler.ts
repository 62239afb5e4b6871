/**
 * POST /otlp/v1/logs: OpenTelemetry's OTLP/HTTP logs export, in protobuf or JSON, plain or gzip.
 * Records become Loki streams by Loki's default OTLP mapping (@strata/logs otlp-logs.ts) and go
 * through the Loki push path (log-push.ts): the same gates, validation, sampling, rates,
 * replication and WAL.
 *
 * Answers follow the OTLP/HTTP specification: 200 with an ExportLogsServiceResponse, whose
 * partial_success counts the records refused and says why (the rest landed); 400 with a
 * google.rpc.Status when nothing could be accepted; 503 with Retry-After when a retry can
 * succeed (rates, overload, a replica unreachable), which exporters retry.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import zlib from 'node:zlib';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { StrataError, toStrataError } from '@strata/model';
import { tenantOf } from '@strata/api';
import { decodeOtlpLogsJson, decodeOtlpLogsProto, encodeExportResponse, encodeStatus } from '@strata/remote';
import { otlpLogsToStreams } from '@strata/logs';
import type { LogPushPath } from './log-push.js';
import { MAX_DECOMPRESSION_RATIO } from './write-handler.js';

export interface OtlpLogsHandlerOptions {
  path: LogPushPath;
  config: { maxRequestBytes: number; multiTenancy: boolean; tenantHeader: string };
  registry: Registry;
  logger?: Logger;
  now?: () => number;
}

const PROTOBUF = 'application/x-protobuf';
const JSON_TYPE = 'application/json';

export function createOtlpLogsHandler(opts: OtlpLogsHandlerOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const cfg = opts.config;
  const now = opts.now ?? Date.now;
  const requests = new Counter({
    name: 'strata_otlp_logs_requests_total',
    help: 'OTLP logs export requests (/otlp/v1/logs) by status code.',
    labelNames: ['code'],
    registers: [opts.registry],
  });
  const rejected = new Counter({
    name: 'strata_otlp_rejected_log_records_total',
    help: 'OTLP log records refused (reported to the exporter as partial success).',
    registers: [opts.registry],
  });

  return async (req, res) => {
    let json = false;
    let reservation: { release(): void } | undefined;
    try {
      const media = String(req.headers['content-type'] ?? '')
        .split(';')[0]
        .trim()
        .toLowerCase();
      json = media === JSON_TYPE;
      if (!json && media !== PROTOBUF)
        throw new StrataError(
          'unsupported-content-type',
          `unsupported Content-Type ${JSON.stringify(media)}; OTLP/HTTP logs are ${PROTOBUF} or ${JSON_TYPE}`,
        );
      const enc = String(req.headers['content-encoding'] ?? '')
        .trim()
        .toLowerCase();
      if (enc !== '' && enc !== 'identity' && enc !== 'gzip')
        throw new StrataError(
          'unsupported-content-encoding',
          `unsupported Content-Encoding ${JSON.stringify(enc)}; OTLP bodies are plain or gzip`,
        );
      const read = await opts.path.readBody(req);
      reservation = read;
      const tenant = tenantOf(req, { multiTenancy: cfg.multiTenancy, header: cfg.tenantHeader });
      const raw = enc === 'gzip' ? gunzip(read.body, cfg.maxRequestBytes * MAX_DECOMPRESSION_RATIO) : read.body;
      const decoded = json ? decodeOtlpLogsJson(raw) : decodeOtlpLogsProto(raw);
      const streams = otlpLogsToStreams(decoded, BigInt(now()) * 1_000_000n);
      const r = await opts.path.ingest(tenant, streams, []);
      const err = r.firstError;
      // Retryable (a stream over its rate): the whole export is retried, nothing is "partially" accepted.
      if (err && err.status >= 500) throw err;
      if (err && r.storedEntries === 0) throw err;
      rejected.inc(r.refusedEntries);
      res.writeHead(200, { 'Content-Type': json ? JSON_TYPE : PROTOBUF });
      res.end(encodeExportResponse(err ? r.refusedEntries : 0, err?.detail ?? '', json, 'rejectedLogRecords'));
      requests.inc({ code: '200' });
    } catch (e) {
      const err = toStrataError(e);
      if (err.id === 'internal' || (err.status >= 500 && err.status !== 503)) opts.logger?.error({ err: e }, 'OTLP logs export failed');
      res.writeHead(err.status, {
        'Content-Type': json ? JSON_TYPE : PROTOBUF,
        ...(err.retryAfter ? { 'Retry-After': String(err.retryAfter) } : {}),
      });
      res.end(encodeStatus(err.status, err.detail, json));
      requests.inc({ code: String(err.status) });
    } finally {
      reservation?.release();
    }
  };
}

function gunzip(body: Buffer, maxOutputLength: number): Buffer {
  try {
    return zlib.gunzipSync(body, { maxOutputLength });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
      throw new StrataError(
        'request-too-large',
        `the gzip body inflates beyond ${maxOutputLength} bytes (--receiver.max-request-bytes x ${MAX_DECOMPRESSION_RATIO})`,
      );
    throw new StrataError('invalid-request-body', `body is not valid gzip: ${(e as Error).message}`);
  }
}
