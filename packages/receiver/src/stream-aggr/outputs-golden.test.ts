/**
 * Streaming aggregation's outputs, bit for bit, over a seeded workload, against a fingerprint
 * recorded before the aggregation state was reworked for speed: a change in how the state is
 * kept must not change one output sample (name, labels, timestamp or value to the last bit).
 *
 * The workload runs on three aggregators that split the input series and the output groups
 * between them (partials cross a JSON round trip, as over HTTP). It has counters with resets,
 * gauges, NaN staleness markers, resent and late samples, series that stop and come back after
 * their staleness interval, and every output kind. The semantics themselves are checked against
 * PromQL in stream-aggr.test.ts; this test pins that a rework computes the same thing.
 */
import crypto from 'node:crypto';
import { Labels, mulberry32 } from '@strata/model';
import { parseStreamAggrConfig } from '@strata/api';
import { StreamAggregation, type OutputSample, type PartialRecord } from './aggregator.js';

const RULES = parseStreamAggrConfig(
  [
    {
      match: 'req_total',
      interval: '1m',
      without: ['instance', 'user'],
      outputs: ['total', 'increase', 'count_series', 'count_samples', 'sum_samples', 'last', 'min', 'max', 'avg', 'stddev', 'stdvar'],
    },
    { match: 'req_total', interval: '30s', by: ['job'], outputs: ['rate_sum', 'rate_avg', 'total'] },
    {
      match: 'temp',
      interval: '1m',
      by: ['room'],
      outputs: ['quantiles(0.1, 0.5, 0.99)', 'histogram_bucket', 'max'],
      dedup_interval: '20s',
    },
    { match: '{__name__=~"temp|req_total"}', interval: '2m', without: ['instance'], outputs: ['count_series', 'sum_samples', 'avg'] },
    { match: 'lat_bucket', interval: '1m', without: ['instance'], outputs: ['total', 'rate_avg'], staleness_interval: '3m' },
  ],
  'rules',
);

const T0 = 1_800_000_000_000 - (1_800_000_000_000 % 120_000);
const NODES = ['r0', 'r1', 'r2'];

function hashOf(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function workload(): Labels[] {
  const out: Labels[] = [];
  for (let i = 0; i < 6; i++)
    for (let u = 0; u < 5; u++) out.push(Labels.fromObject({ __name__: 'req_total', job: `j${u % 3}`, instance: `i${i}`, user: `u${u}` }));
  for (const room of ['a', 'b', 'c'])
    for (let s = 0; s < 4; s++) out.push(Labels.fromObject({ __name__: 'temp', room, instance: `s${s}` }));
  for (let i = 0; i < 3; i++)
    for (const le of ['0.1', '1', '+Inf']) out.push(Labels.fromObject({ __name__: 'lat_bucket', job: 'api', instance: `i${i}`, le }));
  return out;
}

async function run(): Promise<string[]> {
  const clock = { now: T0 };
  const written: string[] = [];
  const nodes = new Map<string, StreamAggregation>();
  const ownerOf = (_t: string, l: Labels) => NODES[hashOf(l.key()) % NODES.length];
  for (const self of NODES) {
    const a: StreamAggregation = new StreamAggregation({
      rules: () => RULES,
      self,
      ownerOf,
      sendPartials: async (ep: string, tenant: string, recs: PartialRecord[]) =>
        nodes.get(ep)!.acceptPartials(tenant, JSON.parse(JSON.stringify(recs)) as PartialRecord[]),
      writeOutputs: async (_tenant: string, samples: OutputSample[]) => {
        for (const s of samples) written.push(`${self} ${s.labels.toString()} ${s.t} ${Object.is(s.v, -0) ? '-0' : String(s.v)}`);
      },
      flushDelayMs: 5000,
      now: () => clock.now,
    });
    nodes.set(self, a);
  }
  const series = workload();
  const rand = mulberry32(15);
  const values = new Float64Array(series.length);
  // Per node, the input state of every series (classified once, as the writer remembers it by head ref).
  const inputs = NODES.map((n) => series.map((l) => nodes.get(n)!.forTenant('t')!.classify(l)));
  for (let step = 0; step < 80; step++) {
    const t = T0 + step * 7_000 + Math.floor(rand() * 3000);
    clock.now = t + 1500;
    for (let i = 0; i < series.length; i++) {
      // Some series pause for a while (past a staleness interval) and come back.
      if (i % 11 === 3 && step >= 30 && step < 62) continue;
      const name = series[i].metricName();
      let v: number;
      if (name === 'temp') v = Math.round((20 + 8 * rand() - 4) * 1000) / 1000;
      else {
        // Counters: mostly up, sometimes reset, now and then a staleness marker.
        values[i] = rand() < 0.04 ? rand() * 3 : values[i] + rand() * 10;
        v = values[i];
      }
      if (rand() < 0.02) v = NaN;
      for (let n = 0; n < NODES.length; n++) {
        const input = inputs[n][i];
        if (!input?.primary) continue;
        const a = nodes.get(NODES[n])!.forTenant('t')!;
        a.feed(input, t, v, clock.now);
        // A retried request: resent samples add nothing.
        if (rand() < 0.1) a.feed(input, t, v, clock.now);
        // A late sample from before the last one.
        if (rand() < 0.03) a.feed(input, t - 20_000, v + 1, clock.now);
      }
    }
    if (step % 2 === 1) {
      clock.now += 4000;
      for (const a of nodes.values()) await a.tick();
    }
  }
  clock.now += 600_000;
  for (const a of nodes.values()) await a.tick();
  for (const a of nodes.values()) await a.tick();
  // Order within a flush is not part of the contract: compared sorted.
  return written.sort();
}

test('streaming aggregation outputs are the recorded ones, bit for bit', async () => {
  const lines = await run();
  const digest = crypto.createHash('sha256').update(lines.join('\n')).digest('hex');
  // To re-record on purpose (a deliberate change of outputs): RECORD_GOLDEN=1 prints the figures.
  if (process.env.RECORD_GOLDEN)
    process.stdout.write(`${JSON.stringify({ count: lines.length, first: lines.slice(0, 3), sha256: digest })}\n`);
  expect(lines.length).toBe(RECORDED.count);
  expect(lines.slice(0, 3)).toEqual(RECORDED.first);
  expect(digest).toBe(RECORDED.sha256);
});

/** Recorded from the implementation before the rework. */
const RECORDED = {
  count: 806,
  first: [
    'r0 req_total:1m_without_instance_user_avg{job="j0"} 1800000060000 20.55988919733164',
    'r0 req_total:1m_without_instance_user_avg{job="j0"} 1800000120000 45.6207483744886',
    'r0 req_total:1m_without_instance_user_avg{job="j0"} 1800000180000 60.57419370725337',
  ],
  sha256: '4ae8e7e03947efe1a87ed3db5e371ca4be756f1c3d2203b46bc9e747442eb0a7',
};
