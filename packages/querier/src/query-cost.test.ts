import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Labels } from '@strata/model';
import { parse } from '@strata/promql';
import { TSDB } from '@strata/tsdb';
import { estimateQueryCost } from './query-cost.js';

const MIN = 60_000;
let db: TSDB;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-cost-'));

// 10 series of a, 3 of b, over minutes 0..119; c lives in minutes 100..119 only; 2 target_info
// series and 1 build_info.
beforeAll(async () => {
  db = await TSDB.open({ dir, fsync: 'none', head: { outOfOrderWindowMs: 0, maxSeries: 0 } });
  const app = (await db.tenant('t')).appender();
  const refs = [
    ...Array.from({ length: 10 }, (_, i) => ({ ref: app.ref(Labels.fromObject({ __name__: 'a', i: String(i) })), from: 0 })),
    ...Array.from({ length: 3 }, (_, i) => ({ ref: app.ref(Labels.fromObject({ __name__: 'b', i: String(i) })), from: 0 })),
    { ref: app.ref(Labels.fromObject({ __name__: 'c' })), from: 100 },
    ...Array.from({ length: 2 }, (_, i) => ({ ref: app.ref(Labels.fromObject({ __name__: 'target_info', i: String(i) })), from: 0 })),
    { ref: app.ref(Labels.fromObject({ __name__: 'build_info', v: '1' })), from: 0 },
  ];
  for (let m = 0; m < 120; m++) for (const r of refs) if (m >= r.from) app.append(r.ref, m * MIN, m);
  await app.commit();
});
afterAll(async () => {
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

// [query, start, end, step, cost, series per selector]
test.each<[string, number, number, number, number, number[]]>([
  ['a', 60 * MIN, 119 * MIN, MIN, 10 * 60, [10]],
  ['sum(rate(a[5m]))', 60 * MIN, 119 * MIN, MIN, 10 * 60, [10]],
  ['a / on(i) b', 60 * MIN, 119 * MIN, MIN, 10 * 60 + 3 * 60, [10, 3]],
  ['a{i=~"[0-4]"}', 0, 59 * MIN, 5 * MIN, 5 * 12, [5]],
  ['b', 90 * MIN, 90 * MIN, 0, 3, [3]],
  // c has no sample before minute 100: over [30m, 60m] (lookback 5m) it is no series at all.
  ['c', 30 * MIN, 60 * MIN, MIN, 0, [0]],
  ['c offset -50m', 30 * MIN, 60 * MIN, MIN, 31, [1]],
  // A subquery evaluates its inner expression range/step + 1 times per step.
  ['max_over_time(b[10m:1m])', 60 * MIN, 61 * MIN, MIN, 3 * 2 * 11, [3]],
  ['b @ 30', 100 * MIN, 110 * MIN, MIN, 3 * 11, [3]],
  ['vector(1)', 0, 10 * MIN, MIN, 0, []],
  // Durations of step() and range() are those of the query: 10 inner steps of 1m, plus one.
  ['max_over_time(b[range():step()])', 60 * MIN, 70 * MIN, MIN, 3 * 11 * 11, [3]],
  // Over [30m, 80m] c offset -range() reads up to 130m (-50m): c exists there.
  ['c offset -range()', 30 * MIN, 80 * MIN, MIN, 51, [1]],
  // smoothed reads up to a lookback (5m) after each range: at 95m, c's first sample at 100m.
  ['rate(c[1m])', 91 * MIN, 95 * MIN, MIN, 0, [0]],
  ['rate(c[1m] smoothed)', 91 * MIN, 95 * MIN, MIN, 5, [1]],
  ['c smoothed', 91 * MIN, 95 * MIN, MIN, 5, [1]],
  // info() reads its argument and the info series its selector picks, never the selector alone:
  // {i=~".*"} would match all 16 series, the info series it narrows are 2 target_info.
  ['info(a)', 60 * MIN, 61 * MIN, MIN, 10 * 2 + 2 * 2, [10, 2]],
  ['info(a, {i=~".*"})', 60 * MIN, 61 * MIN, MIN, 10 * 2 + 2 * 2, [10, 2]],
  ['info(b, {__name__=~".+_info"})', 90 * MIN, 90 * MIN, 0, 3 + 3, [3, 3]],
  // Pinned by its argument's @: c exists at minute 100 only; a negative matcher picks other *_info.
  ['info(c @ 6000, {__name__!="target_info"})', 30 * MIN, 60 * MIN, MIN, 31 + 31, [1, 1]],
])('%s over [%d, %d] step %d costs %d', async (q, start, end, step, cost, series) => {
  const est = await estimateQueryCost(db.queryable().querier('t'), {
    expr: parse(q),
    start,
    end,
    step,
    lookbackDeltaMs: 5 * MIN,
    defaultSubqueryStepMs: MIN,
  });
  expect(est.selectors.map((s) => s.series)).toEqual(series);
  expect(est.cost).toBe(cost);
});
