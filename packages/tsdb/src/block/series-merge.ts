/**
 * Merges the chunks of one series from several blocks (vertical compaction). Chunks that overlap
 * no other chunk pass through untouched (the same bytes); a set of byte-identical chunks (the RF
 * copies of one head chunk) passes through once; every other group of overlapping chunks is
 * decoded, merged by timestamp and re-encoded in chunks of `samplesPerChunk` samples.
 *
 * Same timestamp in several sources: identical values (compared bit for bit, so stale markers and
 * NaN payloads count as values) become one sample; different values are a conflict, resolved by
 * taking the value of the source that comes first in the caller's order (for the compactor:
 * replica label, then ULID), and counted.
 */
import { decodeXORBits, xorNumSamples, XOREncoder } from '../chunkenc/xor.js';
import type { BlockChunk } from './block-writer.js';

export interface SourceChunks {
  /** Position of the source in the caller's order: the lowest wins conflicts. */
  src: number;
  /** In time order, not overlapping each other. */
  chunks: readonly BlockChunk[];
}

/** Inclusive time range whose samples are dropped. */
export interface DeletionInterval {
  mint: number;
  maxt: number;
}

export interface MergeCounters {
  /** Chunks written as they were read. */
  chunksPassedThrough: number;
  /** Chunks dropped because a byte-identical copy was kept. */
  identicalChunksDropped: number;
  /** Chunks written by re-encoding merged or filtered samples. */
  chunksReencoded: number;
  /** Timestamps for which sources held different values. */
  conflictingSamples: number;
  /** Samples of the same timestamp and value dropped in favour of one copy (in decoded groups). */
  duplicateSamples: number;
  /** Samples dropped by deletion intervals. */
  deletedSamples: number;
}

export function newMergeCounters(): MergeCounters {
  return {
    chunksPassedThrough: 0,
    identicalChunksDropped: 0,
    chunksReencoded: 0,
    conflictingSamples: 0,
    duplicateSamples: 0,
    deletedSamples: 0,
  };
}

interface Tagged {
  c: BlockChunk;
  src: number;
}

// Scratch space for decoded groups, grown on demand; the merge is synchronous, so sharing is safe.
let ts = new Float64Array(1024);
let bits = new Uint32Array(2048);
let srcOf = new Uint32Array(1024);
let order = new Uint32Array(1024);

function room(n: number): void {
  if (ts.length >= n) return;
  const size = Math.max(n, ts.length * 2);
  ts = new Float64Array(size);
  bits = new Uint32Array(2 * size);
  srcOf = new Uint32Array(size);
  order = new Uint32Array(size);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function deletes(dels: readonly DeletionInterval[], mint: number, maxt: number): boolean {
  for (const d of dels) if (d.mint <= maxt && d.maxt >= mint) return true;
  return false;
}

function deleted(dels: readonly DeletionInterval[], t: number): boolean {
  for (const d of dels) if (t >= d.mint && t <= d.maxt) return true;
  return false;
}

/** Whether the group [i, j] consists of copies of one chunk. */
function allIdentical(all: Tagged[], i: number, j: number): boolean {
  const f = all[i].c;
  for (let k = i + 1; k <= j; k++) {
    const c = all[k].c;
    if (c.minT !== f.minT || c.maxT !== f.maxT || !sameBytes(c.data, f.data)) return false;
  }
  return true;
}

/**
 * The merged chunks of one series, in time order, not overlapping. `overlapped` in the result
 * tells whether any chunks overlapped (the series needed a merge).
 */
export function mergeSeriesChunks(
  sources: readonly SourceChunks[],
  dels: readonly DeletionInterval[],
  samplesPerChunk: number,
  counters: MergeCounters,
): { chunks: BlockChunk[]; overlapped: boolean } {
  const all: Tagged[] = [];
  for (const s of sources) for (const c of s.chunks) all.push({ c, src: s.src });
  all.sort((a, b) => a.c.minT - b.c.minT || a.src - b.src);
  const out: BlockChunk[] = [];
  let overlapped = false;
  for (let i = 0; i < all.length;) {
    let j = i;
    let maxT = all[i].c.maxT;
    while (j + 1 < all.length && all[j + 1].c.minT <= maxT) {
      j++;
      if (all[j].c.maxT > maxT) maxT = all[j].c.maxT;
    }
    if (j > i) overlapped = true;
    const minT = all[i].c.minT;
    if (!deletes(dels, minT, maxT)) {
      if (j === i) {
        out.push(all[i].c);
        counters.chunksPassedThrough++;
      } else if (allIdentical(all, i, j)) {
        out.push(all[i].c);
        counters.chunksPassedThrough++;
        counters.identicalChunksDropped += j - i;
      } else decodeAndMerge(all, i, j, dels, samplesPerChunk, counters, out);
    } else decodeAndMerge(all, i, j, dels, samplesPerChunk, counters, out);
    i = j + 1;
  }
  return { chunks: out, overlapped };
}

function decodeAndMerge(
  all: Tagged[],
  i: number,
  j: number,
  dels: readonly DeletionInterval[],
  samplesPerChunk: number,
  counters: MergeCounters,
  out: BlockChunk[],
): void {
  let n = 0;
  for (let k = i; k <= j; k++) n += xorNumSamples(all[k].c.data);
  room(n);
  let m = 0;
  for (let k = i; k <= j; k++) {
    const from = m;
    m = decodeXORBits(all[k].c.data, ts, bits, m, -Infinity, Infinity);
    srcOf.fill(all[k].src, from, m);
  }
  const ord = order.subarray(0, m);
  for (let k = 0; k < m; k++) ord[k] = k;
  // By timestamp, then source order: the first sample of a timestamp is the one kept.
  ord.sort((a, b) => ts[a] - ts[b] || srcOf[a] - srcOf[b]);
  let enc: XOREncoder | undefined;
  let first = 0;
  let last = 0;
  const cut = () => {
    if (!enc) return;
    out.push({ minT: first, maxT: last, data: enc.bytes().slice() });
    counters.chunksReencoded++;
    enc = undefined;
  };
  for (let k = 0; k < m;) {
    const a = ord[k];
    const t = ts[a];
    const hi = bits[2 * a + 1];
    const lo = bits[2 * a];
    let e = k + 1;
    let conflict = false;
    for (; e < m && ts[ord[e]] === t; e++) {
      const b = ord[e];
      if (bits[2 * b + 1] !== hi || bits[2 * b] !== lo) conflict = true;
      else counters.duplicateSamples++;
    }
    if (conflict) counters.conflictingSamples++;
    k = e;
    if (dels.length > 0 && deleted(dels, t)) {
      counters.deletedSamples++;
      continue;
    }
    if (!enc) {
      enc = new XOREncoder(256);
      first = t;
    }
    enc.appendBits(t, hi, lo);
    last = t;
    if (enc.numSamples >= samplesPerChunk) cut();
  }
  cut();
}
