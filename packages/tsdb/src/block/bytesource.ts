/** Ranged reads from a file or an object: all the block reader needs, so one reader serves both. */
import fs from 'node:fs';
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

/**
 * A file read with synchronous reads on the calling thread: for a query worker reading block
 * files. Asynchronous reads go through libuv's thread pool, which all threads of the process
 * share with the main thread's WAL writes and fsyncs; a worker's burst of chunk reads queued there
 * delays acknowledgements. A worker blocking on its own reads delays only its own queries.
 */
export class SyncFileByteSource implements ByteSource {
  private fd: number | undefined;
  bytesRead = 0;

  constructor(readonly file: string) {}

  private handle(): number {
    this.fd ??= fs.openSync(this.file, 'r');
    return this.fd;
  }

  async size(): Promise<number> {
    return fs.fstatSync(this.handle()).size;
  }

  async read(offset: number, length: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(length);
    const got = readFullySync(this.handle(), buf, offset);
    this.bytesRead += got;
    return got === length ? buf : buf.subarray(0, got);
  }

  async close(): Promise<void> {
    const fd = this.fd;
    this.fd = undefined;
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Fills `buf` from `position` on; the bytes read (fewer only at the end of the file). */
function readFullySync(fd: number, buf: Buffer, position: number): number {
  let got = 0;
  while (got < buf.length) {
    const n = fs.readSync(fd, buf, got, buf.length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

/**
 * A whole file in a SharedArrayBuffer-backed Buffer: what the block cache keeps, so that query
 * worker threads read it through a structured clone of the array, which shares the memory.
 */
export async function readFileShared(file: string): Promise<Buffer> {
  const fh = await fsp.open(file, 'r');
  try {
    const buf = sharedBuffer((await fh.stat()).size);
    let got = 0;
    while (got < buf.length) {
      const { bytesRead } = await fh.read(buf, got, buf.length - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return got === buf.length ? buf : buf.subarray(0, got);
  } finally {
    await fh.close();
  }
}

/** readFileShared with synchronous reads on the calling thread (a query worker: see SyncFileByteSource). */
export function readFileSharedSync(file: string): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = sharedBuffer(fs.fstatSync(fd).size);
    const got = readFullySync(fd, buf, 0);
    return got === buf.length ? buf : buf.subarray(0, got);
  } finally {
    fs.closeSync(fd);
  }
}

function sharedBuffer(size: number): Buffer {
  return Buffer.from(new SharedArrayBuffer(size));
}
