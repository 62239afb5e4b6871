/**
 * Log replication through real processes: 3 receivers at RF 3 (a hashrings file, as the metrics
 * ring tests use) and a querier over them. Writers push Loki requests to the live receivers;
 * one receiver is killed with SIGKILL mid-run while they push. Every acknowledged line must
 * then read back through the querier's Loki API exactly once: with the dead receiver still down
 * (its replicas answer), and again after it restarted and replayed its WAL (three copies of each
 * line, merged into one).
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { snappyEncode } from '@strata/remote';
import { encodePushRequestProto } from '@strata/logs';
import { freePort, getJson, startStrata, stop, tempDir, type Strata } from './harness.js';

jest.setTimeout(120_000);

const STREAMS = 8;
const MAX_ROUNDS = 1500;
const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
const ports: number[] = [];
const dirs: string[] = [];
const receivers: Strata[] = [];
let querier: Strata | undefined;
let ringFile: string;

function startReceiver(i: number): Promise<Strata> {
  return startStrata({
    component: 'receiver',
    port: ports[i],
    dataDir: dirs[i],
    args: [
      `--receiver.hashrings-file=${ringFile}`,
      '--receiver.replication-factor=3',
      `--receiver.local-endpoint=127.0.0.1:${ports[i]}`,
      '--receiver.forward-timeout=2s',
    ],
  });
}

function post(url: string, body: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(
      url,
      { method: 'POST', agent, headers: { 'Content-Type': 'application/x-protobuf', 'Content-Length': body.length } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(0));
      },
    );
    req.on('error', () => resolve(0)); // refused or reset by the kill: not acknowledged
    req.end(body);
  });
}

const lineOf = (round: number, s: number) => `level=info round=${round} stream=${s} msg="replicated"`;

function push(round: number, baseNs: bigint): Buffer {
  const streams = [];
  for (let s = 0; s < STREAMS; s++) {
    streams.push({
      labelsText: `{app="ring", stream="${s}"}`,
      timestampsNs: BigInt64Array.of(baseNs + BigInt(round) * 1000n),
      lines: [lineOf(round, s)],
    });
  }
  return snappyEncode(encodePushRequestProto(streams));
}

beforeAll(async () => {
  const cfgDir = tempDir('logring');
  ringFile = path.join(cfgDir, 'hashrings.json');
  for (let i = 0; i < 3; i++) {
    ports.push(await freePort());
    dirs.push(tempDir(`logring${i}`));
  }
  fs.writeFileSync(ringFile, JSON.stringify([{ hashring: 'default', endpoints: ports.map((p) => `127.0.0.1:${p}`) }]));
  for (let i = 0; i < 3; i++) receivers.push(await startReceiver(i));
  querier = await startStrata({
    component: 'querier',
    args: [`--querier.stores=${receivers.map((r) => r.url).join(',')}`, '--query.partial-response', '--query.timeout=10s'],
  });
});

afterAll(async () => {
  for (const r of receivers) await stop(r);
  if (querier) await stop(querier);
  agent.destroy();
});

/** Each stream's lines as the querier answers them, oldest first. */
async function readBack(baseNs: bigint, rounds: number): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>();
  for (let s = 0; s < STREAMS; s++) {
    const params = new URLSearchParams({
      query: `{app="ring", stream="${s}"}`,
      start: String(baseNs - 1n),
      end: String(baseNs + BigInt(rounds + 1) * 1000n),
      limit: '5000',
      direction: 'forward',
    });
    const r = await getJson(`${querier!.url}/loki/api/v1/query_range?${params}`);
    expect(r.status).toBe('success');
    const lines: string[] = [];
    for (const st of r.data.result as { values: [string, string][] }[]) for (const [, l] of st.values) lines.push(l);
    out.set(s, lines);
  }
  return out;
}

test('every acknowledged line reads back exactly once through the querier, a receiver killed mid-push', async () => {
  const baseNs = BigInt(Date.now() - 60_000) * 1_000_000n;
  const acked = new Set<number>();
  const sent = new Set<number>();
  let round = 0;
  let stopped = false;
  let killed = false;
  const victim = 2;
  const writer = async (w: number) => {
    while (!stopped && round < MAX_ROUNDS) {
      const r = round++;
      // Round robin over the receivers, skipping the dead one once it is known dead.
      let to = (r + w) % 3;
      if (killed && to === victim) to = (to + 1) % 3;
      sent.add(r);
      const status = await post(`${receivers[to].url}/loki/api/v1/push`, push(r, baseNs));
      if (status === 204) acked.add(r);
      // Around the kill a push may fail (refused, reset, 503 while a forward times out); never a 4xx.
      else if (status >= 400 && status < 500) throw new Error(`round ${r}: HTTP ${status}`);
    }
  };
  const writers = Promise.all([0, 1, 2, 3].map(writer));
  const started = Date.now();
  const until = async (ms: number, rounds: number) => {
    while ((Date.now() - started < ms || acked.size < rounds) && Date.now() - started < 40_000 && round < MAX_ROUNDS)
      await new Promise((r) => setTimeout(r, 50));
  };
  await until(1000, 150);
  receivers[victim].child.kill('SIGKILL');
  killed = true;
  await receivers[victim].exited;
  const ackedAtKill = acked.size;
  // Pushes go on against the two live receivers: the write quorum (2 of 3) still acknowledges them.
  await until(2500, ackedAtKill + 150);
  stopped = true;
  await writers;
  expect(ackedAtKill).toBeGreaterThan(50);
  expect(acked.size).toBeGreaterThan(ackedAtKill + 50);

  const check = (got: Map<number, string[]>) => {
    for (let s = 0; s < STREAMS; s++) {
      const lines = got.get(s)!;
      const counts = new Map<string, number>();
      for (const l of lines) counts.set(l, (counts.get(l) ?? 0) + 1);
      const missing = [...acked].filter((r) => counts.get(lineOf(r, s)) !== 1);
      expect(missing).toEqual([]);
      // Nothing that was never pushed, and no line twice (an unacknowledged push may have landed once).
      for (const [l, n] of counts) {
        expect(n).toBe(1);
        expect(sent.has(Number(/round=(\d+)/.exec(l)![1]))).toBe(true);
      }
    }
  };
  check(await readBack(baseNs, round));

  // The killed receiver replays its WAL; now every line has up to three copies, read as one.
  receivers[victim] = await startReceiver(victim);
  check(await readBack(baseNs, round));
});
