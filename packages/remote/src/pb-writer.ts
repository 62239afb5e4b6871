/** A minimal protobuf wire-format writer into a growable Buffer, producing canonical encodings. */
const TWO32 = 4294967296;

export class PbWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initial = 256) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const b = Buffer.allocUnsafe(size);
    this.buf.copy(b, 0, 0, this.pos);
    this.buf = b;
  }

  rawVarint(v: number): void {
    this.ensure(10);
    this.pos = putVarint(this.buf, this.pos, v);
  }

  private key(field: number, wireType: number): void {
    this.rawVarint(field * 8 + wireType);
  }

  /** Unsigned varint field; proto3 omits zero. */
  uint(field: number, v: number): void {
    if (v === 0) return;
    this.key(field, 0);
    this.rawVarint(v);
  }

  int64(field: number, v: number): void {
    if (v === 0) return;
    this.key(field, 0);
    this.rawVarint(v);
  }

  /** Double field; proto3 omits +0 only (NaN payloads and -0 are written as their bits). */
  double(field: number, v: number): void {
    if (v === 0 && !Object.is(v, -0)) return;
    this.key(field, 1);
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  /** Double field from raw little-endian bytes, for bit-exact copies of NaN payloads. */
  doubleBytes(field: number, src: Uint8Array, at: number): void {
    let zero = true;
    for (let k = 0; k < 8; k++) if (src[at + k] !== 0) zero = false;
    if (zero) return;
    this.key(field, 1);
    this.ensure(8);
    for (let k = 0; k < 8; k++) this.buf[this.pos++] = src[at + k];
  }

  string(field: number, s: string): void {
    if (s === '') return;
    this.key(field, 2);
    const n = utf8Length(s);
    this.rawVarint(n);
    this.ensure(n);
    this.pos = this.put(s, n);
  }

  /**
   * Writes s (of n UTF-8 bytes) at pos; returns the new pos. A short ASCII string (most label
   * names and values) is copied by a loop here: Buffer.write is a call into C++ whose fixed cost
   * is several times that of copying a dozen characters.
   */
  private put(s: string, n: number): number {
    const buf = this.buf;
    const p = this.pos;
    if (n === s.length && n <= SHORT) {
      for (let i = 0; i < n; i++) buf[p + i] = s.charCodeAt(i);
      return p + n;
    }
    return p + buf.write(s, p);
  }

  /**
   * A message of two string fields (1 and 2), such as a Label, written with its length known up
   * front: no closure and no shifting of the body to make room for the length prefix.
   */
  stringPair(field: number, a: string, b: string): void {
    const na = a === '' ? 0 : utf8Length(a);
    const nb = b === '' ? 0 : utf8Length(b);
    const len = (na > 0 ? 1 + varintSize(na) + na : 0) + (nb > 0 ? 1 + varintSize(nb) + nb : 0);
    this.key(field, 2);
    this.rawVarint(len);
    this.ensure(len);
    if (na > 0) {
      this.buf[this.pos++] = 0x0a;
      this.pos = putVarint(this.buf, this.pos, na);
      this.pos = this.put(a, na);
    }
    if (nb > 0) {
      this.buf[this.pos++] = 0x12;
      this.pos = putVarint(this.buf, this.pos, nb);
      this.pos = this.put(b, nb);
    }
  }

  bytes(field: number, b: Uint8Array): void {
    this.key(field, 2);
    this.rawVarint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Bytes written so far. */
  get length(): number {
    return this.pos;
  }

  /** Bytes [start, end) of src copied as they are (already-encoded fields), with no view made. */
  rawRange(src: Buffer, start: number, end: number): void {
    const n = end - start;
    this.ensure(n);
    src.copy(this.buf, this.pos, start, end);
    this.pos += n;
  }

  /** Bytes copied as they are (already-encoded fields). */
  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Packed repeated uint32. */
  packedUint(field: number, vs: ArrayLike<number>): void {
    if (vs.length === 0) return;
    this.message(field, () => {
      for (let i = 0; i < vs.length; i++) this.rawVarint(vs[i]);
    });
  }

  /** A nested message: written in place, then its length prefix is inserted before it. */
  message(field: number, body: () => void): void {
    this.key(field, 2);
    const start = this.pos;
    body();
    const len = this.pos - start;
    const lenBytes = varintSize(len);
    this.ensure(lenBytes);
    this.buf.copyWithin(start + lenBytes, start, this.pos);
    let v = len;
    let p = start;
    while (v >= 0x80) {
      this.buf[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[p] = v;
    this.pos += lenBytes;
  }

  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

/** Strings up to this many characters are measured and, when ASCII, copied in JavaScript. */
const SHORT = 64;

/** UTF-8 bytes of s: counted here for a short ASCII string, else by Buffer.byteLength. */
export function utf8Length(s: string): number {
  const n = s.length;
  if (n > SHORT) return Buffer.byteLength(s);
  for (let i = 0; i < n; i++) if (s.charCodeAt(i) >= 0x80) return Buffer.byteLength(s);
  return n;
}

/** Bytes of an int64 varint (a negative one takes ten: two's complement). */
export function varintSize(v: number): number {
  if (v < 0) return 10;
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 0x80);
    n++;
  }
  return n;
}

/** Writes an int64 varint at buf[pos..] (room for varintSize(v) bytes is the caller's); returns the end. */
export function putVarint(buf: Uint8Array, pos: number, v: number): number {
  if (v < 0) {
    // int64 two's complement: 10 bytes.
    const hi = Math.floor(v / TWO32);
    const lo = v - hi * TWO32;
    let h = hi >>> 0;
    let l = lo >>> 0;
    for (let i = 0; i < 9; i++) {
      buf[pos++] = (l & 0x7f) | 0x80;
      l = ((l >>> 7) | (h << 25)) >>> 0;
      h = h >>> 7;
    }
    buf[pos++] = l & 0x01;
    return pos;
  }
  while (v >= 0x80) {
    buf[pos++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  buf[pos++] = v;
  return pos;
}
