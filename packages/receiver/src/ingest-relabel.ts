/**
 * A tenant's `metric_relabel_configs` applied to a client's write, in place, before anything
 * else looks at the series: the rate limit, validation, placement on the ring and the heads all
 * see the relabelled series, so a rule that drops or rewrites a label changes where the series
 * lives and what it costs. Applied once, by the receiver that took the request from the client;
 * replicas get the result (relabelling twice is not idempotent in general).
 *
 * Senders repeat the same label bytes for a series on every request, so the outcome is remembered
 * per wire hash and confirmed against the bytes (a hash only finds a candidate): an unchanged
 * series costs a lookup and a byte comparison, not a decode and ten regex matches.
 */
import { relabel, type RelabelRule } from '@strata/model';
import { RELABELLED_LABELS, type SeriesRecord, type WriteBatch } from '@strata/remote';

/** The outcome for one label set as sent: a copy of its wire bytes, and unchanged, new pairs, or dropped. */
interface Outcome {
  bytes: Buffer;
  output: readonly string[] | null | typeof UNCHANGED;
  /** Of the output pairs, when rewritten. */
  hash: number;
}

const UNCHANGED = Symbol('unchanged');

/**
 * Remembered outcomes per rule set (about 300 bytes each: the label bytes, the entry, rewritten
 * pairs); beyond this many the memory is cleared and rebuilt, at the cost of one relabelling per series.
 */
const MAX_REMEMBERED = 200_000;

export class IngestRelabeller {
  /** Keyed by the rules array: a limits reload makes new arrays, so old outcomes are never reused. */
  private readonly outcomes = new WeakMap<readonly RelabelRule[], Map<number, Outcome>>();

  /**
   * Relabels the batch's series in place and returns the number of samples of series the rules
   * dropped (their sample range becomes empty, so nothing downstream stores or forwards them).
   */
  apply(batch: WriteBatch, rules: readonly RelabelRule[] | undefined): number {
    if (!rules || rules.length === 0) return 0;
    let memo = this.outcomes.get(rules);
    if (!memo) this.outcomes.set(rules, (memo = new Map()));
    // Only a client's own 1.0 bytes can be compared; shares and 2.0 symbol references are relabelled each time.
    const wire = batch.labelFields === undefined;
    const raw = batch.raw;
    let dropped = 0;
    for (const s of batch.series) {
      let out: readonly string[] | null | typeof UNCHANGED;
      let hash = 0;
      const start = s.labelsStart;
      const known = wire && start >= 0 ? memo.get(s.labelsHash) : undefined;
      // A byte comparison (memcmp), not a decode: the hash only found a candidate.
      if (
        known !== undefined &&
        known.bytes.length === s.labelsEnd - start &&
        raw.compare(known.bytes, 0, known.bytes.length, start, s.labelsEnd) === 0
      ) {
        out = known.output;
        hash = known.hash;
      } else {
        let input: readonly string[];
        try {
          input = batch.labelsOf(s);
        } catch {
          continue; // undecodable labels: rejected with their reason where the series is validated
        }
        const r = relabel(input, rules);
        out = r === input ? UNCHANGED : r;
        if (r !== null && r !== input) hash = hashPairs(r);
        if (wire && start >= 0) {
          if (memo.size >= MAX_REMEMBERED) memo.clear();
          memo.set(s.labelsHash, { bytes: Buffer.from(raw.subarray(start, s.labelsEnd)), output: out, hash });
        }
      }
      if (out === UNCHANGED) continue;
      if (out === null) {
        dropped += s.sampleEnd - s.sampleStart;
        s.sampleEnd = s.sampleStart;
        s.histograms = 0;
        s.exemplars = 0;
        s.metadata = undefined;
        // Its labels stay as sent (it has nothing left to store); a forward must not copy its samples.
        s.messageStart = -1;
        s.messageEnd = -1;
        continue;
      }
      s.labels = out as string[];
      detachFromWire(s);
      // The same rewritten pairs array on every request: the head finds the series by this hash and a pairs comparison.
      s.labelsStart = RELABELLED_LABELS;
      s.labelsHash = hash;
    }
    return dropped;
  }
}

/**
 * The series' labels are no longer the bytes the client sent: caches keyed by those bytes (the
 * head's, the router's placement) must not find it, and a forward must encode it afresh.
 */
function detachFromWire(s: SeriesRecord): void {
  s.labelsStart = -1;
  s.labelsEnd = -1;
  s.labelsHash = 0;
  s.messageStart = -1;
  s.messageEnd = -1;
}

/** FNV-1a over names and values (with separators), as a head's lookup key for rewritten series. */
function hashPairs(pairs: readonly string[]): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < pairs.length; i++) {
    const x = pairs[i];
    for (let k = 0; k < x.length; k++) h = Math.imul(h ^ x.charCodeAt(k), 0x01000193);
    h = Math.imul(h ^ 0xff, 0x01000193);
  }
  return h >>> 0;
}
