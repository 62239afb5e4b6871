/**
 * One tenant's log head: streams indexed by their labels in the same postings index as the
 * metrics head, each stream's entries in compressed blocks. Implements LogQuerier; a query
 * decompresses each block it reads once, skips blocks outside the window, and skips blocks
 * whose raw bytes lack a required substring before decoding a single line.
 */
import { Labels, type Matcher } from '@strata/model';
import { PostingsIndex } from '@strata/tsdb';
import type { LogQuerier, LogSelectHints, LogStreamEntries } from '../types.js';
import { decodeRawBlock, decompressBlock, type BlockCompression, type DecodedEntries, type EncodedBlock } from '../chunk/block-codec.js';
import { LogStream, type OpenBlock } from './log-stream.js';
import { walkPushRecord } from '../store/wal-record.js';

export interface LogHeadOptions {
  compression?: BlockCompression;
  /** Seal an open block this long after its first entry even if it is small (ms). */
  blockMaxAgeMs?: number;
  now?: () => number;
  /** Told of failed background compressions (the entries stay in the open block). */
  onError?: (e: Error) => void;
}

export interface LogHeadStats {
  streams: number;
  entries: number;
  /** Bytes of compressed blocks and the raw bytes they hold. */
  storedBytes: number;
  rawBytes: number;
}

export class LogHead implements LogQuerier {
  private readonly byKey = new Map<string, LogStream>();
  private readonly streams: LogStream[] = [];
  private readonly postings = new PostingsIndex();
  private readonly compression: BlockCompression;
  private readonly now: () => number;
  private readonly inFlight = new Set<Promise<void>>();
  entries = 0;

  constructor(private readonly opts: LogHeadOptions = {}) {
    this.compression = opts.compression ?? 'zstd';
    this.now = opts.now ?? Date.now;
  }

  get numStreams(): number {
    return this.streams.length;
  }

  /** The stream with these labels, if the head has it. */
  stream(labels: Labels): LogStream | undefined {
    return this.byKey.get(labels.key());
  }

  private getOrCreate(labels: Labels): LogStream {
    let s = this.byKey.get(labels.key());
    if (!s) {
      s = new LogStream(this.streams.length, labels);
      this.streams.push(s);
      this.byKey.set(labels.key(), s);
      this.postings.add(s.ref, labels.pairs);
    }
    return s;
  }

  /** Appends entries (any order); blocks that fill up are compressed in the background. */
  append(labels: Labels, ts: BigInt64Array, lines: readonly string[], metadata: readonly (Labels | undefined)[] | undefined): void {
    const s = this.getOrCreate(labels);
    const now = this.now();
    for (let i = 0; i < lines.length; i++) {
      s.append(ts[i], lines[i], metadata?.[i], now);
      if (s.needsSeal) this.sealInBackground(s);
    }
    this.entries += lines.length;
  }

  /**
   * Appends every entry of a push record's payload (wal-record.ts), copying entry bodies as bytes:
   * no line becomes a string. `labels` are the record's streams' labels, in order; without them
   * they are decoded from the record (replay).
   */
  appendRecord(payload: Buffer, labels: readonly Labels[] | undefined): void {
    const now = this.now();
    let s: LogStream | undefined;
    walkPushRecord(payload, labels === undefined, {
      stream: (k, pairs) => {
        s = this.getOrCreate(labels ? labels[k] : Labels.fromSortedPairs(pairs!));
      },
      entry: (ts, from, to, lineBytes) => {
        s!.appendBody(ts, payload, from, to, lineBytes, now);
        if (s!.needsSeal) this.sealInBackground(s!);
        this.entries++;
      },
    });
  }

  private sealInBackground(s: LogStream): void {
    const p = s.seal(this.compression).catch((e: Error) => this.opts.onError?.(e));
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  /** Seals open blocks older than blockMaxAgeMs (call periodically). */
  cutIdle(): void {
    const age = this.opts.blockMaxAgeMs ?? 5 * 60_000;
    const now = this.now();
    for (const s of this.streams) if (s.open.count > 0 && now - s.open.openedAtMs >= age) this.sealInBackground(s);
  }

  /** Resolves once every block handed to compression is sealed (tests, shutdown). */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  /** Seals every open block now and waits for it. */
  async sealAll(): Promise<void> {
    for (const s of this.streams) if (s.open.count > 0) this.sealInBackground(s);
    await this.settle();
  }

  stats(): LogHeadStats {
    let storedBytes = 0;
    let rawBytes = 0;
    for (const s of this.streams) {
      storedBytes += s.storedBytes;
      rawBytes += s.rawBytes;
    }
    return { streams: this.streams.length, entries: this.entries, storedBytes, rawBytes };
  }

  private selected(matchers: readonly Matcher[], hints: LogSelectHints): LogStream[] {
    const refs = matchers.length > 0 ? this.postings.select(matchers) : this.postings.allRefs();
    const out: LogStream[] = [];
    for (let i = 0; i < refs.length; i++) {
      const s = this.streams[refs[i]];
      if (s.maxTs >= hints.startNs && s.minTs < hints.endNs) out.push(s);
    }
    return out;
  }

  async selectLogs(matchers: readonly Matcher[], hints: LogSelectHints): Promise<LogStreamEntries[]> {
    const out: LogStreamEntries[] = [];
    const needles = (hints.requiredSubstrings ?? []).filter((n) => n.length > 0).map((n) => Buffer.from(n));
    for (const s of this.selected(matchers, hints)) {
      hints.signal?.throwIfAborted();
      const got: DecodedEntries = { ts: [], lines: [], metadata: undefined };
      for (const b of s.blocks) {
        if (b.maxTs < hints.startNs || b.minTs >= hints.endNs) continue;
        await readBlock(b, needles, hints, got);
      }
      for (const ob of [...s.sealing, s.open]) readOpen(ob, hints, got);
      const e = finish(s.labels, got, hints);
      if (e) out.push(e);
    }
    return out;
  }

  async series(matchers: readonly Matcher[], hints: LogSelectHints): Promise<Labels[]> {
    return this.selected(matchers, hints).map((s) => s.labels);
  }

  async labelNames(matchers: readonly Matcher[], hints: LogSelectHints): Promise<string[]> {
    const names = new Set<string>();
    for (const s of this.selected(matchers, hints)) for (let i = 0; i < s.labels.pairs.length; i += 2) names.add(s.labels.pairs[i]);
    return [...names].sort();
  }

  async labelValues(name: string, matchers: readonly Matcher[], hints: LogSelectHints): Promise<string[]> {
    const values = new Set<string>();
    for (const s of this.selected(matchers, hints)) {
      const v = s.labels.get(name);
      if (v !== '') values.add(v);
    }
    return [...values].sort();
  }

  /** Every stream with all its entries, sorted (for block writing and replication tests). */
  allStreams(): LogStream[] {
    return this.streams;
  }
}

export async function readBlock(b: EncodedBlock, needles: Buffer[], hints: LogSelectHints, into: DecodedEntries): Promise<void> {
  const raw = await decompressBlock(b);
  // A line holding the needle means the block's bytes hold it: one memmem per needle skips the rest.
  for (const n of needles) if (raw.indexOf(n) < 0) return;
  const startNs = hints.startNs;
  const endNs = hints.endNs;
  const filter = hints.lineFilter;
  const inWindow = b.minTs >= startNs && b.maxTs < endNs;
  const part: DecodedEntries = inWindow ? into : { ts: [], lines: [], metadata: undefined };
  decodeRawBlock(raw, b.minTs, b.count, part, filter);
  if (inWindow) return;
  for (let i = 0; i < part.ts.length; i++) {
    const t = part.ts[i];
    if (t >= startNs && t < endNs) pushEntry(into, t, part.lines[i], part.metadata?.[i]);
  }
}

function readOpen(ob: OpenBlock, hints: LogSelectHints, into: DecodedEntries): void {
  const filter = hints.lineFilter;
  for (let i = 0; i < ob.count; i++) {
    const t = ob.ts(i);
    if (t < hints.startNs || t >= hints.endNs) continue;
    const e = ob.entry(i);
    if (filter && !filter(e.line)) continue;
    pushEntry(into, t, e.line, e.meta);
  }
}

function pushEntry(into: DecodedEntries, t: bigint, line: string, meta: Labels | undefined): void {
  into.ts.push(t);
  into.lines.push(line);
  if (meta) {
    into.metadata ??= new Array(into.lines.length - 1).fill(undefined);
    into.metadata.push(meta);
  } else into.metadata?.push(undefined);
}

/** Every entry of several parts of one stream, in the parts' order (the order `finish` keeps the first of repeats by). */
export function gatherEntries(parts: readonly LogStreamEntries[]): DecodedEntries {
  const got: DecodedEntries = { ts: [], lines: [], metadata: undefined };
  for (const p of parts) for (let i = 0; i < p.lines.length; i++) pushEntry(got, p.timestampsNs[i], p.lines[i], p.metadata?.[i]);
  return got;
}

/**
 * Sorted by timestamp (stable), exact duplicates (same timestamp and line, as a retried push or
 * a second replica gives) dropped, and cut to `limit` at the end the direction reads from.
 */
export function finish(
  labels: Labels,
  got: DecodedEntries,
  hints: Pick<LogSelectHints, 'limit' | 'direction'>,
): LogStreamEntries | undefined {
  const n = got.ts.length;
  if (n === 0) return undefined;
  let sorted = true;
  for (let i = 1; i < n && sorted; i++) if (got.ts[i] < got.ts[i - 1]) sorted = false;
  let idx: number[] | undefined;
  if (!sorted) {
    idx = Array.from({ length: n }, (_, i) => i);
    idx.sort((a, b) => (got.ts[a] < got.ts[b] ? -1 : got.ts[a] > got.ts[b] ? 1 : a - b));
  }
  const at = (k: number) => (idx ? idx[k] : k);
  const keep: number[] = [];
  for (let k = 0; k < n; k++) {
    const i = at(k);
    if (keep.length > 0) {
      // Duplicates share a timestamp: look back over the run of equal timestamps only.
      let dup = false;
      for (let j = keep.length - 1; j >= 0 && got.ts[keep[j]] === got.ts[i]; j--) {
        if (got.lines[keep[j]] === got.lines[i]) {
          dup = true;
          break;
        }
      }
      if (dup) continue;
    }
    keep.push(i);
  }
  let sel = keep;
  const limit = hints.limit;
  if (limit !== undefined && limit >= 0 && sel.length > limit)
    sel = hints.direction === 'backward' ? sel.slice(sel.length - limit) : sel.slice(0, limit);
  if (sel.length === 0) return undefined;
  const ts = BigInt64Array.from(sel, (i) => got.ts[i]);
  const lines = sel.map((i) => got.lines[i]);
  const md = got.metadata;
  const metadata = md && sel.some((i) => md[i] !== undefined) ? sel.map((i) => md[i]) : undefined;
  return metadata ? { labels, timestampsNs: ts, lines, metadata } : { labels, timestampsNs: ts, lines };
}
