/**
 * Remote-read is the one protocol Strata's stores speak. A real Prometheus with remote_read
 * pointing at Strata (and no data of its own) answers queries with exactly Strata's samples;
 * both response types (SAMPLES and STREAMED_XOR_CHUNKS) decode to the same data.
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
} from '@strata/remote';
import { XORIterator } from '@strata/tsdb';
import { freePort, getJson, startProcess, startStrata, stop, tempDir, waitFor, type Proc, type Strata } from './harness.js';

jest.setTimeout(120_000);

let strata: Strata;
let prom: Proc;
let promUrl: string;
const end = Math.floor(Date.now() / 1000) * 1000;
const start = end - 30 * 60_000;

beforeAll(async () => {
  strata = await startStrata();
  const series = ['a', 'b', 'c'].map((job, j) => ({
    labels: Labels.fromObject({ __name__: 'rr_metric', job }),
    timestamps: Array.from({ length: 121 }, (_, i) => start + i * 15_000),
    values: Array.from({ length: 121 }, (_, i) => i * (j + 1)),
  }));
  const r = await fetch(`${strata.url}/api/v1/write`, {
    method: 'POST',
    body: snappyEncode(encodeWriteRequestV1(series)),
    headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy' },
  });
  expect(r.status).toBe(204);
  const port = await freePort();
  promUrl = `http://127.0.0.1:${port}`;
  const dir = tempDir('prom-rr');
  const cfg = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(
    cfg,
    ['global:', '  scrape_interval: 1h', 'remote_read:', `  - url: ${strata.url}/api/v1/read`, '    read_recent: true'].join('\n'),
  );
  prom = startProcess('/usr/bin/prometheus', [
    `--config.file=${cfg}`,
    `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
  ]);
  await waitFor('prometheus ready', async () => (await fetch(`${promUrl}/-/ready`)).status === 200, 60_000);
});

afterAll(async () => {
  if (prom) await stop(prom);
  if (strata) await stop(strata);
});

test('Prometheus remote_read from Strata returns exactly Strata data', async () => {
  const q = encodeURIComponent('rr_metric');
  const p = await getJson(`${promUrl}/api/v1/query_range?query=${q}&start=${start / 1000}&end=${end / 1000}&step=60`);
  const s = await getJson(`${strata.url}/api/v1/query_range?query=${q}&start=${start / 1000}&end=${end / 1000}&step=60`);
  expect(p.status).toBe('success');
  expect(p.data.result.length).toBe(3);
  expect(p.data.result).toEqual(s.data.result);
  const sum = await getJson(`${promUrl}/api/v1/query?query=${encodeURIComponent('sum(rr_metric)')}&time=${end / 1000}`);
  expect(sum.data.result[0].value[1]).toBe(String(120 * (1 + 2 + 3)));
});

test('SAMPLES and STREAMED_XOR_CHUNKS carry the same series and samples', async () => {
  const query = { startMs: start, endMs: end, matchers: [new Matcher('=', '__name__', 'rr_metric'), new Matcher('!=', 'job', 'c')] };
  const post = async (types: number[]) =>
    fetch(`${strata.url}/api/v1/read`, {
      method: 'POST',
      body: snappyEncode(encodeReadRequest({ queries: [query], acceptedResponseTypes: types })),
      headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy' },
    });
  const r1 = await post([RESPONSE_SAMPLES]);
  expect(r1.headers.get('content-type')).toBe('application/x-protobuf');
  const samples = decodeReadResponse(snappyDecode(Buffer.from(await r1.arrayBuffer()), 1 << 26))[0];
  const r2 = await post([RESPONSE_STREAMED_XOR_CHUNKS, RESPONSE_SAMPLES]);
  expect(r2.headers.get('content-type')).toBe('application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse');
  const chunked = decodeChunkedFrames(Buffer.from(await r2.arrayBuffer()));
  expect(samples.map((s) => s.labels.get('job'))).toEqual(['a', 'b']);
  expect(chunked.map((s) => s.labels.get('job'))).toEqual(['a', 'b']);
  chunked.forEach((c, i) => {
    const ts: number[] = [];
    const vs: number[] = [];
    for (const ch of c.chunks) {
      const it = new XORIterator(ch.data);
      while (it.next()) {
        ts.push(it.t);
        vs.push(it.value());
      }
    }
    expect(ts).toEqual(Array.from(samples[i].timestamps));
    expect(vs).toEqual(Array.from(samples[i].values));
  });
});
