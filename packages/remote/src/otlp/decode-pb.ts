/**
 * opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest (OTLP/HTTP with
 * Content-Type application/x-protobuf), read with the shared allocation-free field reader. Each
 * decoder quotes the message it reads (opentelemetry-proto, metrics/v1/metrics.proto and
 * common/v1/common.proto). Malformed input ends in StrataError('invalid-request-body').
 */
import { PbReader, WIRE_FIXED32, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT, malformed } from '../pb-reader.js';
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
import { newLogRecord, type OtlpLogRecord, type OtlpLogResource, type OtlpLogScope, type OtlpLogsRequest } from './logs-model.js';

/** AnyValue nests through arrays and key-value lists; deeper than this is hostile, not data. */
const MAX_ANY_VALUE_DEPTH = 16;

/**
 *   message ExportMetricsServiceRequest { repeated ResourceMetrics resource_metrics = 1; }
 */
export function decodeOtlpMetricsProto(buf: Buffer): OtlpRequest {
  const r = new PbReader(buf);
  const resources: OtlpResource[] = [];
  while (r.nextField()) {
    if (r.field === 1 && r.wire === WIRE_LEN) {
      const outer = r.enter();
      resources.push(resourceMetrics(r));
      r.leave(outer);
    }
  }
  return { resources };
}

/**
 *   message ResourceMetrics { Resource resource = 1; repeated ScopeMetrics scope_metrics = 2; string schema_url = 3; }
 *   message Resource { repeated KeyValue attributes = 1; uint32 dropped_attributes_count = 2; }
 */
function resourceMetrics(r: PbReader): OtlpResource {
  const res: OtlpResource = { attributes: [], scopes: [] };
  while (r.nextField()) {
    if (r.wire !== WIRE_LEN) continue;
    if (r.field === 1) {
      const outer = r.enter();
      while (r.nextField()) if (r.field === 1 && r.wire === WIRE_LEN) keyValue(r, res.attributes);
      r.leave(outer);
    } else if (r.field === 2) {
      const outer = r.enter();
      res.scopes.push(scopeMetrics(r));
      r.leave(outer);
    }
  }
  return res;
}

/**
 *   message ScopeMetrics { InstrumentationScope scope = 1; repeated Metric metrics = 2; string schema_url = 3; }
 *   message InstrumentationScope { string name = 1; string version = 2; repeated KeyValue attributes = 3; ... }
 */
function scopeMetrics(r: PbReader): OtlpScope {
  const scope: OtlpScope = { name: '', version: '', metrics: [] };
  while (r.nextField()) {
    if (r.wire !== WIRE_LEN) continue;
    if (r.field === 1) {
      const outer = r.enter();
      while (r.nextField()) {
        if (r.wire !== WIRE_LEN) continue;
        if (r.field === 1) scope.name = r.string();
        else if (r.field === 2) scope.version = r.string();
      }
      r.leave(outer);
    } else if (r.field === 2) {
      const outer = r.enter();
      scope.metrics.push(metric(r));
      r.leave(outer);
    }
  }
  return scope;
}

/**
 *   message Metric {
 *     string name = 1; string description = 2; string unit = 3;
 *     oneof data { Gauge gauge = 5; Sum sum = 7; Histogram histogram = 9;
 *                  ExponentialHistogram exponential_histogram = 10; Summary summary = 11; }
 *     repeated KeyValue metadata = 12;
 *   }
 *   message Gauge { repeated NumberDataPoint data_points = 1; }
 *   message Sum { repeated NumberDataPoint data_points = 1; AggregationTemporality aggregation_temporality = 2; bool is_monotonic = 3; }
 *   message Histogram { repeated HistogramDataPoint data_points = 1; AggregationTemporality aggregation_temporality = 2; }
 *   message ExponentialHistogram { repeated ExponentialHistogramDataPoint data_points = 1; AggregationTemporality aggregation_temporality = 2; }
 *   message Summary { repeated SummaryDataPoint data_points = 1; }
 */
function metric(r: PbReader): OtlpMetric {
  const m = newMetric();
  while (r.nextField()) {
    if (r.wire !== WIRE_LEN) continue;
    switch (r.field) {
      case 1:
        m.name = r.string();
        break;
      case 2:
        m.description = r.string();
        break;
      case 3:
        m.unit = r.string();
        break;
      case 5:
        data(r, m, MetricKind.Gauge);
        break;
      case 7:
        data(r, m, MetricKind.Sum);
        break;
      case 9:
        data(r, m, MetricKind.Histogram);
        break;
      case 10:
        data(r, m, MetricKind.ExponentialHistogram);
        break;
      case 11:
        data(r, m, MetricKind.Summary);
        break;
    }
  }
  return m;
}

function data(r: PbReader, m: OtlpMetric, kind: MetricKind): void {
  // A oneof seen twice keeps the last, as protobuf parsers do.
  m.kind = kind;
  m.points = [];
  m.temporality = 0;
  m.monotonic = false;
  const outer = r.enter();
  while (r.nextField()) {
    if (r.field === 1 && r.wire === WIRE_LEN) {
      const o = r.enter();
      const p = newPoint();
      if (kind === MetricKind.Gauge || kind === MetricKind.Sum) numberPoint(r, p);
      else if (kind === MetricKind.Histogram) histogramPoint(r, p);
      else if (kind === MetricKind.ExponentialHistogram) exponentialPoint(r, p);
      else summaryPoint(r, p);
      r.leave(o);
      m.points.push(p);
    } else if (r.field === 2 && r.wire === WIRE_VARINT) m.temporality = r.varint();
    else if (r.field === 3 && r.wire === WIRE_VARINT) m.monotonic = r.varint() !== 0;
  }
  r.leave(outer);
}

/**
 *   message NumberDataPoint {
 *     repeated KeyValue attributes = 7; fixed64 start_time_unix_nano = 2; fixed64 time_unix_nano = 3;
 *     oneof value { double as_double = 4; sfixed64 as_int = 6; }
 *     repeated Exemplar exemplars = 5; uint32 flags = 8;
 *   }
 */
function numberPoint(r: PbReader, p: OtlpPoint): void {
  while (r.nextField()) {
    switch (r.field) {
      case 2:
        if (r.wire === WIRE_FIXED64) p.startMs = nanosToMs(r);
        break;
      case 3:
        if (r.wire === WIRE_FIXED64) p.timeMs = nanosToMs(r);
        break;
      case 4:
        if (r.wire === WIRE_FIXED64) p.value = r.double();
        break;
      case 6:
        if (r.wire === WIRE_FIXED64) p.value = sfixed64(r);
        break;
      case 5:
        if (r.wire === WIRE_LEN) exemplar(r, p.exemplars);
        break;
      case 7:
        if (r.wire === WIRE_LEN) keyValue(r, p.attributes);
        break;
      case 8:
        if (r.wire === WIRE_VARINT) p.flags = r.varint();
        break;
    }
  }
}

/**
 *   message HistogramDataPoint {
 *     repeated KeyValue attributes = 9; fixed64 start_time_unix_nano = 2; fixed64 time_unix_nano = 3;
 *     fixed64 count = 4; optional double sum = 5; repeated fixed64 bucket_counts = 6;
 *     repeated double explicit_bounds = 7; repeated Exemplar exemplars = 8; uint32 flags = 10;
 *     optional double min = 11; optional double max = 12;
 *   }
 */
function histogramPoint(r: PbReader, p: OtlpPoint): void {
  while (r.nextField()) {
    switch (r.field) {
      case 2:
        if (r.wire === WIRE_FIXED64) p.startMs = nanosToMs(r);
        break;
      case 3:
        if (r.wire === WIRE_FIXED64) p.timeMs = nanosToMs(r);
        break;
      case 4:
        if (r.wire === WIRE_FIXED64) p.count = fixed64(r);
        break;
      case 5:
        if (r.wire === WIRE_FIXED64) {
          p.sum = r.double();
          p.hasSum = true;
        }
        break;
      case 6:
        repeatedFixed64(r, p.bucketCounts, false);
        break;
      case 7:
        repeatedFixed64(r, p.bounds, true);
        break;
      case 8:
        if (r.wire === WIRE_LEN) exemplar(r, p.exemplars);
        break;
      case 9:
        if (r.wire === WIRE_LEN) keyValue(r, p.attributes);
        break;
      case 10:
        if (r.wire === WIRE_VARINT) p.flags = r.varint();
        break;
    }
  }
}

/**
 *   message ExponentialHistogramDataPoint {
 *     repeated KeyValue attributes = 1; fixed64 start_time_unix_nano = 2; fixed64 time_unix_nano = 3;
 *     fixed64 count = 4; optional double sum = 5; sint32 scale = 6; fixed64 zero_count = 7;
 *     Buckets positive = 8; Buckets negative = 9; uint32 flags = 10; repeated Exemplar exemplars = 11;
 *     optional double min = 12; optional double max = 13; double zero_threshold = 14;
 *     message Buckets { sint32 offset = 1; repeated uint64 bucket_counts = 2; }
 *   }
 */
function exponentialPoint(r: PbReader, p: OtlpPoint): void {
  while (r.nextField()) {
    switch (r.field) {
      case 1:
        if (r.wire === WIRE_LEN) keyValue(r, p.attributes);
        break;
      case 2:
        if (r.wire === WIRE_FIXED64) p.startMs = nanosToMs(r);
        break;
      case 3:
        if (r.wire === WIRE_FIXED64) p.timeMs = nanosToMs(r);
        break;
      case 4:
        if (r.wire === WIRE_FIXED64) p.count = fixed64(r);
        break;
      case 5:
        if (r.wire === WIRE_FIXED64) {
          p.sum = r.double();
          p.hasSum = true;
        }
        break;
      case 6:
        if (r.wire === WIRE_VARINT) p.scale = zigzag32(r.varint());
        break;
      case 7:
        if (r.wire === WIRE_FIXED64) p.zeroCount = fixed64(r);
        break;
      case 8:
        if (r.wire === WIRE_LEN) p.positiveOffset = buckets(r, (p.positive = []));
        break;
      case 9:
        if (r.wire === WIRE_LEN) p.negativeOffset = buckets(r, (p.negative = []));
        break;
      case 10:
        if (r.wire === WIRE_VARINT) p.flags = r.varint();
        break;
      case 11:
        if (r.wire === WIRE_LEN) exemplar(r, p.exemplars);
        break;
      case 14:
        if (r.wire === WIRE_FIXED64) p.zeroThreshold = r.double();
        break;
    }
  }
}

function buckets(r: PbReader, counts: number[]): number {
  let offset = 0;
  const outer = r.enter();
  while (r.nextField()) {
    if (r.field === 1 && r.wire === WIRE_VARINT) offset = zigzag32(r.varint());
    else if (r.field === 2) {
      if (r.wire === WIRE_VARINT) counts.push(r.varint());
      else if (r.wire === WIRE_LEN) {
        const o = r.enter();
        while (!r.done) counts.push(r.varint());
        r.leave(o);
      }
    }
  }
  r.leave(outer);
  return offset;
}

/**
 *   message SummaryDataPoint {
 *     repeated KeyValue attributes = 7; fixed64 start_time_unix_nano = 2; fixed64 time_unix_nano = 3;
 *     fixed64 count = 4; double sum = 5; repeated ValueAtQuantile quantile_values = 6; uint32 flags = 8;
 *     message ValueAtQuantile { double quantile = 1; double value = 2; }
 *   }
 */
function summaryPoint(r: PbReader, p: OtlpPoint): void {
  p.hasSum = true;
  while (r.nextField()) {
    switch (r.field) {
      case 2:
        if (r.wire === WIRE_FIXED64) p.startMs = nanosToMs(r);
        break;
      case 3:
        if (r.wire === WIRE_FIXED64) p.timeMs = nanosToMs(r);
        break;
      case 4:
        if (r.wire === WIRE_FIXED64) p.count = fixed64(r);
        break;
      case 5:
        if (r.wire === WIRE_FIXED64) p.sum = r.double();
        break;
      case 6:
        if (r.wire === WIRE_LEN) quantile(r, p.quantiles);
        break;
      case 7:
        if (r.wire === WIRE_LEN) keyValue(r, p.attributes);
        break;
      case 8:
        if (r.wire === WIRE_VARINT) p.flags = r.varint();
        break;
    }
  }
}

function quantile(r: PbReader, out: number[]): void {
  let q = 0;
  let v = 0;
  const outer = r.enter();
  while (r.nextField()) {
    if (r.wire !== WIRE_FIXED64) continue;
    if (r.field === 1) q = r.double();
    else if (r.field === 2) v = r.double();
  }
  r.leave(outer);
  out.push(q, v);
}

/**
 *   message Exemplar {
 *     repeated KeyValue filtered_attributes = 7; fixed64 time_unix_nano = 2;
 *     oneof value { double as_double = 3; sfixed64 as_int = 6; }
 *     bytes span_id = 4; bytes trace_id = 5;
 *   }
 */
function exemplar(r: PbReader, out: OtlpExemplar[]): void {
  const e: OtlpExemplar = { attributes: [], timeMs: 0, value: 0, traceId: '', spanId: '' };
  const outer = r.enter();
  while (r.nextField()) {
    switch (r.field) {
      case 2:
        if (r.wire === WIRE_FIXED64) e.timeMs = nanosToMs(r);
        break;
      case 3:
        if (r.wire === WIRE_FIXED64) e.value = r.double();
        break;
      case 6:
        if (r.wire === WIRE_FIXED64) e.value = sfixed64(r);
        break;
      case 4:
        if (r.wire === WIRE_LEN) e.spanId = r.bytes().toString('hex');
        break;
      case 5:
        if (r.wire === WIRE_LEN) e.traceId = r.bytes().toString('hex');
        break;
      case 7:
        if (r.wire === WIRE_LEN) keyValue(r, e.attributes);
        break;
    }
  }
  r.leave(outer);
  out.push(e);
}

/**
 * Reads the KeyValue field r stopped at and appends [key, value as a string] to out.
 *
 *   message KeyValue { string key = 1; AnyValue value = 2; }
 */
function keyValue(r: PbReader, out: string[]): void {
  let key = '';
  let value = '';
  const outer = r.enter();
  while (r.nextField()) {
    if (r.wire !== WIRE_LEN) continue;
    if (r.field === 1) key = r.string();
    else if (r.field === 2) {
      const o = r.enter();
      value = anyValueString(r, 0);
      r.leave(o);
    }
  }
  r.leave(outer);
  out.push(key, value);
}

/**
 * An AnyValue as Prometheus' translator renders it as a label value: strings as they are,
 * booleans and numbers in decimal, bytes in base64, arrays and key-value lists as JSON.
 *
 *   message AnyValue { oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3;
 *     double double_value = 4; ArrayValue array_value = 5; KeyValueList kvlist_value = 6; bytes bytes_value = 7; } }
 *   message ArrayValue { repeated AnyValue values = 1; }
 *   message KeyValueList { repeated KeyValue values = 1; }
 */
function anyValueString(r: PbReader, depth: number): string {
  const v = anyValue(r, depth);
  return typeof v === 'string' ? v : JSON.stringify(v);
}

type Json = string | number | boolean | Json[] | { [k: string]: Json };

function anyValue(r: PbReader, depth: number): Json {
  if (depth > MAX_ANY_VALUE_DEPTH) throw malformed('attribute value nested too deeply');
  let v: Json = '';
  while (r.nextField()) {
    switch (r.field) {
      case 1:
        if (r.wire === WIRE_LEN) v = r.string();
        break;
      case 2:
        if (r.wire === WIRE_VARINT) v = r.varint() !== 0;
        break;
      case 3:
        if (r.wire === WIRE_VARINT) v = r.int64();
        break;
      case 4:
        if (r.wire === WIRE_FIXED64) v = r.double();
        break;
      case 5:
        if (r.wire === WIRE_LEN) v = arrayValue(r, depth);
        break;
      case 6:
        if (r.wire === WIRE_LEN) v = kvlistValue(r, depth);
        break;
      case 7:
        if (r.wire === WIRE_LEN) v = r.bytes().toString('base64');
        break;
    }
  }
  // Scalars render as strings at the top; nested ones stay typed for the JSON rendering.
  return depth === 0 && typeof v !== 'string' && typeof v !== 'object' ? String(v) : v;
}

function arrayValue(r: PbReader, depth: number): Json[] {
  const items: Json[] = [];
  const outer = r.enter();
  while (r.nextField()) {
    if (r.field !== 1 || r.wire !== WIRE_LEN) continue;
    const o = r.enter();
    items.push(anyValue(r, depth + 1));
    r.leave(o);
  }
  r.leave(outer);
  return items;
}

function kvlistValue(r: PbReader, depth: number): { [k: string]: Json } {
  const obj: { [k: string]: Json } = {};
  const outer = r.enter();
  while (r.nextField()) {
    if (r.field !== 1 || r.wire !== WIRE_LEN) continue;
    const o = r.enter();
    let k = '';
    let kv: Json = '';
    while (r.nextField()) {
      if (r.wire !== WIRE_LEN) continue;
      if (r.field === 1) k = r.string();
      else if (r.field === 2) {
        const o2 = r.enter();
        kv = anyValue(r, depth + 1);
        r.leave(o2);
      }
    }
    r.leave(o);
    obj[k] = kv;
  }
  r.leave(outer);
  return obj;
}

/** Repeated fixed64 (counts) or double (bounds), packed or not. */
function repeatedFixed64(r: PbReader, out: number[], isDouble: boolean): void {
  if (r.wire === WIRE_FIXED64) out.push(isDouble ? r.double() : fixed64(r));
  else if (r.wire === WIRE_LEN) {
    const outer = r.enter();
    if ((r.end - r.pos) % 8 !== 0) throw malformed('packed fixed64 field length is not a multiple of 8');
    while (!r.done) out.push(isDouble ? r.double() : fixed64(r));
    r.leave(outer);
  } else if (r.wire === WIRE_FIXED32) r.skipField();
}

const TWO32 = 4294967296;

/** An unsigned fixed64; counts above 2^53 lose precision, as they would as float samples. */
function fixed64(r: PbReader): number {
  const at = r.fixed64Offset();
  return r.buf.readUInt32LE(at + 4) * TWO32 + r.buf.readUInt32LE(at);
}

function sfixed64(r: PbReader): number {
  const at = r.fixed64Offset();
  return r.buf.readInt32LE(at + 4) * TWO32 + r.buf.readUInt32LE(at);
}

/**
 * Nanoseconds since the epoch (fixed64) to whole milliseconds, truncated like Go's division,
 * exactly: hi * 2^32 = hi * 4294 * 10^6 + hi * 967296, and hi * 967296 + lo stays below 2^53.
 */
function nanosToMs(r: PbReader): number {
  const at = r.fixed64Offset();
  const hi = r.buf.readUInt32LE(at + 4);
  const lo = r.buf.readUInt32LE(at);
  return hi * 4294 + Math.floor((hi * 967296 + lo) / 1e6);
}

function zigzag32(n: number): number {
  // Varints of sint32 fields fit 32 bits; larger ones are malformed senders, read modulo 2^32.
  const u = n >>> 0;
  return (u >>> 1) ^ -(u & 1);
}

// ---- logs: opentelemetry.proto.collector.logs.v1 (logs/v1/logs.proto) ----

/**
 *   message ExportLogsServiceRequest { repeated ResourceLogs resource_logs = 1; }
 *   message ResourceLogs { Resource resource = 1; repeated ScopeLogs scope_logs = 2; string schema_url = 3; }
 */
export function decodeOtlpLogsProto(buf: Buffer): OtlpLogsRequest {
  const r = new PbReader(buf);
  const resources: OtlpLogResource[] = [];
  while (r.nextField()) {
    if (r.field !== 1 || r.wire !== WIRE_LEN) continue;
    const outer = r.enter();
    const res: OtlpLogResource = { attributes: [], scopes: [] };
    while (r.nextField()) {
      if (r.wire !== WIRE_LEN) continue;
      if (r.field === 1) {
        const o = r.enter();
        while (r.nextField()) if (r.field === 1 && r.wire === WIRE_LEN) keyValue(r, res.attributes);
        r.leave(o);
      } else if (r.field === 2) {
        const o = r.enter();
        res.scopes.push(scopeLogs(r));
        r.leave(o);
      }
    }
    r.leave(outer);
    resources.push(res);
  }
  return { resources };
}

/**
 *   message ScopeLogs { InstrumentationScope scope = 1; repeated LogRecord log_records = 2; string schema_url = 3; }
 *   message InstrumentationScope { string name = 1; string version = 2; repeated KeyValue attributes = 3; uint32 dropped_attributes_count = 4; }
 */
function scopeLogs(r: PbReader): OtlpLogScope {
  const scope: OtlpLogScope = { name: '', version: '', attributes: [], droppedAttributesCount: 0, records: [] };
  while (r.nextField()) {
    if (r.wire !== WIRE_LEN) continue;
    if (r.field === 1) {
      const outer = r.enter();
      while (r.nextField()) {
        // Read afresh: the outer branch narrowed r.field and r.wire to literals TS keeps across nextField().
        const f = r.field as number;
        const wire = r.wire as number;
        if (f === 4 && wire === WIRE_VARINT) scope.droppedAttributesCount = r.varint();
        else if (wire !== WIRE_LEN) continue;
        else if (f === 1) scope.name = r.string();
        else if (f === 2) scope.version = r.string();
        else if (f === 3) keyValue(r, scope.attributes);
      }
      r.leave(outer);
    } else if (r.field === 2) {
      const outer = r.enter();
      scope.records.push(logRecord(r));
      r.leave(outer);
    }
  }
  return scope;
}

/**
 *   message LogRecord {
 *     fixed64 time_unix_nano = 1; fixed64 observed_time_unix_nano = 11;
 *     SeverityNumber severity_number = 2; string severity_text = 3; AnyValue body = 5;
 *     repeated KeyValue attributes = 6; uint32 dropped_attributes_count = 7; fixed32 flags = 8;
 *     bytes trace_id = 9; bytes span_id = 10; string event_name = 12;
 *   }
 */
function logRecord(r: PbReader): OtlpLogRecord {
  const rec = newLogRecord();
  while (r.nextField()) {
    switch (r.field) {
      case 1:
        if (r.wire === WIRE_FIXED64) rec.timeNs = r.buf.readBigUInt64LE(r.fixed64Offset());
        else r.skipField();
        break;
      case 11:
        if (r.wire === WIRE_FIXED64) rec.observedTimeNs = r.buf.readBigUInt64LE(r.fixed64Offset());
        else r.skipField();
        break;
      case 2:
        if (r.wire === WIRE_VARINT) rec.severityNumber = r.varint();
        else r.skipField();
        break;
      case 3:
        if (r.wire === WIRE_LEN) rec.severityText = r.string();
        else r.skipField();
        break;
      case 5:
        if (r.wire === WIRE_LEN) {
          const o = r.enter();
          rec.body = anyValueString(r, 0);
          r.leave(o);
        } else r.skipField();
        break;
      case 6:
        if (r.wire === WIRE_LEN) keyValue(r, rec.attributes);
        else r.skipField();
        break;
      case 7:
        if (r.wire === WIRE_VARINT) rec.droppedAttributesCount = r.varint();
        else r.skipField();
        break;
      case 8:
        if (r.wire === WIRE_FIXED32) {
          if (r.pos + 4 > r.end) throw malformed('truncated fixed32');
          rec.flags = r.buf.readUInt32LE(r.pos);
          r.pos += 4;
        } else r.skipField();
        break;
      case 9:
        if (r.wire === WIRE_LEN) rec.traceId = r.bytes().toString('hex');
        else r.skipField();
        break;
      case 10:
        if (r.wire === WIRE_LEN) rec.spanId = r.bytes().toString('hex');
        else r.skipField();
        break;
      default:
        r.skipField();
    }
  }
  return rec;
}
