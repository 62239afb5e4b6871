/**
 * Ingest benchmark: the same pre-encoded remote-write load pushed to Strata, Prometheus 2.42
 * (remote-write receiver) and VictoriaMetrics in one run. Reports samples/s, server CPU-seconds
 * per million samples, resident memory per active series, p99 latency, and Strata's ratios.
 * With a histogram share, that fraction of the series sends native histograms instead of floats
 * (one histogram sample counts as one sample), and Prometheus runs with native histograms on.
 */
import fs from 'node:fs';
import { mulberry32, type Labels } from '@strata/model';
import { encodeWriteRequestV1, snappyEncode, type SeriesToWrite } from '@strata/remote';
import { CumulativeHistogram, observeScrape } from './histogram-load.js';
import {
  cpuSeconds,
  rssBytes,
  startPrometheusSystem,
  startStrataSystem,
  startVictoriaMetricsSystem,
  VICTORIA_METRICS,
  type System,
} from './systems.js';
import {
  encodeRounds,
  generateSeries,
  percentile,
  pushRounds,
  SAMPLES_PER_REQUEST,
  SCRAPE_INTERVAL_MS,
  type Encoder,
  type Round,
} from './load.js';

export interface IngestFigures {
  system: string;
  samplesPerSec: number;
  cpuSecPerMillion: number;
  rssBytesPerSeries: number;
  p99Ms: number;
  failures: number;
}

export interface IngestOptions {
  series: number;
  rounds: number;
  concurrency: number;
  /** Samples per request; small values model thousands of small senders. */
  batch: number;
  encode: Encoder;
  systems?: string[];
  /** Fraction of the series sent as native histograms (0 = none). */
  histogramShare?: number;
}

export async function runIngest(opts: IngestOptions): Promise<IngestFigures[]> {
  const series: Labels[] = generateSeries(opts.series);
  const startMs = Date.now() - opts.rounds * SCRAPE_INTERVAL_MS;
  const share = opts.histogramShare ?? 0;
  const rounds: Round[] = encodeRoundsBatched(series, share > 0 ? { ...opts, encode: histogramEncoder(series, share) } : opts, startMs);
  const starters: Record<string, () => Promise<System>> = {
    strata: () => startStrataSystem(),
    prometheus: () => startPrometheusSystem(share > 0 ? ['native-histograms'] : []),
  };
  // VictoriaMetrics takes no native histograms over remote-write.
  if (fs.existsSync(VICTORIA_METRICS) && share === 0) starters['victoria-metrics'] = () => startVictoriaMetricsSystem();
  const out: IngestFigures[] = [];
  for (const [name, start] of Object.entries(starters)) {
    if (opts.systems && !opts.systems.includes(name)) continue;
    const sys = await start();
    try {
      const cpu0 = cpuSeconds(sys.pid);
      const res = await pushRounds(sys.writeUrl, rounds, opts.concurrency);
      const cpu1 = cpuSeconds(sys.pid);
      const samples = rounds.reduce((n, r) => n + r.samples, 0);
      out.push({
        system: name,
        samplesPerSec: samples / res.seconds,
        cpuSecPerMillion: ((cpu1 - cpu0) / samples) * 1e6,
        rssBytesPerSeries: rssBytes(sys.pid) / opts.series,
        p99Ms: percentile(res.latenciesMs, 99),
        failures: res.failures,
      });
    } finally {
      await sys.stop();
    }
  }
  return out;
}

/**
 * An encoder sending `share` of the series (spread evenly) as native histograms: each call is the
 * next scrape of the series it is given (rounds are encoded in order), so each histogram grows as
 * a counter does, by some ten observations per scrape over 20 to 30 buckets.
 */
export function histogramEncoder(series: Labels[], share: number): Encoder {
  const state = new Map<Labels, { h: CumulativeHistogram; next: () => number; idx: number }>();
  series.forEach((l, i) => {
    if (Math.floor((i + 1) * share) > Math.floor(i * share))
      state.set(l, { h: new CumulativeHistogram(), next: mulberry32(i + 1), idx: i });
  });
  return (batch, t, values) =>
    snappyEncode(
      encodeWriteRequestV1(
        batch.map((labels, j): SeriesToWrite => {
          const s = state.get(labels);
          if (!s) return { labels, timestamps: [t], values: [values[j]] };
          observeScrape(s.h, s.idx, s.next);
          return { labels, timestamps: [], values: [], histograms: [s.h.wire(t)] };
        }),
      ),
    );
}

function encodeRoundsBatched(series: Labels[], opts: IngestOptions, startMs: number): Round[] {
  if (opts.batch === SAMPLES_PER_REQUEST) return encodeRounds(series, opts.rounds, startMs, opts.encode);
  // Small requests: every sender owns `batch` series and sends one request per scrape.
  const rounds: Round[] = [];
  for (let r = 0; r < opts.rounds; r++) {
    const bodies: Buffer[] = [];
    for (let i = 0; i < series.length; i += opts.batch) {
      const part = series.slice(i, i + opts.batch);
      const [one] = encodeRounds(part, 1, startMs + r * SCRAPE_INTERVAL_MS, opts.encode);
      bodies.push(...one.bodies);
    }
    rounds.push({ bodies, samples: series.length });
  }
  return rounds;
}

export function formatIngest(title: string, figs: IngestFigures[]): string {
  const lines = [
    `## ${title}`,
    '',
    '| system | samples/s | CPU s per 1M samples | RSS bytes per series | p99 ms | failed requests |',
    '|---|---|---|---|---|---|',
  ];
  for (const f of figs) {
    lines.push(
      `| ${f.system} | ${f.samplesPerSec.toFixed(0)} | ${f.cpuSecPerMillion.toFixed(2)} | ${f.rssBytesPerSeries.toFixed(0)} | ${f.p99Ms.toFixed(1)} | ${f.failures} |`,
    );
  }
  const s = figs.find((f) => f.system === 'strata');
  for (const peer of figs.filter((f) => f.system !== 'strata')) {
    if (!s) break;
    lines.push(
      '',
      `Strata/${peer.system}: throughput ${(s.samplesPerSec / peer.samplesPerSec).toFixed(2)}x, CPU per sample ${(s.cpuSecPerMillion / peer.cpuSecPerMillion).toFixed(2)}x, memory per series ${(s.rssBytesPerSeries / peer.rssBytesPerSeries).toFixed(2)}x, p99 ${(s.p99Ms / peer.p99Ms).toFixed(2)}x`,
    );
  }
  return lines.join('\n');
}
