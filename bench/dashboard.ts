/**
 * `npm run bench -- --dashboard`: a 12-panel Grafana-style dashboard over the last 24 h at a 1m
 * step, 6 queries in flight, refreshed; run against Strata (`strata all`, defaults: blocks both
 * on local disk and shipped to the bucket), Prometheus 2.42 and VictoriaMetrics 1.79 holding the
 * same data. Reports per-panel medians, the cold (first) and warm refresh times, and three
 * single queries over the 24 h one at a time. 2,000 series instead of the issue's 5,000, so the
 * three systems fit one run on a 2-core machine.
 *   --hours N (24)  --refreshes N (5 warm refreshes)  --repeats N (5)  --only strata,prometheus,victoria-metrics
 */
import fs from 'node:fs';
import path from 'node:path';
import { Shipper } from '@strata/tsdb';
import { FilesystemBucket } from '@strata/objstore';
import { freePort, startProcess, startStrata, stop, tempDir, waitFor } from '../test/harness.js';
import { cpuSeconds, VICTORIA_METRICS, type System } from './systems.js';
import { copyBlocks, victoriaImportBodies, writeDashboardBlocks, type DashboardData } from './dashboard-data.js';

const TENANT = 'anonymous';
const IN_FLIGHT = 6;
const STEP_S = 60;

export const PANELS: string[] = [
  'sum by (job) (rate(http_requests_total[75s]))',
  'sum by (code) (rate(http_requests_total[75s]))',
  'sum(rate(http_requests_total{code=~"5.."}[75s])) / sum(rate(http_requests_total[75s]))',
  'topk(5, sum by (instance) (rate(http_requests_total[75s])))',
  'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[75s])))',
  'histogram_quantile(0.5, sum by (le, job) (rate(http_request_duration_seconds_bucket[75s])))',
  'sum by (job) (rate(http_request_duration_seconds_sum[75s])) / sum by (job) (rate(http_request_duration_seconds_count[75s]))',
  'sum by (handler) (increase(http_requests_total[5m]))',
  'avg by (job) (process_resident_memory_bytes)',
  'max by (job) (max_over_time(process_resident_memory_bytes[5m]))',
  'sum by (job) (up) / count by (job) (up)',
  'sum by (instance) (rate(node_cpu_seconds_total{mode!="idle"}[75s]))',
];

export const SINGLES: { name: string; query: string }[] = [
  { name: 'sum by (job) (rate(http_requests_total[75s]))', query: 'sum by (job) (rate(http_requests_total[75s]))' },
  { name: 'count({__name__=~".+"})', query: 'count({__name__=~".+"})' },
  { name: 'one series', query: 'http_requests_total{job="api",instance="10.0.0.3:9100",handler="/login",code="200"}' },
];

interface QueryResult {
  ms: number;
  series: number;
}

export async function rangeQuery(base: string, query: string, start: number, end: number): Promise<QueryResult> {
  const params = new URLSearchParams({ query, start: String(start / 1000), end: String(end / 1000), step: String(STEP_S) });
  const t0 = performance.now();
  const r = await fetch(`${base}/api/v1/query_range`, { method: 'POST', body: params });
  const body = (await r.json()) as { status: string; error?: string; data?: { result: unknown[] } };
  const ms = performance.now() - t0;
  if (body.status !== 'success') throw new Error(`${base}: ${query}: ${body.error}`);
  return { ms, series: body.data!.result.length };
}

/** One refresh: every panel, IN_FLIGHT at a time, in panel order. Returns per-panel results and the wall time. */
export async function refresh(base: string, start: number, end: number): Promise<{ panels: QueryResult[]; ms: number }> {
  const out: QueryResult[] = new Array(PANELS.length);
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < PANELS.length) {
      const i = next++;
      out[i] = await rangeQuery(base, PANELS[i], start, end);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return { panels: out, ms: performance.now() - t0 };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** `strata all` with defaults over the blocks: local copies kept (15d local retention) and shipped to its bucket. */
export async function startStrataOn(data: DashboardData, args: string[] = [], name = 'strata'): Promise<System> {
  const dir = tempDir('bench-dash-strata');
  const blocks = path.join(dir, 'tsdb', 'tenants', TENANT, 'blocks');
  copyBlocks(data, blocks);
  await new Shipper({
    bucket: new FilesystemBucket(path.join(dir, 'bucket')),
    prefix: `${TENANT}/`,
    blocksDir: blocks,
    localRetentionMs: Infinity,
    dropLocal: async () => undefined,
  }).sync();
  const s = await startStrata({ dataDir: dir, args: ['--limits.max-global-series-per-user=0', ...args] });
  return { name, writeUrl: `${s.url}/api/v1/write`, queryUrl: s.url, pid: s.child.pid!, proc: s, stop: () => stop(s) };
}

/** Prometheus opening the same block directories (min = max block duration: no compaction during the run). */
async function startPrometheusOn(data: DashboardData): Promise<System> {
  const dir = tempDir('bench-dash-prom');
  copyBlocks(data, path.join(dir, 'data'));
  const cfg = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(cfg, 'global:\n  scrape_interval: 1h\n');
  const port = await freePort();
  const p = startProcess('/usr/bin/prometheus', [
    `--config.file=${cfg}`,
    `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--storage.tsdb.retention.time=30d',
    '--storage.tsdb.min-block-duration=2h',
    '--storage.tsdb.max-block-duration=2h',
    '--log.level=warn',
  ]);
  const url = `http://127.0.0.1:${port}`;
  await waitFor('prometheus ready', async () => (await fetch(`${url}/-/ready`)).status === 200, 120_000);
  return { name: 'prometheus', writeUrl: '', queryUrl: url, pid: p.child.pid!, proc: p, stop: () => stop(p) };
}

/** VictoriaMetrics with its default caches on, fed the same samples through /api/v1/import. */
async function startVictoriaOn(data: DashboardData): Promise<System> {
  const dir = tempDir('bench-dash-vm');
  const port = await freePort();
  const p = startProcess(VICTORIA_METRICS, [
    `-storageDataPath=${dir}`,
    `-httpListenAddr=127.0.0.1:${port}`,
    '-loggerLevel=ERROR',
    '-retentionPeriod=100y',
  ]);
  const url = `http://127.0.0.1:${port}`;
  await waitFor('victoria-metrics ready', async () => (await fetch(`${url}/health`)).status === 200, 60_000);
  for (const body of victoriaImportBodies(data)) {
    const r = await fetch(`${url}/api/v1/import`, { method: 'POST', body });
    if (r.status !== 204 && r.status !== 200) throw new Error(`victoria-metrics import: HTTP ${r.status}: ${await r.text()}`);
  }
  await fetch(`${url}/internal/force_flush`);
  await waitFor(
    'victoria-metrics has the data',
    async () => {
      const r = await rangeQuery(url, 'count({__name__=~".+"})', data.end - 60_000, data.end);
      return r.series > 0;
    },
    60_000,
    1000,
  );
  return { name: 'victoria-metrics', writeUrl: '', queryUrl: url, pid: p.child.pid!, proc: p, stop: () => stop(p) };
}

interface SystemResult {
  name: string;
  cold: { panels: QueryResult[]; ms: number };
  warm: { panels: QueryResult[]; ms: number }[];
  singles: number[];
  cpu: number;
}

/**
 * All systems run side by side and are measured in turn, refresh by refresh and query by query:
 * on a shared machine the load drifts over minutes, and interleaving keeps it out of the ratios.
 */
async function measureAll(systems: System[], data: DashboardData, refreshes: number, repeats: number): Promise<SystemResult[]> {
  const start = data.end - 24 * 3600_000;
  const cpu0 = systems.map((s) => cpuSeconds(s.pid));
  const results: SystemResult[] = systems.map((s) => ({ name: s.name, cold: { panels: [], ms: 0 }, warm: [], singles: [], cpu: 0 }));
  for (const [i, sys] of systems.entries()) results[i].cold = await refresh(sys.queryUrl, start, data.end);
  for (let r = 0; r < refreshes; r++)
    for (const [i, sys] of systems.entries()) results[i].warm.push(await refresh(sys.queryUrl, start, data.end));
  for (const q of SINGLES) {
    const times: number[][] = systems.map(() => []);
    for (const sys of systems) await rangeQuery(sys.queryUrl, q.query, start, data.end);
    for (let k = 0; k < repeats; k++)
      for (const [i, sys] of systems.entries()) times[i].push((await rangeQuery(sys.queryUrl, q.query, start, data.end)).ms);
    times.forEach((t, i) => results[i].singles.push(median(t)));
  }
  systems.forEach((s, i) => (results[i].cpu = cpuSeconds(s.pid) - cpu0[i]));
  return results;
}

/** Waits (at most a minute) until no system is busy, e.g. VictoriaMetrics merging what it imported. */
export async function settle(systems: System[]): Promise<void> {
  for (let i = 0; i < 30; i++) {
    const before = systems.map((s) => cpuSeconds(s.pid));
    await new Promise((r) => setTimeout(r, 2000));
    if (systems.every((s, k) => cpuSeconds(s.pid) - before[k] < 0.1)) return;
  }
}

export const STARTERS: Record<string, (d: DashboardData) => Promise<System>> = {
  strata: (d) => startStrataOn(d),
  prometheus: startPrometheusOn,
  'victoria-metrics': startVictoriaOn,
};

export async function runDashboardBench(opts: { hours: number; refreshes: number; repeats: number; only?: string[] }): Promise<string> {
  const root = tempDir('bench-dash');
  const t0 = performance.now();
  const data = await writeDashboardBlocks(path.join(root, 'blocks'), opts.hours, Date.now() - 60_000, { tenant_id: TENANT });
  const genS = (performance.now() - t0) / 1000;
  const systems: System[] = [];
  let results: SystemResult[];
  try {
    for (const name of opts.only ?? Object.keys(STARTERS)) systems.push(await STARTERS[name](data));
    await settle(systems);
    results = await measureAll(systems, data, opts.refreshes, opts.repeats);
  } finally {
    for (const s of systems) await s.stop();
  }
  fs.rmSync(root, { recursive: true, force: true });
  const strata = results.find((r) => r.name === 'strata');
  const prom = results.find((r) => r.name === 'prometheus');
  const cell = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`);
  const ratio = (s: number | undefined, p: number | undefined) => (s !== undefined && p !== undefined ? `${(s / p).toFixed(2)}x` : '-');
  const head = `| | ${results.map((r) => r.name).join(' | ')} | Strata/Prometheus |`;
  const sep = `|---|${results.map(() => '---|').join('')}---|`;
  const warmMedian = (r: SystemResult, i: number) => median(r.warm.map((w) => w.panels[i].ms));
  const lines = [
    `## Dashboard: ${data.series.length} series, ${opts.hours} h of 15 s samples (${(data.samples / 1e6).toFixed(2)}M samples, ${data.blocks.length} blocks of 2 h), 12 panels at a 1m step, ${IN_FLIGHT} in flight`,
    '',
    `Data written in ${genS.toFixed(1)} s. The systems run side by side and are measured in turn (each refresh and query interleaved). Strata: \`strata all\` defaults, every block both local and in its bucket. Prometheus: the same block directories. VictoriaMetrics: the same samples imported, caches on.`,
    '',
    head,
    sep,
    `| cold refresh | ${results.map((r) => cell(r.cold.ms)).join(' | ')} | ${ratio(strata?.cold.ms, prom?.cold.ms)} |`,
    `| warm refresh (median of ${opts.refreshes}) | ${results.map((r) => cell(median(r.warm.map((w) => w.ms)))).join(' | ')} | ${ratio(strata && median(strata.warm.map((w) => w.ms)), prom && median(prom.warm.map((w) => w.ms)))} |`,
    `| CPU seconds, whole run | ${results.map((r) => r.cpu.toFixed(1)).join(' | ')} | ${ratio(strata?.cpu, prom?.cpu)} |`,
    '',
    `Per panel, warm median (cold in parentheses); series returned by each system in brackets:`,
    '',
    `| panel | ${results.map((r) => r.name).join(' | ')} | Strata/Prometheus |`,
    sep,
    ...PANELS.map(
      (p, i) =>
        `| \`${p}\` | ${results.map((r) => `${cell(warmMedian(r, i))} (${cell(r.cold.panels[i].ms)}) [${r.cold.panels[i].series}]`).join(' | ')} | ${ratio(strata && warmMedian(strata, i), prom && warmMedian(prom, i))} |`,
    ),
    '',
    `Single queries over the 24 h at a 1m step, one at a time, median of ${opts.repeats} (after one warm-up):`,
    '',
    `| query | ${results.map((r) => r.name).join(' | ')} | Strata/Prometheus |`,
    sep,
    ...SINGLES.map(
      (q, i) =>
        `| \`${q.name}\` | ${results.map((r) => cell(r.singles[i])).join(' | ')} | ${ratio(strata?.singles[i], prom?.singles[i])} |`,
    ),
  ];
  return lines.join('\n');
}
