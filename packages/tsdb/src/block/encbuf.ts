/** Growable big-endian byte buffer with Prometheus' varint encodings, for index and chunk files. */
export class EncBuf {
  buf: Buffer;
  len = 0;

  constructor(initial = 1024) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const b = Buffer.allocUnsafe(size);
    this.buf.copy(b, 0, 0, this.len);
    this.buf = b;
  }

  reset(): this {
    this.len = 0;
    return this;
  }

  byte(v: number): void {
    this.room(1);
    this.buf[this.len++] = v;
  }

  be32(v: number): void {
    this.room(4);
    this.buf.writeUInt32BE(v >>> 0, this.len);
    this.len += 4;
  }

  be64(v: number): void {
    this.room(8);
    this.buf.writeBigUInt64BE(BigInt(v), this.len);
    this.len += 8;
  }

  uvarint(v: number): void {
    this.room(10);
    while (v >= 0x80) {
      this.buf[this.len++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.len++] = v;
  }

  /** Zig-zag signed varint (Go's binary.PutVarint). */
  varint(v: number): void {
    this.uvarint(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  uvarintStr(s: string): void {
    const n = Buffer.byteLength(s);
    this.uvarint(n);
    this.room(n);
    this.len += this.buf.write(s, this.len);
  }

  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  get(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

/** An index, index header or chunk file that does not decode: the one error class their readers throw. */
export class IndexCorruptError extends Error {
  constructor(what: string, detail: string) {
    super(`${what}: corrupt index: ${detail}`);
    this.name = 'IndexCorruptError';
  }
}

/** Reads what EncBuf writes, bounds-checked: corrupt input is an IndexCorruptError, never a wild read. */
export class DecBuf {
  pos: number;

  constructor(
    readonly buf: Buffer,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  private need(n: number): void {
    if (this.pos + n > this.end) throw new IndexCorruptError('index', 'unexpected end of data');
  }

  byte(): number {
    this.need(1);
    return this.buf[this.pos++];
  }

  be32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  be64(): number {
    this.need(8);
    const v = Number(this.buf.readBigUInt64BE(this.pos));
    this.pos += 8;
    return v;
  }

  uvarint(): number {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      this.need(1);
      const b = this.buf[this.pos++];
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 0x80;
    }
    throw new IndexCorruptError('index', 'varint overflow');
  }

  varint(): number {
    const u = this.uvarint();
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }

  uvarintStr(): string {
    const n = this.uvarint();
    this.need(n);
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
}
