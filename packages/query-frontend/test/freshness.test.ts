/**
 * Steps that read samples newer than the freshness window are never cached: samples arriving
 * there later need no generation bump. Negative offsets read ahead, `@` pins a time.
 */
import { Labels } from '@strata/model';
import { MemoryCache } from '@strata/query-frontend';
import { dataWindow } from '../src/data-window.js';
import { parse } from '@strata/promql';
import { DAY, T0, rangeQuery, startRig, type Rig } from './setup.js';

jest.setTimeout(120_000);
const MIN = 60_000;
// "Now" inside the data's second day; the gap of the series written to below has no samples.
let now = T0 + DAY + 12 * 3_600_000;
let rig: Rig;
beforeAll(async () => {
  rig = await startRig({ now: () => now, cache: new MemoryCache(64 * 1024 * 1024, 0) });
});
afterAll(() => rig.close());

test.each([
  ['memory_bytes', { back: 300_000, forward: 0, fixed: null }],
  ['rate(x[5m] offset 1h)', { back: 3_900_000, forward: -3_600_000, fixed: null }],
  ['x offset -10m', { back: -300_000, forward: 600_000, fixed: null }],
  ['max_over_time(x[1h:1m])', { back: 3_600_000 + 60_000 + 300_000, forward: 0, fixed: null }],
  ['x @ 100', { back: -Infinity, forward: -Infinity, fixed: { min: 100_000 - 300_000, max: 100_000 } }],
  ['vector(1)', { back: -Infinity, forward: -Infinity, fixed: null }],
  ['x + rate(y[10m] offset -1m)', { back: 540_000, forward: 60_000, fixed: null }],
  // anchored reads up to a lookback before the range; smoothed also up to a lookback after it.
  ['increase(x[1m] anchored)', { back: 360_000, forward: 0, fixed: null }],
  ['rate(x[1m] offset 1m smoothed)', { back: 420_000, forward: 240_000, fixed: null }],
  ['max_over_time(rate(x[1m] smoothed)[10m:1m])', { back: 600_000 + 60_000 + 360_000, forward: 300_000, fixed: null }],
  ['rate(x[1m] @ 600 smoothed)', { back: -Infinity, forward: -Infinity, fixed: { min: 600_000 - 360_000, max: 900_000 } }],
  // A smoothed instant selector interpolates towards the next sample, up to a lookback later.
  ['x smoothed', { back: 300_000, forward: 300_000, fixed: null }],
])('data window of %s', (q, want) => {
  expect(dataWindow(parse(q), 300_000, 60_000)).toEqual(want);
});

test.each([
  'count_over_time(latency_seconds_bucket{instance="a:9100", job="api", le="0.1"}[1m])',
  // Reads 10 minutes ahead: its steps up to 11 minutes before now read the freshness window.
  'latency_seconds_bucket{instance="a:9100", job="api", le="0.1"} offset -10m',
])('%s: steps reading the freshness window are computed again later, not served from the cache', async (q) => {
  const [s, e] = [now - 3 * 3_600_000, now];
  const first = await rangeQuery(rig.frontendUrl, q, s, e, MIN);
  expect(first).toEqual(await rangeQuery(rig.querierUrl, q, s, e, MIN));
  // A sample lands 30 s before the first query's "now" (inside the freshness window, no bump),
  // into a series that had nothing there.
  const app = (await rig.db.tenant('anonymous')).appender();
  const fresh = now - 30_000;
  app.append(app.ref(Labels.fromObject({ __name__: 'latency_seconds_bucket', job: 'api', instance: 'a:9100', le: '0.1' })), fresh, 7);
  await app.commit();
  now += 5 * MIN;
  const truth = await rangeQuery(rig.querierUrl, q, s, e, MIN);
  expect(truth).not.toEqual(first);
  expect(await rangeQuery(rig.frontendUrl, q, s, e, MIN)).toEqual(truth);
});
