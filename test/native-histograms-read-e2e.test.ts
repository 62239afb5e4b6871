/**
 * Native histograms through every read path: pushed once by remote-write into `strata all` with
 * the default query workers, into `strata all --querier.workers=0`, and into a receiver with a
 * `strata querier` in front (its fan-out reads the receiver by streamed remote-read). PromQL over
 * them (histogram_quantile, sum(rate()), histogram_count, raw selects, range queries) answers the
 * same on all three. Remote-read's two response types carry the same histograms. A real
 * Prometheus 2.42 with remote_read reads the floats; its remote-read client does not yet read
 * native histograms (they came to it in 2.44), which the last test pins down.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Labels, Matcher } from '@strata/model';
import {
  decodeChunkedFrames,
  decodeReadResponse,
  encodeReadRequest,
  encodeWriteRequestV1,
  RESPONSE_SAMPLES,
  RESPONSE_STREAMED_XOR_CHUNKS,
  snappyDecode,
  snappyEncode,
  type SeriesToWrite,
  type WireHistogram,
} from '@strata/remote';
import { decodeSeriesTypedChunks } from '@strata/tsdb';
import { freePort, getJson, startProcess, startStrata, stop, tempDir, waitFor, type Proc, type Strata } from './harness.js';

jest.setTimeout(180_000);

const STEP = 15_000;
const N = 120;
const end = Math.floor(Date.now() / STEP) * STEP;
const start = end - (N - 1) * STEP;
const HIST = ['--limits.native-histograms-ingestion-enabled=true'];

/** An integer counter histogram of schema 0 with buckets 0..3 (absolute counts given), at t. */
function counter(t: number, abs: number[], resetHint = 0): WireHistogram {
  const count = abs.reduce((a, b) => a + b, 0) + 1;
  return {
    t,
    float: false,
    schema: 0,
    zeroThreshold: 1e-128,
    zeroCount: 1,
    count,
    sum: count * 1.5,
    resetHint,
    positiveSpans: [{ offset: 0, length: abs.length }],
    positiveBuckets: abs.map((c, i) => c - (i > 0 ? abs[i - 1] : 0)),
    negativeSpans: [],
    negativeBuckets: [],
    customValues: [],
  };
}

/** Two counters per job (one resets half way), a float gauge histogram, and a float series beside them. */
function payload(): SeriesToWrite[] {
  const ts = Array.from({ length: N }, (_, i) => start + i * STEP);
  const out: SeriesToWrite[] = ['api', 'web'].map((job, j) => ({
    labels: Labels.fromObject({ __name__: 'nh_seconds', job }),
    timestamps: [],
    values: [],
    histograms: ts.map((t, i) => {
      const k = j === 1 && i >= N / 2 ? i - N / 2 : i;
      return counter(t, [k, 2 * k + j, k % 3, 1]);
    }),
  }));
  out.push({
    labels: Labels.fromObject({ __name__: 'nh_gauge' }),
    timestamps: [],
    values: [],
    histograms: ts.map((t, i) => ({
      ...counter(t, [i % 5, 1 + (i % 2), 2]),
      float: true,
      positiveBuckets: [i % 5, 1 + (i % 2), 2],
      resetHint: 3,
    })),
  });
  out.push({ labels: Labels.fromObject({ __name__: 'nh_float', job: 'api' }), timestamps: ts, values: ts.map((_, i) => i) });
  return out;
}

async function push(url: string): Promise<void> {
  const r = await fetch(`${url}/api/v1/write`, {
    method: 'POST',
    body: snappyEncode(encodeWriteRequestV1(payload())),
    headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy' },
  });
  expect([r.status, await r.text()]).toEqual([204, '']);
}

let workers: Strata;
let direct: Strata;
let receiver: Strata;
let querier: Strata;
const procs: (Strata | Proc)[] = [];

beforeAll(async () => {
  const bucketDir = tempDir('nh-bucket');
  const objstore = path.join(tempDir('nh-cfg'), 'bucket.yml');
  fs.writeFileSync(objstore, `type: FILESYSTEM\nconfig:\n  directory: ${bucketDir}\n`);
  [workers, direct, receiver] = await Promise.all([
    startStrata({ args: HIST }),
    startStrata({ args: [...HIST, '--querier.workers=0'] }),
    startStrata({ component: 'receiver', args: [...HIST, `--objstore.config-file=${objstore}`] }),
  ]);
  procs.push(workers, direct, receiver);
  querier = await startStrata({ component: 'querier', args: [`--querier.stores=${receiver.url}`] });
  procs.push(querier);
  await Promise.all([workers, direct, receiver].map((s) => push(s.url)));
});

afterAll(async () => {
  for (const p of procs.reverse()) await stop(p);
});

const INSTANT = [
  'nh_seconds',
  'nh_gauge',
  'histogram_quantile(0.9, sum(rate(nh_seconds[5m])))',
  'sum by (job) (rate(nh_seconds[5m]))',
  'histogram_count(increase(nh_seconds[10m]))',
  'histogram_sum(nh_gauge)',
  'nh_seconds[2m]',
  '{__name__=~"nh_.*"}',
];

test.each(INSTANT)('instant %s: default workers, --querier.workers=0 and a querier over a receiver agree', async (query) => {
  for (const t of [end, end - 7 * 60_000, start + 3 * 60_000]) {
    const url = (s: Strata) => `${s.url}/api/v1/query?query=${encodeURIComponent(query)}&time=${t / 1000}`;
    const [a, b, c] = await Promise.all([getJson(url(workers)), getJson(url(direct)), getJson(url(querier))]);
    expect(b.status).toBe('success');
    expect(a.data).toEqual(b.data);
    expect(c.data).toEqual(b.data);
  }
  // Not vacuous: the answer at the end holds histograms (or their functions' floats).
  const last = await getJson(`${direct.url}/api/v1/query?query=${encodeURIComponent(query)}&time=${end / 1000}`);
  expect(last.data.result.length).toBeGreaterThan(0);
});

test.each(['histogram_quantile(0.5, sum(rate(nh_seconds[1m])))', 'rate(nh_seconds[1m])', 'nh_gauge'])(
  'range %s agrees on all three',
  async (query) => {
    const url = (s: Strata) =>
      `${s.url}/api/v1/query_range?query=${encodeURIComponent(query)}&start=${start / 1000}&end=${end / 1000}&step=30`;
    const [a, b, c] = await Promise.all([getJson(url(workers)), getJson(url(direct)), getJson(url(querier))]);
    expect(b.status).toBe('success');
    expect(b.data.result.length).toBeGreaterThan(0);
    expect(a.data).toEqual(b.data);
    expect(c.data).toEqual(b.data);
  },
);

test('remote-read SAMPLES and streamed chunks carry the same native histograms', async () => {
  const query = { startMs: start, endMs: end, matchers: [new Matcher('=~', '__name__', 'nh_.*')] };
  const post = (types: number[]) =>
    fetch(`${workers.url}/api/v1/read`, {
      method: 'POST',
      body: snappyEncode(encodeReadRequest({ queries: [query], acceptedResponseTypes: types })),
      headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy' },
    });
  const samples = decodeReadResponse(snappyDecode(Buffer.from(await (await post([RESPONSE_SAMPLES])).arrayBuffer()), 1 << 26))[0];
  const frames = decodeChunkedFrames(Buffer.from(await (await post([RESPONSE_STREAMED_XOR_CHUNKS])).arrayBuffer()));
  expect(frames.map((f) => f.labels.key())).toEqual(samples.map((s) => s.labels.key()));
  expect(frames.flatMap((f) => f.chunks.map((c) => c.type)).sort()).toEqual(expect.arrayContaining([1, 3]));
  frames.forEach((f, i) => {
    const s = decodeSeriesTypedChunks(
      f.labels,
      f.chunks.map((c) => ({ encoding: c.type, data: c.data })),
      start,
      end,
    )!;
    expect([...s.timestamps]).toEqual([...samples[i].timestamps]);
    const plain = (hs: typeof s.histograms) => hs?.map((h) => h && { ...h, counterResetHint: 0 });
    // Buckets, counts and sums equal; hints are carried by samples and implied by chunks.
    expect(plain(s.histograms)).toEqual(plain(samples[i].histograms));
  });
  const nh = samples.find((s) => s.labels.get('job') === 'web' && s.labels.get('__name__') === 'nh_seconds')!;
  expect(nh.histograms).toHaveLength(N);
  expect(nh.histograms![N - 1]!.count).toBe(N / 2 - 1 + 2 * (N / 2 - 1) + 1 + ((N / 2 - 1) % 3) + 1 + 1);
});

test('Prometheus 2.42 with remote_read reads the floats; its remote-read client drops native histograms', async () => {
  const port = await freePort();
  const promUrl = `http://127.0.0.1:${port}`;
  const dir = tempDir('prom-nh-rr');
  const cfg = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(
    cfg,
    ['global:', '  scrape_interval: 1h', 'remote_read:', `  - url: ${workers.url}/api/v1/read`, '    read_recent: true'].join('\n'),
  );
  const prom = startProcess('/usr/bin/prometheus', [
    `--config.file=${cfg}`,
    `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--enable-feature=native-histograms',
    '--log.level=warn',
  ]);
  procs.push(prom);
  await waitFor('prometheus ready', async () => (await fetch(`${promUrl}/-/ready`)).status === 200, 60_000);
  const q = (u: string, e: string) => getJson(`${u}/api/v1/query?query=${encodeURIComponent(e)}&time=${end / 1000}`);
  expect((await q(promUrl, 'nh_float')).data).toEqual((await q(workers.url, 'nh_float')).data);
  const p = await q(promUrl, 'nh_seconds');
  expect(p.status).toBe('success');
  expect(p.data.result).toEqual([]);
  expect((await q(workers.url, 'nh_seconds')).data.result).toHaveLength(2);
});
