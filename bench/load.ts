/**
 * The ingest load: realistic label sets (about ten metric names, jobs, instances, handlers, status
 * codes, histogram buckets), scraped every 15 s, pre-encoded as remote-write 1.0 requests of at
 * most 2,000 samples (Prometheus' default max_samples_per_send), so the generator costs nothing
 * while the servers are measured.
 */
import http from 'node:http';
import { Labels } from '@strata/model';

export const SCRAPE_INTERVAL_MS = 15_000;
export const SAMPLES_PER_REQUEST = 2000;

const METRICS: [name: string, extra: [string, string[]][]][] = [
  [
    'http_requests_total',
    [
      ['handler', hs(20)],
      ['code', ['200', '201', '400', '404', '500']],
    ],
  ],
  [
    'http_request_duration_seconds_bucket',
    [
      ['handler', hs(10)],
      ['le', ['0.005', '0.01', '0.05', '0.1', '0.5', '1', '5', '+Inf']],
    ],
  ],
  ['http_request_duration_seconds_count', [['handler', hs(20)]]],
  ['process_cpu_seconds_total', []],
  ['process_resident_memory_bytes', []],
  [
    'node_cpu_seconds_total',
    [
      ['cpu', hs(8, 'cpu')],
      ['mode', ['user', 'system', 'idle', 'iowait']],
    ],
  ],
  [
    'node_filesystem_avail_bytes',
    [
      ['mountpoint', ['/', '/boot', '/var', '/home']],
      ['fstype', ['ext4', 'xfs']],
    ],
  ],
  ['node_network_receive_bytes_total', [['device', ['eth0', 'eth1', 'lo']]]],
  ['go_goroutines', []],
  ['up', []],
];

function hs(n: number, prefix = '/api/v'): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}${i}`);
}

/** About `target` series, spread over as many instances as needed. */
export function generateSeries(target: number): Labels[] {
  const perInstance: Record<string, string>[] = [];
  for (const [name, extra] of METRICS) {
    let combos: Record<string, string>[] = [{ __name__: name }];
    for (const [label, values] of extra) combos = combos.flatMap((c) => values.map((v) => ({ ...c, [label]: v })));
    perInstance.push(...combos);
  }
  const out: Labels[] = [];
  for (let i = 0; out.length < target; i++) {
    const job = `job-${i % 10}`;
    const instance = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:9100`;
    for (const c of perInstance) {
      if (out.length >= target) break;
      out.push(Labels.fromObject({ ...c, job, instance, env: 'prod', region: `region-${i % 3}` }));
    }
  }
  return out;
}

/** A value per series and scrape that behaves like a counter or a gauge. */
export function valueOf(series: number, scrape: number): number {
  return series % 3 === 0 ? (series % 1000) + Math.sin(scrape / 10) * 100 : scrape * ((series % 17) + 1);
}

export interface Round {
  /** snappy-compressed remote-write bodies, one scrape of every series. */
  bodies: Buffer[];
  samples: number;
}

export type Encoder = (series: Labels[], ts: number, values: Float64Array) => Buffer;

export function encodeRounds(
  series: Labels[],
  rounds: number,
  startMs: number,
  encode: Encoder,
  intervalMs: number = SCRAPE_INTERVAL_MS,
): Round[] {
  const out: Round[] = [];
  for (let r = 0; r < rounds; r++) {
    const t = startMs + r * intervalMs;
    const bodies: Buffer[] = [];
    for (let i = 0; i < series.length; i += SAMPLES_PER_REQUEST) {
      const batch = series.slice(i, i + SAMPLES_PER_REQUEST);
      const values = new Float64Array(batch.length);
      for (let j = 0; j < batch.length; j++) values[j] = valueOf(i + j, r);
      bodies.push(encode(batch, t, values));
    }
    out.push({ bodies, samples: series.length });
  }
  return out;
}

export interface PushResult {
  requests: number;
  failures: number;
  latenciesMs: Float64Array;
  seconds: number;
}

/** Sends bodies with `concurrency` keep-alive connections; one round at a time so samples stay in order. */
export async function pushRounds(url: string, rounds: Round[], concurrency: number): Promise<PushResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const total = rounds.reduce((n, r) => n + r.bodies.length, 0);
  const lat = new Float64Array(total);
  let k = 0;
  let failures = 0;
  const start = performance.now();
  for (const round of rounds) {
    let next = 0;
    const worker = async () => {
      while (next < round.bodies.length) {
        const body = round.bodies[next++];
        const t0 = performance.now();
        const status = await post(url, body, agent);
        lat[k++] = performance.now() - t0;
        if (status < 200 || status >= 300) failures++;
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, round.bodies.length) }, worker));
  }
  const seconds = (performance.now() - start) / 1000;
  agent.destroy();
  return { requests: total, failures, latenciesMs: lat.subarray(0, k), seconds };
}

export function post(url: string, body: Buffer, agent: http.Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'Content-Type': 'application/x-protobuf',
          'Content-Encoding': 'snappy',
          'X-Prometheus-Remote-Write-Version': '0.1.0',
          'Content-Length': body.length,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export function percentile(xs: Float64Array, p: number): number {
  if (xs.length === 0) return NaN;
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}
