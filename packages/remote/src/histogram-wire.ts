/**
 * The Histogram message, identical in remote-write 1.0 (prometheus.Histogram) and 2.0
 * (io.prometheus.write.v2.Histogram):
 *
 *   message Histogram {
 *     oneof count { uint64 count_int = 1; double count_float = 2; }
 *     double sum = 3;
 *     sint32 schema = 4;
 *     double zero_threshold = 5;
 *     oneof zero_count { uint64 zero_count_int = 6; double zero_count_float = 7; }
 *     repeated BucketSpan negative_spans = 8;
 *     repeated sint64 negative_deltas = 9;
 *     repeated double negative_counts = 10;
 *     repeated BucketSpan positive_spans = 11;
 *     repeated sint64 positive_deltas = 12;
 *     repeated double positive_counts = 13;
 *     ResetHint reset_hint = 14;
 *     int64 timestamp = 15;
 *     repeated double custom_values = 16;
 *   }
 *   message BucketSpan { sint32 offset = 1; uint32 length = 2; }
 *
 * A histogram is a float histogram when it uses count_float (or any float counts); an integer
 * one otherwise. Which oneof member was set is only visible on the wire, so the decoder notes it.
 */
import { PbReader, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from './pb-reader.js';
import type { PbWriter } from './pb-writer.js';
import type { HistogramTable, WireHistogram } from './histogram-table.js';

// Scratch for one histogram's repeated fields: reused, so decoding allocates nothing per histogram.
const posSpans: number[] = [];
const negSpans: number[] = [];
const posBuckets: number[] = [];
const negBuckets: number[] = [];
const custom: number[] = [];

/** Decodes the length-delimited Histogram field r stopped at into a new row of `table`. */
export function decodeHistogram(r: PbReader, table: HistogramTable): void {
  const outer = r.enter();
  let float = false;
  let count = 0;
  let zeroCount = 0;
  let schema = 0;
  let zeroThreshold = 0;
  let hint = 0;
  let t = 0;
  let sumAt = -1;
  posSpans.length = negSpans.length = posBuckets.length = negBuckets.length = custom.length = 0;
  let posFloat = false;
  let negFloat = false;
  while (r.nextField()) {
    switch (r.field) {
      case 1:
        if (r.wire === WIRE_VARINT) {
          count = r.varint();
          float = false;
        }
        break;
      case 2:
        if (r.wire === WIRE_FIXED64) {
          count = r.double();
          float = true;
        }
        break;
      case 3:
        if (r.wire === WIRE_FIXED64) sumAt = r.fixed64Offset();
        break;
      case 4:
        if (r.wire === WIRE_VARINT) schema = unzigzag(r.varint());
        break;
      case 5:
        if (r.wire === WIRE_FIXED64) zeroThreshold = r.double();
        break;
      case 6:
        if (r.wire === WIRE_VARINT) zeroCount = r.varint();
        break;
      case 7:
        if (r.wire === WIRE_FIXED64) {
          zeroCount = r.double();
          float = true;
        }
        break;
      case 8:
        if (r.wire === WIRE_LEN) decodeSpan(r, negSpans);
        break;
      case 9:
        readSints(r, negBuckets);
        break;
      case 10:
        if (readDoubles(r, negBuckets)) negFloat = true;
        break;
      case 11:
        if (r.wire === WIRE_LEN) decodeSpan(r, posSpans);
        break;
      case 12:
        readSints(r, posBuckets);
        break;
      case 13:
        if (readDoubles(r, posBuckets)) posFloat = true;
        break;
      case 14:
        if (r.wire === WIRE_VARINT) hint = r.varint() & 3;
        break;
      case 15:
        if (r.wire === WIRE_VARINT) t = r.int64();
        break;
      case 16:
        readDoubles(r, custom);
        break;
    }
  }
  r.leave(outer);
  // Absolute float counts make a float histogram even if the (default) count field was never set.
  if (posFloat || negFloat) float = true;
  const i = table.begin(t, float, schema, zeroThreshold, zeroCount, count, 0, hint);
  if (sumAt >= 0) table.setSumBytes(i, r.buf, sumAt);
  table.setSpans(i, false, posSpans);
  table.setSpans(i, true, negSpans);
  table.setBuckets(i, false, posBuckets);
  table.setBuckets(i, true, negBuckets);
  table.setCustomValues(i, custom);
}

function decodeSpan(r: PbReader, out: number[]): void {
  const outer = r.enter();
  let offset = 0;
  let length = 0;
  while (r.nextField()) {
    if (r.wire !== WIRE_VARINT) continue;
    if (r.field === 1) offset = unzigzag(r.varint());
    else if (r.field === 2) length = r.varint();
  }
  r.leave(outer);
  out.push(offset, length);
}

/** Packed or unpacked repeated sint64. */
function readSints(r: PbReader, out: number[]): void {
  if (r.wire === WIRE_VARINT) out.push(unzigzag(r.varint()));
  else if (r.wire === WIRE_LEN) {
    const outer = r.enter();
    while (!r.done) out.push(unzigzag(r.varint()));
    r.leave(outer);
  }
}

/** Packed or unpacked repeated double; whether any was read. */
function readDoubles(r: PbReader, out: number[]): boolean {
  if (r.wire === WIRE_FIXED64) {
    out.push(r.double());
    return true;
  }
  if (r.wire !== WIRE_LEN) return false;
  const outer = r.enter();
  while (!r.done) out.push(r.double());
  r.leave(outer);
  return true;
}

/** Zig-zag decoding without 32-bit operators, so 64-bit varints up to 2^53 stay exact. */
function unzigzag(v: number): number {
  return v % 2 === 0 ? v / 2 : -(v + 1) / 2;
}

function zigzag(v: number): number {
  return v >= 0 ? v * 2 : -v * 2 - 1;
}

/** Writes h as a Histogram field with number `field` (4 in a 1.0 TimeSeries, 3 in 2.0). */
export function encodeHistogram(w: PbWriter, field: number, h: WireHistogram): void {
  w.message(field, () => {
    if (h.float) writeAlwaysDouble(w, 2, h.count);
    else w.uint(1, h.count);
    w.double(3, h.sum);
    w.uint(4, zigzag(h.schema));
    w.double(5, h.zeroThreshold);
    if (h.float) writeAlwaysDouble(w, 7, h.zeroCount);
    else w.uint(6, h.zeroCount);
    for (const s of h.negativeSpans) writeSpan(w, 8, s.offset, s.length);
    if (h.float) packedDoubles(w, 10, h.negativeBuckets);
    else packedSints(w, 9, h.negativeBuckets);
    for (const s of h.positiveSpans) writeSpan(w, 11, s.offset, s.length);
    if (h.float) packedDoubles(w, 13, h.positiveBuckets);
    else packedSints(w, 12, h.positiveBuckets);
    w.uint(14, h.resetHint);
    w.int64(15, h.t);
    packedDoubles(w, 16, h.customValues);
  });
}

/** A oneof member is written even when zero: it is what tells a float histogram from an integer one. */
function writeAlwaysDouble(w: PbWriter, field: number, v: number): void {
  const b = Buffer.allocUnsafe(8);
  b.writeDoubleLE(v);
  w.raw(Buffer.from([(field << 3) | 1]));
  w.raw(b);
}

function writeSpan(w: PbWriter, field: number, offset: number, length: number): void {
  w.message(field, () => {
    w.uint(1, zigzag(offset));
    w.uint(2, length);
  });
}

function packedSints(w: PbWriter, field: number, vs: readonly number[]): void {
  if (vs.length === 0) return;
  w.message(field, () => {
    for (const v of vs) w.rawVarint(zigzag(v));
  });
}

function packedDoubles(w: PbWriter, field: number, vs: readonly number[]): void {
  if (vs.length === 0) return;
  const b = Buffer.allocUnsafe(vs.length * 8);
  vs.forEach((v, k) => b.writeDoubleLE(v, k * 8));
  w.bytes(field, b);
}
