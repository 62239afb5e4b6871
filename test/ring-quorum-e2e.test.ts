/**
 * The quorum decision with a receiver down, through real processes (3 receivers, RF 3): data no
 * receiver can ever accept answers 400 even while one replica is unreachable (a 503 would make
 * Prometheus retry it forever and block its queue), valid data 204. Each case restores the ring
 * it found, so cases run in any order.
 */
import path from 'node:path';
import fs from 'node:fs';
import { Labels } from '@strata/model';
import { encodeWriteRequestV1, snappyEncode, type SeriesToWrite } from '@strata/remote';
import { freePort, getJson, startStrata, stop, tempDir, type Strata } from './harness.js';

jest.setTimeout(120_000);

const ports: number[] = [];
const dirs: string[] = [];
const receivers: Strata[] = [];
let ringFile: string;

function startReceiver(i: number): Promise<Strata> {
  return startStrata({
    component: 'receiver',
    port: ports[i],
    dataDir: dirs[i],
    args: [`--receive.hashrings-file=${ringFile}`, '--receive.replication-factor=3', `--receive.local-endpoint=127.0.0.1:${ports[i]}`, '--receive.forward-timeout=1s'],
  });
}

beforeAll(async () => {
  ringFile = path.join(tempDir('ringq'), 'hashrings.json');
  for (let i = 0; i < 3; i++) {
    ports.push(await freePort());
    dirs.push(tempDir(`ringq${i}`));
  }
  fs.writeFileSync(ringFile, JSON.stringify([{ hashring: 'default', endpoints: ports.map((p) => `127.0.0.1:${p}`) }]));
  for (let i = 0; i < 3; i++) receivers.push(await startReceiver(i));
});

afterAll(async () => {
  for (const r of receivers) await stop(r);
});

async function write(series: SeriesToWrite[]): Promise<{ status: number; text: string }> {
  const r = await fetch(`${receivers[0].url}/api/v1/write`, { method: 'POST', body: snappyEncode(encodeWriteRequestV1(series)), headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy' }, signal: AbortSignal.timeout(10_000) });
  return { status: r.status, text: await r.text() };
}

const sample = (name: string, i: string, t: number): SeriesToWrite => ({ labels: Labels.fromObject({ __name__: name, i }), timestamps: [t], values: [1] });

/** Which series of `name` receiver 0 (a live replica of everything) has stored. */
async function stored(name: string): Promise<string[]> {
  const q = await getJson(`${receivers[0].url}/api/v1/query?query=${encodeURIComponent(`${name}[1h]`)}&time=${Date.now() / 1000}`);
  return q.data.result.map((x: { metric: Record<string, string> }) => x.metric.i).sort();
}

async function withReceiverDown(how: 'SIGKILL' | 'SIGSTOP', fn: () => Promise<void>): Promise<void> {
  const victim = receivers[2];
  victim.child.kill(how);
  if (how === 'SIGKILL') await victim.exited;
  try {
    await fn();
  } finally {
    if (how === 'SIGSTOP') victim.child.kill('SIGCONT');
    else receivers[2] = await startReceiver(2);
  }
}

describe.each(['SIGKILL', 'SIGSTOP'] as const)('one of three receivers down (%s)', (how) => {
  const name = `quorum_${how.toLowerCase()}`;

  test('a sample an hour in the future: 400 naming it; a valid sample: 204', async () => {
    await withReceiverDown(how, async () => {
      const future = await write([sample(name, 'future', Date.now() + 3600_000)]);
      expect(future.status).toBe(400);
      expect(future.text).toMatch(/too far in the future.*i="future"/s);
      expect((await write([sample(name, 'valid', Date.now())])).status).toBe(204);
    });
  });

  test('one request mixing both: 400, the valid series land', async () => {
    await withReceiverDown(how, async () => {
      const now = Date.now();
      const r = await write([sample(`${name}_mixed`, 'a', now), sample(`${name}_mixed`, 'future', now + 3600_000), sample(`${name}_mixed`, 'b', now)]);
      expect(r.status).toBe(400);
      expect(r.text).toMatch(/i="future"/);
      expect(await stored(`${name}_mixed`)).toEqual(['a', 'b']);
    });
  });
});
