/**
 * Differential test of Grafana's variable and autocompletion requests against Prometheus 2.42:
 * /api/v1/labels, /api/v1/label/<name>/values and /api/v1/series, with and without match[] and
 * start/end, over the same data: two blocks opened by both (one series set ends in each, so a
 * time range picks blocks) and a head remote-written to both (one series set stops early in
 * it). Two Strata processes answer: one from its local blocks, one from the store gateway
 * (shipped, local copies dropped). Every answer must equal Prometheus', order included.
 *
 * Prometheus' time semantics, which Strata keeps: label names and values count a block, and the
 * head, as a whole when its range meets the request's; series count when a chunk of theirs does.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Labels } from '@strata/model';
import { FilesystemBucket } from '@strata/objstore';
import { encodeWriteRequestV1, snappyEncode } from '@strata/remote';
import { Shipper, writeBlock, XOREncoder, type BlockMeta, type BlockSeries } from '@strata/tsdb';
import { freePort, getJson, startProcess, startStrata, stop, tempDir, waitFor, type Proc, type Strata } from './harness.js';

jest.setTimeout(180_000);

const TENANT = 'anonymous';
const MIN = 60_000;
const STEP = MIN;
/** Head samples from headStart to end; blocks [headStart - 4h, headStart - 2h) and [headStart - 2h, headStart). */
const end = Math.floor(Date.now() / STEP) * STEP - 2 * MIN;
const headStart = end - 60 * MIN;
const b0 = headStart - 4 * 60 * MIN;
const b1 = headStart - 2 * 60 * MIN;

const l = (o: Record<string, string>) => Labels.fromObject(o);

/** Series in the blocks: [labels, first sample, end (exclusive)]. */
const BLOCK_SERIES: [Labels, number, number][] = [];
/** Series in the head: [labels, first sample, last sample]. */
const HEAD_SERIES: [Labels, number, number][] = [];
for (let i = 0; i < 6; i++) {
  const base = { job: i % 2 ? 'api' : 'web', instance: `host-${i}:9100` };
  for (const name of ['up', 'cpu_seconds_total'])
    for (const mode of name === 'up' ? [''] : ['user', 'idle']) {
      const labels = l({ __name__: name, ...base, ...(mode ? { mode } : {}) });
      BLOCK_SERIES.push([labels, b0, headStart]);
      HEAD_SERIES.push([labels, headStart, end]);
    }
}
for (let i = 0; i < 3; i++) {
  // Only in the first block, and only in its first half hour.
  BLOCK_SERIES.push([l({ __name__: 'up', job: 'batch', instance: `early-${i}:9100`, zone: 'é-1' }), b0, b0 + 30 * MIN]);
  // Only in the second block.
  BLOCK_SERIES.push([l({ __name__: 'up', job: 'batch', instance: `mid-${i}:9100`, team: 'x' }), b1 + 10 * MIN, b1 + 40 * MIN]);
  // Only in the head's first 10 minutes (a pod that went away).
  HEAD_SERIES.push([l({ __name__: 'up', job: 'pods', instance: `pod-${i}:8080`, pod: `p-${i}` }), headStart, headStart + 10 * MIN]);
}

const valueAt = (t: number) => Math.floor((t - b0) / STEP);

async function writeBlocks(dir: string): Promise<BlockMeta[]> {
  const metas: BlockMeta[] = [];
  for (const [from, to] of [
    [b0, b1],
    [b1, headStart],
  ]) {
    const list: BlockSeries[] = [];
    for (const [labels, first, until] of BLOCK_SERIES) {
      const enc = new XOREncoder();
      let minT = -1;
      let maxT = -1;
      for (let t = Math.max(first, from); t < Math.min(until, to); t += STEP) {
        enc.append(t, valueAt(t));
        if (minT < 0) minT = t;
        maxT = t;
      }
      if (minT >= 0) list.push({ labels, chunks: [{ minT, maxT, data: enc.bytes().slice() }] });
    }
    metas.push(await writeBlock(dir, list, { minTime: from, maxTime: to, externalLabels: { tenant_id: TENANT } }));
  }
  return metas;
}

async function pushHead(url: string): Promise<void> {
  // Ten minutes of samples per request, in time order.
  for (let t = headStart; t <= end; t += 10 * STEP) {
    const series = [];
    for (const [labels, first, last] of HEAD_SERIES) {
      const ts: number[] = [];
      for (let u = t; u < t + 10 * STEP && u <= end; u += STEP) if (u >= first && u <= last) ts.push(u);
      if (ts.length > 0) series.push({ labels, timestamps: ts, values: ts.map(valueAt) });
    }
    const r = await fetch(url, {
      method: 'POST',
      body: snappyEncode(encodeWriteRequestV1(series)),
      headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' },
    });
    expect([200, 204]).toContain(r.status);
  }
}

const copyBlocks = (src: string, metas: BlockMeta[], dst: string) => {
  fs.mkdirSync(dst, { recursive: true });
  for (const m of metas) fs.cpSync(path.join(src, m.ulid), path.join(dst, m.ulid), { recursive: true });
};

let prom: Proc;
let promUrl: string;
let local: Strata;
let gateway: Strata;

async function startStrataWith(src: string, metas: BlockMeta[], args: string[]): Promise<Strata> {
  const dir = tempDir('labels-e2e-strata');
  const blocks = path.join(dir, 'tsdb', 'tenants', TENANT, 'blocks');
  copyBlocks(src, metas, blocks);
  await new Shipper({
    bucket: new FilesystemBucket(path.join(dir, 'bucket')),
    prefix: `${TENANT}/`,
    blocksDir: blocks,
    localRetentionMs: Infinity,
    dropLocal: async () => undefined,
  }).sync();
  return startStrata({ dataDir: dir, args: ['--receiver.out-of-order-window=0s', ...args] });
}

beforeAll(async () => {
  const src = tempDir('labels-e2e-blocks');
  const metas = await writeBlocks(src);
  const pdir = tempDir('labels-e2e-prom');
  copyBlocks(src, metas, path.join(pdir, 'data'));
  fs.writeFileSync(path.join(pdir, 'prometheus.yml'), 'global:\n  scrape_interval: 1h\n');
  const port = await freePort();
  promUrl = `http://127.0.0.1:${port}`;
  prom = startProcess('/usr/bin/prometheus', [
    `--config.file=${path.join(pdir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${path.join(pdir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--web.enable-remote-write-receiver',
    '--storage.tsdb.retention.time=30d',
    '--storage.tsdb.min-block-duration=2h',
    '--storage.tsdb.max-block-duration=2h',
    '--log.level=warn',
  ]);
  local = await startStrataWith(src, metas, []);
  gateway = await startStrataWith(src, metas, ['--tsdb.retention.local=0s', '--store-gateway.sync-interval=1s']);
  await waitFor('prometheus ready', async () => (await fetch(`${promUrl}/-/ready`)).status === 200, 60_000);
  await Promise.all([pushHead(`${promUrl}/api/v1/write`), pushHead(`${local.url}/api/v1/write`), pushHead(`${gateway.url}/api/v1/write`)]);
  const gwBlocks = path.join(gateway.dataDir, 'tsdb', 'tenants', TENANT, 'blocks');
  await waitFor('local block copies dropped', async () => fs.readdirSync(gwBlocks).every((d) => !/^[0-9A-Z]{26}$/.test(d)), 60_000);
  fs.rmSync(src, { recursive: true, force: true });
});

afterAll(async () => {
  for (const p of [prom, local, gateway]) if (p) await stop(p);
});

/** Ranges (ms, inclusive) with margins around every boundary of the data. */
const RANGES: [string, { start: number; end: number } | undefined][] = [
  ['no start/end', undefined],
  ['whole data', { start: b0 - MIN, end: end + MIN }],
  ['last 5m', { start: end - 5 * MIN, end: end + 30_000 }],
  ['first 5 minutes of the head', { start: headStart + 2 * MIN, end: headStart + 5 * MIN }],
  ['first block only, after its early series ended', { start: b0 + 60 * MIN, end: b0 + 70 * MIN }],
  ['second block only, after its mid series ended', { start: b1 + 60 * MIN, end: b1 + 70 * MIN }],
  ['across both blocks', { start: b1 - 10 * MIN, end: b1 + 10 * MIN }],
  ['from the second block into the head', { start: headStart - 20 * MIN, end: headStart + 20 * MIN }],
  ['before all data', { start: b0 - 3 * 60 * MIN, end: b0 - 2 * 60 * MIN }],
  ['in the future', { start: end + 60 * MIN, end: end + 120 * MIN }],
];

const REQUESTS: [string, string, string[]][] = [
  ['label names', '/api/v1/labels', []],
  ['label names of up{job="batch"}', '/api/v1/labels', ['up{job="batch"}']],
  ['instance values', '/api/v1/label/instance/values', []],
  ['job values', '/api/v1/label/job/values', []],
  ['__name__ values', '/api/v1/label/__name__/values', []],
  ['instance values of up', '/api/v1/label/instance/values', ['up']],
  ['instance values of up{job=~"batch|pods"}', '/api/v1/label/instance/values', ['up{job=~"batch|pods"}']],
  ['zone values of a union', '/api/v1/label/zone/values', ['up{job="batch"}', 'cpu_seconds_total']],
  ['mode values of up (empty values dropped)', '/api/v1/label/mode/values', ['up']],
  ['missing label values', '/api/v1/label/nope/values', []],
  ['series of up', '/api/v1/series', ['up']],
  ['series of a union', '/api/v1/series', ['up{job="batch"}', 'cpu_seconds_total{mode="idle"}']],
  ['series of a regex', '/api/v1/series', ['{instance=~"(early|pod)-.*"}']],
];

const urlFor = (base: string, p: string, match: string[], range?: { start: number; end: number }) => {
  const params = new URLSearchParams();
  for (const m of match) params.append('match[]', m);
  if (range) {
    params.set('start', String(range.start / 1000));
    params.set('end', String(range.end / 1000));
  }
  return `${base}${p}?${params}`;
};

test('label names, label values and series answers equal Prometheus 2.42 over every time range', async () => {
  let nonEmpty = 0;
  const seen = new Set<string>();
  for (const [rName, range] of RANGES) {
    for (const [qName, p, match] of REQUESTS) {
      const want = await getJson(urlFor(promUrl, p, match, range));
      expect(want.status).toBe('success');
      if (want.data.length > 0) nonEmpty++;
      seen.add(`${qName}:${JSON.stringify(want.data)}`);
      for (const [sName, s] of [
        ['local blocks', local],
        ['store gateway', gateway],
      ] as const) {
        const got = await getJson(urlFor(s.url, p, match, range));
        expect({ strata: sName, range: rName, request: qName, data: got.data }).toEqual({
          strata: sName,
          range: rName,
          request: qName,
          data: want.data,
        });
      }
    }
  }
  // Not vacuous: most answers hold something, and the ranges tell the answers apart.
  expect(nonEmpty).toBeGreaterThan(RANGES.length * REQUESTS.length * 0.5);
  expect(seen.size).toBeGreaterThan(REQUESTS.length * 3);
});
