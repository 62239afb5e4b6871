/**
 * Prometheus 3's type and unit labels (`__type__`, `__unit__`) go with the metric name: an
 * operation that drops the name drops them too, one that keeps it keeps them.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Labels } from '@strata/model';
import { TSDB } from '@strata/tsdb';
import { Engine } from './engine.js';

const MIN = 60_000;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-type-unit-'));
let db: TSDB;

beforeAll(async () => {
  db = await TSDB.open({ dir, fsync: 'none', head: { outOfOrderWindowMs: 0, maxSeries: 0 } });
  const app = (await db.tenant('t')).appender();
  const a = app.ref(Labels.fromObject({ __name__: 'req_total', __type__: 'counter', __unit__: 'request', job: 'a' }));
  const b = app.ref(Labels.fromObject({ __name__: 'req_total', __type__: 'counter', __unit__: 'request', job: 'b' }));
  for (let m = 0; m <= 10; m++) {
    app.append(a, m * MIN, 10 * m);
    app.append(b, m * MIN, 20 * m);
  }
  await app.commit();
});
afterAll(async () => {
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const engine = new Engine({});

test.each<[string, Record<string, string>[]]>([
  ['req_total{job="a"}', [{ __name__: 'req_total', __type__: 'counter', __unit__: 'request', job: 'a' }]],
  ['+req_total{job="a"}', [{ __name__: 'req_total', __type__: 'counter', __unit__: 'request', job: 'a' }]],
  ['-req_total{job="a"}', [{ job: 'a' }]],
  ['rate(req_total{job="a"}[5m])', [{ job: 'a' }]],
  ['req_total{job="a"} * 2', [{ job: 'a' }]],
  ['req_total{job="a"} > 0', [{ __name__: 'req_total', __type__: 'counter', __unit__: 'request', job: 'a' }]],
  ['req_total{job="a"} > bool 0', [{ job: 'a' }]],
  ['req_total{job="a"} / ignoring(job) req_total{job="b"}', [{}]],
  ['last_over_time(req_total{job="a"}[5m])', [{ __name__: 'req_total', __type__: 'counter', __unit__: 'request', job: 'a' }]],
  ['sum by (__type__) (req_total)', [{ __type__: 'counter' }]],
])('%s', async (q, want) => {
  const out = await engine.instantQuery((await db.tenant('t')).querier(), q, 10 * MIN);
  if (out.result.resultType !== 'vector') throw new Error(`expected a vector, got ${out.result.resultType}`);
  expect(out.result.vector.map((s) => s.labels.toObject())).toEqual(want);
});
