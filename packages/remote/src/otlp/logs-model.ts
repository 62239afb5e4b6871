/**
 * An OTLP logs export (opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest) as the
 * decoders hand it over: attributes as flat [key, value, ...] lists with values rendered as the
 * metrics decoders render them (scalars as strings, arrays and maps as JSON, bytes in base64).
 */
export interface OtlpLogsRequest {
  resources: OtlpLogResource[];
}

export interface OtlpLogResource {
  attributes: string[];
  scopes: OtlpLogScope[];
}

export interface OtlpLogScope {
  name: string;
  version: string;
  attributes: string[];
  droppedAttributesCount: number;
  records: OtlpLogRecord[];
}

export interface OtlpLogRecord {
  /** Unix nanoseconds; 0 = unset. */
  timeNs: bigint;
  observedTimeNs: bigint;
  severityNumber: number;
  severityText: string;
  /** The body as a string (AnyValue rendered as pdata's AsString does). */
  body: string;
  attributes: string[];
  droppedAttributesCount: number;
  flags: number;
  /** Lower-case hex; '' = unset. */
  traceId: string;
  spanId: string;
}

export function newLogRecord(): OtlpLogRecord {
  return {
    timeNs: 0n,
    observedTimeNs: 0n,
    severityNumber: 0,
    severityText: '',
    body: '',
    attributes: [],
    droppedAttributesCount: 0,
    flags: 0,
    traceId: '',
    spanId: '',
  };
}
