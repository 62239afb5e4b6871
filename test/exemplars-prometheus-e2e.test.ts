/**
 * Exemplars from a real Prometheus 2.42 (Debian's package) with exemplar storage on: it scrapes an
 * OpenMetrics target whose counter and histogram buckets carry exemplars, and remote-writes to
 * Strata with send_exemplars. /api/v1/query_exemplars must answer the same from both, for the
 * whole range and for a window inside it, after a SIGKILL and restart (the WAL), and from a
 * querier over a ring of three receivers with RF 2 that Prometheus writes to as well, also with
 * one receiver killed (every replica holds its series' exemplars; the querier merges them).
 * The same Prometheus also takes remote writes (its receiver), so a request crafted with the
 * exemplars Prometheus drops is sent to both, and what each keeps must agree.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Labels } from '@strata/model';
import { encodeWriteRequestV1, snappyEncode, type SeriesToWrite } from '@strata/remote';
import { freePort, getJson, startProcess, startStrata, stop, tempDir, waitFor, type Proc, type Strata } from './harness.js';

const PROMETHEUS = '/usr/bin/prometheus';
/** Scrapes with new exemplars; after them the target repeats its last answer. */
const CHANGING_SCRAPES = 6;

jest.setTimeout(180_000);

let strata: Strata;
/** A ring of three receivers (RF 2) Prometheus also writes to, and a querier over them. */
const ring: Strata[] = [];
let querier: Strata;
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
  const ringDir = tempDir('exemplars-ring');
  const ringFile = path.join(ringDir, 'hashrings.json');
  const ports = [await freePort(), await freePort(), await freePort()];
  fs.writeFileSync(ringFile, JSON.stringify([{ hashring: 'default', endpoints: ports.map((p) => `127.0.0.1:${p}`) }]));
  const started = await Promise.all([
    startStrata(),
    ...ports.map((port) =>
      startStrata({
        component: 'receiver',
        port,
        args: [`--receiver.hashrings-file=${ringFile}`, '--receiver.replication-factor=2', `--receiver.local-endpoint=127.0.0.1:${port}`],
      }),
    ),
  ]);
  strata = started[0];
  ring.push(...started.slice(1));
  querier = await startStrata({
    component: 'querier',
    args: [`--querier.stores=${ring.map((r) => r.url).join(',')}`, '--query.partial-response', '--query.timeout=3s'],
  });
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
      `  - url: ${ring[0].url}/api/v1/write`,
      '    send_exemplars: true',
      '    queue_config: { batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 1s }',
    ].join('\n'),
  );
  prom = startProcess(PROMETHEUS, [
    `--config.file=${cfg}`,
    `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${promPort}`,
    '--enable-feature=exemplar-storage',
    '--web.enable-remote-write-receiver',
    '--log.level=warn',
  ]);
  await waitFor('prometheus ready', async () => (await fetch(`${promUrl}/-/ready`)).status === 200, 60_000);
});

afterAll(async () => {
  if (prom) await stop(prom);
  if (strata) await stop(strata);
  if (querier) await stop(querier);
  for (const r of ring) await stop(r);
  target?.close();
});

type Answer = { seriesLabels: Record<string, string>; exemplars: { labels: Record<string, string>; value: string; timestamp: number }[] }[];

function sorted(a: Answer): string[] {
  const key = (o: Record<string, string>) => JSON.stringify(Object.entries(o).sort());
  return a.map((s) => `${key(s.seriesLabels)} ${s.exemplars.map((e) => `${key(e.labels)}=${e.value}@${e.timestamp}`).join(' ')}`).sort();
}

async function exemplarsAt(url: string, query: string, start: number, end: number): Promise<string[]> {
  const a = await getJson(`${url}/api/v1/query_exemplars?query=${encodeURIComponent(query)}&start=${start}&end=${end}`);
  expect(a.status).toBe('success');
  return sorted(a.data as Answer);
}

/** Prometheus' answer and Strata's (the single process, or `at`: the querier, a receiver). */
async function both(query: string, start: number, end: number, at = strata.url): Promise<{ prom: string[]; strata: string[] }> {
  const [prom, got] = await Promise.all([exemplarsAt(promUrl, query, start, end), exemplarsAt(at, query, start, end)]);
  return { prom, strata: got };
}

const ALL = 'app_requests_total or app_latency_seconds_bucket';
const START = firstMs / 1000 - 60;
const END = firstMs / 1000 + 3600;

test("query_exemplars answers what Prometheus' own exemplar storage answers", async () => {
  const start = START;
  const end = END;
  let last = { prom: [] as string[], strata: [] as string[] };
  await waitFor(
    'the same exemplars in Strata as in Prometheus',
    async () => {
      if (scrapes <= CHANGING_SCRAPES + 2) return false;
      last = await both(ALL, start, end);
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

test('exemplars acknowledged before a SIGKILL are served after the restart (WAL replay)', async () => {
  const before = await exemplarsAt(strata.url, ALL, START, END);
  expect(before.length).toBe(3);
  strata.child.kill('SIGKILL');
  await strata.exited;
  strata = await startStrata({ dataDir: strata.dataDir, port: strata.port });
  // Asked at once: Prometheus does not send again what was acknowledged, so this is the WAL's.
  expect(await exemplarsAt(strata.url, ALL, START, END)).toEqual(before);
});

test('in a ring with RF 2 every owner holds its series exemplars, and the querier answers as Prometheus, also with an owner down', async () => {
  let last = { prom: [] as string[], strata: [] as string[] };
  await waitFor(
    'the querier answering what Prometheus answers',
    async () => {
      last = await both(ALL, START, END, querier.url);
      return last.prom.length === 3 && JSON.stringify(last.prom) === JSON.stringify(last.strata);
    },
    60_000,
  ).catch((e) => {
    throw new Error(`${(e as Error).message}\nprometheus: ${last.prom.join('\n')}\nquerier: ${last.strata.join('\n')}`);
  });
  // Each series with its exemplars on exactly two of the three receivers.
  const held = await Promise.all(ring.map((r) => exemplarsAt(r.url, ALL, START, END)));
  for (const line of last.prom) expect([line, held.filter((h) => h.includes(line)).length]).toEqual([line, 2]);
  ring[1].child.kill('SIGKILL');
  await ring[1].exited;
  expect(await exemplarsAt(querier.url, ALL, START, END)).toEqual(last.prom);
});

test('a remote write with exemplars Prometheus drops leaves Strata with what Prometheus keeps: no series made for exemplars alone', async () => {
  // Strata's answer must come from this write alone, not from Prometheus' remote_write of what it
  // stored (that goes to the default tenant).
  const tenant = { 'X-Scope-OrgID': 'rw-exemplars' };
  const t0 = Date.now() - 60_000;
  const series = (path: string, samples: number[], exemplars: [string, number, number][]): SeriesToWrite => ({
    labels: Labels.fromObject({ __name__: 'rw_requests_total', path }),
    timestamps: samples,
    values: samples.map((_, i) => i + 1),
    exemplars: exemplars.map(([trace, value, timestamp]) => ({ labels: ['trace_id', trace], value, timestamp })),
  });
  const requests = [
    [
      series('/held', [t0], [['h1', 1, t0]]),
      // Exemplars alone for a series nothing holds: dropped, and no series is made.
      series('/nowhere', [], [['n1', 1, t0]]),
      // Labels of 8 + 121 code points, over the limit of 128.
      series('/long', [t0], [['x'.repeat(121), 1, t0]]),
      series('/fits', [t0], [['x'.repeat(120), 1, t0]]),
    ],
    // Exemplars alone for a series held now: the resend and the older one add nothing, the newer lands.
    [
      series(
        '/held',
        [],
        [
          ['h1', 1, t0],
          ['h0', 0.5, t0 - 1000],
          ['h2', 2, t0 + 1000],
        ],
      ),
    ],
  ];
  for (const r of requests) {
    const body = snappyEncode(encodeWriteRequestV1(r));
    const headers = {
      'Content-Type': 'application/x-protobuf',
      'Content-Encoding': 'snappy',
      'X-Prometheus-Remote-Write-Version': '0.1.0',
    };
    const [p, s] = await Promise.all([
      fetch(`${promUrl}/api/v1/write`, { method: 'POST', body, headers }),
      fetch(`${strata.url}/api/v1/write`, { method: 'POST', body, headers: { ...headers, ...tenant } }),
    ]);
    expect([p.status, await p.text(), s.status, await s.text()]).toEqual([204, '', 204, '']);
  }
  const q = `query_exemplars?query=rw_requests_total&start=${t0 / 1000 - 60}&end=${t0 / 1000 + 60}`;
  const [prom, got] = await Promise.all([getJson(`${promUrl}/api/v1/${q}`), getJson(`${strata.url}/api/v1/${q}`, tenant)]);
  expect(sorted(got.data as Answer)).toEqual(sorted(prom.data as Answer));
  expect(sorted(got.data as Answer).map((l) => l.replace(/x{120}/, 'x*120'))).toEqual([
    `[["__name__","rw_requests_total"],["path","/fits"]] [["trace_id","x*120"]]=1@${t0 / 1000}`,
    `[["__name__","rw_requests_total"],["path","/held"]] [["trace_id","h1"]]=1@${t0 / 1000} [["trace_id","h2"]]=2@${t0 / 1000 + 1}`,
  ]);
  const paths = async (url: string, headers?: Record<string, string>) =>
    ((await getJson(`${url}/api/v1/series?match[]=rw_requests_total`, headers)).data as Record<string, string>[]).map((l) => l.path).sort();
  expect(await paths(strata.url, tenant)).toEqual(await paths(promUrl));
  expect(await paths(strata.url, tenant)).toEqual(['/fits', '/held', '/long']);
});
