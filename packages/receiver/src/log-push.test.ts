import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { Matcher } from '@strata/model';
import { snappyEncode } from '@strata/remote';
import { Limits, parseLogSamplingConfig, type TenantLimits } from '@strata/api';
import { encodePushRequestProto, LogStore } from '@strata/logs';
import { createLogPushHandler, type LogPushOptions } from './log-push.js';
import { OverloadGates } from './overload-gates.js';

const DEFAULTS: TenantLimits = {
  ingestionRate: 0,
  ingestionBurstSize: 0,
  maxGlobalSeriesPerUser: 0,
  maxLabelNamesPerSeries: 30,
  maxLabelNameLength: 1024,
  maxLabelValueLength: 2048,
};
const NOW_MS = Date.UTC(2026, 11, 1);
const NOW = BigInt(NOW_MS) * 1_000_000n;
const ALL = { startNs: 0n, endNs: 2n ** 62n };

interface Server {
  url: string;
  store: LogStore;
  registry: Registry;
  close(): Promise<void>;
}

async function start(limits: Partial<TenantLimits> = {}, extra: Partial<LogPushOptions> = {}): Promise<Server> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-logpush-'));
  const store = await LogStore.open({ dir, fsync: 'batch', cutIntervalMs: 0 });
  const registry = new Registry();
  const handler = createLogPushHandler({
    sink: store,
    limits: new Limits({ defaults: { ...DEFAULTS, ...limits } }),
    registry,
    now: () => NOW_MS,
    config: {
      maxRequestBytes: 1 << 20,
      multiTenancy: true,
      tenantHeader: 'x-scope-orgid',
      creationGracePeriodMs: 600_000,
      outOfOrderWindowMs: 3_600_000,
    },
    ...extra,
  });
  const server = http.createServer((req, res) => void handler(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/loki/api/v1/push`,
    store,
    registry,
    close: async () => {
      await new Promise((r) => server.close(r));
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function post(url: string, body: Buffer | string, headers: Record<string, string>, tenant = 'team-a') {
  const r = await fetch(url, { method: 'POST', body, headers: { 'X-Scope-OrgID': tenant, ...headers } });
  return { status: r.status, text: await r.text(), retryAfter: r.headers.get('retry-after') };
}

const proto = (streams: Parameters<typeof encodePushRequestProto>[0]) => snappyEncode(encodePushRequestProto(streams));
const PB = { 'Content-Type': 'application/x-protobuf' };
const JS = { 'Content-Type': 'application/json' };

describe('POST /loki/api/v1/push', () => {
  let s: Server;
  beforeEach(async () => (s = await start()));
  afterEach(() => s.close());

  test('protobuf, JSON and gzip JSON land durably and read back exactly', async () => {
    expect(
      (await post(s.url, proto([{ labelsText: '{app="api"}', timestampsNs: BigInt64Array.of(NOW, NOW + 1n), lines: ['one', 'two'] }]), PB))
        .status,
    ).toBe(204);
    const json = JSON.stringify({ streams: [{ stream: { app: 'api' }, values: [[String(NOW + 2n), 'three', { trace_id: 'abc' }]] }] });
    expect((await post(s.url, json, JS)).status).toBe(204);
    const gz = JSON.stringify({ streams: [{ stream: { app: 'api' }, values: [[String(NOW + 3n), 'four']] }] });
    expect((await post(s.url, zlib.gzipSync(gz), { ...JS, 'Content-Encoding': 'gzip' })).status).toBe(204);
    const [got] = await s.store.logQuerier('team-a').selectLogs([new Matcher('=', 'app', 'api')], ALL);
    expect(got.lines).toEqual(['one', 'two', 'three', 'four']);
    expect([...got.timestampsNs]).toEqual([NOW, NOW + 1n, NOW + 2n, NOW + 3n]);
    expect(got.metadata?.[2]?.get('trace_id')).toBe('abc');
    expect(await s.store.logQuerier('team-b').selectLogs([new Matcher('=', 'app', 'api')], ALL)).toEqual([]);
  });

  test('a refused stream is named in the 400 and the valid ones land', async () => {
    const r = await post(
      s.url,
      proto([
        { labelsText: '{app="ok"}', timestampsNs: BigInt64Array.of(NOW), lines: ['fine'] },
        { labelsText: '{app="late"}', timestampsNs: BigInt64Array.of(NOW - 8n * 86_400_000_000_000n), lines: ['too old'] },
        { labelsText: '{app=bad}', timestampsNs: BigInt64Array.of(NOW), lines: ['x'] },
      ]),
      PB,
    );
    expect(r.status).toBe(400);
    expect(r.text).toMatch(/app=bad.*err-strata-invalid-log-labels/);
    const got = await s.store.logQuerier('team-a').selectLogs([new Matcher('=~', 'app', '.+')], ALL);
    expect(got.map((g) => g.lines)).toEqual([['fine']]);
    expect(await s.registry.getSingleMetricAsString('strata_logs_discarded_entries_total')).toMatch(/reason="log-entry-too-old"} 1/);
  });

  test('random and hostile bodies are a 4xx and the server keeps serving', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 200 }),
        fc.constantFrom(PB, JS, { ...JS, 'Content-Encoding': 'gzip' }),
        async (bytes, h) => {
          const r = await post(s.url, Buffer.from(h === PB ? snappyEncode(Buffer.from(bytes)) : bytes), h);
          expect(r.status === 204 || (r.status >= 400 && r.status < 500)).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
    expect(
      (await post(s.url, proto([{ labelsText: '{app="after"}', timestampsNs: BigInt64Array.of(NOW), lines: ['still up'] }]), PB)).status,
    ).toBe(204);
  });

  test('missing tenant is a 401', async () => {
    const r = await fetch(s.url, { method: 'POST', body: '{"streams":[]}', headers: JS });
    expect(r.status).toBe(401);
  });
});

test("the write path's overload gates: a push over --receiver.max-inflight-bytes is a 503 with Retry-After and lands nothing", async () => {
  const gates = new OverloadGates({ maxInflightBytes: 300, diskMinFreeBytes: 0, storagePath: os.tmpdir(), registry: new Registry() });
  const s = await start({}, { gates });
  try {
    const small = proto([{ labelsText: '{app="g"}', timestampsNs: BigInt64Array.of(NOW), lines: ['fits'] }]);
    const big = proto([
      { labelsText: '{app="g"}', timestampsNs: BigInt64Array.of(NOW + 1n), lines: [crypto.randomBytes(300).toString('hex')] },
    ]);
    expect(big.length).toBeGreaterThan(300);
    const over = await post(s.url, big, PB);
    expect([over.status, over.retryAfter]).toEqual([503, '5']);
    expect(over.text).toMatch(/max-inflight-bytes.*err-strata-too-many-inflight-bytes/);
    expect((await post(s.url, small, PB)).status).toBe(204);
    const got = await s.store.logQuerier('team-a').selectLogs([new Matcher('=', 'app', 'g')], ALL);
    expect(got.flatMap((x) => [...x.lines])).toEqual(['fits']);
    // Every reservation was released, refused or not.
    expect(gates.inflightBytes).toBe(0);
  } finally {
    await s.close();
  }
});

describe('log ingestion rate', () => {
  test('over ingestion_rate_mb is a 503 with Retry-After, and nothing of it lands', async () => {
    const s = await start({ ingestionRateMb: 0.001, ingestionBurstSizeMb: 0.002 });
    try {
      const line = 'x'.repeat(1000);
      const push = (i: number) =>
        post(s.url, proto([{ labelsText: '{app="a"}', timestampsNs: BigInt64Array.of(NOW + BigInt(i)), lines: [line] }]), PB);
      expect((await push(0)).status).toBe(204);
      expect((await push(1)).status).toBe(204);
      const r = await push(2);
      expect(r.status).toBe(503);
      expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(r.text).toContain('err-strata-ingestion-rate-limited');
      const [got] = await s.store.logQuerier('team-a').selectLogs([new Matcher('=', 'app', 'a')], ALL);
      expect(got.lines.length).toBe(2);
    } finally {
      await s.close();
    }
  });
});

describe('log sampling at push', () => {
  test('errors are all kept, the rest sampled, and the left-out entries counted', async () => {
    const s = await start({ logSampling: parseLogSamplingConfig({ keep: [{ line_regex: 'level=error' }], keep_ratio: 0.2 }, 't') });
    try {
      const lines = Array.from({ length: 1000 }, (_, i) => `level=${i % 4 === 0 ? 'error' : 'info'} i=${i}`);
      const ts = BigInt64Array.from(lines, (_, i) => NOW + BigInt(i));
      expect((await post(s.url, proto([{ labelsText: '{app="s"}', timestampsNs: ts, lines }]), PB)).status).toBe(204);
      const [got] = await s.store.logQuerier('team-a').selectLogs([new Matcher('=', 'app', 's')], ALL);
      expect(got.lines.filter((l) => l.startsWith('level=error')).length).toBe(250);
      const out = 1000 - got.lines.length;
      expect(out).toBeGreaterThan(500);
      expect(await s.registry.getSingleMetricAsString('strata_logs_sampled_out_total')).toContain(`{tenant="team-a"} ${out}`);
      // The store tallies the same lines and their bytes for query stats.
      const bytes = (ls: readonly string[]) => ls.reduce((n, l) => n + Buffer.byteLength(l), 0);
      expect(await s.store.logQuerier('team-a').sampledOut!([new Matcher('=', 'app', 's')], ALL)).toEqual({
        entries: out,
        bytes: bytes(lines) - bytes(got.lines),
      });
    } finally {
      await s.close();
    }
  });
});
