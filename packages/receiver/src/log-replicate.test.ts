/**
 * Log pushes over the ring through real HTTP: every node is a log push handler over its own
 * LogStore with its own Distributor, forwarding signed log shares to its peers. A node "down"
 * is a closed server (connections refused). Table cases check the quorum rules of quorum.ts
 * applied to streams, and that limits are charged once, where the client's request entered.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { Matcher } from '@strata/model';
import { snappyEncode } from '@strata/remote';
import { Limits, type TenantLimits } from '@strata/api';
import { Hashrings } from '@strata/ring';
import { encodePushRequestProto, LogStore, type StreamToPush } from '@strata/logs';
import { Distributor } from './distributor.js';
import { ForwardAuth } from './forward-auth.js';
import { createLogPushHandler } from './log-push.js';
import { createWritePath } from './write-handler.js';
import { MetadataStore } from './metadata-store.js';
import { TSDB } from '@strata/tsdb';

const DEFAULTS: TenantLimits = {
  ingestionRate: 0,
  ingestionBurstSize: 0,
  maxGlobalSeriesPerUser: 0,
  maxLabelNamesPerSeries: 30,
  maxLabelNameLength: 1024,
  maxLabelValueLength: 2048,
};
const NOW_MS = Date.now();
const NOW = BigInt(NOW_MS) * 1_000_000n;
const MIN = 60_000_000_000n;
const ALL = { startNs: 0n, endNs: 2n ** 62n };
const SECRET = 'log-replicate-test-secret-0123456789';

interface Node {
  endpoint: string;
  url: string;
  store: LogStore;
  server: http.Server;
  distributor: Distributor;
  db: TSDB;
  up: boolean;
}

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

async function cluster(n: number, rf: number, limits: Partial<TenantLimits> = {}, now?: () => number): Promise<Node[]> {
  const servers: http.Server[] = [];
  for (let i = 0; i < n; i++) {
    const s = http.createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    servers.push(s);
  }
  const endpoints = servers.map((s) => `127.0.0.1:${(s.address() as AddressInfo).port}`);
  const rings = new Hashrings([
    {
      hashring: 'default',
      tenants: [],
      tenantMatcherType: 'exact',
      algorithm: 'ketama',
      endpoints: endpoints.map((address) => ({ address })),
    },
  ]);
  const nodes: Node[] = [];
  for (let i = 0; i < n; i++) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-logrepl-'));
    dirs.push(dir);
    const store = await LogStore.open({ dir: path.join(dir, 'logs'), fsync: 'batch', cutIntervalMs: 0 });
    const registry = new Registry();
    const forwardAuth = new ForwardAuth([SECRET]);
    const distributor = new Distributor({
      rings: () => rings,
      self: endpoints[i],
      replicationFactor: rf,
      forwardTimeoutMs: 2000,
      tenantHeader: 'x-scope-orgid',
      registry,
      forwardAuth,
      coalesce: { maxDelayMs: 2, maxBytes: 1 << 20 },
    });
    const lim = new Limits({ defaults: { ...DEFAULTS, ...limits } });
    // The write path supplies the shared gates and the forwarded-request check, as in `strata receiver`.
    const db = await TSDB.open({ dir: path.join(dir, 'tsdb'), fsync: 'none', head: { outOfOrderWindowMs: 0, maxSeries: 0 } });
    const writePath = createWritePath({
      storage: db,
      limits: lim,
      metadata: new MetadataStore(),
      registry,
      distributor,
      forwardAuth,
      config: {
        maxRequestBytes: 1 << 20,
        maxInflightBytes: 64 << 20,
        multiTenancy: true,
        tenantHeader: 'x-scope-orgid',
        creationGracePeriodMs: 600_000,
        ingestionRateLimitStatus: 503,
        diskMinFreeBytes: 0,
        storagePath: dir,
      },
    });
    const handler = createLogPushHandler({
      sink: store,
      limits: lim,
      registry,
      distributor,
      gates: writePath.gates,
      internalHeaders: writePath.internalHeaders,
      now,
      config: {
        maxRequestBytes: 1 << 20,
        multiTenancy: true,
        tenantHeader: 'x-scope-orgid',
        creationGracePeriodMs: 600_000,
        outOfOrderWindowMs: 3_600_000,
      },
    });
    servers[i].on('request', (req, res) => void handler(req, res));
    nodes.push({
      endpoint: endpoints[i],
      url: `http://${endpoints[i]}/loki/api/v1/push`,
      store,
      server: servers[i],
      distributor,
      db,
      up: true,
    });
  }
  return nodes;
}

async function down(node: Node): Promise<void> {
  node.up = false;
  node.server.closeAllConnections();
  await new Promise((r) => node.server.close(r));
}

async function shutdown(nodes: Node[]): Promise<void> {
  for (const n of nodes) {
    if (n.up) await down(n);
    n.distributor.close();
    await n.store.close();
    await n.db.close();
  }
}

async function push(node: Node, streams: StreamToPush[], headers: Record<string, string> = {}) {
  const r = await fetch(node.url, {
    method: 'POST',
    body: snappyEncode(encodePushRequestProto(streams)),
    headers: { 'Content-Type': 'application/x-protobuf', 'X-Scope-OrgID': 't', ...headers },
  });
  return { status: r.status, text: await r.text(), retryAfter: r.headers.get('retry-after') };
}

const stream = (app: string, ts: bigint[], line = (k: number) => `line ${app} ${k}`): StreamToPush => ({
  labelsText: `{app="${app}"}`,
  timestampsNs: BigInt64Array.from(ts),
  lines: ts.map((_, k) => line(k)),
});

/** The lines each node holds of stream app. */
async function held(nodes: Node[], app: string): Promise<string[][]> {
  return Promise.all(
    nodes.map(async (n) => {
      const got = await n.store.logQuerier('t').selectLogs([new Matcher('=', 'app', app)], ALL);
      return got.flatMap((s) => [...s.lines]);
    }),
  );
}

describe('log pushes over a ring of 3 at RF 3', () => {
  let nodes: Node[];
  beforeEach(async () => (nodes = await cluster(3, 3)));
  afterEach(() => shutdown(nodes));

  test('acknowledged once stored by every live owner; each holds each line once', async () => {
    const r = await push(nodes[1], [stream('a', [NOW, NOW + 1n]), stream('b', [NOW])]);
    expect(r.status).toBe(204);
    expect(await held(nodes, 'a')).toEqual([0, 1, 2].map(() => ['line a 0', 'line a 1']));
    expect(await held(nodes, 'b')).toEqual([0, 1, 2].map(() => ['line b 0']));
  });

  test.each<[string, number, (n: Node[]) => StreamToPush[], number, RegExp | undefined]>([
    ['valid lines with one owner down: 204 (quorum 2 of 3)', 1, () => [stream('c', [NOW])], 204, undefined],
    ['valid lines with two owners down: 503 with Retry-After', 2, () => [stream('c', [NOW])], 503, /fewer than 2 of 3 replicas/],
    // A retry can never make it valid: 400 even while a replica is unreachable, so clients drop it.
    ['an entry an hour ahead with one owner down: 400 naming it', 1, () => [stream('c', [NOW + 60n * MIN])], 400, /app="c".*future/],
  ])('%s', async (_, downs, streams, status, text) => {
    for (let i = 0; i < downs; i++) await down(nodes[2 - i]);
    const r = await push(nodes[0], streams(nodes));
    expect(r.status).toBe(status);
    if (text) expect(r.text).toMatch(text);
    if (status === 503) expect(Number(r.retryAfter)).toBeGreaterThan(0);
  });

  test('an entry every owner refuses (out of order against their heads) is a 400; the other stream lands', async () => {
    expect((await push(nodes[0], [stream('d', [NOW])])).status).toBe(204);
    const r = await push(nodes[1], [stream('d', [NOW - 90n * MIN]), stream('e', [NOW])]);
    expect(r.status).toBe(400);
    expect(r.text).toMatch(/app="d".*out|older than the stream/);
    expect(await held(nodes, 'e')).toEqual([0, 1, 2].map(() => ['line e 0']));
    expect(await held(nodes, 'd')).toEqual([0, 1, 2].map(() => ['line d 0']));
  });

  test('a client cannot pass as a peer: internal headers without a signature are refused with 403', async () => {
    const r = await fetch(nodes[0].url, {
      method: 'POST',
      body: Buffer.from('x'),
      headers: { 'X-Scope-OrgID': 't', 'x-strata-forwarded': 'me', 'Content-Type': 'application/x-strata-log-share' },
    });
    expect(r.status).toBe(403);
    expect(await r.text()).toMatch(/err-strata-unauthenticated-internal-request/);
  });
});

test('a ring of 4 at RF 2: each stream on exactly its 2 owners', async () => {
  const nodes = await cluster(4, 2);
  try {
    const streams = Array.from({ length: 12 }, (_, i) => stream(`s${i}`, [NOW]));
    expect((await push(nodes[0], streams)).status).toBe(204);
    for (let i = 0; i < 12; i++) {
      const h = await held(nodes, `s${i}`);
      expect(h.filter((l) => l.length > 0)).toEqual([[`line s${i} 0`], [`line s${i} 0`]]);
    }
  } finally {
    await shutdown(nodes);
  }
});

describe('limits are charged once, where the client request entered', () => {
  test('ingestion_rate_mb: the router charges the lines once, forwarded shares are not charged again', async () => {
    // 0.1 MB/s with a 1 MiB burst per router. Each node takes 0.4 MB from a client: charged at every replica
    // too, each would be charged 1.2 MB and the third push refused.
    const nodes = await cluster(3, 3, { ingestionRateMb: 0.1, ingestionBurstSizeMb: 1 });
    try {
      const big = (k: number) => stream(`r${k}`, [NOW], () => 'x'.repeat(200_000));
      for (let k = 0; k < 3; k++) expect((await push(nodes[k], [big(2 * k), big(2 * k + 1)])).status).toBe(204);
      expect((await push(nodes[0], [big(6), big(7), big(8)])).status).toBe(204);
      // Now node 0's own bucket is spent (1.0 of 1.05 MB), whatever its peers took.
      const over = await push(nodes[0], [big(9), big(10)]);
      expect(over.status).toBe(503);
      expect(over.text).toMatch(/ingestion_rate_mb/);
    } finally {
      await shutdown(nodes);
    }
  });

  test("the tenant's rate is shared by the receivers taking its pushes (learnt from their forwarded shares)", async () => {
    let clock = NOW_MS;
    const nodes = await cluster(3, 3, { ingestionRateMb: 1, ingestionBurstSizeMb: 1 }, () => clock);
    try {
      const big = (k: number, bytes: number) => stream(`q${k}`, [NOW], () => 'z'.repeat(bytes));
      // Node 1 takes a client push too: node 0 learns it from the share node 1 forwards.
      expect((await push(nodes[1], [big(0, 1000)])).status).toBe(204);
      // Node 0 spends its burst, then a second passes: it refills 1 MiB/s / 2 entry points, not 1 MiB/s.
      for (let k = 1; k <= 5; k++) expect((await push(nodes[0], [big(k, 200_000)])).status).toBe(204);
      clock += 1000;
      const r = await push(nodes[0], [big(6, 200_000), big(7, 200_000), big(8, 200_000)]);
      expect(r.status).toBe(503);
      expect(r.text).toMatch(/0\.50 MB\/s on this receiver/);
    } finally {
      await shutdown(nodes);
    }
  });

  test('per_stream_rate_limit: the stream over its rate is a 503 with Retry-After, the other stream lands', async () => {
    const nodes = await cluster(3, 3, { perStreamRateLimit: 100_000, perStreamRateLimitBurst: 200_000 });
    try {
      const line = () => 'y'.repeat(150_000);
      expect((await push(nodes[0], [stream('hot', [NOW], line)])).status).toBe(204);
      const r = await push(nodes[0], [stream('hot', [NOW + 1n], line), stream('cold', [NOW], line)]);
      expect(r.status).toBe(503);
      expect(r.text).toMatch(/app="hot".*per_stream_rate_limit.*err-strata-per-stream-rate-limited/);
      expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
      expect((await held(nodes, 'cold')).map((l) => l.length)).toEqual([1, 1, 1]);
      expect((await held(nodes, 'hot')).map((l) => l.length)).toEqual([1, 1, 1]);
    } finally {
      await shutdown(nodes);
    }
  });
});
