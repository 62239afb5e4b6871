/**
 * Thanos' aggregate chunk (chunk encoding 0xff in a block's chunk files): five entries in the
 * order count, sum, min, max, counter, each `uvarint len` then, when len > 0, one encoding byte
 * and `len` bytes of a chunk of that encoding (XOR); len 0 means the aggregate is absent.
 *
 * Strata appends a sixth entry of the same shape, the per-window quantile sketches (encoding
 * SKETCHES_ENCODING). Thanos reads an aggregate by walking entries up to the one it wants, so it
 * never looks past the fifth: its readers are unaffected. Byte format: docs/format/downsampling.md.
 */
import { EncBuf, DecBuf, IndexCorruptError } from '../block/encbuf.js';

export const CHUNK_ENCODING_AGGR = 0xff;
export const AGGR_COUNT = 0;
export const AGGR_SUM = 1;
export const AGGR_MIN = 2;
export const AGGR_MAX = 3;
export const AGGR_COUNTER = 4;
/** Strata's extension: the sketches entry, after Thanos' five. */
export const AGGR_SKETCHES = 5;
export const AGGR_NAMES = ['count', 'sum', 'min', 'max', 'counter', 'sketches'] as const;
/** Encoding byte of the sketches entry: a list of DDSketches, one per window of the count chunk. */
export const SKETCHES_ENCODING = 0x80;

export interface AggrPart {
  encoding: number;
  data: Uint8Array;
}

/**
 * Encodes the entries in order; an undefined entry is written as absent (length 0). Sized exactly
 * up front: a rollup query assembles one chunk per series and block from its fetched entries, and
 * a growing buffer made several allocations and copies of each.
 */
export function encodeAggrChunk(parts: readonly (AggrPart | undefined)[]): Buffer {
  let n = 0;
  for (const p of parts) n += !p || p.data.length === 0 ? 1 : uvarintSize(p.data.length) + 1 + p.data.length;
  const out = Buffer.allocUnsafe(n);
  let at = 0;
  for (const p of parts) {
    if (!p || p.data.length === 0) {
      out[at++] = 0;
      continue;
    }
    let v = p.data.length;
    while (v >= 0x80) {
      out[at++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    out[at++] = v;
    out[at++] = p.encoding;
    out.set(p.data, at);
    at += p.data.length;
  }
  return out;
}

function uvarintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v >>>= 7;
    n++;
  }
  return n;
}

/** All entries of an aggregate chunk (five from Thanos, six from Strata); absent ones undefined. */
export function decodeAggrChunk(chunk: Uint8Array): (AggrPart | undefined)[] {
  const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
  const d = new DecBuf(buf);
  const out: (AggrPart | undefined)[] = [];
  while (d.pos < buf.length && out.length < AGGR_NAMES.length) {
    const len = d.uvarint();
    if (len === 0) {
      out.push(undefined);
      continue;
    }
    if (d.pos + 1 + len > buf.length) throw new IndexCorruptError('aggregate chunk', `${AGGR_NAMES[out.length]} entry runs past the end`);
    const encoding = buf[d.pos];
    out.push({ encoding, data: buf.subarray(d.pos + 1, d.pos + 1 + len) });
    d.pos += 1 + len;
  }
  while (out.length < AGGR_COUNTER + 1) out.push(undefined);
  return out;
}

/** The sketches entry's bytes: uvarint number of windows, then per window uvarint length and the sketch. */
export function encodeSketchList(sketches: readonly Uint8Array[]): Buffer {
  const out = new EncBuf(64 * sketches.length + 8);
  out.uvarint(sketches.length);
  for (const s of sketches) {
    out.uvarint(s.length);
    out.bytes(s);
  }
  return Buffer.from(out.get());
}

export function decodeSketchList(data: Uint8Array): Uint8Array[] {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.length);
  const d = new DecBuf(buf);
  const n = d.uvarint();
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const len = d.uvarint();
    if (d.pos + len > buf.length) throw new IndexCorruptError('aggregate chunk', 'sketch list runs past the end');
    out.push(buf.subarray(d.pos, d.pos + len));
    d.pos += len;
  }
  return out;
}
