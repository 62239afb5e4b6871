/**
 * Prometheus 3's experimental `anchored` and `smoothed` range selectors (x[5m] anchored). Both
 * read samples outside the written range: anchored takes the newest sample at or before the range
 * start (within the lookback delta) as the value there, so increase() sees the whole change
 * across the range without extrapolating; smoothed interpolates linearly at both ends between the
 * samples around them, reading up to the lookback delta after the range end.
 */
import { StrataError } from '@strata/model';
import type { RangeModifier } from '../ast.js';
import { isStale } from './stale.js';

const ANCHORED_SAFE = ['changes', 'delta', 'increase', 'rate', 'resets'];
const SMOOTHED_SAFE = ['delta', 'increase', 'rate'];

/** Prometheus' refusal of a function whose answer the samples outside the range would falsify. */
export function checkRangeModifier(func: string, m: RangeModifier): void {
  const safe = m === 'anchored' ? ANCHORED_SAFE : SMOOTHED_SAFE;
  if (!safe.includes(func))
    throw new StrataError('query-execution', `${m} modifier can only be used with: ${safe.join(', ')} - not with ${func}`);
}

/**
 * How far before the range start and after its end a modified selector reads, beyond what it
 * would without the modifier (an instant selector's range being the lookback it has anyway).
 */
export function rangeModifierReach(m: RangeModifier | undefined, lookbackMs: number, instant = false): { back: number; forward: number } {
  if (!m) return { back: 0, forward: 0 };
  return { back: instant ? 0 : lookbackMs, forward: m === 'smoothed' ? lookbackMs : 0 };
}

/** Index of the first sample in [from, to) after t, else to. */
function firstAfter(ts: Float64Array, from: number, to: number, t: number): number {
  let i = from;
  while (i < to && ts[i] <= t) i++;
  return i;
}

/** Value at t on the line between samples a and b; a counter reset between them counts from 0. */
function interpolate(ts: Float64Array, vs: Float64Array, a: number, b: number, t: number, isCounter: boolean): number {
  const y1 = isCounter && vs[b] < vs[a] ? 0 : vs[a];
  return y1 + ((vs[b] - y1) * (t - ts[a])) / (ts[b] - ts[a]);
}

/**
 * rate/increase/delta of an anchored or smoothed range (start, end] over the float samples
 * [from, to), which hold everything the modifier may read; undefined when nothing is measured.
 */
export function extendedRate(
  ts: Float64Array,
  vs: Float64Array,
  from: number,
  to: number,
  start: number,
  end: number,
  smoothed: boolean,
  isCounter: boolean,
): number | undefined {
  if (to <= from) return undefined;
  let last = to - 1;
  // The left boundary sample: the newest at or before the start, else the first one.
  const first = Math.max(from, firstAfter(ts, from, last, start) - 1);
  if (smoothed) {
    let i = from;
    while (i < last && ts[i] < end) i++;
    last = i;
  }
  if (ts[last] <= start) return undefined;
  if (smoothed && ts[first] > end) return undefined;
  const left = smoothed && ts[first] < start ? interpolate(ts, vs, first, first + 1, start, isCounter) : vs[first];
  const right = smoothed && last > from && ts[last] > end ? interpolate(ts, vs, last - 1, last, end, isCounter) : vs[last];
  let result = right - left;
  if (isCounter) {
    // The boundary values already account for a reset next to them; count those strictly inside.
    const a = ts[first] <= start ? first + 1 : first;
    const b = ts[last] >= end ? last - 1 : last;
    let prev = left;
    for (let i = a; i <= b; i++) {
      if (vs[i] < prev) result += prev;
      prev = vs[i];
    }
    if (right < prev) result += prev;
  }
  return result;
}

/**
 * Where an anchored changes() or resets() window begins: the newest sample at or before the range
 * start when there is one, given [from, to) holding the samples up to a lookback before it;
 * undefined when no sample lies after the start.
 */
export function anchoredFrom(ts: Float64Array, from: number, to: number, start: number): number | undefined {
  const after = firstAfter(ts, from, to, start);
  if (after >= to) return undefined;
  return after > from ? after - 1 : after;
}

/**
 * A smoothed instant selector's value at t from the float samples [from, to) within a lookback
 * either side of it (stale markers skipped): the sample at t, else the line between the samples
 * around t, else the newest one before t; undefined before the first.
 */
export function smoothedAt(ts: Float64Array, vs: Float64Array, from: number, to: number, t: number): number | undefined {
  let prev = -1;
  for (let i = from; i < to; i++) {
    if (isStale(vs, i)) continue;
    if (ts[i] === t) return vs[i];
    if (ts[i] > t) return prev < 0 ? undefined : interpolate(ts, vs, prev, i, t, false);
    prev = i;
  }
  return prev < 0 ? undefined : vs[prev];
}
