import { outcomeOf, requestStatus, seriesStatus, type Outcome, type SeriesStatus } from './quorum.js';

const OUTCOMES: Outcome[] = ['ok', 'bad', 'limited', 'unavailable'];

/** Every assignment of outcomes to `rf` owners. */
function* combinations(rf: number): Generator<Outcome[]> {
  if (rf === 0) {
    yield [];
    return;
  }
  for (const rest of combinations(rf - 1)) for (const o of OUTCOMES) yield [...rest, o];
}

/**
 * The oracle, by brute force over the futures a retry could bring: each owner that did not
 * reject the series for good may accept it on the retry or fail again. Written independently of
 * seriesStatus' counting so that the two must agree on every row.
 */
function oracle(outcomes: Outcome[], quorum: number): SeriesStatus {
  const accepted = outcomes.filter((o) => o === 'ok').length;
  if (accepted >= quorum) return 204;
  const open = outcomes.map((o, i) => (o === 'limited' || o === 'unavailable' ? i : -1)).filter((i) => i >= 0);
  let reachable = false;
  for (let mask = 0; mask < 1 << open.length; mask++) {
    let n = accepted;
    for (let b = 0; b < open.length; b++) if (mask & (1 << b)) n++;
    if (n >= quorum) reachable = true;
  }
  if (!reachable) return 400;
  return outcomes.includes('unavailable') ? 503 : 429;
}

describe('quorum table: every combination of replica outcomes', () => {
  for (const rf of [1, 2, 3, 5]) {
    for (let quorum = 1; quorum <= rf; quorum++) {
      test(`RF ${rf}, quorum ${quorum}: all ${4 ** rf} combinations`, () => {
        let rows = 0;
        for (const outcomes of combinations(rf)) {
          // Order of the owners must not matter either.
          expect([outcomes.join(','), seriesStatus(outcomes, quorum)]).toEqual([outcomes.join(','), oracle(outcomes, quorum)]);
          expect(seriesStatus([...outcomes].reverse(), quorum)).toBe(seriesStatus(outcomes, quorum));
          rows++;
        }
        expect(rows).toBe(4 ** rf);
      });
    }
  }
});

describe('quorum table: the cases operators meet (RF 3, quorum 2)', () => {
  test.each<[string, Outcome[], SeriesStatus]>([
    ['all accepted', ['ok', 'ok', 'ok'], 204],
    ['one replica down', ['ok', 'ok', 'unavailable'], 204],
    ['one replica rejects (its own series limit), two accept', ['ok', 'ok', 'bad'], 204],
    ['bad data on the two live replicas, the third down: a retry can never succeed', ['bad', 'bad', 'unavailable'], 400],
    ['bad data everywhere', ['bad', 'bad', 'bad'], 400],
    ['one accepted, one bad, one down: the down one may accept on a retry', ['ok', 'bad', 'unavailable'], 503],
    ['two down', ['ok', 'unavailable', 'unavailable'], 503],
    ['all down', ['unavailable', 'unavailable', 'unavailable'], 503],
    ['rate limited on two', ['ok', 'limited', 'limited'], 429],
    ['one limited, one bad', ['ok', 'limited', 'bad'], 429],
    ['one limited, one down: 503, always retried', ['ok', 'limited', 'unavailable'], 503],
    ['bad on two, limited on one', ['bad', 'bad', 'limited'], 400],
  ])('%s: %j -> %i', (_name, outcomes, want) => {
    expect(seriesStatus(outcomes, 2)).toBe(want);
  });
});

describe('request status from its series', () => {
  test.each<[SeriesStatus[], SeriesStatus]>([
    [[204, 204], 204],
    [[204, 400], 400],
    [[400, 503], 503],
    [[503, 400, 204], 503],
    [[429, 400], 429],
    [[429, 503], 503],
  ])('%j -> %i', (statuses, want) => {
    expect(statuses.reduce(requestStatus, 204)).toBe(want);
  });

  test('HTTP statuses map to outcomes: 429 is a rate limit, other 4xx bad data, no answer or 5xx unavailable', () => {
    expect([200, 204, 400, 409, 413, 429, 0, 500, 503].map(outcomeOf)).toEqual([
      'ok',
      'ok',
      'bad',
      'bad',
      'bad',
      'limited',
      'unavailable',
      'unavailable',
      'unavailable',
    ]);
  });
});
