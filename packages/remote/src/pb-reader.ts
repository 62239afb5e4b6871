/**
 * A minimal protobuf wire-format reader over a Buffer. Every malformed input ends in a
 * StrataError('invalid-request-body'), never an untyped exception or a read past the end.
 *
 * Decoders walk a message with a field iterator that allocates nothing, so each one reads like
 * its .proto:
 *
 *   while (r.nextField()) {
 *     switch (r.field) {
 *       case 1: if (r.wire === WIRE_FIXED64) valueAt = r.fixed64Offset(); break;
 *       case 2: if (r.wire === WIRE_VARINT) t = r.int64(); break;
 *     }
 *   }
 *
 * A field the decoder leaves unread (an unknown number, or a known number with an unexpected
 * wire type) is skipped by the next nextField(). A nested message is read on the same reader
 * between enter() and leave(), so decoding allocates no reader per message.
 */
import { StrataError } from '@strata/model';

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

const TWO32 = 4294967296;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function malformed(what: string): StrataError {
  return new StrataError('invalid-request-body', `malformed protobuf: ${what}`);
}

export class PbReader {
  // Every numeric field starts as a number (not undefined, as a bare declaration would), so V8
  // gives it an unboxed small-integer representation from the first object on.
  pos = 0;

  /** End of the message being read; enter() narrows it to a nested message, leave() restores it. */
  end = 0;

  /** Number of the field nextField() stopped at. */
  field = 0;

  /** Wire type of that field (WIRE_*). */
  wire = 0;

  /** Offset of that field's tag, so a decoder can keep the whole field's bytes. */
  tagAt = -1;

  /** Offset of that field's value; pos still there means the decoder did not read it. */
  private valueAt = -1;

  constructor(
    readonly buf: Buffer,
    start = 0,
    end = buf.length,
  ) {
    this.pos = start;
    this.end = end;
  }

  /**
   * Moves to the next field of the current message, first skipping the previous field if the
   * decoder did not read it. Returns false at the end of the message.
   */
  nextField(): boolean {
    if (this.pos === this.valueAt) this.skip(this.wire);
    const pos = this.pos;
    if (pos >= this.end) return false;
    this.tagAt = pos;
    const b = this.buf[pos];
    if (b >= 0x80) return this.longTag();
    // Field numbers up to 15 have one-byte tags: every field of the messages decoded here.
    this.pos = pos + 1;
    this.valueAt = pos + 1;
    this.field = b >>> 3;
    this.wire = b & 7;
    return true;
  }

  /** The rare multi-byte tag, out of line so that nextField() stays small enough to inline. */
  private longTag(): boolean {
    const tag = this.varint();
    this.field = Math.floor(tag / 8);
    this.wire = tag & 7;
    this.valueAt = this.pos;
    return true;
  }

  /**
   * Enters the length-delimited field at pos as a nested message: until leave(), the reader
   * ends where that message ends. Returns the outer end, to be handed back to leave().
   */
  enter(): number {
    const n = this.len();
    const outer = this.end;
    this.end = this.pos + n;
    return outer;
  }

  /** Skips the value of the field nextField() stopped at, so pos is where the field ends. */
  skipField(): void {
    this.skip(this.wire);
  }

  /** Skips a length-delimited value and returns where it ends (its field is kept unread). */
  skipLen(): number {
    const n = this.len();
    return (this.pos += n);
  }

  /** Leaves the message entered last: moves past its end, whatever the decoder left unread. */
  leave(outerEnd: number): void {
    // pos is now past every value read inside, so nextField() cannot mistake it for unread.
    this.pos = this.end;
    this.end = outerEnd;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** Reads a varint of up to 64 bits; values above 2^53 lose precision (not used for such fields). */
  varint(): number {
    const b = this.buf;
    let pos = this.pos;
    let byte: number;
    // Fast path: up to 4 bytes fit in 28 bits.
    let lo = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      if (pos >= this.end) throw malformed('truncated varint');
      byte = b[pos++];
      lo |= (byte & 0x7f) << shift;
      if (byte < 0x80) {
        this.pos = pos;
        return lo >>> 0;
      }
    }
    // Slow path: combine into hi/lo 32-bit halves.
    if (pos >= this.end) throw malformed('truncated varint');
    byte = b[pos++];
    lo |= (byte & 0x0f) << 28;
    let hi = (byte & 0x7f) >> 4;
    if (byte >= 0x80) {
      for (let shift = 3; ; shift += 7) {
        if (shift > 63) throw malformed('varint longer than 10 bytes');
        if (pos >= this.end) throw malformed('truncated varint');
        byte = b[pos++];
        if (shift < 32) hi |= (byte & 0x7f) << shift;
        if (byte < 0x80) break;
      }
    }
    this.pos = pos;
    return (hi >>> 0) * TWO32 + (lo >>> 0);
  }

  /** A varint read as a two's-complement int64 (negative timestamps are 10-byte varints). */
  int64(): number {
    const b = this.buf;
    let pos = this.pos;
    let lo = 0;
    let hi = 0;
    let byte: number;
    let i = 0;
    for (; i < 10; i++) {
      if (pos >= this.end) throw malformed('truncated varint');
      byte = b[pos++];
      const bits = byte & 0x7f;
      const shift = i * 7;
      if (shift < 28) lo |= bits << shift;
      else if (shift === 28) {
        lo |= (bits & 0x0f) << 28;
        hi |= bits >> 4;
      } else hi |= bits << (shift - 32);
      if (byte < 0x80) break;
    }
    if (i === 10) throw malformed('varint longer than 10 bytes');
    this.pos = pos;
    return (hi | 0) * TWO32 + (lo >>> 0);
  }

  /** Length of a length-delimited field, validated against the end of this message. */
  len(): number {
    const pos = this.pos;
    let n = pos < this.end ? this.buf[pos] : 0x80;
    // Labels and samples are shorter than 128 bytes: a one-byte length, read inline.
    if (n < 0x80) this.pos = pos + 1;
    else n = this.varint();
    if (n > this.end - this.pos) throw malformed('length past the end of the message');
    return n;
  }

  /** The 8 bytes of a fixed64/double field are at [pos, pos+8); advances past them. */
  fixed64Offset(): number {
    if (this.pos + 8 > this.end) throw malformed('truncated fixed64');
    const at = this.pos;
    this.pos += 8;
    return at;
  }

  double(): number {
    return this.buf.readDoubleLE(this.fixed64Offset());
  }

  string(): string {
    const n = this.len();
    const s = decodeString(this.buf, this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  /** A bytes field as a view into the buffer (not a copy). */
  bytes(): Buffer {
    const n = this.len();
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  skip(wireType: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_FIXED64:
        this.fixed64Offset();
        return;
      case WIRE_LEN: {
        // Not `this.pos += this.len()`: that reads pos before len() moves it past the varint.
        const n = this.len();
        this.pos += n;
        return;
      }
      case WIRE_FIXED32:
        if (this.pos + 4 > this.end) throw malformed('truncated fixed32');
        this.pos += 4;
        return;
      default:
        throw malformed(`unsupported wire type ${wireType}`);
    }
  }
}

/**
 * Strings in protobuf are UTF-8. ASCII (the common case for label names and values) is copied
 * with the fast latin1 path; anything else goes through a fatal UTF-8 decoder so invalid bytes
 * are an error rather than U+FFFD silently stored.
 */
export function decodeString(buf: Buffer, start: number, end: number): string {
  for (let i = start; i < end; i++) {
    if (buf[i] >= 0x80) {
      try {
        return utf8.decode(buf.subarray(start, end));
      } catch {
        throw new StrataError('invalid-label-value', 'string is not valid UTF-8');
      }
    }
  }
  return latin1(buf, start, end);
}

type Latin1Sliceable = { latin1Slice(start: number, end: number): string };

/** Bytes as a one-byte string, through Buffer's native latin1 slicer (untyped in @types/node). */
export function latin1(buf: Buffer, start: number, end: number): string {
  return (buf as unknown as Latin1Sliceable).latin1Slice(start, end);
}
