/**
 * Log durability: clients stream Loki pushes to `strata all`, which is killed with SIGKILL
 * mid-stream. Every line whose push was acknowledged (204) must be there after a restart,
 * exactly, and a restarted process must take pushes again.
 */
import http from 'node:http';
import { Matcher } from '@strata/model';
import { snappyEncode } from '@strata/remote';
import { encodePushRequestProto, LogStore } from '@strata/logs';
import { startStrata, stop, tempDir } from './harness.js';

jest.setTimeout(120_000);

const STREAMS = 20;
const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

function post(url: string, body: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(
      url,
      { method: 'POST', agent, headers: { 'Content-Type': 'application/x-protobuf', 'Content-Length': body.length } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', () => resolve(0)); // reset by the kill: not acknowledged
    req.end(body);
  });
}

const lineOf = (round: number, s: number) => `level=info round=${round} stream=${s} msg="request served" ${'x'.repeat(200)}`;

function push(round: number, baseNs: bigint): Buffer {
  const streams = [];
  for (let s = 0; s < STREAMS; s++) {
    streams.push({
      labelsText: `{app="crash", stream="${s}"}`,
      timestampsNs: BigInt64Array.of(baseNs + BigInt(round) * 1000n),
      lines: [lineOf(round, s)],
    });
  }
  return snappyEncode(encodePushRequestProto(streams));
}

test('every acknowledged log line survives SIGKILL', async () => {
  const dataDir = tempDir('logs-crash');
  const strata = await startStrata({ dataDir });
  const baseNs = BigInt(Date.now() - 60_000) * 1_000_000n;
  const acked: number[] = [];
  let round = 0;
  let killed = false;
  const writer = async (w: number) => {
    while (!killed) {
      const r = round++;
      const status = await post(`${strata.url}/loki/api/v1/push`, push(r, baseNs));
      if (status === 204) acked.push(r);
      else if (!killed && status !== 0) throw new Error(`unexpected status ${status} for round ${r} (writer ${w})`);
    }
  };
  const writers = Promise.all([0, 1, 2, 3].map(writer));
  const started = Date.now();
  // At least 2.5 s and 300 acknowledged pushes (~1.3 MB of lines per stream set: blocks are sealed on the way).
  while ((Date.now() - started < 2500 || acked.length < 300) && Date.now() - started < 30_000) await new Promise((r) => setTimeout(r, 100));
  strata.child.kill('SIGKILL');
  killed = true;
  await writers;
  await strata.exited;
  expect(acked.length).toBeGreaterThan(20);

  // The restarted process replays its log WAL and takes pushes again.
  const again = await startStrata({ dataDir });
  expect(await post(`${again.url}/loki/api/v1/push`, push(round + 1, baseNs))).toBe(204);
  await stop(again);

  const store = await LogStore.open({ dir: `${dataDir}/logs`, fsync: 'none', cutIntervalMs: 0 });
  const got = await store.logQuerier('anonymous').selectLogs([new Matcher('=', 'app', 'crash')], { startNs: 0n, endNs: 2n ** 62n });
  expect(got.length).toBe(STREAMS);
  for (const s of got) {
    const idx = Number(s.labels.get('stream'));
    const byRound = new Map<number, string>();
    s.timestampsNs.forEach((t, i) => byRound.set(Number((t - baseNs) / 1000n), s.lines[i]));
    const missing = acked.filter((r) => byRound.get(r) !== lineOf(r, idx));
    expect(missing).toEqual([]);
    // Nothing that was never pushed, and no line altered.
    for (const [r, line] of byRound) expect(line).toBe(lineOf(r, idx));
  }
  await store.close();
});

afterAll(() => agent.destroy());
