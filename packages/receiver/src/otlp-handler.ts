/**
 * POST /otlp/v1/metrics: OpenTelemetry's OTLP/HTTP metrics export, in protobuf or JSON, plain or
 * gzip. The body is read under the write path's overload gates, translated to a remote-write 1.0
 * request as Prometheus 3 does (@strata/remote's otlp/), and written through the same path as
 * remote-write: relabelling, rate limit, limits, replication, WAL.
 *
 * Answers follow the OTLP/HTTP specification: 200 with an ExportMetricsServiceResponse, whose
 * partial_success counts the data points refused and says why (the rest landed); 400 with a
 * google.rpc.Status when nothing could be accepted; 503 or 429 with Retry-After on overload,
 * which exporters retry. Bodies are in the encoding of the request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { StrataError } from '@strata/model';
import { tenantOf } from '@strata/api';
import {
  decodeOtlpMetricsJson,
  decodeOtlpMetricsProto,
  decodeWriteRequestV1,
  encodeExportResponse,
  translateOtlp,
  type TranslationStrategy,
} from '@strata/remote';
import { readLimited, tooLarge, type WritePath } from './write-handler.js';
import { answerOtlpError, OTLP_JSON, OTLP_PROTOBUF, otlpBody, otlpBodyFormat } from './otlp-http.js';

export interface OtlpHandlerConfig {
  maxRequestBytes: number;
  multiTenancy: boolean;
  tenantHeader: string;
  translationStrategy: TranslationStrategy;
  promoteResourceAttributes: readonly string[];
  /** Whether OTLP exemplars are written along (the receiver keeps exemplars). */
  exemplars: boolean;
}

export interface OtlpHandlerOptions {
  path: WritePath;
  config: OtlpHandlerConfig;
  registry: Registry;
  logger?: Logger;
}

export function createOtlpHandler(opts: OtlpHandlerOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const cfg = opts.config;
  const requests = new Counter({
    name: 'strata_otlp_requests_total',
    help: 'OTLP metrics export requests by status code.',
    labelNames: ['code'],
    registers: [opts.registry],
  });
  const points = new Counter({
    name: 'strata_otlp_rejected_data_points_total',
    help: 'OTLP data points refused (reported to the exporter as partial success).',
    registers: [opts.registry],
  });

  return async (req, res) => {
    let json = false;
    let reservation: { release(): void } | undefined;
    try {
      const format = otlpBodyFormat(req, 'metrics');
      json = format.json;
      opts.path.gates.check();
      const declared = Number(req.headers['content-length'] ?? -1);
      if (declared > cfg.maxRequestBytes) throw tooLarge(declared, cfg.maxRequestBytes);
      const reserve = declared > 0 ? declared : 0;
      const held = (reservation = opts.path.gates.reserve(reserve));
      const body = await readLimited(req, cfg.maxRequestBytes, (extra) => held.grow(extra), reserve);
      const tenant = tenantOf(req, { multiTenancy: cfg.multiTenancy, header: cfg.tenantHeader });
      const raw = otlpBody(body, format.gzip, cfg.maxRequestBytes);

      const decoded = json ? decodeOtlpMetricsJson(raw) : decodeOtlpMetricsProto(raw);
      const t = translateOtlp(decoded, {
        strategy: cfg.translationStrategy,
        promoteResourceAttributes: cfg.promoteResourceAttributes,
        exemplars: cfg.exemplars,
      });
      let rejected = t.rejectedPoints;
      const why = [...t.errors];
      let written = 0;
      if (t.samples + t.histograms > 0) {
        const result = await opts.path.write(tenant, decodeWriteRequestV1(t.request));
        written = result.samplesWritten;
        const err = result.firstError;
        // Overload and rate limits: the whole export is retried, so nothing is "partially" accepted.
        if (err && (err.status >= 500 || err.status === 429)) throw err;
        if (err) {
          rejected += Math.max(0, t.samples - result.samplesWritten) + result.histogramsRejected;
          why.push(err.detail);
        }
      }
      if (rejected > 0 && written === 0) throw new StrataError('invalid-request-body', why.join('; '));
      points.inc(rejected);
      res.writeHead(200, { 'Content-Type': json ? OTLP_JSON : OTLP_PROTOBUF });
      res.end(encodeExportResponse(rejected, why.join('; '), json));
      requests.inc({ code: '200' });
    } catch (e) {
      answerOtlpError(res, e, json, requests, opts.logger, 'OTLP export');
    } finally {
      reservation?.release();
    }
  };
}
