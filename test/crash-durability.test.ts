/**
 * Durability: a client streams remote-write requests; Strata is killed with SIGKILL mid-stream.
 * Every sample whose request was acknowledged (2xx) must be present after restart.
 */
import fs from 'node:fs';
import http from 'node:http';
import { Labels, Matcher } from '@strata/model';
import { encodeWriteRequestV1, snappyEncode } from '@strata/remote';
import { TSDB } from '@strata/tsdb';
import { getJson, startStrata, stop, tempDir } from './harness.js';

jest.setTimeout(120_000);

const SERIES = 50;
const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

function post(url: string, body: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'Content-Length': body.length },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', () => resolve(0)); // connection reset by the kill: not acknowledged
    req.end(body);
  });
}

function batch(round: number, base: number): Buffer {
  const series = [];
  for (let s = 0; s < SERIES; s++) {
    series.push({
      labels: Labels.fromObject({ __name__: 'crash_test', series: String(s) }),
      timestamps: [base + round * 100],
      values: [round * 1000 + s],
    });
  }
  return snappyEncode(encodeWriteRequestV1(series));
}

test.each([
  ['', []],
  // Blocks of 10 s of data and a compaction check every 200 ms: the head is cut into blocks, the
  // WAL rotated and checkpointed, and old segments deleted, again and again while writes flow.
  [' while the head is compacted into blocks and the WAL checkpointed', ['--tsdb.block-duration=10s', '--tsdb.compaction-interval=200ms']],
])('every acknowledged sample survives SIGKILL%s', async (_name, args) => {
  const dataDir = tempDir('crash');
  const strata = await startStrata({ dataDir, args });
  const base = Date.now() - 20 * 60_000;
  const acked: number[] = [];
  let round = 0;
  let killed = false;
  // Several concurrent writers, each with its own rounds, so group commit is exercised.
  const writer = async (w: number) => {
    while (!killed) {
      const r = round++;
      const status = await post(`${strata.url}/api/v1/write`, batch(r, base));
      if (status === 204) acked.push(r);
      else if (!killed && status !== 0) throw new Error(`unexpected status ${status} for round ${r} (writer ${w})`);
    }
  };
  const writers = Promise.all([0, 1, 2, 3].map(writer));
  // Kill once 20 s of data (200 rounds) are acknowledged, so the blocked variant has cut blocks
  // however slow the machine is; at least 2.5 s of streaming either way.
  const started = Date.now();
  while ((Date.now() - started < 2500 || acked.length < 200) && Date.now() - started < 30_000) await new Promise((r) => setTimeout(r, 100));
  strata.child.kill('SIGKILL');
  killed = true;
  await writers;
  await strata.exited;
  expect(acked.length).toBeGreaterThan(20);

  // Restart on the same data: it must come back ready, with every series.
  const again = await startStrata({ dataDir, args });
  const s = await getJson(`${again.url}/api/v1/series?match[]=crash_test`);
  expect(s.data.length).toBe(SERIES);
  await stop(again); // clean shutdown writes a snapshot; the check below reads it back

  const db = await TSDB.open({
    dir: `${dataDir}/tsdb`,
    fsync: 'none',
    head: { outOfOrderWindowMs: 30 * 60_000, samplesPerChunk: 120, maxSeries: 0 },
  });
  const q = (await db.tenant('anonymous')).querier();
  const got = await q.select([new Matcher('=', '__name__', 'crash_test')], { start: -Infinity, end: Infinity });
  const byTs = new Map<number, number>();
  for (const ser of got) {
    const sIdx = Number(ser.labels.get('series'));
    for (let i = 0; i < ser.timestamps.length; i++) {
      const r = (ser.timestamps[i] - base) / 100;
      expect(ser.values[i]).toBe(r * 1000 + sIdx); // exact values, never garbage
      byTs.set(r, (byTs.get(r) ?? 0) + 1);
    }
  }
  const missing = acked.filter((r) => byTs.get(r) !== SERIES);
  expect(missing).toEqual([]);
  await db.close();
  if (args.length > 0)
    expect(fs.readdirSync(`${dataDir}/tsdb/tenants/anonymous/blocks`).filter((n) => /^[0-9A-Z]{26}$/.test(n)).length).toBeGreaterThan(0);
});

afterAll(() => agent.destroy());
