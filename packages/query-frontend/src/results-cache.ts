/**
 * The results cache of one split (the Cortex/Thanos extent design, one extent per key): the key
 * names (tenant, query, other parameters, step, grid phase, split interval, generations); the
 * value is the contiguous step range [start, end] answered so far. A request reuses the part it
 * overlaps and asks the queriers only for the steps before and after it.
 */
import { createHash } from 'node:crypto';
import type { CacheBackend } from './cache-backend.js';
import { cutAnswer, mergeAnswers, type RangeAnswer } from './range-result.js';

export interface Extent {
  start: number;
  end: number;
  answer: RangeAnswer;
}

export interface SplitKey {
  epoch: string;
  tenant: string;
  /** The query text and every parameter passed downstream besides start, end and step. */
  query: string;
  step: number;
  /**
   * Where the query's steps fall within a step (its start mod step): queries of one step whose
   * grids are shifted share no step, and an extent holds the steps of one grid only.
   */
  gridPhase: number;
  splitIndex: number;
  splitInterval: number;
  generation: number;
}

export function cacheKey(k: SplitKey): string {
  // Hashed: memcached keys are at most 250 bytes without spaces; a query is neither.
  const h = createHash('sha256');
  h.update([k.epoch, k.tenant, k.query, k.step, k.gridPhase, k.splitIndex, k.splitInterval, k.generation].join('\u0000'));
  return `qf1:${h.digest('base64url')}`;
}

export function encodeExtent(x: Extent): Buffer {
  return Buffer.from(JSON.stringify(x));
}

export function decodeExtent(b: Buffer | undefined): Extent | undefined {
  if (!b) return undefined;
  try {
    const x = JSON.parse(b.toString('utf8')) as Extent;
    return typeof x.start === 'number' && typeof x.end === 'number' && Array.isArray(x.answer?.series) ? x : undefined;
  } catch {
    return undefined;
  }
}

/** Roughly the memory an extent holds, for a byte-bounded in-process cache. */
export function extentBytes(x: Extent): number {
  let n = 64;
  for (const s of x.answer.series) {
    // A histogram sample holds its buckets: counted at a few hundred bytes.
    n += 64 + 48 * (s.values?.length ?? 0) + 400 * (s.histograms?.length ?? 0);
    for (const k in s.metric) n += 2 * (k.length + s.metric[k].length) + 16;
  }
  return n;
}

/** An extent object as an in-process cache held it (undefined unless it is one). */
export function asExtent(v: unknown): Extent | undefined {
  const x = v as Extent | undefined;
  return x && typeof x.start === 'number' && typeof x.end === 'number' && Array.isArray(x.answer?.series) ? x : undefined;
}

/** Step ranges of [start, end] that the extent lacks, in time order (0, 1 or 2 of them). */
export function missingRanges(start: number, end: number, step: number, x: Extent | undefined): { start: number; end: number }[] {
  if (!x || x.end < start || x.start > end) return [{ start, end }];
  const out: { start: number; end: number }[] = [];
  if (start < x.start) out.push({ start, end: x.start - step });
  if (end > x.end) out.push({ start: x.end + step, end });
  return out;
}

/**
 * The answer for [start, end] from the extent and the fetched pieces, and the extent to store
 * (undefined: nothing new to store). Only steps at or before `cacheableUntil` are stored.
 */
export function combine(
  start: number,
  end: number,
  step: number,
  cached: Extent | undefined,
  fetched: { start: number; end: number; answer: RangeAnswer }[],
  cacheableUntil: number,
): { answer: RangeAnswer; store: Extent | undefined } {
  const usable = cached && !(cached.end < start || cached.start > end) ? cached : undefined;
  const pieces: { start: number; end: number; answer: RangeAnswer }[] = [...fetched];
  if (usable) pieces.push(usable);
  pieces.sort((a, b) => a.start - b.start);
  // Merged once: the answer and the extent to store are cuts of the same merge.
  const merged = mergeAnswers(pieces.map((p) => p.answer));
  const answer = cutAnswer(merged, start, end);
  let store: Extent | undefined;
  if (fetched.length > 0 && fetched.every((f) => f.answer.warnings.length === 0)) {
    // The stored extent: what is known now (cached part kept, also beyond this request).
    const all = pieces;
    const from = Math.min(...all.map((p) => p.start));
    const last = Math.max(...all.map((p) => p.end));
    const until = Math.min(last, from + Math.floor((cacheableUntil - from) / step) * step);
    if (until >= from) {
      const cut = cutAnswer(merged, from, until);
      store = { start: from, end: until, answer: { series: cut.series, warnings: [], infos: cut.infos } };
      if (cached && store.start === cached.start && store.end === cached.end) store = undefined;
    }
  }
  return { answer, store };
}

export type { CacheBackend };
