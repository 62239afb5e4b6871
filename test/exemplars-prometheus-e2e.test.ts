/**
 * Exemplars from a real Prometheus 2.42 (Debian's package) with exemplar storage on: it scrapes an
 * OpenMetrics target whose counter and histogram buckets carry exemplars, and remote-writes to
 * Strata with send_exemplars. /api/v1/query_exemplars must answer the same from both, for the
 * whole range and for a window inside it.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { freePort, getJson, startProcess, startStrata, stop, tempDir, waitFor, type Proc, type Strata } from './harness.js';

const PROMETHEUS = '/usr/bin/prometheus';
/** Scrapes with new exemplars; after them the target repeats its last answer. */
const CHANGING_SCRAPES = 6;

jest.setTimeout(180_000);

let strata: Strata;
let prom: Proc;
let promUrl: string;
let target: http.Server;
let scrapes = 0;
const firstMs = Date.now();

/** The target's OpenMetrics text for scrape n: exemplars with a trace per scrape and explicit timestamps. */
function exposition(n: number): string {
  const ts = ((firstMs + n * 1000) / 1000).toFixed(3);
  return [
    '# TYPE app_requests counter',
    '# HELP app_requests Requests served.',
    `app_requests_total{path="/a"} ${10 + n} # {trace_id="trace-${n}"} ${n + 0.5} ${ts}`,
    `app_requests_total{path="/b"} 3`,
    '# TYPE app_latency_seconds histogram',
    `app_latency_seconds_bucket{le="0.1"} ${n} # {trace_id="fast-${n}",span_id="s${n}"} 0.05 ${ts}`,
    `app_latency_seconds_bucket{le="1"} ${2 * n} # {trace_id="slow-${n}"} 0.${n + 1} ${ts}`,
    `app_latency_seconds_bucket{le="+Inf"} ${2 * n}`,
    `app_latency_seconds_sum ${n * 0.7}`,
    `app_latency_seconds_count ${2 * n}`,
    '# EOF',
    '',
  ].join('\n');
}

beforeAll(async () => {
  expect(fs.existsSync(PROMETHEUS)).toBe(true); // .ci/run installs Debian's prometheus
  strata = await startStrata();
  const targetPort = await freePort();
  target = http.createServer((_req, res) => {
    const n = Math.min(++scrapes, CHANGING_SCRAPES);
    res.writeHead(200, { 'Content-Type': 'application/openmetrics-text; version=1.0.0; charset=utf-8' });
    res.end(exposition(n));
  });
  await new Promise<void>((resolve) => target.listen(targetPort, '127.0.0.1', resolve));
  const promPort = await freePort();
  promUrl = `http://127.0.0.1:${promPort}`;
  const dir = tempDir('prom-exemplars');
  const cfg = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(
    cfg,
    [
      'global:',
      '  scrape_interval: 1s',
      'scrape_configs:',
      '  - job_name: app',
      `    static_configs: [{ targets: ['127.0.0.1:${targetPort}'] }]`,
      'remote_write:',
      `  - url: ${strata.url}/api/v1/write`,
      '    send_exemplars: true',
      '    queue_config: { batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 1s }',
    ].join('\n'),
  );
  prom = startProcess(PROMETHEUS, [
    `--config.file=${cfg}`,
    `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${promPort}`,
    '--enable-feature=exemplar-storage',
    '--log.level=warn',
  ]);
  await waitFor('prometheus ready', async () => (await fetch(`${promUrl}/-/ready`)).status === 200, 60_000);
});

afterAll(async () => {
  if (prom) await stop(prom);
  if (strata) await stop(strata);
  target?.close();
});

type Answer = { seriesLabels: Record<string, string>; exemplars: { labels: Record<string, string>; value: string; timestamp: number }[] }[];

function sorted(a: Answer): string[] {
  const key = (o: Record<string, string>) => JSON.stringify(Object.entries(o).sort());
  return a.map((s) => `${key(s.seriesLabels)} ${s.exemplars.map((e) => `${key(e.labels)}=${e.value}@${e.timestamp}`).join(' ')}`).sort();
}

async function both(query: string, start: number, end: number): Promise<{ prom: string[]; strata: string[] }> {
  const q = `query=${encodeURIComponent(query)}&start=${start}&end=${end}`;
  const [p, s] = await Promise.all([
    getJson(`${promUrl}/api/v1/query_exemplars?${q}`),
    getJson(`${strata.url}/api/v1/query_exemplars?${q}`),
  ]);
  expect(p.status).toBe('success');
  expect(s.status).toBe('success');
  return { prom: sorted(p.data as Answer), strata: sorted(s.data as Answer) };
}

test("query_exemplars answers what Prometheus' own exemplar storage answers", async () => {
  const start = firstMs / 1000 - 60;
  const end = firstMs / 1000 + 3600;
  let last = { prom: [] as string[], strata: [] as string[] };
  await waitFor(
    'the same exemplars in Strata as in Prometheus',
    async () => {
      if (scrapes <= CHANGING_SCRAPES + 2) return false;
      last = await both('app_requests_total or app_latency_seconds_bucket', start, end);
      // Every changing scrape's exemplar reached Prometheus, and Strata holds the same.
      const counterExemplars = (last.prom.find((l) => l.includes('"/a"'))?.match(/trace-\d/g) ?? []).length;
      return counterExemplars > CHANGING_SCRAPES - 2 && JSON.stringify(last.prom) === JSON.stringify(last.strata);
    },
    90_000,
  ).catch((e) => {
    throw new Error(`${(e as Error).message}\nprometheus: ${last.prom.join('\n')}\nstrata: ${last.strata.join('\n')}`);
  });
  expect(last.strata).toEqual(last.prom);
  expect(last.strata.length).toBe(3); // /a's counter and two buckets; /b and +Inf carry none

  // A window inside the range, and a selector of one series.
  const mid = (firstMs + 3000) / 1000;
  const windowed = await both('rate(app_requests_total{path="/a"}[5m])', mid - 1, mid + 1.5);
  expect(windowed.strata).toEqual(windowed.prom);
  expect(windowed.strata.length).toBe(1);
});

test('query_exemplars refuses what Prometheus refuses', async () => {
  for (const q of ['', 'query=sum(', 'query=up&start=10&end=5']) {
    const r = await fetch(`${strata.url}/api/v1/query_exemplars?${q}`);
    expect([q, r.status]).toEqual([q, 400]);
    await r.arrayBuffer();
  }
});
