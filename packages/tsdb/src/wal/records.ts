/**
 * WAL records (series, samples), encoded and decoded. Byte format: docs/format/wal.md#records.
 */
import { crc32c } from '@node-rs/crc32';
import { Labels } from '@strata/model';

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
