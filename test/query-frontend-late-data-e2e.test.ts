/**
 * Late data through separate processes: a receiver, a querier reading it, and a standalone
 * `strata query-frontend` in front of the querier. A range is answered and cached by the frontend;
 * a late sample pushed into it (out-of-order window on the receiver) is in the frontend's answer
 * within a poll interval, read from the receiver's late-data log through the querier; so is a
 * deletion made through the querier.
 */
import { Labels } from '@strata/model';
import { encodeWriteRequestV1, snappyEncode } from '@strata/remote';
import { getJson, pushV1, startStrata, stop, waitFor, type Strata } from './harness.js';

const MIN = 60_000;
const POLL_MS = 300;
const procs: Strata[] = [];
let receiver: Strata;
let frontend: Strata;
let querier: Strata;
// Sample times on whole minutes, the newest well outside the 1m freshness window.
const end = Math.floor(Date.now() / MIN) * MIN - 10 * MIN;
const start = end - 120 * MIN;
const late = end - 60 * MIN;

async function push(url: string, times: number[]): Promise<void> {
  const series = [
    {
      labels: Labels.fromObject({ __name__: 'late_standalone', job: 'x' }),
      timestamps: times,
      values: times.map((t) => (t - start) / MIN),
    },
  ];
  const r = await fetch(`${url}/api/v1/write`, {
    method: 'POST',
    body: snappyEncode(encodeWriteRequestV1(series)),
    headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' },
  });
  expect([200, 204]).toContain(r.status);
}

/** The steps of count_over_time over a window holding exactly one scrape: where samples are. */
async function presentSteps(url: string): Promise<number[]> {
  const q = encodeURIComponent('count_over_time(late_standalone[30s])');
  const r = await getJson(`${url}/api/v1/query_range?query=${q}&start=${start / 1000}&end=${end / 1000}&step=60`);
  expect(r.status).toBe('success');
  return (r.data.result[0]?.values ?? []).map((v: [number, string]) => v[0] * 1000);
}

async function metric(url: string, line: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found ? Number(found.split(' ').pop()) : 0;
}

beforeAll(async () => {
  receiver = await startStrata({ component: 'receiver', args: ['--receiver.out-of-order-window=6h', '--web.enable-admin-api'] });
  procs.push(receiver);
  querier = await startStrata({
    component: 'querier',
    args: [`--querier.stores=${receiver.url}`, '--querier.workers=0', '--web.enable-admin-api'],
  });
  procs.push(querier);
  frontend = await startStrata({
    component: 'query-frontend',
    args: [`--query-frontend.downstream-url=${querier.url}`, `--query-frontend.late-data-poll-interval=${POLL_MS}ms`],
  });
  procs.push(frontend);
  const times: number[] = [];
  for (let t = start; t <= end; t += MIN) if (t !== late) times.push(t);
  const notices = await metric(frontend.url, 'strata_query_frontend_late_data_notices_total');
  await push(receiver.url, times);
  // Every sample pushed is older than the freshness window, so late itself: wait until the frontend
  // has heard, or the answer the first test caches would be invalidated by this push's notice.
  await waitFor(
    'the first push noticed',
    async () => (await metric(frontend.url, 'strata_query_frontend_late_data_notices_total')) > notices || undefined,
    10_000,
    POLL_MS / 3,
  );
}, 120_000);
afterAll(async () => {
  await Promise.all(procs.map((p) => stop(p)));
});

test("a late sample pushed to a receiver is in a standalone frontend's cached range within a poll interval", async () => {
  const all = 121;
  const before = await presentSteps(frontend.url);
  expect(before).toHaveLength(all - 1);
  expect(before).not.toContain(late);
  // Warm: answered from the cache, unchanged.
  const hit = 'strata_query_frontend_results_cache_lookups_total{result="hit"}';
  const hits = await metric(frontend.url, hit);
  expect(await presentSteps(frontend.url)).toEqual(before);
  expect(await metric(frontend.url, hit)).toBeGreaterThan(hits);

  const notices = await metric(frontend.url, 'strata_query_frontend_late_data_notices_total');
  await push(receiver.url, [late]);
  const pushed = Date.now();
  // A poll interval (and the poll's round trips) later, the cached split is no longer served.
  await new Promise((r) => setTimeout(r, POLL_MS + 200));
  let after = await presentSteps(frontend.url);
  // A loaded machine may delay the poll itself: allow a few more intervals, and say how long it took.
  while (!after.includes(late) && Date.now() - pushed < 10 * POLL_MS) {
    await new Promise((r) => setTimeout(r, POLL_MS / 3));
    after = await presentSteps(frontend.url);
  }
  expect(after).toContain(late);
  expect(after).toHaveLength(all);
  expect(await metric(frontend.url, 'strata_query_frontend_late_data_notices_total')).toBeGreaterThan(notices);
  // Computed again under the new generations, the answer is cached again: the next query is a hit.
  const hitsAfter = await metric(frontend.url, hit);
  expect(await presentSteps(frontend.url)).toEqual(after);
  expect(await metric(frontend.url, hit)).toBeGreaterThan(hitsAfter);
});

test("a deletion through the querier is out of the standalone frontend's cached answer within a poll interval", async () => {
  const before = await presentSteps(frontend.url);
  expect(await presentSteps(frontend.url)).toEqual(before);
  const from = start + 15 * MIN;
  const to = start + 25 * MIN;
  expect(before.filter((t) => t >= from && t <= to)).toHaveLength(11);
  const r = await fetch(`${querier.url}/api/v1/admin/tsdb/delete_series?match[]=late_standalone&start=${from / 1000}&end=${to / 1000}`, {
    method: 'POST',
  });
  expect(r.status).toBe(204);
  const deleted = Date.now();
  let after = await presentSteps(frontend.url);
  while (after.some((t) => t >= from && t <= to) && Date.now() - deleted < 10 * POLL_MS) {
    await new Promise((res) => setTimeout(res, POLL_MS / 3));
    after = await presentSteps(frontend.url);
  }
  expect(after).toEqual(before.filter((t) => t < from || t > to));
});

test('a frontend caching more recent steps than the receiver was told (a shorter freshness window) still hears of late samples there', async () => {
  // The receiver runs with the default window (1m); this frontend caches steps older than 10s and
  // names that window on its polls, relayed by the querier.
  const fresher = await startStrata({
    component: 'query-frontend',
    args: [
      `--query-frontend.downstream-url=${querier.url}`,
      `--query-frontend.late-data-poll-interval=${POLL_MS}ms`,
      '--query-frontend.max-cache-freshness=10s',
    ],
  });
  procs.push(fresher);
  const S = 10_000;
  const rangeEnd = Math.floor(Date.now() / S) * S - 2 * S;
  const rangeStart = rangeEnd - 24 * S;
  // 30-40 s old when pushed: late for this frontend, not by the receiver's own 1m window.
  const lateT = rangeEnd - S;
  const steps = async () => {
    const q = encodeURIComponent('count_over_time(late_fresh[5s])');
    const r = await getJson(`${fresher.url}/api/v1/query_range?query=${q}&start=${rangeStart / 1000}&end=${rangeEnd / 1000}&step=10`);
    expect(r.status).toBe('success');
    return (r.data.result[0]?.values ?? []).map((v: [number, string]) => v[0] * 1000);
  };
  const series = (times: number[]) => [
    { labels: Labels.fromObject({ __name__: 'late_fresh' }), timestamps: times, values: times.map(() => 1) },
  ];
  const times: number[] = [];
  for (let t = rangeStart; t <= rangeEnd; t += S) if (t !== lateT) times.push(t);
  const notices = 'strata_query_frontend_late_data_notices_total';
  const noticed = await metric(fresher.url, notices);
  expect(await pushV1(receiver.url, series(times))).toBe(204);
  // These samples are late for this frontend too (all older than 10s): heard of before caching,
  // so the answers cached next are not invalidated by the push that made them.
  await waitFor('the first push noticed', async () => (await metric(fresher.url, notices)) > noticed || undefined, 10_000, POLL_MS / 3);
  const before = await steps();
  expect(before).toHaveLength(24);
  const hit = 'strata_query_frontend_results_cache_lookups_total{result="hit"}';
  const hits = await metric(fresher.url, hit);
  expect(await steps()).toEqual(before);
  expect(await metric(fresher.url, hit)).toBeGreaterThan(hits);

  expect(await pushV1(receiver.url, series([lateT]))).toBe(204);
  expect(Date.now() - lateT).toBeLessThan(60_000); // still inside the receiver's own window
  const pushed = Date.now();
  let after = await steps();
  while (!after.includes(lateT) && Date.now() - pushed < 10 * POLL_MS) {
    await new Promise((r) => setTimeout(r, POLL_MS / 3));
    after = await steps();
  }
  expect(after).toContain(lateT);
  expect(after).toHaveLength(25);
});
