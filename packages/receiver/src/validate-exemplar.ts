/**
 * Exemplar validation as Mimir's distributor and Prometheus' exemplar storage do it. An invalid
 * exemplar never fails its request: it is dropped, its samples land, and it is counted in
 * strata_discarded_exemplars_total under one of the reasons below (Mimir's names, plus the two
 * the storage decides: a series that does not exist, an exemplar out of order).
 */
import type { ExemplarRecord } from '@strata/remote';

/**
 * The combined length of an exemplar's label names and values, in Unicode code points, above
 * which it is dropped (OpenMetrics' limit, which Prometheus' storage and Mimir's distributor
 * enforce; quotes, commas and equals signs of the text rendering do not count).
 */
export const EXEMPLAR_MAX_LABEL_SET_LENGTH = 128;

/**
 * Exemplars more than this before the earliest sample of their request are dropped, as Mimir
 * drops them: client libraries never expire an exemplar, so a scrape resends the same old one
 * until a new observation replaces it.
 */
export const EXEMPLAR_MAX_AGE_BEFORE_SAMPLES_MS = 5 * 60 * 1000;

export type ExemplarDiscardReason =
  /** No labels at all. */
  | 'exemplar_labels_missing'
  /** Labels, but none with both a name and a value. */
  | 'exemplar_labels_blank'
  | 'exemplar_labels_too_long'
  /** Timestamp 0: the sender had none to give. */
  | 'exemplar_timestamp_invalid'
  | 'exemplar_too_old'
  | 'exemplar_too_far_in_future'
  | 'too_many_exemplars_per_series_per_request'
  /** Sent without samples for a series the head does not hold: an exemplar never creates a series. */
  | 'exemplar_series_missing'
  /** Before the series' newest exemplar (tsdb exemplarOrder). */
  | 'exemplar_out_of_order';

/**
 * Why exemplar `e` must be dropped, or undefined if it may be stored. `minT`/`maxT` bound its
 * timestamp: the earliest sample of the request minus EXEMPLAR_MAX_AGE_BEFORE_SAMPLES_MS (or
 * -Infinity for a request without samples), and now plus the creation grace period.
 * Checked in Mimir's order, so a bad exemplar is counted under the reason Mimir would give.
 */
export function exemplarDiscardReason(e: ExemplarRecord, minT: number, maxT: number): ExemplarDiscardReason | undefined {
  const l = e.labels;
  if (l.length === 0) return 'exemplar_labels_missing';
  if (e.timestamp === 0) return 'exemplar_timestamp_invalid';
  let length = 0;
  let usable = false;
  for (let i = 0; i + 1 < l.length; i += 2) {
    length += codePoints(l[i]) + codePoints(l[i + 1]);
    if (l[i] !== '' && l[i + 1] !== '') usable = true;
  }
  if (length > EXEMPLAR_MAX_LABEL_SET_LENGTH) return 'exemplar_labels_too_long';
  if (!usable) return 'exemplar_labels_blank';
  if (e.timestamp < minT) return 'exemplar_too_old';
  if (e.timestamp > maxT) return 'exemplar_too_far_in_future';
  return undefined;
}

/** Unicode code points of a string (Go's utf8.RuneCountInString of its UTF-8): a surrogate pair counts once. */
export function codePoints(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length - 1; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}
