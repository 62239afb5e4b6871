/**
 * The frontend over a real memcached that stops answering, comes back with its old contents,
 * is killed and restarted: every answer equals the querier's, late data included.
 */
import { Registry } from 'prom-client';
import { Labels } from '@strata/model';
import { MemcachedCache } from '@strata/query-frontend';
import { startMemcached, type Memcached } from './memcached.js';
import { DAY, DAYS, T0, metricValue, rangeQuery, startRig, type Rig } from './setup.js';

jest.setTimeout(120_000);
const now = T0 + DAYS * DAY + 3_600_000;
let memcached: Memcached;
let rig: Rig;
const cacheRegistry = new Registry();
beforeAll(async () => {
  memcached = await startMemcached();
  rig = await startRig({
    now: () => now,
    // A deadline a loaded machine still meets when memcached answers (a set that times out stores nothing, and
    // the next query misses), short enough that a stopped memcached costs a query little.
    cache: new MemcachedCache({ addresses: [memcached.address], ttlSeconds: 600, timeoutMs: 1_000, registry: cacheRegistry }),
  });
});
afterAll(async () => {
  await rig?.close();
  await memcached?.stop();
});

const Q = 'sum by (job) (count_over_time(latency_seconds_bucket{instance="a:9100"}[1m]))';
const [S, E, STEP] = [T0 + DAY / 2, T0 + DAY + DAY / 2, 60_000];
const hits = () => metricValue(rig.registry, 'strata_query_frontend_results_cache_lookups_total', { result: 'hit' });

test('memcached stopped, late data, memcached back with stale entries, killed, restarted: answers stay right', async () => {
  const truth0 = await rangeQuery(rig.querierUrl, Q, S, E, STEP);
  expect(await rangeQuery(rig.frontendUrl, Q, S, E, STEP)).toEqual(truth0);
  const h0 = await hits();
  expect(await rangeQuery(rig.frontendUrl, Q, S, E, STEP)).toEqual(truth0);
  expect(await hits()).toBe(h0 + 2);

  // Unreachable (stopped, its memory intact): answered uncached.
  memcached.child.kill('SIGSTOP');
  const t = performance.now();
  expect(await rangeQuery(rig.frontendUrl, Q, S, E, STEP)).toEqual(truth0);
  expect(performance.now() - t).toBeLessThan(10_000);
  expect(await metricValue(cacheRegistry, 'strata_query_frontend_results_cache_errors_total')).toBeGreaterThan(0);

  // Late data while it is away: into the gap of latency_seconds_bucket{instance="a:9100",le="0.1"}.
  const app = (await rig.db.tenant('anonymous')).appender();
  const late = T0 + 630 * 120_000;
  app.append(app.ref(Labels.fromObject({ __name__: 'latency_seconds_bucket', job: 'api', instance: 'a:9100', le: '0.1' })), late, 1);
  await app.commit();
  rig.generations.bump('anonymous', late, late);
  const truth1 = await rangeQuery(rig.querierUrl, Q, S, E, STEP);
  expect(truth1).not.toEqual(truth0);

  // Back, still holding the extents cached before the late sample: they are not served.
  memcached.child.kill('SIGCONT');
  expect(await rangeQuery(rig.frontendUrl, Q, S, E, STEP)).toEqual(truth1);
  expect(await rangeQuery(rig.frontendUrl, Q, S, E, STEP)).toEqual(truth1);

  // Killed: uncached; restarted empty on the same port: cold, then warm again.
  const port = memcached.port;
  await memcached.stop();
  expect(await rangeQuery(rig.frontendUrl, Q, S, E, STEP)).toEqual(truth1);
  memcached = await startMemcached(port);
  for (let i = 0; i < 3; i++) expect(await rangeQuery(rig.frontendUrl, Q, S, E, STEP)).toEqual(truth1);
  const h1 = await hits();
  expect(await rangeQuery(rig.frontendUrl, Q, S, E, STEP)).toEqual(truth1);
  expect(await hits()).toBe(h1 + 2);
});
