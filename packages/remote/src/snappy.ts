/**
 * Block-format snappy, as remote-write and remote-read use it. The decoded length is read from
 * the snappy header first, so an oversized body is refused before anything is allocated.
 */
import snappy from 'snappy';
import { StrataError } from '@strata/model';

export function snappyDecodedLength(buf: Uint8Array): number {
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 5 && i < buf.length; i++) {
    const b = buf[i];
    v += (b & 0x7f) * mul;
    if (b < 0x80) return v;
    mul *= 0x80;
  }
  throw new StrataError('invalid-request-body', 'snappy: corrupt length header');
}

export function snappyDecode(buf: Buffer, maxDecodedBytes: number): Buffer {
  const n = snappyDecodedLength(buf);
  if (n > maxDecodedBytes) {
    throw new StrataError('request-too-large', `decompressed body of ${n} bytes exceeds the limit of ${maxDecodedBytes} bytes`);
  }
  try {
    return snappy.uncompressSync(buf, { asBuffer: true }) as Buffer;
  } catch (e) {
    throw new StrataError('invalid-request-body', `snappy: ${(e as Error).message}`);
  }
}

export function snappyEncode(buf: Buffer): Buffer {
  return snappy.compressSync(buf);
}
