/**
 * Graceful shutdown under load: senders keep their keep-alive connections busy, Strata gets
 * SIGTERM. It must exit promptly (a busy connection used to hold the shutdown, and with it the
 * head's snapshot and flush, until the orchestrator's SIGKILL), answer every request with 2xx or
 * a retryable status, and keep every acknowledged sample.
 */
import http from 'node:http';
import { Labels } from '@strata/model';
import { encodeWriteRequestV1, snappyEncode } from '@strata/remote';
import { getJson, startStrata, stop, tempDir, waitFor } from './harness.js';

jest.setTimeout(60_000);

test('SIGTERM while senders keep connections busy: prompt exit, only retryable refusals, nothing acknowledged lost', async () => {
  const dataDir = tempDir('shutdown');
  const s = await startStrata({ dataDir });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const statuses: number[] = [];
  const acked: number[] = [];
  let stopped = false;
  let next = 0;
  const base = Date.now() - 60_000;
  const post = (body: Buffer) =>
    new Promise<number>((resolve) => {
      const req = http.request(
        `${s.url}/api/v1/write`,
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
      req.on('error', () => resolve(0)); // refused or reset once the server is gone: not acknowledged
      req.end(body);
    });
  const writers = Promise.all(
    [0, 1, 2, 3].map(async () => {
      while (!stopped) {
        const i = next++;
        const st = await post(
          snappyEncode(
            encodeWriteRequestV1([{ labels: Labels.fromObject({ __name__: 'shutdown_test' }), timestamps: [base + i], values: [i] }]),
          ),
        );
        statuses.push(st);
        if (st === 204) acked.push(i);
        if (st === 0) await new Promise((r) => setTimeout(r, 20));
      }
    }),
  );
  // A second of traffic, and more than 50 acknowledged writes (a busy machine acknowledges fewer
  // a second): the SIGTERM lands on senders in full flow.
  await new Promise((r) => setTimeout(r, 1000));
  await waitFor('more than 50 acknowledged writes', async () => acked.length > 50, 20_000, 50).catch((e: unknown) => {
    stopped = true;
    s.child.kill('SIGKILL');
    throw e;
  });
  const t0 = Date.now();
  s.child.kill('SIGTERM');
  const exit = await s.exited;
  const took = Date.now() - t0;
  stopped = true;
  await writers;
  agent.destroy();
  expect(exit).toEqual({ code: 0, signal: null });
  expect(took).toBeLessThan(15_000);
  expect(statuses.filter((x) => x !== 204 && x !== 503 && x !== 0)).toEqual([]);
  expect(acked.length).toBeGreaterThan(50);

  // At info level, so the restart's 'tenant head loaded' line (which says where the head came from) shows.
  const again = await startStrata({ dataDir, args: ['--log.level=info'] });
  try {
    const r = await getJson(`${again.url}/api/v1/query?query=${encodeURIComponent('shutdown_test[15m]')}&time=${(base + 600_000) / 1000}`);
    const have = new Set<number>(r.data.result[0].values.map((v: [number, string]) => Number(v[1])));
    expect(acked.filter((i) => !have.has(i))).toEqual([]);
    // The clean shutdown wrote a snapshot: the restart loaded it instead of replaying the WAL.
    const loaded = again
      .output()
      .split('\n')
      .filter((l) => l.includes('"msg":"tenant head loaded"'))
      .map((l) => JSON.parse(l));
    expect(loaded.map((l) => ({ tenant: l.tenant, fromSnapshot: l.fromSnapshot }))).toEqual([{ tenant: 'anonymous', fromSnapshot: true }]);
  } finally {
    await stop(again);
  }
});
