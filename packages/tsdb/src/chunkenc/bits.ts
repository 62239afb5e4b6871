/**
 * Bit-level writer and reader for the XOR chunk stream. Values up to 32 bits go through plain
 * numbers; 64-bit quantities are handled as (hi, lo) 32-bit halves, so no BigInt on the hot path.
 */
/**
 * Small zeroed byte arrays from Node's shared buffer pool: a head holds one open chunk per
 * series, and a separate ArrayBuffer for each would cost more than the chunk itself.
 */
export function zeroed(n: number): Uint8Array {
  return Buffer.allocUnsafe(n).fill(0);
}

/** A copy of bytes in pooled memory (see zeroed). */
export function pooledCopy(b: Uint8Array): Uint8Array {
  const out = Buffer.allocUnsafe(b.length);
  out.set(b);
  return out;
}

export class BitWriter {
  buf: Uint8Array;
  /** Bits written so far. */
  nbits = 0;

  constructor(initialBytes = 64, prefix?: Uint8Array) {
    this.buf = zeroed(Math.max(initialBytes, prefix?.length ?? 0));
    if (prefix) {
      this.buf.set(prefix);
      this.nbits = prefix.length * 8;
    }
  }

  private ensure(extraBits: number): void {
    const need = (this.nbits + extraBits + 7) >>> 3;
    if (need <= this.buf.length) return;
    let n = this.buf.length * 2;
    while (n < need) n *= 2;
    const b = zeroed(n);
    b.set(this.buf);
    this.buf = b;
  }

  writeBit(bit: number): void {
    this.ensure(1);
    if (bit) this.buf[this.nbits >>> 3] |= 0x80 >>> (this.nbits & 7);
    this.nbits++;
  }

  /** Writes the low `n` (0..32) bits of `v`, most significant first. */
  writeBits(v: number, n: number): void {
    if (n === 0) return;
    this.ensure(n);
    v = n === 32 ? v >>> 0 : (v & ((1 << n) - 1)) >>> 0;
    let left = n;
    while (left > 0) {
      const pos = this.nbits >>> 3;
      const free = 8 - (this.nbits & 7);
      const take = left < free ? left : free;
      const chunk = (v >>> (left - take)) & ((1 << take) - 1);
      this.buf[pos] |= chunk << (free - take);
      this.nbits += take;
      left -= take;
    }
  }

  /** Writes the low `n` (0..64) bits of the 64-bit value (hi, lo). */
  writeBits64(hi: number, lo: number, n: number): void {
    if (n > 32) {
      this.writeBits(hi, n - 32);
      this.writeBits(lo, 32);
    } else this.writeBits(lo, n);
  }

  writeByte(b: number): void {
    this.writeBits(b, 8);
  }

  bytes(): Uint8Array {
    return this.buf.subarray(0, (this.nbits + 7) >>> 3);
  }
}

/** A chunk's bytes do not decode: truncated or corrupt. The one error class chunk decoding throws. */
export class ChunkCorruptError extends Error {
  override name = 'ChunkCorruptError';
}

export class BitReader {
  private pos = 0; // bit position
  private readonly limit: number;

  constructor(
    private readonly buf: Uint8Array,
    startByte = 0,
    endByte = buf.length,
  ) {
    this.pos = startByte * 8;
    this.limit = endByte * 8;
  }

  get bitsLeft(): number {
    return this.limit - this.pos;
  }

  readBit(): number {
    if (this.pos >= this.limit) throw new ChunkCorruptError('XOR chunk: unexpected end of bit stream');
    const b = (this.buf[this.pos >>> 3] >>> (7 - (this.pos & 7))) & 1;
    this.pos++;
    return b;
  }

  /** Reads `n` (0..32) bits as an unsigned number. */
  readBits(n: number): number {
    if (n === 0) return 0;
    if (this.pos + n > this.limit) throw new ChunkCorruptError('XOR chunk: unexpected end of bit stream');
    let v = 0;
    let left = n;
    while (left > 0) {
      const avail = 8 - (this.pos & 7);
      const take = left < avail ? left : avail;
      const byte = this.buf[this.pos >>> 3];
      const chunk = (byte >>> (avail - take)) & ((1 << take) - 1);
      v = v * (1 << take) + chunk; // multiplication keeps 32-bit results unsigned
      this.pos += take;
      left -= take;
    }
    return v;
  }

  readByte(): number {
    return this.readBits(8);
  }
}
