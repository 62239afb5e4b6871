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

/** Encodes the entries in order; an undefined entry is written as absent (length 0). */
export function encodeAggrChunk(parts: readonly (AggrPart | undefined)[]): Buffer {
  const out = new EncBuf(256);
  for (const p of parts) {
    if (!p || p.data.length === 0) {
      out.uvarint(0);
      continue;
    }
    out.uvarint(p.data.length);
    out.byte(p.encoding);
    out.bytes(p.data);
  }
  return Buffer.from(out.get());
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
