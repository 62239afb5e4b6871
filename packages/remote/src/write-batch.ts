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

/**
 * A batch's series as columns instead of one record each (a forwarded share's, forwarded-share.ts).
 * Series k's samples are [samples[k], samples[k + 1]), its histogram rows [histograms[k],
 * histograms[k + 1]) and its label references [labels[k], labels[k + 1]); the sparse lists are
 * absent when no series has any.
 */
export interface SeriesColumns {
  readonly n: number;
  readonly samples: Int32Array;
  readonly histograms: Int32Array;
  readonly labels: Int32Array;
  readonly hashes: Uint32Array;
  /** Exemplars counted per series (those sent are in exemplarLists; a router before them sent counts only). */
  readonly exemplars: Float64Array;
  readonly exemplarLists: (ExemplarRecord[] | undefined)[] | undefined;
  readonly metadata: (MetricMetadata | undefined)[] | undefined;
}

/** Never written to: WriteBatch.labelsOf gives a series a fresh array when it decodes its pairs. */
const NO_LABELS: string[] = [];

import { decodeLabelFields } from './labels-v1.js';
import { HistogramTable } from './histogram-table.js';

export class WriteBatch {
  /** The decoded request body; label byte ranges point into it. */
  raw: Buffer = Buffer.alloc(0);
  /** The series as records; empty while `columns` hold them. */
  private seriesList: SeriesRecord[] = [];
  /** The series as columns (set with setColumns), read one at a time through `cursor`. */
  private columns: SeriesColumns | undefined = undefined;
  private cursor: SeriesRecord | undefined = undefined;
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
   * The series as records. A batch held in columns makes one record per series here, once (and
   * from then on holds the records): hot paths read seriesCount and seriesAt instead.
   */
  get series(): SeriesRecord[] {
    const c = this.columns;
    if (c) {
      const list: SeriesRecord[] = new Array<SeriesRecord>(c.n);
      for (let k = 0; k < c.n; k++) list[k] = recordAt(c, k, newRecord());
      this.seriesList = list;
      this.columns = undefined;
    }
    return this.seriesList;
  }

  set series(list: SeriesRecord[]) {
    this.seriesList = list;
    this.columns = undefined;
  }

  /** Holds the series as these columns; records set before are dropped (they are not these series). */
  setColumns(columns: SeriesColumns): void {
    this.columns = columns;
    this.seriesList = [];
  }

  get seriesCount(): number {
    return this.columns ? this.columns.n : this.seriesList.length;
  }

  /**
   * Series k. For a batch in columns this is one record reused by every call: it describes
   * series k until the next call (labels decoded through labelsOf included), so hold its index,
   * not the record.
   */
  seriesAt(k: number): SeriesRecord {
    const c = this.columns;
    if (!c) return this.seriesList[k];
    return recordAt(c, k, (this.cursor ??= newRecord()));
  }

  /**
   * A batch with only some of the series, sharing this batch's sample columns. The request's
   * metric metadata stays: it describes metric families, not series, and every receiver that
   * stores a share should be able to answer /api/v1/metadata for them.
   */
  subset(indices: readonly number[]): WriteBatch {
    const b = Object.create(WriteBatch.prototype) as WriteBatch;
    Object.assign(b, this);
    b.cursor = undefined;
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
    const c = this.columns;
    if (c) return c.histograms[c.n] - c.histograms[0];
    let n = 0;
    for (const s of this.seriesList) n += s.histograms;
    return n;
  }

  get numExemplars(): number {
    const c = this.columns;
    let n = 0;
    if (c) for (let k = 0; k < c.n; k++) n += c.exemplars[k];
    else for (const s of this.seriesList) n += s.exemplars;
    return n;
  }

  /**
   * Holds these n samples: the arrays are taken as they are (views into a decoded body, say),
   * not copied; later appends copy them out first.
   */
  takeSamples(timestamps: Float64Array, values: Float64Array, n: number): void {
    this.timestamps = timestamps;
    this.values = values;
    this.valueBytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    this.numSamples = n;
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
    const n = Math.max(16, this.timestamps.length * 2);
    const ts = new Float64Array(n);
    ts.set(this.timestamps);
    const vs = new Float64Array(n);
    vs.set(this.values);
    this.timestamps = ts;
    this.values = vs;
    this.valueBytes = new Uint8Array(vs.buffer);
  }
}

/** A record with every property a series may have, so records (and the reused one) keep one shape. */
function newRecord(): SeriesRecord {
  return {
    labels: NO_LABELS,
    sampleStart: 0,
    sampleEnd: 0,
    histograms: 0,
    histogramStart: undefined,
    exemplars: 0,
    exemplarList: undefined,
    metadata: undefined,
    labelsStart: 0,
    labelsEnd: 0,
    labelsHash: 0,
    messageStart: -1,
    messageEnd: -1,
  };
}

/** Fills s with series k of the columns (its labels not decoded yet) and returns it. */
function recordAt(c: SeriesColumns, k: number, s: SeriesRecord): SeriesRecord {
  s.labels = NO_LABELS;
  s.sampleStart = c.samples[k];
  s.sampleEnd = c.samples[k + 1];
  const h = c.histograms[k];
  s.histograms = c.histograms[k + 1] - h;
  s.histogramStart = s.histograms > 0 ? h : undefined;
  s.exemplars = c.exemplars[k];
  s.exemplarList = c.exemplarLists?.[k];
  s.metadata = c.metadata?.[k];
  s.labelsStart = c.labels[k];
  s.labelsEnd = c.labels[k + 1];
  s.labelsHash = c.hashes[k];
  return s;
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
