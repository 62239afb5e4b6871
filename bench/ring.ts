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
import { encodeRounds, generateSeries, SCRAPE_INTERVAL_MS, type Encoder, type Round } from './load.js';

/**
 * Why a request failed: its status and the error ID of its body (`err-strata-...`), or the
 * socket error's code. Under heavy machine load ring runs see failures a single node does not;
 * counting them by cause says whether they are overload (503), timeouts or something else.
 */
type Failures = Map<string, number>;

/** Like load.ts' post, but a failing answer's body is read for its error ID. */
function send1(url: string, body: Buffer, agent: http.Agent): Promise<string | undefined> {
  return new Promise((resolve) => {
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
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) {
          res.resume();
          res.on('end', () => resolve(undefined));
          return;
        }
        const parts: Buffer[] = [];
        res.on('data', (b: Buffer) => parts.push(b));
        res.on('end', () => {
          const id = /err-strata-[a-z0-9-]+/.exec(Buffer.concat(parts).toString('utf8'))?.[0];
          resolve(`${status} ${id ?? '(no error ID)'}`);
        });
        res.on('error', (e: NodeJS.ErrnoException) => resolve(`${status} body ${e.code ?? e.message}`));
      },
    );
    req.on('error', (e: NodeJS.ErrnoException) => resolve(`no answer: ${e.code ?? e.message}`));
    req.end(body);
  });
}

/**
 * Pushes every round with `concurrency` workers; `send` delivers one body and returns the
 * failures it got (one per receiver it was sent to that did not accept it).
 */
async function drive(
  rounds: Round[],
  concurrency: number,
  agent: http.Agent,
  send: (body: Buffer) => Promise<(string | undefined)[]>,
): Promise<{ seconds: number; failures: Failures }> {
  const failures: Failures = new Map();
  const t0 = performance.now();
  for (const round of rounds) {
    let next = 0;
    const worker = async () => {
      while (next < round.bodies.length) {
        for (const why of await send(round.bodies[next++])) if (why !== undefined) failures.set(why, (failures.get(why) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  }
  agent.destroy();
  return { seconds: (performance.now() - t0) / 1000, failures };
}

/** Each request to one receiver, in turn, as a load balancer in front of them would. */
function push(urls: string[], rounds: Round[], concurrency: number): Promise<{ seconds: number; failures: Failures }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency * urls.length });
  let k = 0;
  return drive(rounds, concurrency, agent, async (body) => [await send1(urls[k++ % urls.length], body, agent)]);
}

/** Every request to every URL, concurrently: the client replicates by itself. */
function pushToAll(urls: string[], rounds: Round[], concurrency: number): Promise<{ seconds: number; failures: Failures }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency * urls.length });
  return drive(rounds, concurrency, agent, (body) => Promise.all(urls.map((u) => send1(u, body, agent))));
}

const args = [
  '--limits.ingestion-rate=0',
  '--limits.max-global-series-per-user=0',
  '--receiver.max-inflight-bytes=4GiB',
  '--log.level=error',
];

interface Run {
  cpu: number;
  seconds: number;
  failures: Failures;
  /** Ring runs: forwarded requests and the shares they carried (coalescing per peer). */
  forwards?: { requests: number; shares: number };
}

/**
 * Forwarded requests and shares, summed over the receivers, from the histogram
 * strata_receiver_forward_batch_shares: shares / requests says how much coalescing gathers at
 * the bench's concurrency.
 */
async function forwardsOf(receivers: Strata[]): Promise<{ requests: number; shares: number }> {
  let requests = 0;
  let shares = 0;
  for (const r of receivers) {
    const text = await (await fetch(`${r.url}/metrics`)).text();
    for (const line of text.split('\n')) {
      const [name, value] = line.split(' ');
      if (name === 'strata_receiver_forward_batch_shares_count') requests += Number(value);
      else if (name === 'strata_receiver_forward_batch_shares_sum') shares += Number(value);
    }
  }
  return { requests, shares };
}

async function runSingle(rounds: Round[], connections: number): Promise<Run> {
  const single = await startStrata({ component: 'receiver', args });
  const c0 = cpuSeconds(single.child.pid!);
  const s = await push([`${single.url}/api/v1/write`], rounds, connections);
  const cpu = cpuSeconds(single.child.pid!) - c0;
  await stop(single);
  return { cpu, ...s };
}

/**
 * Control: three independent receivers, each sent every request by the client (the data
 * replicated 3 times without any forwarding): the cost of 3 copies on this machine.
 */
async function runIndependent(rounds: Round[], connections: number): Promise<Run> {
  const independents: Strata[] = [];
  for (let i = 0; i < 3; i++) independents.push(await startStrata({ component: 'receiver', args }));
  const before = independents.map((x) => cpuSeconds(x.child.pid!));
  const r = await pushToAll(
    independents.map((x) => `${x.url}/api/v1/write`),
    rounds,
    connections,
  );
  const cpu = independents.reduce((sum, x, i) => sum + cpuSeconds(x.child.pid!) - before[i], 0);
  for (const x of independents) await stop(x);
  return { cpu, ...r };
}

async function runRing(rounds: Round[], size: number, connections: number): Promise<Run> {
  const ringFile = path.join(tempDir('bench-ring'), 'hashrings.json');
  const ports: number[] = [];
  for (let i = 0; i < size; i++) ports.push(await freePort());
  fs.writeFileSync(ringFile, JSON.stringify([{ endpoints: ports.map((p) => `127.0.0.1:${p}`) }]));
  const receivers: Strata[] = [];
  for (const p of ports) {
    receivers.push(
      await startStrata({
        component: 'receiver',
        port: p,
        args: [
          ...args,
          `--receiver.hashrings-file=${ringFile}`,
          '--receiver.replication-factor=3',
          `--receiver.local-endpoint=127.0.0.1:${p}`,
        ],
      }),
    );
  }
  const before = receivers.map((r) => cpuSeconds(r.child.pid!));
  const r = await push(
    receivers.map((x) => `${x.url}/api/v1/write`),
    rounds,
    connections,
  );
  const cpu = receivers.reduce((sum, x, i) => sum + cpuSeconds(x.child.pid!) - before[i], 0);
  const forwards = await forwardsOf(receivers);
  for (const x of receivers) await stop(x);
  return { cpu, ...r, forwards };
}

function median(runs: Run[], key: 'cpu' | 'seconds'): number {
  const xs = runs.map((r) => r[key]).sort((a, b) => a - b);
  return xs[Math.floor(xs.length / 2)];
}

/**
 * Each setup runs `repeats` times, interleaved, and the medians are compared: on a small
 * machine one run of each varies by 10-20%, more than the effect being measured.
 */
export async function runRingBench(
  seriesCount: number,
  roundsCount: number,
  encode: Encoder,
  repeats = 3,
  only?: readonly string[],
  connections = 8,
): Promise<string> {
  const series: Labels[] = generateSeries(seriesCount);
  const rounds = encodeRounds(series, roundsCount, Date.now() - roundsCount * SCRAPE_INTERVAL_MS, encode);
  const samples = seriesCount * roundsCount;
  const requests = rounds.reduce((n, r) => n + r.bodies.length, 0);
  const all: { key: string; name: string; run: () => Promise<Run>; runs: Run[] }[] = [
    { key: 'single', name: 'single receiver', run: () => runSingle(rounds, connections), runs: [] },
    {
      key: 'independent',
      name: '3 independent receivers, client sends each request to all three (no forwarding)',
      run: () => runIndependent(rounds, connections),
      runs: [],
    },
    { key: 'ring3', name: '3 receivers, RF 3', run: () => runRing(rounds, 3, connections), runs: [] },
    {
      key: 'ring4',
      name: '4 receivers, RF 3 (each receiver forwards per-owner shares)',
      run: () => runRing(rounds, 4, connections),
      runs: [],
    },
  ];
  // --only single,ring4 runs just those setups (to profile one with STRATA_NODE_FLAGS=--cpu-prof).
  const setups = all.filter((s) => !only || only.includes(s.key));
  for (let rep = 0; rep < repeats; rep++) for (const s of setups) s.runs.push(await s.run());
  const perM = (cpu: number) => (cpu / samples) * 1e6;
  const cpuOf = (key: string) => {
    const s = setups.find((x) => x.key === key);
    return s ? median(s.runs, 'cpu') : NaN;
  };
  const [single, indep, ring3, ring4] = ['single', 'independent', 'ring3', 'ring4'].map(cpuOf);
  return [
    `## Replicated ingest: ${seriesCount} series x ${roundsCount} scrapes, ${connections} client connections spread over the receivers; medians of ${repeats} interleaved runs`,
    '',
    '| setup | client samples/s | CPU s per 1M client samples (all receivers) | each run | failed requests | forwarded requests per client request (shares per request) |',
    '|---|---|---|---|---|---|',
    ...setups.map(
      (s) =>
        `| ${s.name} | ${(samples / median(s.runs, 'seconds')).toFixed(0)} | ${perM(median(s.runs, 'cpu')).toFixed(2)} | ${s.runs.map((r) => perM(r.cpu).toFixed(2)).join(', ')} | ${failuresCell(s.runs)} | ${forwardsCell(s.runs, requests)} |`,
    ),
    '',
    `CPU per client sample, RF 3 on 3 receivers / single: ${(ring3 / single).toFixed(2)}x (replication alone: 3x; goal: at most 3.2x); on 4 receivers: ${(ring4 / single).toFixed(2)}x (goal: at most 3.6x); three copies without forwarding on this machine: ${(indep / single).toFixed(2)}x`,
  ].join('\n');
}

/** Failed requests summed over runs, with their count per status and error ID. */
function failuresCell(runs: Run[]): string {
  const all: Failures = new Map();
  for (const r of runs) for (const [why, n] of r.failures) all.set(why, (all.get(why) ?? 0) + n);
  const total = [...all.values()].reduce((a, b) => a + b, 0);
  if (total === 0) return '0';
  const parts = [...all].sort((a, b) => b[1] - a[1]).map(([why, n]) => `${n}x ${why}`);
  return `${total} (${parts.join('; ')})`;
}

/** Forwarded requests per client request, and shares per forwarded request, summed over runs. */
function forwardsCell(runs: Run[], clientRequests: number): string {
  const f = runs.map((r) => r.forwards).filter((x) => x !== undefined);
  if (f.length === 0) return '';
  const requests = f.reduce((n, x) => n + x.requests, 0);
  const shares = f.reduce((n, x) => n + x.shares, 0);
  return `${(requests / (clientRequests * f.length)).toFixed(2)} (${(shares / requests).toFixed(2)})`;
}
