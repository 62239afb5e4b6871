/**
 * The write-quorum decision, as one pure table: what each owner of a series answered, and the
 * write quorum, give the series' status; a request's status is the most retryable status of its
 * series. The rule is "what could a retry still achieve":
 *
 *  - quorum owners accepted the series               -> 204 (written);
 *  - the owners that did not reject it permanently (4xx other than 429) are fewer than the
 *    quorum                                          -> 400 (a retry can never succeed, whatever
 *    the unreachable owners would say: the client must drop it, not retry it forever);
 *  - otherwise a retry can still reach the quorum    -> 503 + Retry-After when an owner was
 *    unreachable, timed out or answered 5xx; 429 when only rate limits stood in the way.
 *
 * A request mixing series: the valid ones land; it answers 503 (or 429) only while some series
 * could still succeed on a retry and has not, otherwise 400 when a series was rejected, else 204.
 */

/** One owner's answer for one series. */
export type Outcome = 'ok' | 'bad' | 'limited' | 'unavailable';

export type SeriesStatus = 204 | 400 | 429 | 503;

/** The outcome class of an HTTP status (0 = no answer: refused connection, timeout). */
export function outcomeOf(status: number): Outcome {
  if (status >= 200 && status < 300) return 'ok';
  if (status === 429) return 'limited';
  if (status >= 400 && status < 500) return 'bad';
  return 'unavailable';
}

/**
 * The status of one series from its owners' outcomes (one per owner, so `outcomes.length` is the
 * replication factor) and the write quorum.
 */
export function seriesStatus(outcomes: ArrayLike<Outcome>, quorum: number): SeriesStatus {
  let ok = 0;
  let bad = 0;
  let unavailable = 0;
  for (let i = 0; i < outcomes.length; i++) {
    const o = outcomes[i];
    if (o === 'ok') ok++;
    else if (o === 'bad') bad++;
    else if (o === 'unavailable') unavailable++;
  }
  if (ok >= quorum) return 204;
  // Every owner that did not reject the series for good might accept it on a retry.
  if (outcomes.length - bad < quorum) return 400;
  return unavailable > 0 ? 503 : 429;
}

/** Order of precedence when series of one request disagree: retryable first, then bad data. */
const RANK: Record<SeriesStatus, number> = { 204: 0, 400: 1, 429: 2, 503: 3 };

/** The request's status from two of its series' statuses (fold it over all series). */
export function requestStatus(a: SeriesStatus, b: SeriesStatus): SeriesStatus {
  return RANK[b] > RANK[a] ? b : a;
}
