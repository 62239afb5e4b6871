/**
 * One stream in the head: sealed, compressed blocks plus the open block still taking entries.
 * The open block is sealed once it holds BLOCK_TARGET_BYTES of lines (Loki's block_size) or
 * when it is older than the head's block age; compression runs off the append path, and
 * entries being compressed stay readable in `sealing` until their block is in place.
 */
import type { Labels } from '@strata/model';
import type { BlockCompression, EncodedBlock } from '../chunk/block-codec.js';
import { encodeBlock } from '../chunk/block-codec.js';

/** Loki's default block_size: 256 KiB of uncompressed entries per compressed block. */
export const BLOCK_TARGET_BYTES = 256 * 1024;

export class OpenBlock {
  ts: bigint[] = [];
  lines: string[] = [];
  metadata: (Labels | undefined)[] | undefined;
  bytes = 0;
  /** Wall-clock ms of the first append, for the age cut. */
  openedAtMs = 0;
  /** Whether entries arrived in timestamp order (then no sort is needed to seal or read). */
  sorted = true;

  add(ts: bigint, line: string, meta: Labels | undefined, nowMs: number): void {
    const n = this.lines.length;
    if (n === 0) this.openedAtMs = nowMs;
    else if (ts < this.ts[n - 1]) this.sorted = false;
    this.ts.push(ts);
    this.lines.push(line);
    if (meta) {
      this.metadata ??= new Array(n).fill(undefined);
      this.metadata.push(meta);
    } else this.metadata?.push(undefined);
    this.bytes += line.length + 16;
  }

  /** The entries in timestamp order (a stable sort: equal timestamps keep push order). */
  sortedView(): { ts: BigInt64Array; lines: string[]; metadata: (Labels | undefined)[] | undefined } {
    if (this.sorted) return { ts: BigInt64Array.from(this.ts), lines: this.lines, metadata: this.metadata };
    const idx = this.ts.map((_, i) => i);
    idx.sort((a, b) => (this.ts[a] < this.ts[b] ? -1 : this.ts[a] > this.ts[b] ? 1 : a - b));
    return {
      ts: BigInt64Array.from(idx, (i) => this.ts[i]),
      lines: idx.map((i) => this.lines[i]),
      metadata: this.metadata ? idx.map((i) => this.metadata![i]) : undefined,
    };
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
    if (ts > this.maxTs) this.maxTs = ts;
    if (ts < this.minTs) this.minTs = ts;
  }

  get needsSeal(): boolean {
    return this.open.bytes >= BLOCK_TARGET_BYTES;
  }

  /** Compresses the open block into a sealed one; reads see its entries throughout. */
  async seal(compression: BlockCompression): Promise<void> {
    const b = this.open;
    if (b.lines.length === 0) return;
    this.open = new OpenBlock();
    this.sealing.push(b);
    try {
      const v = b.sortedView();
      const block = await encodeBlock(v.ts, v.lines, v.metadata, compression);
      this.blocks.push(block);
      this.storedBytes += block.data.length;
      this.rawBytes += block.rawBytes;
    } catch (e) {
      // Nothing is lost from the head: the entries go back into the open block.
      for (let i = 0; i < b.lines.length; i++) this.open.add(b.ts[i], b.lines[i], b.metadata?.[i], b.openedAtMs);
      throw e;
    } finally {
      this.sealing.splice(this.sealing.indexOf(b), 1);
    }
  }
}
