/**
 * The query API's JSON encoded on a worker thread is byte for byte what the main thread encodes:
 * the same requests to two real HTTP servers over one TSDB, one evaluating on this thread (the
 * Engine) and one on the worker pool (the worker encodes the result, this thread splices the
 * bytes into the envelope), compared as raw response bytes with their status and headers. The
 * table covers every result type, NaN, ±Inf and stale markers, native histograms (alone and mixed
 * with floats), empty results, label values JSON must escape, `limit` truncation, and warnings and
 * infos from the engine, from the stores (partial responses) and from both at once.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { bodyChunks, EncodedJson, HttpServer, Router, success } from '@strata/api';
import { Labels, type Querier, type SelectHints } from '@strata/model';
import { Engine } from '@strata/promql';
import { STALE_NAN, TSDB, type HistogramSample, type TenantDB } from '@strata/tsdb';
import { mountQueryApi } from './query-api.js';
import { QueryWorkerPool, type PromqlExecutor } from './worker-pool.js';

const MIN = 60_000;
const T0 = 1_000 * MIN;
const END = T0 + 60 * MIN;
let dir: string;
let db: TSDB;
let tenant: TenantDB;
let pool: QueryWorkerPool;
const servers: HttpServer[] = [];
let mainUrl: string;
let workerUrl: string;

/** Positive buckets of schema 0 with these counts (absolute for floats; integer samples carry deltas). */
function histogram(counts: number[], float: boolean): HistogramSample {
  const total = counts.reduce((a, b) => a + b, 0);
  return {
    schema: 0,
    zeroThreshold: 1e-128,
    zeroCount: 1,
    count: total + 1,
    sum: total * 1.25,
    positiveSpans: [{ offset: 0, length: counts.length }],
    positiveBuckets: float ? counts : counts.map((c, i) => c - (i > 0 ? counts[i - 1] : 0)),
    negativeSpans: [],
    negativeBuckets: [],
    customValues: [],
  };
}

/** The tenant's querier, with a store left out of the answer (a partial-response warning) for selects of `flaky`. */
function withFlakyStore(q: Querier): Querier {
  const warnFor = (ms: readonly { name: string; value: string }[], h: SelectHints) => {
    if (ms.some((m) => m.name === '__name__' && m.value === 'flaky')) h.warn?.('store "gw-2" left out of the answer: connection refused');
  };
  return {
    select: (ms, h) => (warnFor(ms, h), q.select(ms, h)),
    selectRawInto: (ms, h, into) => (warnFor(ms, h), q.selectRawInto!(ms, h, into)),
    series: (ms, h) => q.series(ms, h),
    labelNames: (ms, h) => q.labelNames(ms, h),
    labelValues: (n, ms, h) => q.labelValues(n, ms, h),
  };
}

async function serve(engine: PromqlExecutor): Promise<string> {
  const router = new Router();
  mountQueryApi(router, {
    queryable: { querier: () => withFlakyStore(tenant.querier()) },
    engine,
    tenancy: { multiTenancy: false, header: 'X-Scope-OrgID' },
  });
  const server = new HttpServer({ router, registry: new Registry(), logger: pino({ level: 'silent' }) });
  servers.push(server);
  const addr = await server.listen('127.0.0.1:0');
  return `http://127.0.0.1:${addr.port}`;
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-result-json-'));
  db = await TSDB.open({ dir, fsync: 'none', compactIntervalMs: 0, head: { outOfOrderWindowMs: 0, samplesPerChunk: 60, maxSeries: 0 } });
  tenant = await db.tenant('t');
  const app = tenant.appender();
  const counters = ['a', 'b', 'c'].map((i) => app.ref(Labels.fromObject({ __name__: 'req_total', job: 'api', instance: i })));
  const gauge = app.ref(Labels.fromObject({ __name__: 'temp', room: 'x' }));
  const flaky = app.ref(Labels.fromObject({ __name__: 'flaky', job: 'api' }));
  // Label values JSON must escape: quotes, backslashes, control characters, non-ASCII, U+2028, a lone surrogate.
  const odd = app.ref(Labels.fromObject({ __name__: 'odd', v: 'say "hi"\\ \n\t\u0001 é 漢 \u2028 \ud800 😀' }));
  const hists = ['api', 'web'].map((job) => app.ref(Labels.fromObject({ __name__: 'lat_seconds', job })));
  const hgauge = app.ref(Labels.fromObject({ __name__: 'lat_gauge' }));
  let k = 0;
  for (let t = T0; t <= END; t += 15_000, k++) {
    counters.forEach((r, i) => app.append(r, t, k * (i + 1) + 0.1 * i));
    // NaN, both infinities, tiny and huge values, and a stale marker now and then.
    const v = k % 50 === 49 ? STALE_NAN : k % 31 === 0 ? NaN : k % 37 === 0 ? Infinity : k % 41 === 0 ? -Infinity : Math.sin(k) * 1e-7;
    app.append(gauge, t, k % 17 === 0 ? 1.5e300 : v);
    app.append(flaky, t, k);
    app.append(odd, t, -k / 3);
    hists.forEach((r, j) => app.appendHistogram(r, t, histogram([k, 2 * k + j, k % 5, 3], false), false, 0));
    app.appendHistogram(hgauge, t, histogram([k % 7, 1 + (k % 3), 2.5], true), true, 3);
  }
  await app.commit();
  pool = new QueryWorkerPool({ size: 1, engine: new Engine().opts });
  mainUrl = await serve(new Engine());
  workerUrl = await serve(pool);
});

afterAll(async () => {
  for (const s of servers) await s.close(100);
  await pool.close();
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const s = (ms: number) => String(ms / 1000);
const instant = (query: string, t = END, extra: Record<string, string> = {}) =>
  `/api/v1/query?${new URLSearchParams({ query, time: s(t), ...extra })}`;
const range = (query: string, extra: Record<string, string> = {}, step = '60') =>
  `/api/v1/query_range?${new URLSearchParams({ query, start: s(T0), end: s(END), step, ...extra })}`;

/** [what it covers, request path]. */
const CASES: [string, string][] = [
  ['scalar +Inf', instant('1/0')],
  ['scalar -Inf', instant('-1/0')],
  ['scalar NaN', instant('0/0')],
  ['scalar from a vector', instant('scalar(sum(req_total))')],
  ['scalar at a fractional time', instant('time()', T0 + 1_234)],
  ['string with quotes', instant('"a \\"quoted\\" string"')],
  ['vector of floats', instant('req_total')],
  ['vector at a NaN sample', instant('temp', T0 + 31 * 15_000)],
  ['vector at a +Inf sample', instant('temp', T0 + 37 * 15_000)],
  ['vector at a -Inf sample', instant('temp', T0 + 41 * 15_000)],
  ['vector of a huge value', instant('temp', T0 + 17 * 15_000)],
  ['vector of tiny values', instant('temp', T0 + 3 * 15_000)],
  ['vector after a stale marker (empty)', instant('temp', T0 + 49 * 15_000)],
  ['empty vector', instant('nothing')],
  ['labels JSON must escape', instant('odd')],
  ['native histograms (integer counters)', instant('lat_seconds')],
  ['native histogram (float gauge)', instant('lat_gauge')],
  ['native histograms after rate', instant('rate(lat_seconds[5m])')],
  ['histograms and floats in one vector', instant('{__name__=~"lat_.*|req_total"}')],
  ['range vector from an instant query', instant('req_total[1m]')],
  ['range vector of histograms from an instant query', instant('lat_gauge[1m]')],
  ['vector with limit', instant('req_total', END, { limit: '2' })],
  ['vector with a limit above its size', instant('req_total', END, { limit: '10' })],
  ['matrix of floats', range('rate(req_total[5m])')],
  ['matrix with NaN, ±Inf and stale gaps', range('temp', {}, '15')],
  ['matrix of labels JSON must escape', range('odd')],
  ['matrix of native histograms', range('rate(lat_seconds[5m])')],
  ['matrix mixing histogram and float series', range('{__name__=~"lat_gauge|temp"}')],
  ['matrix of histogram functions', range('histogram_quantile(0.9, sum(rate(lat_seconds[5m])))')],
  ['empty matrix', range('nothing')],
  ['matrix with limit', range('req_total', { limit: '1' })],
  ['scalar over a range', range('time()')],
  ['engine warning', instant('limit_ratio(2, req_total)')],
  ['engine info', instant('1 + lat_gauge')],
  ['engine info over a range', range('1 + lat_gauge')],
  ['store warning (partial response)', instant('flaky')],
  ['store warning and engine warning', instant('limit_ratio(2, flaky)')],
  ['store warning, limit warning and engine info', range('req_total or flaky or (1 + lat_gauge)', { limit: '1' })],
  ['store warning over a range', range('rate(flaky[5m])')],
];

describe('the JSON a worker encodes is byte for byte what the main thread encodes', () => {
  test.each(CASES)('%s', async (_, url) => {
    const [a, b] = await Promise.all([fetch(mainUrl + url), fetch(workerUrl + url)]);
    const [want, got] = await Promise.all([a.arrayBuffer(), b.arrayBuffer()]);
    expect(a.status).toBe(200);
    expect(b.status).toBe(a.status);
    expect(b.headers.get('content-length')).toBe(a.headers.get('content-length'));
    expect(b.headers.get('content-type')).toBe(a.headers.get('content-type'));
    expect(Buffer.from(got).toString('utf8')).toBe(Buffer.from(want).toString('utf8'));
    expect(Buffer.compare(Buffer.from(got), Buffer.from(want))).toBe(0);
  });

  test('the table reaches what it claims: warnings, infos, histograms, truncation', async () => {
    const body = async (url: string) => (await (await fetch(workerUrl + url)).json()) as Record<string, any>;
    expect((await body(instant('limit_ratio(2, flaky)'))).warnings).toHaveLength(2);
    expect((await body(instant('1 + lat_gauge'))).infos).toHaveLength(1);
    const mixed = await body(range('req_total or flaky or (1 + lat_gauge)', { limit: '1' }));
    expect([mixed.warnings, mixed.infos.length, mixed.data.result.length]).toEqual([
      ['results truncated due to limit', 'store "gw-2" left out of the answer: connection refused'],
      1,
      1,
    ]);
    expect((await body(instant('lat_seconds'))).data.result[0].histogram[1].buckets.length).toBeGreaterThan(0);
    expect((await body(range('temp', {}, '15'))).data.result[0].values.map((v: [number, string]) => v[1])).toEqual(
      expect.arrayContaining(['NaN', '+Inf', '-Inf']),
    );
  });
});

describe('envelopes around encoded data', () => {
  const data = { resultType: 'vector', result: [{ metric: { a: '"\u2028' }, value: [1.5, 'NaN'] }] };
  const bytes = new TextEncoder().encode(JSON.stringify(data));
  const text = (body: unknown) => Buffer.concat(bodyChunks(body).map((c) => Buffer.from(c))).toString('utf8');

  // [warnings, infos, warnings added afterwards as query-api.ts adds a partial response's]
  test.each([
    [[], [], undefined],
    [['w1'], [], undefined],
    [[], ['i1'], undefined],
    [['w1', 'w"2'], ['i1'], undefined],
    [[], ['i1'], ['store down']],
    [['w1'], ['i1'], ['store down']],
  ])('warnings %j, infos %j, later warnings %j', (warnings, infos, later) => {
    const plain = success(data, [...warnings], [...infos]).body as { warnings?: string[] };
    const encoded = success(new EncodedJson(bytes), [...warnings], [...infos]).body as { warnings?: string[] };
    for (const b of [plain, encoded]) if (later) b.warnings = [...new Set([...(b.warnings ?? []), ...later])];
    expect(text(encoded)).toBe(JSON.stringify(plain));
    // Anything stringifying the body itself still gets the same JSON.
    expect(JSON.stringify(encoded)).toBe(JSON.stringify(plain));
  });
});
