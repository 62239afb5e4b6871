/**
 * The bulk XOR decoder of the read path: a whole chunk straight into typed arrays, with the bit
 * position in a local and each field taken from a 32-bit window of the stream (a byte-by-byte
 * reader costs a loop per field). The chunk is first loaded into a scratch array of big-endian
 * 32-bit words padded with zeros, so a window is two loads and windows past the end read zeros
 * instead of going out of bounds; running past the real end is detected once per sample.
 * XORIterator (xor.ts) stays the reference and the general cursor. Byte format: docs/format/chunk.md.
 */
import { ChunkCorruptError } from './bits.js';

const TWO32 = 4294967296;
/** Zero words after the chunk: a 64-bit field read at the last bit stays inside the array. */
const PAD_WORDS = 3;

let words = new Int32Array(1024);

/** Loads the chunk into `words` as big-endian 32-bit words. */
function load(chunk: Uint8Array): Int32Array {
  const len = chunk.length;
  const n = (len + 3) >>> 2;
  if (words.length < n + PAD_WORDS) words = new Int32Array(Math.max(n + PAD_WORDS, words.length * 2));
  const w = words;
  const full = len >>> 2;
  let j = 0;
  for (let k = 0; k < full; k++, j += 4) w[k] = (chunk[j] << 24) | (chunk[j + 1] << 16) | (chunk[j + 2] << 8) | chunk[j + 3];
  if (full < n) {
    let last = 0;
    for (let k = 0; k < 4; k++) last = (last << 8) | (j + k < len ? chunk[j + k] : 0);
    w[full] = last;
  }
  for (let k = n; k < n + PAD_WORDS; k++) w[k] = 0;
  return w;
}

/** 32 bits starting at bit `pos` of the loaded words. */
function peek32(w: Int32Array, pos: number): number {
  const i = pos >>> 5;
  const o = pos & 31;
  // Shifts count mod 32 in JS, so the next word goes in by two shifts (1, then 31 - o): branch-free,
  // and nothing of it when o = 0.
  return ((w[i] << o) | ((w[i + 1] >>> 1) >>> (31 - o))) >>> 0;
}

function truncated(): never {
  throw new ChunkCorruptError('XOR chunk: unexpected end of bit stream');
}

/**
 * Decodes the samples with from <= t <= to into `ts` and the raw bits of their values into
 * `vbits` (two 32-bit words per sample, little-endian halves of the float64) from index
 * `offset`; returns the index after the last one written. Values never pass through a JS number,
 * so NaN payloads (the staleness marker) stay bit-exact.
 */
export function decodeXORBits(chunk: Uint8Array, ts: Float64Array, vbits: Uint32Array, offset: number, from: number, to: number): number {
  const len = chunk.length;
  if (len < 2) throw new ChunkCorruptError('XOR chunk: shorter than its header');
  const total = (chunk[0] << 8) | chunk[1];
  const b = load(chunk);
  const limit = len * 8;
  let pos = 16;
  let o = offset;
  let t = 0;
  let tDelta = 0;
  let hi = 0;
  let lo = 0;
  let leading = 0;
  let trailing = 0;
  for (let i = 0; i < total; i++) {
    if (i === 0) {
      // t0: signed varint; v0: 64 raw bits.
      let u = 0;
      let mul = 1;
      for (let k = 0; ; k++) {
        if (k === 10) throw new ChunkCorruptError('XOR chunk: varint overflow');
        const byte = peek32(b, pos) >>> 24;
        pos += 8;
        u += (byte & 0x7f) * mul;
        if (byte < 0x80) break;
        mul *= 0x80;
      }
      t = u % 2 === 0 ? u / 2 : -(u + 1) / 2;
      hi = peek32(b, pos);
      lo = peek32(b, pos + 32);
      pos += 64;
    } else {
      if (i === 1) {
        let u = 0;
        let mul = 1;
        for (let k = 0; ; k++) {
          if (k === 10) throw new ChunkCorruptError('XOR chunk: varint overflow');
          const byte = peek32(b, pos) >>> 24;
          pos += 8;
          u += (byte & 0x7f) * mul;
          if (byte < 0x80) break;
          mul *= 0x80;
        }
        tDelta = u;
      } else {
        const w = peek32(b, pos);
        let dod = 0;
        if (w >>> 31 === 0) pos += 1;
        else if (w >>> 30 === 0b10) {
          dod = (w >>> 16) & 0x3fff;
          if (dod > 0x2000) dod -= 0x4000;
          pos += 16;
        } else if (w >>> 29 === 0b110) {
          dod = (w >>> 12) & 0x1ffff;
          if (dod > 0x10000) dod -= 0x20000;
          pos += 20;
        } else if (w >>> 28 === 0b1110) {
          dod = (w >>> 8) & 0xfffff;
          if (dod > 0x80000) dod -= 0x100000;
          pos += 24;
        } else {
          pos += 4;
          dod = (peek32(b, pos) | 0) * TWO32 + peek32(b, pos + 32);
          pos += 64;
        }
        tDelta += dod;
      }
      t += tDelta;
      // Value: 0 = same; 10 = XOR in the previous window; 11 = new window (5 bits leading, 6 bits length).
      const w = peek32(b, pos);
      if (w >>> 31 !== 0) {
        if (w >>> 30 === 0b11) {
          leading = (w >>> 25) & 31;
          let sig = (w >>> 19) & 63;
          if (sig === 0) sig = 64;
          trailing = 64 - leading - sig;
          pos += 13;
        } else pos += 2;
        const sig = 64 - leading - trailing;
        let bhi = 0;
        let blo: number;
        if (sig > 32) {
          bhi = peek32(b, pos) >>> (64 - sig);
          blo = peek32(b, pos + sig - 32);
        } else blo = peek32(b, pos) >>> (32 - sig);
        pos += sig;
        const s = trailing;
        if (s === 0) {
          hi ^= bhi;
          lo ^= blo;
        } else if (s >= 32) hi ^= blo << (s - 32);
        else {
          hi ^= (bhi << s) | (blo >>> (32 - s));
          lo ^= blo << s;
        }
        hi >>>= 0;
        lo >>>= 0;
      } else pos += 1;
    }
    if (pos > limit) truncated();
    if (t < from) continue;
    if (t > to) break;
    ts[o] = t;
    vbits[2 * o] = lo;
    vbits[2 * o + 1] = hi;
    o++;
  }
  return o;
}
