/**
 * histogram_quantile over classic buckets against the same over native histograms: 100
 * distributions (10 instances x 10 handlers), each scraped every 15 s as 12 classic `le` bucket
 * series and as one native histogram of the same observations (histogram-load.ts), remote-written
 * into Strata and into Prometheus 2.42 with native histograms on. Reports median latencies, the
 * Strata/Prometheus ratio per query, native against classic within each system, and how far the
 * two systems' answers are apart (Prometheus 2.42 interpolates linearly inside a native bucket,
 * Prometheus 3 and Strata exponentially, so native quantiles differ by design).
 */
import http from 'node:http';
import { Labels, mulberry32 } from '@strata/model';
import { encodeWriteRequestV1, snappyEncode, type SeriesToWrite } from '@strata/remote';
import { post } from './load.js';
import { median, timeQuery, type BenchQuery } from './query.js';
import { startPrometheusSystem, startStrataSystem, type System } from './systems.js';
import { CLASSIC_BOUNDS, CumulativeHistogram, observeScrape } from './histogram-load.js';

const STEP_MS = 15_000;
const CLASSIC = 'http_request_duration_seconds_bucket';
const NATIVE = 'http_request_duration_seconds_native';

const QUERIES: BenchQuery[] = [
  { name: 'classic: sum by (le)', query: `histogram_quantile(0.99, sum by (le) (rate(${CLASSIC}[5m])))`, range: 3_600_000, step: 15 },
  { name: 'native: sum', query: `histogram_quantile(0.99, sum(rate(${NATIVE}[5m])))`, range: 3_600_000, step: 15 },
  {
    name: 'classic: sum by (le, handler)',
    query: `histogram_quantile(0.99, sum by (le, handler) (rate(${CLASSIC}[5m])))`,
    range: 3_600_000,
    step: 15,
  },
  {
    name: 'native: sum by (handler)',
    query: `histogram_quantile(0.99, sum by (handler) (rate(${NATIVE}[5m])))`,
    range: 3_600_000,
    step: 15,
  },
];

interface Distribution {
  instance: string;
  handler: string;
  h: CumulativeHistogram;
  next: () => number;
}

/** Every round's request bodies, encoded once so both systems get the same bytes. */
function encode(rounds: number, start: number): Buffer[] {
  const ds: Distribution[] = [];
  for (let i = 0; i < 10; i++)
    for (let k = 0; k < 10; k++)
      ds.push({ instance: `host-${i}:9100`, handler: `/api/v1/h${k}`, h: new CumulativeHistogram(), next: mulberry32(1 + i * 10 + k) });
  const les = [...CLASSIC_BOUNDS.map(String), '+Inf'];
  const bodies: Buffer[] = [];
  for (let r = 0; r < rounds; r++) {
    const t = start + r * STEP_MS;
    const series: SeriesToWrite[] = [];
    ds.forEach((d, n) => {
      observeScrape(d.h, n, d.next);
      const base = { instance: d.instance, handler: d.handler };
      les.forEach((le, b) =>
        series.push({ labels: Labels.fromObject({ __name__: CLASSIC, ...base, le }), timestamps: [t], values: [d.h.cumulative(b)] }),
      );
      series.push({ labels: Labels.fromObject({ __name__: NATIVE, ...base }), timestamps: [], values: [], histograms: [d.h.wire(t)] });
    });
    bodies.push(snappyEncode(encodeWriteRequestV1(series)));
  }
  return bodies;
}

/** The answer's values at the range's last step, by series, for comparing the two systems. */
async function lastValues(sys: System, q: BenchQuery, end: number): Promise<Map<string, number>> {
  const params = `query=${encodeURIComponent(q.query)}&start=${(end - q.range) / 1000}&end=${end / 1000}&step=${q.step}`;
  const body = (await (await fetch(`${sys.queryUrl}/api/v1/query_range?${params}`)).json()) as {
    data: { result: { metric: Record<string, string>; values: [number, string][] }[] };
  };
  return new Map(body.data.result.map((s) => [JSON.stringify(s.metric), Number(s.values[s.values.length - 1][1])]));
}

export async function runHistogramQueryBench(hours: number, repeats: number): Promise<string> {
  const rounds = Math.floor((hours * 3_600_000) / STEP_MS);
  const end = Math.floor(Date.now() / STEP_MS) * STEP_MS - 60_000;
  const start = end - (rounds - 1) * STEP_MS;
  const bodies = encode(rounds, start);
  // Steps half a scrape off the samples: no sample sits on a range's first instant, which
  // Prometheus 2.42's range selectors include and Prometheus 3's (and Strata's) exclude, so the
  // classic answers must agree exactly; native ones still differ by interpolation (below).
  const queryEnd = end - STEP_MS / 2;
  const medians = new Map<string, number[]>();
  const answers = new Map<string, Map<string, number>[]>();
  // Strata without its results cache: Prometheus has none, and the repeats must compute.
  for (const startSys of [
    () => startStrataSystem(['--query-frontend.results-cache.enabled=false']),
    () => startPrometheusSystem(['native-histograms']),
  ]) {
    const sys = await startSys();
    try {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      for (const [r, b] of bodies.entries()) {
        const code = await post(sys.writeUrl, b, agent);
        if (code < 200 || code >= 300)
          throw new Error(`${sys.name}: push answered ${code} at round ${r}\n${sys.proc.output().slice(-3000)}`);
      }
      agent.destroy();
      const ms: number[] = [];
      for (const q of QUERIES) {
        await timeQuery(sys, q, queryEnd); // warm-up
        const times: number[] = [];
        for (let i = 0; i < repeats; i++) times.push(await timeQuery(sys, q, queryEnd));
        ms.push(median(times));
      }
      medians.set(sys.name, ms);
      answers.set(sys.name, await Promise.all(QUERIES.map((q) => lastValues(sys, q, queryEnd))));
    } finally {
      await sys.stop();
    }
  }
  const s = medians.get('strata')!;
  const p = medians.get('prometheus')!;
  // The largest relative difference between the two answers' last values (Infinity: different series).
  const diff = QUERIES.map((_, i) => {
    const a = answers.get('strata')![i];
    const b = answers.get('prometheus')![i];
    if (a.size !== b.size) return Infinity;
    let d = 0;
    for (const [k, v] of a) d = Math.max(d, b.has(k) ? Math.abs(v - b.get(k)!) / Math.max(Math.abs(v), 1e-12) : Infinity);
    return d;
  });
  const lines = [
    `## histogram_quantile(0.99, ...) over classic buckets and over native histograms: 100 distributions (${100 * (CLASSIC_BOUNDS.length + 1)} bucket series or 100 native), ${hours} h of 15 s samples, 1 h range @ 15 s, median of ${repeats} runs`,
    '',
    '| query | Strata ms | Prometheus ms | Strata/Prometheus | series (Strata, Prometheus) | largest relative difference of the last values |',
    '|---|---|---|---|---|---|',
    ...QUERIES.map(
      (q, i) =>
        `| ${q.name} | ${s[i].toFixed(1)} | ${p[i].toFixed(1)} | ${(s[i] / p[i]).toFixed(2)}x | ${answers.get('strata')![i].size}, ${answers.get('prometheus')![i].size} | ${diff[i].toPrecision(2)} |`,
    ),
    '',
    `Native/classic: Strata ${(s[1] / s[0]).toFixed(2)}x and ${(s[3] / s[2]).toFixed(2)}x, Prometheus ${(p[1] / p[0]).toFixed(2)}x and ${(p[3] / p[2]).toFixed(2)}x`,
  ];
  return lines.join('\n');
}
