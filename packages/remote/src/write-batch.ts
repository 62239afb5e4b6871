/**
 * A decoded remote-write request (1.0 or 2.0) in columnar form: one small record per series and
 * all samples in shared typed arrays. Values are copied as raw bytes so NaN payloads (staleness
 * markers) are preserved exactly.
 */
import type { MetricMetadata } from '@strata/model';

export interface SeriesRecord {
  /** Label pairs [name, value, ...] in the order the client sent them (validated later). */
  labels: string[];
  /** Samples of this series are [sampleStart, sampleEnd) in the batch columns. */
  sampleStart: number;
  sampleEnd: number;
  /** Native histogram samples of this series: rows [histogramStart, histogramStart + histograms) of the batch's table. */
  histograms: number;
  histogramStart?: number;
  exemplars: number;
  /** The decoded exemplars (1.0 and 2.0), set only on a series that carries any. */
  exemplarList?: ExemplarRecord[];
  /** 2.0 only: per-series metadata. */
  metadata?: MetricMetadata;
  /**
   * 1.0 only: the byte range of the Label fields in the request when they were contiguous, and
   * a 32-bit hash of those bytes: the series' identity as sent, for a lookup without decoding.
   * labelsStart < 0 when unavailable. In a forwarded share (labelFields set) the range indexes
   * the share's label-field references and the hash is the one the router computed.
   */
  labelsStart: number;
  labelsEnd: number;
  labelsHash: number;
  /**
   * 1.0 only: the byte range of the whole TimeSeries field (tag and length included), so a
   * subset of a request can be forwarded by concatenating ranges, without re-encoding.
   */
  messageStart: number;
  messageEnd: number;
}

/**
 * Label pairs held as references into a table (a forwarded share, forwarded-share.ts): for such
 * a batch, a series' [labelsStart, labelsEnd) are positions in that table's references.
 */
export interface LabelFields {
  /** Appends the series' label pairs to out. */
  pairsOf(s: SeriesRecord, out: string[]): void;
  /** Whether the series' label pairs are exactly these (false for undecodable labels). */
  equals(s: SeriesRecord, pairs: readonly string[]): boolean;
}

/**
 * SeriesRecord.labelsStart of a series whose labels were rewritten at ingest (relabelling):
 * `labels` holds them, sorted, and `labelsHash` is a hash of those pairs (not of wire bytes), so
 * a head can still find the series without validating it again; there is no wire range.
 */
export const RELABELLED_LABELS = -2;

/** An exemplar as sent: its label pairs in the order sent, its value and timestamp (ms). */
export interface ExemplarRecord {
  labels: string[];
  value: number;
  timestamp: number;
}

export interface MetadataRecord extends MetricMetadata {
  metricFamilyName: string;
}

import { decodeLabelFields } from './labels-v1.js';
import { HistogramTable } from './histogram-table.js';

export class WriteBatch {
  /** The decoded request body; label byte ranges point into it. */
  raw: Buffer = Buffer.alloc(0);
  series: SeriesRecord[] = [];
  metadata: MetadataRecord[] = [];
  timestamps: Float64Array;
  values: Float64Array;
  /** Native histogram samples; created with the first one (most requests have none). */
  histogramRows: HistogramTable | undefined = undefined;
  /** Set for a forwarded share: where the series' label pairs are (see LabelFields). */
  labelFields: LabelFields | undefined = undefined;
  /** Byte view of `values`, for bit-exact copies. */
  private valueBytes: Uint8Array;
  numSamples = 0;

  constructor(capacity = 1024) {
    this.timestamps = new Float64Array(capacity);
    this.values = new Float64Array(capacity);
    this.valueBytes = new Uint8Array(this.values.buffer);
  }

  /**
   * A batch with only some of the series, sharing this batch's sample columns. The request's
   * metric metadata stays: it describes metric families, not series, and every receiver that
   * stores a share should be able to answer /api/v1/metadata for them.
   */
  subset(indices: readonly number[]): WriteBatch {
    const b = Object.create(WriteBatch.prototype) as WriteBatch;
    Object.assign(b, this);
    b.series = indices.map((i) => this.series[i]);
    return b;
  }

  /** The series' label pairs as sent, decoding them on first use (validates UTF-8). */
  labelsOf(s: SeriesRecord): string[] {
    if (s.labels.length === 0 && s.labelsStart >= 0) {
      // A fresh array: decoders may start every series with one shared empty array.
      const out: string[] = [];
      if (this.labelFields) this.labelFields.pairsOf(s, out);
      else decodeLabelFields(this.raw, s.labelsStart, s.labelsEnd, out);
      s.labels = out;
    }
    return s.labels;
  }

  /** The histogram table, created on first use. */
  histogramTable(): HistogramTable {
    return (this.histogramRows ??= new HistogramTable());
  }

  get numHistograms(): number {
    let n = 0;
    for (const s of this.series) n += s.histograms;
    return n;
  }

  get numExemplars(): number {
    let n = 0;
    for (const s of this.series) n += s.exemplars;
    return n;
  }

  /** Appends a sample whose value's 8 little-endian bytes are at src[at..at+8). */
  pushRaw(t: number, src: Uint8Array, at: number): void {
    if (this.numSamples === this.timestamps.length) this.grow();
    const i = this.numSamples++;
    this.timestamps[i] = t;
    const o = i * 8;
    const vb = this.valueBytes;
    for (let k = 0; k < 8; k++) vb[o + k] = src[at + k];
  }

  private grow(): void {
    const n = this.timestamps.length * 2;
    const ts = new Float64Array(n);
    ts.set(this.timestamps);
    const vs = new Float64Array(n);
    vs.set(this.values);
    this.timestamps = ts;
    this.values = vs;
    this.valueBytes = new Uint8Array(vs.buffer);
  }
}

const V1_TYPES: MetricMetadata['type'][] = ['unknown', 'counter', 'gauge', 'histogram', 'gaugehistogram', 'summary', 'info', 'stateset'];

/** Both protocol versions number metric types the same way (0 = unknown/unspecified). */
export function metricTypeFromProto(n: number): MetricMetadata['type'] {
  return V1_TYPES[n] ?? 'unknown';
}

export function metricTypeToProto(t: MetricMetadata['type']): number {
  const i = V1_TYPES.indexOf(t);
  return i < 0 ? 0 : i;
}
