/**
 * The log WAL's records (docs/format/logs.md#wal). A push record, one per push, every accepted stream of it:
 *   frame:   u32 LE length of body | u32 LE CRC-32C of body | body
 *   body:    u8 type (1) | uvarint streams | stream*
 *   stream:  uvarint label pairs | (string name, string value)* | uvarint entries | entry*
 *   entry:   i64 LE timestamp ns | string line | uvarint metadata pairs | (string, string)*
 *   string:  uvarint byte length | UTF-8 bytes
 * A sampled-out record, one per push sampling left lines out of (the counts for query stats):
 *   body:    u8 type (2) | uvarint streams | (uvarint label pairs | (string, string)* | uvarint minutes | minute*)*
 *   minute:  i64 LE minute (Unix ns / 60 s) | uvarint entries | uvarint bytes
 * The frame is the metrics WAL's (packages/tsdb WAL replays it), so torn tails are cut the same way.
 */
import { crc32c } from '@node-rs/crc32';
import { Labels } from '@strata/model';
import type { PushStream } from '../push/push-stream.js';
import type { SampledOutStream } from '../ingest/sampled-out.js';

export const RECORD_LOG_PUSH = 1;
export const RECORD_LOG_SAMPLED_OUT = 2;
const FRAME_HEADER = 8;

export class WalRecordError extends Error {}

/** What a record holds of a stream (a PushStream, or a stream's entries as a read returns them). */
export interface RecordStream {
  readonly labels: Labels;
  readonly timestampsNs: BigInt64Array;
  readonly lines: readonly string[];
  readonly metadata?: readonly (Labels | undefined)[] | undefined;
}

export function encodePushRecord(streams: readonly RecordStream[]): Buffer {
  let max = FRAME_HEADER + 1 + 5;
  for (const s of streams) {
    max += 10;
    for (const p of s.labels.pairs) max += 5 + 3 * p.length;
    for (let i = 0; i < s.lines.length; i++) {
      max += 8 + 5 + 3 * s.lines[i].length + 5;
      const m = s.metadata?.[i];
      if (m) for (const p of m.pairs) max += 5 + 3 * p.length;
    }
  }
  const b = Buffer.allocUnsafe(max);
  let o = FRAME_HEADER;
  b[o++] = RECORD_LOG_PUSH;
  o = uvarint(b, o, streams.length);
  for (const s of streams) {
    o = pairs(b, o, s.labels.pairs);
    o = uvarint(b, o, s.lines.length);
    for (let i = 0; i < s.lines.length; i++) {
      b.writeBigInt64LE(s.timestampsNs[i], o);
      o += 8;
      o = str(b, o, s.lines[i]);
      o = pairs(b, o, s.metadata?.[i]?.pairs ?? []);
    }
  }
  return sealed(b, o);
}

export function encodeSampledOutRecord(streams: readonly SampledOutStream[]): Buffer {
  let max = FRAME_HEADER + 1 + 5;
  for (const s of streams) {
    max += 10 + s.minutes.length * (8 + 10 + 10);
    for (const p of s.labels.pairs) max += 5 + 3 * p.length;
  }
  const b = Buffer.allocUnsafe(max);
  let o = FRAME_HEADER;
  b[o++] = RECORD_LOG_SAMPLED_OUT;
  o = uvarint(b, o, streams.length);
  for (const s of streams) {
    o = pairs(b, o, s.labels.pairs);
    o = uvarint(b, o, s.minutes.length);
    for (const [m, n, bytes] of s.minutes) {
      b.writeBigInt64LE(BigInt(m), o);
      o += 8;
      o = uvarint(b, o, n);
      o = uvarint(b, o, bytes);
    }
  }
  return sealed(b, o);
}

/** Decodes a sampled-out record's payload (after the type byte). */
export function decodeSampledOutRecord(p: Buffer): SampledOutStream[] {
  const r = reader(p);
  const out: SampledOutStream[] = [];
  const ns = r.uvarint();
  for (let k = 0; k < ns; k++) {
    const np = r.uvarint();
    const pairs: string[] = new Array(np * 2);
    for (let i = 0; i < np * 2; i++) pairs[i] = r.str();
    const n = r.uvarint();
    const minutes: [number, number, number][] = new Array(n);
    for (let i = 0; i < n; i++) {
      const m = Number(r.i64('minute'));
      minutes[i] = [m, r.uvarint(), r.uvarint()];
    }
    out.push({ labels: Labels.fromSortedPairs(pairs), minutes });
  }
  return out;
}

interface RecordReader {
  uvarint(): number;
  str(): string;
  /** Steps over a string; returns its byte length. */
  skipStr(): number;
  i64(what: string): bigint;
  readonly pos: number;
}

function reader(p: Buffer): RecordReader {
  let o = 0;
  return {
    get pos() {
      return o;
    },
    uvarint() {
      let v = 0;
      let mul = 1;
      for (let k = 0; k < 8; k++) {
        if (o >= p.length) throw new WalRecordError('truncated varint');
        const x = p[o++];
        v += (x & 0x7f) * mul;
        if (x < 0x80) return v;
        mul *= 128;
      }
      throw new WalRecordError('varint too long');
    },
    str() {
      const n = this.uvarint();
      if (o + n > p.length) throw new WalRecordError('string past the end');
      const v = p.toString('utf8', o, o + n);
      o += n;
      return v;
    },
    skipStr() {
      const n = this.uvarint();
      if (o + n > p.length) throw new WalRecordError('string past the end');
      o += n;
      return n;
    },
    i64(what: string) {
      if (o + 8 > p.length) throw new WalRecordError(`truncated ${what}`);
      const v = p.readBigInt64LE(o);
      o += 8;
      return v;
    },
  };
}

/** Decodes a record's payload (after the type byte), as the WAL's replay hands it. */
export function decodePushRecord(p: Buffer): PushStream[] {
  const r = reader(p);
  const out: PushStream[] = [];
  const ns = r.uvarint();
  for (let k = 0; k < ns; k++) {
    const np = r.uvarint();
    const pairs: string[] = new Array(np * 2);
    for (let i = 0; i < np * 2; i++) pairs[i] = r.str();
    const labels = Labels.fromSortedPairs(pairs);
    const n = r.uvarint();
    const ts = new BigInt64Array(n);
    const lines: string[] = new Array(n);
    let metadata: (Labels | undefined)[] | undefined;
    for (let i = 0; i < n; i++) {
      ts[i] = r.i64('timestamp');
      lines[i] = r.str();
      const nm = r.uvarint();
      if (nm > 0) {
        const mp: string[] = new Array(nm * 2);
        for (let j = 0; j < nm * 2; j++) mp[j] = r.str();
        metadata ??= new Array(n).fill(undefined);
        metadata[i] = Labels.fromSortedPairs(mp);
      }
    }
    out.push({ labels, labelsText: labels.toString(), timestampsNs: ts, lines, metadata });
  }
  return out;
}

/** Where a push record's payload starts in the buffer encodePushRecord returns (after the frame header and the type byte). */
export const PUSH_RECORD_PAYLOAD = FRAME_HEADER + 1;

/** Told of a push record's contents in order: each stream, then each of its entries. */
export interface PushRecordVisitor {
  /** Stream `index` of the record; its label pairs only when the walk decodes them. */
  stream(index: number, pairs: string[] | undefined): void;
  /**
   * An entry of the last stream: its body (the line, then its metadata, as a raw log block
   * keeps an entry after its timestamp delta) is p[from, to); the line is lineBytes long.
   */
  entry(ts: bigint, from: number, to: number, lineBytes: number): void;
}

/**
 * Walks a push record's payload (after the type byte) making no string of any line, so the head
 * can copy entry bodies as bytes. Label pairs are decoded when `decodePairs` (replay), skipped
 * otherwise (the pusher has the streams' labels). Throws WalRecordError on a malformed record.
 */
export function walkPushRecord(p: Buffer, decodePairs: boolean, visit: PushRecordVisitor): void {
  const r = reader(p);
  const ns = r.uvarint();
  for (let k = 0; k < ns; k++) {
    const np = r.uvarint();
    let pairs: string[] | undefined;
    if (decodePairs) {
      pairs = new Array(np * 2);
      for (let i = 0; i < np * 2; i++) pairs[i] = r.str();
    } else for (let i = 0; i < np * 2; i++) r.skipStr();
    visit.stream(k, pairs);
    const n = r.uvarint();
    for (let i = 0; i < n; i++) {
      const ts = r.i64('timestamp');
      const from = r.pos;
      const lineBytes = r.skipStr();
      const nm = r.uvarint();
      for (let j = 0; j < nm * 2; j++) r.skipStr();
      visit.entry(ts, from, r.pos, lineBytes);
    }
  }
  if (r.pos !== p.length) throw new WalRecordError(`${p.length - r.pos} bytes left after the record's streams`);
}

/** A label set as its pair count and its names and values. */
function pairs(b: Buffer, o: number, p: readonly string[]): number {
  o = uvarint(b, o, p.length >> 1);
  for (const x of p) o = str(b, o, x);
  return o;
}

/** The frame ending at `o`: its payload length and checksum written into the header. */
function sealed(b: Buffer, o: number): Buffer {
  b.writeUInt32LE(o - FRAME_HEADER, 0);
  b.writeUInt32LE(crc32c(b.subarray(FRAME_HEADER, o)), 4);
  return b.subarray(0, o);
}

function uvarint(b: Buffer, o: number, v: number): number {
  while (v >= 0x80) {
    b[o++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  b[o++] = v;
  return o;
}

function str(b: Buffer, o: number, s: string): number {
  const n = Buffer.byteLength(s);
  o = uvarint(b, o, n);
  b.write(s, o);
  return o + n;
}
