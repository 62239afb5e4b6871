/**
 * The Querier contract (model/test/querier-contract.ts) against the querier's stores: the
 * fan-out over two in-process TSDBs holding disjoint halves of the dataset (by series, and by
 * time so that every series has to be merged from both), and RemoteStore against a real HTTP
 * server answering remote-read and the series/label APIs from a TSDB.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { HttpServer, Router } from '@strata/api';
import type { Series } from '@strata/model';
import { Engine } from '@strata/promql';
import { decodeRawSeries, TSDB } from '@strata/tsdb';
import {
  BLOCK_MS,
  forEachSampleInTimeOrder,
  HOUR,
  querierContract,
  subset,
  T0,
  timeSlice,
  type Dataset,
} from '../../model/test/querier-contract.js';
import { FanoutQueryable, mountQueryApi, RemoteStore } from '../src/index.js';
import type { Store } from '../src/fanout.js';

const TENANT = 'contract';

/** A TSDB holding `ds` for TENANT, with complete block ranges compacted into local blocks. */
async function tsdbWith(ds: Dataset, root: string, name: string): Promise<TSDB> {
  const db = await TSDB.open({
    dir: path.join(root, name),
    fsync: 'none',
    blockDurationMs: BLOCK_MS,
    compactIntervalMs: 0,
    head: { outOfOrderWindowMs: 0, maxSeries: 0 },
  });
  const t = await db.tenant(TENANT);
  const app = t.appender();
  const refs = new Map<Series, number>();
  forEachSampleInTimeOrder(ds, (s, ts, v) => {
    let ref = refs.get(s);
    if (ref === undefined) refs.set(s, (ref = app.ref(s.labels)));
    app.append(ref, ts, v);
  });
  await app.commit();
  await t.compact();
  return db;
}

const asStore = (db: TSDB, name: string): Store => ({ name, queryable: db.queryable(), timeRange: (tenant) => db.timeRanges()[tenant] });

/** series() of a TSDB counts a head series by its min-max time; its label APIs count a block, and the head, as a whole. */
const tolerance = (dbs: TSDB[]) => ({
  seriesSpan: true,
  blocks: dbs.flatMap((db) => {
    const t = db.openTenant(TENANT)!;
    return [...t.blocks.map((b) => b.meta), { minTime: t.head.minT, maxTime: t.head.maxT + 1 }];
  }),
});

async function fanout(parts: Dataset[]) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-fanout-qc-'));
  const dbs = await Promise.all(parts.map((p, i) => tsdbWith(p, root, `store-${i}`)));
  const q = new FanoutQueryable(() => dbs.map((db, i) => asStore(db, `store-${i}`)), { replicaLabels: [], partialResponse: false });
  return {
    querier: q.querier(TENANT),
    labelTimeTolerance: tolerance(dbs),
    cleanup: async () => {
      for (const db of dbs) await db.close();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

// decodeRaw: what the fan-out hands a query worker (selectRaw) decodes to what select answers.
querierContract(
  'fan-out over two stores holding alternate series',
  (ds) => fanout([subset(ds, (_, i) => i % 2 === 0), subset(ds, (_, i) => i % 2 === 1)]),
  { decodeRaw: decodeRawSeries },
);

// Not on a block boundary: the series of the middle block are split between the two stores.
const SPLIT = T0 + HOUR + 45 * 60_000;
querierContract(
  'fan-out over two stores holding the older and the newer samples',
  (ds) => fanout([timeSlice(ds, -Infinity, SPLIT), timeSlice(ds, SPLIT + 1, Infinity)]),
  { decodeRaw: decodeRawSeries },
);

querierContract(
  'remote store over HTTP (remote-read and the series/label APIs)',
  async (ds) => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-remote-qc-'));
    const db = await tsdbWith(ds, root, 'tsdb');
    const router = new Router();
    const tenancy = { multiTenancy: true, header: 'X-Scope-OrgID' };
    mountQueryApi(router, { queryable: db.queryable(), engine: new Engine(), tenancy, storeInfo: () => db.timeRanges() });
    const server = new HttpServer({ router, registry: new Registry(), logger: pino({ level: 'silent' }) });
    const addr = await server.listen('127.0.0.1:0');
    const store = new RemoteStore({ url: `http://127.0.0.1:${addr.port}`, tenantHeader: tenancy.header, timeoutMs: 10_000 });
    return {
      querier: store.querier(TENANT),
      labelTimeTolerance: tolerance([db]),
      cleanup: async () => {
        await server.close(100);
        await db.close();
        fs.rmSync(root, { recursive: true, force: true });
      },
    };
  },
  {
    lacks: [
      {
        // Prometheus' /api/v1/series and label endpoints answer 400 to such a selector; remote-read (select) takes it.
        cases: /^(series|series order|labelNames|labelValues) (\{env=~"\.\*"\}|\{__name__=~"cpu_seconds\|"\})/,
        reason: 'the series/label HTTP APIs refuse a selector whose every matcher matches the empty string',
      },
    ],
  },
);
