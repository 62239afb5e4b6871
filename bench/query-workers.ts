/**
 * Heavy range queries with PromQL on 0 (the main thread), 1 and 2 worker threads
 * (`npm run bench -- --query-workers`): the same data pushed into each Strata, then rounds of
 * C concurrent `sum by (job) (rate(...[5m]))` over the whole range at 60 s steps, for C = 1 and
 * 2. Reported: the median and best round time per setting. One query alone cannot go faster on
 * more workers (it runs on one); concurrent queries can, up to the cores free.
 */
import { Labels } from '@strata/model';
import { encodeWriteRequestV1, snappyEncode } from '@strata/remote';
import { encodeRounds, generateSeries, percentile, pushRounds, SCRAPE_INTERVAL_MS } from './load.js';
import { startStrataSystem } from './systems.js';

export interface QueryWorkersOptions {
  series: number;
  hours: number;
  rounds: number;
}

const encode = (series: Labels[], t: number, values: Float64Array): Buffer =>
  snappyEncode(encodeWriteRequestV1(series.map((labels, i) => ({ labels, timestamps: [t], values: [values[i]] }))));

export async function runQueryWorkersBench(o: QueryWorkersOptions): Promise<string> {
  const series = generateSeries(o.series);
  const rounds = Math.max(2, Math.round((o.hours * 3_600_000) / SCRAPE_INTERVAL_MS));
  const start = Date.now() - rounds * SCRAPE_INTERVAL_MS;
  const end = start + (rounds - 1) * SCRAPE_INTERVAL_MS;
  const query = 'sum by (job) (rate(http_requests_total[5m]))';
  const path = `/api/v1/query_range?query=${encodeURIComponent(query)}&start=${start / 1000}&end=${end / 1000}&step=60`;
  const lines = [
    `# \`${query}\` over ${o.hours} h of ${series.length} series at 60 s steps; ${o.rounds} rounds of C concurrent queries`,
    '',
    '| --querier.workers | C=1 median ms | C=1 best ms | C=2 median ms (round) | C=2 best ms |',
    '|---|---|---|---|---|',
  ];
  for (const workers of [0, 1, 2]) {
    const sys = await startStrataSystem([`--querier.workers=${workers}`]);
    try {
      for (let r = 0; r < rounds; r += 40) {
        const pushed = await pushRounds(
          sys.writeUrl,
          encodeRounds(series, Math.min(40, rounds - r), start + r * SCRAPE_INTERVAL_MS, encode),
          4,
        );
        if (pushed.failures > 0) throw new Error(`${pushed.failures} failed pushes`);
      }
      const cells: string[] = [];
      for (const c of [1, 2]) {
        const times: number[] = [];
        // One warm-up round: code compiled, caches filled, as for the rounds measured.
        for (let i = 0; i <= o.rounds; i++) {
          const t0 = performance.now();
          await Promise.all(
            Array.from({ length: c }, async () => {
              const res = await fetch(`${sys.queryUrl}${path}`);
              const body = (await res.json()) as { status: string; data: { result: unknown[] } };
              if (res.status !== 200 || body.data.result.length === 0) throw new Error(`query failed: ${res.status}`);
            }),
          );
          if (i > 0) times.push(performance.now() - t0);
        }
        const xs = Float64Array.from(times);
        cells.push(percentile(xs, 50).toFixed(0), Math.min(...times).toFixed(0));
      }
      lines.push(`| ${workers} | ${cells.join(' | ')} |`);
      process.stderr.write(lines[lines.length - 1] + '\n');
    } finally {
      await sys.stop();
    }
  }
  return lines.join('\n');
}
