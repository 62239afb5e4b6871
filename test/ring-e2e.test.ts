/**
 * Receivers as a replicated ring (RF 3), faults injected into real processes while a client
 * writes continuously through one receiver:
 *  - SIGKILL one receiver: the client sees only 2xx; after restart every acknowledged sample is
 *    queryable exactly once through the querier (replicas de-duplicated);
 *  - SIGKILL two: writes answer 503 (never 2xx, never 400); after restart the retries land;
 *  - SIGSTOP one (a hung node): writes still succeed within the forward timeout;
 *  - the hashrings file gains a fourth receiver while writes flow: no write fails, nothing lost;
 *  - bad data through the ring answers 400 naming the series while its valid neighbours land,
 *    both when every receiver owns everything (3 receivers) and with per-owner shares (4).
 * Each case leaves the ring as it found it (three receivers up, the hashrings file listing
 * them), so the cases run in any order and alone (-t).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Labels } from '@strata/model';
import { encodeWriteRequestV1, encodeWriteRequestV2, snappyEncode } from '@strata/remote';
import { freePort, getJson, startStrata, stop, tempDir, waitFor, type Strata } from './harness.js';

jest.setTimeout(240_000);

const SERIES = 12;
let ringFile: string;
const ports: number[] = [];
const dirs: string[] = [];
const receivers: (Strata | undefined)[] = [];
let querier: Strata | undefined;
// Timestamps advance faster than real time (one write every few ms): start well in the past so
// they never run past the receivers' future limit.
let nextT = Date.now() - 2 * 3600_000;
const STEP_MS = 250;
const acked: number[] = [];

function body(t: number): Buffer {
  return snappyEncode(
    encodeWriteRequestV1(
      Array.from({ length: SERIES }, (_, i) => ({
        labels: Labels.fromObject({ __name__: 'ring_e2e', s: String(i) }),
        timestamps: [t],
        values: [t % 100_000],
      })),
    ),
  );
}

async function write(t: number, to = receivers[0]!): Promise<number> {
  try {
    const r = await fetch(`${to.url}/api/v1/write`, {
      method: 'POST',
      body: body(t),
      headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy' },
      signal: AbortSignal.timeout(10_000),
    });
    return r.status;
  } catch {
    return 0;
  }
}

function writeRing(n: number): void {
  fs.writeFileSync(ringFile, JSON.stringify([{ hashring: 'default', endpoints: ports.slice(0, n).map((p) => `127.0.0.1:${p}`) }]));
}

/** Rewrites the hashrings file and waits until every running receiver has loaded it. */
async function useRing(n: number): Promise<void> {
  writeRing(n);
  for (const r of receivers) {
    if (!r) continue;
    await waitFor(
      `${r.url} on a ring of ${n}`,
      async () => (await getJson(`${r.url}/api/v1/status/hashrings`)).data[0].endpoints.length === n,
      20_000,
      200,
    );
  }
}

/** A ring of four for the duration of `fn`: the fourth receiver started, then stopped again. */
async function withFourthReceiver(fn: () => Promise<void>): Promise<void> {
  receivers[3] = await startReceiver(3);
  try {
    await fn();
  } finally {
    await useRing(3);
    await stop(receivers[3]!);
    receivers[3] = undefined;
  }
}

async function startReceiver(i: number): Promise<Strata> {
  return startStrata({
    component: 'receiver',
    port: ports[i],
    dataDir: dirs[i],
    args: [
      `--receiver.hashrings-file=${ringFile}`,
      '--receiver.replication-factor=3',
      `--receiver.local-endpoint=127.0.0.1:${ports[i]}`,
      '--receiver.forward-timeout=2s',
      '--receiver.out-of-order-window=30m',
    ],
  });
}

/** Writes continuously for `ms`, returning the statuses seen. */
async function stream(ms: number): Promise<number[]> {
  const statuses: number[] = [];
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const t = (nextT += STEP_MS);
    const st = await write(t);
    statuses.push(st);
    if (st === 204) acked.push(t);
  }
  return statuses;
}

async function verify(): Promise<void> {
  const now = Math.ceil(Date.now() / 1000) + 60;
  for (let i = 0; i < SERIES; i += 5) {
    const r = await getJson(`${querier!.url}/api/v1/query?query=${encodeURIComponent(`ring_e2e{s="${i}"}[4h]`)}&time=${now}`);
    expect(r.status).toBe('success');
    expect(r.data.result.length).toBe(1); // one series: replicas de-duplicated
    const ts = r.data.result[0].values.map((v: [number, string]) => Math.round(v[0] * 1000));
    expect(new Set(ts).size).toBe(ts.length); // every sample once
    const have = new Set(ts);
    expect(acked.filter((t) => !have.has(t))).toEqual([]); // every acknowledged sample present
  }
}

beforeAll(async () => {
  ringFile = path.join(tempDir('ring'), 'hashrings.json');
  for (let i = 0; i < 4; i++) {
    ports.push(await freePort());
    dirs.push(tempDir(`recv${i}`));
  }
  writeRing(3);
  for (let i = 0; i < 3; i++) receivers[i] = await startReceiver(i);
  querier = await startStrata({
    component: 'querier',
    args: [
      `--querier.stores=${ports
        .slice(0, 4)
        .map((p) => `http://127.0.0.1:${p}`)
        .join(',')}`,
      '--query.partial-response',
    ],
  });
});

/**
 * One request with a valid series and a sample an hour in the future: the client gets 400 naming
 * the bad series (its retry could never succeed), the valid series is stored on its replicas and
 * read back once; a 2.0 request through the ring reports what it wrote.
 */
async function badDataThroughTheRing(tag: string): Promise<void> {
  const t = (nextT += STEP_MS); // in step with the stream: the head's time range moves with it
  const good = Array.from({ length: 10 }, (_, i) => ({
    labels: Labels.fromObject({ __name__: 'ring_bad', case: tag, i: String(i) }),
    timestamps: [t],
    values: [i],
  }));
  const bad = {
    labels: Labels.fromObject({ __name__: 'ring_bad', case: tag, i: 'future' }),
    timestamps: [Date.now() + 3600_000],
    values: [1],
  };
  const metadata = [{ metricFamilyName: 'ring_bad', type: 'gauge' as const, help: `ring test (${tag})`, unit: '' }];
  const r = await fetch(`${receivers[0]!.url}/api/v1/write`, {
    method: 'POST',
    body: snappyEncode(encodeWriteRequestV1([...good.slice(0, 5), bad, ...good.slice(5)], metadata)),
    headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy' },
  });
  expect(r.status).toBe(400);
  expect(await r.text()).toMatch(/too far in the future.*i="future"/s);
  // The request's metric metadata is kept by the receiver that took it, whatever its share.
  const md = await getJson(`${receivers[0]!.url}/api/v1/metadata?metric=ring_bad`);
  expect(md.data.ring_bad).toEqual([{ type: 'gauge', help: `ring test (${tag})`, unit: '' }]);
  const v2 = good.map((g) => ({ ...g, labels: Labels.fromObject({ __name__: 'ring_bad_v2', case: tag, i: g.labels.get('i')! }) }));
  const r2 = await fetch(`${receivers[1]!.url}/api/v1/write`, {
    method: 'POST',
    body: snappyEncode(encodeWriteRequestV2(v2)),
    headers: { 'Content-Type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request', 'Content-Encoding': 'snappy' },
  });
  expect(r2.status).toBe(204);
  expect(r2.headers.get('X-Prometheus-Remote-Write-Samples-Written')).toBe('10');
  for (const name of ['ring_bad', 'ring_bad_v2']) {
    const q = await getJson(
      `${querier!.url}/api/v1/query?query=${encodeURIComponent(`${name}{case="${tag}"}`)}&time=${Math.ceil(t / 1000)}`,
    );
    expect(q.data.result.map((x: { metric: Record<string, string> }) => x.metric.i).sort()).toEqual(
      good.map((g) => g.labels.get('i')).sort(),
    );
  }
}

afterAll(async () => {
  for (const r of receivers) if (r) await stop(r);
  if (querier) await stop(querier);
});

test('bad data through a ring where every receiver owns everything: 400, valid series land', async () => {
  await badDataThroughTheRing('three');
});

test('SIGKILL one of three: only 2xx; after restart every acknowledged sample is there once', async () => {
  expect(new Set(await stream(1000))).toEqual(new Set([204]));
  receivers[2]!.child.kill('SIGKILL');
  await receivers[2]!.exited;
  expect(new Set(await stream(2000))).toEqual(new Set([204]));
  receivers[2] = await startReceiver(2);
  expect(new Set(await stream(1000))).toEqual(new Set([204]));
  await verify();
});

test('SIGKILL two of three: 503 (not 2xx, not 400); after restart the retries land', async () => {
  receivers[1]!.child.kill('SIGKILL');
  receivers[2]!.child.kill('SIGKILL');
  await Promise.all([receivers[1]!.exited, receivers[2]!.exited]);
  const pending: number[] = [];
  for (let k = 0; k < 5; k++) {
    const t = (nextT += STEP_MS);
    const st = await write(t);
    expect(st).toBe(503);
    pending.push(t);
  }
  receivers[1] = await startReceiver(1);
  receivers[2] = await startReceiver(2);
  // The client retries what was not acknowledged (identical re-sends are accepted).
  for (const t of pending) {
    await waitFor(`retry of ${t}`, async () => (await write(t)) === 204, 20_000, 200);
    acked.push(t);
  }
  await verify();
});

test('SIGSTOP one (hung): writes succeed within the forward timeout', async () => {
  receivers[2]!.child.kill('SIGSTOP');
  try {
    const t0 = Date.now();
    const statuses = await stream(3000);
    expect(new Set(statuses)).toEqual(new Set([204]));
    expect((Date.now() - t0) / statuses.length).toBeLessThan(2500); // each write waits at most the 2s forward timeout
  } finally {
    receivers[2]!.child.kill('SIGCONT');
  }
  await verify();
});

test('a fourth receiver added to the hashrings file while writes flow: no write fails, nothing lost', async () => {
  await withFourthReceiver(async () => {
    const flowing = stream(6000);
    await new Promise((r) => setTimeout(r, 1500));
    writeRing(4);
    const statuses = await flowing;
    expect(statuses.filter((x) => x !== 204)).toEqual([]);
    const status = await getJson(`${receivers[0]!.url}/api/v1/status/hashrings`);
    expect(status.data[0].endpoints.length).toBe(4);
    await verify();
  });
});

test('bad data through a ring of four (per-owner shares): 400, valid series land', async () => {
  await withFourthReceiver(async () => {
    await useRing(4);
    await badDataThroughTheRing('four');
  });
});
