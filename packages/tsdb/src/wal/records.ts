/**
 * WAL records (series, samples, histogram samples), encoded and decoded. Byte format: docs/format/wal.md#records.
 */
import { crc32c } from '@node-rs/crc32';
import { Labels } from '@strata/model';
import type { HistogramSample } from '../chunkenc/histogram.js';

export const RECORD_SERIES = 1;
export const RECORD_SAMPLES = 2;
export const FRAME_HEADER = 8;
export const SAMPLE_BYTES = 20;

export function frame(type: number, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER + 1 + payload.length);
  out.writeUInt32LE(1 + payload.length, 0);
  out[FRAME_HEADER] = type;
  payload.copy(out, FRAME_HEADER + 1);
  out.writeUInt32LE(crc32c(out.subarray(FRAME_HEADER)), 4);
  return out;
}

function putUvarint(b: Buffer, o: number, v: number): number {
  while (v >= 0x80) {
    b[o++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  b[o++] = v;
  return o;
}

/** Reused for encoding series records, which are then copied out at their exact size. */
let scratch = Buffer.allocUnsafe(16 * 1024);

/**
 * A series record, framed. One is written per new series, so this is the hot path of
 * high-churn workloads: strings go through an ASCII fast path instead of one native call each.
 */
export function encodeSeries(ref: number, labels: Labels): Buffer {
  const p = labels.pairs;
  let max = FRAME_HEADER + 1 + 4 + 5;
  for (let i = 0; i < p.length; i++) max += 5 + 3 * p[i].length;
  if (scratch.length < max) scratch = Buffer.allocUnsafe(2 * max);
  const b = scratch;
  b[FRAME_HEADER] = RECORD_SERIES;
  b.writeUInt32LE(ref, FRAME_HEADER + 1);
  let o = putUvarint(b, FRAME_HEADER + 5, p.length);
  for (let i = 0; i < p.length; i++) o = putString(b, o, p[i]);
  b.writeUInt32LE(o - FRAME_HEADER, 0);
  b.writeUInt32LE(crc32c(b.subarray(FRAME_HEADER, o)), 4);
  return Buffer.from(b.subarray(0, o));
}

/** Writes uvarint(byte length) and the UTF-8 bytes of s at o; b has room for 5 + 3 * s.length. */
function putString(b: Buffer, o: number, s: string): number {
  const n = s.length;
  if (n < 0x80) {
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      b[o + 1 + i] = c;
    }
    if (i === n) {
      b[o] = n;
      return o + 1 + n;
    }
  }
  o = putUvarint(b, o, Buffer.byteLength(s));
  return o + b.write(s, o);
}

export function decodeSeries(payload: Buffer): { ref: number; labels: Labels } {
  const ref = payload.readUInt32LE(0);
  let o = 4;
  const readUvarint = (): number => {
    let v = 0;
    let shift = 0;
    for (;;) {
      if (o >= payload.length) throw new RangeError('series record truncated');
      const byte = payload[o++];
      v += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return v;
      shift += 7;
    }
  };
  const n = readUvarint();
  // Every string takes at least its length byte: a larger count is corruption, not a big series.
  if (n > payload.length) throw new RangeError('series record truncated');
  const pairs: string[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const len = readUvarint();
    if (o + len > payload.length) throw new RangeError('series record truncated');
    pairs[i] = payload.toString('utf8', o, o + len);
    o += len;
  }
  return { ref, labels: Labels.fromSortedPairs(pairs) };
}

/** Encodes n staged samples: refs, timestamps and value bits ([lo, hi] per sample). */
export function encodeSamples(refs: Uint32Array, ts: Float64Array, bits: Uint32Array, n: number): Buffer {
  const b = Buffer.allocUnsafe(4 + n * SAMPLE_BYTES);
  b.writeUInt32LE(n, 0);
  let o = 4;
  for (let i = 0; i < n; i++) {
    b.writeUInt32LE(refs[i], o);
    b.writeDoubleLE(ts[i], o + 4);
    b.writeUInt32LE(bits[2 * i], o + 12);
    b.writeUInt32LE(bits[2 * i + 1], o + 16);
    o += SAMPLE_BYTES;
  }
  return frame(RECORD_SAMPLES, b);
}

export type SampleVisitor = (ref: number, t: number, hi: number, lo: number) => void;

export function forEachSample(payload: Buffer, fn: SampleVisitor): void {
  const n = payload.readUInt32LE(0);
  if (4 + n * SAMPLE_BYTES > payload.length) throw new RangeError('samples record truncated');
  let o = 4;
  for (let i = 0; i < n; i++) {
    fn(payload.readUInt32LE(o), payload.readDoubleLE(o + 4), payload.readUInt32LE(o + 16), payload.readUInt32LE(o + 12));
    o += SAMPLE_BYTES;
  }
}

export const RECORD_HISTOGRAMS = 3;

/** A histogram sample as logged: the series, its time, its kind and hint, and the histogram (chunkenc's HistogramSample). */
export interface LoggedHistogram {
  ref: number;
  t: number;
  float: boolean;
  /** The sender's counter-reset hint (0 unknown, 1 reset, 2 not a reset, 3 gauge). */
  hint: number;
  h: HistogramSample;
}

/**
 * Histogram samples (type 3): count <uint32>, then per sample ref <uint32>, timestamp <float64>,
 * flags <byte> (bit 0 float, bits 1-2 hint), schema <int32>, zero threshold, zero count, count
 * and sum <float64 each, the sum as its bits>, then four lists (positive spans, negative spans as
 * offset <int32> length <uint32> pairs; positive buckets, negative buckets, custom bounds as
 * float64s), each a count <uint32> and its items. Integer histograms keep their bucket deltas.
 */
export function encodeHistograms(samples: readonly LoggedHistogram[]): Buffer {
  let size = 4;
  for (const s of samples) {
    const h = s.h;
    size += 4 + 8 + 1 + 4 + 32 + 20;
    size +=
      8 * (h.positiveSpans.length + h.negativeSpans.length + h.positiveBuckets.length + h.negativeBuckets.length + h.customValues.length);
  }
  const b = Buffer.allocUnsafe(size);
  b.writeUInt32LE(samples.length, 0);
  let o = 4;
  const f64 = (v: number) => {
    b.writeDoubleLE(v, o);
    o += 8;
  };
  const spans = (list: readonly { offset: number; length: number }[]) => {
    b.writeUInt32LE(list.length, o);
    o += 4;
    for (const s of list) {
      b.writeInt32LE(s.offset, o);
      b.writeUInt32LE(s.length, o + 4);
      o += 8;
    }
  };
  const floats = (list: ArrayLike<number>) => {
    b.writeUInt32LE(list.length, o);
    o += 4;
    for (let i = 0; i < list.length; i++) f64(list[i]);
  };
  for (const s of samples) {
    const h = s.h;
    b.writeUInt32LE(s.ref, o);
    b.writeDoubleLE(s.t, o + 4);
    b[o + 12] = (s.float ? 1 : 0) | ((s.hint & 3) << 1);
    b.writeInt32LE(h.schema, o + 13);
    o += 17;
    f64(h.zeroThreshold);
    f64(h.zeroCount);
    f64(h.count);
    writeBitsOf(b, o, h.sum);
    o += 8;
    spans(h.positiveSpans);
    spans(h.negativeSpans);
    floats(h.positiveBuckets);
    floats(h.negativeBuckets);
    floats(h.customValues);
  }
  return frame(RECORD_HISTOGRAMS, b.subarray(0, o));
}

const BITS_F64 = new Float64Array(1);
const BITS_U8 = new Uint8Array(BITS_F64.buffer);

/** Writes v's 8 bytes (little-endian) through a typed array, so a NaN payload such as the staleness marker survives. */
function writeBitsOf(b: Buffer, o: number, v: number): void {
  BITS_F64[0] = v;
  for (let k = 0; k < 8; k++) b[o + k] = BITS_U8[k];
}

function readBitsOf(b: Buffer, o: number): number {
  for (let k = 0; k < 8; k++) BITS_U8[k] = b[o + k];
  return BITS_F64[0];
}

export function decodeHistograms(payload: Buffer): LoggedHistogram[] {
  let o = 0;
  const need = (n: number) => {
    if (o + n > payload.length) throw new RangeError('histograms record truncated');
  };
  const u32 = () => {
    need(4);
    const v = payload.readUInt32LE(o);
    o += 4;
    return v;
  };
  const f64 = () => {
    need(8);
    const v = payload.readDoubleLE(o);
    o += 8;
    return v;
  };
  const spans = () => {
    const n = u32();
    need(n * 8);
    const out: { offset: number; length: number }[] = [];
    for (let i = 0; i < n; i++) {
      out.push({ offset: payload.readInt32LE(o), length: payload.readUInt32LE(o + 4) });
      o += 8;
    }
    return out;
  };
  const floats = () => {
    const n = u32();
    need(n * 8);
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(f64());
    return out;
  };
  const n = u32();
  const out: LoggedHistogram[] = [];
  for (let i = 0; i < n; i++) {
    need(17);
    const ref = payload.readUInt32LE(o);
    const t = payload.readDoubleLE(o + 4);
    const flags = payload[o + 12];
    const schema = payload.readInt32LE(o + 13);
    o += 17;
    const zeroThreshold = f64();
    const zeroCount = f64();
    const count = f64();
    need(8);
    const sum = readBitsOf(payload, o);
    o += 8;
    const positiveSpans = spans();
    const negativeSpans = spans();
    const positiveBuckets = floats();
    const negativeBuckets = floats();
    const customValues = floats();
    out.push({
      ref,
      t,
      float: (flags & 1) === 1,
      hint: (flags >> 1) & 3,
      h: { schema, zeroThreshold, zeroCount, count, sum, positiveSpans, negativeSpans, positiveBuckets, negativeBuckets, customValues },
    });
  }
  return out;
}

/** Exemplars (type 4, Prometheus' exemplar record type and body). */
export const RECORD_EXEMPLARS = 4;

/** An exemplar as logged: the series it belongs to and the exemplar (labels as sorted pairs). */
export interface LoggedExemplar {
  ref: number;
  t: number;
  value: number;
  labels: string[];
}

/**
 * Exemplars as Prometheus' WAL body encodes them: the first exemplar's series ref and timestamp
 * as big-endian int64s, then per exemplar the ref and timestamp as zigzag varint deltas from
 * those, the value's bits big-endian, and the labels (uvarint count of pairs, then name and value
 * as uvarint-length strings). Timestamps are whole milliseconds, as every protocol sends them.
 */
export function encodeExemplars(list: readonly LoggedExemplar[]): Buffer {
  let size = 16;
  for (const e of list) {
    size += 10 + 10 + 8 + 5;
    for (const p of e.labels) size += 5 + 3 * p.length;
  }
  const b = Buffer.allocUnsafe(size);
  const first = list[0];
  b.writeBigInt64BE(BigInt(first.ref), 0);
  b.writeBigInt64BE(BigInt(Math.trunc(first.t)), 8);
  let o = 16;
  for (const e of list) {
    o = putVarint(b, o, e.ref - first.ref);
    o = putVarint(b, o, Math.trunc(e.t) - Math.trunc(first.t));
    writeBitsOf(b, o, e.value);
    b.subarray(o, o + 8).reverse();
    o += 8;
    o = putUvarint53(b, o, e.labels.length / 2);
    for (const p of e.labels) o = putString(b, o, p);
  }
  return frame(RECORD_EXEMPLARS, b.subarray(0, o));
}

/** A zigzag varint of an integer within ±2^52 (arithmetic, not 32-bit operators). */
function putVarint(b: Buffer, o: number, v: number): number {
  return putUvarint53(b, o, v >= 0 ? 2 * v : -2 * v - 1);
}

function putUvarint53(b: Buffer, o: number, v: number): number {
  while (v >= 0x80) {
    b[o++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  b[o++] = v;
  return o;
}

export function decodeExemplars(payload: Buffer): LoggedExemplar[] {
  const out: LoggedExemplar[] = [];
  if (payload.length === 0) return out;
  if (payload.length < 16) throw new RangeError('exemplars record truncated');
  const ref0 = Number(payload.readBigInt64BE(0));
  const t0 = Number(payload.readBigInt64BE(8));
  let o = 16;
  const uvarint = (): number => {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (o >= payload.length) throw new RangeError('exemplars record truncated');
      const byte = payload[o++];
      v += (byte & 0x7f) * mul;
      if (byte < 0x80) return v;
      mul *= 128;
    }
    throw new RangeError('exemplars record: varint too long');
  };
  const varint = (): number => {
    const z = uvarint();
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  };
  while (o < payload.length) {
    const ref = ref0 + varint();
    const t = t0 + varint();
    if (o + 8 > payload.length) throw new RangeError('exemplars record truncated');
    const bits = Buffer.from(payload.subarray(o, o + 8)).reverse();
    const value = readBitsOf(bits, 0);
    o += 8;
    const n = uvarint();
    // Every string takes at least its length byte.
    if (2 * n > payload.length - o) throw new RangeError('exemplars record truncated');
    const labels: string[] = new Array(2 * n);
    for (let i = 0; i < 2 * n; i++) {
      const len = uvarint();
      if (o + len > payload.length) throw new RangeError('exemplars record truncated');
      labels[i] = payload.toString('utf8', o, o + len);
      o += len;
    }
    out.push({ ref, t, value, labels });
  }
  return out;
}
