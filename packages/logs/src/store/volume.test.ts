import { Labels, Matcher } from '@strata/model';
import type { LogStreamEntries } from '../types.js';
import { computeVolumes, volumeBuckets, volumeMatchers, type VolumeRequest } from './volume.js';

const S = 1_000_000_000n;
const T0 = 1_700_000_000n * S;

/** A stream with one entry of `bytes` bytes at each of `secs` (seconds after T0). */
function stream(labels: Record<string, string>, secs: number[], bytes = 10): LogStreamEntries {
  return {
    labels: Labels.fromObject(labels),
    timestampsNs: BigInt64Array.from(secs.map((s) => T0 + BigInt(s) * S)),
    lines: secs.map(() => 'x'.repeat(bytes)),
  };
}

// The four streams of Loki's volume documentation, with different sizes so the order is visible.
const STREAMS = [
  stream({ job: 'foo', env: 'prod', team: 'alpha' }, [10], 40),
  stream({ job: 'bar', env: 'prod', team: 'beta' }, [10], 30),
  stream({ job: 'foo', env: 'dev', team: 'alpha' }, [10], 20),
  stream({ job: 'bar', env: 'dev', team: 'beta' }, [10], 10),
];

const m = (type: '=' | '!=' | '=~' | '!~', name: string, value: string) => new Matcher(type, name, value);

function volumes(matchers: Matcher[], opts: Partial<VolumeRequest> = {}, step = 0n, streams = STREAMS) {
  const req: VolumeRequest = { matchers, targetLabels: [], aggregateBy: 'series', limit: 100, ...opts };
  const sel = volumeMatchers(req);
  const selected = streams.filter((s) => sel.every((x) => x.matches(s.labels.has(x.name) ? s.labels.get(x.name) : '')));
  return computeVolumes(selected, volumeBuckets(T0, T0 + 60n * S, step), req).map((v) => [
    v.metric,
    v.samples.map(([t, b]) => [Number((t - T0) / 1_000_000n) / 1000, b]),
  ]);
}

describe('log volume, as Loki aggregates it', () => {
  test.each<[string, Matcher[], Partial<VolumeRequest>, unknown[]]>([
    [
      'series of the selector’s label names',
      [m('=', 'job', 'foo'), m('=~', 'env', '.+')],
      {},
      [
        [{ job: 'foo', env: 'prod' }, [[60, 40]]],
        [{ job: 'foo', env: 'dev' }, [[60, 20]]],
      ],
    ],
    [
      'a negative matcher names a label too',
      [m('=', 'team', 'alpha'), m('!=', 'env', 'dev')],
      {},
      [[{ team: 'alpha', env: 'prod' }, [[60, 40]]]],
    ],
    [
      'targetLabels replace the selector’s names',
      [m('=', 'team', 'alpha'), m('!=', 'env', 'dev')],
      { targetLabels: ['team', 'job'] },
      [[{ team: 'alpha', job: 'foo' }, [[60, 40]]]],
    ],
    [
      'a target label the selector does not name must be present',
      [m('=~', 'env', '.+')],
      { targetLabels: ['job'] },
      [
        [{ job: 'foo' }, [[60, 60]]],
        [{ job: 'bar' }, [[60, 40]]],
      ],
    ],
    [
      'limit keeps the largest',
      [m('=~', 'job', '.+'), m('=~', 'env', '.+')],
      { limit: 2 },
      [
        [{ job: 'foo', env: 'prod' }, [[60, 40]]],
        [{ job: 'bar', env: 'prod' }, [[60, 30]]],
      ],
    ],
    [
      'aggregateBy=labels sums per label name of the matching streams',
      [m('=', 'job', 'foo')],
      { aggregateBy: 'labels' },
      [
        [{ env: '' }, [[60, 60]]],
        [{ job: '' }, [[60, 60]]],
        [{ team: '' }, [[60, 60]]],
      ],
    ],
    [
      'aggregateBy=labels with targets keeps only those',
      [m('=', 'job', 'foo')],
      { aggregateBy: 'labels', targetLabels: ['team'] },
      [[{ team: '' }, [[60, 60]]]],
    ],
  ])('%s', (_name, matchers, opts, want) => {
    expect(volumes(matchers, opts)).toEqual(want);
  });

  test('equal volumes are ordered by the series’ text', () => {
    const streams = [stream({ a: 'y' }, [1]), stream({ a: 'x' }, [1]), stream({ a: 'z' }, [1], 11)];
    expect(volumes([m('=~', 'a', '.+')], {}, 0n, streams).map(([l]) => l)).toEqual([{ a: 'z' }, { a: 'x' }, { a: 'y' }]);
  });

  test('more series than volume_max_series is an error', () => {
    const streams = [stream({ a: 'x' }, [1]), stream({ a: 'y' }, [1]), stream({ a: 'z' }, [1])];
    expect(() => volumes([m('=~', 'a', '.+')], { maxSeries: 2 }, 0n, streams)).toThrow(
      'the query hit the max number of series limit (limit: 2 series)',
    );
  });

  test('volume_range: buckets aligned to the step, each reported at its end, the limit applied per bucket', () => {
    const streams = [stream({ a: 'x' }, [5, 25, 25], 10), stream({ a: 'y' }, [15, 26, 45, 60], 15)];
    // [0s, 20s), [20s, 40s), then [40s, 60s] with the end included.
    expect(volumes([m('=~', 'a', '.+')], {}, 20n * S, streams)).toEqual([
      [
        { a: 'y' },
        [
          [19.999, 15],
          [39.999, 15],
          [60, 30],
        ],
      ],
      [
        { a: 'x' },
        [
          [19.999, 10],
          [39.999, 20],
        ],
      ],
    ]);
    // With limit 1 each bucket keeps its largest; the series are then ordered by their first sample.
    expect(volumes([m('=~', 'a', '.+')], { limit: 1 }, 20n * S, streams)).toEqual([
      [{ a: 'x' }, [[39.999, 20]]],
      [
        { a: 'y' },
        [
          [19.999, 15],
          [60, 30],
        ],
      ],
    ]);
  });

  test.each([
    ['one bucket without a step', 0n, 0n, 60n * S, [[0n, 60n * S + 1n, 60n * S]]],
    [
      'the first bucket starts at start, the rest at multiples of the step',
      20n * S,
      5n * S,
      60n * S,
      [
        [5n * S, 20n * S, 20n * S - 1_000_000n],
        [20n * S, 40n * S, 40n * S - 1_000_000n],
        [40n * S, 60n * S + 1n, 60n * S],
      ],
    ],
    [
      'an end inside a step ends the last bucket',
      20n * S,
      0n,
      50n * S,
      [
        [0n, 20n * S, 20n * S - 1_000_000n],
        [20n * S, 40n * S, 40n * S - 1_000_000n],
        [40n * S, 50n * S + 1n, 50n * S],
      ],
    ],
  ])('buckets: %s', (_name, step, start, end, want) => {
    expect(volumeBuckets(T0 + start, T0 + end, step).map((b) => [b.startNs - T0, b.endNs - T0, b.atNs - T0])).toEqual(want);
  });
});
