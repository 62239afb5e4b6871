/**
 * OTLP metrics as decoded from either encoding (protobuf or JSON), before translation. One shape
 * per level, with every field always present, so the translator sees monomorphic objects. Label
 * pairs are flat string arrays [key, value, ...] in the order the client sent them.
 */

export const enum MetricKind {
  None = 0,
  Gauge = 1,
  Sum = 2,
  Histogram = 3,
  ExponentialHistogram = 4,
  Summary = 5,
}

/** opentelemetry.proto.metrics.v1.AggregationTemporality */
export const TEMPORALITY_DELTA = 1;
export const TEMPORALITY_CUMULATIVE = 2;

/** DataPointFlags.FLAG_NO_RECORDED_VALUE: the point is a staleness marker. */
export const FLAG_NO_RECORDED_VALUE = 1;

export interface OtlpRequest {
  resources: OtlpResource[];
}

export interface OtlpResource {
  attributes: string[];
  scopes: OtlpScope[];
}

export interface OtlpScope {
  name: string;
  version: string;
  metrics: OtlpMetric[];
}

export interface OtlpMetric {
  name: string;
  description: string;
  unit: string;
  kind: MetricKind;
  temporality: number;
  monotonic: boolean;
  points: OtlpPoint[];
}

export interface OtlpExemplar {
  attributes: string[];
  timeMs: number;
  value: number;
  /** Lower-case hex, '' when absent. */
  traceId: string;
  spanId: string;
}

/** One data point of any kind; fields a kind does not use keep their zero values. */
export interface OtlpPoint {
  attributes: string[];
  startMs: number;
  timeMs: number;
  flags: number;
  /** Gauge and sum value. */
  value: number;
  count: number;
  sum: number;
  hasSum: boolean;
  /** Classic histogram: per-bucket (not cumulative) counts and the upper bounds. */
  bucketCounts: number[];
  bounds: number[];
  /** Exponential histogram. */
  scale: number;
  zeroCount: number;
  zeroThreshold: number;
  positiveOffset: number;
  positive: number[];
  negativeOffset: number;
  negative: number[];
  /** Summary: [quantile, value, ...]. */
  quantiles: number[];
  exemplars: OtlpExemplar[];
}

export function newPoint(): OtlpPoint {
  return {
    attributes: [],
    startMs: 0,
    timeMs: 0,
    flags: 0,
    value: 0,
    count: 0,
    sum: 0,
    hasSum: false,
    bucketCounts: [],
    bounds: [],
    scale: 0,
    zeroCount: 0,
    zeroThreshold: 0,
    positiveOffset: 0,
    positive: [],
    negativeOffset: 0,
    negative: [],
    quantiles: [],
    exemplars: [],
  };
}

export function newMetric(): OtlpMetric {
  return { name: '', description: '', unit: '', kind: MetricKind.None, temporality: 0, monotonic: false, points: [] };
}
