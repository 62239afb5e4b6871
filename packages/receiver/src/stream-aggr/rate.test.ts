/**
 * rate_sum and rate_avg, table-driven on one aggregator: the cases are VictoriaMetrics' own
 * behaviour (a new series has no rate until it has two samples; the rate of an interval runs
 * from the series' last sample before it; resets count from 0; resent samples add nothing).
 * Each case runs twice: with every sample fed before the first flush (a rate is settled when the
 * series' next interval begins) and with a flush after every sample (settled when the interval's
 * partial leaves): the outputs must not depend on which.
 */
import { Labels } from '@strata/model';
import { parseStreamAggrConfig } from '@strata/api';
import { StreamAggregation, type OutputSample } from './aggregator.js';

const T0 = 1_800_000_000_000 - (1_800_000_000_000 % 60_000); // a minute boundary
const RULES = parseStreamAggrConfig([{ match: 'requests_total', interval: '1m', by: ['job'], outputs: ['rate_sum', 'rate_avg'] }], 'rules');

/** A sample: series (an instance of job "a" unless given as instance/job), seconds after T0, value; in arrival order. */
type Sample = [string, number, number];

async function run(samples: Sample[], flushEachSample: boolean): Promise<string[]> {
  const clock = { now: T0 };
  const written: OutputSample[] = [];
  const agg = new StreamAggregation({
    rules: () => RULES,
    self: 'r0',
    ownerOf: () => 'r0',
    flushDelayMs: 1000,
    now: () => clock.now,
    writeOutputs: async (_, out) => void written.push(...out),
  });
  const inputs = new Map<string, ReturnType<NonNullable<ReturnType<typeof agg.forTenant>>['classify']>>();
  for (const [series, s, v] of samples) {
    const [instance, job = 'a'] = series.split('/');
    const a = agg.forTenant('t')!;
    let input = inputs.get(series);
    if (input === undefined) inputs.set(series, (input = a.classify(Labels.fromObject({ __name__: 'requests_total', instance, job }))));
    const t = T0 + s * 1000;
    clock.now = Math.max(clock.now, t + 100);
    a.feed(input!, t, v, clock.now);
    if (flushEachSample) await agg.tick();
  }
  clock.now += 10 * 60_000;
  await agg.tick();
  return written
    .map(
      (o) =>
        `${o.labels.metricName().replace('requests_total:1m_by_job_', '')}{${o.labels.get('job')}} @${(o.t - T0) / 1000} ${+o.v.toFixed(9)}`,
    )
    .sort();
}

describe('rate_sum and rate_avg', () => {
  test.each<[string, Sample[], string[]]>([
    ['a single sample: no rate, no output', [['i0', 10, 5]], []],
    [
      // VictoriaMetrics' example: the first interval only starts the series.
      'two series, one sample per interval: rates from the interval before',
      [
        ['i0', 0, 3],
        ['i1', 0, 8.5],
        ['i0', 60, 8],
        ['i1', 60, 11],
      ],
      ['rate_avg{a} @60 0.0625', 'rate_sum{a} @60 0.125'],
    ],
    [
      'a new series with two samples in its first interval: from its first sample',
      [
        ['i0', 1, 1],
        ['i0', 2, 2],
        ['i1', 3, 5],
        ['i1', 4, 7],
      ],
      ['rate_avg{a} @60 1.5', 'rate_sum{a} @60 3'],
    ],
    [
      'a counter reset counts the new value as the increase',
      [
        ['i0', 50, 100],
        ['i0', 70, 130],
        ['i0', 90, 4],
        ['i0', 110, 10],
      ],
      ['rate_avg{a} @120 0.666666667', 'rate_sum{a} @120 0.666666667'], // (30 + 4 + 6) / 60 s
    ],
    [
      'a resent (older or equal) sample adds nothing',
      [
        ['i0', 0, 1],
        ['i0', 60, 61],
        ['i0', 50, 31],
        ['i0', 60, 61],
        ['i0', 120, 91],
        ['i0', 180, 121],
      ],
      [
        'rate_avg{a} @120 0.5',
        'rate_avg{a} @180 0.5',
        'rate_avg{a} @60 1',
        'rate_sum{a} @120 0.5',
        'rate_sum{a} @180 0.5',
        'rate_sum{a} @60 1',
      ],
    ],
    [
      'an interval without samples: the next rate runs from the last sample before it',
      [
        ['i0', 20, 10],
        ['i0', 40, 30],
        ['i0', 160, 150],
      ],
      ['rate_avg{a} @180 1', 'rate_avg{a} @60 1', 'rate_sum{a} @180 1', 'rate_sum{a} @60 1'],
    ],
    [
      'rate_avg averages over the series with a rate only; groups stay apart',
      [
        ['i0', 10, 0],
        ['i2/b', 10, 0],
        ['i0', 70, 60],
        ['i1', 70, 1000], // new, one sample: no rate yet
        ['i2/b', 70, 120],
      ],
      ['rate_avg{a} @120 1', 'rate_avg{b} @120 2', 'rate_sum{a} @120 1', 'rate_sum{b} @120 2'],
    ],
  ])('%s', async (_, samples, want) => {
    expect(await run(samples, false)).toEqual(want);
    expect(await run(samples, true)).toEqual(want);
  });

  test('rules naming rate outputs parse; a misspelt one refuses the rules', () => {
    expect(RULES[0].outputs.map((o) => o.kind)).toEqual(['rate_sum', 'rate_avg']);
    expect(() => parseStreamAggrConfig([{ match: 'x', interval: '1m', outputs: ['rate_max'] }], 'rules')).toThrow(
      /unknown output "rate_max"/,
    );
  });
});
