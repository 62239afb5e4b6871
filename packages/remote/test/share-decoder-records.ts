/**
 * The forwarded-share decoder as it was before shares were decoded into columns: one record per
 * series, pushed to batch.series; a series' label pairs are decoded when asked for (labelsOf),
 * from its field references. Kept for the property test that the column decoder
 * (forwarded-share.ts) reads every share as this one did.
 */
import { StrataError } from '@strata/model';
import { decodeString, PbReader, WIRE_LEN } from '../src/pb-reader.js';
import { decodeHistogram } from '../src/histogram-wire.js';
import { metricTypeFromProto, WriteBatch, type SeriesRecord } from '../src/write-batch.js';

const MAGIC = 0x31485353;

export function decodeShareAsRecords(buf: Buffer): { batch: WriteBatch; v2: boolean; labelsOf: (k: number) => string[] } {
  const r = new Reader(buf);
  if (r.u32() !== MAGIC) throw malformed('not a forwarded share');
  const flags = r.byte();
  const nFields = r.count(1);
  const fields: [number, number][] = [];
  for (let k = 0; k < nFields; k++) {
    const n = r.count(1);
    fields.push([r.pos, r.pos + n]);
    r.pos += n;
  }
  const refs: number[] = [];
  const nSeries = r.count(8);
  const nSamples = r.count(16);
  const batch = new WriteBatch(Math.max(1, nSamples));
  batch.raw = buf;
  let nRefs = 0;
  for (let i = 0; i < nSeries; i++) {
    const nLabels = r.count(1);
    const labelsStart = nRefs;
    for (let k = 0; k < nLabels; k++) {
      const f = r.varint();
      if (f >= nFields) throw malformed('label field reference out of range');
      refs.push(f);
      nRefs++;
    }
    const labelsHash = r.u32();
    const sampleEnd = batch.numSamples + r.varint();
    const histograms = r.varint();
    const s: SeriesRecord = {
      labels: [],
      sampleStart: batch.numSamples,
      sampleEnd,
      histograms,
      exemplars: r.varint(),
      labelsStart,
      labelsEnd: nRefs,
      labelsHash,
      messageStart: -1,
      messageEnd: -1,
    };
    if (sampleEnd > nSamples) throw malformed('more samples in series than in the share');
    batch.numSamples = sampleEnd;
    const md = r.byte();
    if (md === 1) s.metadata = { type: metricTypeFromProto(r.varint()), help: r.string(), unit: r.string() };
    else if (md !== 0) throw malformed('bad metadata marker');
    batch.series.push(s);
  }
  if (batch.numSamples !== nSamples) throw malformed('sample count does not match the series');
  let nHistograms = 0;
  for (const s of batch.series) nHistograms += s.histograms;
  while (r.pos & 7) if (r.byte() !== 0) throw malformed('non-zero padding');
  r.need(nSamples * 16);
  new Uint8Array(batch.timestamps.buffer, 0, nSamples * 8).set(buf.subarray(r.pos, r.pos + nSamples * 8));
  r.pos += nSamples * 8;
  new Uint8Array(batch.values.buffer, 0, nSamples * 8).set(buf.subarray(r.pos, r.pos + nSamples * 8));
  r.pos += nSamples * 8;
  const nMeta = r.count(4);
  for (let k = 0; k < nMeta; k++) {
    const type = metricTypeFromProto(r.varint());
    batch.metadata.push({ type, metricFamilyName: r.string(), help: r.string(), unit: r.string() });
  }
  if (flags & 2) {
    const n = r.count(1);
    const table = batch.histogramTable();
    const pb = new PbReader(buf, r.pos, r.pos + n);
    while (pb.nextField()) if (pb.field === 1 && pb.wire === WIRE_LEN) decodeHistogram(pb, table);
    if (table.n !== nHistograms) throw malformed('histogram count does not match the series');
    let at = 0;
    for (const s of batch.series) {
      if (s.histograms === 0) continue;
      s.histogramStart = at;
      at += s.histograms;
    }
    r.pos += n;
  } else if (nHistograms > 0) throw malformed('histograms counted but not sent');
  if (flags & 4) {
    const n = r.count(17);
    let want = 0;
    for (const s of batch.series) want += s.exemplars;
    if (n !== want) throw malformed('exemplar count does not match the series');
    for (const s of batch.series) {
      for (let k = 0; k < s.exemplars; k++) {
        const labels: string[] = [];
        for (let j = 0, nLabels = r.count(1); j < nLabels; j++) labels.push(r.string());
        r.need(16);
        const value = r.f64();
        (s.exemplarList ??= []).push({ labels, value, timestamp: r.f64() });
      }
    }
  }
  if (r.pos !== buf.length) throw malformed('trailing bytes');
  const labelsOf = (k: number): string[] => {
    const s = batch.series[k];
    return refs.slice(s.labelsStart, s.labelsEnd).flatMap((f) => labelPair(buf, fields[f][0], fields[f][1]));
  };
  return { batch, v2: (flags & 1) !== 0, labelsOf };
}

/** A Label message's name and value. */
function labelPair(buf: Buffer, start: number, end: number): string[] {
  const r = new PbReader(buf, start, end);
  let name = '';
  let value = '';
  while (r.nextField()) {
    if (r.wire !== WIRE_LEN) continue;
    if (r.field === 1) name = r.string();
    else if (r.field === 2) value = r.string();
  }
  return [name, value];
}

function malformed(why: string): StrataError {
  return new StrataError('invalid-request-body', `malformed forwarded share: ${why}`);
}

class Reader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}

  need(n: number): void {
    if (n > this.buf.length - this.pos) throw malformed('truncated');
  }

  byte(): number {
    this.need(1);
    return this.buf[this.pos++];
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  f64(): number {
    this.need(8);
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  varint(): number {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.byte();
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 128;
    }
    throw malformed('varint too long');
  }

  count(minBytes: number): number {
    const n = this.varint();
    if (n * minBytes > this.buf.length - this.pos) throw malformed('count larger than the share');
    return n;
  }

  string(): string {
    const n = this.count(1);
    const s = decodeString(this.buf, this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
}
