/**
 * PromQL over the whole history: 8.5 h of data into strata all with 1 h blocks and no local
 * retention, so everything but the head is served from the bucket by the store gateway. The
 * same data goes to Prometheus 2.42; query_range results must be identical, also after a
 * restart (cold caches) and after deleting the gateway's local index headers.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Labels } from '@strata/model';
import { encodeWriteRequestV1, snappyEncode } from '@strata/remote';
import { freePort, getJson, startProcess, startStrata, stop, tempDir, waitFor, type Proc, type Strata } from './harness.js';

jest.setTimeout(240_000);

const STEP = 60_000;
const end = Math.floor(Date.now() / STEP) * STEP;
const start = end - 8.5 * 3600_000;
const ARGS = [
  '--tsdb.block-duration=1h',
  '--tsdb.compaction-interval=1s',
  '--tsdb.retention.local=0s',
  '--store-gateway.sync-interval=1s',
  '--receiver.out-of-order-window=0s',
];

let strata: Strata;
let prom: Proc;
let promUrl: string;

async function push(url: string): Promise<void> {
  for (let t = start; t <= end; t += STEP * 30) {
    const series = [];
    for (let i = 0; i < 20; i++) {
      const ts: number[] = [];
      const vs: number[] = [];
      for (let k = 0; k < 30 && t + k * STEP <= end; k++) {
        ts.push(t + k * STEP);
        vs.push(Math.floor(((t + k * STEP - start) / STEP) * (i + 1) * 1.5));
      }
      series.push({
        labels: Labels.fromObject({ __name__: 'hist_requests_total', job: `job-${i % 4}`, instance: `i-${i}` }),
        timestamps: ts,
        values: vs,
      });
    }
    const r = await fetch(url, {
      method: 'POST',
      body: snappyEncode(encodeWriteRequestV1(series)),
      headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' },
    });
    expect([200, 204]).toContain(r.status);
  }
}

const QUERIES = [
  'sum by (job) (rate(hist_requests_total[5m]))',
  'hist_requests_total{instance="i-3"}',
  'max_over_time(hist_requests_total{job="job-1"}[20m])',
  'count(hist_requests_total)',
];

async function compareAll(label: string): Promise<void> {
  for (const q of QUERIES) {
    // Steps fall between samples: Prometheus 3 (which Strata follows) made range windows
    // left-open, while 2.42 also counts a sample exactly at the window's start.
    const params = `query=${encodeURIComponent(q)}&start=${(start + 13_000) / 1000}&end=${end / 1000}&step=300`;
    const [p, s] = await Promise.all([
      getJson(`${promUrl}/api/v1/query_range?${params}`),
      getJson(`${strata.url}/api/v1/query_range?${params}`),
    ]);
    expect({ label, q, status: s.status }).toEqual({ label, q, status: 'success' });
    const norm = (r: { metric: Record<string, string>; values: [number, string][] }[]) =>
      r
        .map((x) => ({ metric: x.metric, values: x.values.map(([t, v]) => [t, Number(v).toPrecision(12)]) }))
        .sort((a, b) => JSON.stringify(a.metric).localeCompare(JSON.stringify(b.metric)));
    expect({ label, q, result: norm(s.data.result) }).toEqual({ label, q, result: norm(p.data.result) });
  }
}

beforeAll(async () => {
  strata = await startStrata({ args: ARGS });
  const port = await freePort();
  promUrl = `http://127.0.0.1:${port}`;
  const dir = tempDir('prom-hist');
  fs.writeFileSync(path.join(dir, 'prometheus.yml'), 'global:\n  scrape_interval: 1h\n');
  prom = startProcess('/usr/bin/prometheus', [
    `--config.file=${path.join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--web.enable-remote-write-receiver',
    '--log.level=warn',
  ]);
  await waitFor('prometheus ready', async () => (await fetch(`${promUrl}/-/ready`)).status === 200, 60_000);
  await Promise.all([push(`${strata.url}/api/v1/write`), push(`${promUrl}/api/v1/write`)]);
});

afterAll(async () => {
  if (prom) await stop(prom);
  if (strata) await stop(strata);
});

test('history is served from the bucket and equals Prometheus, warm, cold, and without local index headers', async () => {
  const bucket = path.join(strata.dataDir, 'bucket', 'anonymous');
  const local = path.join(strata.dataDir, 'tsdb', 'tenants', 'anonymous', 'blocks');
  // Several blocks shipped, none kept locally: older data lives only in the bucket.
  await waitFor(
    'blocks shipped and dropped locally',
    async () => {
      const shipped = fs.existsSync(bucket)
        ? fs.readdirSync(bucket).filter((d) => fs.existsSync(path.join(bucket, d, 'meta.json'))).length
        : 0;
      const kept = fs.existsSync(local) ? fs.readdirSync(local).filter((d) => /^[0-9A-Z]{26}$/.test(d)).length : 0;
      return shipped >= 6 && kept === 0;
    },
    60_000,
  );
  await new Promise((r) => setTimeout(r, 1500)); // one gateway sync period
  await compareAll('warm');
  await stop(strata);
  strata = await startStrata({ dataDir: strata.dataDir, args: ARGS });
  await compareAll('after restart, cold caches');
  await stop(strata);
  const headers = path.join(strata.dataDir, 'store-gateway');
  expect(fs.existsSync(headers)).toBe(true);
  fs.rmSync(headers, { recursive: true, force: true });
  strata = await startStrata({ dataDir: strata.dataDir, args: ARGS });
  await compareAll('without local index headers');
});
