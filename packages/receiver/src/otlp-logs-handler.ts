/**
 * POST /otlp/v1/logs: OpenTelemetry's OTLP/HTTP logs export, in protobuf or JSON, plain or gzip.
 * Records become Loki streams by Loki's OTLP mapping and the tenant's otlp_config (@strata/logs otlp-logs.ts) and go
 * through the Loki push path (log-push.ts): the same gates, validation, sampling, rates,
 * replication and WAL.
 *
 * Answers follow the OTLP/HTTP specification: 200 with an ExportLogsServiceResponse, whose
 * partial_success counts the records refused and says why (the rest landed); 400 with a
 * google.rpc.Status when nothing could be accepted; 503 with Retry-After when a retry can
 * succeed (rates, overload, a replica unreachable), which exporters retry.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { tenantOf, type OtlpLogsConfig } from '@strata/api';
import { decodeOtlpLogsJson, decodeOtlpLogsProto, encodeExportResponse } from '@strata/remote';
import { otlpLogsToStreams } from '@strata/logs';
import type { LogPushPath } from './log-push.js';
import { answerOtlpError, OTLP_JSON, OTLP_PROTOBUF, otlpBody, otlpBodyFormat } from './otlp-http.js';

export interface OtlpLogsHandlerOptions {
  path: LogPushPath;
  config: { maxRequestBytes: number; multiTenancy: boolean; tenantHeader: string };
  registry: Registry;
  logger?: Logger;
  now?: () => number;
  /** The tenant's otlp_config (limits file); unset: Loki's default mapping. */
  otlpConfig?: (tenant: string) => OtlpLogsConfig | undefined;
}

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
      const format = otlpBodyFormat(req, 'logs');
      json = format.json;
      const read = await opts.path.readBody(req);
      reservation = read;
      const tenant = tenantOf(req, { multiTenancy: cfg.multiTenancy, header: cfg.tenantHeader });
      const raw = otlpBody(read.body, format.gzip, cfg.maxRequestBytes);
      const decoded = json ? decodeOtlpLogsJson(raw) : decodeOtlpLogsProto(raw);
      const streams = otlpLogsToStreams(decoded, BigInt(now()) * 1_000_000n, opts.otlpConfig?.(tenant));
      const r = await opts.path.ingest(tenant, streams, []);
      const err = r.firstError;
      // Retryable (a stream over its rate): the whole export is retried, nothing is "partially" accepted.
      if (err && err.status >= 500) throw err;
      if (err && r.storedEntries === 0) throw err;
      rejected.inc(r.refusedEntries);
      res.writeHead(200, { 'Content-Type': json ? OTLP_JSON : OTLP_PROTOBUF });
      res.end(encodeExportResponse(err ? r.refusedEntries : 0, err?.detail ?? '', json, 'rejectedLogRecords'));
      requests.inc({ code: '200' });
    } catch (e) {
      answerOtlpError(res, e, json, requests, opts.logger, 'OTLP logs export');
    } finally {
      reservation?.release();
    }
  };
}
