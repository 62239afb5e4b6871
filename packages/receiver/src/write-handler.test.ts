import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import pino, { type Logger } from 'pino';
import { Registry } from 'prom-client';
import { Labels, Matcher } from '@strata/model';
import { encodeWriteRequestV1, encodeWriteRequestV2, snappyEncode, type SeriesToWrite } from '@strata/remote';
import { TSDB } from '@strata/tsdb';
import { Limits, type TenantLimits } from '@strata/api';
import { MetadataStore } from './metadata-store.js';
import { MemoryBudget } from './memory-budget.js';
import { createWriteHandler, type WriteHandlerConfig } from './write-handler.js';

const DEFAULTS: TenantLimits = {
  ingestionRate: 0,
  ingestionBurstSize: 0,
  maxGlobalSeriesPerUser: 0,
  maxLabelNamesPerSeries: 30,
  maxLabelNameLength: 1024,
  maxLabelValueLength: 2048,
};

interface Server {
  url: string;
  db: TSDB;
  registry: Registry;
  metadata: MetadataStore;
  limits: Limits;
  close(): Promise<void>;
}

const NOW = Date.UTC(2026, 0, 1);
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

async function start(
  cfg: Partial<WriteHandlerConfig> = {},
  limits: Partial<TenantLimits> = {},
  overridesFile?: string,
  memory?: MemoryBudget,
  logger?: Logger,
): Promise<Server> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-recv-'));
  dirs.push(dir);
  const db = await TSDB.open({ dir, fsync: 'batch', head: { outOfOrderWindowMs: 30 * 60_000, samplesPerChunk: 120, maxSeries: 0 } });
  const registry = new Registry();
  const metadata = new MetadataStore();
  const lim = new Limits({ defaults: { ...DEFAULTS, ...limits }, overridesFile, reloadIntervalMs: 50, logger });
  const handler = createWriteHandler({
    memory,
    storage: db,
    limits: lim,
    metadata,
    registry,
    now: () => NOW,
    config: {
      maxRequestBytes: 1024 * 1024,
      maxInflightBytes: 64 * 1024 * 1024,
      multiTenancy: false,
      tenantHeader: 'X-Scope-OrgID',
      creationGracePeriodMs: 10 * 60_000,
      ingestionRateLimitStatus: 503,
      diskMinFreeBytes: 0,
      storagePath: dir,
      ...cfg,
    },
  });
  const srv = http.createServer((req, res) => void handler(req, res));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/api/v1/write`;
  return {
    url,
    db,
    registry,
    metadata,
    limits: lim,
    close: async () => {
      lim.stop();
      await new Promise((r) => srv.close(r));
      await db.close();
    },
  };
}

interface Reply {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

function send(url: string, body: Buffer, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: 'POST', headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', ...headers } },
      (res) => {
        let b = '';
        res.on('data', (c) => (b += c));
        res.on('end', () => resolve({ status: res.statusCode!, body: b, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const ts = (labels: Record<string, string>, samples: [number, number][] = [[NOW - 1000, 1]]): SeriesToWrite => ({
  labels: Labels.fromObject(labels),
  timestamps: samples.map((s) => s[0]),
  values: samples.map((s) => s[1]),
});
const v1 = (...series: SeriesToWrite[]) => snappyEncode(encodeWriteRequestV1(series));
/** A 1.0 body with label pairs exactly as given (unsorted, duplicated, empty names...). */
function rawV1(pairs: string[], t = NOW - 1000): Buffer {
  const labels = { pairs, key: () => pairs.join('\0') } as unknown as Labels;
  return v1({ labels, timestamps: [t], values: [1] });
}

async function count(db: TSDB, name: string): Promise<number> {
  const q = (await db.tenant('anonymous')).querier();
  const s = await q.select([new Matcher('=', '__name__', name)], { start: -Infinity, end: Infinity });
  return s.reduce((n, x) => n + x.timestamps.length, 0);
}

describe('remote-write handler', () => {
  let s: Server;
  beforeAll(async () => {
    s = await start(
      {},
      { maxLabelNamesPerSeries: 5, maxLabelNameLength: 20, maxLabelValueLength: 30, nativeHistogramsIngestionEnabled: 1 },
    );
    // earlier data that every bad request below must leave intact
    expect(
      (
        await send(
          s.url,
          v1(
            ts({ __name__: 'earlier' }, [
              [NOW - 5000, 1],
              [NOW - 4000, 2],
            ]),
          ),
        )
      ).status,
    ).toBe(204);
  });
  afterAll(() => s.close());

  const longName = 'n'.repeat(21);
  // One row per cause: the body decides the answer a default Prometheus acts on (retry 5xx, drop 4xx).
  test.each<[string, number, () => Buffer, Record<string, string>, string]>([
    ['valid 1.0', 204, () => v1(ts({ __name__: 'ok', a: 'b' })), {}, ''],
    ['missing metric name', 400, () => v1(ts({ job: 'x' })), {}, 'err-strata-missing-metric-name'],
    [
      'too many labels',
      400,
      () => v1(ts({ __name__: 'm', a: '1', b: '1', c: '1', d: '1', e: '1' })),
      {},
      'err-strata-max-label-names-per-series',
    ],
    ['label name too long', 400, () => v1(ts({ __name__: 'm', [longName]: 'x' })), {}, 'err-strata-label-name-too-long'],
    ['label value too long', 400, () => v1(ts({ __name__: 'm', a: 'v'.repeat(31) })), {}, 'err-strata-label-value-too-long'],
    ['duplicate label names', 400, () => rawV1(['__name__', 'm', 'a', '1', 'a', '2']), {}, 'err-strata-duplicate-label-names'],
    ['empty label name', 400, () => rawV1(['', 'x', '__name__', 'm']), {}, 'err-strata-invalid-label-name'],
    ['too far in future', 400, () => v1(ts({ __name__: 'm' }, [[NOW + 11 * 60_000, 1]])), {}, 'err-strata-sample-too-far-in-future'],
    [
      'wrong content type',
      415,
      () => v1(ts({ __name__: 'm' })),
      { 'Content-Type': 'application/json' },
      'err-strata-unsupported-content-type',
    ],
    [
      'unknown proto',
      415,
      () => v1(ts({ __name__: 'm' })),
      { 'Content-Type': 'application/x-protobuf;proto=foo.Bar' },
      'err-strata-unsupported-content-type',
    ],
    ['not snappy', 415, () => v1(ts({ __name__: 'm' })), { 'Content-Encoding': 'gzip' }, 'err-strata-unsupported-content-encoding'],
    [
      'random bytes',
      400,
      () => Buffer.from(Array.from({ length: 500 }, (_, i) => (i * 7919) % 256)),
      {},
      'err-strata-invalid-request-body',
    ],
    ['truncated snappy', 400, () => v1(ts({ __name__: 'm', a: 'x' })).subarray(0, 20), {}, 'err-strata-invalid-request-body'],
    [
      'truncated protobuf',
      400,
      () => snappyEncode(encodeWriteRequestV1([ts({ __name__: 'm', a: 'xyz' })]).subarray(0, 15)),
      {},
      'err-strata-invalid-request-body',
    ],
    ['oversized body', 413, () => Buffer.alloc(1024 * 1024 + 1), {}, 'err-strata-request-too-large'],
    [
      '10k labels in one series',
      400,
      () => v1(ts(Object.fromEntries([['__name__', 'm'], ...Array.from({ length: 10_000 }, (_, i) => [`l${i}`, 'v'])]))),
      {},
      'err-strata-max-label-names-per-series',
    ],
    [
      'invalid UTF-8',
      400,
      () => {
        const b = encodeWriteRequestV1([ts({ __name__: 'm', a: 'é' })]);
        const i = b.indexOf(Buffer.from('é'));
        b[i + 1] = 0x41;
        return snappyEncode(b);
      },
      {},
      'err-strata-invalid-label-value',
    ],
  ])('%s -> %d', async (_name, status, body, headers, id) => {
    const r = await send(s.url, body(), headers);
    expect(r.status).toBe(status);
    if (id) expect(r.body).toContain(id);
    // the process keeps serving and earlier data is intact
    expect(await count(s.db, 'earlier')).toBe(2);
  });

  test('a bad series does not stop the good ones of the same request', async () => {
    const r = await send(s.url, v1(ts({ __name__: 'good1' }), ts({ job: 'no-name' }), ts({ __name__: 'good2' })));
    expect(r.status).toBe(400);
    expect(r.body).toContain('series: \'{job="no-name"}\'');
    expect(await count(s.db, 'good1')).toBe(1);
    expect(await count(s.db, 'good2')).toBe(1);
    const metrics = await s.registry.getSingleMetricAsString('strata_discarded_samples_total');
    expect(metrics).toContain('reason="missing-metric-name",tenant="anonymous"');
  });

  test('identical re-send is accepted; a different value at the same timestamp is 400', async () => {
    const body = v1(ts({ __name__: 'resend' }, [[NOW - 100, 7]]));
    expect((await send(s.url, body)).status).toBe(204);
    expect((await send(s.url, body)).status).toBe(204);
    const r = await send(s.url, v1(ts({ __name__: 'resend' }, [[NOW - 100, 8]])));
    expect(r.status).toBe(400);
    expect(r.body).toContain('err-strata-sample-duplicate-timestamp');
    expect(await count(s.db, 'resend')).toBe(1);
  });

  test('too old: outside the out-of-order window is 400, never 409 or 5xx', async () => {
    await send(s.url, v1(ts({ __name__: 'old' }, [[NOW, 1]])));
    const r = await send(s.url, v1(ts({ __name__: 'old' }, [[NOW - 3 * 3600_000, 1]])));
    expect(r.status).toBe(400);
    expect(r.body).toContain('err-strata-sample-too-old');
  });

  test('remote-write 2.0: 204 with written-count headers; unsorted labels rejected', async () => {
    const body = snappyEncode(
      encodeWriteRequestV2([
        ts({ __name__: 'v2m', a: 'b' }, [
          [NOW - 10, 1],
          [NOW - 5, 2],
        ]),
      ]),
    );
    const r = await send(s.url, body, { 'Content-Type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request' });
    expect(r.status).toBe(204);
    expect(r.headers['x-prometheus-remote-write-samples-written']).toBe('2');
    expect(r.headers['x-prometheus-remote-write-histograms-written']).toBe('0');
    const unsorted = { pairs: ['z', '1', '__name__', 'v2u'], key: () => 'k' } as unknown as Labels;
    const r2 = await send(s.url, snappyEncode(encodeWriteRequestV2([{ labels: unsorted, timestamps: [NOW - 1], values: [1] }])), {
      'Content-Type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request',
    });
    expect(r2.status).toBe(400);
    expect(r2.body).toContain('err-strata-labels-not-sorted');
  });

  test('remote-write 2.0 over HTTP: native histograms are counted in their header; a bad one is a 400 naming it, the rest lands', async () => {
    const h = (t: number, n: number, length = 1) => ({
      t,
      float: false,
      schema: 0,
      zeroThreshold: 0,
      zeroCount: 0,
      count: n,
      sum: n,
      resetHint: 0,
      positiveSpans: [{ offset: 0, length }],
      positiveBuckets: [n],
      negativeSpans: [],
      negativeBuckets: [],
      customValues: [],
    });
    const body = (bad: boolean) =>
      snappyEncode(
        encodeWriteRequestV2([
          { ...ts({ __name__: 'v2h' }, []), histograms: [h(NOW - 20, 1), h(NOW - 10, 2)] },
          ...(bad ? [{ ...ts({ __name__: 'v2h_bad' }, []), histograms: [h(NOW - 10, 1, 2)] }] : []),
          ts({ __name__: 'v2h_float' }, [[NOW - 10, 1]]),
        ]),
      );
    const headers = { 'Content-Type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request' };
    const ok = await send(s.url, body(false), headers);
    expect(ok.status).toBe(204);
    expect(ok.headers['x-prometheus-remote-write-histograms-written']).toBe('2');
    expect(ok.headers['x-prometheus-remote-write-samples-written']).toBe('1');
    const partial = await send(s.url, body(true), { ...headers });
    expect(partial.status).toBe(400);
    expect(partial.body).toContain('err-strata-invalid-native-histogram');
    expect(partial.body).toContain('v2h_bad');
    expect(await count(s.db, 'v2h')).toBe(2);
  });

  test('metadata from 1.0 and 2.0 is kept for /api/v1/metadata', async () => {
    await send(
      s.url,
      snappyEncode(encodeWriteRequestV1([], [{ metricFamilyName: 'http_requests_total', type: 'counter', help: 'Requests.', unit: '' }])),
    );
    expect(s.metadata.metadata('anonymous', undefined, -1, -1).http_requests_total).toEqual([
      { type: 'counter', help: 'Requests.', unit: '' },
    ]);
  });
});

describe('limits and overload', () => {
  test('series limit: new series rejected with 400, existing ones still land', async () => {
    const s = await start({}, { maxGlobalSeriesPerUser: 2 });
    try {
      expect((await send(s.url, v1(ts({ __name__: 'a' }), ts({ __name__: 'b' })))).status).toBe(204);
      const r = await send(s.url, v1(ts({ __name__: 'a' }, [[NOW, 2]]), ts({ __name__: 'c' })));
      expect(r.status).toBe(400);
      expect(r.body).toContain('err-strata-max-series-per-tenant');
      expect(r.body).toContain('--limits.max-global-series-per-user');
      expect(await count(s.db, 'a')).toBe(2);
    } finally {
      await s.close();
    }
  });

  test.each([[503], [429]] as const)('ingestion rate limit answers %d with Retry-After', async (status) => {
    const s = await start({ ingestionRateLimitStatus: status }, { ingestionRate: 1, ingestionBurstSize: 2 });
    try {
      expect((await send(s.url, v1(ts({ __name__: 'a' }), ts({ __name__: 'b' })))).status).toBe(204);
      const r = await send(s.url, v1(ts({ __name__: 'c' })));
      expect(r.status).toBe(status);
      expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(r.body).toContain('err-strata-ingestion-rate-limited');
    } finally {
      await s.close();
    }
  });

  test('in-flight bytes over the budget: 503 + Retry-After, nothing dropped silently', async () => {
    const s = await start({ maxInflightBytes: 10 });
    try {
      const r = await send(s.url, v1(ts({ __name__: 'a' })));
      expect(r.status).toBe(503);
      expect(r.headers['retry-after']).toBeDefined();
      expect(r.body).toContain('err-strata-too-many-inflight-bytes');
    } finally {
      await s.close();
    }
  });

  test('over the memory budget: 503 + Retry-After and nothing stored; writes resume when memory is freed', async () => {
    let rss = 2000;
    const s = await start({}, {}, undefined, new MemoryBudget(1000, () => ({ rss, heapUsed: 1, heapLimit: 100 }), 0));
    try {
      const r = await send(s.url, v1(ts({ __name__: 'mem_a' })));
      expect(r.status).toBe(503);
      expect(r.headers['retry-after']).toBe('5');
      expect(r.body).toMatch(/err-strata-memory-budget-exceeded/);
      expect(r.body).toContain('--receiver.memory-limit-bytes');
      expect(await count(s.db, 'mem_a')).toBe(0);
      rss = 500;
      expect((await send(s.url, v1(ts({ __name__: 'mem_a' })))).status).toBe(204);
      expect(await count(s.db, 'mem_a')).toBe(1);
    } finally {
      await s.close();
    }
  });

  test('disk nearly full: 503 + Retry-After', async () => {
    const s = await start({ diskMinFreeBytes: Number.MAX_SAFE_INTEGER });
    try {
      const r = await send(s.url, v1(ts({ __name__: 'a' })));
      expect(r.status).toBe(503);
      expect(r.body).toContain('err-strata-disk-nearly-full');
    } finally {
      await s.close();
    }
  });

  test('per-tenant overrides reload without restart; a bad edit keeps the old limits', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'strata-limits-')), 'limits.yaml');
    dirs.push(path.dirname(file));
    fs.writeFileSync(file, 'overrides:\n  anonymous:\n    max_label_names_per_series: 2\n');
    // The reloads' log lines show that the watcher did read each edit (a bad one included).
    const logged: string[] = [];
    const s = await start(
      {},
      {},
      file,
      undefined,
      pino({ level: 'info' }, { write: (line: string) => void logged.push(JSON.parse(line).msg) }),
    );
    const until = async (what: string, done: () => boolean) => {
      for (let i = 0; i < 100 && !done(); i++) await new Promise((r) => setTimeout(r, 20));
      if (!done()) throw new Error(`timed out waiting for ${what}`);
    };
    const reloads = () => logged.filter((m) => m === 'limits reloaded').length;
    try {
      expect((await send(s.url, v1(ts({ __name__: 'a', b: '1', c: '1' })))).status).toBe(400);
      const before = reloads();
      fs.writeFileSync(file, 'overrides:\n  anonymous:\n    max_label_names_per_series: 10\n');
      fs.utimesSync(file, new Date(), new Date(Date.now() + 5000));
      await until('the good edit to be reloaded', () => reloads() > before);
      expect((await send(s.url, v1(ts({ __name__: 'a', b: '1', c: '1' })))).status).toBe(204);
      fs.writeFileSync(file, 'overrides: [not, a, mapping');
      fs.utimesSync(file, new Date(), new Date(Date.now() + 10000));
      await until('the bad edit to be read and refused', () =>
        logged.includes('limits file refused as a whole; keeping the previous limits'),
      );
      expect(s.limits.forTenant('anonymous').maxLabelNamesPerSeries).toBe(10);
      expect((await send(s.url, v1(ts({ __name__: 'a', b: '1', c: '1' })))).status).toBe(204);
    } finally {
      await s.close();
    }
  });

  test('multi-tenancy: tenant from X-Scope-OrgID, missing header is 401', async () => {
    const s = await start({ multiTenancy: true });
    try {
      expect((await send(s.url, v1(ts({ __name__: 'a' })))).status).toBe(401);
      expect((await send(s.url, v1(ts({ __name__: 'a' })), { 'X-Scope-OrgID': 'team-a' })).status).toBe(204);
      expect(s.db.tenants()).toContain('team-a');
    } finally {
      await s.close();
    }
  });
});
