/**
 * Streaming aggregation end to end through real Writers, TSDBs and Distributors (peers reached
 * in-process, as replicate.test.ts does), checked against PromQL evaluated by the engine over
 * the raw samples that were stored: counters with resets, gauges, classic histograms' _bucket
 * series. One receiver, three with RF 3 (every receiver owns every series: only the first owner
 * may count) and five with RF 3 (input series and output groups on different receivers: partials
 * travel). Every request is sent twice, to different routers: a retry must not count twice.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import YAML from 'yaml';
import { Labels, MergeQuerier, type Querier } from '@strata/model';
import { decodeShare, decodeWriteRequestV1, encodeShare, encodeWriteRequestV1, type SeriesToWrite } from '@strata/remote';
import { Hashrings } from '@strata/ring';
import { TSDB } from '@strata/tsdb';
import { Limits, type TenantLimits } from '@strata/api';
import { Engine, type InstantSample } from '@strata/promql';
import { Distributor, endpointResultOf, type Forwarder } from '../distributor.js';
import { MetadataStore } from '../metadata-store.js';
import { Writer } from '../writer.js';
import { StreamAggregation, type PartialRecord } from './aggregator.js';
import { createStreamAggregation, outputWriter } from './wiring.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

const DEFAULTS: TenantLimits = {
  ingestionRate: 0,
  ingestionBurstSize: 0,
  maxGlobalSeriesPerUser: 0,
  maxLabelNamesPerSeries: 30,
  maxLabelNameLength: 1024,
  maxLabelValueLength: 2048,
};

const RULES = [
  {
    match: 'http_requests_total',
    interval: '1m',
    without: ['user_id', 'instance'],
    outputs: ['total', 'increase', 'count_series', 'count_samples', 'sum_samples', 'min', 'max', 'avg', 'stddev', 'stdvar'],
  },
  // A second rule on the same series: only its targets keep rate state.
  { match: 'http_requests_total', interval: '1m', without: ['user_id', 'instance'], outputs: ['rate_sum', 'rate_avg'] },
  // The same counters under another name, aggregated and not stored.
  { match: '{__name__="dropped_requests_total"}', interval: '1m', without: ['user_id', 'instance'], outputs: ['total'], drop_input: true },
  { match: 'temperature', interval: '1m', by: ['room'], outputs: ['min', 'max', 'avg', 'sum_samples', 'count_samples', 'stdvar'] },
  // One input series per group: quantiles, last and buckets compare with *_over_time.
  { match: 'temperature', interval: '1m', by: ['room', 'sensor'], outputs: ['last', 'quantiles(0.5, 0.9)', 'histogram_bucket'] },
  {
    match: 'latency_seconds_bucket{job=~"a.*"}',
    interval: '1m',
    without: ['instance'],
    outputs: ['total', 'increase', 'rate_sum', 'rate_avg'],
  },
];

const T0 = 1_800_000_000_000 - (1_800_000_000_000 % 60_000); // a minute boundary
const STEP = 10_000;
const STEPS = 42; // 7 minutes of samples

/** Deterministic raw data: counters that reset, gauges, histogram buckets, at 10 s steps. */
function sampleAt(step: number): SeriesToWrite[] {
  const t = T0 + step * STEP;
  const out: SeriesToWrite[] = [];
  const one = (l: Record<string, string>, v: number) => out.push({ labels: Labels.fromObject(l), timestamps: [t], values: [v] });
  for (let i = 0; i < 3; i++) {
    for (let u = 0; u < 6; u++) {
      // Resets at different steps per series; increments vary.
      const period = 9 + ((i * 7 + u * 3) % 11);
      const v = ((step % period) + 1) * (u + 1 + i);
      for (const name of ['http_requests_total', 'dropped_requests_total'])
        one({ __name__: name, job: u % 2 ? 'api' : 'web', instance: `i${i}`, user_id: `u${u}` }, v);
    }
  }
  for (const room of ['a', 'b']) {
    for (let s = 0; s < 3; s++) {
      one({ __name__: 'temperature', room, sensor: `s${s}` }, 20 + 5 * Math.sin(step / 3 + s) + (room === 'b' ? 0.5 * s : -s));
    }
  }
  const les = ['0.1', '0.5', '1', '+Inf'];
  for (let i = 0; i < 2; i++) {
    for (const job of ['api', 'batch']) {
      let acc = 0;
      for (let b = 0; b < les.length; b++) {
        acc += ((step * (b + 1) + i) % 5) + b;
        // Instance i1 restarts at step 20: its buckets start over.
        const v = i === 1 && step >= 20 ? acc * (step - 20) : acc * step;
        one({ __name__: 'latency_seconds_bucket', job, instance: `i${i}`, le: les[b] }, v);
      }
    }
  }
  return out;
}

interface Node {
  ep: string;
  db: TSDB;
  writer: Writer;
  distributor?: Distributor;
  aggregation: StreamAggregation;
}

/** n receivers; the ring holds the first `inRing` of them until setRing changes it. */
async function cluster(n: number, rf: number, clock: { now: number }, rules: unknown[] = RULES, inRing = n) {
  const endpoints = Array.from({ length: n }, (_, i) => `r${i}:19291`);
  const nodes = new Map<string, Node>();
  const limitsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-saggr-limits-'));
  dirs.push(limitsDir);
  const overridesFile = path.join(limitsDir, 'limits.yaml');
  fs.writeFileSync(overridesFile, YAML.stringify({ overrides: { t: { stream_aggregation_config: rules } } }));
  const limits = new Limits({ defaults: DEFAULTS, overridesFile, reloadIntervalMs: 3_600_000 });
  const ringOf = (k: number) =>
    new Hashrings([
      {
        hashring: 'default',
        tenants: [],
        tenantMatcherType: 'exact',
        algorithm: 'ketama',
        endpoints: endpoints.slice(0, k).map((address) => ({ address })),
      },
    ]);
  let rings = ringOf(inRing);
  let ringSize = inRing;
  /** The ring becomes the first k receivers (each sees it at its next write or tick, as after a reload). */
  const setRing = (k: number) => {
    rings = ringOf(k);
    ringSize = k;
  };
  const forwarder: Forwarder = async (ep, tenant, batch, indices, v2, metadata = []) => {
    const share = decodeShare(encodeShare(batch, indices, metadata, v2));
    return endpointResultOf(await nodes.get(ep)!.writer.write(tenant, share.batch, share.v2), indices, batch.series.length);
  };
  // Partials cross a serialisation, as over HTTP.
  const sendPartials = async (ep: string, tenant: string, recs: PartialRecord[]) =>
    nodes.get(ep)!.aggregation.acceptPartials(tenant, JSON.parse(JSON.stringify(recs)) as PartialRecord[]);
  for (const ep of endpoints) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-saggr-'));
    dirs.push(dir);
    const db = await TSDB.open({ dir, fsync: 'none', head: { outOfOrderWindowMs: 0, maxSeries: 0 } });
    const distributor =
      n > 1
        ? new Distributor({
            rings: () => rings,
            self: ep,
            replicationFactor: rf,
            forwardTimeoutMs: 1000,
            tenantHeader: 'X-Scope-OrgID',
            registry: new Registry(),
            forwarder,
          })
        : undefined;
    const aggregation = createStreamAggregation({
      limits,
      distributor,
      flushDelayMs: 5000,
      now: () => clock.now,
      sendPartials,
      registry: new Registry(),
    });
    const writer = new Writer({
      storage: db,
      limits,
      metadata: new MetadataStore(),
      registry: new Registry(),
      creationGracePeriodMs: 60_000,
      now: () => clock.now,
      streamAggregation: aggregation,
    });
    aggregation.setOutputWriter(outputWriter(writer, distributor));
    nodes.set(ep, { ep, db, writer, distributor, aggregation });
  }
  const list = [...nodes.values()];
  /** A client's write through the receiver `router` of the ring (replicated when in a ring). */
  const send = async (router: number, series: SeriesToWrite[]) => {
    const node = list[router % ringSize];
    const batch = decodeWriteRequestV1(encodeWriteRequestV1(series));
    if (!node.distributor) {
      const r = await node.writer.write('t', batch, false);
      expect(r.firstError).toBeUndefined();
      return;
    }
    const r = await node.distributor.replicate({ tenant: 't', batch, v2: false }, node.writer);
    expect(r.error).toBeUndefined();
  };
  const tickAll = async () => {
    for (const x of list) await x.aggregation.tick();
  };
  const querier = (): Querier => new MergeQuerier(list.map((x) => x.db.queryable().querier('t')));
  const close = async () => {
    limits.stop();
    for (const x of list) await x.db.close();
  };
  return { list, send, tickAll, querier, close, limits, overridesFile, setRing };
}

const engine = new Engine();

async function instant(q: Querier, expr: string, t: number, ignore: string[] = []): Promise<Map<string, number>> {
  const r = await engine.instantQuery(q, expr, t);
  if (r.result.resultType !== 'vector') throw new Error(`${expr}: ${r.result.resultType}`);
  return new Map(r.result.vector.map((s: InstantSample) => [s.labels.without('__name__', ...ignore).toString(), s.v]));
}

/** Output samples of `name` at t, by labels without the name. */
async function output(q: Querier, name: string, t: number): Promise<Map<string, number>> {
  // The sample at exactly t: outputs are written at the interval's end.
  return instant(q, `last_over_time(${name}[1ms])`, t);
}

function expectSameValues(got: Map<string, number>, want: Map<string, number>, what: string): void {
  expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
  for (const [k, v] of want) {
    const g = got.get(k)!;
    if (!(Math.abs(g - v) <= 1e-9 * Math.max(1, Math.abs(v)))) throw new Error(`${what} ${k}: got ${g}, PromQL says ${v}`);
  }
}

/** A vmrange bound as printed (4 digits) back to the power of ten it stands for: 10^(k/18). */
function exactBound(printed: string): number {
  const k = Math.round((Math.log10(Number(printed)) + 9) * 18);
  const decade = Math.floor(k / 18);
  return Number(`1e${decade - 9}`) * 10 ** ((k - decade * 18) / 18);
}

/** PromQL for a counter's increases, sample to sample (a drop is a reset), summed over a range ending at t. */
const increases = (metric: string, range: string) =>
  `sum_over_time((((${metric} - ${metric} offset 10s) >= 0) or (${metric} and ${metric} offset 10s))[${range}:10s])`;

/**
 * The increases per input series averaged over the series of a group. Not avg(): the increases
 * after a reset come out of `or` with the metric name and the others without, as two series.
 */
const perSeries = (metric: string, grouping: string) =>
  `sum ${grouping} (${increases(metric, '1m')}) / count ${grouping} (count_over_time(${metric}[1m]))`;

describe.each([
  [1, 1],
  [3, 3],
  [5, 3],
])('%i receiver(s), RF %i', (n, rf) => {
  test('outputs equal PromQL over the raw samples; retried requests count once', async () => {
    const clock = { now: T0 };
    const c = await cluster(n, rf, clock);
    for (let step = 0; step <= STEPS; step++) {
      clock.now = T0 + step * STEP + 2000;
      const series = sampleAt(step);
      await c.send(step, series);
      // The client retries the same request through another receiver (its first answer was lost).
      await c.send(step + 1, series);
      await c.tickAll();
      // Halfway to the next step: intervals that ended 5 s ago send their partials (flush delay
      // 5 s); the owners write them 5 s later, at the next step's tick.
      clock.now = T0 + step * STEP + 7000;
      await c.tickAll();
    }
    const last = T0 + STEPS * STEP;
    for (const after of [7000, 12_000]) {
      clock.now = last + after;
      await c.tickAll();
    }
    const q = c.querier();
    const ends: number[] = [];
    // The first interval (T0-60s, T0] holds one sample only; compare every full one.
    for (let e = T0 + 60_000; e <= T0 + STEPS * STEP; e += 60_000) ends.push(e);
    expect(ends.length).toBe(7);
    const wo = 'without (user_id, instance)';
    // The first interval holds each input series' first sample only: no rate yet.
    expect((await output(q, 'http_requests_total:1m_without_instance_user_id_rate_sum', T0)).size).toBe(0);
    for (const e of ends) {
      const since = `${(e - T0) / 1000}s`;
      const base = 'http_requests_total:1m_without_instance_user_id';
      expectSameValues(
        await output(q, `${base}_total`, e),
        await instant(q, `sum ${wo} (${increases('http_requests_total', since)})`, e),
        'total',
      );
      expectSameValues(
        await output(q, `${base}_increase`, e),
        await instant(q, `sum ${wo} (${increases('http_requests_total', '1m')})`, e),
        'increase',
      );
      // Samples every 10 s from the start: each rate spans the 60 s from the previous interval's last sample.
      expectSameValues(
        await output(q, `${base}_rate_sum`, e),
        await instant(q, `sum ${wo} (${increases('http_requests_total', '1m')}) / 60`, e),
        'rate_sum',
      );
      expectSameValues(
        await output(q, `${base}_rate_avg`, e),
        await instant(q, `${perSeries('http_requests_total', wo)} / 60`, e),
        'rate_avg',
      );
      expectSameValues(
        await output(q, `${base}_count_series`, e),
        await instant(q, `count ${wo} (count_over_time(http_requests_total[1m]))`, e),
        'count_series',
      );
      expectSameValues(
        await output(q, `${base}_count_samples`, e),
        await instant(q, `sum ${wo} (count_over_time(http_requests_total[1m]))`, e),
        'count_samples',
      );
      expectSameValues(
        await output(q, `${base}_sum_samples`, e),
        await instant(q, `sum ${wo} (sum_over_time(http_requests_total[1m]))`, e),
        'sum_samples',
      );
      expectSameValues(await output(q, `${base}_min`, e), await instant(q, `min ${wo} (min_over_time(http_requests_total[1m]))`, e), 'min');
      expectSameValues(await output(q, `${base}_max`, e), await instant(q, `max ${wo} (max_over_time(http_requests_total[1m]))`, e), 'max');
      const sum = `sum ${wo} (sum_over_time(http_requests_total[1m]))`;
      const count = `sum ${wo} (count_over_time(http_requests_total[1m]))`;
      const squares = `sum ${wo} (sum_over_time((http_requests_total ^ 2)[1m:10s]))`;
      expectSameValues(await output(q, `${base}_avg`, e), await instant(q, `${sum} / ${count}`, e), 'avg');
      const stdvar = `${squares} / ${count} - (${sum} / ${count}) ^ 2`;
      expectSameValues(await output(q, `${base}_stdvar`, e), await instant(q, stdvar, e), 'stdvar');
      expectSameValues(await output(q, `${base}_stddev`, e), await instant(q, `sqrt(${stdvar})`, e), 'stddev');
      // drop_input: the same values aggregated, none stored.
      expectSameValues(
        await output(q, 'dropped_requests_total:1m_without_instance_user_id_total', e),
        await instant(q, `sum ${wo} (${increases('http_requests_total', since)})`, e),
        'dropped total',
      );

      const room = 'temperature:1m_by_room';
      const tw = 'by (room)';
      for (const [o, fn, agg] of [
        ['min', 'min_over_time', 'min'],
        ['max', 'max_over_time', 'max'],
        ['sum_samples', 'sum_over_time', 'sum'],
        ['count_samples', 'count_over_time', 'sum'],
      ])
        expectSameValues(await output(q, `${room}_${o}`, e), await instant(q, `${agg} ${tw} (${fn}(temperature[1m]))`, e), o);
      const tsum = `sum ${tw} (sum_over_time(temperature[1m]))`;
      const tcount = `sum ${tw} (count_over_time(temperature[1m]))`;
      expectSameValues(await output(q, `${room}_avg`, e), await instant(q, `${tsum} / ${tcount}`, e), 'avg');
      expectSameValues(
        await output(q, `${room}_stdvar`, e),
        await instant(q, `sum ${tw} (sum_over_time((temperature ^ 2)[1m:10s])) / ${tcount} - (${tsum} / ${tcount}) ^ 2`, e),
        'stdvar',
      );
      const sensor = 'temperature:1m_by_room_sensor';
      expectSameValues(await output(q, `${sensor}_last`, e), await instant(q, 'last_over_time(temperature[1m])', e), 'last');
      for (const phi of ['0.5', '0.9']) {
        const got = await instant(q, `last_over_time(${sensor}_quantiles{quantile="${phi}"}[1ms])`, e, ['quantile']);
        expectSameValues(got, await instant(q, `quantile_over_time(${phi}, temperature[1m])`, e), `quantile ${phi}`);
      }
      // Buckets: each count equals the samples PromQL finds in its range; together they are all samples.
      const buckets = await engine.instantQuery(q, `last_over_time(${sensor}_histogram_bucket[1ms])`, e);
      if (buckets.result.resultType !== 'vector') throw new Error('vector expected');
      const perSensor = new Map<string, number>();
      for (const b of buckets.result.vector) {
        const [lo, hi] = b.labels.get('vmrange').split('...').map(exactBound);
        const sel = `{room="${b.labels.get('room')}", sensor="${b.labels.get('sensor')}"}`;
        const want = await instant(q, `count_over_time((temperature${sel} > ${lo} <= ${hi})[1m:10s])`, e);
        expect([...want.values()]).toEqual([b.v]);
        const key = sel;
        perSensor.set(key, (perSensor.get(key) ?? 0) + b.v);
      }
      expect([...perSensor.values()]).toEqual(Array(6).fill(6));

      const hist = 'latency_seconds_bucket:1m_without_instance';
      const hw = 'without (instance)';
      const h = `latency_seconds_bucket{job=~"a.*"}`;
      expectSameValues(await output(q, `${hist}_total`, e), await instant(q, `sum ${hw} (${increases(h, since)})`, e), 'bucket total');
      expectSameValues(await output(q, `${hist}_increase`, e), await instant(q, `sum ${hw} (${increases(h, '1m')})`, e), 'bucket increase');
      expectSameValues(
        await output(q, `${hist}_rate_sum`, e),
        await instant(q, `sum ${hw} (${increases(h, '1m')}) / 60`, e),
        'bucket rate_sum',
      );
      expectSameValues(await output(q, `${hist}_rate_avg`, e), await instant(q, `${perSeries(h, hw)} / 60`, e), 'bucket rate_avg');
    }
    // Dropped inputs reached no head; the other inputs are stored once per owner.
    expect((await instant(q, 'count(dropped_requests_total)', ends[0])).size).toBe(0);
    for (const x of c.list) {
      const status = x.db.openTenant('t')!.tsdbStatus(100);
      const names = status.seriesCountByMetricName.map((m: { name: string }) => m.name);
      expect(names).not.toContain('dropped_requests_total');
    }
    // Each output series is on exactly RF receivers (one writer, replicated at quorum).
    const perNode = await Promise.all(
      c.list.map(
        async (x) =>
          (
            await instant(
              x.db.queryable().querier('t'),
              'last_over_time(http_requests_total:1m_without_instance_user_id_total[10m])',
              ends[6],
            )
          ).size,
      ),
    );
    expect(perNode.reduce((a, b) => a + b, 0)).toBe(2 * rf);
    // Retries reached the aggregating owner and were ignored there; no partial came too late.
    const outcomes = new Map<string, number>();
    for (const x of c.list) {
      const reg = x.aggregation.opts.registry!;
      for (const name of ['strata_stream_aggregation_samples_total', 'strata_stream_aggregation_partials_total']) {
        for (const v of (await reg.getSingleMetric(name)!.get()).values) {
          const k = `${name}:${String(v.labels.outcome)}`;
          outcomes.set(k, (outcomes.get(k) ?? 0) + v.value);
        }
      }
    }
    expect(outcomes.get('strata_stream_aggregation_samples_total:resent')).toBeGreaterThan(0);
    expect(outcomes.get('strata_stream_aggregation_samples_total:late') ?? 0).toBe(0);
    expect(outcomes.get('strata_stream_aggregation_partials_total:late') ?? 0).toBe(0);
    if (n > 1) expect(outcomes.get('strata_stream_aggregation_partials_total:sent')).toBeGreaterThan(0);
    await c.close();
  });
});

test.each([1, 3])(
  'RF %i: a series moving to another receiver mid-interval counts once in count_series, rate_sum and rate_avg',
  async (rf) => {
    // Counters rising at a steady rate per series (i + 1 per second), so that each series' rate is
    // known whichever receivers saw which of its samples.
    const SERIES = 40;
    const at = (step: number): SeriesToWrite[] =>
      Array.from({ length: SERIES }, (_, i) => ({
        labels: Labels.fromObject({ __name__: 'moving_total', job: i % 2 ? 'a' : 'b', instance: `i${i}` }),
        timestamps: [T0 + step * STEP],
        values: [(i + 1) * step * (STEP / 1000)],
      }));
    const rule = {
      match: 'moving_total',
      interval: '1m',
      without: ['instance'],
      outputs: ['count_series', 'count_samples', 'rate_sum', 'rate_avg'],
    };
    const clock = { now: T0 };
    // Four receivers, the fourth outside the ring until a scale-up in the middle of the interval
    // ending at T0 + 300 s, and out again in the middle of the one ending at T0 + 420 s. With RF 3
    // the series' first owners change while the replicas already hold them.
    const c = await cluster(4, rf, clock, [rule], 3);
    const last = 48;
    for (let step = 0; step <= last; step++) {
      if (step === 27) c.setRing(4);
      if (step === 40) c.setRing(3);
      clock.now = T0 + step * STEP + 2000;
      await c.send(step, at(step));
      await c.tickAll();
      clock.now = T0 + step * STEP + 7000;
      await c.tickAll();
    }
    for (const after of [7000, 12_000]) {
      clock.now = T0 + last * STEP + after;
      await c.tickAll();
    }
    // Series did move: the receiver that joined holds some of them, and not all.
    const joined = await instant(c.list[3].db.queryable().querier('t'), 'count(count_over_time(moving_total[1m]))', T0 + 360_000);
    expect([...joined.values()][0]).toBeGreaterThan(0);
    expect([...joined.values()][0]).toBeLessThan(SERIES);
    const q = c.querier();
    for (let e = T0 + 60_000; e <= T0 + last * STEP; e += 60_000) {
      const want = new Map<string, { n: number; sum: number }>();
      for (let i = 0; i < SERIES; i++) {
        const key = `{job="${i % 2 ? 'a' : 'b'}"}`;
        const w = want.get(key) ?? { n: 0, sum: 0 };
        want.set(key, { n: w.n + 1, sum: w.sum + i + 1 });
      }
      const base = 'moving_total:1m_without_instance';
      const of = (f: (w: { n: number; sum: number }) => number) => new Map([...want].map(([k, w]) => [k, f(w)]));
      expectSameValues(
        await output(q, `${base}_count_series`, e),
        of((w) => w.n),
        `count_series at ${e - T0}`,
      );
      expectSameValues(
        await output(q, `${base}_count_samples`, e),
        of((w) => w.n * 6),
        `count_samples at ${e - T0}`,
      );
      expectSameValues(
        await output(q, `${base}_rate_sum`, e),
        of((w) => w.sum),
        `rate_sum at ${e - T0}`,
      );
      expectSameValues(
        await output(q, `${base}_rate_avg`, e),
        of((w) => w.sum / w.n),
        `rate_avg at ${e - T0}`,
      );
    }
    await c.close();
  },
);

test('rules follow the limits file live; a bad edit keeps the rules in force', async () => {
  const clock = { now: T0 };
  const c = await cluster(1, 1, clock, []);
  const rule = { match: 'temperature', interval: '1m', by: ['room'], outputs: ['count_samples', 'max'] };
  const edit = (rules: unknown[]) => {
    fs.writeFileSync(c.overridesFile, YAML.stringify({ overrides: { t: { stream_aggregation_config: rules } } }));
    // A new mtime for the reload check, whatever the file system's resolution.
    const at = new Date(Date.now() + Math.random() * 1e6);
    fs.utimesSync(c.overridesFile, at, at);
  };
  for (let step = 0; step <= 24; step++) {
    clock.now = T0 + step * STEP + 2000;
    await c.send(step, sampleAt(step));
    if (step === 6) {
      edit([rule]);
      expect(c.limits.reload()).toBe(true);
    }
    if (step === 12) {
      edit([{ ...rule, outputs: ['count_samples', 'maximum'] }]);
      expect(c.limits.reload()).toBe(false); // refused as a whole: the rule above stays
    }
    await c.tickAll();
    clock.now = T0 + step * STEP + 7000;
    await c.tickAll();
  }
  for (const after of [7000, 12_000]) {
    clock.now = T0 + 24 * STEP + after;
    await c.tickAll();
  }
  const q = c.querier();
  // Nothing before the rule; every interval after it, complete.
  expect((await output(q, 'temperature:1m_by_room_count_samples', T0 + 60_000)).size).toBe(0);
  for (const e of [T0 + 120_000, T0 + 180_000, T0 + 240_000]) {
    expectSameValues(
      await output(q, 'temperature:1m_by_room_count_samples', e),
      await instant(q, 'sum by (room) (count_over_time(temperature[1m]))', e),
      'count_samples',
    );
    expectSameValues(
      await output(q, 'temperature:1m_by_room_max', e),
      await instant(q, 'max by (room) (max_over_time(temperature[1m]))', e),
      'max',
    );
  }
  await c.close();
});
