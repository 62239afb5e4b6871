/**
 * Merges the chunks of one series from several blocks (vertical compaction). Chunks that overlap
 * no other chunk pass through untouched (the same bytes); a set of byte-identical chunks (the RF
 * copies of one head chunk) passes through once; every other group of overlapping chunks is
 * decoded, merged by timestamp and re-encoded in chunks of `samplesPerChunk` samples.
 *
 * Same timestamp in several sources: identical values (compared bit for bit, so stale markers and
 * NaN payloads count as values) become one sample; different values are a conflict, resolved by
 * taking the value of the source that comes first in the caller's order (for the compactor:
 * replica label, then ULID), and counted. Native histogram samples are deduplicated the same way
 * (every field compared); a float and a histogram at one timestamp are a conflict.
 */
import { decodeXORBits, xorNumSamples, XOREncoder } from '../chunkenc/xor.js';
import type { BlockChunk } from './block-writer.js';
import { decodeHistogramsOf, isHistogramEncoding, MixedChunkWriter, sameHistogram, type DecodedHistogram } from './histogram-chunks.js';
import { verifyChunk } from './series-stream.js';

/** A chunk of source `src` is broken (the caller names the block). */
export class SourceChunkError extends Error {
  constructor(
    readonly src: number,
    readonly reason: string,
  ) {
    super(reason);
  }
}

function check(c: BlockChunk, src: number): void {
  const bad = verifyChunk(c);
  if (bad) throw new SourceChunkError(src, bad);
}

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
let runStart = new Uint32Array(8);
let runEnd = new Uint32Array(8);

function room(n: number): void {
  if (ts.length >= n) return;
  const size = Math.max(n, ts.length * 2);
  ts = new Float64Array(size);
  bits = new Uint32Array(2 * size);
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
    if (c.minT !== f.minT || c.maxT !== f.maxT || (c.encoding ?? 1) !== (f.encoding ?? 1) || !sameBytes(c.data, f.data)) return false;
  }
  return true;
}

/**
 * The merged chunks of one series, in time order, not overlapping. `overlapped` in the result
 * tells whether any chunks overlapped (the series needed a merge). With `verify`, every chunk is
 * checked as it is decoded (verifyChunk's rules; a passed-through chunk is decoded for that
 * alone, one of identical copies once): a broken one throws SourceChunkError.
 */
export function mergeSeriesChunks(
  sources: readonly SourceChunks[],
  dels: readonly DeletionInterval[],
  samplesPerChunk: number,
  counters: MergeCounters,
  verify = false,
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
        if (verify) check(all[i].c, all[i].src);
        out.push(all[i].c);
        counters.chunksPassedThrough++;
      } else if (allIdentical(all, i, j)) {
        if (verify) check(all[i].c, all[i].src);
        out.push(all[i].c);
        counters.chunksPassedThrough++;
        counters.identicalChunksDropped += j - i;
      } else decodeAndMerge(all, i, j, dels, samplesPerChunk, counters, out, verify);
    } else decodeAndMerge(all, i, j, dels, samplesPerChunk, counters, out, verify);
    i = j + 1;
  }
  return { chunks: out, overlapped };
}

/** Whether all[k] has a byte-identical copy of a lower source in the group [i, j]. */
function hasEarlierCopy(all: Tagged[], i: number, j: number, k: number): boolean {
  const c = all[k].c;
  for (let q = i; q <= j; q++) {
    const o = all[q];
    if (
      o.src < all[k].src &&
      o.c.minT === c.minT &&
      o.c.maxT === c.maxT &&
      (o.c.encoding ?? 1) === (c.encoding ?? 1) &&
      sameBytes(o.c.data, c.data)
    )
      return true;
  }
  return false;
}

/** verifyChunk's rules over a chunk decoded into ts[from, to) of a run starting at runFrom. */
function checkDecoded(t: Tagged, from: number, to: number, runFrom: number): void {
  const c = t.c;
  const n = xorNumSamples(c.data);
  if (n === 0) throw new SourceChunkError(t.src, 'empty chunk');
  if (to - from !== n) throw new SourceChunkError(t.src, `chunk decodes to ${to - from} of its ${n} samples`);
  if (ts[from] < c.minT || ts[to - 1] > c.maxT)
    throw new SourceChunkError(t.src, `chunk samples [${ts[from]}, ${ts[to - 1]}] outside its index range [${c.minT}, ${c.maxT}]`);
  for (let k = Math.max(from, runFrom + 1); k < to; k++)
    if (!(ts[k] > ts[k - 1])) throw new SourceChunkError(t.src, `chunk timestamps out of order at sample ${k - from}`);
}

function decodeAndMerge(
  all: Tagged[],
  i: number,
  j: number,
  dels: readonly DeletionInterval[],
  samplesPerChunk: number,
  counters: MergeCounters,
  out: BlockChunk[],
  verify: boolean,
): void {
  for (let k = i; k <= j; k++)
    if (isHistogramEncoding(all[k].c.encoding)) return decodeAndMergeMixed(all, i, j, dels, samplesPerChunk, counters, out, verify);
  let n = 0;
  for (let k = i; k <= j; k++) n += xorNumSamples(all[k].c.data);
  room(n);
  // One sorted run per source: a source's chunks do not overlap and come here in time order.
  const srcs = [...new Set(all.slice(i, j + 1).map((t) => t.src))].sort((a, b) => a - b);
  const runs = srcs.length;
  if (runStart.length < runs) {
    runStart = new Uint32Array(runs * 2);
    runEnd = new Uint32Array(runs * 2);
  }
  let m = 0;
  for (let r = 0; r < runs; r++) {
    runStart[r] = m;
    for (let k = i; k <= j; k++) {
      const t = all[k];
      if (t.src !== srcs[r]) continue;
      // A byte-identical copy of an earlier source's chunk adds only duplicates: not decoded.
      if (hasEarlierCopy(all, i, j, k)) {
        counters.identicalChunksDropped++;
        counters.duplicateSamples += xorNumSamples(t.c.data);
        continue;
      }
      const from = m;
      try {
        m = decodeXORBits(t.c.data, ts, bits, m, -Infinity, Infinity);
      } catch (e) {
        throw new SourceChunkError(t.src, (e as Error).message);
      }
      if (verify) checkDecoded(t, from, m, runStart[r]);
    }
    runEnd[r] = m;
  }
  let enc: XOREncoder | undefined;
  let first = 0;
  let last = 0;
  const cut = () => {
    if (!enc) return;
    out.push({ minT: first, maxT: last, data: enc.bytes().slice() });
    counters.chunksReencoded++;
    enc = undefined;
  };
  // k-way merge by timestamp; runs are in source order and a tie goes to the earlier run, so the
  // sample kept for a timestamp is the first source's.
  for (;;) {
    let best = -1;
    let t = Infinity;
    for (let r = 0; r < runs; r++) {
      const p = runStart[r];
      if (p < runEnd[r] && ts[p] < t) {
        t = ts[p];
        best = r;
      }
    }
    if (best < 0) break;
    const a = runStart[best]++;
    const hi = bits[2 * a + 1];
    const lo = bits[2 * a];
    let conflict = false;
    for (let r = best + 1; r < runs; r++) {
      const p = runStart[r];
      if (p < runEnd[r] && ts[p] === t) {
        if (bits[2 * p + 1] !== hi || bits[2 * p] !== lo) conflict = true;
        else counters.duplicateSamples++;
        runStart[r]++;
      }
    }
    if (conflict) counters.conflictingSamples++;
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

/** One source's samples of a group being merged: floats as value bits, histograms decoded. */
interface MixedRun {
  ts: number[];
  /** hi, lo words of float values (unused where hs is set). */
  bits: number[];
  hs: (DecodedHistogram | undefined)[];
}

/**
 * decodeAndMerge for a group holding histogram chunks: the same merge by timestamp, source order
 * deciding ties and conflicts, written back through MixedChunkWriter (histogram-chunks.ts).
 */
function decodeAndMergeMixed(
  all: Tagged[],
  i: number,
  j: number,
  dels: readonly DeletionInterval[],
  samplesPerChunk: number,
  counters: MergeCounters,
  out: BlockChunk[],
  verify: boolean,
): void {
  const srcs = [...new Set(all.slice(i, j + 1).map((t) => t.src))].sort((a, b) => a - b);
  const runs: MixedRun[] = [];
  for (const src of srcs) {
    const run: MixedRun = { ts: [], bits: [], hs: [] };
    for (let k = i; k <= j; k++) {
      const t = all[k];
      if (t.src !== src) continue;
      if (hasEarlierCopy(all, i, j, k)) {
        counters.identicalChunksDropped++;
        counters.duplicateSamples += xorNumSamples(t.c.data);
        continue;
      }
      if (verify) check(t.c, t.src);
      const from = run.ts.length;
      try {
        if (isHistogramEncoding(t.c.encoding)) {
          decodeHistogramsOf(t.c, run.ts, run.hs);
          for (let q = from; q < run.ts.length; q++) run.bits.push(0, 0);
        } else {
          const n = xorNumSamples(t.c.data);
          room(n);
          const got = decodeXORBits(t.c.data, ts, bits, 0, -Infinity, Infinity);
          for (let q = 0; q < got; q++) {
            run.ts.push(ts[q]);
            run.bits.push(bits[2 * q + 1], bits[2 * q]);
            run.hs.push(undefined);
          }
        }
      } catch (e) {
        throw new SourceChunkError(t.src, (e as Error).message);
      }
      if (verify && from > 0 && !(run.ts[from] > run.ts[from - 1]))
        throw new SourceChunkError(t.src, `chunk timestamps out of order at sample 0`);
    }
    runs.push(run);
  }
  const w = new MixedChunkWriter(samplesPerChunk, out, () => counters.chunksReencoded++);
  const pos = new Array<number>(runs.length).fill(0);
  for (;;) {
    let best = -1;
    let t = Infinity;
    for (let r = 0; r < runs.length; r++) {
      const p = pos[r];
      if (p < runs[r].ts.length && runs[r].ts[p] < t) {
        t = runs[r].ts[p];
        best = r;
      }
    }
    if (best < 0) break;
    const run = runs[best];
    const a = pos[best]++;
    const h = run.hs[a];
    let conflict = false;
    for (let r = best + 1; r < runs.length; r++) {
      const o = runs[r];
      const p = pos[r];
      if (p >= o.ts.length || o.ts[p] !== t) continue;
      const oh = o.hs[p];
      const same =
        h && oh ? sameHistogram(h, oh) : !h && !oh && o.bits[2 * p] === run.bits[2 * a] && o.bits[2 * p + 1] === run.bits[2 * a + 1];
      if (same) counters.duplicateSamples++;
      else conflict = true;
      pos[r]++;
    }
    if (conflict) counters.conflictingSamples++;
    if (dels.length > 0 && deleted(dels, t)) {
      counters.deletedSamples++;
      continue;
    }
    if (h) w.histogram(t, h);
    else w.float(t, run.bits[2 * a], run.bits[2 * a + 1]);
  }
  w.finish();
}
