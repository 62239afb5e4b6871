/**
 * `npm run bench -- --labels`: Grafana's template-variable and autocompletion requests (label
 * names, label values with and without match[] and a time range, series of `up`) over 50,000
 * active series, answered by Strata (`strata all`: the newest 90 min in the head, the 4 h before
 * it in blocks both local and in the bucket), Prometheus 2.42 (the same blocks, the same head
 * samples remote-written) and VictoriaMetrics (the same samples, default caches on).
 * 250 instances of the block range stop before the head begins (churn), so a time-bounded
 * request over the last hour must answer fewer values than one over the last 24 h.
 *   --repeats N (30)  --only strata,prometheus,victoria-metrics
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Labels } from '@strata/model';
import { FilesystemBucket } from '@strata/objstore';
import { encodeWriteRequestV1, snappyEncode } from '@strata/remote';
import { Shipper, writeBlock, XOREncoder, type BlockMeta, type BlockSeries } from '@strata/tsdb';
import { freePort, startProcess, startStrata, stop, tempDir, waitFor } from '../test/harness.js';
import { post } from './load.js';
import { VICTORIA_METRICS, type System } from './systems.js';

const TENANT = 'anonymous';
const INSTANCES = 1000;
/** Instances only in the blocks, gone 2 h before the head starts. */
const GONE_INSTANCES = 250;
const METRICS_PER_INSTANCE = 50;
const SCRAPE_MS = 60_000;
const BLOCK_MS = 2 * 3600_000;
const HEAD_MS = 90 * 60_000;
const BLOCKS_SPAN_MS = 4 * 3600_000;

const metricName = (k: number) => (k === 0 ? 'up' : `node_metric_${String(k).padStart(2, '0')}_total`);

function seriesOf(instance: string, i: number): Labels[] {
  const out: Labels[] = [];
  for (let k = 0; k < METRICS_PER_INSTANCE; k++)
    out.push(Labels.fromObject({ __name__: metricName(k), job: `job-${i % 20}`, instance, zone: `zone-${i % 4}` }));
  return out;
}

const liveInstance = (i: number) => `host-${String(i).padStart(4, '0')}:9100`;
const goneInstance = (i: number) => `gone-${String(i).padStart(4, '0')}:9100`;

export function liveSeries(): Labels[] {
  return Array.from({ length: INSTANCES }, (_, i) => seriesOf(liveInstance(i), i)).flat();
}

function goneSeries(): Labels[] {
  return Array.from({ length: GONE_INSTANCES }, (_, i) => seriesOf(goneInstance(i), i)).flat();
}

export const valueAt = (si: number, t: number) => (si % METRICS_PER_INSTANCE === 0 ? 1 : Math.floor(t / SCRAPE_MS) * ((si % 7) + 1));

export interface LabelsData {
  /** First head sample; blocks end here. */
  headStart: number;
  end: number;
  blocksDir: string;
  blocks: BlockMeta[];
  /** Live series' samples before headStart, gone series' before their end. */
  blockStart: number;
  goneEnd: number;
}

/** Blocks for [headStart - 4 h, headStart): 2 h aligned, the last one ending at headStart (Prometheus' head starts there). */
export async function writeBlocks(dir: string, headStart: number): Promise<LabelsData> {
  const blockStart = Math.floor((headStart - BLOCKS_SPAN_MS) / BLOCK_MS) * BLOCK_MS;
  const goneEnd = headStart - 2 * 3600_000;
  const live = liveSeries();
  const gone = goneSeries();
  const blocks: BlockMeta[] = [];
  fs.mkdirSync(dir, { recursive: true });
  for (let a = blockStart; a < headStart; a += BLOCK_MS) {
    const b = Math.min(a + BLOCK_MS, headStart);
    const list: BlockSeries[] = [];
    const add = (labels: Labels, si: number, until: number) => {
      const enc = new XOREncoder();
      let first = -1;
      let last = -1;
      for (let t = a; t < Math.min(b, until); t += SCRAPE_MS) {
        enc.append(t, valueAt(si, t));
        if (first < 0) first = t;
        last = t;
      }
      if (first >= 0) list.push({ labels, chunks: [{ minT: first, maxT: last, data: enc.bytes().slice() }] });
    };
    live.forEach((l, si) => add(l, si, headStart));
    gone.forEach((l, si) => add(l, si, goneEnd));
    blocks.push(await writeBlock(dir, list, { minTime: a, maxTime: b, externalLabels: { tenant_id: TENANT } }));
  }
  return { headStart, end: headStart + HEAD_MS - SCRAPE_MS, blocksDir: dir, blocks, blockStart, goneEnd };
}

function copyBlocks(data: LabelsData, dst: string): void {
  fs.mkdirSync(dst, { recursive: true });
  for (const b of data.blocks) fs.cpSync(path.join(data.blocksDir, b.ulid), path.join(dst, b.ulid), { recursive: true });
}

/** The head's samples as remote-write bodies of 2,000 samples, oldest first. */
function headBodies(data: LabelsData): Buffer[] {
  const live = liveSeries();
  const out: Buffer[] = [];
  for (let t = data.headStart; t <= data.end; t += SCRAPE_MS)
    for (let i = 0; i < live.length; i += 2000)
      out.push(
        snappyEncode(
          encodeWriteRequestV1(live.slice(i, i + 2000).map((labels, k) => ({ labels, timestamps: [t], values: [valueAt(i + k, t)] }))),
        ),
      );
  return out;
}

async function pushHead(sys: System, bodies: Buffer[]): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  // 25 bodies make one scrape of every series: send a scrape at a time so samples stay in order.
  for (let i = 0; i < bodies.length; i += 25) {
    const codes = await Promise.all(bodies.slice(i, i + 25).map((b) => post(sys.writeUrl, b, agent)));
    const bad = codes.find((c) => c < 200 || c >= 300);
    if (bad) throw new Error(`${sys.name}: remote write answered ${bad}\n${sys.proc.output().slice(-2000)}`);
  }
  agent.destroy();
}

async function startStrataOn(data: LabelsData): Promise<System> {
  const dir = tempDir('bench-labels-strata');
  const blocks = path.join(dir, 'tsdb', 'tenants', TENANT, 'blocks');
  copyBlocks(data, blocks);
  await new Shipper({
    bucket: new FilesystemBucket(path.join(dir, 'bucket')),
    prefix: `${TENANT}/`,
    blocksDir: blocks,
    localRetentionMs: Infinity,
    dropLocal: async () => undefined,
  }).sync();
  const s = await startStrata({
    dataDir: dir,
    args: [
      '--limits.max-global-series-per-user=0',
      '--limits.ingestion-rate=0',
      ...(process.env.STRATA_BENCH_ARGS ?? '').split(' ').filter(Boolean),
    ],
  });
  return { name: 'strata', writeUrl: `${s.url}/api/v1/write`, queryUrl: s.url, pid: s.child.pid!, proc: s, stop: () => stop(s) };
}

async function startPrometheusOn(data: LabelsData): Promise<System> {
  const dir = tempDir('bench-labels-prom');
  copyBlocks(data, path.join(dir, 'data'));
  const cfg = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(cfg, 'global:\n  scrape_interval: 1h\n');
  const port = await freePort();
  const p = startProcess('/usr/bin/prometheus', [
    `--config.file=${cfg}`,
    `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--web.enable-remote-write-receiver',
    '--storage.tsdb.retention.time=30d',
    '--storage.tsdb.min-block-duration=2h',
    '--storage.tsdb.max-block-duration=2h',
    '--log.level=warn',
  ]);
  const url = `http://127.0.0.1:${port}`;
  await waitFor('prometheus ready', async () => (await fetch(`${url}/-/ready`)).status === 200, 120_000);
  return { name: 'prometheus', writeUrl: `${url}/api/v1/write`, queryUrl: url, pid: p.child.pid!, proc: p, stop: () => stop(p) };
}

/** VictoriaMetrics gets the block samples through /api/v1/import (JSON lines) and the head's through remote write. */
async function startVictoriaOn(data: LabelsData): Promise<System> {
  const dir = tempDir('bench-labels-vm');
  const port = await freePort();
  const p = startProcess(VICTORIA_METRICS, [
    `-storageDataPath=${dir}`,
    `-httpListenAddr=127.0.0.1:${port}`,
    '-loggerLevel=ERROR',
    '-retentionPeriod=100y',
  ]);
  const url = `http://127.0.0.1:${port}`;
  await waitFor('victoria-metrics ready', async () => (await fetch(`${url}/health`)).status === 200, 60_000);
  const importSeries = async (series: Labels[], from: number, until: number) => {
    const ts: number[] = [];
    for (let t = from; t < until; t += SCRAPE_MS) ts.push(t);
    const tsJson = JSON.stringify(ts);
    for (let i = 0; i < series.length; i += 500) {
      const lines = series
        .slice(i, i + 500)
        .map(
          (l, k) =>
            `{"metric":${JSON.stringify(l.toObject())},"values":${JSON.stringify(ts.map((t) => valueAt(i + k, t)))},"timestamps":${tsJson}}`,
        );
      const r = await fetch(`${url}/api/v1/import`, { method: 'POST', body: lines.join('\n') + '\n' });
      if (r.status !== 204 && r.status !== 200) throw new Error(`victoria-metrics import: HTTP ${r.status}: ${await r.text()}`);
    }
  };
  await importSeries(liveSeries(), data.blockStart, data.headStart);
  await importSeries(goneSeries(), data.blockStart, data.goneEnd);
  return { name: 'victoria-metrics', writeUrl: `${url}/api/v1/write`, queryUrl: url, pid: p.child.pid!, proc: p, stop: () => stop(p) };
}

interface LabelsRequest {
  name: string;
  path: string;
  /** Range ending at the data's end, in ms; 0: no start/end. */
  range: number;
  match?: string;
}

const H = 3600_000;
export const REQUESTS: LabelsRequest[] = [
  { name: 'labels', path: '/api/v1/labels', range: 0 },
  { name: 'labels, last 1h', path: '/api/v1/labels', range: H },
  { name: 'label/instance/values', path: '/api/v1/label/instance/values', range: 0 },
  { name: 'label/instance/values, last 15m', path: '/api/v1/label/instance/values', range: 15 * 60_000 },
  { name: 'label/instance/values, last 1h', path: '/api/v1/label/instance/values', range: H },
  { name: 'label/instance/values, last 24h', path: '/api/v1/label/instance/values', range: 24 * H },
  { name: 'label/instance/values?match[]=up, last 1h', path: '/api/v1/label/instance/values', range: H, match: 'up' },
  { name: 'label/instance/values?match[]=up, last 24h', path: '/api/v1/label/instance/values', range: 24 * H, match: 'up' },
  {
    name: 'label/instance/values?match[]=up{job="job-3"}, last 1h',
    path: '/api/v1/label/instance/values',
    range: H,
    match: 'up{job="job-3"}',
  },
  { name: 'series?match[]=up, last 1h', path: '/api/v1/series', range: H, match: 'up' },
  { name: 'series?match[]=up, last 24h', path: '/api/v1/series', range: 24 * H, match: 'up' },
];

async function timeRequest(sys: System, q: LabelsRequest, end: number): Promise<{ ms: number; n: number }> {
  const params = new URLSearchParams();
  if (q.match) params.append('match[]', q.match);
  if (q.range > 0) {
    params.set('start', String((end - q.range) / 1000));
    params.set('end', String(end / 1000));
  }
  const t0 = performance.now();
  const r = await fetch(`${sys.queryUrl}${q.path}?${params}`);
  const body = (await r.json()) as { status: string; error?: string; data?: unknown[] };
  const ms = performance.now() - t0;
  if (body.status !== 'success') throw new Error(`${sys.name}: ${q.name}: ${body.error}`);
  return { ms, n: body.data!.length };
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

const STARTERS: Record<string, (d: LabelsData) => Promise<System>> = {
  strata: startStrataOn,
  prometheus: startPrometheusOn,
  'victoria-metrics': startVictoriaOn,
};

export async function runLabelsBench(opts: { repeats: number; only?: string[] }): Promise<string> {
  const root = tempDir('bench-labels');
  // Ends a minute ago: "now" at query time is past the newest sample, as for a live system.
  const headStart = Math.floor((Date.now() - HEAD_MS - 60_000) / SCRAPE_MS) * SCRAPE_MS;
  const data = await writeBlocks(path.join(root, 'blocks'), headStart);
  const bodies = headBodies(data);
  const systems: System[] = [];
  const times = new Map<string, number[][]>();
  const counts = new Map<string, number[]>();
  try {
    for (const name of opts.only ?? Object.keys(STARTERS)) {
      const sys = await STARTERS[name](data);
      systems.push(sys);
      await pushHead(sys, bodies);
    }
    const vm = systems.find((s) => s.name === 'victoria-metrics');
    if (vm) {
      await fetch(`${vm.queryUrl}/internal/force_flush`);
      await waitFor(
        'victoria-metrics has the data',
        async () => (await timeRequest(vm, REQUESTS[4], data.end)).n >= INSTANCES,
        60_000,
        1000,
      );
    }
    const end = data.end + 30_000;
    for (const s of systems) {
      times.set(
        s.name,
        REQUESTS.map(() => []),
      );
      counts.set(s.name, []);
      // One warm-up of every request (the first touch of a block opens it).
      for (const q of REQUESTS) counts.get(s.name)!.push((await timeRequest(s, q, end)).n);
    }
    // Interleaved, request by request and system by system: load drifts on a shared machine.
    for (let r = 0; r < opts.repeats; r++)
      for (const [qi, q] of REQUESTS.entries()) for (const s of systems) times.get(s.name)![qi].push((await timeRequest(s, q, end)).ms);
  } finally {
    for (const s of systems) await s.stop();
    fs.rmSync(root, { recursive: true, force: true });
  }
  const names = systems.map((s) => s.name);
  const cell = (ms: number) => `${ms.toFixed(2)} ms`;
  const hasBoth = names.includes('strata') && names.includes('prometheus');
  const lines = [
    `## Label and series requests: ${INSTANCES * METRICS_PER_INSTANCE} active series (+${GONE_INSTANCES * METRICS_PER_INSTANCE} gone 2h before the head), 90 min in the head and ${BLOCKS_SPAN_MS / H} h in ${data.blocks.length} blocks, 1-min samples`,
    '',
    `Median and p99 of ${opts.repeats} requests each (after one warm-up), interleaved; [n] = items answered. Strata: \`strata all\` defaults, blocks both local and in its bucket. VictoriaMetrics: default caches on.`,
    '',
    `| request | ${names.map((n) => `${n} median / p99 [n]`).join(' | ')} |${hasBoth ? ' Strata/Prometheus median |' : ''}`,
    `|---|${names.map(() => '---|').join('')}${hasBoth ? '---|' : ''}`,
    ...REQUESTS.map((q, qi) => {
      const cells = names.map((n) => {
        const t = times.get(n)![qi];
        return `${cell(quantile(t, 0.5))} / ${cell(quantile(t, 0.99))} [${counts.get(n)![qi]}]`;
      });
      const ratio = hasBoth
        ? ` ${(quantile(times.get('strata')![qi], 0.5) / quantile(times.get('prometheus')![qi], 0.5)).toFixed(2)}x |`
        : '';
      return `| \`${q.name}\` | ${cells.join(' | ')} |${ratio}`;
    }),
  ];
  return lines.join('\n');
}
