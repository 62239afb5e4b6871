/**
 * Ingest into a 3-receiver ring with replication factor 3 against a single node, same load in
 * the same run: client-visible samples/s and total CPU-seconds per million client samples across
 * all receivers. Replication alone costs 3x; the forwarding overhead is the rest.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { Labels } from '@strata/model';
import { freePort, startStrata, stop, tempDir, type Strata } from '../test/harness.js';
import { cpuSeconds } from './systems.js';
import { encodeRounds, generateSeries, post, SCRAPE_INTERVAL_MS, type Encoder } from './load.js';

async function push(urls: string[], rounds: ReturnType<typeof encodeRounds>, concurrency: number): Promise<{ seconds: number; failures: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency * urls.length });
  let failures = 0;
  let k = 0;
  const t0 = performance.now();
  for (const round of rounds) {
    let next = 0;
    const worker = async () => {
      while (next < round.bodies.length) {
        const body = round.bodies[next++];
        // Spread over the receivers, as a load balancer in front of them would.
        const st = await post(urls[k++ % urls.length], body, agent);
        if (st !== 204) failures++;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  }
  agent.destroy();
  return { seconds: (performance.now() - t0) / 1000, failures };
}

/** Every request to every URL, concurrently: the client replicates by itself. */
async function pushToAll(urls: string[], rounds: ReturnType<typeof encodeRounds>, concurrency: number): Promise<{ seconds: number; failures: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency * urls.length });
  let failures = 0;
  const t0 = performance.now();
  for (const round of rounds) {
    let next = 0;
    const worker = async () => {
      while (next < round.bodies.length) {
        const body = round.bodies[next++];
        const sts = await Promise.all(urls.map((u) => post(u, body, agent)));
        failures += sts.filter((st) => st !== 204).length;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  }
  agent.destroy();
  return { seconds: (performance.now() - t0) / 1000, failures };
}

const args = ['--distributor.ingestion-rate-limit=0', '--ingester.max-global-series-per-user=0', '--receiver.max-inflight-bytes=4GiB', '--log.level=error'];

export async function runRingBench(seriesCount: number, roundsCount: number, encode: Encoder): Promise<string> {
  const series: Labels[] = generateSeries(seriesCount);
  const rounds = encodeRounds(series, roundsCount, Date.now() - roundsCount * SCRAPE_INTERVAL_MS, encode);
  const samples = seriesCount * roundsCount;
  const single = await startStrata({ component: 'receiver', args });
  const c0 = cpuSeconds(single.child.pid!);
  const s = await push([`${single.url}/api/v1/write`], rounds, 8);
  const singleCpu = cpuSeconds(single.child.pid!) - c0;
  await stop(single);

  // Control: three independent receivers, each sent every request by the client (the data
  // replicated 3 times without any forwarding): the cost of 3 copies on this machine.
  const independents: Strata[] = [];
  for (let i = 0; i < 3; i++) independents.push(await startStrata({ component: 'receiver', args }));
  const ib = independents.map((x) => cpuSeconds(x.child.pid!));
  const ic = await pushToAll(independents.map((x) => `${x.url}/api/v1/write`), rounds, 8);
  const indepCpu = independents.reduce((sum, x, i) => sum + cpuSeconds(x.child.pid!) - ib[i], 0);
  for (const x of independents) await stop(x);

  const ringFile = path.join(tempDir('bench-ring'), 'hashrings.json');
  const ports = [await freePort(), await freePort(), await freePort()];
  fs.writeFileSync(ringFile, JSON.stringify([{ endpoints: ports.map((p) => `127.0.0.1:${p}`) }]));
  const receivers: Strata[] = [];
  for (const p of ports) {
    receivers.push(await startStrata({ component: 'receiver', port: p, args: [...args, `--receive.hashrings-file=${ringFile}`, '--receive.replication-factor=3', `--receive.local-endpoint=127.0.0.1:${p}`] }));
  }
  const before = receivers.map((r) => cpuSeconds(r.child.pid!));
  const r = await push(receivers.map((x) => `${x.url}/api/v1/write`), rounds, 8);
  const ringCpu = receivers.reduce((sum, x, i) => sum + cpuSeconds(x.child.pid!) - before[i], 0);
  for (const x of receivers) await stop(x);
  const perM = (cpu: number) => (cpu / samples) * 1e6;
  return [
    `## Replicated ingest: ${seriesCount} series x ${roundsCount} scrapes, 3 receivers with replication factor 3, 8 client connections`,
    '',
    '| setup | client samples/s | CPU s per 1M client samples (all receivers) | failed requests |',
    '|---|---|---|---|',
    `| single receiver | ${(samples / s.seconds).toFixed(0)} | ${perM(singleCpu).toFixed(2)} | ${s.failures} |`,
    `| 3 independent receivers, client sends each request to all three (no forwarding) | ${(samples / ic.seconds).toFixed(0)} | ${perM(indepCpu).toFixed(2)} | ${ic.failures} |`,
    `| 3 receivers, RF 3 | ${(samples / r.seconds).toFixed(0)} | ${perM(ringCpu).toFixed(2)} | ${r.failures} |`,
    '',
    `CPU per client sample, RF 3 / single: ${(ringCpu / singleCpu).toFixed(2)}x (replication alone: 3x; goal: at most 3.5x); three copies without forwarding on this machine: ${(indepCpu / singleCpu).toFixed(2)}x`,
  ].join('\n');
}
