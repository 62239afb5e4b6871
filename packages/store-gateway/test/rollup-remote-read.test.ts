/**
 * Rollups over remote-read (docs/format/rollup-read.md): a querier's RemoteStore in front of a
 * store gateway over HTTP selects exactly what the gateway selects in-process (`strata all`) from
 * rollups, side data included (counts, sketches), for every function that reads an aggregate; PromQL
 * over either answers the same; and a plain remote-read client, which does not send the header,
 * still gets raw XOR chunks only. The querier reads rollup parts (the gateway's aggregate chunks as
 * fetched); a querier that does not ask for them still gets the joined series with side data.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import {
  CHUNK_TYPE_ROLLUP_PART,
  decodeSeriesChunks,
  HttpServer,
  MAX_SOURCE_RESOLUTION_HEADER,
  ROLLUP_PARTS_HEADER,
  Router,
} from '@strata/api';
import { Labels, Matcher, type Series } from '@strata/model';
import { FilesystemBucket } from '@strata/objstore';
import { Engine } from '@strata/promql';
import { FanoutQueryable, mountQueryApi, RemoteStore } from '@strata/querier';
import { decodeChunkedFrames, encodeReadRequest, RESPONSE_STREAMED_XOR_CHUNKS, snappyEncode } from '@strata/remote';
import { BlockReader, downsampleBlocks, RES_5M, Shipper, TSDB, XORIterator } from '@strata/tsdb';
import { StoreGateway } from '../src/index.js';
import { gatewayTestOptions } from './gateway-options.js';

const dirs: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-sg-rollup-read-'));
  dirs.push(d);
  return d;
};

const TENANT = 'team-a';
const RANGE = 3600_000;
const HOURS = 8;
const SCRAPE = 15_000;
const tenancy = { multiTenancy: true, header: 'X-Scope-OrgID' };

let gateway: StoreGateway;
let server: HttpServer;
let url: string;

beforeAll(async () => {
  const db = await TSDB.open({ dir: tmp(), fsync: 'none', blockDurationMs: RANGE, head: { outOfOrderWindowMs: 0, maxSeries: 0 } });
  const t = await db.tenant(TENANT);
  for (let i = 0; i < (HOURS * RANGE) / SCRAPE; i++) {
    const app = t.appender();
    for (let s = 0; s < 3; s++) {
      // A counter that resets once, and a gauge with a spread of values (for the sketches).
      const c = i < 900 ? i * (s + 1) : (i - 900) * (s + 1);
      app.append(app.ref(Labels.fromObject({ __name__: 'c_total', s: String(s) })), i * SCRAPE, c);
      app.append(app.ref(Labels.fromObject({ __name__: 'latency', s: String(s) })), i * SCRAPE, ((i * 7919 + s * 104729) % 1000) / 10);
    }
    await app.commit();
  }
  await db.compactAll(true);
  const bucketDir = tmp();
  await new Shipper({
    bucket: new FilesystemBucket(bucketDir),
    prefix: `${TENANT}/`,
    blocksDir: t.blocksDir,
    localRetentionMs: Infinity,
    dropLocal: async () => undefined,
  }).sync();
  await db.close();
  const tenantDir = path.join(bucketDir, TENANT);
  const ulids = fs.readdirSync(tenantDir).filter((u) => fs.existsSync(path.join(tenantDir, u, 'meta.json')));
  const raw = await Promise.all(ulids.map((u) => BlockReader.openDir(path.join(tenantDir, u))));
  // The last hour stays raw only: a rollup query falls back to it, and joins the two.
  await downsampleBlocks(raw.slice(0, -1), tenantDir, RES_5M);
  for (const r of raw) await r.close();
  gateway = new StoreGateway(gatewayTestOptions(new FilesystemBucket(bucketDir), tmp()));
  await gateway.start();
  const router = new Router();
  mountQueryApi(router, { queryable: gateway, engine: new Engine(), tenancy, storeInfo: () => gateway.info() });
  server = new HttpServer({ router, registry: new Registry(), logger: pino({ level: 'silent' }) });
  url = `http://127.0.0.1:${(await server.listen('127.0.0.1:0')).port}`;
});

afterAll(async () => {
  await server?.close(100);
  await gateway?.stop();
  dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true }));
});

const remote = () => new RemoteStore({ url, tenantHeader: tenancy.header, timeoutMs: 10_000 });

/** Everything a select answers, values and counts as bits (NaN payloads included), sketches as bytes. */
function flat(ss: Series[]) {
  const bits = (a: Float64Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length * 2));
  return ss.map((s) => ({
    l: s.labels.key(),
    t: Array.from(s.timestamps),
    v: bits(s.values),
    counts: s.rollup && bits(s.rollup.counts),
    // Array.from: a raw sample's missing sketch may be a hole or undefined, the same to the engine.
    sketches: s.rollup?.sketches && Array.from(s.rollup.sketches, (x) => (x ? Buffer.from(x).toString('hex') : '')),
    quantile: s.rollup?.quantile !== undefined,
  }));
}

const FUNCS = ['rate', 'increase', 'irate', 'resets', 'min_over_time', 'max_over_time', 'sum_over_time', 'count_over_time'];
const MORE = ['avg_over_time', 'quantile_over_time', ''];

test.each([...FUNCS, ...MORE])('select for %p from rollups over HTTP equals the gateway in-process', async (func) => {
  for (const name of ['c_total', 'latency']) {
    const matchers = [new Matcher('=', '__name__', name)];
    // A range over the rollup and the raw hour after it, not on window boundaries.
    const hints = {
      start: 20 * 60_000 + 7_000,
      end: HOURS * RANGE - 61_000,
      step: 60_000,
      func,
      range: 10 * 60_000,
      maxResolution: RES_5M,
    };
    const want = await gateway.querier(TENANT).select(matchers, hints);
    const got = await remote().querier(TENANT).select(matchers, hints);
    expect(got.length).toBe(3);
    expect(flat(got)).toEqual(flat(want));
    // From rollups indeed: far fewer samples than the raw data has.
    const raw = await gateway.querier(TENANT).select(matchers, { ...hints, maxResolution: 0 });
    expect(got[0].timestamps.length).toBeLessThan(raw[0].timestamps.length / 4);
    if (['count_over_time', 'avg_over_time', 'quantile_over_time'].includes(func)) expect(got[0].rollup).toBeDefined();
    // Counters keep no sketches (downsample-block.ts); the gauge's come over the wire.
    if (func === 'quantile_over_time' && name === 'latency') expect(got[0].rollup?.sketches?.some((s) => s && s.length > 0)).toBe(true);
  }
});

const QUERIES = [
  'sum(rate(c_total[30m]))',
  'increase(c_total[1h])',
  'max_over_time(latency[1h])',
  'min_over_time(latency[30m])',
  'sum_over_time(latency[1h])',
  'count_over_time(latency[1h])',
  'avg_over_time(latency[1h])',
  'quantile_over_time(0.9, latency[1h])',
  'latency',
];

test.each(QUERIES)('PromQL %p over a remote gateway answers as over the in-process one', async (query) => {
  const engine = new Engine();
  const over = (queryable: FanoutQueryable) => engine.rangeQuery(queryable.querier(TENANT), query, 3600_000, HOURS * RANGE, 30 * 60_000);
  const inProcess = new FanoutQueryable(
    () => [
      { name: 'bucket', queryable: gateway, timeRange: (t: string) => gateway.info()[t] ?? { minTime: Infinity, maxTime: -Infinity } },
    ],
    { replicaLabels: [], partialResponse: false },
  );
  const store = remote();
  const overHttp = new FanoutQueryable(() => [store], { replicaLabels: [], partialResponse: false });
  const want = await over(inProcess);
  const got = await over(overHttp);
  expect(got.result).toEqual(want.result);
  expect(got.result.resultType === 'matrix' && got.result.matrix.length).toBeGreaterThan(0);
});

test('a plain remote-read client (no header) still reads raw XOR chunks only', async () => {
  const matchers = [new Matcher('=', '__name__', 'latency')];
  const hints = { start: 0, end: HOURS * RANGE, step: 60_000, func: 'quantile_over_time', range: 3600_000 };
  const body = snappyEncode(
    encodeReadRequest({
      queries: [
        {
          startMs: hints.start,
          endMs: hints.end,
          matchers,
          hints: {
            stepMs: hints.step,
            func: hints.func,
            startMs: hints.start,
            endMs: hints.end,
            grouping: [],
            by: false,
            rangeMs: hints.range,
          },
        },
      ],
      acceptedResponseTypes: [RESPONSE_STREAMED_XOR_CHUNKS],
    }),
  );
  const r = await fetch(`${url}/api/v1/read`, {
    method: 'POST',
    body,
    headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', [tenancy.header]: TENANT },
  });
  expect(r.status).toBe(200);
  const frames = decodeChunkedFrames(Buffer.from(await r.arrayBuffer()));
  expect(frames.length).toBe(3);
  const want = await gateway.querier(TENANT).select(matchers, hints);
  for (const [i, f] of frames.entries()) {
    expect(f.chunks.every((c) => c.type === 1)).toBe(true);
    const ts: number[] = [];
    for (const c of f.chunks) for (const it = new XORIterator(c.data); it.next();) ts.push(it.t);
    expect(ts).toEqual(Array.from(want[i].timestamps));
    expect(ts.length).toBe((HOURS * RANGE) / SCRAPE);
  }
});

/** A streamed remote-read of one selector with the given extra headers, as frames. */
async function read(
  matchers: Matcher[],
  hints: { start: number; end: number; step: number; func: string; range: number },
  headers: Record<string, string>,
) {
  const body = snappyEncode(
    encodeReadRequest({
      queries: [
        {
          startMs: hints.start,
          endMs: hints.end,
          matchers,
          hints: {
            stepMs: hints.step,
            func: hints.func,
            startMs: hints.start,
            endMs: hints.end,
            grouping: [],
            by: false,
            rangeMs: hints.range,
          },
        },
      ],
      acceptedResponseTypes: [RESPONSE_STREAMED_XOR_CHUNKS],
    }),
  );
  const r = await fetch(`${url}/api/v1/read`, {
    method: 'POST',
    body,
    headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', [tenancy.header]: TENANT, ...headers },
  });
  expect(r.status).toBe(200);
  return decodeChunkedFrames(Buffer.from(await r.arrayBuffer()));
}

test.each(['rate', 'max_over_time', 'count_over_time', ''])(
  'for %p the gateway sends rollup parts only to a querier that asks for them',
  async (func) => {
    const matchers = [new Matcher('=', '__name__', 'c_total')];
    const hints = {
      start: 20 * 60_000 + 7_000,
      end: HOURS * RANGE - 61_000,
      step: 60_000,
      func,
      range: 10 * 60_000,
      maxResolution: RES_5M,
    };
    const want = await gateway.querier(TENANT).select(matchers, hints);
    const res = { [MAX_SOURCE_RESOLUTION_HEADER]: String(RES_5M) };
    const parts = await read(matchers, hints, { ...res, [ROLLUP_PARTS_HEADER]: '1' });
    expect(parts.length).toBe(want.length);
    // Each series as its parts: the rollup block's aggregate chunks, then the raw hour after it.
    for (const f of parts) {
      expect(f.chunks[0].type).toBe(CHUNK_TYPE_ROLLUP_PART);
      expect(f.chunks.filter((c) => c.type === CHUNK_TYPE_ROLLUP_PART).length).toBe(2);
    }
    // An older querier (no parts header) reads the joined series and its side data, as before.
    const older = await read(matchers, hints, res);
    expect(older.every((f) => f.chunks.every((c) => c.type === 1 || c.type === 1001 || c.type === 1002))).toBe(true);
    expect(flat(older.map((f) => ({ labels: f.labels, ...decodeSeriesChunks(f.chunks, hints.start, hints.end) })))).toEqual(flat(want));
  },
);
