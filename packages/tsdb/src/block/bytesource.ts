/** Ranged reads from a file or an object: all the block reader needs, so one reader serves both. */
import fsp from 'node:fs/promises';

export interface ByteSource {
  size(): Promise<number>;
  /** Exactly `length` bytes at `offset` (fewer only at the end of the object). */
  read(offset: number, length: number): Promise<Buffer>;
  close?(): Promise<void>;
}

export class FileByteSource implements ByteSource {
  private fh: Promise<fsp.FileHandle> | undefined;
  /** Bytes read so far, for tests and metrics. */
  bytesRead = 0;

  constructor(readonly file: string) {}

  private handle(): Promise<fsp.FileHandle> {
    this.fh ??= fsp.open(this.file, 'r');
    return this.fh;
  }

  async size(): Promise<number> {
    return (await (await this.handle()).stat()).size;
  }

  async read(offset: number, length: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(length);
    const { bytesRead } = await (await this.handle()).read(buf, 0, length, offset);
    this.bytesRead += bytesRead;
    return bytesRead === length ? buf : buf.subarray(0, bytesRead);
  }

  async close(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    // A file that failed to open has nothing to close (its error went to the read that opened it).
    if (fh)
      await fh.then(
        (h) => h.close(),
        () => undefined,
      );
  }
}
