/** A bucket in a local folder (Thanos `type: FILESYSTEM`): the embedded default. */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { ObjectNotFoundError, type Bucket, type IterOptions, type ObjectAttributes } from './bucket.js';

export class FilesystemBucket implements Bucket {
  readonly name: string;

  constructor(readonly directory: string) {
    this.name = path.resolve(directory);
  }

  /** Object names are slash-separated and may not escape the directory. */
  private file(name: string): string {
    const p = path.resolve(this.name, name);
    if (p !== this.name && !p.startsWith(this.name + path.sep))
      throw new Error(`object name ${JSON.stringify(name)} escapes the bucket directory`);
    return p;
  }

  private notFound(name: string, e: unknown): never {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'EISDIR')
      throw new ObjectNotFoundError(this.name, name);
    throw e;
  }

  async get(name: string): Promise<Buffer> {
    try {
      return await fsp.readFile(this.file(name));
    } catch (e) {
      this.notFound(name, e);
    }
  }

  /**
   * Ranged reads in flight share one handle per file: a query over rollups makes thousands of
   * small reads of a few segment files, and an open and a close for each were two of its three
   * trips to the thread pool. The handle is closed when the last read in flight ends, and an upload
   * or delete through this bucket makes later reads open the file anew, so a read never sees an
   * older object than one opened after the write (a write by another process is seen by reads that
   * start once no read of the file is in flight, as objects in a block are never rewritten).
   */
  private readonly reading = new Map<string, { fh: Promise<fsp.FileHandle>; users: number }>();

  async getRange(name: string, offset: number, length: number): Promise<Buffer> {
    const file = this.file(name);
    let h = this.reading.get(file);
    if (!h) {
      const opened = { fh: fsp.open(file, 'r'), users: 0 };
      // A file that failed to open is not kept for the reads that come after.
      opened.fh.catch(() => this.forget(file, opened));
      this.reading.set(file, (h = opened));
    }
    h.users++;
    try {
      let fh: fsp.FileHandle;
      try {
        fh = await h.fh;
      } catch (e) {
        this.notFound(name, e);
      }
      const buf = Buffer.allocUnsafe(length);
      const { bytesRead } = await fh.read(buf, 0, length, offset);
      return buf.subarray(0, bytesRead);
    } finally {
      if (--h.users === 0) {
        this.forget(file, h);
        await h.fh.then(
          (f) => f.close(),
          () => undefined,
        );
      }
    }
  }

  private forget(file: string, h?: { fh: Promise<fsp.FileHandle>; users: number }): void {
    if (!h || this.reading.get(file) === h) this.reading.delete(file);
  }

  /** Written to a temporary file, fsynced and renamed: readers see all of it or nothing. */
  async upload(name: string, body: Buffer | Readable): Promise<void> {
    const dst = this.file(name);
    await fsp.mkdir(path.dirname(dst), { recursive: true });
    const tmp = `${dst}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    try {
      if (Buffer.isBuffer(body)) await fsp.writeFile(tmp, body);
      else await pipeline(body, fs.createWriteStream(tmp));
      const fh = await fsp.open(tmp, 'r+');
      await fh.sync();
      await fh.close();
      await fsp.rename(tmp, dst);
      this.forget(dst);
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      throw e;
    }
  }

  async *iter(prefix: string, opts: IterOptions = {}): AsyncIterable<string> {
    const all: string[] = [];
    const walk = async (dir: string, rel: string) => {
      let entries: fs.Dirent[];
      try {
        entries = await fsp.readdir(dir, { withFileTypes: true });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return;
        throw e;
      }
      for (const ent of entries) {
        if (ent.name.includes('.tmp-')) continue;
        const name = rel + ent.name;
        if (ent.isDirectory()) {
          if (opts.recursive) await walk(path.join(dir, ent.name), name + '/');
          else all.push(name + '/');
        } else all.push(name);
      }
    };
    // List the directory holding the prefix, then keep what starts with the prefix (S3 semantics).
    const base = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/') + 1) : '';
    await walk(this.file(base || '.'), base);
    for (const n of all.filter((x) => x.startsWith(prefix)).sort()) yield n;
  }

  async exists(name: string): Promise<boolean> {
    try {
      return (await fsp.stat(this.file(name))).isFile();
    } catch {
      return false;
    }
  }

  async attributes(name: string): Promise<ObjectAttributes> {
    try {
      const st = await fsp.stat(this.file(name));
      if (!st.isFile()) throw Object.assign(new Error('not a file'), { code: 'ENOENT' });
      return { size: st.size, lastModified: st.mtime };
    } catch (e) {
      this.notFound(name, e);
    }
  }

  async delete(name: string): Promise<void> {
    const file = this.file(name);
    try {
      await fsp.unlink(file);
      this.forget(file);
    } catch (e) {
      this.notFound(name, e);
    }
    // S3 has no empty "directories": remove parents left empty so listings agree.
    for (let dir = path.dirname(file); dir !== this.name && dir.startsWith(this.name); dir = path.dirname(dir)) {
      try {
        await fsp.rmdir(dir);
      } catch {
        break;
      }
    }
  }

  isObjNotFound(err: unknown): boolean {
    return err instanceof ObjectNotFoundError;
  }

  async close(): Promise<void> {}
}
