/**
 * The dashboard benchmark's data: about 2,000 series of a web service fleet (request counters,
 * a latency histogram, process and node gauges), 15 s samples over 24 h, written straight into
 * 2 h blocks (aligned as the head cuts them, 120 samples per chunk as Prometheus cuts them).
 * Strata and Prometheus are given copies of the same block directories, VictoriaMetrics the same
 * samples through its JSON-lines import: generating is seconds, pushing 11.5M samples is minutes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Labels } from '@strata/model';
import { writeBlock, XOREncoder, type BlockChunk, type BlockMeta, type BlockSeries } from '@strata/tsdb';

export const SCRAPE_MS = 15_000;
export const BLOCK_MS = 2 * 3600_000;
const SAMPLES_PER_CHUNK = 120;

export const JOBS = ['api', 'web', 'worker', 'auth'];
/** Instances per job of the standard data; fewer shrink every series family alike (bench/sharded-query.ts). */
export const INSTANCES_PER_JOB = 10;
const HANDLERS = ['/', '/login', '/api/v1/items', '/api/v1/users', '/health'];
const CODES = ['200', '201', '400', '404', '500'];
const LE = ['0.005', '0.01', '0.05', '0.1', '0.5', '1', '5', '+Inf'];

export interface DashboardSeries {
  labels: Labels;
  /** Kind of value series: counters grow, gauges wander. */
  kind: 'counter' | 'gauge' | 'up';
  rate: number;
}

/** 2,000 series (200 per instance): 1,000 request counters, 800 histogram series, 200 gauges. */
export function dashboardSeries(instancesPerJob = INSTANCES_PER_JOB): DashboardSeries[] {
  const out: DashboardSeries[] = [];
  let n = 0;
  for (const job of JOBS) {
    for (let i = 0; i < instancesPerJob; i++) {
      const instance = `10.0.${JOBS.indexOf(job)}.${i}:9100`;
      const base = { job, instance };
      for (const handler of HANDLERS) {
        for (const code of CODES)
          out.push({
            labels: Labels.fromObject({ __name__: 'http_requests_total', ...base, handler, code }),
            kind: 'counter',
            rate: code === '500' ? 0.2 : 1 + (n++ % 11),
          });
      }
      for (const handler of HANDLERS.slice(0, 2)) {
        LE.forEach((le, k) =>
          out.push({
            labels: Labels.fromObject({ __name__: 'http_request_duration_seconds_bucket', ...base, handler, le }),
            kind: 'counter',
            rate: 1 + k * 2,
          }),
        );
        out.push({
          labels: Labels.fromObject({ __name__: 'http_request_duration_seconds_count', ...base, handler }),
          kind: 'counter',
          rate: 1 + LE.length * 2,
        });
        out.push({
          labels: Labels.fromObject({ __name__: 'http_request_duration_seconds_sum', ...base, handler }),
          kind: 'counter',
          rate: 0.7,
        });
      }
      out.push({ labels: Labels.fromObject({ __name__: 'process_resident_memory_bytes', ...base }), kind: 'gauge', rate: 2e8 });
      out.push({ labels: Labels.fromObject({ __name__: 'up', ...base }), kind: 'up', rate: 1 });
      for (const mode of ['user', 'system', 'idle'])
        out.push({
          labels: Labels.fromObject({ __name__: 'node_cpu_seconds_total', ...base, cpu: '0', mode }),
          kind: 'counter',
          rate: mode === 'idle' ? 10 : 3,
        });
    }
  }
  return out;
}

/** The value of series `s` (index `si`) at scrape number `k`. Integral counters, as real ones mostly are. */
export function sampleValue(s: DashboardSeries, si: number, k: number): number {
  if (s.kind === 'up') return (k + si) % 997 === 0 ? 0 : 1;
  if (s.kind === 'gauge') return Math.round(s.rate + Math.sin((k + si * 7) / 40) * 3e7);
  // A counter reset every ~6 h for a few series, so rate() meets resets too.
  const kk = si % 50 === 0 ? k % 1440 : k;
  return Math.floor(kk * s.rate * 15 + ((kk * (si + 1)) % 7));
}

export interface DashboardData {
  series: DashboardSeries[];
  /** First and last sample timestamps (ms). */
  start: number;
  end: number;
  samples: number;
  /** Directory holding the block directories. */
  blocksDir: string;
  blocks: BlockMeta[];
}

/** Writes `hours` of data ending at `end` into aligned 2 h blocks under `dir`. */
export async function writeDashboardBlocks(
  dir: string,
  hours: number,
  end: number,
  externalLabels: Record<string, string>,
  instancesPerJob = INSTANCES_PER_JOB,
): Promise<DashboardData> {
  const series = dashboardSeries(instancesPerJob);
  end = Math.floor(end / SCRAPE_MS) * SCRAPE_MS;
  const n = Math.floor((hours * 3600_000) / SCRAPE_MS);
  const start = end - (n - 1) * SCRAPE_MS;
  fs.mkdirSync(dir, { recursive: true });
  const blocks: BlockMeta[] = [];
  for (let a = Math.floor(start / BLOCK_MS) * BLOCK_MS; a <= end; a += BLOCK_MS) {
    const k0 = Math.max(0, Math.ceil((a - start) / SCRAPE_MS));
    const k1 = Math.min(n - 1, Math.floor((a + BLOCK_MS - 1 - start) / SCRAPE_MS));
    if (k1 < k0) continue;
    const list: BlockSeries[] = series.map((s, si) => {
      const chunks: BlockChunk[] = [];
      for (let c = k0; c <= k1; c += SAMPLES_PER_CHUNK) {
        const enc = new XOREncoder();
        const last = Math.min(k1, c + SAMPLES_PER_CHUNK - 1);
        for (let k = c; k <= last; k++) enc.append(start + k * SCRAPE_MS, sampleValue(s, si, k));
        chunks.push({ minT: start + c * SCRAPE_MS, maxT: start + last * SCRAPE_MS, data: enc.bytes().slice() });
      }
      return { labels: s.labels, chunks };
    });
    blocks.push(await writeBlock(dir, list, { minTime: a, maxTime: a + BLOCK_MS, externalLabels }));
  }
  return { series, start, end, samples: n * series.length, blocksDir: dir, blocks };
}

/** Copies every block directory of `data` into `dst`. */
export function copyBlocks(data: DashboardData, dst: string): void {
  fs.mkdirSync(dst, { recursive: true });
  for (const b of data.blocks) fs.cpSync(path.join(data.blocksDir, b.ulid), path.join(dst, b.ulid), { recursive: true });
}

/** VictoriaMetrics' JSON-lines import bodies: one line per series with all its samples, ~100 series per body. */
export function* victoriaImportBodies(data: DashboardData): Generator<string> {
  const n = (data.end - data.start) / SCRAPE_MS + 1;
  const ts: number[] = Array.from({ length: n }, (_, k) => data.start + k * SCRAPE_MS);
  const tsJson = JSON.stringify(ts);
  let lines: string[] = [];
  for (let si = 0; si < data.series.length; si++) {
    const s = data.series[si];
    const values = Array.from({ length: n }, (_, k) => sampleValue(s, si, k));
    lines.push(`{"metric":${JSON.stringify(s.labels.toObject())},"values":${JSON.stringify(values)},"timestamps":${tsJson}}`);
    if (lines.length === 100) {
      yield lines.join('\n') + '\n';
      lines = [];
    }
  }
  if (lines.length) yield lines.join('\n') + '\n';
}
