/**
 * Prometheus' XOR ("Gorilla") float chunk, bit-exact with Prometheus' encoding so head chunks can
 * be written into blocks unchanged. Byte format: docs/format/chunk.md. Values are carried as raw
 * bits end to end so NaN payloads (the staleness marker) survive.
 */
import { BitReader, BitWriter, ChunkCorruptError } from './bits.js';
import { decodeXORBits } from './xor-decode.js';

export { ChunkCorruptError, decodeXORBits };

export const ENCODING_XOR = 1;
/** Prometheus cuts head chunks at 120 samples. */
export const MAX_SAMPLES_PER_XOR_CHUNK = 65535;

const TWO32 = 4294967296;

// Scratch views to move between a double and its bits; module-level but stateless between calls.
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

export function floatBits(v: number): [hi: number, lo: number] {
  f64[0] = v;
  return [u32[1], u32[0]];
}

export function bitsToFloat(hi: number, lo: number): number {
  u32[0] = lo;
  u32[1] = hi;
  return f64[0];
}

function clz64(hi: number, lo: number): number {
  return hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(lo);
}

function ctz32(x: number): number {
  return x === 0 ? 32 : 31 - Math.clz32(x & -x);
}

function ctz64(hi: number, lo: number): number {
  return lo !== 0 ? ctz32(lo) : 32 + ctz32(hi);
}

function bitRange(x: number, nbits: number): boolean {
  const half = 2 ** (nbits - 1);
  return -(half - 1) <= x && x <= half;
}

function writeUvarint(w: BitWriter, v: number): void {
  while (v >= 0x80) {
    w.writeByte((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  w.writeByte(v);
}

function writeVarint(w: BitWriter, v: number): void {
  writeUvarint(w, v >= 0 ? v * 2 : -v * 2 - 1);
}

export class XOREncoder {
  private readonly w: BitWriter;
  private n = 0;
  private t = 0;
  private tDelta = 0;
  private vhi = 0;
  private vlo = 0;
  private leading = 0xff;
  private trailing = 0;

  constructor(initialBytes = 128) {
    this.w = new BitWriter(initialBytes);
    this.w.writeBits(0, 16); // sample count, patched in bytes()
  }

  get numSamples(): number {
    return this.n;
  }

  get lastTimestamp(): number {
    return this.t;
  }

  /** Bytes of the encoded stream so far (approximate memory use). */
  get size(): number {
    return (this.w.nbits + 7) >>> 3;
  }

  append(t: number, v: number): void {
    f64[0] = v;
    this.appendBits(t, u32[1], u32[0]);
  }

  /** Appends a sample given as the raw bits of its value. Timestamps must not decrease. */
  appendBits(t: number, hi: number, lo: number): void {
    const w = this.w;
    if (this.n === 0) {
      writeVarint(w, t);
      w.writeBits(hi, 32);
      w.writeBits(lo, 32);
    } else if (this.n === 1) {
      const tDelta = t - this.t;
      writeUvarint(w, tDelta);
      this.writeValue(hi, lo);
      this.tDelta = tDelta;
    } else {
      const tDelta = t - this.t;
      const dod = tDelta - this.tDelta;
      if (dod === 0) w.writeBit(0);
      else if (bitRange(dod, 14)) {
        w.writeBits(0b10, 2);
        w.writeBits(dod, 14);
      } else if (bitRange(dod, 17)) {
        w.writeBits(0b110, 3);
        w.writeBits(dod, 17);
      } else if (bitRange(dod, 20)) {
        w.writeBits(0b1110, 4);
        w.writeBits(dod, 20);
      } else {
        w.writeBits(0b1111, 4);
        const dhi = Math.floor(dod / TWO32);
        w.writeBits(dhi >>> 0, 32);
        w.writeBits(dod - dhi * TWO32, 32);
      }
      this.writeValue(hi, lo);
      this.tDelta = tDelta;
    }
    this.t = t;
    this.vhi = hi;
    this.vlo = lo;
    this.n++;
  }

  private writeValue(hi: number, lo: number): void {
    const w = this.w;
    const dhi = (hi ^ this.vhi) >>> 0;
    const dlo = (lo ^ this.vlo) >>> 0;
    if (dhi === 0 && dlo === 0) {
      w.writeBit(0);
      return;
    }
    w.writeBit(1);
    let leading = clz64(dhi, dlo);
    const trailing = ctz64(dhi, dlo);
    // Leading zeros are stored in 5 bits.
    if (leading >= 32) leading = 31;
    if (this.leading !== 0xff && leading >= this.leading && trailing >= this.trailing) {
      w.writeBit(0);
      writeShifted(w, dhi, dlo, this.trailing, 64 - this.leading - this.trailing);
      return;
    }
    this.leading = leading;
    this.trailing = trailing;
    w.writeBit(1);
    w.writeBits(leading, 5);
    const sig = 64 - leading - trailing;
    // 64 significant bits do not fit in 6 bits and are written as 0; readers map 0 back to 64.
    w.writeBits(sig & 63, 6);
    writeShifted(w, dhi, dlo, trailing, sig);
  }

  /** The chunk's bytes (a view; copy before appending more if it must be kept). */
  bytes(): Uint8Array {
    const b = this.w.bytes();
    b[0] = this.n >>> 8;
    b[1] = this.n & 0xff;
    return b;
  }
}

/** Writes `n` bits of ((hi,lo) >> shift). */
function writeShifted(w: BitWriter, hi: number, lo: number, shift: number, n: number): void {
  let rhi: number;
  let rlo: number;
  if (shift === 0) {
    rhi = hi;
    rlo = lo;
  } else if (shift >= 32) {
    rhi = 0;
    rlo = hi >>> (shift - 32);
  } else {
    rlo = ((lo >>> shift) | (hi << (32 - shift))) >>> 0;
    rhi = hi >>> shift;
  }
  w.writeBits64(rhi, rlo, n);
}

/** Number of samples in an XOR chunk, from its header. */
export function xorNumSamples(chunk: Uint8Array): number {
  return (chunk[0] << 8) | chunk[1];
}

/**
 * Iterates an XOR chunk without allocating per sample: call next() until it returns false and
 * read `t`, `hi`, `lo` (raw value bits) or value() after each step.
 */
export class XORIterator {
  private readonly r: BitReader;
  private readonly total: number;
  private i = 0;
  t = 0;
  private tDelta = 0;
  hi = 0;
  lo = 0;
  private leading = 0;
  private trailing = 0;

  constructor(chunk: Uint8Array) {
    if (chunk.length < 2) throw new ChunkCorruptError('XOR chunk: shorter than its header');
    this.total = xorNumSamples(chunk);
    this.r = new BitReader(chunk, 2);
  }

  get numSamples(): number {
    return this.total;
  }

  value(): number {
    return bitsToFloat(this.hi, this.lo);
  }

  next(): boolean {
    if (this.i >= this.total) return false;
    const r = this.r;
    if (this.i === 0) {
      this.t = readVarint(r);
      this.hi = r.readBits(32);
      this.lo = r.readBits(32);
    } else if (this.i === 1) {
      this.tDelta = readUvarint(r);
      this.t += this.tDelta;
      this.readValue();
    } else {
      let dod: number;
      // Each readBit() consumes a bit of the prefix 0, 10, 110, 1110, 1111: the conditions only look alike.
      /* eslint-disable no-dupe-else-if */
      if (r.readBit() === 0) dod = 0;
      else if (r.readBit() === 0) dod = signed(r.readBits(14), 14);
      else if (r.readBit() === 0) dod = signed(r.readBits(17), 17);
      else if (r.readBit() === 0) dod = signed(r.readBits(20), 20);
      else {
        const h = r.readBits(32) | 0;
        dod = h * TWO32 + r.readBits(32);
      }
      /* eslint-enable no-dupe-else-if */
      this.tDelta += dod;
      this.t += this.tDelta;
      this.readValue();
    }
    this.i++;
    return true;
  }

  private readValue(): void {
    const r = this.r;
    if (r.readBit() === 0) return;
    if (r.readBit() === 1) {
      this.leading = r.readBits(5);
      let sig = r.readBits(6);
      if (sig === 0) sig = 64;
      this.trailing = 64 - this.leading - sig;
    }
    const sig = 64 - this.leading - this.trailing;
    let bhi = 0;
    let blo: number;
    if (sig > 32) {
      bhi = r.readBits(sig - 32);
      blo = r.readBits(32);
    } else blo = r.readBits(sig);
    // (bhi, blo) << trailing
    const s = this.trailing;
    let xhi: number;
    let xlo: number;
    if (s === 0) {
      xhi = bhi;
      xlo = blo;
    } else if (s >= 32) {
      xhi = blo << (s - 32);
      xlo = 0;
    } else {
      xhi = (bhi << s) | (blo >>> (32 - s));
      xlo = blo << s;
    }
    this.hi = (this.hi ^ xhi) >>> 0;
    this.lo = (this.lo ^ xlo) >>> 0;
  }
}

function signed(bits: number, n: number): number {
  const half = 2 ** (n - 1);
  return bits > half ? bits - 2 * half : bits;
}

function readUvarint(r: BitReader): number {
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    const b = r.readByte();
    v += (b & 0x7f) * mul;
    if (b < 0x80) return v;
    mul *= 0x80;
  }
  throw new ChunkCorruptError('XOR chunk: varint overflow');
}

function readVarint(r: BitReader): number {
  const u = readUvarint(r);
  return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
}

/**
 * Decodes the samples with from <= t <= to into the arrays at `offset`, returning the new offset.
 * Values are copied as raw bits (never through a JS number) so NaN payloads stay bit-exact.
 */
export function decodeXORInto(
  chunk: Uint8Array,
  ts: Float64Array,
  vs: Float64Array,
  offset: number,
  from = -Infinity,
  to = Infinity,
): number {
  return decodeXORBits(chunk, ts, new Uint32Array(vs.buffer, vs.byteOffset, vs.length * 2), offset, from, to);
}
