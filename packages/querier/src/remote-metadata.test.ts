import type { MetricMetadata } from '@strata/model';
import { mergeMetadata } from './remote-metadata.js';

type Answer = Record<string, MetricMetadata[]>;

const g = (help: string) => ({ type: 'gauge' as const, help, unit: '' });

describe('metadata merged over stores', () => {
  test.each<[string, Answer[], number, number, Answer]>([
    ['replicas agree: one entry', [{ up: [g('a')] }, { up: [g('a')] }, {}], -1, -1, { up: [g('a')] }],
    ['a store down or empty changes nothing', [{ up: [g('a')], x: [g('x')] }, {}], -1, -1, { up: [g('a')], x: [g('x')] }],
    ['disagreeing targets: both entries, as Prometheus lists them', [{ up: [g('a')] }, { up: [g('b')] }], -1, -1, { up: [g('a'), g('b')] }],
    [
      'limit counts metrics after the merge, in name order',
      [{ b: [g('b')] }, { a: [g('a')], c: [g('c')] }],
      2,
      -1,
      { a: [g('a')], b: [g('b')] },
    ],
    ['limit_per_metric', [{ up: [g('a')] }, { up: [g('b')] }], -1, 1, { up: [g('a')] }],
  ])('%s', (_name, answers, limit, perMetric, want) => {
    expect(mergeMetadata(answers, limit, perMetric)).toEqual(want);
  });
});
