/**
 * Coalescing of forwarded writes per peer: shares bound for the same peer (and tenant) within a
 * short window travel as one request of several parts, so a peer gets fewer, larger requests and
 * the fixed cost of a forwarded request (HTTP on both sides, the handler, its metrics) is paid
 * once per batch instead of once per client request. A batch leaves after `maxDelayMs` or as
 * soon as it holds `maxBytes`; a share alone in its window goes as an ordinary remote-write
 * request. Durability is unchanged: each part's result is the peer's answer after its WAL
 * commit, and the client is acknowledged only once the quorum's answers are in.
 *
 * Wire format of a batch (internal to receivers, POST /api/v1/write with FORWARDED_HEADER):
 * Content-Type PARTS_CONTENT_TYPE; body = parts, each
 *   u32 BE length of a JSON head {"contentType": ..., "selection"?: ...}, the head,
 *   u32 BE length of the part's body, the body (a share, or snappy remote-write from older receivers).
 * The answer is 200 with a JSON array of {status, message, rejected?}, one per part in order.
 */
import { StrataError } from '@strata/model';

export const PARTS_CONTENT_TYPE = 'application/x-strata-forwarded-parts';

export interface Part {
  /** The part's body: a share (SHARE_CONTENT_TYPE) or a snappy-compressed remote-write request. */
  body: Buffer;
  contentType: string;
  /** SERIES_SELECTION_HEADER value for this part, if any. */
  selection?: string;
}

export interface PartResult {
  status: number;
  message: string;
  /** REJECTED_SERIES_HEADER value for this part, if any. */
  rejected?: string;
}

export function encodeParts(parts: readonly Part[]): Buffer {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const head = Buffer.from(
      JSON.stringify(p.selection === undefined ? { contentType: p.contentType } : { contentType: p.contentType, selection: p.selection }),
    );
    const lens = Buffer.allocUnsafe(4);
    lens.writeUInt32BE(head.length);
    const blen = Buffer.allocUnsafe(4);
    blen.writeUInt32BE(p.body.length);
    chunks.push(lens, head, blen, p.body);
  }
  return Buffer.concat(chunks);
}

export function decodeParts(buf: Buffer): Part[] {
  const parts: Part[] = [];
  let at = 0;
  const take = (): Buffer => {
    if (at + 4 > buf.length) throw malformed();
    const n = buf.readUInt32BE(at);
    at += 4;
    if (at + n > buf.length) throw malformed();
    const b = buf.subarray(at, at + n);
    at += n;
    return b;
  };
  while (at < buf.length) {
    let head: { contentType?: unknown; selection?: unknown };
    try {
      head = JSON.parse(take().toString());
    } catch (e) {
      throw e instanceof StrataError ? e : malformed();
    }
    if (typeof head.contentType !== 'string' || (head.selection !== undefined && typeof head.selection !== 'string')) throw malformed();
    parts.push({ contentType: head.contentType, selection: head.selection as string | undefined, body: take() });
  }
  return parts;
}

function malformed(): StrataError {
  return new StrataError('invalid-request-body', 'malformed forwarded batch');
}

export interface BatcherOptions {
  /** Longest a share waits for others bound to the same peer. */
  maxDelayMs: number;
  /**
   * A batch leaves as soon as its parts hold this many bytes, and is never larger unless it is
   * one share (keep it well under the peers' --receiver.max-request-bytes).
   */
  maxBytes: number;
  /** Sends one batch (one part or more) to a peer; resolves with one result per part. */
  send(endpoint: string, tenant: string, parts: Part[]): Promise<PartResult[]>;
}

interface Pending {
  parts: Part[];
  waiters: ((r: PartResult) => void)[];
  bytes: number;
  timer: NodeJS.Timeout;
}

export class ForwardBatcher {
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly opts: BatcherOptions) {}

  /** Queues a share for a peer; resolves with the peer's answer to that share. */
  enqueue(endpoint: string, tenant: string, part: Part): Promise<PartResult> {
    const key = `${endpoint}\n${tenant}`;
    return new Promise((resolve) => {
      let p = this.pending.get(key);
      // A batch never grows past maxBytes by more than nothing: a share that does not fit goes in the next.
      if (p && p.bytes + part.body.length > this.opts.maxBytes) {
        this.flush(key, endpoint, tenant);
        p = undefined;
      }
      if (!p) {
        const timer = setTimeout(() => this.flush(key, endpoint, tenant), this.opts.maxDelayMs);
        p = { parts: [], waiters: [], bytes: 0, timer };
        this.pending.set(key, p);
      }
      p.parts.push(part);
      p.waiters.push(resolve);
      p.bytes += part.body.length;
      if (p.bytes >= this.opts.maxBytes) this.flush(key, endpoint, tenant);
    });
  }

  private flush(key: string, endpoint: string, tenant: string): void {
    const p = this.pending.get(key);
    if (!p) return;
    this.pending.delete(key);
    clearTimeout(p.timer);
    void this.opts.send(endpoint, tenant, p.parts).then(
      (results) => p.waiters.forEach((w, i) => w(results[i] ?? { status: 0, message: `${endpoint}: the batch answer lacks part ${i}` })),
      (e: unknown) => p.waiters.forEach((w) => w({ status: 0, message: `${endpoint}: ${(e as Error).message}` })),
    );
  }

  /** Sends everything queued now (shutdown). */
  flushAll(): void {
    for (const key of [...this.pending.keys()]) {
      const [endpoint, tenant] = key.split('\n');
      this.flush(key, endpoint, tenant);
    }
  }
}
