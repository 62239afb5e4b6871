/**
 * Receivers as a replicated ring (RF 3), faults injected into real processes while a client
 * writes continuously through one receiver:
 *  - SIGKILL one receiver: the client sees only 2xx; after restart every acknowledged sample is
 *    queryable exactly once through the querier (replicas de-duplicated);
 *  - SIGKILL two: writes answer 503 (never 2xx, never 400); after restart the retries land;
 *  - SIGSTOP one (a hung node): writes still succeed within the forward timeout;
 *  - the hashrings file gains a fourth receiver while writes flow: no write fails, nothing lost.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Labels } from '@strata/model';
import { encodeWriteRequestV1, snappyEncode } from '@strata/remote';
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
    encodeWriteRequestV1(Array.from({ length: SERIES }, (_, i) => ({ labels: Labels.fromObject({ __name__: 'ring_e2e', s: String(i) }), timestamps: [t], values: [t % 100_000] }))),
  );
}

async function write(t: number, to = receivers[0]!): Promise<number> {
  try {
    const r = await fetch(`${to.url}/api/v1/write`, { method: 'POST', body: body(t), headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy' }, signal: AbortSignal.timeout(10_000) });
    return r.status;
  } catch {
    return 0;
  }
}

function writeRing(n: number): void {
  fs.writeFileSync(ringFile, JSON.stringify([{ hashring: 'default', endpoints: ports.slice(0, n).map((p) => `127.0.0.1:${p}`) }]));
}

async function startReceiver(i: number): Promise<Strata> {
  return startStrata({
    component: 'receiver',
    port: ports[i],
    dataDir: dirs[i],
    args: [`--receive.hashrings-file=${ringFile}`, '--receive.replication-factor=3', `--receive.local-endpoint=127.0.0.1:${ports[i]}`, '--receive.forward-timeout=2s', '--receiver.out-of-order-window=30m'],
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
  querier = await startStrata({ component: 'querier', args: [`--querier.stores=${ports.slice(0, 4).map((p) => `http://127.0.0.1:${p}`).join(',')}`, '--query.partial-response'] });
});

afterAll(async () => {
  for (const r of receivers) if (r) await stop(r);
  if (querier) await stop(querier);
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
  receivers[3] = await startReceiver(3);
  const flowing = stream(6000);
  await new Promise((r) => setTimeout(r, 1500));
  writeRing(4);
  const statuses = await flowing;
  expect(statuses.filter((x) => x !== 204)).toEqual([]);
  const status = await getJson(`${receivers[0]!.url}/api/v1/status/hashrings`);
  expect(status.data[0].endpoints.length).toBe(4);
  await verify();
});
