/**
 * Query benchmark: the same data (10k counter series and a classic histogram, 15 s scrapes over
 * `hours`) remote-written into Strata and into Prometheus 2.42; then dashboard-style queries run
 * several times on both. Reports the median latency per query and the Strata/Prometheus ratio.
 */
import http from 'node:http';
import { Labels } from '@strata/model';
import { encodeWriteRequestV1, snappyEncode } from '@strata/remote';
import { post } from './load.js';
import { startPrometheusSystem, startStrataSystem, type System } from './systems.js';

const STEP_MS = 15_000;

export function dataset(): Labels[] {
  const out: Labels[] = [];
  for (let i = 0; i < 100; i++) {
    for (let h = 0; h < 20; h++) {
      for (const code of ['200', '201', '400', '404', '500']) {
        out.push(
          Labels.fromObject({
            __name__: 'http_requests_total',
            job: `job-${i % 5}`,
            instance: `host-${i}:9100`,
            handler: `/api/v1/h${h}`,
            code,
          }),
        );
      }
    }
  }
  for (let i = 0; i < 10; i++) {
    for (let h = 0; h < 10; h++) {
      for (const le of ['0.005', '0.01', '0.05', '0.1', '0.5', '1', '5', '+Inf']) {
        out.push(
          Labels.fromObject({ __name__: 'http_request_duration_seconds_bucket', instance: `host-${i}:9100`, handler: `/api/v1/h${h}`, le }),
        );
      }
    }
  }
  return out;
}

/** Counters growing at series-specific rates; bucket counters grow with their bound. */
export function value(series: number, round: number, labels: Labels): number {
  const le = labels.get('le');
  const base = le ? (le === '+Inf' ? 100 : Math.min(100, Number(le) * 150)) : (series % 13) + 1;
  return Math.floor(round * base * (1 + (series % 7) / 10));
}

async function push(sys: System, series: Labels[], rounds: number, start: number): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  for (let r = 0; r < rounds; r++) {
    const t = start + r * STEP_MS;
    const bodies: Buffer[] = [];
    for (let i = 0; i < series.length; i += 2000) {
      const batch = series.slice(i, i + 2000).map((labels, k) => ({ labels, timestamps: [t], values: [value(i + k, r, labels)] }));
      bodies.push(snappyEncode(encodeWriteRequestV1(batch)));
    }
    const codes = await Promise.all(bodies.map((b) => post(sys.writeUrl, b, agent)));
    const bad = codes.find((c) => c < 200 || c >= 300);
    if (bad)
      throw new Error(
        `${sys.name}: push answered ${bad} at round ${r}${sys.proc ? `\n--- ${sys.name} output ---\n${sys.proc.output().slice(-3000)}` : ''}`,
      );
  }
  agent.destroy();
}

export interface BenchQuery {
  name: string;
  query: string;
  /** Range in ms ending at the data's end; 0 for an instant query. */
  range: number;
  step: number;
}

export const QUERIES: BenchQuery[] = [
  { name: 'sum by rate, 10k series, 1h @ 15s', query: 'sum by (job) (rate(http_requests_total[5m]))', range: 3_600_000, step: 15 },
  { name: 'sum by rate, 10k series, 6h @ 60s', query: 'sum by (job) (rate(http_requests_total[5m]))', range: 6 * 3_600_000, step: 60 },
  { name: 'topk(5) of rates, 1h @ 60s', query: 'topk(5, rate(http_requests_total[5m]))', range: 3_600_000, step: 60 },
  {
    name: 'histogram_quantile over buckets, 1h @ 15s',
    query: 'histogram_quantile(0.9, sum by (le, handler) (rate(http_request_duration_seconds_bucket[5m])))',
    range: 3_600_000,
    step: 15,
  },
  {
    name: 'regex selector, 1h @ 60s',
    query: 'sum(rate(http_requests_total{handler=~"/api/v1/h1.*", code=~"5.."}[5m]))',
    range: 3_600_000,
    step: 60,
  },
  { name: 'subquery, instant', query: 'max_over_time(sum(rate(http_requests_total[5m]))[1h:1m])', range: 0, step: 0 },
];

export async function timeQuery(sys: System, q: BenchQuery, end: number): Promise<number> {
  const params =
    q.range === 0
      ? `query=${encodeURIComponent(q.query)}&time=${end / 1000}`
      : `query=${encodeURIComponent(q.query)}&start=${(end - q.range) / 1000}&end=${end / 1000}&step=${q.step}`;
  const url = `${sys.queryUrl}/api/v1/${q.range === 0 ? 'query' : 'query_range'}?${params}`;
  const t0 = performance.now();
  const r = await fetch(url);
  const body = (await r.json()) as { status: string; error?: string };
  const ms = performance.now() - t0;
  if (body.status !== 'success') throw new Error(`${sys.name}: ${q.name}: ${body.error}`);
  return ms;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export async function runQueryBench(hours: number, repeats: number): Promise<string> {
  const series = dataset();
  const rounds = Math.floor((hours * 3_600_000) / STEP_MS);
  const end = Math.floor(Date.now() / STEP_MS) * STEP_MS - 60_000;
  const start = end - (rounds - 1) * STEP_MS;
  const results = new Map<string, number[]>();
  for (const startSys of [startStrataSystem, startPrometheusSystem]) {
    const sys = await startSys();
    try {
      await push(sys, series, rounds, start);
      const medians: number[] = [];
      for (const q of QUERIES) {
        await timeQuery(sys, q, end); // warm-up
        const times: number[] = [];
        for (let i = 0; i < repeats; i++) times.push(await timeQuery(sys, q, end));
        medians.push(median(times));
      }
      results.set(sys.name, medians);
    } finally {
      await sys.stop();
    }
  }
  const s = results.get('strata')!;
  const p = results.get('prometheus')!;
  const lines = [
    `## Query latency: ${series.length} series, ${hours} h of 15 s samples, median of ${repeats} runs`,
    '',
    '| query | Strata ms | Prometheus ms | Strata/Prometheus |',
    '|---|---|---|---|',
    ...QUERIES.map((q, i) => `| ${q.name} | ${s[i].toFixed(1)} | ${p[i].toFixed(1)} | ${(s[i] / p[i]).toFixed(2)}x |`),
  ];
  return lines.join('\n');
}
