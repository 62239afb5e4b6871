/**
 * prometheus.WriteRequest (remote-write 1.0), from prompb/remote.proto and prompb/types.proto;
 * each decoder quotes the message it reads.
 */
import type { Labels, MetricMetadata } from '@strata/model';
import { PbReader, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from './pb-reader.js';
import { decodeHistogram, encodeHistogram } from './histogram-wire.js';
import type { WireHistogram } from './histogram-table.js';
import { PbWriter, putVarint, varintSize } from './pb-writer.js';
import { decodeLabelFields } from './labels-v1.js';
import { checkSelectionTotal, isSelected, type SeriesSelection } from './series-selection.js';
import { metricTypeFromProto, metricTypeToProto, WriteBatch, type ExemplarRecord, type SeriesRecord } from './write-batch.js';

/**
 * With a selection, only the selected series are decoded; the others are skipped unread.
 *
 *   message WriteRequest {
 *     repeated TimeSeries timeseries = 1;
 *     reserved 2;
 *     repeated MetricMetadata metadata = 3;
 *   }
 */
export function decodeWriteRequestV1(buf: Buffer, selection?: SeriesSelection): WriteBatch {
  const batch = new WriteBatch(Math.max(64, buf.length >>> 4));
  batch.raw = buf;
  // One reader for the whole request, entering each nested message: no object per message.
  const r = new PbReader(buf);
  let k = 0;
  while (r.nextField()) {
    if (r.wire !== WIRE_LEN) continue;
    switch (r.field) {
      case 1: {
        if (selection && !isSelected(selection, k++)) break;
        const at = r.tagAt;
        const outer = r.enter();
        const s = decodeTimeSeries(buf, r.pos, r.end, batch);
        r.leave(outer);
        s.messageStart = at;
        s.messageEnd = r.pos;
        batch.series.push(s);
        break;
      }
      case 3: {
        const outer = r.enter();
        decodeMetadata(r, batch);
        r.leave(outer);
        break;
      }
    }
  }
  if (selection) checkSelectionTotal(selection, k);
  return batch;
}

/**
 *   message TimeSeries {
 *     repeated Label labels         = 1;
 *     repeated Sample samples       = 2;
 *     repeated Exemplar exemplars   = 3;
 *     repeated Histogram histograms = 4;  // histogram-wire.ts
 *   }
 */
function decodeTimeSeries(buf: Buffer, start: number, end: number, batch: WriteBatch): SeriesRecord {
  // A reader that never leaves this function: once it is optimized, V8 keeps the reader's
  // state in registers instead of on the heap (measured: the shared reader was slower).
  const r = new PbReader(buf, start, end);
  const s: SeriesRecord = {
    labels: [],
    sampleStart: batch.numSamples,
    sampleEnd: batch.numSamples,
    histograms: 0,
    exemplars: 0,
    labelsStart: -1,
    labelsEnd: -1,
    labelsHash: 0,
    messageStart: -1,
    messageEnd: -1,
  };
  let labelsFrom = -1;
  let labelsTo = -1;
  let contiguous = true;
  while (r.nextField()) {
    if (r.wire !== WIRE_LEN) continue;
    switch (r.field) {
      case 1:
        // Label strings are decoded later, and only for series the head does not know yet.
        if (labelsFrom < 0) labelsFrom = r.tagAt;
        else if (labelsTo !== r.tagAt) contiguous = false;
        labelsTo = r.skipLen();
        break;
      case 2:
        decodeSample(r, batch);
        break;
      case 3:
        s.exemplars++;
        (s.exemplarList ??= []).push(decodeExemplar(r));
        break;
      case 4: {
        // Series are decoded one at a time, so a series' histograms are consecutive rows.
        const table = batch.histogramTable();
        if (s.histograms++ === 0) s.histogramStart = table.n;
        decodeHistogram(r, table);
        break;
      }
    }
  }
  if (contiguous && labelsFrom >= 0) {
    s.labelsStart = labelsFrom;
    s.labelsEnd = labelsTo;
    s.labelsHash = hashBytes(buf, labelsFrom, labelsTo);
  } else if (labelsFrom >= 0) {
    // Labels interleaved with samples (legal, never seen from Prometheus): decode them now.
    decodeLabelFields(buf, start, end, s.labels);
  }
  s.sampleEnd = batch.numSamples;
  return s;
}

/**
 * Reads the length-delimited Exemplar field r stopped at.
 *
 *   message Exemplar {
 *     repeated Label labels = 1;
 *     double value          = 2;
 *     int64 timestamp       = 3;
 *   }
 */
function decodeExemplar(r: PbReader): ExemplarRecord {
  const e: ExemplarRecord = { labels: [], value: 0, timestamp: 0 };
  const outer = r.enter();
  while (r.nextField()) {
    switch (r.field) {
      case 1:
        if (r.wire === WIRE_LEN) {
          const end = r.skipLen();
          decodeLabelFields(r.buf, r.tagAt, end, e.labels);
        }
        break;
      case 2:
        if (r.wire === WIRE_FIXED64) e.value = r.double();
        break;
      case 3:
        if (r.wire === WIRE_VARINT) e.timestamp = r.int64();
        break;
    }
  }
  r.leave(outer);
  return e;
}

const ZERO8 = new Uint8Array(8);

/**
 * Shared by 1.0 and 2.0, which define the same message; the value is kept as its 8 bytes.
 * Reads the length-delimited field r stopped at (entering it here keeps the callers' hot loops
 * small enough for V8 to inline what they call).
 *
 *   message Sample {
 *     double value    = 1;
 *     int64 timestamp = 2;
 *   }
 */
export function decodeSample(r: PbReader, batch: WriteBatch): void {
  let valueAt = -1;
  let t = 0;
  const outer = r.enter();
  while (r.nextField()) {
    switch (r.field) {
      case 1:
        if (r.wire === WIRE_FIXED64) valueAt = r.fixed64Offset();
        break;
      case 2:
        if (r.wire === WIRE_VARINT) t = r.int64();
        break;
    }
  }
  r.leave(outer);
  if (valueAt < 0) batch.pushRaw(t, ZERO8, 0);
  else batch.pushRaw(t, r.buf, valueAt);
}

/**
 *   message MetricMetadata {
 *     MetricType type           = 1;
 *     string metric_family_name = 2;
 *     string help               = 4;
 *     string unit               = 5;
 *   }
 */
function decodeMetadata(r: PbReader, batch: WriteBatch): void {
  let type = 0;
  let name = '';
  let help = '';
  let unit = '';
  while (r.nextField()) {
    switch (r.field) {
      case 1:
        if (r.wire === WIRE_VARINT) type = r.varint();
        break;
      case 2:
        if (r.wire === WIRE_LEN) name = r.string();
        break;
      case 4:
        if (r.wire === WIRE_LEN) help = r.string();
        break;
      case 5:
        if (r.wire === WIRE_LEN) unit = r.string();
        break;
    }
  }
  batch.metadata.push({ metricFamilyName: name, type: metricTypeFromProto(type), help, unit });
}

export interface SeriesToWrite {
  labels: Labels;
  timestamps: ArrayLike<number>;
  values: ArrayLike<number>;
  histograms?: readonly WireHistogram[];
  /** Exemplars of the series, encoded as sent (labels as pairs, in their order). */
  exemplars?: readonly ExemplarRecord[];
  /** The labels' Label fields already encoded (encodeLabelFieldsV1), for series written again and again. */
  labelFields?: Uint8Array;
}

/**
 * The Label fields of a 1.0 TimeSeries for these pairs. Writers that send the same series every
 * interval (streaming aggregation's outputs) encode them once and pass them as `labelFields`.
 */
export function encodeLabelFieldsV1(labels: Labels): Buffer {
  const w = new PbWriter(labels.pairs.length * 16 + 16);
  writeLabelFields(w, labels.pairs);
  return Buffer.from(w.finish());
}

function writeLabelFields(w: PbWriter, p: readonly string[]): void {
  // Each Label with its length up front: no closure per label, and no body shifted for the prefix.
  for (let i = 0; i < p.length; i += 2) w.stringPair(1, p[i], p[i + 1]);
}

/** A series' Label fields encoded once (encodeLabelFieldsV1) and their hashBytes. */
export interface EncodedLabels {
  fields: Uint8Array;
  hash: number;
}

export function encodedLabelsV1(labels: Labels): EncodedLabels {
  const fields = encodeLabelFieldsV1(labels);
  return { fields, hash: hashBytes(fields, 0, fields.length) };
}

/**
 * The batch decodeWriteRequestV1 makes of encodeWriteRequestV1's body for one sample per series,
 * built directly: a writer of the same series every interval (streaming aggregation's outputs)
 * skips encoding labels and decoding its own request. `raw` is that body byte for byte, so the
 * batch forwards to ring peers as a decoded client request does.
 */
export function writeBatchOfSamplesV1(
  labels: readonly EncodedLabels[],
  timestamps: ArrayLike<number>,
  values: ArrayLike<number>,
): WriteBatch {
  const n = labels.length;
  const bodies = new Int32Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const body = labels[i].fields.length + 2 + sampleSize(timestamps[i], values[i]);
    bodies[i] = body;
    total += 1 + varintSize(body) + body;
  }
  const raw = Buffer.allocUnsafe(total);
  const batch = new WriteBatch(Math.max(1, n));
  batch.raw = raw;
  let pos = 0;
  for (let i = 0; i < n; i++) {
    const { fields, hash } = labels[i];
    const t = timestamps[i];
    const v = values[i];
    const messageStart = pos;
    raw[pos++] = 0x0a; // TimeSeries, field 1, length-delimited
    pos = putVarint(raw, pos, bodies[i]);
    const labelsStart = pos;
    raw.set(fields, pos);
    pos += fields.length;
    raw[pos++] = 0x12; // Sample, field 2, length-delimited (at most 20 bytes: a 1-byte length)
    raw[pos++] = sampleSize(t, v);
    // proto3 omits +0 for both fields, as PbWriter does.
    if (v !== 0 || Object.is(v, -0)) {
      raw[pos++] = 0x09;
      raw.writeDoubleLE(v, pos);
      pos += 8;
    }
    if (t !== 0) {
      raw[pos++] = 0x10;
      pos = putVarint(raw, pos, t);
    }
    batch.timestamps[i] = t;
    batch.values[i] = v;
    batch.series.push({
      labels: [],
      sampleStart: i,
      sampleEnd: i + 1,
      histograms: 0,
      exemplars: 0,
      labelsStart,
      labelsEnd: labelsStart + fields.length,
      labelsHash: hash,
      messageStart,
      messageEnd: pos,
    });
  }
  batch.numSamples = n;
  return batch;
}

function sampleSize(t: number, v: number): number {
  return (v !== 0 || Object.is(v, -0) ? 9 : 0) + (t !== 0 ? 1 + varintSize(t) : 0);
}

export interface MetadataToWrite extends MetricMetadata {
  metricFamilyName: string;
}

/** Encodes a remote-write 1.0 request (uncompressed protobuf). */
export function encodeWriteRequestV1(series: readonly SeriesToWrite[], metadata: readonly MetadataToWrite[] = []): Buffer {
  const w = new PbWriter(series.length * 64 + 64);
  for (const s of series) {
    w.message(1, () => {
      if (s.labelFields) w.raw(s.labelFields);
      else writeLabelFields(w, s.labels.pairs);
      for (let i = 0; i < s.timestamps.length; i++) {
        w.message(2, () => {
          w.double(1, s.values[i]);
          w.int64(2, s.timestamps[i]);
        });
      }
      for (const e of s.exemplars ?? []) {
        w.message(3, () => {
          writeLabelFields(w, e.labels);
          w.double(2, e.value);
          w.int64(3, e.timestamp);
        });
      }
      for (const h of s.histograms ?? []) encodeHistogram(w, 4, h);
    });
  }
  for (const m of metadata) {
    w.message(3, () => {
      w.uint(1, metricTypeToProto(m.type));
      w.string(2, m.metricFamilyName);
      w.string(4, m.help);
      w.string(5, m.unit);
    });
  }
  return w.finish();
}

/**
 * A 32-bit FNV-1a hash of a byte range. It only finds candidates: a hit is always verified
 * against the stored labels, so collisions cost a lookup, never a wrong series.
 */
export function hashBytes(buf: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i], 0x01000193);
  return h >>> 0;
}

/**
 * Whether the 1.0 Label fields in buf[start, end) encode exactly these sorted label pairs.
 * Compares bytes with character codes, so it answers false (not a guess) for non-ASCII text.
 */
export function wireLabelsEqual(buf: Uint8Array, start: number, end: number, pairs: readonly string[]): boolean {
  let p = start;
  let k = 0;
  while (p < end) {
    if (buf[p++] !== 0x0a) return false;
    p = readLen(buf, p);
    if (p < 0) return false;
    const lblEnd = p + lenOut;
    let nameAt = -1;
    let nameLen = 0;
    let valueAt = -1;
    let valueLen = 0;
    while (p < lblEnd) {
      const tag = buf[p++];
      const r = readLen(buf, p);
      if (r < 0) return false;
      if (tag === 0x0a) {
        nameAt = r;
        nameLen = lenOut;
      } else if (tag === 0x12) {
        valueAt = r;
        valueLen = lenOut;
      } else return false;
      p = r + lenOut;
    }
    if (k + 1 >= pairs.length) return false;
    if (!sameAscii(buf, nameAt, nameLen, pairs[k]) || !sameAscii(buf, valueAt, valueLen, pairs[k + 1])) return false;
    k += 2;
  }
  return k === pairs.length;
}

/** Output of readLen; a module-level slot so the hot loop allocates nothing. */
let lenOut = 0;

/** Reads a varint length at p into lenOut; returns the position after it, or -1. */
function readLen(buf: Uint8Array, p: number): number {
  let v = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    if (p >= buf.length) return -1;
    const b = buf[p++];
    v |= (b & 0x7f) << shift;
    if (b < 0x80) {
      lenOut = v;
      return p;
    }
  }
  return -1;
}

function sameAscii(buf: Uint8Array, at: number, len: number, s: string): boolean {
  if (at < 0) return s.length === 0;
  if (len !== s.length) return false;
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80 || buf[at + i] !== c) return false;
  }
  return true;
}
