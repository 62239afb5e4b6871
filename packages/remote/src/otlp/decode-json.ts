/**
 * ExportMetricsServiceRequest in OTLP/JSON (Content-Type application/json): the protobuf JSON
 * mapping with OTLP's deviations (trace and span IDs in hex, enums as integers). Field names are
 * accepted in lowerCamelCase and as in the .proto; 64-bit integers as JSON numbers or decimal
 * strings; doubles also as "NaN", "Infinity", "-Infinity". Anything else of the wrong type is a
 * StrataError('invalid-request-body') naming the field.
 */
import { StrataError } from '@strata/model';
import {
  MetricKind,
  newMetric,
  newPoint,
  type OtlpExemplar,
  type OtlpMetric,
  type OtlpPoint,
  type OtlpRequest,
  type OtlpResource,
  type OtlpScope,
} from './model.js';
import { newLogRecord, type OtlpLogRecord, type OtlpLogScope, type OtlpLogsRequest } from './logs-model.js';

type Obj = Record<string, unknown>;

const MAX_ANY_VALUE_DEPTH = 16;

export function decodeOtlpMetricsJson(body: Buffer): OtlpRequest {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch (e) {
    throw bad(`body is not JSON: ${(e as Error).message}`);
  }
  const root = obj(doc, 'request');
  return { resources: list(field(root, 'resourceMetrics', 'resource_metrics'), 'resourceMetrics').map(resourceMetrics) };
}

function resourceMetrics(v: unknown): OtlpResource {
  const o = obj(v, 'resourceMetrics[]');
  const res = field(o, 'resource');
  const attributes: string[] = [];
  if (res !== undefined) keyValues(field(obj(res, 'resource'), 'attributes'), attributes);
  return { attributes, scopes: list(field(o, 'scopeMetrics', 'scope_metrics'), 'scopeMetrics').map(scopeMetrics) };
}

function scopeMetrics(v: unknown): OtlpScope {
  const o = obj(v, 'scopeMetrics[]');
  const s = field(o, 'scope');
  const scope = s === undefined ? {} : obj(s, 'scope');
  return {
    name: str(field(scope, 'name'), 'scope.name'),
    version: str(field(scope, 'version'), 'scope.version'),
    metrics: list(field(o, 'metrics'), 'metrics').map(metric),
  };
}

const KINDS: [MetricKind, string, string][] = [
  [MetricKind.Gauge, 'gauge', 'gauge'],
  [MetricKind.Sum, 'sum', 'sum'],
  [MetricKind.Histogram, 'histogram', 'histogram'],
  [MetricKind.ExponentialHistogram, 'exponentialHistogram', 'exponential_histogram'],
  [MetricKind.Summary, 'summary', 'summary'],
];

const TEMPORALITIES: Record<string, number> = {
  AGGREGATION_TEMPORALITY_UNSPECIFIED: 0,
  AGGREGATION_TEMPORALITY_DELTA: 1,
  AGGREGATION_TEMPORALITY_CUMULATIVE: 2,
};

function metric(v: unknown): OtlpMetric {
  const o = obj(v, 'metrics[]');
  const m = newMetric();
  m.name = str(field(o, 'name'), 'metric.name');
  m.description = str(field(o, 'description'), 'metric.description');
  m.unit = str(field(o, 'unit'), 'metric.unit');
  for (const [kind, camel, snake] of KINDS) {
    const d = field(o, camel, snake);
    if (d === undefined || d === null) continue;
    const data = obj(d, camel);
    m.kind = kind;
    const t = field(data, 'aggregationTemporality', 'aggregation_temporality');
    m.temporality = typeof t === 'string' && t in TEMPORALITIES ? TEMPORALITIES[t] : int(t, 'aggregationTemporality');
    m.monotonic = bool(field(data, 'isMonotonic', 'is_monotonic'), 'isMonotonic');
    m.points = list(field(data, 'dataPoints', 'data_points'), 'dataPoints').map((p) => point(p, kind));
  }
  return m;
}

function point(v: unknown, kind: MetricKind): OtlpPoint {
  const o = obj(v, 'dataPoints[]');
  const p = newPoint();
  keyValues(field(o, 'attributes'), p.attributes);
  p.startMs = nanosToMs(field(o, 'startTimeUnixNano', 'start_time_unix_nano'), 'startTimeUnixNano');
  p.timeMs = nanosToMs(field(o, 'timeUnixNano', 'time_unix_nano'), 'timeUnixNano');
  p.flags = int(field(o, 'flags'), 'flags');
  for (const e of list(field(o, 'exemplars'), 'exemplars')) p.exemplars.push(exemplar(e));
  switch (kind) {
    case MetricKind.Gauge:
    case MetricKind.Sum: {
      const d = field(o, 'asDouble', 'as_double');
      p.value = d !== undefined ? num(d, 'asDouble') : int(field(o, 'asInt', 'as_int'), 'asInt');
      break;
    }
    case MetricKind.Histogram:
      p.count = int(field(o, 'count'), 'count');
      sumOf(o, p);
      for (const c of list(field(o, 'bucketCounts', 'bucket_counts'), 'bucketCounts')) p.bucketCounts.push(int(c, 'bucketCounts[]'));
      for (const b of list(field(o, 'explicitBounds', 'explicit_bounds'), 'explicitBounds')) p.bounds.push(num(b, 'explicitBounds[]'));
      break;
    case MetricKind.ExponentialHistogram: {
      p.count = int(field(o, 'count'), 'count');
      sumOf(o, p);
      p.scale = int(field(o, 'scale'), 'scale');
      p.zeroCount = int(field(o, 'zeroCount', 'zero_count'), 'zeroCount');
      p.zeroThreshold = num(field(o, 'zeroThreshold', 'zero_threshold'), 'zeroThreshold');
      p.positiveOffset = expBuckets(field(o, 'positive'), p.positive);
      p.negativeOffset = expBuckets(field(o, 'negative'), p.negative);
      break;
    }
    case MetricKind.Summary:
      p.count = int(field(o, 'count'), 'count');
      p.sum = num(field(o, 'sum'), 'sum');
      p.hasSum = true;
      for (const q of list(field(o, 'quantileValues', 'quantile_values'), 'quantileValues')) {
        const qo = obj(q, 'quantileValues[]');
        p.quantiles.push(num(field(qo, 'quantile'), 'quantile'), num(field(qo, 'value'), 'value'));
      }
      break;
  }
  return p;
}

function sumOf(o: Obj, p: OtlpPoint): void {
  const s = field(o, 'sum');
  if (s === undefined || s === null) return;
  p.sum = num(s, 'sum');
  p.hasSum = true;
}

function expBuckets(v: unknown, out: number[]): number {
  if (v === undefined || v === null) return 0;
  const o = obj(v, 'buckets');
  for (const c of list(field(o, 'bucketCounts', 'bucket_counts'), 'bucketCounts')) out.push(int(c, 'bucketCounts[]'));
  return int(field(o, 'offset'), 'offset');
}

function exemplar(v: unknown): OtlpExemplar {
  const o = obj(v, 'exemplars[]');
  const e: OtlpExemplar = { attributes: [], timeMs: 0, value: 0, traceId: '', spanId: '' };
  keyValues(field(o, 'filteredAttributes', 'filtered_attributes'), e.attributes);
  e.timeMs = nanosToMs(field(o, 'timeUnixNano', 'time_unix_nano'), 'timeUnixNano');
  const d = field(o, 'asDouble', 'as_double');
  e.value = d !== undefined ? num(d, 'asDouble') : int(field(o, 'asInt', 'as_int'), 'asInt');
  e.traceId = hex(field(o, 'traceId', 'trace_id'), 'traceId');
  e.spanId = hex(field(o, 'spanId', 'span_id'), 'spanId');
  return e;
}

function keyValues(v: unknown, out: string[]): void {
  for (const kv of list(v, 'attributes')) {
    const o = obj(kv, 'attributes[]');
    const value = field(o, 'value');
    const rendered = value === undefined || value === null ? '' : anyValue(value, 0);
    out.push(str(field(o, 'key'), 'attributes[].key'), typeof rendered === 'string' ? rendered : JSON.stringify(rendered));
  }
}

type Json = string | number | boolean | Json[] | { [k: string]: Json };

/** As the protobuf decoder renders AnyValue: scalars as strings at the top, nested values typed. */
function anyValue(v: unknown, depth: number): Json {
  if (depth > MAX_ANY_VALUE_DEPTH) throw bad('attribute value nested too deeply');
  const o = obj(v, 'AnyValue');
  let out: Json = '';
  if ('stringValue' in o || 'string_value' in o) out = str(field(o, 'stringValue', 'string_value'), 'stringValue');
  else if ('boolValue' in o || 'bool_value' in o) out = bool(field(o, 'boolValue', 'bool_value'), 'boolValue');
  else if ('intValue' in o || 'int_value' in o) out = int(field(o, 'intValue', 'int_value'), 'intValue');
  else if ('doubleValue' in o || 'double_value' in o) out = num(field(o, 'doubleValue', 'double_value'), 'doubleValue');
  else if ('bytesValue' in o || 'bytes_value' in o) out = str(field(o, 'bytesValue', 'bytes_value'), 'bytesValue');
  else if ('arrayValue' in o || 'array_value' in o) {
    const a = obj(field(o, 'arrayValue', 'array_value'), 'arrayValue');
    out = list(field(a, 'values'), 'arrayValue.values').map((x) => anyValue(x, depth + 1));
  } else if ('kvlistValue' in o || 'kvlist_value' in o) {
    const l = obj(field(o, 'kvlistValue', 'kvlist_value'), 'kvlistValue');
    const m: { [k: string]: Json } = {};
    for (const kv of list(field(l, 'values'), 'kvlistValue.values')) {
      const ko = obj(kv, 'kvlistValue.values[]');
      const val = field(ko, 'value');
      m[str(field(ko, 'key'), 'key')] = val === undefined || val === null ? '' : anyValue(val, depth + 1);
    }
    out = m;
  }
  return depth === 0 && typeof out !== 'string' && typeof out !== 'object' ? String(out) : out;
}

function field(o: Obj, camel: string, snake?: string): unknown {
  const v = o[camel];
  return v !== undefined || snake === undefined ? v : o[snake];
}

function obj(v: unknown, what: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(`${what} must be an object`);
  return v as Obj;
}

function list(v: unknown, what: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw bad(`${what} must be an array`);
  return v;
}

function str(v: unknown, what: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw bad(`${what} must be a string`);
  return v;
}

function bool(v: unknown, what: string): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw bad(`${what} must be a boolean`);
  return v;
}

const INT = /^-?\d+$/;

/** A 64-bit integer: a JSON number or a decimal string (precision above 2^53 is lost). */
function int(v: unknown, what: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && INT.test(v)) return Number(v);
  throw bad(`${what} must be an integer`);
}

function num(v: unknown, what: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return v;
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  throw bad(`${what} must be a number`);
}

/** Nanoseconds (number or decimal string) to whole milliseconds, truncated, exactly for strings. */
function nanosToMs(v: unknown, what: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'string' && INT.test(v)) {
    const neg = v.startsWith('-');
    const digits = neg ? v.slice(1) : v;
    const ms = digits.length > 6 ? Number(digits.slice(0, -6)) : 0;
    return neg ? -ms : ms;
  }
  if (typeof v === 'number' && Number.isInteger(v)) return Math.trunc(v / 1e6);
  throw bad(`${what} must be an integer`);
}

const HEX = /^[0-9a-fA-F]*$/;

function hex(v: unknown, what: string): string {
  const s = str(v, what);
  if (!HEX.test(s) || s.length % 2 !== 0) throw bad(`${what} must be hex`);
  return s.toLowerCase();
}

function bad(what: string): StrataError {
  return new StrataError('invalid-request-body', `malformed OTLP JSON: ${what}`);
}

// ---- logs: ExportLogsServiceRequest in OTLP/JSON ----

export function decodeOtlpLogsJson(body: Buffer): OtlpLogsRequest {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch (e) {
    throw bad(`body is not JSON: ${(e as Error).message}`);
  }
  const root = obj(doc, 'request');
  return {
    resources: list(field(root, 'resourceLogs', 'resource_logs'), 'resourceLogs').map((v) => {
      const o = obj(v, 'resourceLogs[]');
      const res = field(o, 'resource');
      const attributes: string[] = [];
      if (res !== undefined && res !== null) keyValues(field(obj(res, 'resource'), 'attributes'), attributes);
      return { attributes, scopes: list(field(o, 'scopeLogs', 'scope_logs'), 'scopeLogs').map(scopeLogs) };
    }),
  };
}

function scopeLogs(v: unknown): OtlpLogScope {
  const o = obj(v, 'scopeLogs[]');
  const s = field(o, 'scope');
  const scope = s === undefined || s === null ? {} : obj(s, 'scope');
  const attributes: string[] = [];
  keyValues(field(scope, 'attributes'), attributes);
  return {
    name: str(field(scope, 'name'), 'scope.name'),
    version: str(field(scope, 'version'), 'scope.version'),
    attributes,
    droppedAttributesCount: int(field(scope, 'droppedAttributesCount', 'dropped_attributes_count'), 'scope.droppedAttributesCount'),
    records: list(field(o, 'logRecords', 'log_records'), 'logRecords').map(logRecord),
  };
}

/** SeverityNumber by name, for senders that write the enum's name instead of its number. */
const SEVERITIES = [
  'UNSPECIFIED',
  'TRACE',
  'TRACE2',
  'TRACE3',
  'TRACE4',
  'DEBUG',
  'DEBUG2',
  'DEBUG3',
  'DEBUG4',
  'INFO',
  'INFO2',
  'INFO3',
  'INFO4',
  'WARN',
  'WARN2',
  'WARN3',
  'WARN4',
  'ERROR',
  'ERROR2',
  'ERROR3',
  'ERROR4',
  'FATAL',
  'FATAL2',
  'FATAL3',
  'FATAL4',
];

function logRecord(v: unknown): OtlpLogRecord {
  const o = obj(v, 'logRecords[]');
  const rec = newLogRecord();
  rec.timeNs = nanos(field(o, 'timeUnixNano', 'time_unix_nano'), 'timeUnixNano');
  rec.observedTimeNs = nanos(field(o, 'observedTimeUnixNano', 'observed_time_unix_nano'), 'observedTimeUnixNano');
  const sev = field(o, 'severityNumber', 'severity_number');
  const named = typeof sev === 'string' && sev.startsWith('SEVERITY_NUMBER_') ? SEVERITIES.indexOf(sev.slice(16)) : -2;
  if (named === -1) throw bad(`unknown severityNumber ${JSON.stringify(sev)}`);
  rec.severityNumber = named >= 0 ? named : int(sev, 'severityNumber');
  rec.severityText = str(field(o, 'severityText', 'severity_text'), 'severityText');
  const b = field(o, 'body');
  if (b !== undefined && b !== null) {
    const rendered = anyValue(b, 0);
    rec.body = typeof rendered === 'string' ? rendered : JSON.stringify(rendered);
  }
  keyValues(field(o, 'attributes'), rec.attributes);
  rec.droppedAttributesCount = int(field(o, 'droppedAttributesCount', 'dropped_attributes_count'), 'droppedAttributesCount');
  rec.flags = int(field(o, 'flags'), 'flags');
  rec.traceId = hex(field(o, 'traceId', 'trace_id'), 'traceId');
  rec.spanId = hex(field(o, 'spanId', 'span_id'), 'spanId');
  return rec;
}

/** Unix nanoseconds, exactly: a decimal string or a JSON number (which loses precision above 2^53). */
function nanos(v: unknown, what: string): bigint {
  if (v === undefined || v === null) return 0n;
  if (typeof v === 'string' && INT.test(v)) return BigInt(v);
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  throw bad(`${what} must be an integer`);
}
