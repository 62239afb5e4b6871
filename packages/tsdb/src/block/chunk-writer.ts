/** Appends chunks to the segment files chunks/000001.. of a block being written (docs/format/block.md#chunk-segments). */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { crc32c } from '@node-rs/crc32';
import { EncBuf } from './encbuf.js';
import { CHUNK_ENCODING_XOR, CHUNKS_MAGIC, MAX_CHUNK_SEGMENT_BYTES } from './format.js';
import { CHUNKS_DIR } from './meta.js';

const FLUSH_BYTES = 4 * 1024 * 1024;

export class ChunkSegmentWriter {
  private seq = -1;
  private fd: fsp.FileHandle | null = null;
  private buf = new EncBuf(FLUSH_BYTES + 1024);
  private offset = 0;
  readonly files: { rel: string; size: number }[] = [];

  constructor(private readonly dir: string) {}

  private async next(): Promise<void> {
    await this.close();
    this.seq++;
    const name = String(this.seq + 1).padStart(6, '0');
    this.fd = await fsp.open(path.join(this.dir, name), 'w');
    this.files.push({ rel: `${CHUNKS_DIR}/${name}`, size: 0 });
    this.buf.reset();
    this.buf.be32(CHUNKS_MAGIC);
    this.buf.byte(1);
    this.buf.byte(0);
    this.buf.byte(0);
    this.buf.byte(0);
    this.offset = 8;
  }

  /** Appends a chunk (bytes without the encoding byte; XOR unless `encoding` says otherwise); returns its reference (segment sequence << 32 | offset). */
  async write(data: Uint8Array, encoding = CHUNK_ENCODING_XOR): Promise<number> {
    const size = 10 + 1 + data.length + 4;
    if (this.fd === null || this.offset + size > MAX_CHUNK_SEGMENT_BYTES) await this.next();
    const ref = this.seq * 2 ** 32 + this.offset;
    const start = this.buf.len;
    this.buf.uvarint(data.length);
    const encAt = this.buf.len;
    this.buf.byte(encoding);
    this.buf.bytes(data);
    this.buf.be32(crc32c(this.buf.buf.subarray(encAt, this.buf.len)));
    this.offset += this.buf.len - start;
    if (this.buf.len >= FLUSH_BYTES) await this.flush();
    return ref;
  }

  /** Bytes of all segments so far, flushed or not. */
  get bytes(): number {
    let n = 0;
    for (const f of this.files) n += f.size;
    return n + this.buf.len;
  }

  private async flush(): Promise<void> {
    if (!this.fd || this.buf.len === 0) return;
    await this.fd.write(this.buf.get());
    this.files[this.files.length - 1].size += this.buf.len;
    this.buf.reset();
  }

  async close(): Promise<void> {
    if (!this.fd) return;
    await this.flush();
    await this.fd.sync();
    await this.fd.close();
    this.fd = null;
  }

  /** Closes without flushing (the block is being thrown away). */
  async abort(): Promise<void> {
    if (this.fd) await this.fd.close().catch(() => undefined);
    this.fd = null;
  }
}
