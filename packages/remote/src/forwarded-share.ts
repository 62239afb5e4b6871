/**
 * The encoding of a share forwarded from one receiver to another (internal to a ring). The router
 * has already decoded the client's request, so a replica should not pay for snappy, protobuf
 * parsing and hashing again: a share carries the series it owns in a form that is read with a
 * few varints per series and one copy per sample column.
 *
 * Label pairs travel as references into a table of label fields (each distinct name/value pair
 * of the request once, as the bytes of a remote-write 1.0 Label message): a request's series
 * repeat the same job, instance and metric names, so the table is small, and the router builds
 * it from the client's bytes without decoding a string. Each series carries the 32-bit hash the
 * router computed of its label bytes, which the replica's head uses as its series-cache key.
 * Samples are two columns of little-endian float64 (timestamps, raw value bits: staleness
 * markers survive). A share is not compressed: it is a fraction of the decompressed request's
 * size, and compressing it would cost the router more than the replica saves.
 *
 * Layout (varints are unsigned LEB128; strings are a varint length and UTF-8 bytes):
 *   magic "SSH1"; flags byte (bit 0: the client sent remote-write 2.0);
 *   varint field count, then per field: varint length, Label message bytes;
 *   varint series count, varint sample count, then per series:
 *     varint label count, varint field index per label, u32 LE label hash,
 *     varint samples, varint histograms, varint exemplars,
 *     metadata byte (0: none; 1: varint type, string help, string unit);
 *   zero padding to a multiple of 8 bytes from the start of the share;
 *   sample count x f64 LE timestamps; sample count x 8 bytes of values;
 *   varint metadata count, then per entry: varint type, string name, string help, string unit;
 *   with flag bit 1 only: varint length, then the entries' native histograms in entry order as
 *   protobuf `repeated Histogram histograms = 1` (remote-write's Histogram message);
 *   with flag bit 2 only: varint exemplar count, then the entries' exemplars in entry order, each
 *   varint label string count, the strings, f64 LE value, f64 LE timestamp (ms).
 * Format reference: docs/format/forwarded-share.md.
 */
import { StrataError, type MetricMetadata } from '@strata/model';
import { decodeString, PbReader, WIRE_LEN } from './pb-reader.js';
import {
  metricTypeFromProto,
  metricTypeToProto,
  WriteBatch,
  type ExemplarRecord,
  type LabelFields,
  type MetadataRecord,
  type SeriesRecord,
} from './write-batch.js';
import { PbWriter } from './pb-writer.js';
import { decodeHistogram, encodeHistogram } from './histogram-wire.js';

export const SHARE_CONTENT_TYPE = 'application/x-strata-share';
const MAGIC = 0x31485353; // "SSH1" little-endian
const FLAG_V2 = 1;
const FLAG_HISTOGRAMS = 2;
const FLAG_EXEMPLARS = 4;

/**
 * The label-field table of a router's batch, built once per request and shared by the shares
 * of every peer: the distinct Label messages and each series' references into them.
 */
class FieldTable {
  /** The distinct fields' bytes, back to back; field k is bytes[starts[k], starts[k + 1]). */
  bytes: Buffer;
  private view: DataView;
  starts: Int32Array;
  /** Per field: its bytes' hash (fieldHash), compared before the bytes are. */
  private fieldHashes: Int32Array;
  private nFields = 0;
  /** Per series of the batch: its field references are refs[refStart[i], refStart[i + 1]). */
  refs: Uint32Array;
  refStart: Int32Array;
  /** Per series: the hash its head cache key is (the client's label-bytes hash for 1.0). */
  hashes: Uint32Array;
  private len = 0;
  private nRefs = 0;
  /**
   * The fields by hash: an open-addressing table (linear probing, at most half full) of field
   * ids + 1, 0 for a free slot. Typed, so a lookup costs no Map entry and no boxed key.
   */
  private slots: Int32Array;

  constructor(readonly batch: WriteBatch) {
    const n = batch.series.length;
    // The working arrays are the previous table's (see TableScratch), cleared where read before written.
    const k = tableScratch;
    this.bytes = k.bytes;
    this.view = viewOf(this.bytes);
    this.starts = k.starts;
    this.starts[0] = 0;
    this.fieldHashes = k.fieldHashes;
    this.slots = k.slots.fill(0);
    if (k.refs.length < n * 10) k.refs = new Uint32Array(n * 10);
    this.refs = k.refs;
    if (k.refStart.length < n + 1) k.refStart = new Int32Array(n + 1);
    this.refStart = k.refStart;
    if (k.hashes.length < n) k.hashes = new Uint32Array(n);
    this.hashes = k.hashes;
    const scratch = k.label;
    const series = batch.series;
    const wire = !batch.labelFields;
    for (let i = 0; i < n; i++) {
      this.refStart[i] = this.nRefs;
      const s = series[i];
      // Wire label bytes only in a client's request; a share's batch indexes its own field table.
      if (s.labelsStart >= 0 && wire) {
        this.fieldsOfWire(batch.raw, s.labelsStart, s.labelsEnd);
        this.hashes[i] = s.labelsHash;
      } else {
        // 2.0 (symbol references) or 1.0 labels interleaved with samples: encode the pairs.
        let pairs: string[];
        try {
          pairs = batch.labelsOf(s);
        } catch {
          continue; // undecodable: the router rejected the series, it is in no share
        }
        // The hash of the pairs as 1.0 Label messages, back to back (FNV-1a over all of them).
        let h = 0x811c9dc5;
        for (let k = 0; k < pairs.length; k += 2) {
          scratch.reset();
          scratch.labelMessage(pairs[k], pairs[k + 1]);
          this.add(scratch.buf, 0, scratch.pos);
          for (let b = 0; b < scratch.pos; b++) h = Math.imul(h ^ scratch.buf[b], 0x01000193);
        }
        // A share's series keep the hash their router gave them: it is their replicas' head cache key.
        this.hashes[i] = batch.labelFields ? s.labelsHash : h >>> 0;
      }
    }
    this.refStart[n] = this.nRefs;
  }

  /** Where the previous series' references are: series of one target share most of their pairs. */
  private prevFrom = 0;
  private prevTo = 0;

  /** The Label fields of a 1.0 TimeSeries' contiguous label bytes (tag 0x0a, length, message). */
  private fieldsOfWire(buf: Buffer, start: number, end: number): void {
    let p = start;
    const from = this.nRefs;
    // The k-th pair of a series is most often the k-th pair of the one before (same job,
    // instance, metric name): compared first, it costs no hash and no map lookup.
    let same = this.prevFrom;
    while (p < end) {
      // The tag (field 1, LEN: the decoder marks only runs of Label fields as label bytes), in
      // whatever varint form the client wrote it.
      while (buf[p++] >= 0x80);
      let n = 0;
      for (let shift = 0; ; shift += 7) {
        const b = buf[p++];
        n |= (b & 0x7f) << shift;
        if (b < 0x80) break;
      }
      if (same < this.prevTo && this.sameField(this.refs[same], buf, p, p + n)) this.ref(this.refs[same]);
      else this.add(buf, p, p + n);
      same++;
      p += n;
    }
    this.prevFrom = from;
    this.prevTo = this.nRefs;
  }

  /** Adds a reference to the field with these bytes (entering it in the table if new). */
  private add(src: Uint8Array, start: number, end: number): void {
    const h = fieldHash(src, start, end);
    const mask = this.slots.length - 1;
    let i = h & mask;
    for (;;) {
      const id = this.slots[i] - 1;
      if (id < 0) break;
      if (this.fieldHashes[id] === h && this.sameField(id, src, start, end)) {
        this.ref(id);
        return;
      }
      i = (i + 1) & mask;
    }
    const id = this.nFields++;
    const n = end - start;
    if (this.len + n > this.bytes.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, this.len + n));
      this.bytes.copy(grown, 0, 0, this.len);
      this.bytes = grown;
      this.view = viewOf(grown);
    }
    this.bytes.set(src.subarray(start, end), this.len);
    this.len += n;
    if (id + 1 === this.fieldHashes.length) {
      const starts = new Int32Array(this.starts.length * 2);
      starts.set(this.starts);
      this.starts = starts;
      const hashes = new Int32Array(this.fieldHashes.length * 2);
      hashes.set(this.fieldHashes);
      this.fieldHashes = hashes;
    }
    this.starts[id + 1] = this.len;
    this.fieldHashes[id] = h;
    this.slots[i] = id + 1;
    if (this.nFields * 2 > this.slots.length) this.rehash();
    this.ref(id);
  }

  /** Doubles the slot table, re-entering every field. */
  private rehash(): void {
    const slots = new Int32Array(this.slots.length * 2);
    const mask = slots.length - 1;
    for (let id = 0; id < this.nFields; id++) {
      let i = this.fieldHashes[id] & mask;
      while (slots[i] !== 0) i = (i + 1) & mask;
      slots[i] = id + 1;
    }
    this.slots = slots;
  }

  private ref(id: number): void {
    if (this.nRefs === this.refs.length) {
      const grown = new Uint32Array(this.refs.length * 2);
      grown.set(this.refs);
      this.refs = grown;
    }
    this.refs[this.nRefs++] = id;
  }

  private sameField(id: number, src: Uint8Array, start: number, end: number): boolean {
    const a = this.starts[id];
    const n = end - start;
    if (this.starts[id + 1] - a !== n) return false;
    let k = 0;
    // Four bytes at a time where the views allow it (the compare is the table's main cost).
    if (n >= 4) {
      const x = this.view;
      const y = viewOf(src);
      for (; k + 4 <= n; k += 4) if (x.getInt32(a + k, true) !== y.getInt32(start + k, true)) return false;
      // The last four bytes, overlapping the words compared (no byte loop for the rest).
      return k === n || x.getInt32(a + n - 4, true) === y.getInt32(start + n - 4, true);
    }
    const b = this.bytes;
    for (; k < n; k++) if (b[a + k] !== src[start + k]) return false;
    return true;
  }

  get fieldCount(): number {
    return this.nFields;
  }

  /**
   * The parts of a share that do not depend on which series it holds, encoded once per batch
   * for the shares of every peer (each share copies them): the field section (count, then each
   * field's length and bytes) and each series' record (its refs, hash, counts and metadata).
   */
  encodedParts(): EncodedTable {
    const n = this.fieldCount;
    // Sized for the worst case up front, so the loops write without a bounds check per value.
    const f = new ScratchWriter(16 + this.len + n * 5);
    f.varint(n);
    let out = f.buf;
    let pos = f.pos;
    const bytes = this.bytes;
    for (let k = 0; k < n; k++) {
      const a = this.starts[k];
      const b = this.starts[k + 1];
      pos = putVarint(out, pos, b - a);
      for (let i = a; i < b; i++) out[pos++] = bytes[i]; // fields are a few dozen bytes: no subarray each
    }
    f.pos = pos;
    const series = this.batch.series;
    // Written into the scratch writer, sized for the worst case, then copied out at their size.
    const w = tableScratch.records;
    w.reset();
    w.room(16 + series.length * 24 + this.nRefs * 5);
    const recordStart = new Int32Array(series.length + 1);
    const refs = this.refs;
    for (let i = 0; i < series.length; i++) {
      const s = series[i];
      const r0 = this.refStart[i];
      const r1 = this.refStart[i + 1];
      // At most 5 bytes per reference and count, 4 of hash, 1 of metadata marker.
      w.room(5 * (r1 - r0) + 25);
      out = w.buf;
      pos = w.pos;
      recordStart[i] = pos;
      pos = putVarint(out, pos, r1 - r0);
      for (let r = r0; r < r1; r++) pos = putVarint(out, pos, refs[r]);
      const h = this.hashes[i];
      out[pos] = h & 0xff;
      out[pos + 1] = (h >>> 8) & 0xff;
      out[pos + 2] = (h >>> 16) & 0xff;
      out[pos + 3] = h >>> 24;
      pos = putVarint(out, pos + 4, s.sampleEnd - s.sampleStart);
      pos = putVarint(out, pos, s.histograms);
      pos = putVarint(out, pos, s.exemplars);
      const md = s.metadata;
      if (!md) {
        out[pos++] = 0;
        w.pos = pos;
      } else {
        out[pos++] = 1;
        w.pos = pos;
        w.varint(metricTypeToProto(md.type));
        w.string(md.help);
        w.string(md.unit);
      }
    }
    recordStart[series.length] = w.pos;
    const records = Buffer.allocUnsafe(w.pos);
    w.buf.copy(records, 0, 0, w.pos);
    this.release();
    return { fieldSection: f.finish(), records, recordStart };
  }

  /** Hands the working arrays, grown or not, back to the scratch for the next table. */
  private release(): void {
    const k = tableScratch;
    k.bytes = this.bytes;
    k.starts = this.starts;
    k.fieldHashes = this.fieldHashes;
    k.slots = this.slots;
    k.refs = this.refs;
  }
}

/** The parts of a share that do not depend on which series it holds (FieldTable.encodedParts). */
interface EncodedTable {
  fieldSection: Buffer;
  records: Buffer;
  recordStart: Int32Array;
}

/**
 * The working arrays of a field table (a few hundred kilobytes for a request of thousands of
 * series), reused from one request to the next instead of allocated and collected each time: a
 * table is built and encoded in one synchronous call (tableOf), so one set serves every table.
 */
interface TableScratch {
  bytes: Buffer;
  starts: Int32Array;
  fieldHashes: Int32Array;
  slots: Int32Array;
  refs: Uint32Array;
  refStart: Int32Array;
  hashes: Uint32Array;
  /** One pair's Label message, for series whose labels are not the client's contiguous bytes. */
  label: ScratchWriter;
  records: ScratchWriter;
}

let lastViewed: Uint8Array | undefined;
let lastView: DataView | undefined;

/** A DataView over exactly these bytes (the last one made is reused: one source per table). */
function viewOf(b: Uint8Array): DataView {
  if (b !== lastViewed) {
    lastViewed = b;
    lastView = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  return lastView!;
}

/**
 * A field's hash for the table's lookups: FNV-1a's multiply over 32-bit words (a quarter of the
 * steps of a byte-wise hash), the last bytes in a word of their own, then a final mix.
 */
function fieldHash(src: Uint8Array, start: number, end: number): number {
  const n = end - start;
  let h = 0x811c9dc5 ^ n;
  let k = 0;
  if (n >= 4) {
    const v = viewOf(src);
    for (; k + 4 <= n; k += 4) h = Math.imul(h ^ v.getInt32(start + k, true), 0x01000193);
  }
  if (k < n) {
    let tail = 0;
    for (let shift = 0; k < n; k++, shift += 8) tail |= src[start + k] << shift;
    h = Math.imul(h ^ tail, 0x01000193);
  }
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return h ^ (h >>> 12);
}

const tables = new WeakMap<WriteBatch, EncodedTable>();

function tableOf(batch: WriteBatch): EncodedTable {
  let t = tables.get(batch);
  if (!t) tables.set(batch, (t = new FieldTable(batch).encodedParts()));
  return t;
}

/**
 * Series `indices` of a router's batch (validated, with samples) and the metric metadata
 * `metadata` as a share. `v2` says how the replica validates names (as the client's protocol).
 */
export function encodeShare(batch: WriteBatch, indices: readonly number[], metadata: readonly MetadataRecord[], v2: boolean): Buffer {
  const { fieldSection, records, recordStart } = tableOf(batch);
  let samples = 0;
  let histograms = 0;
  let recordBytes = 0;
  let exemplars = 0;
  for (const i of indices) {
    samples += batch.series[i].sampleEnd - batch.series[i].sampleStart;
    histograms += batch.series[i].histograms;
    exemplars += batch.series[i].exemplarList?.length ?? 0;
    recordBytes += recordStart[i + 1] - recordStart[i];
  }
  const w = new ScratchWriter(64 + fieldSection.length + recordBytes + samples * 16);
  w.u32(MAGIC);
  // Histograms set a flag of their own: a share without them is what replicas before them read.
  w.byte((v2 ? FLAG_V2 : 0) | (histograms > 0 ? FLAG_HISTOGRAMS : 0) | (exemplars > 0 ? FLAG_EXEMPLARS : 0));
  w.copy(fieldSection, 0, fieldSection.length);
  w.varint(indices.length);
  w.varint(samples);
  // Series records are a few dozen bytes: copied byte by byte (a subarray per record costs more).
  const out = w.buf;
  let pos = w.pos;
  for (const i of indices) for (let k = recordStart[i], end = recordStart[i + 1]; k < end; k++) out[pos++] = records[k];
  w.pos = pos;
  // Columns start at a multiple of 8 from the share's start, so both sides copy them as words.
  w.columns(batch, indices, samples);
  w.varint(metadata.length);
  for (const m of metadata) {
    w.varint(metricTypeToProto(m.type));
    w.string(m.metricFamilyName);
    w.string(m.help);
    w.string(m.unit);
  }
  if (histograms > 0) {
    const table = batch.histogramRows!;
    const pb = new PbWriter(histograms * 64);
    for (const i of indices) {
      const s = batch.series[i];
      for (let k = 0; k < s.histograms; k++) encodeHistogram(pb, 1, table.get(s.histogramStart! + k));
    }
    const bytes = pb.finish();
    w.varint(bytes.length);
    w.copy(bytes, 0, bytes.length);
  }
  if (exemplars > 0) {
    w.varint(exemplars);
    for (const i of indices) {
      for (const e of batch.series[i].exemplarList ?? []) {
        w.varint(e.labels.length);
        for (const p of e.labels) w.string(p);
        w.f64(e.value);
        w.f64(e.timestamp);
      }
    }
  }
  return w.finish();
}

/**
 * A share's label fields at the replica: ranges into the share. A series the head knows is
 * compared with the head's strings byte by byte, without decoding the field; a field decoded
 * only when a series' pairs are asked for (a new series), once per share.
 */
class ShareFields implements LabelFields {
  readonly names: (string | undefined)[];
  readonly values: string[];
  /**
   * Per field, the head's strings it last compared equal to: most fields (job, instance, metric
   * name) recur across a share's series, so later compares are a pointer check.
   */
  private readonly sameName: (string | undefined)[];
  private readonly sameValue: (string | undefined)[];

  constructor(
    private readonly buf: Buffer,
    private readonly starts: Int32Array,
    private readonly ends: Int32Array,
    /** All series' field references; a series' are refs[labelsStart, labelsEnd). */
    readonly refs: Uint32Array,
  ) {
    this.names = new Array<string | undefined>(starts.length);
    this.values = new Array<string>(starts.length);
    this.sameName = new Array<string | undefined>(starts.length);
    this.sameValue = new Array<string | undefined>(starts.length);
  }

  private decode(f: number): void {
    const r = new PbReader(this.buf, this.starts[f], this.ends[f]);
    let name = '';
    let value = '';
    while (r.nextField()) {
      if (r.wire !== WIRE_LEN) continue;
      if (r.field === 1) name = r.string();
      else if (r.field === 2) value = r.string();
    }
    this.names[f] = name;
    this.values[f] = value;
  }

  pairsOf(s: SeriesRecord, out: string[]): void {
    for (let k = s.labelsStart; k < s.labelsEnd; k++) {
      const f = this.refs[k];
      if (this.names[f] === undefined) this.decode(f);
      out.push(this.names[f]!, this.values[f]);
    }
  }

  equals(s: SeriesRecord, pairs: readonly string[]): boolean {
    if (pairs.length !== (s.labelsEnd - s.labelsStart) * 2) return false;
    for (let k = s.labelsStart, j = 0; k < s.labelsEnd; k++, j += 2) {
      const f = this.refs[k];
      const name = pairs[j];
      const value = pairs[j + 1];
      if (this.sameName[f] === name && this.sameValue[f] === value) continue;
      let same = fieldBytesEqual(this.buf, this.starts[f], this.ends[f], name, value);
      if (same === UNDECIDED) {
        // Non-ASCII text or an unusual encoding: compared as decoded strings (invalid UTF-8 never equal).
        if (this.names[f] === undefined) {
          try {
            this.decode(f);
          } catch {
            return false; // undecodable: not this series; the slow path reports the error
          }
        }
        same = this.names[f] === name && this.values[f] === value ? 1 : 0;
      }
      if (same !== 1) return false;
      this.sameName[f] = name;
      this.sameValue[f] = value;
    }
    return true;
  }
}

/** fieldBytesEqual's answer when the bytes alone cannot tell: compare decoded strings instead. */
const UNDECIDED = -1;

/**
 * Whether a Label message's bytes buf[start, end) hold exactly this name and value: 1 or 0, or
 * UNDECIDED for anything but the usual form of ASCII text (name field, then value field, short
 * lengths, empty ones omitted): non-ASCII, other field orders, explicit empty fields.
 */
function fieldBytesEqual(buf: Buffer, start: number, end: number, name: string, value: string): number {
  let p = start;
  if (name !== '') {
    const r = stringFieldEqual(buf, p, end, 0x0a, name);
    if (r !== 1) return r;
    p += 2 + name.length;
  }
  if (value !== '') {
    const r = stringFieldEqual(buf, p, end, 0x12, value);
    if (r !== 1) return r;
    p += 2 + value.length;
  }
  return p === end ? 1 : UNDECIDED;
}

/** A string field with a one-byte tag and length at buf[p] against s (1, 0 or UNDECIDED). */
function stringFieldEqual(buf: Buffer, p: number, end: number, tag: number, s: string): number {
  const n = s.length;
  if (n >= 0x80 || p + 2 + n > end || buf[p] !== tag || buf[p + 1] !== n) return UNDECIDED;
  for (let i = 0, at = p + 2; i < n; i++) {
    const c = s.charCodeAt(i);
    const b = buf[at + i];
    if (b === c) continue;
    // Both ASCII and different at the first non-matching position: different strings for sure.
    return c < 0x80 && b < 0x80 ? 0 : UNDECIDED;
  }
  return 1;
}

/**
 * Decodes a share into a batch the writer stores as it stores a client's: series whose label
 * range [labelsStart, labelsEnd) indexes the field references (batch.labelFields), with the
 * router's hash as labelsHash. The series are held as columns (WriteBatch.setColumns), not a
 * record each: the writer reads them through one reused record (seriesAt), which took about a
 * quarter off the decode. Malformed input is a StrataError, never a RangeError.
 */
export function decodeShare(buf: Buffer): { batch: WriteBatch; v2: boolean } {
  const r = new ShareReader(buf);
  if (r.u32() !== MAGIC) throw malformed('not a forwarded share');
  const flags = r.byte();
  const v2 = (flags & FLAG_V2) !== 0;
  const nFields = r.count(1);
  const starts = new Int32Array(nFields);
  const ends = new Int32Array(nFields);
  for (let k = 0; k < nFields; k++) {
    const n = r.count(1);
    starts[k] = r.pos;
    r.pos += n;
    ends[k] = r.pos;
  }
  const nSeries = r.count(8);
  const nSamples = r.count(16);
  const batch = new WriteBatch(0);
  batch.raw = buf;
  // The series are decoded into columns, not a record each (WriteBatch.seriesAt reads them).
  // A share is decoded per forwarded request: its columns are allocated at their size (the
  // references in a reused scratch first), and those most shares leave at zero (histograms,
  // exemplars) only once a series has any. Large transient typed arrays are external memory
  // that brings on collections of a heap holding every series.
  const samples = new Int32Array(nSeries + 1);
  let histogramRows: Int32Array | undefined;
  const labels = new Int32Array(nSeries + 1);
  const hashes = new Uint32Array(nSeries);
  let exemplars: Float64Array | undefined;
  let metadata: (MetricMetadata | undefined)[] | undefined;
  let refs = decodeScratch.refs;
  let nRefs = 0;
  let sampleAt = 0;
  let histogramAt = 0;
  let exemplarCount = 0;
  // The per-series loop reads with a local position and module-level varint readers: the
  // reader's methods cost a call and a bounds check per byte, which was most of the decode.
  let pos = r.pos;
  for (let i = 0; i < nSeries; i++) {
    pos = readVarint(buf, pos);
    const nLabels = varintOut;
    if (nLabels > buf.length - pos) throw malformed('count larger than the share');
    labels[i] = nRefs;
    if (nRefs + nLabels > refs.length) {
      const grown = new Uint32Array(Math.max(refs.length * 2, nRefs + nLabels));
      grown.set(refs);
      decodeScratch.refs = refs = grown;
    }
    for (let k = 0; k < nLabels; k++) {
      pos = readVarint(buf, pos);
      if (varintOut >= nFields) throw malformed('label field reference out of range');
      refs[nRefs++] = varintOut;
    }
    if (pos + 4 > buf.length) throw malformed('truncated');
    hashes[i] = buf[pos] | (buf[pos + 1] << 8) | (buf[pos + 2] << 16) | (buf[pos + 3] << 24);
    samples[i] = sampleAt;
    pos = readVarint(buf, pos + 4);
    sampleAt += varintOut;
    if (sampleAt > nSamples) throw malformed('more samples in series than in the share');
    if (histogramRows) histogramRows[i] = histogramAt;
    pos = readVarint(buf, pos);
    // Each histogram takes bytes of the share's histogram section (the count is checked there too).
    if (varintOut > 0) {
      // Rows before this series are all zero: none had a histogram.
      histogramRows ??= new Int32Array(nSeries + 1);
      histogramAt += varintOut;
    }
    if (histogramAt > buf.length) throw malformed('count larger than the share');
    pos = readVarint(buf, pos);
    if (varintOut > 0) (exemplars ??= new Float64Array(nSeries))[i] = varintOut;
    exemplarCount += varintOut;
    if (pos >= buf.length) throw malformed('truncated');
    const md = buf[pos++];
    if (md === 1) {
      r.pos = pos;
      (metadata ??= new Array<MetricMetadata | undefined>(nSeries))[i] = {
        type: metricTypeFromProto(r.varint()),
        help: r.string(),
        unit: r.string(),
      };
      pos = r.pos;
    } else if (md !== 0) throw malformed('bad metadata marker');
  }
  samples[nSeries] = sampleAt;
  if (histogramRows) histogramRows[nSeries] = histogramAt;
  labels[nSeries] = nRefs;
  r.pos = pos;
  if (sampleAt !== nSamples) throw malformed('sample count does not match the series');
  batch.numSamples = nSamples;
  while (r.pos & 7) if (r.byte() !== 0) throw malformed('non-zero padding');
  r.need(nSamples * 16);
  batch.takeSamples(f64Column(buf, r.pos, nSamples), f64Column(buf, r.pos + nSamples * 8, nSamples), nSamples);
  r.pos += nSamples * 16;
  const nMeta = r.count(4);
  for (let k = 0; k < nMeta; k++) {
    const type = metricTypeFromProto(r.varint());
    batch.metadata.push({ type, metricFamilyName: r.string(), help: r.string(), unit: r.string() });
  }
  if (flags & FLAG_HISTOGRAMS) {
    const n = r.count(1);
    readHistograms(buf, r.pos, r.pos + n, batch, histogramAt);
    r.pos += n;
  } else if (histogramAt > 0) throw malformed('histograms counted but not sent');
  // Exemplars without the flag (a router before them counted but did not send them) are not kept.
  const exemplarLists = flags & FLAG_EXEMPLARS ? readExemplars(r, exemplars ?? noCounts(nSeries), nSeries, exemplarCount) : undefined;
  if (r.pos !== buf.length) throw malformed('trailing bytes');
  batch.labelFields = new ShareFields(buf, starts, ends, refs.slice(0, nRefs));
  batch.setColumns({
    n: nSeries,
    samples,
    histograms: histogramRows ?? noOffsets(nSeries + 1),
    labels,
    hashes,
    exemplars: exemplars ?? noCounts(nSeries),
    exemplarLists,
    metadata,
  });
  return { batch, v2 };
}

/** decodeShare's working array: every series' field references, copied out at their count. */
const decodeScratch = { refs: new Uint32Array(1 << 14) };

/**
 * n float64 at buf[at]: a view when the share's bytes are 8-aligned in memory (a body read
 * whole usually is: the column starts at a multiple of 8 from the share's start), else a copy.
 * The view keeps the share's bytes alive, which the batch does anyway (raw).
 */
function f64Column(buf: Buffer, at: number, n: number): Float64Array {
  if (((buf.byteOffset + at) & 7) === 0) return new Float64Array(buf.buffer, buf.byteOffset + at, n);
  const out = new Float64Array(n);
  new Uint8Array(out.buffer).set(buf.subarray(at, at + n * 8));
  return out;
}

/**
 * Columns of zeros shared by every share that needs one: columns are only read, so one all-zero
 * array (grown as needed, never written) stands for the histogram offsets and exemplar counts of
 * the shares without histograms or exemplars.
 */
let zeroOffsets = new Int32Array(0);
let zeroCounts = new Float64Array(0);

function noOffsets(n: number): Int32Array {
  if (zeroOffsets.length < n) zeroOffsets = new Int32Array(Math.max(n, 2 * zeroOffsets.length));
  return zeroOffsets;
}

function noCounts(n: number): Float64Array {
  if (zeroCounts.length < n) zeroCounts = new Float64Array(Math.max(n, 2 * zeroCounts.length));
  return zeroCounts;
}

/** The share's histogram section: `total` Histogram messages, the series' rows in entry order. */
function readHistograms(buf: Buffer, start: number, end: number, batch: WriteBatch, total: number): void {
  const table = batch.histogramTable();
  const pb = new PbReader(buf, start, end);
  while (pb.nextField()) if (pb.field === 1 && pb.wire === WIRE_LEN) decodeHistogram(pb, table);
  if (table.n !== total) throw malformed('histogram count does not match the series');
}

/** The share's exemplar section, handed out to the series in entry order by their counts. */
function readExemplars(r: ShareReader, counts: Float64Array, nSeries: number, want: number): (ExemplarRecord[] | undefined)[] {
  // An exemplar takes at least its label count, value and timestamp.
  const n = r.count(17);
  if (n !== want) throw malformed('exemplar count does not match the series');
  const lists = new Array<ExemplarRecord[] | undefined>(nSeries);
  for (let i = 0; i < nSeries; i++) {
    if (counts[i] === 0) continue;
    const list: ExemplarRecord[] = [];
    for (let k = 0; k < counts[i]; k++) {
      const nLabels = r.count(1);
      const labels: string[] = [];
      for (let j = 0; j < nLabels; j++) labels.push(r.string());
      r.need(16);
      const value = r.f64();
      list.push({ labels, value, timestamp: r.f64() });
    }
    lists[i] = list;
  }
  return lists;
}

/** Writes v (a safe integer, ≥ 0) as an unsigned LEB128 varint at out[pos]; the caller made room. Returns the position after it. */
function putVarint(out: Uint8Array, pos: number, v: number): number {
  while (v >= 0x80) {
    out[pos++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 0x80);
  }
  out[pos++] = v;
  return pos;
}

/** readVarint's value; a module-level slot so the decode loop allocates nothing. */
let varintOut = 0;

/** Reads an unsigned LEB128 varint (at most 8 bytes) at p into varintOut; returns the position after it. */
function readVarint(buf: Buffer, p: number): number {
  const b0 = p < buf.length ? buf[p] : -1;
  if (b0 >= 0 && b0 < 0x80) {
    varintOut = b0;
    return p + 1;
  }
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 8; i++, p++) {
    if (p >= buf.length) throw malformed('truncated');
    const b = buf[p];
    v += (b & 0x7f) * mul;
    if (b < 0x80) {
      varintOut = v;
      return p + 1;
    }
    mul *= 128;
  }
  throw malformed('varint too long');
}

function malformed(why: string): StrataError {
  return new StrataError('invalid-request-body', `malformed forwarded share: ${why}`);
}

class ShareReader {
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

  /** A count of items each at least `minBytes` long, checked against what is left (no huge allocations). */
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

/** A growable little-endian byte writer (the share's varints, u32s and copied ranges). */
class ScratchWriter {
  buf: Buffer;
  pos = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  reset(): void {
    this.pos = 0;
  }

  /** Room for n more bytes (buf may be replaced). */
  room(n: number): void {
    this.ensure(n);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(v >>> 0, this.pos);
    this.pos += 4;
  }

  f64(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  varint(v: number): void {
    this.ensure(10);
    if (v < 0x80) {
      this.buf[this.pos++] = v;
      return;
    }
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }

  /** Zero padding to a multiple of 8, then the timestamps and the value bits of `indices`' samples. */
  columns(batch: WriteBatch, indices: readonly number[], samples: number): void {
    this.ensure(8 + samples * 16);
    while (this.pos & 7) this.buf[this.pos++] = 0;
    const at = this.buf.byteOffset + this.pos;
    if (at & 3) {
      // An unaligned buffer (never from allocUnsafe in practice): byte copies.
      const ts = new Uint8Array(batch.timestamps.buffer, batch.timestamps.byteOffset, batch.timestamps.length * 8);
      const vs = new Uint8Array(batch.values.buffer, batch.values.byteOffset, batch.values.length * 8);
      for (const i of indices) this.copy(ts, batch.series[i].sampleStart * 8, batch.series[i].sampleEnd * 8);
      for (const i of indices) this.copy(vs, batch.series[i].sampleStart * 8, batch.series[i].sampleEnd * 8);
      return;
    }
    // Two 32-bit words per sample: a value's bits are moved, never read as a number (which
    // could quiet a NaN payload such as a staleness marker).
    const dst = new Uint32Array(this.buf.buffer, at, samples * 4);
    let o = 0;
    for (const src of [batch.timestamps, batch.values]) {
      const words = new Uint32Array(src.buffer, src.byteOffset, src.length * 2);
      for (const i of indices) {
        const s = batch.series[i];
        for (let k = s.sampleStart * 2; k < s.sampleEnd * 2; k++) dst[o++] = words[k];
      }
    }
    this.pos += samples * 16;
  }

  copy(src: Uint8Array, start: number, end: number): void {
    this.ensure(end - start);
    this.buf.set(src.subarray(start, end), this.pos);
    this.pos += end - start;
  }

  string(s: string): void {
    const n = Buffer.byteLength(s);
    this.varint(n);
    this.ensure(n);
    this.pos += this.buf.write(s, this.pos);
  }

  /** A Label message (name = 1, value = 2), as remote-write 1.0 encodes one (empty fields omitted). */
  labelMessage(name: string, value: string): void {
    for (const [tag, s] of [
      [0x0a, name],
      [0x12, value],
    ] as const) {
      if (s === '') continue;
      this.byte(tag);
      this.string(s);
    }
  }

  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

const tableScratch: TableScratch = {
  bytes: Buffer.allocUnsafe(4096),
  starts: new Int32Array(257),
  fieldHashes: new Int32Array(256),
  slots: new Int32Array(1024),
  refs: new Uint32Array(16),
  refStart: new Int32Array(1),
  hashes: new Uint32Array(0),
  label: new ScratchWriter(256),
  records: new ScratchWriter(4096),
};
