/**
 * Replicas' correctness through real processes (receivers at RF 3, multi-tenant):
 *  - the quorum decision with a receiver down (3 receivers): data no receiver can ever accept
 *    answers 400 even while one replica is unreachable (a 503 would make Prometheus retry it
 *    forever and block its queue), valid data 204;
 *  - the ingestion rate limit is charged once per client sample, not once per replica.
 * Each case uses its own tenant or metric and restores the ring it found, so cases run in any order.
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
let limitsFile: string;
/** Per-tenant ingestion rate (samples/s) of the rate-limit cases. */
const RATE = 2000;
const BURST = 300;

function startReceiver(i: number): Promise<Strata> {
  return startStrata({
    component: 'receiver',
    port: ports[i],
    dataDir: dirs[i],
    args: [`--receive.hashrings-file=${ringFile}`, '--receive.replication-factor=3', `--receive.local-endpoint=127.0.0.1:${ports[i]}`, '--receive.forward-timeout=1s', '--auth.multitenancy-enabled', `--limits.file=${limitsFile}`],
  });
}

beforeAll(async () => {
  const cfgDir = tempDir('ringq');
  ringFile = path.join(cfgDir, 'hashrings.json');
  limitsFile = path.join(cfgDir, 'limits.yaml');
  const limited = { ingestion_rate: RATE, ingestion_burst_size: BURST };
  fs.writeFileSync(limitsFile, JSON.stringify({ overrides: Object.fromEntries(['under-one', 'over-one', 'under-spread', 'over-spread'].map((t) => [t, limited])) }));
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

async function write(series: SeriesToWrite[], tenant = 'quorum', to = receivers[0]): Promise<{ status: number; text: string }> {
  const r = await fetch(`${to.url}/api/v1/write`, { method: 'POST', body: snappyEncode(encodeWriteRequestV1(series)), headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Scope-OrgID': tenant }, signal: AbortSignal.timeout(10_000) });
  return { status: r.status, text: await r.text() };
}

const sample = (name: string, i: string, t: number): SeriesToWrite => ({ labels: Labels.fromObject({ __name__: name, i }), timestamps: [t], values: [1] });

/** Which series of `name` receiver 0 (a live replica of everything) has stored. */
async function stored(name: string): Promise<string[]> {
  const q = await getJson(`${receivers[0].url}/api/v1/query?query=${encodeURIComponent(`${name}[1h]`)}&time=${Date.now() / 1000}`, { 'X-Scope-OrgID': 'quorum' });
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

describe.each([
  ['through one receiver', 'one'],
  ['spread round-robin over the three', 'spread'],
] as const)('ingestion rate limit, clients %s: charged once per client sample, not once per replica', (_name, entry) => {
  const SIZE = 100; // samples per request

  /** Sends `factor` x RATE samples/s for `seconds`; returns samples sent and acknowledged. */
  async function offer(tenant: string, factor: number, seconds: number): Promise<{ sent: number; acked: number; elapsed: number }> {
    const start = Date.now();
    const interval = (SIZE / (RATE * factor)) * 1000;
    let sent = 0;
    let acked = 0;
    // Paced, never faster: a request that fell behind (a slow answer) moves the schedule instead
    // of being made up for by a burst, so no second carries more than `factor` x RATE.
    let next = start;
    for (let k = 0; Date.now() - start < seconds * 1000; k++) {
      if (next > Date.now()) await new Promise((r) => setTimeout(r, next - Date.now()));
      next = Math.max(next, Date.now()) + interval;
      const t = start + k; // one timestamp per request, every series
      const r = await write(Array.from({ length: SIZE }, (_, i) => sample('rate_e2e', String(i), t)), tenant, receivers[entry === 'one' ? 0 : k % 3]);
      sent += SIZE;
      if (r.status === 204) acked += SIZE;
      else expect([r.status, r.text]).toEqual([503, expect.stringContaining('err-strata-ingestion-rate-limited')]);
    }
    return { sent, acked, elapsed: (Date.now() - start) / 1000 };
  }

  /** Every acknowledged sample is on a quorum of replicas: forwarded shares were not limited again. */
  async function expectReplicated(tenant: string, acked: number): Promise<void> {
    let copies = 0;
    for (const r of receivers) {
      const q = await getJson(`${r.url}/api/v1/query?query=${encodeURIComponent('sum(count_over_time(rate_e2e[1h]))')}&time=${Date.now() / 1000 + 1}`, { 'X-Scope-OrgID': tenant });
      const n = Number(q.data.result[0]?.value[1] ?? 0);
      expect(n).toBeLessThanOrEqual(acked);
      copies += n;
    }
    expect(copies).toBeGreaterThanOrEqual(2 * acked);
  }

  test('0.9 x the limit is never limited', async () => {
    const r = await offer(`under-${entry}`, 0.9, 3);
    expect(r.acked).toBe(r.sent);
    await expectReplicated(`under-${entry}`, r.acked);
  });

  test('1.5 x the limit is limited to about the limit in total', async () => {
    const r = await offer(`over-${entry}`, 1.5, 4);
    const allowed = RATE * r.elapsed + 3 * BURST; // each entry point may burst
    expect(r.sent).toBeGreaterThan(allowed); // the client did offer more than the limit
    expect(r.acked).toBeLessThanOrEqual(allowed + SIZE);
    expect(r.acked).toBeGreaterThanOrEqual(0.85 * RATE * r.elapsed);
    await expectReplicated(`over-${entry}`, r.acked);
  });
});
