/**
 * Distributor.replicate without HTTP: every endpoint is a real Writer over its own TSDB, reached
 * through an in-process forwarder that decodes the share exactly as a peer would; a "down"
 * endpoint answers as a refused connection does.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { Labels, Matcher, parseRelabelConfigs } from '@strata/model';
import {
  decodeShare,
  decodeWriteRequestV1,
  decodeWriteRequestV2,
  encodeShare,
  encodeWriteRequestV1,
  encodeWriteRequestV2,
  type MetadataToWrite,
  type SeriesToWrite,
  type SeriesToWriteV2,
} from '@strata/remote';
import { Hashrings } from '@strata/ring';
import { TSDB } from '@strata/tsdb';
import { Distributor, endpointResultOf, type Forwarder } from './distributor.js';
import { Limits } from '@strata/api';
import { MetadataStore } from './metadata-store.js';
import { Writer } from './writer.js';
import { IngestRelabeller } from './ingest-relabel.js';

const NOW = Date.now();
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

interface Node {
  db: TSDB;
  writer: Writer;
  metadata: MetadataStore;
}

async function cluster(endpoints: string[], rf: number, maxSeries = 0) {
  let d: Distributor;
  const nodes = new Map<string, Node>();
  for (const ep of endpoints) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-repl-'));
    dirs.push(dir);
    const db = await TSDB.open({ dir, fsync: 'batch', head: { outOfOrderWindowMs: 0, samplesPerChunk: 120, maxSeries: 0 } });
    const limits = new Limits({
      defaults: {
        ingestionRate: 0,
        ingestionBurstSize: 0,
        maxGlobalSeriesPerUser: maxSeries,
        maxLabelNamesPerSeries: 30,
        maxLabelNameLength: 1024,
        maxLabelValueLength: 2048,
      },
    });
    const metadata = new MetadataStore();
    nodes.set(ep, {
      db,
      metadata,
      writer: new Writer({
        storage: db,
        limits,
        metadata,
        registry: new Registry(),
        creationGracePeriodMs: 60_000,
        seriesLimitShare: (t) => d.seriesShare(t),
      }),
    });
  }
  const down = new Set<string>();
  const rings = new Hashrings([
    {
      hashring: 'default',
      tenants: [],
      tenantMatcherType: 'exact',
      algorithm: 'ketama',
      endpoints: endpoints.map((address) => ({ address })),
    },
  ]);
  const forwarder: Forwarder = async (ep, tenant, batch, indices, v2, metadata = []) => {
    if (down.has(ep)) return { outcome: 'unavailable', status: 0, message: `${ep}: connect ECONNREFUSED` };
    const share = decodeShare(encodeShare(batch, indices, metadata, v2));
    return endpointResultOf(await nodes.get(ep)!.writer.write(tenant, share.batch, share.v2), indices, batch.series.length);
  };
  d = new Distributor({
    rings: () => rings,
    self: endpoints[0],
    replicationFactor: rf,
    forwardTimeoutMs: 1000,
    tenantHeader: 'X-Scope-OrgID',
    registry: new Registry(),
    forwarder,
  });
  const replicate = (series: SeriesToWrite[], metadata: MetadataToWrite[] = []) => {
    const raw = encodeWriteRequestV1(series, metadata);
    return d.replicate(
      {
        tenant: 't',
        batch: decodeWriteRequestV1(raw),
        v2: false,
      },
      nodes.get(endpoints[0])!.writer,
    );
  };
  const replicateV2 = (series: SeriesToWriteV2[]) => {
    const raw = encodeWriteRequestV2(series);
    return d.replicate(
      {
        tenant: 't',
        batch: decodeWriteRequestV2(raw),
        v2: true,
      },
      nodes.get(endpoints[0])!.writer,
    );
  };
  /** Endpoints holding metadata for `metric`. */
  const metadataHolders = (metric: string) =>
    [...nodes].filter(([, n]) => n.metadata.metadata('t', metric, -1, -1)[metric]).map(([ep]) => ep);
  /** Values of label i of metric `name` held by at least `quorum` endpoints. */
  const onQuorum = async (name: string, quorum: number) => {
    const n = new Map<string, number>();
    for (const node of nodes.values()) {
      for (const s of await (
        await node.db.tenant('t')
      )
        .querier()
        .select([new Matcher('=', '__name__', name)], { start: -Infinity, end: Infinity })) {
        const i = s.labels.get('i')!;
        n.set(i, (n.get(i) ?? 0) + 1);
      }
    }
    return [...n.values()].filter((c) => c >= quorum).length;
  };
  /** How many endpoints hold series `i` of metric `name`. */
  const copies = async (name: string, i: string) => {
    let n = 0;
    for (const node of nodes.values()) {
      const s = await (
        await node.db.tenant('t')
      )
        .querier()
        .select([new Matcher('=', '__name__', name), new Matcher('=', 'i', i)], { start: -Infinity, end: Infinity });
      if (s.length > 0) n++;
    }
    return n;
  };
  const close = async () => {
    d.close();
    for (const n of nodes.values()) await n.db.close();
  };
  const metricOwners = (metric: string) => d.metricOwners(d.ringFor('t'), 't', metric);
  /** The endpoints holding any series of metric `name`. */
  const holders = async (name: string) => {
    const out: string[] = [];
    for (const [ep, node] of nodes) {
      const s = await (
        await node.db.tenant('t')
      )
        .querier()
        .select([new Matcher('=', '__name__', name)], { start: -Infinity, end: Infinity });
      if (s.length > 0) out.push(ep);
    }
    return out.sort();
  };
  const ownersOf = (l: Labels) => [...d.ringFor('t').getN('t', l, rf)].sort();
  /** The endpoints holding series `i` of metric `name`, with how many samples each. */
  const samplesAt = async (name: string, i: string) => {
    const out: Record<string, number> = {};
    for (const [ep, node] of nodes) {
      const m = [new Matcher('=', '__name__', name), new Matcher('=', 'i', i)];
      for (const x of await (await node.db.tenant('t')).querier().select(m, { start: -Infinity, end: Infinity }))
        out[ep] = (out[ep] ?? 0) + x.timestamps.length;
    }
    return out;
  };
  /** Per endpoint holding any, the trace_ids of the exemplars of series `i` of metric `name`. */
  const exemplarsAt = (name: string, i: string) => {
    const out: Record<string, string[]> = {};
    for (const [ep, node] of nodes) {
      const held = node.db
        .openTenant('t')
        ?.exemplars.select(-Infinity, Infinity, [[new Matcher('=', '__name__', name), new Matcher('=', 'i', i)]]);
      for (const x of held ?? []) out[ep] = x.exemplars.map((e) => e.labels[1]);
    }
    return out;
  };
  /** A client write relabelled as the write handler does, then replicated. */
  const replicateRelabelled = (series: SeriesToWrite[], rules: unknown[]) => {
    const batch = decodeWriteRequestV1(encodeWriteRequestV1(series));
    new IngestRelabeller().apply(batch, parseRelabelConfigs(rules));
    return d.replicate({ tenant: 't', batch, v2: false }, nodes.get(endpoints[0])!.writer);
  };
  return {
    down,
    replicate,
    replicateV2,
    replicateRelabelled,
    metadataHolders,
    metricOwners,
    holders,
    ownersOf,
    samplesAt,
    exemplarsAt,
    copies,
    onQuorum,
    close,
  };
}

const sample = (name: string, i: string, t = NOW): SeriesToWrite => ({
  labels: Labels.fromObject({ __name__: name, i }),
  timestamps: [t],
  values: [1],
});

describe.each([
  ['every endpoint owns everything (3 endpoints, RF 3)', ['a:1', 'b:1', 'c:1']],
  ['per-owner shares (5 endpoints, RF 3)', ['a:1', 'b:1', 'c:1', 'd:1', 'e:1']],
])('replicate: %s', (_name, endpoints) => {
  let c: Awaited<ReturnType<typeof cluster>>;
  beforeAll(async () => (c = await cluster(endpoints, 3)));
  afterAll(() => c.close());
  afterEach(() => c.down.clear());

  test('all up: 204, each series on 3 endpoints', async () => {
    const r = await c.replicate(Array.from({ length: 20 }, (_, i) => sample('up_all', String(i))));
    expect(r).toMatchObject({ status: 204, written: { samplesWritten: 20 } });
    for (let i = 0; i < 20; i++) expect(await c.copies('up_all', String(i))).toBe(3);
  });

  test('one endpoint down: valid data 204; a sample an hour ahead 400 naming it; mixed 400 with the valid series on a quorum', async () => {
    c.down.add(endpoints[endpoints.length - 1]);
    expect((await c.replicate([sample('one_down', 'valid')])).status).toBe(204);
    const future = await c.replicate([sample('one_down', 'future', NOW + 3600_000)]);
    expect(future.status).toBe(400);
    expect(future.error?.detail).toMatch(/too far in the future.*i="future"/);
    const mixed = await c.replicate([
      ...Array.from({ length: 20 }, (_, i) => sample('one_down_mixed', String(i))),
      sample('one_down_mixed', 'future', NOW + 3600_000),
    ]);
    expect(mixed.status).toBe(400);
    for (let i = 0; i < 20; i++) expect(await c.copies('one_down_mixed', String(i))).toBeGreaterThanOrEqual(2);
  });

  test('two endpoints down: series that may still reach the quorum on a retry answer 503', async () => {
    c.down.add(endpoints[1]);
    c.down.add(endpoints[2]);
    const r = await c.replicate(Array.from({ length: 20 }, (_, i) => sample('two_down', String(i))));
    expect(r.status).toBe(503);
    expect(r.error).toMatchObject({ id: 'write-quorum-not-reached', retryAfter: 1 });
  });
});

test('relabelled series are placed on the ring by their relabelled labels', async () => {
  const c = await cluster(['a:1', 'b:1', 'c:1', 'd:1', 'e:1'], 3);
  try {
    // 50 user_id values of one series: the rule removes the label, so all are one series, on its 3 owners only.
    const series = Array.from({ length: 50 }, (_, u) => ({
      labels: Labels.fromObject({ __name__: 'relabelled', i: '0', user_id: String(u) }),
      timestamps: [NOW + u],
      values: [u],
    }));
    const r = await c.replicateRelabelled(series, [{ regex: 'user_id', action: 'labeldrop' }]);
    expect(r.status).toBe(204);
    expect(await c.holders('relabelled')).toEqual(c.ownersOf(Labels.fromObject({ __name__: 'relabelled', i: '0' })));
    expect(await c.copies('relabelled', '0')).toBe(3);
    // Rewritten series sent again are placed from the router's cache, on the same owners.
    const rewrite = [{ source_labels: ['i'], target_label: 'team', replacement: 'core' }];
    for (const t of [NOW, NOW + 1000]) {
      const again = [0, 1, 2].map((i) => ({
        labels: Labels.fromObject({ __name__: 'rewritten', i: String(i) }),
        timestamps: [t],
        values: [i],
      }));
      expect((await c.replicateRelabelled(again, rewrite)).status).toBe(204);
    }
    for (const i of ['0', '1', '2']) {
      const owners = c.ownersOf(Labels.fromObject({ __name__: 'rewritten', i, team: 'core' }));
      expect(await c.samplesAt('rewritten', i)).toEqual(Object.fromEntries(owners.map((ep) => [ep, 2])));
    }
    // A dropped series reaches no endpoint.
    expect(
      (await c.replicateRelabelled([sample('dropped_here', '1')], [{ source_labels: ['__name__'], regex: 'dropped_.*', action: 'drop' }]))
        .status,
    ).toBe(204);
    expect(await c.holders('dropped_here')).toEqual([]);
  } finally {
    await c.close();
  }
});

describe('replicate: exemplars reach the owners of their series', () => {
  test('sent alone they join the series on its owners, never create one, and with labels no series can have fail nothing', async () => {
    const c = await cluster(['a:1', 'b:1', 'c:1'], 2);
    try {
      const ex = (trace: string, t: number) => [{ labels: ['trace_id', trace], value: 1, timestamp: t }];
      const r = await c.replicate([
        { ...sample('ex', '1', NOW - 1000), exemplars: ex('with-sample', NOW - 1000) },
        { labels: Labels.fromObject({ __name__: 'ex', i: '1' }), timestamps: [], values: [], exemplars: ex('alone', NOW - 500) },
        { labels: Labels.fromObject({ __name__: 'ex', i: '2' }), timestamps: [], values: [], exemplars: ex('unknown', NOW - 500) },
        // No metric name: the router's validation would refuse the series, not the request.
        { labels: Labels.fromObject({ i: '3' }), timestamps: [], values: [], exemplars: ex('nameless', NOW - 500) },
      ]);
      expect([r.status, r.error]).toEqual([204, undefined]);
      const owners = c.ownersOf(Labels.fromObject({ __name__: 'ex', i: '1' }));
      expect(c.exemplarsAt('ex', '1')).toEqual(Object.fromEntries(owners.map((ep) => [ep, ['with-sample', 'alone']])));
      expect([await c.copies('ex', '2'), c.exemplarsAt('ex', '2')]).toEqual([0, {}]);
    } finally {
      await c.close();
    }
  });
});

describe('replicate: the series limit counts a series once per ring, not RF times', () => {
  test.each([
    ['3 endpoints, RF 3', 3],
    ['6 endpoints, RF 3', 6],
  ])('%s: a global limit of 100 admits about 100 series', async (_name, size) => {
    const c = await cluster(
      Array.from({ length: size }, (_, k) => `r${k}:1`),
      3,
      100,
    );
    try {
      // In batches, as a sender would: each receiver's head takes series until its share is full.
      for (let b = 0; b < 10; b++) await c.replicate(Array.from({ length: 30 }, (_, i) => sample('limited', String(b * 30 + i))));
      const admitted = await c.onQuorum('limited', 2);
      expect(admitted).toBeGreaterThanOrEqual(70);
      expect(admitted).toBeLessThanOrEqual(130); // without the share, 6 endpoints would admit ~170
    } finally {
      await c.close();
    }
  });
});

describe('replicate: metadata follows its metric to RF replicas in a ring larger than RF', () => {
  const endpoints = ['a:1', 'b:1', 'c:1', 'd:1', 'e:1'];
  let c: Awaited<ReturnType<typeof cluster>>;
  beforeAll(async () => (c = await cluster(endpoints, 3)));
  afterAll(() => c.close());

  const gauge = (name: string) => ({ metricFamilyName: name, type: 'gauge' as const, help: `help of ${name}`, unit: '' });

  test('1.0 metadata entries, alone or with series, reach at least RF receivers (the router keeps them too)', async () => {
    const names = Array.from({ length: 12 }, (_, i) => `md_v1_${i}`);
    await c.replicate([], names.slice(0, 6).map(gauge)); // Prometheus sends metadata in requests of its own
    await c.replicate([sample('md_v1_carrier', '0')], names.slice(6).map(gauge));
    for (const n of names) expect(c.metadataHolders(n)).toEqual(expect.arrayContaining(c.metricOwners(n)));
  });

  test('2.0 series metadata, metadata-only series included, reach at least RF receivers', async () => {
    const names = Array.from({ length: 12 }, (_, i) => `md_v2_${i}`);
    const series: SeriesToWriteV2[] = names.map((n, i) => ({
      ...sample(n, '0'),
      ...(i % 2 ? { timestamps: [], values: [] } : {}),
      metadata: { type: 'counter', help: `help of ${n}`, unit: 'seconds' },
    }));
    expect((await c.replicateV2(series)).status).toBe(204);
    for (const n of names) {
      expect(c.metricOwners(n).length).toBe(3);
      expect(c.metadataHolders(n)).toEqual(expect.arrayContaining(c.metricOwners(n)));
    }
  });

  test('a metadata owner down: the others still get it', async () => {
    const victim = c.metricOwners('md_down').find((ep) => ep !== 'a:1')!; // a:1 is the router itself
    c.down.add(victim);
    try {
      await c.replicate([], [gauge('md_down')]);
      expect(c.metadataHolders('md_down')).not.toContain(victim);
      const live = c.metricOwners('md_down').filter((ep) => ep !== victim);
      expect(live.length).toBeGreaterThanOrEqual(2);
      expect(c.metadataHolders('md_down')).toEqual(expect.arrayContaining(live));
    } finally {
      c.down.clear();
    }
  });
});
