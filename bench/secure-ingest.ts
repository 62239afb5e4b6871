/**
 * What --web.config.file costs on the write path: the same remote-write load into `strata all`
 * over plain HTTP and over mutual TLS with basic auth (bcrypt cached after the first request),
 * interleaved runs, medians: client-visible samples/s, ack latency, Strata's CPU-seconds per
 * million samples.
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { makePki } from '../packages/api/test/tls-fixtures.js';
import { startStrata, stop, tempDir } from '../test/harness.js';
import { startSecureStrata, writeWebConfig } from '../test/tls-harness.js';
import { cpuSeconds } from './systems.js';
import { encodeRounds, generateSeries, type Encoder, type Round } from './load.js';

const CONCURRENCY = 8;
const CREDS = { user: 'bench', password: 'bench password' };

interface Run {
  samplesPerSec: number;
  p50: number;
  p99: number;
  cpuPerMillion: number;
  failures: number;
}

function quantile(xs: Float64Array, q: number): number {
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

async function push(
  url: string,
  rounds: Round[],
  agent: http.Agent,
  headers: Record<string, string>,
): Promise<{ lat: Float64Array; seconds: number; failures: number }> {
  const total = rounds.reduce((n, r) => n + r.bodies.length, 0);
  const lat = new Float64Array(total);
  let k = 0;
  let failures = 0;
  const mod = url.startsWith('https') ? https : http;
  const post = (body: Buffer) =>
    new Promise<number>((resolve, reject) => {
      const req = mod.request(
        `${url}/api/v1/write`,
        {
          method: 'POST',
          agent,
          headers: { ...headers, 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'Content-Length': body.length },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const t0 = performance.now();
  for (const round of rounds) {
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < round.bodies.length) {
          const body = round.bodies[next++];
          const s = performance.now();
          if ((await post(body)) !== 204) failures++;
          lat[k++] = performance.now() - s;
        }
      }),
    );
  }
  return { lat: lat.subarray(0, k), seconds: (performance.now() - t0) / 1000, failures };
}

export async function runSecureIngestBench(seriesCount: number, roundsCount: number, encode: Encoder, repeats: number): Promise<string> {
  const dir = tempDir('bench-secure');
  const pki = makePki(path.join(dir, 'pki'));
  const web = writeWebConfig(dir, pki, CREDS);
  const series = generateSeries(seriesCount);
  const runs: Record<'plain' | 'secure', Run[]> = { plain: [], secure: [] };
  for (let r = 0; r < repeats; r++) {
    for (const mode of ['plain', 'secure'] as const) {
      const rounds = encodeRounds(series, roundsCount, Date.now() - roundsCount * 15_000, encode);
      const s = mode === 'plain' ? await startStrata() : await startSecureStrata({ webConfig: web, pki, creds: CREDS });
      const agent =
        mode === 'plain'
          ? new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY })
          : new https.Agent({
              keepAlive: true,
              maxSockets: CONCURRENCY,
              ca: fs.readFileSync(pki.caCert),
              cert: fs.readFileSync(pki.clientCert),
              key: fs.readFileSync(pki.clientKey),
            });
      const headers: Record<string, string> =
        mode === 'plain' ? {} : { Authorization: `Basic ${Buffer.from(`${CREDS.user}:${CREDS.password}`).toString('base64')}` };
      const cpu0 = cpuSeconds(s.child.pid!);
      const res = await push(s.url, rounds, agent, headers);
      const cpu = cpuSeconds(s.child.pid!) - cpu0;
      const samples = seriesCount * roundsCount;
      runs[mode].push({
        samplesPerSec: samples / res.seconds,
        p50: quantile(res.lat, 0.5),
        p99: quantile(res.lat, 0.99),
        cpuPerMillion: (cpu / samples) * 1e6,
        failures: res.failures,
      });
      agent.destroy();
      await stop(s);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const row = (name: string, rs: Run[]) =>
    `| ${name} | ${Math.round(median(rs.map((x) => x.samplesPerSec))).toLocaleString('en')} | ${median(rs.map((x) => x.p50)).toFixed(1)} | ${median(rs.map((x) => x.p99)).toFixed(1)} | ${median(rs.map((x) => x.cpuPerMillion)).toFixed(2)} | ${rs.reduce((n, x) => n + x.failures, 0)} |`;
  return [
    `# Write path behind --web.config.file: ${seriesCount} series, ${roundsCount} scrapes, ${CONCURRENCY} connections, medians of ${repeats} interleaved runs`,
    '',
    '| listener | samples/s | p50 ack ms | p99 ack ms | Strata CPU-s per 1M samples | failed requests |',
    '| --- | --- | --- | --- | --- | --- |',
    row('plain HTTP', runs.plain),
    row('mTLS + basic auth', runs.secure),
  ].join('\n');
}
