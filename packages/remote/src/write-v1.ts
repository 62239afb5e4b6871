/**
 * prometheus.WriteRequest (remote-write 1.0), field numbers from prompb/remote.proto and
 * prompb/types.proto: WriteRequest{1: timeseries, 3: metadata}; TimeSeries{1: labels, 2: samples,
 * 3: exemplars, 4: histograms}; Label{1: name, 2: value}; Sample{1: value double, 2: timestamp
 * int64}; MetricMetadata{1: type, 2: metric_family_name, 4: help, 5: unit}.
 */
import type { Labels, MetricMetadata } from '@strata/model';
import { malformed, PbReader, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from './pb-reader.js';
import { PbWriter } from './pb-writer.js';
import { metricTypeFromProto, metricTypeToProto, WriteBatch, type SeriesRecord } from './write-batch.js';

export function decodeWriteRequestV1(buf: Buffer): WriteBatch {
  const batch = new WriteBatch(Math.max(64, buf.length >>> 4));
  const r = new PbReader(buf);
  while (!r.done) {
    const tag = r.tag();
    const field = Math.floor(tag / 8);
    const wt = tag & 7;
    if (field === 1 && wt === WIRE_LEN) {
      const n = r.len();
      batch.series.push(decodeTimeSeries(buf, r.pos, r.pos + n, batch));
      r.pos += n;
    } else if (field === 3 && wt === WIRE_LEN) {
      const n = r.len();
      decodeMetadata(new PbReader(buf, r.pos, r.pos + n), batch);
      r.pos += n;
    } else r.skip(wt);
  }
  return batch;
}

function decodeTimeSeries(buf: Buffer, start: number, end: number, batch: WriteBatch): SeriesRecord {
  const r = new PbReader(buf, start, end);
  const s: SeriesRecord = { labels: [], sampleStart: batch.numSamples, sampleEnd: batch.numSamples, histograms: 0, exemplars: 0 };
  while (!r.done) {
    const tag = r.tag();
    const field = Math.floor(tag / 8);
    const wt = tag & 7;
    if (wt !== WIRE_LEN) {
      r.skip(wt);
      continue;
    }
    const n = r.len();
    const sub = r.pos;
    r.pos += n;
    if (field === 1) decodeLabel(new PbReader(buf, sub, sub + n), s.labels);
    else if (field === 2) decodeSample(new PbReader(buf, sub, sub + n), batch);
    else if (field === 3) s.exemplars++;
    else if (field === 4) s.histograms++;
  }
  s.sampleEnd = batch.numSamples;
  return s;
}

function decodeLabel(r: PbReader, out: string[]): void {
  let name = '';
  let value = '';
  while (!r.done) {
    const tag = r.tag();
    if (tag === (1 << 3) + WIRE_LEN) name = r.string();
    else if (tag === (2 << 3) + WIRE_LEN) value = r.string();
    else r.skip(tag & 7);
  }
  out.push(name, value);
}

const ZERO8 = new Uint8Array(8);

/** Shared by 1.0 and 2.0: Sample{1: double value, 2: int64 timestamp}. */
export function decodeSample(r: PbReader, batch: WriteBatch): void {
  let valueAt = -1;
  let t = 0;
  while (!r.done) {
    const tag = r.tag();
    if (tag === (1 << 3) + WIRE_FIXED64) valueAt = r.fixed64Offset();
    else if (tag === (2 << 3) + WIRE_VARINT) t = r.int64();
    else if ((tag & 7) > 5) throw malformed(`unsupported wire type ${tag & 7}`);
    else r.skip(tag & 7);
  }
  if (valueAt < 0) batch.pushRaw(t, ZERO8, 0);
  else batch.pushRaw(t, r.buf, valueAt);
}

function decodeMetadata(r: PbReader, batch: WriteBatch): void {
  let type = 0;
  let name = '';
  let help = '';
  let unit = '';
  while (!r.done) {
    const tag = r.tag();
    switch (tag) {
      case (1 << 3) + WIRE_VARINT:
        type = r.varint();
        break;
      case (2 << 3) + WIRE_LEN:
        name = r.string();
        break;
      case (4 << 3) + WIRE_LEN:
        help = r.string();
        break;
      case (5 << 3) + WIRE_LEN:
        unit = r.string();
        break;
      default:
        r.skip(tag & 7);
    }
  }
  batch.metadata.push({ metricFamilyName: name, type: metricTypeFromProto(type), help, unit });
}

export interface SeriesToWrite {
  labels: Labels;
  timestamps: ArrayLike<number>;
  values: ArrayLike<number>;
}

export interface MetadataToWrite extends MetricMetadata {
  metricFamilyName: string;
}

/** Encodes a remote-write 1.0 request (uncompressed protobuf). */
export function encodeWriteRequestV1(series: readonly SeriesToWrite[], metadata: readonly MetadataToWrite[] = []): Buffer {
  const w = new PbWriter(series.length * 64 + 64);
  for (const s of series) {
    w.message(1, () => {
      const p = s.labels.pairs;
      for (let i = 0; i < p.length; i += 2) {
        w.message(1, () => {
          w.string(1, p[i]);
          w.string(2, p[i + 1]);
        });
      }
      for (let i = 0; i < s.timestamps.length; i++) {
        w.message(2, () => {
          w.double(1, s.values[i]);
          w.int64(2, s.timestamps[i]);
        });
      }
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
