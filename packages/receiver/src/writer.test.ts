import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { Labels, Matcher } from '@strata/model';
import {
  decodeWriteRequestV1,
  decodeWriteRequestV2,
  encodeWriteRequestV1,
  encodeWriteRequestV2,
  type ExemplarRecord,
  type SeriesToWrite,
  type WriteBatch,
} from '@strata/remote';
import { TSDB } from '@strata/tsdb';
import { Limits, type TenantLimits } from '@strata/api';
import { MetadataStore } from './metadata-store.js';
import { Writer } from './writer.js';

const TEST_LIMITS: TenantLimits = {
  ingestionRate: 0,
  ingestionBurstSize: 0,
  maxGlobalSeriesPerUser: 0,
  maxLabelNamesPerSeries: 30,
  maxLabelNameLength: 1024,
  maxLabelValueLength: 2048,
};
const NOW = Date.UTC(2026, 0, 1);

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** `share`: this receiver's part of global limits (RF / ring size); `dir`: reopen an earlier one's data. */
async function open(limits: Partial<TenantLimits> = {}, { share = 1, dir = '' } = {}) {
  if (!dir) dirs.push((dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-writer-'))));
  const db = await TSDB.open({ dir, fsync: 'batch', head: { outOfOrderWindowMs: 0, samplesPerChunk: 120, maxSeries: 0 } });
  const registry = new Registry();
  const metadata = new MetadataStore();
  const writer = new Writer({
    storage: db,
    limits: new Limits({ defaults: { ...TEST_LIMITS, ...limits } }),
    metadata,
    registry,
    creationGracePeriodMs: 60_000,
    now: () => NOW,
    seriesLimitShare: () => share,
  });
  return { db, registry, metadata, writer, dir };
}

const series = (labels: Record<string, string>, ...samples: [number, number][]): SeriesToWrite => ({
  labels: Labels.fromObject(labels),
  timestamps: samples.map((s) => s[0]),
  values: samples.map((s) => s[1]),
});

async function stored(db: TSDB, name: string): Promise<number[]> {
  const q = (await db.tenant('t')).querier();
  const s = await q.select([new Matcher('=', '__name__', name)], { start: -Infinity, end: Infinity });
  return s.flatMap((x) => Array.from(x.timestamps));
}

describe('writer: the local append with per-series errors', () => {
  test.each(['1.0', '2.0'])(
    'remote-write %s: rejected series are named by index, the others land, the first reason is kept',
    async (version) => {
      const { db, writer, registry } = await open({ maxLabelNamesPerSeries: 3 });
      const batch = [
        series({ __name__: 'ok_a' }, [NOW - 10, 1]),
        series({ __name__: 'future' }, [NOW - 5, 1], [NOW + 3600_000, 2]), // one sample lands, one is rejected
        series({ __name__: 'ok_b' }, [NOW - 10, 1]),
        series({ __name__: 'wide', a: '1', b: '2', c: '3' }, [NOW - 10, 1]),
      ];
      const decoded =
        version === '1.0' ? decodeWriteRequestV1(encodeWriteRequestV1(batch)) : decodeWriteRequestV2(encodeWriteRequestV2(batch));
      const r = await writer.write('t', decoded, version === '2.0');
      expect(r.samplesWritten).toBe(3);
      expect(r.rejected).toEqual([1, 3]);
      expect(r.firstError).toMatchObject({ id: 'sample-too-far-in-future', status: 400 });
      expect(r.firstError!.detail).toContain('future');
      expect(await stored(db, 'ok_a')).toEqual([NOW - 10]);
      expect(await stored(db, 'future')).toEqual([NOW - 5]);
      expect(await stored(db, 'wide')).toEqual([]);
      const discarded = await registry.getSingleMetricAsString('strata_discarded_samples_total');
      expect(discarded).toContain('reason="sample-too-far-in-future",tenant="t"} 1');
      expect(discarded).toContain('reason="max-label-names-per-series",tenant="t"} 1');
      await db.close();
    },
  );

  test('a clean batch has no error and no rejected series; re-sending it is accepted (idempotent)', async () => {
    const { db, writer, registry } = await open();
    const body = encodeWriteRequestV1([
      series({ __name__: 'm', i: '1' }, [NOW - 2, 1], [NOW - 1, 2]),
      series({ __name__: 'm', i: '2' }, [NOW - 1, 3]),
    ]);
    for (let k = 0; k < 2; k++) {
      const r = await writer.write('t', decodeWriteRequestV1(body), false);
      expect(r).toMatchObject({ samplesWritten: 3, firstError: undefined, rejected: [] });
    }
    expect((await stored(db, 'm')).length).toBe(3);
    expect(await registry.getSingleMetricAsString('strata_received_samples_total')).toContain('tenant="t"} 6');
    await db.close();
  });

  test('metadata of 1.0 requests and 2.0 series is kept for its metric', async () => {
    const { db, writer, metadata } = await open();
    await writer.write(
      't',
      decodeWriteRequestV1(encodeWriteRequestV1([], [{ metricFamilyName: 'up', type: 'gauge', help: 'is it up', unit: '' }])),
      false,
    );
    const v2 = decodeWriteRequestV2(
      encodeWriteRequestV2([{ ...series({ __name__: 'reqs_total' }), metadata: { type: 'counter', help: 'requests', unit: '' } }]),
    );
    await writer.write('t', v2, true);
    expect(metadata.metadata('t', undefined, -1, -1)).toEqual({
      up: [{ type: 'gauge', help: 'is it up', unit: '' }],
      reqs_total: [{ type: 'counter', help: 'requests', unit: '' }],
    });
    await db.close();
  });
});

describe('writer: late samples are reported after the commit', () => {
  test('the time range of accepted samples older than the window, once per write; newer, rejected and repeated samples are not', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-writer-late-'));
    dirs.push(dir);
    const db = await TSDB.open({ dir, fsync: 'none', head: { outOfOrderWindowMs: 3_600_000, samplesPerChunk: 120, maxSeries: 0 } });
    const calls: [string, number, number, number[]][] = [];
    const writer = new Writer({
      storage: db,
      limits: new Limits({ defaults: TEST_LIMITS }),
      metadata: new MetadataStore(),
      registry: new Registry(),
      creationGracePeriodMs: 60_000,
      now: () => NOW,
      // What a query would see when told: the samples must already be visible.
      lateSamples: {
        olderThanMs: () => 60_000,
        onLate: (t, min, max) => void stored(db, 'late').then((ts) => calls.push([t, min, max, ts])),
      },
    });
    const write = (...s: SeriesToWrite[]) => writer.write('t', decodeWriteRequestV1(encodeWriteRequestV1(s)), false);
    // Newest first, so the later samples are out of order (within the head's window).
    await write(series({ __name__: 'late' }, [NOW, 1]));
    await write(series({ __name__: 'late' }, [NOW - 30_000, 2]));
    await new Promise((r) => setTimeout(r, 10));
    expect(calls).toEqual([]);
    await write(
      series({ __name__: 'late' }, [NOW - 600_000, 3], [NOW - 120_000, 4]),
      series({ __name__: 'late', x: 'b' }, [NOW - 300_000, 5]),
    );
    // Too old for the head (rejected), and an identical repeat (nothing changed): not reported.
    await write(series({ __name__: 'late' }, [NOW - 7_200_000, 6], [NOW - 600_000, 3]));
    await new Promise((r) => setTimeout(r, 50));
    expect(calls.map((c) => c.slice(0, 3))).toEqual([['t', NOW - 600_000, NOW - 120_000]]);
    expect(calls[0][3]).toEqual(expect.arrayContaining([NOW - 600_000, NOW - 300_000, NOW - 120_000]));
    await db.close();
  });
});

describe('writer: per-metric limits and the receiver ceiling reject only the offending series', () => {
  const batchOf = (...labels: Record<string, string>[]) =>
    decodeWriteRequestV1(encodeWriteRequestV1(labels.map((l) => series(l, [NOW - 10, 1]))));
  test.each([
    [
      'max_global_series_per_metric',
      { maxGlobalSeriesPerMetric: 2 },
      [
        { __name__: 'm', u: '1' },
        { __name__: 'm', u: '2' },
        { __name__: 'm', u: '3' },
        { __name__: 'other', u: '3' },
      ],
      [2],
      'max-series-per-metric',
      [
        /per-metric series limit of 2 exceeded for metric "m" \(series held: 2\)/,
        /u="3"/,
        /limits.max-global-series-per-metric or the max_global_series_per_metric override/,
      ],
    ],
    [
      'max_label_value_cardinality_per_metric',
      { maxLabelValueCardinalityPerMetric: 2 },
      [
        { __name__: 'm', u: '1' },
        { __name__: 'm', u: '2', p: 'a' },
        { __name__: 'm', u: '3' },
        { __name__: 'm', u: '1', p: 'b' },
        { __name__: 'n', u: '9' },
      ],
      [2],
      'max-label-value-cardinality-per-metric',
      [/label "u" of metric "m" already has 2 distinct values, the limit is 2/, /max_label_value_cardinality_per_metric override/],
    ],
    [
      'max_global_series_per_user still applies first',
      { maxGlobalSeriesPerUser: 1, maxGlobalSeriesPerMetric: 5 },
      [
        { __name__: 'm', u: '1' },
        { __name__: 'm', u: '2' },
      ],
      [1],
      'max-series-per-tenant',
      [/per-tenant series limit of 1 exceeded/],
    ],
  ] as const)('%s', async (_name, limits, labels, rejected, id, messages) => {
    const { db, writer, registry } = await open(limits);
    const r = await writer.write('t', batchOf(...labels), false);
    expect(r.rejected).toEqual(rejected);
    expect(r.samplesWritten).toBe(labels.length - rejected.length);
    expect(r.firstError).toMatchObject({ id, status: 400 });
    for (const m of messages) expect(r.firstError!.detail).toMatch(m);
    expect(await registry.getSingleMetricAsString('strata_discarded_samples_total')).toContain(`reason="${id}",tenant="t"} 1`);
    // Samples of series already held keep landing.
    expect((await writer.write('t', batchOf(labels[0]), false)).firstError).toBeUndefined();
    await db.close();
  });

  test('a per-metric series limit is shared out over the ring like the per-user one', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-writer-'));
    dirs.push(dir);
    const db = await TSDB.open({ dir, fsync: 'batch', head: { outOfOrderWindowMs: 0, maxSeries: 0 } });
    const writer = new Writer({
      storage: db,
      limits: new Limits({ defaults: { ...TEST_LIMITS, maxGlobalSeriesPerMetric: 10 } }),
      metadata: new MetadataStore(),
      registry: new Registry(),
      creationGracePeriodMs: 60_000,
      now: () => NOW,
      seriesLimitShare: () => 0.3, // RF 3 of 10 receivers
    });
    const r = await writer.write('t', batchOf(...Array.from({ length: 5 }, (_, i) => ({ __name__: 'm', i: String(i) }))), false);
    expect(r.rejected).toEqual([3, 4]);
    expect(r.firstError!.detail).toMatch(/limit of 10 \(3 on this receiver, its share of the ring\) exceeded/);
    await db.close();
  });

  test('the receiver ceiling (--receiver.max-series) answers 503 with Retry-After for new series of any tenant', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-writer-'));
    dirs.push(dir);
    const db = await TSDB.open({ dir, fsync: 'batch', head: { outOfOrderWindowMs: 0, maxSeries: 0 }, maxSeries: 3 });
    const writer = new Writer({
      storage: db,
      limits: new Limits({ defaults: TEST_LIMITS }),
      metadata: new MetadataStore(),
      registry: new Registry(),
      creationGracePeriodMs: 60_000,
      now: () => NOW,
      receiverMaxSeries: 3,
    });
    expect((await writer.write('a', batchOf({ __name__: 'x' }, { __name__: 'y' }), false)).firstError).toBeUndefined();
    // A bad series first, then the ceiling: the answer is the retryable one.
    const r = await writer.write('b', batchOf({ __name__: 'x' }, { __name__: '' }, { __name__: 'y' }), false);
    expect(r.rejected).toEqual([1, 2]);
    expect(r.firstError).toMatchObject({ id: 'receiver-max-series', status: 503, retryAfter: 10 });
    expect(r.firstError!.detail).toMatch(/--receiver.max-series = 3/);
    expect((await writer.write('a', batchOf({ __name__: 'x' }), false)).firstError).toBeUndefined();
    await db.close();
  });
});

/** Two series: one with a sample and exemplars, one with exemplars alone (as Prometheus sends them). */
function batch(n = 2): WriteBatch {
  const b = decodeWriteRequestV1(
    encodeWriteRequestV1([
      { labels: Labels.fromObject({ __name__: 'req_total', path: '/a' }), timestamps: [NOW - 1000], values: [1] },
      { labels: Labels.fromObject({ __name__: 'req_total', path: '/b' }), timestamps: [], values: [] },
    ]),
  );
  b.series.forEach((s, k) => {
    s.exemplarList = Array.from({ length: n }, (_, i) => ({ labels: ['trace_id', `t${k}${i}`], value: i, timestamp: NOW - 1000 + i }));
    s.exemplars = n;
  });
  return b;
}

const held = (db: TSDB) =>
  db
    .openTenant('t')!
    .exemplars.select(-Infinity, Infinity, [[new Matcher('=', '__name__', 'req_total')]])
    .map((s) => `${s.seriesLabels.get('path')} ${s.exemplars.map((e) => e.labels[1]).join(',')}`);

describe('writer: exemplars, staged with the samples, sized by the limit as Mimir sizes them, durable', () => {
  test('are stored with their series samples and survive a crash; sent alone for an unknown series, they create nothing', async () => {
    const { db, writer, dir, registry } = await open();
    const r = await writer.write('t', batch(), false);
    expect(r.firstError).toBeUndefined();
    expect([r.samplesWritten, r.exemplarsWritten, r.exemplarsRejected]).toEqual([1, 2, 2]);
    expect(held(db)).toEqual(['/a t00,t01']);
    // The series sent with exemplars alone is not in the head (so not in the series API), as in Prometheus.
    expect(db.openTenant('t')!.stats().numSeries).toBe(1);
    expect(await registry.getSingleMetricAsString('strata_discarded_exemplars_total')).toContain(
      'reason="exemplar_series_missing",tenant="t"} 2',
    );
    // A resend is accepted and stores nothing new: the series' newest is a duplicate, the older one
    // is out of order (dropped without an error, as Prometheus drops it).
    const resent = await writer.write('t', batch(), false);
    expect([resent.firstError, resent.exemplarsWritten, resent.exemplarsRejected]).toEqual([undefined, 1, 3]);
    expect(db.openTenant('t')!.exemplars.count).toBe(2);
    expect(await registry.getSingleMetricAsString('strata_discarded_exemplars_total')).toContain(
      'reason="exemplar_out_of_order",tenant="t"} 1',
    );
    // No close: the WAL is replayed.
    const again = await open({}, { dir });
    await again.db.tenant('t');
    expect(held(again.db)).toEqual(['/a t00,t01']);
    await again.db.close();
    await db.close();
  });

  test('sent alone, they join a series the head holds, or one this request creates, wherever it comes in the request', async () => {
    const { db, writer } = await open();
    const sampleOf = (path: string) => series({ __name__: 'req_total', path }, [NOW - 2000, 1]);
    await writer.write('t', decodeWriteRequestV1(encodeWriteRequestV1([sampleOf('/b')])), false);
    // '/b' is held from before; '/c' gets its sample after its exemplars, in the same request.
    const b = decodeWriteRequestV1(
      encodeWriteRequestV1([
        { labels: Labels.fromObject({ __name__: 'req_total', path: '/b' }), timestamps: [], values: [] },
        { labels: Labels.fromObject({ __name__: 'req_total', path: '/c' }), timestamps: [], values: [] },
        sampleOf('/c'),
        // Labels no series can have (no metric name): their exemplars are dropped, and fail nothing.
        { labels: Labels.fromObject({ path: '/d' }), timestamps: [], values: [] },
      ]),
    );
    for (const k of [0, 1, 3]) {
      b.series[k].exemplarList = [{ labels: ['trace_id', `x${k}`], value: 1, timestamp: NOW - 1000 }];
      b.series[k].exemplars = 1;
    }
    const r = await writer.write('t', b, false);
    expect([r.firstError, r.rejected, r.exemplarsWritten, r.exemplarsRejected]).toEqual([undefined, [], 2, 1]);
    expect(held(db)).toEqual(['/b x0', '/c x1']);
    await db.close();
  });

  // One exemplar beside a sample at NOW - 1000; creation grace period 60 s.
  const T = NOW - 1000;
  test.each([
    ['valid', { labels: ['trace_id', 'a'], value: 1, timestamp: T }, undefined],
    ['no labels', { labels: [], value: 1, timestamp: T }, 'exemplar_labels_missing'],
    ['no timestamp (0)', { labels: ['trace_id', 'a'], value: 1, timestamp: 0 }, 'exemplar_timestamp_invalid'],
    ['labels of 128 code points', { labels: ['trace_id', 'x'.repeat(120)], value: 1, timestamp: T }, undefined],
    ['labels of 129 code points', { labels: ['trace_id', 'x'.repeat(121)], value: 1, timestamp: T }, 'exemplar_labels_too_long'],
    ['128 code points in 248 UTF-16 units', { labels: ['trace_id', '\u{1F600}'.repeat(120)], value: 1, timestamp: T }, undefined],
    ['names count too', { labels: ['t'.repeat(100), 'x'.repeat(29)], value: 1, timestamp: T }, 'exemplar_labels_too_long'],
    ['only empty values', { labels: ['trace_id', ''], value: 1, timestamp: T }, 'exemplar_labels_blank'],
    ['an empty name', { labels: ['', 'a'], value: 1, timestamp: T }, 'exemplar_labels_blank'],
    ['5 minutes before the earliest sample', { labels: ['trace_id', 'a'], value: 1, timestamp: T - 300_000 }, undefined],
    ['older than that', { labels: ['trace_id', 'a'], value: 1, timestamp: T - 300_001 }, 'exemplar_too_old'],
    ['at the grace period', { labels: ['trace_id', 'a'], value: 1, timestamp: NOW + 60_000 }, undefined],
    ['beyond it', { labels: ['trace_id', 'a'], value: 1, timestamp: NOW + 60_001 }, 'exemplar_too_far_in_future'],
  ] as [string, ExemplarRecord, string | undefined][])('%s', async (_, e, reason) => {
    const { db, writer, registry } = await open();
    const b = decodeWriteRequestV1(encodeWriteRequestV1([series({ __name__: 'req_total', path: '/a' }, [T, 1])]));
    b.series[0].exemplarList = [e];
    b.series[0].exemplars = 1;
    const r = await writer.write('t', b, false);
    // Never an error, and the sample lands either way.
    expect([r.firstError, r.samplesWritten, r.exemplarsWritten]).toEqual([undefined, 1, reason ? 0 : 1]);
    expect(db.openTenant('t')!.exemplars.count).toBe(reason ? 0 : 1);
    const discarded = await registry.getSingleMetricAsString('strata_discarded_exemplars_total');
    if (reason) expect(discarded).toContain(`reason="${reason}",tenant="t"} 1`);
    else expect(discarded).not.toContain('tenant="t"');
    await db.close();
  });

  test('max_exemplars_per_series_per_request keeps the first ones; the others are stored in timestamp order', async () => {
    const { db, writer, registry } = await open({ maxExemplarsPerSeriesPerRequest: 3 });
    const b = decodeWriteRequestV1(encodeWriteRequestV1([series({ __name__: 'req_total', path: '/a' }, [T, 1])]));
    b.series[0].exemplarList = [3, 1, 2, 4].map((i) => ({ labels: ['trace_id', `t${i}`], value: i, timestamp: T + i }));
    b.series[0].exemplars = 4;
    const r = await writer.write('t', b, false);
    expect([r.firstError, r.exemplarsWritten, r.exemplarsRejected]).toEqual([undefined, 3, 1]);
    expect(held(db)).toEqual(['/a t1,t2,t3']);
    expect(await registry.getSingleMetricAsString('strata_discarded_exemplars_total')).toContain(
      'reason="too_many_exemplars_per_series_per_request",tenant="t"} 1',
    );
    await db.close();
  });

  test("max_global_exemplars_per_user is the ring's total: a receiver keeps its share; 0 drops them without an error", async () => {
    const shared = await open({ maxGlobalExemplarsPerUser: 6 }, { share: 0.5 });
    await shared.writer.write('t', batch(4), false);
    expect(shared.db.openTenant('t')!.exemplars.capacity).toBe(3);
    expect(held(shared.db)).toEqual(['/a t01,t02,t03']);

    const off = await open({ maxGlobalExemplarsPerUser: 0 });
    const r = await off.writer.write('t', batch(), false);
    expect(r.firstError).toBeUndefined();
    expect([r.samplesWritten, r.exemplarsWritten, r.exemplarsRejected]).toEqual([1, 0, 4]);
    expect(off.db.openTenant('t')!.exemplars.count).toBe(0);
    await Promise.all([shared.db.close(), off.db.close()]);
  });
});
