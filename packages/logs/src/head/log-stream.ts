/**
 * One stream in the head: sealed, compressed blocks plus the open block still taking entries.
 * The open block is sealed once it holds BLOCK_TARGET_BYTES of lines (Loki's block_size) or
 * when it is older than the head's block age; compression runs off the append path, and
 * entries being compressed stay readable in `sealing` until their block is in place.
 */
import type { Labels } from '@strata/model';
import type { BlockCompression, EncodedBlock } from '../chunk/block-codec.js';
import { compressRawBlock, entryBodyMaxBytes, putBigUvarint, putEntryBody, readEntryBody } from '../chunk/block-codec.js';

/** Loki's default block_size: 256 KiB of uncompressed entries per compressed block. */
export const BLOCK_TARGET_BYTES = 256 * 1024;

/** First capacity of an open block's bytes: above Buffer's pool threshold, so no block pins a shared pool slab. */
const FIRST_BODY_BYTES = 4096;
const FIRST_ENTRIES = 16;

/**
 * The entries of a stream not yet compressed, held as bytes rather than one string per line: a
 * head holds up to a block of lines per stream, and strings by the million cost the garbage
 * collector (they are copied into the old generation and marked at every major collection)
 * more than the rest of the push path. Each entry's body (line and metadata) is kept in the raw
 * block form, so sealing only interleaves the timestamp deltas.
 */
export class OpenBlock {
  /** Timestamps in push order. */
  private tsArr = new BigInt64Array(FIRST_ENTRIES);
  /** Entry i's body is body[ends[i - 1] (0 for the first), ends[i]). */
  private ends = new Int32Array(FIRST_ENTRIES);
  private body = Buffer.allocUnsafe(FIRST_BODY_BYTES);
  count = 0;
  /** UTF-8 bytes of the lines plus 16 per entry, as the seal threshold counts them. */
  bytes = 0;
  /** Wall-clock ms of the first append, for the age cut. */
  openedAtMs = 0;
  /** Whether entries arrived in timestamp order (then no sort is needed to seal or read). */
  sorted = true;

  add(ts: bigint, line: string, meta: Labels | undefined, nowMs: number): void {
    const start = this.begin(ts, nowMs, entryBodyMaxBytes(line, meta));
    const end = putEntryBody(this.body, start, line, meta);
    this.finish(end, Buffer.byteLength(line));
  }

  /** Adds an entry whose body (line and metadata, in the raw block form) is src[from, to), its line lineBytes long. */
  addBody(ts: bigint, src: Buffer, from: number, to: number, lineBytes: number, nowMs: number): void {
    const start = this.begin(ts, nowMs, to - from);
    this.finish(start + src.copy(this.body, start, from, to), lineBytes);
  }

  /** Makes room for one more entry of at most `maxBody` bytes; returns where its body goes. */
  private begin(ts: bigint, nowMs: number, maxBody: number): number {
    const n = this.count;
    if (n === 0) this.openedAtMs = nowMs;
    else if (ts < this.tsArr[n - 1]) this.sorted = false;
    const start = n === 0 ? 0 : this.ends[n - 1];
    this.reserve(n + 1, start + maxBody);
    this.tsArr[n] = ts;
    return start;
  }

  private finish(end: number, lineBytes: number): void {
    this.ends[this.count++] = end;
    this.bytes += lineBytes + 16;
  }

  /** Grows the arrays to hold `entries` entries and `bodyBytes` bytes of bodies (by half again, not doubling: a head holds one per stream). */
  private reserve(entries: number, bodyBytes: number): void {
    if (entries > this.tsArr.length) {
      const cap = Math.max(entries, Math.ceil(this.tsArr.length * 1.5));
      const ts = new BigInt64Array(cap);
      ts.set(this.tsArr);
      this.tsArr = ts;
      const ends = new Int32Array(cap);
      ends.set(this.ends);
      this.ends = ends;
    }
    if (bodyBytes > this.body.length) {
      const b = Buffer.allocUnsafe(Math.max(bodyBytes, Math.ceil(this.body.length * 1.5)));
      this.body.copy(b, 0, 0, this.count === 0 ? 0 : this.ends[this.count - 1]);
      this.body = b;
    }
  }

  ts(i: number): bigint {
    return this.tsArr[i];
  }

  /** Entry i's line and metadata (decoded on each call: reads of the open block are rare next to appends). */
  entry(i: number): { line: string; meta: Labels | undefined } {
    return readEntryBody(this.body, i === 0 ? 0 : this.ends[i - 1]);
  }

  /** Every entry of `other` appended after this block's (a failed seal's entries coming back). */
  addAll(other: OpenBlock): void {
    for (let i = 0; i < other.count; i++) {
      const e = other.entry(i);
      this.add(other.tsArr[i], e.line, e.meta, other.openedAtMs);
    }
  }

  /** The entries compressed into one block, in timestamp order (a stable sort: equal timestamps keep push order). */
  async seal(compression: BlockCompression): Promise<EncodedBlock> {
    const n = this.count;
    let order: Int32Array | undefined;
    if (!this.sorted) {
      const ts = this.tsArr;
      order = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => (ts[a] < ts[b] ? -1 : ts[a] > ts[b] ? 1 : a - b));
    }
    const at = (k: number) => (order ? order[k] : k);
    const bodyBytes = n === 0 ? 0 : this.ends[n - 1];
    const raw = Buffer.allocUnsafe(bodyBytes + 10 * n);
    let o = 0;
    const minTs = this.tsArr[at(0)];
    let prev = minTs;
    for (let k = 0; k < n; k++) {
      const i = at(k);
      const t = this.tsArr[i];
      o = putBigUvarint(raw, o, t - prev);
      prev = t;
      const from = i === 0 ? 0 : this.ends[i - 1];
      o += this.body.copy(raw, o, from, this.ends[i]);
    }
    return compressRawBlock(raw.subarray(0, o), minTs, prev, n, compression);
  }
}

export class LogStream {
  blocks: EncodedBlock[] = [];
  open = new OpenBlock();
  /** Open blocks handed to compression and not yet back. */
  sealing: OpenBlock[] = [];
  /** Newest and oldest timestamp accepted, for the out-of-order window and time pruning. */
  maxTs = -(2n ** 63n);
  minTs = 2n ** 63n - 1n;
  /** Compressed bytes in `blocks`, and raw bytes they hold. */
  storedBytes = 0;
  rawBytes = 0;

  constructor(
    readonly ref: number,
    readonly labels: Labels,
  ) {}

  append(ts: bigint, line: string, meta: Labels | undefined, nowMs: number): void {
    this.open.add(ts, line, meta, nowMs);
    this.widen(ts);
  }

  /** Appends an entry given as its body bytes (see OpenBlock.addBody). */
  appendBody(ts: bigint, src: Buffer, from: number, to: number, lineBytes: number, nowMs: number): void {
    this.open.addBody(ts, src, from, to, lineBytes, nowMs);
    this.widen(ts);
  }

  private widen(ts: bigint): void {
    if (ts > this.maxTs) this.maxTs = ts;
    if (ts < this.minTs) this.minTs = ts;
  }

  get needsSeal(): boolean {
    return this.open.bytes >= BLOCK_TARGET_BYTES;
  }

  /** Compresses the open block into a sealed one; reads see its entries throughout. */
  async seal(compression: BlockCompression): Promise<void> {
    const b = this.open;
    if (b.count === 0) return;
    this.open = new OpenBlock();
    this.sealing.push(b);
    try {
      const block = await b.seal(compression);
      this.blocks.push(block);
      this.storedBytes += block.data.length;
      this.rawBytes += block.rawBytes;
    } catch (e) {
      // Nothing is lost from the head: the entries go back into the open block.
      const later = this.open;
      this.open = b;
      b.addAll(later);
      throw e;
    } finally {
      this.sealing.splice(this.sealing.indexOf(b), 1);
    }
  }
}
