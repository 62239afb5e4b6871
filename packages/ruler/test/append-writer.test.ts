/**
 * Rule results appended in-process to the receiver's write path (what `strata all` wires): the
 * samples land in the rule's tenant through a real TSDB with its WAL, stale markers keep their
 * bits, the tenant's limits and rate limit apply as to a remote-write request, and a rejection
 * reaches the rule as an error with its stable ID.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Limits, type TenantLimits } from '@strata/api';
import { Labels, Matcher } from '@strata/model';
import { createWritePath, MetadataStore } from '@strata/receiver';
import { STALE_NAN, TSDB } from '@strata/tsdb';
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { appendWriter } from '../src/sources.js';

const DEFAULTS: TenantLimits = {
  ingestionRate: 0,
  ingestionBurstSize: 0,
  maxGlobalSeriesPerUser: 0,
  maxLabelNamesPerSeries: 30,
  maxLabelNameLength: 1024,
  maxLabelValueLength: 2048,
};

let dir: string;
let db: TSDB;
beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-append-writer-'));
  db = await TSDB.open({ dir, fsync: 'batch', head: { outOfOrderWindowMs: 0, maxSeries: 0 }, compactIntervalMs: 0 });
});
afterEach(async () => {
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function writer(limits: Partial<TenantLimits> = {}) {
  const path_ = createWritePath({
    storage: db,
    limits: new Limits({ defaults: { ...DEFAULTS, ...limits } }),
    metadata: new MetadataStore(),
    registry: new Registry(),
    config: {
      maxRequestBytes: 1 << 20,
      maxInflightBytes: 1 << 26,
      multiTenancy: true,
      tenantHeader: 'X-Scope-OrgID',
      creationGracePeriodMs: 600_000,
      ingestionRateLimitStatus: 503,
      diskMinFreeBytes: 0,
      storagePath: dir,
    },
  });
  return appendWriter(path_);
}

async function read(tenant: string, name: string) {
  const q = db.openTenant(tenant)?.querier();
  return q ? q.select([new Matcher('=', '__name__', name)], { start: 0, end: Date.now() + 1e6 }) : [];
}

const bitsOf = (v: number) => Buffer.from(Float64Array.of(v).buffer).toString('hex');

test('values land bit for bit in the tenant, stale markers included; other tenants see nothing', async () => {
  const w = writer();
  const t0 = Date.now() - 60_000;
  let run = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(fc.oneof(fc.double(), fc.constant(STALE_NAN)), { minLength: 1, maxLength: 20 }), async (values) => {
      // Each run (shrinking runs included) writes its own series.
      const round = run++;
      const labels = values.map((_, i) => Labels.fromObject({ __name__: `rec_${round}`, i: String(i) }));
      const timestamps = new Float64Array(values.length).fill(t0 + round);
      await w.write('team-a', { labels, timestamps, values: Float64Array.from(values) });
      const got = await read('team-a', `rec_${round}`);
      const byI = new Map(got.map((s) => [Number(s.labels.get('i')), s]));
      return values.every((v, i) => {
        const s = byI.get(i);
        return s !== undefined && s.timestamps.length === 1 && s.timestamps[0] === t0 + round && bitsOf(s.values[0]) === bitsOf(v);
      });
    }),
    { numRuns: 25 },
  );
  expect(await read('team-b', 'rec_0')).toEqual([]);
});

test.each([
  ['a label value over the limit', { maxLabelValueLength: 4 }, { __name__: 'r', job: 'too-long' }, /err-strata-label-value-too-long/],
  ['the tenant series limit', { maxGlobalSeriesPerUser: 1 }, { __name__: 'r' }, /err-strata-max-series-per-tenant/],
  ['the ingestion rate', { ingestionRate: 1, ingestionBurstSize: 1 }, { __name__: 'r' }, /err-strata-ingestion-rate-limited/],
])('%s rejects the write with its ID, as a remote-write request would be', async (_what, limits, labels, id) => {
  const w = writer(limits);
  const write = () =>
    w.write('team-a', {
      labels: [Labels.fromObject(labels), Labels.fromObject({ ...labels, x: '2' })],
      timestamps: Float64Array.of(Date.now(), Date.now()),
      values: Float64Array.of(1, 2),
    });
  await expect(write().then(write)).rejects.toThrow(id);
});
