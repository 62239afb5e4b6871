import { Labels } from '@strata/model';
import { parse } from '@strata/promql';
import { mergeExemplars, selectorMatchers } from './exemplars-api.js';

describe('query_exemplars', () => {
  test.each([
    ['up', [['__name__="up"']]],
    ['rate(http_requests_total{code="500"}[5m])', [['code="500"', '__name__="http_requests_total"']]],
    ['sum by (le) (rate(a_bucket[1m])) / on() group_left b', [['__name__="a_bucket"'], ['__name__="b"']]],
    ['topk(scalar(c), d offset 5m)', [['__name__="d"'], ['__name__="c"']]],
    ['max_over_time((-e)[10m:1m])', [['__name__="e"']]],
    ['1 + 2', []],
    // info()'s label selector (matching every series here) picks info series, not exemplars.
    ['info(f, {data=~".*"})', [['__name__="f"']]],
  ])('%s reads the selectors %j', (q, want) => {
    const got = selectorMatchers(parse(q)).map((ms) => ms.map((m) => `${m.name}${m.type}"${m.value}"`).sort());
    expect(got).toEqual(want.map((ms) => [...ms].sort()));
  });

  test('the same series from two stores is one entry; the same exemplar once; time order; label order', () => {
    const a = Labels.fromObject({ __name__: 'x', job: 'a' });
    const b = Labels.fromObject({ __name__: 'x', job: 'b' });
    const e = (t: number, trace: string) => ({ labels: ['trace_id', trace], value: 1, timestamp: t });
    const merged = mergeExemplars([
      [
        { seriesLabels: b, exemplars: [e(5, 't5')] },
        { seriesLabels: a, exemplars: [e(1, 't1'), e(3, 't3')] },
      ],
      [{ seriesLabels: a, exemplars: [e(2, 't2'), e(3, 't3')] }],
      [],
    ]);
    expect(merged.map((s) => [s.seriesLabels.get('job'), s.exemplars.map((x) => x.timestamp)])).toEqual([
      ['a', [1, 2, 3]],
      ['b', [5]],
    ]);
  });
});
