/** The writer's exemplars: staged with the samples, sized by the tenant's limit (Mimir's semantics), durable. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { Labels, Matcher } from '@strata/model';
import { decodeWriteRequestV1, encodeWriteRequestV1, type WriteBatch } from '@strata/remote';
import { TSDB } from '@strata/tsdb';
import { Limits, type TenantLimits } from '@strata/api';
import { MetadataStore } from './metadata-store.js';
import { Writer } from './writer.js';

const NOW = Date.UTC(2026, 0, 1);
const dirs: string[] = [];
const dbs: TSDB[] = [];
afterEach(async () => {
  await Promise.all(dbs.splice(0).map((d) => d.close().catch(() => undefined)));
});
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

const HEAD = { outOfOrderWindowMs: 0, samplesPerChunk: 120, maxSeries: 0 };

async function open(limits: Partial<TenantLimits>, share = 1, dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-wex-'))) {
  dirs.push(dir);
  const db = await TSDB.open({ dir, fsync: 'batch', head: HEAD });
  dbs.push(db);
  const writer = new Writer({
    storage: db,
    limits: new Limits({
      defaults: {
        ingestionRate: 0,
        ingestionBurstSize: 0,
        maxGlobalSeriesPerUser: 0,
        maxLabelNamesPerSeries: 30,
        maxLabelNameLength: 1024,
        maxLabelValueLength: 2048,
        ...limits,
      },
    }),
    metadata: new MetadataStore(),
    registry: new Registry(),
    creationGracePeriodMs: 60_000,
    now: () => NOW,
    seriesLimitShare: () => share,
  });
  return { db, writer, dir };
}

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

describe('writer: exemplars', () => {
  test('are stored with the samples, a series sent with exemplars alone too, and survive a crash', async () => {
    const { db, writer, dir } = await open({});
    const r = await writer.write('t', batch(), false);
    expect(r.firstError).toBeUndefined();
    expect([r.samplesWritten, r.exemplarsWritten, r.exemplarsRejected]).toEqual([1, 4, 0]);
    expect(held(db)).toEqual(['/a t00,t01', '/b t10,t11']);
    // A resend is accepted and stores nothing new: each series' newest is a duplicate, the older
    // ones are out of order (dropped without an error, as Prometheus drops them).
    const resent = await writer.write('t', batch(), false);
    expect([resent.firstError, resent.exemplarsWritten, resent.exemplarsRejected]).toEqual([undefined, 2, 2]);
    expect(db.openTenant('t')!.exemplars.count).toBe(4);
    // No close: the WAL is replayed.
    const again = await open({}, 1, dir);
    await again.db.tenant('t');
    expect(held(again.db)).toEqual(['/a t00,t01', '/b t10,t11']);
  });

  test("max_global_exemplars_per_user is the ring's total: a receiver keeps its share; 0 drops them without an error", async () => {
    const shared = await open({ maxGlobalExemplarsPerUser: 6 }, 0.5);
    await shared.writer.write('t', batch(3), false);
    expect(shared.db.openTenant('t')!.exemplars.capacity).toBe(3);
    expect(held(shared.db)).toEqual(['/b t10,t11,t12']);

    const off = await open({ maxGlobalExemplarsPerUser: 0 });
    const r = await off.writer.write('t', batch(), false);
    expect(r.firstError).toBeUndefined();
    expect([r.samplesWritten, r.exemplarsWritten, r.exemplarsRejected]).toEqual([1, 0, 4]);
    expect(off.db.openTenant('t')!.exemplars.count).toBe(0);
  });
});
