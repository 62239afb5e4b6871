/**
 * The bit-level pieces of Prometheus' histogram chunks (docs/format/chunk.md): `varbit` integers
 * (a unary prefix of 1 to 8 bits naming one of nine widths, then the value in that width, two's
 * complement for signed ones), the XOR of a float against the previous value of the same field
 * (each field of a float histogram keeps its own leading/trailing-zero window), the zero
 * threshold byte and custom bucket bounds. Values beyond 2^53 lose precision as JS numbers do.
 */
import { BitReader, BitWriter, ChunkCorruptError } from './bits.js';

const TWO32 = 4294967296;

/** Value widths by prefix length: prefix 10 → 3 bits, 110 → 6, ... 11111110 → 56, 11111111 → 64. */
const WIDTHS = [3, 6, 9, 12, 18, 25, 56, 64];

/** Writes the low n bits of an integer (two's complement for negatives), n ≤ 64. */
function writeInt(w: BitWriter, v: number, n: number): void {
  if (n <= 32) {
    w.writeBits(v < 0 ? v + 2 ** n : v, n);
    return;
  }
  const hi = Math.floor(v / TWO32);
  const lo = v - hi * TWO32;
  w.writeBits64(hi >>> 0, lo >>> 0, n);
}

export function putVarbitInt(w: BitWriter, v: number): void {
  if (v === 0) {
    w.writeBit(0);
    return;
  }
  for (let k = 0; k < 7; k++) {
    const n = WIDTHS[k];
    const half = 2 ** (n - 1);
    if (v >= -(half - 1) && v <= half) {
      // k+1 one bits then a zero: the prefix; then the value.
      w.writeBits(((1 << (k + 2)) - 2) >>> 0, k + 2);
      writeInt(w, v, n);
      return;
    }
  }
  w.writeBits(0xff, 8);
  writeInt(w, v, 64);
}

export function putVarbitUint(w: BitWriter, v: number): void {
  if (v === 0) {
    w.writeBit(0);
    return;
  }
  for (let k = 0; k < 7; k++) {
    const n = WIDTHS[k];
    if (v < 2 ** n) {
      w.writeBits(((1 << (k + 2)) - 2) >>> 0, k + 2);
      writeInt(w, v, n);
      return;
    }
  }
  w.writeBits(0xff, 8);
  writeInt(w, v, 64);
}

/** The width a varbit prefix names, or 0 for the value 0. */
function readWidth(r: BitReader): number {
  let ones = 0;
  while (ones < 8 && r.readBit() === 1) ones++;
  return ones === 0 ? 0 : WIDTHS[ones - 1];
}

function readUnsigned(r: BitReader, n: number): number {
  if (n <= 32) return r.readBits(n);
  const hi = r.readBits(n - 32);
  return hi * TWO32 + r.readBits(32);
}

export function readVarbitInt(r: BitReader): number {
  const n = readWidth(r);
  if (n === 0) return 0;
  if (n === 64) {
    const hi = r.readBits(32) | 0;
    return hi * TWO32 + r.readBits(32);
  }
  // Values above half the range are negative (the encoder's range is -(half-1)..half).
  if (n <= 32) {
    const u = r.readBits(n);
    return u > 2 ** (n - 1) ? u - 2 ** n : u;
  }
  // Wider: sign-extend the high part, so the result is exact wherever a number can be.
  let hi = r.readBits(n - 32);
  const lo = r.readBits(32);
  const half = 2 ** (n - 33);
  if (hi > half || (hi === half && lo > 0)) hi -= 2 * half;
  return hi * TWO32 + lo;
}

export function readVarbitUint(r: BitReader): number {
  const n = readWidth(r);
  return n === 0 ? 0 : readUnsigned(r, n);
}

// Float bits through a scratch view.
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

export function writeFloat(w: BitWriter, v: number): void {
  f64[0] = v;
  w.writeBits(u32[1], 32);
  w.writeBits(u32[0], 32);
}

export function readFloat(r: BitReader): number {
  u32[1] = r.readBits(32);
  u32[0] = r.readBits(32);
  return f64[0];
}

/** One XOR-encoded field: its last value's bits and its leading/trailing window (0xff = none yet). */
export class XorField {
  hi = 0;
  lo = 0;
  leading = 0xff;
  trailing = 0;

  set(v: number): void {
    f64[0] = v;
    this.hi = u32[1];
    this.lo = u32[0];
  }

  get value(): number {
    u32[1] = this.hi;
    u32[0] = this.lo;
    return f64[0];
  }

  /** Writes v against the field's last value and makes v the last value. */
  write(w: BitWriter, v: number): void {
    f64[0] = v;
    const hi = u32[1];
    const lo = u32[0];
    const dhi = (hi ^ this.hi) >>> 0;
    const dlo = (lo ^ this.lo) >>> 0;
    this.hi = hi;
    this.lo = lo;
    if (dhi === 0 && dlo === 0) {
      w.writeBit(0);
      return;
    }
    w.writeBit(1);
    let leading = dhi !== 0 ? Math.clz32(dhi) : 32 + Math.clz32(dlo);
    const trailing = dlo !== 0 ? ctz32(dlo) : 32 + ctz32(dhi);
    if (leading >= 32) leading = 31; // stored in 5 bits
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
    w.writeBits(sig & 63, 6); // 64 is written as 0
    writeShifted(w, dhi, dlo, trailing, sig);
  }

  /** Reads the next value of the field. */
  read(r: BitReader): number {
    if (r.readBit() === 0) return this.value;
    if (r.readBit() === 1) {
      this.leading = r.readBits(5);
      let sig = r.readBits(6);
      if (sig === 0) sig = 64;
      this.trailing = 64 - this.leading - sig;
      if (this.trailing < 0) throw new ChunkCorruptError('histogram chunk: bad XOR window');
    }
    if (this.leading === 0xff) throw new ChunkCorruptError('histogram chunk: XOR value without a window');
    const sig = 64 - this.leading - this.trailing;
    let hi = sig > 32 ? r.readBits(sig - 32) : 0;
    let lo = r.readBits(Math.min(sig, 32));
    // Shift (hi, lo) left by trailing.
    const t = this.trailing;
    if (t >= 32) {
      hi = lo * 2 ** (t - 32);
      lo = 0;
    } else if (t > 0) {
      hi = ((hi << t) | (lo >>> (32 - t))) >>> 0;
      lo = (lo << t) >>> 0;
    }
    this.hi = (this.hi ^ hi) >>> 0;
    this.lo = (this.lo ^ lo) >>> 0;
    return this.value;
  }
}

function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** Writes n bits of ((hi, lo) >> shift). */
function writeShifted(w: BitWriter, hi: number, lo: number, shift: number, n: number): void {
  let rhi = hi;
  let rlo = lo;
  if (shift >= 32) {
    rhi = 0;
    rlo = hi >>> (shift - 32);
  } else if (shift > 0) {
    rlo = ((lo >>> shift) | (hi << (32 - shift))) >>> 0;
    rhi = hi >>> shift;
  }
  w.writeBits64(rhi, rlo, n);
}

/**
 * The zero threshold: 0 as one zero byte; a power of two 2^-243..2^10 as one byte (its binary
 * exponent + 243, the exponent taken as for a fraction in [0.5, 1)); anything else as 255
 * followed by the float64.
 */
export function putZeroThreshold(w: BitWriter, threshold: number): void {
  if (threshold === 0) {
    w.writeByte(0);
    return;
  }
  const exp = frexpExponent(threshold);
  if (exp !== undefined && exp >= -242 && exp <= 11) {
    w.writeByte(exp + 243);
    return;
  }
  w.writeByte(255);
  writeFloat(w, threshold);
}

export function readZeroThreshold(r: BitReader): number {
  const b = r.readByte();
  if (b === 0) return 0;
  if (b === 255) return readFloat(r);
  return 0.5 * 2 ** (b - 243);
}

/** e such that x = 0.5 · 2^e exactly (x a positive power of two), else undefined. */
function frexpExponent(x: number): number | undefined {
  if (!(x > 0) || !Number.isFinite(x)) return undefined;
  const e = Math.round(Math.log2(x));
  if (2 ** e !== x) return undefined;
  return e + 1;
}

/**
 * A custom bucket bound: x·1000 + 1 as varbit uint when x·1000 is a whole number in
 * [0, 33554430] (the value then starts with a 1 bit), otherwise a 0 bit and the float64.
 */
export function putCustomBound(w: BitWriter, x: number): void {
  const tf = x * 1000;
  if (tf < 0 || tf > 33554430 || !wholeWhenMultiplied(x)) {
    w.writeBit(0);
    writeFloat(w, x);
    return;
  }
  putVarbitUint(w, Math.round(tf) + 1);
}

export function readCustomBound(r: BitReader): number {
  const v = readVarbitUint(r);
  if (v === 0) return readFloat(r);
  return (v - 1) / 1000;
}

/** Whether x has at most three decimal places as a float, the way Prometheus tests it. */
function wholeWhenMultiplied(x: number): boolean {
  const i = Math.round(x * 1000);
  return x === i / 1000;
}
