/**
 * A querier in front of a receiver (which keeps its shipped blocks on disk) and a store gateway
 * over the same bucket reads each range from one of them only (--querier.query-ingesters-within,
 * --querier.query-store-after; 4h and 3h here, the defaults are 13h and 12h): a query over old
 * data asks no receiver, one over fresh data asks no gateway, a query across both asks each its
 * part, and every answer equals that of a querier asking every store everything, which reads the
 * same ranges from both. Reads are counted
 * with the stores' own request metrics; PromQL, remote-read, series and label APIs are covered.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Labels, Matcher } from '@strata/model';
import { encodeReadRequest, snappyDecode, snappyEncode } from '@strata/remote';
import { getJson, pushV1, startStrata, stop, tempDir, waitFor, waitForShippedBlocks, type Strata } from './harness.js';

jest.setTimeout(120_000);

const MIN = 60_000;
const H = 60 * MIN;
const now = Math.floor(Date.now() / MIN) * MIN;
const start = now - 5 * H;
const READS = /^strata_request_duration_seconds_count\{[^}]*route="(\/api\/v1\/(read|series|labels|label\/[^"]+))"[^}]*\} (\d+)/;

/** Reads the store answered so far (remote-read, series, label names and values). */
async function reads(s: Strata): Promise<number> {
  const text = await (await fetch(`${s.url}/metrics`)).text();
  let n = 0;
  for (const line of text.split('\n')) {
    const m = READS.exec(line);
    if (m) n += Number(m[3]);
  }
  return n;
}

let receiver: Strata;
let gateway: Strata;
let querier: Strata;
let everything: Strata;

beforeAll(async () => {
  const bucketDir = tempDir('ranges-bucket');
  const objstore = path.join(tempDir('ranges-cfg'), 'bucket.yml');
  fs.writeFileSync(objstore, `type: FILESYSTEM\nconfig:\n  directory: ${bucketDir}\n`);
  receiver = await startStrata({
    component: 'receiver',
    args: [
      `--objstore.config-file=${objstore}`,
      '--tsdb.block-duration=1h',
      '--tsdb.compaction-interval=1s',
      '--receiver.out-of-order-window=0s',
    ],
  });
  const series = ['a', 'b'].map((job, j) => ({
    labels: Labels.fromObject({ __name__: 'ranges_total', job }),
    timestamps: Array.from({ length: 301 }, (_, i) => start + i * MIN),
    values: Array.from({ length: 301 }, (_, i) => i * (j + 1)),
  }));
  expect(await pushV1(receiver.url, series)).toBe(204);
  await waitForShippedBlocks(path.join(bucketDir, 'anonymous'), 3);
  gateway = await startStrata({
    component: 'store-gateway',
    args: [`--objstore.config-file=${objstore}`, '--store-gateway.sync-interval=1s'],
  });
  const stores = `--querier.stores=${receiver.url},${gateway.url}`;
  [querier, everything] = await Promise.all([
    startStrata({ component: 'querier', args: [stores, '--querier.query-ingesters-within=4h', '--querier.query-store-after=3h'] }),
    startStrata({ component: 'querier', args: [stores, '--querier.query-ingesters-within=0', '--querier.query-store-after=0'] }),
  ]);
  // The querier learns the stores' ranges for a tenant at its first query (and every 15 s after).
  await waitFor('stores known', async () => {
    const before = await reads(gateway);
    await instant(querier, 'count_over_time(ranges_total[20m])', now - 150 * MIN);
    return (await reads(gateway)) === before;
  });
});

afterAll(async () => {
  for (const p of [querier, everything, gateway, receiver]) if (p) await stop(p);
});

function instant(q: Strata, query: string, at: number) {
  return getJson(`${q.url}/api/v1/query?query=${encodeURIComponent(query)}&time=${at / 1000}`);
}

/** Runs `ask` against the querier and counts what each store answered for it. */
async function counted<T>(ask: () => Promise<T>): Promise<{ result: T; receiver: number; gateway: number }> {
  // Queries run one at a time (jest runs a file's tests in order), so the deltas are theirs.
  const [r0, g0] = await Promise.all([reads(receiver), reads(gateway)]);
  const result = await ask();
  const [r1, g1] = await Promise.all([reads(receiver), reads(gateway)]);
  return { result, receiver: r1 - r0, gateway: g1 - g0 };
}

test.each<[string, string, number, 'receiver' | 'gateway' | 'both']>([
  ['old data: the gateway alone', 'count_over_time(ranges_total[20m])', now - 270 * MIN, 'gateway'],
  ['fresh data: the receiver alone', 'count_over_time(ranges_total[20m])', now - 150 * MIN, 'receiver'],
  ['across both: each its part', 'count_over_time(ranges_total[5h])', now, 'both'],
])('PromQL over %s, same answer', async (_n, query, at, who) => {
  const got = await counted(() => instant(querier, query, at));
  expect(got.result.status).toBe('success');
  expect(got.result.data.result).toHaveLength(2);
  expect(got.receiver > 0).toBe(who !== 'gateway');
  expect(got.gateway > 0).toBe(who !== 'receiver');
  const all = await counted(() => instant(everything, query, at));
  expect([all.receiver > 0, all.gateway > 0]).toEqual([true, true]);
  expect(got.result.data).toEqual(all.result.data);
});

test('series and label APIs over old data ask the gateway alone, same answers', async () => {
  const range = `start=${(start + 10 * MIN) / 1000}&end=${(now - 270 * MIN) / 1000}`;
  for (const p of [`/api/v1/series?match[]=ranges_total&${range}`, `/api/v1/labels?${range}`, `/api/v1/label/job/values?${range}`]) {
    const got = await counted(() => getJson(`${querier.url}${p}`));
    expect(got.result.status).toBe('success');
    expect([p, got.receiver, got.gateway > 0]).toEqual([p, 0, true]);
    const all = await counted(() => getJson(`${everything.url}${p}`));
    expect(all.receiver).toBeGreaterThan(0);
    expect(got.result.data).toEqual(all.result.data);
  }
});

test('remote-read over fresh data asks the receiver alone, same samples', async () => {
  const read = (q: Strata) =>
    fetch(`${q.url}/api/v1/read`, {
      method: 'POST',
      body: snappyEncode(
        encodeReadRequest({
          queries: [{ startMs: now - 150 * MIN, endMs: now - 120 * MIN, matchers: [new Matcher('=', '__name__', 'ranges_total')] }],
          acceptedResponseTypes: [],
        }),
      ),
      headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy' },
    }).then(async (r) => snappyDecode(Buffer.from(await r.arrayBuffer()), 1 << 26));
  const got = await counted(() => read(querier));
  expect([got.receiver > 0, got.gateway]).toEqual([true, 0]);
  expect(got.result.length).toBeGreaterThan(100);
  const all = await counted(() => read(everything));
  expect(all.gateway).toBeGreaterThan(0);
  expect(got.result.equals(all.result)).toBe(true);
});
