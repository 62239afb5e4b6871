/**
 * The index header of a block: the byte ranges of its index file that opening it needs (file
 * header, TOC, symbol table, postings offset table). Built once, stored beside the block in the
 * bucket and on the gateway's disk, so opening a block costs no reads of the index itself.
 * Byte format: docs/format/block.md#index-header-stratas-own.
 */
import { crc32c } from '@node-rs/crc32';
import type { ByteSource } from './bytesource.js';
import { IndexCorruptError } from './encbuf.js';

const MAGIC = Buffer.from('STRIDXH1');
export const INDEX_HEADER_FILE = 'index-header';

export interface HeaderRange {
  offset: number;
  bytes: Buffer;
}

/** Reads the header ranges of an index through `src` (a file or the bucket). */
export async function buildIndexHeader(src: ByteSource): Promise<HeaderRange[]> {
  const size = await src.size();
  const head = await src.read(0, 5);
  const toc = await src.read(size - 52, 52);
  const symOff = Number(toc.readBigUInt64BE(0));
  const potOff = Number(toc.readBigUInt64BE(40));
  const section = async (off: number): Promise<HeaderRange> => {
    const len = (await src.read(off, 4)).readUInt32BE(0);
    return { offset: off, bytes: await src.read(off, 4 + len + 4) };
  };
  const ranges: HeaderRange[] = [{ offset: 0, bytes: head }, { offset: size - 52, bytes: toc }, await section(symOff)];
  if (potOff !== 0) ranges.push(await section(potOff));
  // The file size travels as a zero-length range at the end of the file.
  ranges.push({ offset: size, bytes: Buffer.alloc(0) });
  return ranges;
}

export function encodeIndexHeader(ranges: HeaderRange[]): Buffer {
  const parts: Buffer[] = [MAGIC];
  const n = Buffer.alloc(4);
  n.writeUInt32BE(ranges.length, 0);
  parts.push(n);
  for (const r of ranges) {
    const h = Buffer.alloc(12);
    h.writeDoubleBE(r.offset, 0);
    h.writeUInt32BE(r.bytes.length, 8);
    parts.push(h, r.bytes);
  }
  const body = Buffer.concat(parts);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32c(body), 0);
  return Buffer.concat([body, crc]);
}

export function decodeIndexHeader(buf: Buffer, what: string): HeaderRange[] {
  if (buf.length < 16 || !buf.subarray(0, 8).equals(MAGIC)) throw new IndexCorruptError(what, 'not an index header');
  if (crc32c(buf.subarray(0, buf.length - 4)) !== buf.readUInt32BE(buf.length - 4))
    throw new IndexCorruptError(what, 'index header checksum mismatch');
  const n = buf.readUInt32BE(8);
  const out: HeaderRange[] = [];
  let p = 12;
  const end = buf.length - 4;
  for (let i = 0; i < n; i++) {
    if (p + 12 > end) throw new IndexCorruptError(what, `index header range ${i} of ${n} runs past its end`);
    const offset = buf.readDoubleBE(p);
    const len = buf.readUInt32BE(p + 8);
    if (p + 12 + len > end) throw new IndexCorruptError(what, `index header range ${i} of ${len} bytes runs past its end`);
    out.push({ offset, bytes: buf.subarray(p + 12, p + 12 + len) });
    p += 12 + len;
  }
  return out;
}

/** Serves reads covered by the header from memory; everything else from the underlying source. */
export class HeaderedSource implements ByteSource {
  private readonly fileSize: number;

  constructor(
    private readonly ranges: HeaderRange[],
    private readonly inner: ByteSource,
  ) {
    this.fileSize = ranges[ranges.length - 1].offset;
  }

  async size(): Promise<number> {
    return this.fileSize;
  }

  async read(offset: number, length: number): Promise<Buffer> {
    for (const r of this.ranges) {
      if (offset >= r.offset && offset + length <= r.offset + r.bytes.length)
        return r.bytes.subarray(offset - r.offset, offset - r.offset + length);
    }
    return this.inner.read(offset, length);
  }
}
