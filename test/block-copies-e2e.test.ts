/**
 * Blocks in every place `strata all` can hold them, against Prometheus 2.42 opening the same
 * block directories: 6 blocks of 2 h, the oldest two only on local disk, the middle two on local
 * disk and shipped to the bucket, the newest two only in the bucket, then 30 min in the head
 * (pushed to both). Query results must be identical, and a query over the blocks present in both
 * places must read their chunks once, from local disk: no ranged read from the bucket at all, and
 * each local chunk file loaded exactly once.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Labels } from '@strata/model';
import { FilesystemBucket } from '@strata/objstore';
import { encodeWriteRequestV1, snappyEncode } from '@strata/remote';
import { SHIPPER_STATE_FILE, Shipper, writeBlock, XOREncoder, type BlockMeta, type BlockSeries } from '@strata/tsdb';
import { freePort, getJson, startProcess, startStrata, stop, tempDir, waitFor, type Proc, type Strata } from './harness.js';

jest.setTimeout(240_000);

const RANGE = 2 * 3600_000;
const SCRAPE = 15_000;
const HEAD_MS = 30 * 60_000;
const blocksEnd = Math.floor(Date.now() / RANGE) * RANGE - RANGE;
const start = blocksEnd - 6 * RANGE;
const end = blocksEnd + HEAD_MS - SCRAPE;
const TENANT = 'anonymous';

const LABELS = Array.from({ length: 24 }, (_, i) =>
  i < 16
    ? Labels.fromObject({ __name__: 'copy_requests_total', job: `job-${i % 3}`, instance: `i-${i}` })
    : Labels.fromObject({ __name__: 'copy_temperature', job: `job-${i % 3}`, instance: `i-${i}` }),
);

/** Counters (some reset every 3 h) and gauges. */
function value(i: number, t: number): number {
  const k = (t - start) / SCRAPE;
  if (i >= 16) return Math.round(Math.sin(k / 30 + i) * 1000) / 10;
  const kk = i % 5 === 0 ? k % 720 : k;
  return kk * (i + 1) + (kk % 3);
}

function blockSeries(from: number, to: number): BlockSeries[] {
  return LABELS.map((labels, i) => {
    const chunks = [];
    for (let c = from; c < to; c += 120 * SCRAPE) {
      const enc = new XOREncoder();
      const last = Math.min(to - SCRAPE, c + 119 * SCRAPE);
      for (let t = c; t <= last; t += SCRAPE) enc.append(t, value(i, t));
      chunks.push({ minT: c, maxT: last, data: enc.bytes().slice() });
    }
    return { labels, chunks };
  });
}

function copyBlock(src: string, meta: BlockMeta, dst: string): void {
  fs.cpSync(path.join(src, meta.ulid), path.join(dst, meta.ulid), { recursive: true });
}

async function pushHead(url: string): Promise<void> {
  const series = LABELS.map((labels, i) => {
    const timestamps: number[] = [];
    const values: number[] = [];
    for (let t = blocksEnd; t <= end; t += SCRAPE) {
      timestamps.push(t);
      values.push(value(i, t));
    }
    return { labels, timestamps, values };
  });
  const r = await fetch(url, {
    method: 'POST',
    body: snappyEncode(encodeWriteRequestV1(series)),
    headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' },
  });
  expect([200, 204]).toContain(r.status);
}

/** Sum of a metric's samples in Prometheus text format whose labels contain every `want` pair. */
async function metric(url: string, name: string, want: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
    if (Object.entries(want).every(([k, v]) => line.includes(`${k}="${v}"`))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

let strata: Strata;
let prom: Proc;
let promUrl: string;
let metas: BlockMeta[];
let localBlocksDir: string;

beforeAll(async () => {
  const src = tempDir('copies-src');
  metas = [];
  for (let a = start; a < blocksEnd; a += RANGE)
    metas.push(await writeBlock(src, blockSeries(a, a + RANGE), { minTime: a, maxTime: a + RANGE, externalLabels: { tenant_id: TENANT } }));

  const dataDir = tempDir('copies-strata');
  localBlocksDir = path.join(dataDir, 'tsdb', 'tenants', TENANT, 'blocks');
  const staging = tempDir('copies-staging');
  metas.slice(2).forEach((m) => copyBlock(src, m, staging));
  await new Shipper({
    bucket: new FilesystemBucket(path.join(dataDir, 'bucket')),
    prefix: `${TENANT}/`,
    blocksDir: staging,
    localRetentionMs: Infinity,
    dropLocal: async () => undefined,
  }).sync();
  metas.slice(0, 4).forEach((m) => copyBlock(src, m, localBlocksDir));
  // The oldest two count as shipped (so they are not uploaded now) though the bucket lacks them: local only.
  fs.writeFileSync(
    path.join(localBlocksDir, SHIPPER_STATE_FILE),
    JSON.stringify({ version: 1, uploaded: metas.slice(0, 4).map((m) => m.ulid) }),
  );

  const promDir = tempDir('copies-prom');
  metas.forEach((m) => copyBlock(src, m, path.join(promDir, 'data')));
  fs.writeFileSync(path.join(promDir, 'prometheus.yml'), 'global:\n  scrape_interval: 1h\n');
  const port = await freePort();
  prom = startProcess('/usr/bin/prometheus', [
    `--config.file=${path.join(promDir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${path.join(promDir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--web.enable-remote-write-receiver',
    '--storage.tsdb.retention.time=30d',
    '--storage.tsdb.min-block-duration=2h',
    '--storage.tsdb.max-block-duration=2h',
    '--log.level=warn',
  ]);
  promUrl = `http://127.0.0.1:${port}`;
  // The in-process compactor would merge the bucket's copies into new blocks that are not local,
  // which the gateway then serves beside the local ones: this test is about the copies as shipped.
  // Storage reads are what it measures: no results cache in front of them either.
  strata = await startStrata({
    dataDir,
    args: ['--store-gateway.sync-interval=1s', '--compactor.enabled=false', '--query-frontend.results-cache.enabled=false'],
  });
  await waitFor('prometheus ready', async () => (await fetch(`${promUrl}/-/ready`).catch(() => undefined))?.status === 200, 60_000);
  await waitFor(
    'gateway sees the bucket',
    async () => {
      const r = await getJson(
        `${strata.url}/api/v1/query?query=${encodeURIComponent('count(copy_requests_total)')}&time=${(metas[5].minTime + 60_000) / 1000}`,
      );
      return r.data?.result?.length === 1;
    },
    30_000,
  );
  await pushHead(`${strata.url}/api/v1/write`);
  await pushHead(`${promUrl}/api/v1/write`);
});

afterAll(async () => {
  if (strata) await stop(strata);
  if (prom) await stop(prom);
});

function rangeParams(q: string, from: number, to: number, stepS: number): string {
  return `query=${encodeURIComponent(q)}&start=${from / 1000}&end=${to / 1000}&step=${stepS}`;
}

test('a query over blocks both local and in the bucket reads their chunks once, from local disk', async () => {
  // Inside blocks 2 and 3 (local and shipped), away from their neighbours even with the 5m window.
  const from = metas[2].minTime + 10 * 60_000;
  const to = metas[3].maxTime - 10 * 60_000;
  const params = rangeParams('sum by (job) (rate(copy_requests_total[5m]))', from, to, 60);
  const bucketRanged = () => metric(strata.url, 'strata_objstore_bytes_total', { operation: 'get_range' });
  const disk = () => metric(strata.url, 'strata_tsdb_block_read_bytes_total', { kind: 'chunks', source: 'disk' });
  const memory = () => metric(strata.url, 'strata_tsdb_block_read_bytes_total', { kind: 'chunks', source: 'memory' });
  const chunkFileBytes = [2, 3].reduce((n, b) => n + fs.statSync(path.join(localBlocksDir, metas[b].ulid, 'chunks', '000001')).size, 0);

  const [g0, d0, m0] = [await bucketRanged(), await disk(), await memory()];
  const first = await getJson(`${strata.url}/api/v1/query_range?${params}`);
  expect(first.status).toBe('success');
  expect(first.data.result).toHaveLength(3);
  const [g1, d1, m1] = [await bucketRanged(), await disk(), await memory()];
  expect(g1 - g0).toBe(0); // the bucket's copies were not read
  expect(d1 - d0).toBe(chunkFileBytes); // each local chunk file loaded exactly once
  expect(m1 - m0).toBeGreaterThan(0);
  expect(m1 - m0).toBeLessThanOrEqual(chunkFileBytes);

  // Again: nothing from disk or the bucket, the same chunk bytes from memory.
  await getJson(`${strata.url}/api/v1/query_range?${params}`);
  const [g2, d2, m2] = [await bucketRanged(), await disk(), await memory()];
  expect([g2 - g1, d2 - d1, m2 - m1]).toEqual([0, 0, m1 - m0]);

  // The bucket-only blocks are read from the bucket (the metric does count ranged reads).
  await getJson(
    `${strata.url}/api/v1/query_range?${rangeParams('sum(copy_requests_total)', metas[4].minTime + 600_000, metas[5].maxTime - 600_000, 60)}`,
  );
  expect((await bucketRanged()) - g2).toBeGreaterThan(0);
});

const QUERIES = [
  'copy_requests_total{instance="i-5"}',
  'copy_temperature',
  'sum by (job) (rate(copy_requests_total[5m]))',
  'increase(copy_requests_total{job="job-1"}[20m])',
  'max_over_time(copy_temperature[10m])',
  'count({__name__=~"copy_.+"})',
  'resets(copy_requests_total[1h])',
];

// Steps fall between samples (13 s past a scrape): Prometheus 3's left-open range windows, which
// Strata follows, and 2.42's closed ones then select the same samples.
// Block b holds [start + b * RANGE, start + (b + 1) * RANGE).
const blockStart = (b: number) => start + b * RANGE;
const RANGES: [string, number, number][] = [
  ['everything: local only, both, bucket only, head', start + 13_000, end],
  ['local only', start + 13_000, blockStart(2) - 1_000],
  ['local and bucket', blockStart(2) + 13_000, blockStart(4) - 1_000],
  ['bucket only', blockStart(4) + 13_000, blockStart(6) - 1_000],
  ['across the last block and the head', blockStart(5) + 3_600_000 + 13_000, end],
];

test.each(RANGES)('query_range results equal Prometheus: %s', async (_label, from, to) => {
  const norm = (r: { metric: Record<string, string>; values: [number, string][] }[]) =>
    r
      .map((x) => ({ metric: x.metric, values: x.values.map(([t, v]) => [t, Number(v).toPrecision(12)]) }))
      .sort((a, b) => JSON.stringify(a.metric).localeCompare(JSON.stringify(b.metric)));
  for (const q of QUERIES) {
    for (const step of [60, 300]) {
      const params = rangeParams(q, from, to, step);
      const [p, s] = await Promise.all([
        getJson(`${promUrl}/api/v1/query_range?${params}`),
        getJson(`${strata.url}/api/v1/query_range?${params}`),
      ]);
      expect({ q, step, status: s.status }).toEqual({ q, step, status: 'success' });
      expect(p.data.result.length).toBeGreaterThan(0);
      expect({ q, step, result: norm(s.data.result) }).toEqual({ q, step, result: norm(p.data.result) });
    }
  }
});
