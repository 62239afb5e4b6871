import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { Labels, Matcher } from '@strata/model';
import { decodeWriteRequestV1, encodeWriteRequestV1, SHARE_CONTENT_TYPE, snappyDecode } from '@strata/remote';
import { Hashrings } from '@strata/ring';
import { TSDB } from '@strata/tsdb';
import { Distributor } from './distributor.js';
import { decodeParts, encodeParts, ForwardBatcher, type Part, type PartResult } from './forward-batcher.js';
import { ForwardAuth } from './forward-auth.js';
import { Limits } from '@strata/api';
import { MetadataStore } from './metadata-store.js';
import { createWriteHandler } from './write-handler.js';

describe('forwarded batches: wire format', () => {
  test('parts round-trip (property)', () => {
    const part = fc.record({
      body: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
      contentType: fc.string(),
      selection: fc.option(fc.string(), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(part, { maxLength: 8 }), (parts) => {
        const back = decodeParts(encodeParts(parts));
        expect(back.map((p) => ({ ...p, body: Buffer.from(p.body) }))).toEqual(
          parts.map((p) => (p.selection === undefined ? { body: p.body, contentType: p.contentType, selection: undefined } : p)),
        );
      }),
    );
  });

  test('a truncated batch is a 400, never a crash', () => {
    const b = encodeParts([{ body: Buffer.from('abc'), contentType: 'x' }]);
    for (let n = 1; n < b.length; n++)
      expect(() => decodeParts(b.subarray(0, n))).toThrow(expect.objectContaining({ id: 'invalid-request-body' }));
  });
});

describe('forwarded batches: coalescing window', () => {
  const part = (n: number): Part => ({ body: Buffer.alloc(n), contentType: 'application/x-protobuf' });

  test('shares for one peer within the window leave as one batch, answered part by part; other peers and tenants apart', async () => {
    const sent: { ep: string; tenant: string; n: number }[] = [];
    const b = new ForwardBatcher({
      maxDelayMs: 20,
      maxBytes: 1 << 20,
      send: async (ep, tenant, parts) => {
        sent.push({ ep, tenant, n: parts.length });
        return parts.map((p) => ({ status: 204, message: String(p.body.length) }));
      },
    });
    const answers = await Promise.all([
      b.enqueue('a', 't', part(1)),
      b.enqueue('a', 't', part(2)),
      b.enqueue('b', 't', part(3)),
      b.enqueue('a', 'u', part(4)),
      b.enqueue('a', 't', part(5)),
    ]);
    expect(answers.map((a) => a.message)).toEqual(['1', '2', '3', '4', '5']);
    expect(sent.sort((x, y) => (x.ep + x.tenant).localeCompare(y.ep + y.tenant))).toEqual([
      { ep: 'a', tenant: 't', n: 3 },
      { ep: 'a', tenant: 'u', n: 1 },
      { ep: 'b', tenant: 't', n: 1 },
    ]);
  });

  test('a full batch leaves at once, without waiting for the window', async () => {
    let at = 0;
    const b = new ForwardBatcher({
      maxDelayMs: 10_000,
      maxBytes: 100,
      send: async (_ep, _t, parts) => ((at = Date.now()), parts.map(() => ({ status: 204, message: '' }))),
    });
    const t0 = Date.now();
    await Promise.all([b.enqueue('a', 't', part(50)), b.enqueue('a', 't', part(50))]);
    expect(at - t0).toBeLessThan(1000);
  });

  test('a share that would overfill a batch starts the next one', async () => {
    const sizes: number[][] = [];
    const b = new ForwardBatcher({
      maxDelayMs: 20,
      maxBytes: 100,
      send: async (_ep, _t, parts) => (sizes.push(parts.map((p) => p.body.length)), parts.map(() => ({ status: 204, message: '' }))),
    });
    await Promise.all([
      b.enqueue('a', 't', part(40)),
      b.enqueue('a', 't', part(40)),
      b.enqueue('a', 't', part(40)),
      b.enqueue('a', 't', part(500)),
    ]);
    expect(sizes).toEqual([[40, 40], [40], [500]]);
  });

  test('a failed batch fails each of its shares as unavailable (status 0)', async () => {
    const b = new ForwardBatcher({ maxDelayMs: 1, maxBytes: 1 << 20, send: async () => Promise.reject(new Error('ECONNREFUSED')) });
    const answers: PartResult[] = await Promise.all([b.enqueue('a', 't', part(1)), b.enqueue('a', 't', part(1))]);
    expect(answers).toEqual([
      { status: 0, message: 'a: ECONNREFUSED' },
      { status: 0, message: 'a: ECONNREFUSED' },
    ]);
  });
});

describe('forwarded batches: over HTTP into a real receiver', () => {
  // Receivers accept forwarded writes only when signed under their shared secret (forward-auth.ts).
  const forwardAuth = new ForwardAuth(['batch-test-secret-0123456789']);
  let dir: string;
  let db: TSDB;
  let srv: http.Server;
  let registry: Registry;
  let peer: string;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-batch-'));
    db = await TSDB.open({ dir, fsync: 'batch', head: { outOfOrderWindowMs: 0, samplesPerChunk: 120, maxSeries: 0 } });
    registry = new Registry();
    const limits = new Limits({
      defaults: {
        ingestionRate: 0,
        ingestionBurstSize: 0,
        maxGlobalSeriesPerUser: 0,
        maxLabelNamesPerSeries: 30,
        maxLabelNameLength: 1024,
        maxLabelValueLength: 2048,
      },
    });
    const handler = createWriteHandler({
      storage: db,
      limits,
      metadata: new MetadataStore(),
      registry,
      config: {
        maxRequestBytes: 1 << 20,
        maxInflightBytes: 64 << 20,
        multiTenancy: true,
        tenantHeader: 'X-Scope-OrgID',
        creationGracePeriodMs: 60_000,
        ingestionRateLimitStatus: 503,
        diskMinFreeBytes: 0,
        storagePath: dir,
      },
      forwardAuth,
    });
    srv = http.createServer((req, res) => void handler(req, res));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    peer = `127.0.0.1:${(srv.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => srv.close(r));
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('concurrent shares reach the peer as one request; each gets its own verdict, rejected series named', async () => {
    const rings = new Hashrings([
      {
        hashring: 'default',
        tenants: [],
        tenantMatcherType: 'exact',
        algorithm: 'ketama',
        endpoints: [{ address: 'router:1' }, { address: peer }],
      },
    ]);
    const d = new Distributor({
      rings: () => rings,
      self: 'router:1',
      replicationFactor: 2,
      forwardTimeoutMs: 5000,
      tenantHeader: 'X-Scope-OrgID',
      registry: new Registry(),
      coalesce: { maxDelayMs: 50, maxBytes: 1 << 20 },
      forwardAuth,
    });
    const now = Date.now();
    const request = (name: string, future = false) => {
      const raw = encodeWriteRequestV1([
        { labels: Labels.fromObject({ __name__: name, i: '0' }), timestamps: [now], values: [1] },
        { labels: Labels.fromObject({ __name__: name, i: '1' }), timestamps: [future ? now + 3600_000 : now], values: [2] },
      ]);
      return decodeWriteRequestV1(raw);
    };
    const reqs = [request('batch_a'), request('batch_b', true), request('batch_c')];
    const results = await Promise.all([
      d.forward(peer, 'tb', reqs[0], [0, 1], false),
      d.forward(peer, 'tb', reqs[1], [0, 1], false),
      d.forward(peer, 'tb', reqs[2], [1], false),
    ]);
    expect(results.map((r) => r.status)).toEqual([204, 400, 204]);
    expect(results[1].message).toContain('too far in the future');
    expect(Array.from(results[1].rejected ?? [])).toEqual([0b10]); // series 1 only: series 0 counts as stored
    const requests = await registry.getSingleMetricAsString('strata_received_requests_total');
    expect(requests).toContain('version="forwarded-batch",code="200"} 1');
    const q = (await db.tenant('tb')).querier();
    const stored = await q.select([new Matcher('=~', '__name__', 'batch_.*')], { start: -Infinity, end: Infinity });
    expect(stored.map((s) => `${s.labels.get('__name__')}/${s.labels.get('i')}`).sort()).toEqual([
      'batch_a/0',
      'batch_a/1',
      'batch_b/0',
      'batch_c/1',
    ]);
    d.close();
  });
});

describe('forwarding to a receiver that predates shares', () => {
  test('a 415 to a share is answered by resending remote-write 1.0, and that peer gets 1.0 from then on', async () => {
    // What an earlier receiver does: remote-write needs snappy protobuf, anything else is 415.
    const seen: string[] = [];
    const stored: string[][] = [];
    const old = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push(String(req.headers['content-type']));
        if (req.headers['content-encoding'] !== 'snappy') {
          res.writeHead(415).end('unsupported Content-Encoding ""\n');
          return;
        }
        const batch = decodeWriteRequestV1(snappyDecode(Buffer.concat(chunks), 1 << 20));
        stored.push(batch.series.map((s) => batch.labelsOf(s).join(',')));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => old.listen(0, '127.0.0.1', r));
    const peer = `127.0.0.1:${(old.address() as AddressInfo).port}`;
    const rings = new Hashrings([
      {
        hashring: 'default',
        tenants: [],
        tenantMatcherType: 'exact',
        algorithm: 'ketama',
        endpoints: [{ address: 'router:1' }, { address: peer }],
      },
    ]);
    const d = new Distributor({
      rings: () => rings,
      self: 'router:1',
      replicationFactor: 2,
      forwardTimeoutMs: 5000,
      tenantHeader: 'X-Scope-OrgID',
      registry: new Registry(),
    });
    const batch = decodeWriteRequestV1(
      encodeWriteRequestV1([
        { labels: Labels.fromObject({ __name__: 'old_a' }), timestamps: [1], values: [1] },
        { labels: Labels.fromObject({ __name__: 'old_b' }), timestamps: [1], values: [2] },
      ]),
    );
    expect((await d.forward(peer, 't', batch, [1], false)).status).toBe(204);
    expect((await d.forward(peer, 't', batch, [0, 1], false)).status).toBe(204);
    expect(seen).toEqual([SHARE_CONTENT_TYPE, 'application/x-protobuf', 'application/x-protobuf']);
    expect(stored).toEqual([['__name__,old_b'], ['__name__,old_a', '__name__,old_b']]);
    d.close();
    await new Promise((r) => old.close(r));
  });
});

describe('forward timeout', () => {
  // A peer that never answers, one that sends headers and stalls mid-body, and one in time.
  test.each<[string, (res: http.ServerResponse) => void, number, string]>([
    ['no answer at all', () => undefined, 0, 'no answer within 300 ms'],
    ['headers, then the body stalls', (res) => (res.writeHead(400), res.write('partial')), 0, ''],
    ['an answer in time', (res) => res.writeHead(204).end(), 204, ''],
  ])('%s', async (_name, answer, status, message) => {
    const peerSrv = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => answer(res));
    });
    await new Promise<void>((r) => peerSrv.listen(0, '127.0.0.1', r));
    const peer = `127.0.0.1:${(peerSrv.address() as AddressInfo).port}`;
    const rings = new Hashrings([
      {
        hashring: 'default',
        tenants: [],
        tenantMatcherType: 'exact',
        algorithm: 'ketama',
        endpoints: [{ address: 'router:1' }, { address: peer }],
      },
    ]);
    const d = new Distributor({
      rings: () => rings,
      self: 'router:1',
      replicationFactor: 2,
      forwardTimeoutMs: 300,
      tenantHeader: 'X-Scope-OrgID',
      registry: new Registry(),
    });
    const batch = decodeWriteRequestV1(
      encodeWriteRequestV1([{ labels: Labels.fromObject({ __name__: 'slow' }), timestamps: [1], values: [1] }]),
    );
    const t0 = performance.now();
    const r = await d.forward(peer, 't', batch, [0], false);
    const took = performance.now() - t0;
    expect(r.status).toBe(status);
    expect(r.outcome).toBe(status === 204 ? 'ok' : 'unavailable');
    expect(r.message).toContain(message);
    // Bounded by the timeout (plus scheduling slack on a loaded machine), not by the peer.
    if (status === 0) expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(10_000);
    d.close();
    peerSrv.closeAllConnections();
    await new Promise((r) => peerSrv.close(r));
  });
});
