/**
 * A bucket in any S3-compatible store (Thanos `type: S3`), through @aws-sdk/client-s3:
 * path-style or virtual-host addressing, credentials from config or the standard AWS
 * environment, multipart uploads, paginated listing, retries with backoff on throttling and 5xx.
 */
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { ObjectNotFoundError, readAll, type Bucket, type IterOptions, type ObjectAttributes } from './bucket.js';

export const DEFAULT_PART_SIZE = 64 * 1024 * 1024;
/** S3 refuses parts below 5 MiB (except the last). */
export const MIN_PART_SIZE = 5 * 1024 * 1024;

export interface S3Config {
  bucket: string;
  endpoint?: string;
  region?: string;
  accessKey?: string;
  secretKey?: string;
  insecure?: boolean;
  /** Path-style addressing (needed by most self-hosted S3 servers). */
  forcePathStyle?: boolean;
  partSize?: number;
  /** Page size for listings (S3's maximum is 1000). */
  listPageSize?: number;
  maxRetries?: number;
  /** Per-attempt timeout in ms. */
  timeoutMs?: number;
}

export class S3Bucket implements Bucket {
  readonly name: string;
  private readonly client: S3Client;
  private readonly partSize: number;

  constructor(private readonly cfg: S3Config) {
    this.name = cfg.bucket;
    this.partSize = Math.max(MIN_PART_SIZE, cfg.partSize ?? DEFAULT_PART_SIZE);
    let endpoint = cfg.endpoint;
    if (endpoint && !/^https?:\/\//.test(endpoint)) endpoint = `${cfg.insecure ? 'http' : 'https'}://${endpoint}`;
    this.client = new S3Client({
      region: cfg.region || process.env.AWS_REGION || 'us-east-1',
      endpoint,
      forcePathStyle: cfg.forcePathStyle ?? !!cfg.endpoint,
      credentials: cfg.accessKey ? { accessKeyId: cfg.accessKey, secretAccessKey: cfg.secretKey ?? '' } : undefined,
      maxAttempts: 1, // retries are ours (below), so they cover streaming bodies and timeouts alike
    });
  }

  /** Retries throttling (429, 503 SlowDown) and 5xx with exponential backoff and jitter. */
  private async send<T>(op: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const max = this.cfg.maxRetries ?? 5;
    for (let attempt = 0; ; attempt++) {
      const signal = AbortSignal.timeout(this.cfg.timeoutMs ?? 60_000);
      try {
        return await fn(signal);
      } catch (e) {
        const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? 0;
        const name = (e as Error).name;
        const retryable =
          status === 429 ||
          status >= 500 ||
          name === 'SlowDown' ||
          name === 'TimeoutError' ||
          name === 'AbortError' ||
          (e as NodeJS.ErrnoException).code === 'ECONNRESET';
        if (!retryable || attempt >= max) {
          if (status === 404 || name === 'NoSuchKey' || name === 'NotFound') throw e;
          throw new Error(`s3 ${op} on bucket ${this.name} failed after ${attempt + 1} attempt(s): ${(e as Error).message || name}`, {
            cause: e,
          });
        }
        await new Promise((r) => setTimeout(r, Math.min(5000, 50 * 2 ** attempt) * (0.5 + Math.random())));
      }
    }
  }

  private notFound(name: string, e: unknown): never {
    const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404 || (e as Error).name === 'NoSuchKey' || (e as Error).name === 'NotFound')
      throw new ObjectNotFoundError(this.name, name);
    throw e;
  }

  async get(name: string): Promise<Buffer> {
    try {
      return await this.send('get', async (abortSignal) => {
        const r = await this.client.send(new GetObjectCommand({ Bucket: this.name, Key: name }), { abortSignal });
        return readAll(r.Body as Readable);
      });
    } catch (e) {
      this.notFound(name, e);
    }
  }

  async getRange(name: string, offset: number, length: number): Promise<Buffer> {
    if (length <= 0) return Buffer.alloc(0);
    try {
      return await this.send('get range', async (abortSignal) => {
        const r = await this.client.send(
          new GetObjectCommand({ Bucket: this.name, Key: name, Range: `bytes=${offset}-${offset + length - 1}` }),
          { abortSignal },
        );
        return readAll(r.Body as Readable);
      });
    } catch (e) {
      // A range starting past the end is "416 InvalidRange" in S3: that is an empty read here.
      if (
        (e as { cause?: { $metadata?: { httpStatusCode?: number } } }).cause?.$metadata?.httpStatusCode === 416 ||
        (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 416
      )
        return Buffer.alloc(0);
      this.notFound(name, e);
    }
  }

  async upload(name: string, body: Buffer | Readable): Promise<void> {
    if (Buffer.isBuffer(body) && body.length <= this.partSize) {
      await this.send('put', (abortSignal) =>
        this.client.send(new PutObjectCommand({ Bucket: this.name, Key: name, Body: body, ContentLength: body.length }), { abortSignal }),
      );
      return;
    }
    // Streamed: the first part is buffered, so a body that fits in one part is a single PUT;
    // only larger ones become a multipart upload, and memory stays at one part either way.
    const source = Buffer.isBuffer(body) ? Readable.from([body]) : body;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let uploadId: string | undefined;
    const parts: { ETag: string; PartNumber: number }[] = [];
    const takePart = (): Buffer => {
      const all = Buffer.concat(pending);
      const part = all.subarray(0, Math.min(this.partSize, all.length));
      const rest = all.subarray(part.length);
      pending = rest.length ? [rest] : [];
      pendingBytes = rest.length;
      return part;
    };
    const sendPart = async (part: Buffer) => {
      if (uploadId === undefined) {
        const r = await this.send('create multipart upload', (abortSignal) =>
          this.client.send(new CreateMultipartUploadCommand({ Bucket: this.name, Key: name }), { abortSignal }),
        );
        uploadId = r.UploadId;
      }
      const PartNumber = parts.length + 1;
      const r = await this.send('upload part', (abortSignal) =>
        this.client.send(
          new UploadPartCommand({ Bucket: this.name, Key: name, UploadId: uploadId, PartNumber, Body: part, ContentLength: part.length }),
          { abortSignal },
        ),
      );
      parts.push({ ETag: r.ETag!, PartNumber });
    };
    try {
      for await (const chunk of source) {
        const c = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
        pending.push(c);
        pendingBytes += c.length;
        // Keep at least one byte back so the last part is never empty.
        while (pendingBytes > this.partSize) await sendPart(takePart());
      }
      if (uploadId === undefined) {
        const whole = Buffer.concat(pending);
        await this.send('put', (abortSignal) =>
          this.client.send(new PutObjectCommand({ Bucket: this.name, Key: name, Body: whole, ContentLength: whole.length }), {
            abortSignal,
          }),
        );
        return;
      }
      if (pendingBytes > 0) await sendPart(takePart());
      await this.send('complete multipart upload', (abortSignal) =>
        this.client.send(
          new CompleteMultipartUploadCommand({ Bucket: this.name, Key: name, UploadId: uploadId, MultipartUpload: { Parts: parts } }),
          { abortSignal },
        ),
      );
    } catch (e) {
      if (uploadId !== undefined)
        await this.client
          .send(new AbortMultipartUploadCommand({ Bucket: this.name, Key: name, UploadId: uploadId }))
          .catch(() => undefined);
      throw e;
    }
  }

  async *iter(prefix: string, opts: IterOptions = {}): AsyncIterable<string> {
    let token: string | undefined;
    const out: string[] = [];
    do {
      const r = await this.send('list', (abortSignal) =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: this.name,
            Prefix: prefix,
            Delimiter: opts.recursive ? undefined : '/',
            ContinuationToken: token,
            MaxKeys: this.cfg.listPageSize ?? 1000,
          }),
          { abortSignal },
        ),
      );
      for (const c of r.Contents ?? []) if (c.Key) out.push(c.Key);
      for (const p of r.CommonPrefixes ?? []) if (p.Prefix) out.push(p.Prefix);
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    for (const n of out.sort()) yield n;
  }

  async exists(name: string): Promise<boolean> {
    try {
      await this.attributes(name);
      return true;
    } catch (e) {
      if (this.isObjNotFound(e)) return false;
      throw e;
    }
  }

  async attributes(name: string): Promise<ObjectAttributes> {
    try {
      const r = await this.send('head', (abortSignal) =>
        this.client.send(new HeadObjectCommand({ Bucket: this.name, Key: name }), { abortSignal }),
      );
      return { size: r.ContentLength ?? 0, lastModified: r.LastModified ?? new Date(0) };
    } catch (e) {
      this.notFound(name, e);
    }
  }

  async delete(name: string): Promise<void> {
    if (!(await this.exists(name))) throw new ObjectNotFoundError(this.name, name);
    await this.send('delete', (abortSignal) =>
      this.client.send(new DeleteObjectCommand({ Bucket: this.name, Key: name }), { abortSignal }),
    );
  }

  isObjNotFound(err: unknown): boolean {
    return err instanceof ObjectNotFoundError;
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
