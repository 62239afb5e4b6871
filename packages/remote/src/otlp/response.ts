/**
 * OTLP/HTTP answers (opentelemetry-proto, collector/metrics/v1/metrics_service.proto):
 *
 *   message ExportMetricsServiceResponse { ExportMetricsPartialSuccess partial_success = 1; }
 *   message ExportMetricsPartialSuccess { int64 rejected_data_points = 1; string error_message = 2; }
 *
 * and the google.rpc.Status body of a failed request:
 *
 *   message Status { int32 code = 1; string message = 2; repeated google.protobuf.Any details = 3; }
 *
 * in the encoding of the request (protobuf or JSON).
 */
import { PbWriter } from '../pb-writer.js';

/**
 * The logs service answers the same message under other names (ExportLogsPartialSuccess, field 1
 * rejected_log_records): `countName` is the JSON name of field 1.
 */
export function encodeExportResponse(
  rejectedDataPoints: number,
  errorMessage: string,
  json: boolean,
  countName: 'rejectedDataPoints' | 'rejectedLogRecords' = 'rejectedDataPoints',
): Buffer {
  if (json) {
    const body =
      rejectedDataPoints > 0 || errorMessage !== '' ? { partialSuccess: { [countName]: String(rejectedDataPoints), errorMessage } } : {};
    return Buffer.from(JSON.stringify(body));
  }
  const w = new PbWriter(64 + errorMessage.length * 3);
  if (rejectedDataPoints > 0 || errorMessage !== '') {
    w.message(1, () => {
      w.int64(1, rejectedDataPoints);
      w.string(2, errorMessage);
    });
  }
  return Buffer.from(w.finish());
}

/** gRPC status codes the HTTP statuses correspond to (INVALID_ARGUMENT, UNAVAILABLE, ...). */
function grpcCode(httpStatus: number): number {
  if (httpStatus === 400) return 3;
  if (httpStatus === 401) return 16;
  if (httpStatus === 403) return 7;
  if (httpStatus === 413) return 8;
  if (httpStatus === 429) return 8;
  if (httpStatus === 503) return 14;
  return 13;
}

export function encodeStatus(httpStatus: number, message: string, json: boolean): Buffer {
  const code = grpcCode(httpStatus);
  if (json) return Buffer.from(JSON.stringify({ code, message }));
  const w = new PbWriter(32 + message.length * 3);
  w.uint(1, code);
  w.string(2, message);
  return Buffer.from(w.finish());
}
