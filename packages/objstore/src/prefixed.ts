/** A bucket seen under a fixed prefix (Thanos' top-level `prefix`). */
import type { Readable } from 'node:stream';
import type { Bucket, IterOptions, ObjectAttributes } from './bucket.js';

export class PrefixedBucket implements Bucket {
  private readonly prefix: string;

  constructor(
    private readonly inner: Bucket,
    prefix: string,
  ) {
    this.prefix = prefix.replace(/^\/+|\/+$/g, '') + '/';
  }

  get name(): string {
    return `${this.inner.name}/${this.prefix}`;
  }

  private p(n: string): string {
    return this.prefix + n;
  }

  get(n: string): Promise<Buffer> {
    return this.inner.get(this.p(n));
  }
  getRange(n: string, o: number, l: number): Promise<Buffer> {
    return this.inner.getRange(this.p(n), o, l);
  }
  upload(n: string, body: Buffer | Readable): Promise<void> {
    return this.inner.upload(this.p(n), body);
  }
  async *iter(prefix: string, opts?: IterOptions): AsyncIterable<string> {
    for await (const n of this.inner.iter(this.p(prefix), opts)) yield n.slice(this.prefix.length);
  }
  exists(n: string): Promise<boolean> {
    return this.inner.exists(this.p(n));
  }
  attributes(n: string): Promise<ObjectAttributes> {
    return this.inner.attributes(this.p(n));
  }
  delete(n: string): Promise<void> {
    return this.inner.delete(this.p(n));
  }
  isObjNotFound(err: unknown): boolean {
    return this.inner.isObjNotFound(err);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
