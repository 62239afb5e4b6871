/**
 * Replicas' correctness through real processes (receivers at RF 3, multi-tenant):
 *  - the quorum decision with a receiver down (3 receivers): data no receiver can ever accept
 *    answers 400 even while one replica is unreachable (a 503 would make Prometheus retry it
 *    forever and block its queue), valid data 204;
 *  - the ingestion rate limit is charged once per client sample, not once per replica;
 *  - metric metadata follows its metric to RF replicas in a ring larger than RF (4 receivers,
 *    tenant "md"): the querier's /api/v1/metadata answers the same whichever receiver is down.
 * Each case uses its own tenant or metric and restores the ring it found, so cases run in any order.
 */
import path from 'node:path';
import fs from 'node:fs';
import { Labels } from '@strata/model';
import {
  encodeWriteRequestV1,
  encodeWriteRequestV2,
  snappyEncode,
  type MetadataToWrite,
  type SeriesToWrite,
  type SeriesToWriteV2,
} from '@strata/remote';
import { freePort, getJson, startStrata, stop, tempDir, type Strata } from './harness.js';

jest.setTimeout(120_000);

const ports: number[] = [];
const dirs: string[] = [];
const receivers: Strata[] = [];
let querier: Strata;
let ringFile: string;
let limitsFile: string;
/**
 * Per-tenant ingestion rate (samples/s) of the rate-limit cases: low enough that the client
 * offers 1.5 x RATE at any load of the machine (7.5 requests/s of 50 samples). The burst is a
 * second of it: a loaded receiver reads requests that were sent on schedule in bunches.
 */
const RATE = 250;
const BURST = 250;

function startReceiver(i: number): Promise<Strata> {
  return startStrata({
    component: 'receiver',
    port: ports[i],
    dataDir: dirs[i],
    args: [
      `--receiver.hashrings-file=${ringFile}`,
      '--receiver.replication-factor=3',
      `--receiver.local-endpoint=127.0.0.1:${ports[i]}`,
      // Long enough for a loaded machine's answers, short enough for the SIGSTOP cases.
      '--receiver.forward-timeout=3s',
      '--auth.multitenancy-enabled',
      `--limits.file=${limitsFile}`,
    ],
  });
}

beforeAll(async () => {
  const cfgDir = tempDir('ringq');
  ringFile = path.join(cfgDir, 'hashrings.json');
  limitsFile = path.join(cfgDir, 'limits.yaml');
  const limited = { ingestion_rate: RATE, ingestion_burst_size: BURST };
  fs.writeFileSync(
    limitsFile,
    JSON.stringify({ overrides: Object.fromEntries(['under-one', 'over-one', 'under-spread', 'over-spread'].map((t) => [t, limited])) }),
  );
  for (let i = 0; i < 4; i++) {
    ports.push(await freePort());
    dirs.push(tempDir(`ringq${i}`));
  }
  // Tenant "md" has a ring of four (larger than RF); every other tenant the ring of the first three.
  const endpoints = ports.map((p) => `127.0.0.1:${p}`);
  fs.writeFileSync(
    ringFile,
    JSON.stringify([
      { hashring: 'four', tenants: ['md'], endpoints },
      { hashring: 'default', endpoints: endpoints.slice(0, 3) },
    ]),
  );
  for (let i = 0; i < 4; i++) receivers.push(await startReceiver(i));
  querier = await startStrata({
    component: 'querier',
    args: [
      `--querier.stores=${receivers.map((r) => r.url).join(',')}`,
      '--query.partial-response',
      '--auth.multitenancy-enabled',
      '--query.timeout=2s',
    ],
  });
});

afterAll(async () => {
  for (const r of receivers) await stop(r);
  if (querier) await stop(querier);
});

function write(series: SeriesToWrite[], tenant = 'quorum', to = receivers[0]): Promise<{ status: number; text: string }> {
  return post(snappyEncode(encodeWriteRequestV1(series)), tenant, to);
}

/** Posts an encoded remote-write 1.0 body. */
async function post(body: Buffer, tenant: string, to: Strata): Promise<{ status: number; text: string }> {
  const r = await fetch(`${to.url}/api/v1/write`, {
    method: 'POST',
    body,
    headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Scope-OrgID': tenant },
    signal: AbortSignal.timeout(10_000),
  });
  return { status: r.status, text: await r.text() };
}

const sample = (name: string, i: string, t: number): SeriesToWrite => ({
  labels: Labels.fromObject({ __name__: name, i }),
  timestamps: [t],
  values: [1],
});

/** Which series of `name` receiver 0 (a live replica of everything) has stored. */
async function stored(name: string): Promise<string[]> {
  const q = await getJson(`${receivers[0].url}/api/v1/query?query=${encodeURIComponent(`${name}[1h]`)}&time=${Date.now() / 1000}`, {
    'X-Scope-OrgID': 'quorum',
  });
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
      const r = await write([
        sample(`${name}_mixed`, 'a', now),
        sample(`${name}_mixed`, 'future', now + 3600_000),
        sample(`${name}_mixed`, 'b', now),
      ]);
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
  const SIZE = 50; // samples per request
  /** Client connections: a slow answer (a loaded machine) holds up only its own connection. */
  const CONNECTIONS = 8;

  /**
   * Offers `factor` x RATE samples/s for `seconds`; returns samples sent and acknowledged, the
   * time until the last answer (`elapsed`) and the time over which the requests were sent
   * (`offered`: a connection whose answers were slow sends late). The bodies are encoded before the clock starts, and request k is
   * due at k x interval on connection k mod CONNECTIONS, so the offered rate holds at any load of
   * the machine (a client with one request in flight fell below 1.5 x RATE whenever answers took
   * longer than its interval). Each connection has series of its own (label `c`) and sends in
   * order, so no sample is out of order however the connections overtake each other.
   */
  async function offer(
    tenant: string,
    factor: number,
    seconds: number,
  ): Promise<{ sent: number; acked: number; elapsed: number; offered: number }> {
    const interval = (SIZE / (RATE * factor)) * 1000;
    const count = Math.ceil((seconds * 1000) / interval);
    const t0 = Date.now();
    const bodies = Array.from({ length: count }, (_, k) =>
      snappyEncode(
        encodeWriteRequestV1(
          Array.from({ length: SIZE }, (_, i) => ({
            labels: Labels.fromObject({ __name__: 'rate_e2e', i: String(i), c: String(k % CONNECTIONS) }),
            timestamps: [t0 + k],
            values: [1],
          })),
        ),
      ),
    );
    await warmUp(tenant);
    let sent = 0;
    let acked = 0;
    const failures: [number, string][] = [];
    const start = Date.now();
    let lastSent = start;
    const connection = async (c: number) => {
      for (let k = c; k < count; k += CONNECTIONS) {
        // On schedule, never ahead of it: no second carries more than `factor` x RATE.
        const due = start + k * interval;
        if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
        sent += SIZE;
        lastSent = Math.max(lastSent, Date.now());
        const r = await post(bodies[k], tenant, receivers[entry === 'one' ? 0 : k % 3]);
        if (r.status === 204) acked += SIZE;
        else if (r.status !== 503 || !r.text.includes('err-strata-ingestion-rate-limited')) failures.push([r.status, r.text]);
      }
    };
    await Promise.all(Array.from({ length: CONNECTIONS }, (_, c) => connection(c)));
    expect(failures).toEqual([]);
    return { sent, acked, elapsed: (Date.now() - start) / 1000, offered: (lastSent - start + interval) / 1000 };
  }

  /**
   * Opens the tenant on every replica before the clock starts (its first write creates the
   * tenant's head and WAL, seconds on a loaded machine), with a metric of its own, then waits
   * for the burst to refill.
   */
  async function warmUp(tenant: string): Promise<void> {
    for (const to of entry === 'one' ? [receivers[0]] : receivers.slice(0, 3)) {
      for (let tries = 0; ; tries++) {
        const r = await write([sample('rate_e2e_warm_up', '0', Date.now())], tenant, to);
        if (r.status === 204) break;
        if (tries === 20) throw new Error(`warm-up: ${r.status} ${r.text}`);
        await new Promise((res) => setTimeout(res, 250));
      }
    }
    await new Promise((res) => setTimeout(res, (BURST / RATE) * 1000 + 100));
  }

  /** Every acknowledged sample is on a quorum of replicas: forwarded shares were not limited again. */
  async function expectReplicated(tenant: string, acked: number): Promise<void> {
    let copies = 0;
    for (const r of receivers) {
      const q = await getJson(
        `${r.url}/api/v1/query?query=${encodeURIComponent('sum(count_over_time(rate_e2e[1h]))')}&time=${Date.now() / 1000 + 1}`,
        { 'X-Scope-OrgID': tenant },
      );
      const n = Number(q.data.result[0]?.value[1] ?? 0);
      expect(n).toBeLessThanOrEqual(acked);
      copies += n;
    }
    expect(copies).toBeGreaterThanOrEqual(2 * acked);
  }

  test('0.9 x the limit is never limited', async () => {
    const r = await offer(`under-${entry}`, 0.9, 4);
    expect(r.acked).toBe(r.sent);
    await expectReplicated(`under-${entry}`, r.acked);
  });

  test('1.5 x the limit is limited to about the limit in total', async () => {
    // Long enough that the three entry points' bursts are a small part of what is offered.
    const r = await offer(`over-${entry}`, 1.5, 10);
    // The client did offer 1.5 x the limit while it sent (slow answers stretch that time).
    expect(r.sent / r.offered).toBeGreaterThan(1.4 * RATE);
    // Admitted: at most the limit over the whole time, and each entry point's burst...
    expect(r.acked).toBeLessThanOrEqual(RATE * r.elapsed + 3 * BURST + SIZE);
    // ...and at least about the limit while 1.5 x was offered.
    expect(r.acked).toBeGreaterThanOrEqual(0.85 * RATE * r.offered);
    expect(r.acked).toBeLessThan(r.sent);
    await expectReplicated(`over-${entry}`, r.acked);
  });
});

describe('metadata through a ring of four at RF 3, each receiver down in turn', () => {
  const meta = (prefix: string) => ({
    v1: Array.from({ length: 8 }, (_, i): MetadataToWrite => ({
      metricFamilyName: `${prefix}_v1_${i}`,
      type: i % 2 ? 'counter' : 'gauge',
      help: `v1 metric ${i}`,
      unit: '',
    })),
    // 2.0: metadata-only series, and series whose samples carry their metadata.
    v2: Array.from({ length: 8 }, (_, i): SeriesToWriteV2 => ({
      ...sample(`${prefix}_v2_${i}`, '0', Date.now()),
      ...(i % 2 ? { timestamps: [], values: [] } : {}),
      metadata: { type: 'gauge', help: `v2 metric ${i}`, unit: 'bytes' },
    })),
  });

  async function send(prefix: string, via: Strata): Promise<void> {
    const { v1, v2 } = meta(prefix);
    const headers = { 'Content-Encoding': 'snappy', 'X-Scope-OrgID': 'md' };
    const r1 = await fetch(`${via.url}/api/v1/write`, {
      method: 'POST',
      body: snappyEncode(encodeWriteRequestV1([], v1)),
      headers: { ...headers, 'Content-Type': 'application/x-protobuf' },
    });
    expect(r1.status).toBe(204);
    const r2 = await fetch(`${via.url}/api/v1/write`, {
      method: 'POST',
      body: snappyEncode(encodeWriteRequestV2(v2)),
      headers: { ...headers, 'Content-Type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request' },
    });
    expect(r2.status).toBe(204);
  }

  const expected = (prefix: string) => {
    const { v1, v2 } = meta(prefix);
    return Object.fromEntries([
      ...v1.map((m) => [m.metricFamilyName, [{ type: m.type, help: m.help, unit: m.unit }]]),
      ...v2.map((s) => [s.labels.get('__name__')!, [s.metadata]]),
    ]);
  };

  /** The querier's answer, restricted to one case's metrics. */
  async function answer(prefix: string): Promise<Record<string, unknown>> {
    const r = await getJson(`${querier.url}/api/v1/metadata`, { 'X-Scope-OrgID': 'md' });
    expect(r.status).toBe('success');
    return Object.fromEntries(Object.entries(r.data as Record<string, unknown>).filter(([k]) => k.startsWith(`${prefix}_`)));
  }

  test('written with every receiver up: the same answer with each one stopped (SIGSTOP) in turn', async () => {
    await send('md_up', receivers[0]);
    const want = expected('md_up');
    expect(await answer('md_up')).toEqual(want);
    for (let i = 0; i < 4; i++) {
      receivers[i].child.kill('SIGSTOP');
      try {
        expect([i, await answer('md_up')]).toEqual([i, want]);
      } finally {
        receivers[i].child.kill('SIGCONT');
      }
    }
  });

  test.each([0, 1, 2, 3])('written while receiver %i is down (SIGKILL): answered through the querier', async (i) => {
    receivers[i].child.kill('SIGKILL');
    await receivers[i].exited;
    try {
      await send(`md_down${i}`, receivers[(i + 1) % 4]);
      expect(await answer(`md_down${i}`)).toEqual(expected(`md_down${i}`));
    } finally {
      receivers[i] = await startReceiver(i);
    }
  });
});
