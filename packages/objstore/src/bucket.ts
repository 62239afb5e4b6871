/**
 * The object-storage contract, shaped like thanos-io/objstore's Bucket: everything blocks need,
 * nothing more. Names use "/" as the directory separator.
 */
import type { Readable } from 'node:stream';

export interface ObjectAttributes {
  size: number;
  lastModified: Date;
}

export interface IterOptions {
  /** List every object under the prefix instead of one level (no "directories"). */
  recursive?: boolean;
}

export interface Bucket {
  readonly name: string;
  get(name: string): Promise<Buffer>;
  /** `length` bytes from `offset`; fewer when the object ends first; empty past the end. */
  getRange(name: string, offset: number, length: number): Promise<Buffer>;
  upload(name: string, body: Buffer | Readable): Promise<void>;
  /** Names under `prefix`, sorted; one level deep unless recursive, sub-"directories" ending in "/". */
  iter(prefix: string, opts?: IterOptions): AsyncIterable<string>;
  exists(name: string): Promise<boolean>;
  attributes(name: string): Promise<ObjectAttributes>;
  delete(name: string): Promise<void>;
  isObjNotFound(err: unknown): boolean;
  close(): Promise<void>;
}

export class ObjectNotFoundError extends Error {
  constructor(
    readonly bucket: string,
    readonly object: string,
  ) {
    super(`object ${JSON.stringify(object)} not found in bucket ${JSON.stringify(bucket)}`);
    this.name = 'ObjectNotFoundError';
  }
}

/** Ranged reads through a bucket, in the shape the block reader uses for files. */
export function bucketByteSource(
  bucket: Bucket,
  name: string,
): { size(): Promise<number>; read(offset: number, length: number): Promise<Buffer> } {
  let size: Promise<number> | undefined;
  return {
    size: () => (size ??= bucket.attributes(name).then((a) => a.size)),
    read: (offset, length) => bucket.getRange(name, offset, length),
  };
}

export async function readAll(body: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of body) parts.push(Buffer.isBuffer(c) ? c : Buffer.from(c as Uint8Array));
  return Buffer.concat(parts);
}
