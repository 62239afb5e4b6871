/** Loki's read API over HTTP: parameters, defaults, JSON shapes and limits, against a real server. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { HttpServer, parseLogSamplingConfig, Router, type TenantLimits } from '@strata/api';
import { Labels } from '@strata/model';
import { LogStore, SampledOutTally, sampleStreams, type LogQueryable } from '@strata/logs';
import { mountQueryApi, parseLokiTime } from '../src/index.js';
import { Engine } from '@strata/promql';
import { MemoryLogQuerier } from '../../logs/test/memory-log-querier.js';

const T0 = 1_700_000_000n * 1_000_000_000n;
const ns = (s: number) => T0 + BigInt(s) * 1_000_000_000n;

const logs = new MemoryLogQuerier([
  {
    labels: { app: 'api', env: 'prod' },
    entries: [
      [ns(10), 'level=info msg=one'],
      [ns(20), 'level=error msg=two'],
      [ns(30), 'level=info msg=three'],
    ],
  },
  { labels: { app: 'web', env: 'dev' }, entries: [[ns(15), 'level=warn msg=four']] },
]);

const emptyQueryable = { querier: () => ({}) } as never;

async function serve(limits: Partial<TenantLimits> = {}, source: LogQueryable = logs, multiTenancy = false) {
  const router = new Router();
  mountQueryApi(router, {
    queryable: emptyQueryable,
    engine: new Engine(),
    tenancy: { multiTenancy, header: 'X-Scope-OrgID' },
    logs: source,
    limits: () => limits as TenantLimits,
  });
  const server = new HttpServer({ router, registry: new Registry(), logger: pino({ level: 'silent' }) });
  const addr = await server.listen('127.0.0.1:0');
  const base = `http://127.0.0.1:${addr.port}`;
  return {
    get: (path: string, params: Record<string, string> = {}, headers: Record<string, string> = {}) =>
      fetch(`${base}${path}?${new URLSearchParams(params)}`, { headers }),
    post: (path: string, params: Record<string, string>) =>
      fetch(`${base}${path}`, {
        method: 'POST',
        body: new URLSearchParams(params),
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      }),
    close: () => server.close(100),
  };
}

let api: Awaited<ReturnType<typeof serve>>;
beforeAll(async () => {
  api = await serve();
});
afterAll(async () => api.close());

/** The parts of Loki's answers these tests read. */
interface LokiBody {
  status: string;
  version: string;
  data: { resultType: string; result: unknown; stats: { summary: Record<string, number> } };
}
const bodyOf = async (res: Response): Promise<LokiBody> => (await res.json()) as LokiBody;

const win = { start: String(ns(0)), end: String(ns(60)) };

describe('Loki timestamps', () => {
  test.each([
    ['integer seconds (10 digits or fewer)', '1700000000', T0],
    ['integer nanoseconds', '1700000000000000000', T0],
    ['float seconds', '1700000000.5', T0 + 500_000_000n],
    ['RFC 3339', '2023-11-14T22:13:20Z', T0],
    ['RFC 3339 with nanoseconds', '2023-11-14T22:13:20.000000123Z', T0 + 123n],
    ['RFC 3339 with an offset', '2023-11-15T00:13:20+02:00', T0],
  ])('%s', (_name, text, want) => {
    expect(parseLokiTime(text, 0n, 'start')).toBe(want);
  });

  test('absent means the default; junk is refused', () => {
    expect(parseLokiTime(null, 42n, 'start')).toBe(42n);
    expect(() => parseLokiTime('yesterday', 0n, 'start')).toThrow(/cannot parse "yesterday"/);
  });
});

describe('/loki/api/v1/query_range', () => {
  test('a log query answers streams, newest first by default', async () => {
    const res = await api.get('/loki/api/v1/query_range', { query: '{app="api"} |= "info"', ...win });
    expect(res.status).toBe(200);
    const body = await bodyOf(res);
    expect(body.status).toBe('success');
    expect(body.data.resultType).toBe('streams');
    expect(body.data.result).toEqual([
      {
        stream: { app: 'api', env: 'prod' },
        values: [
          [String(ns(30)), 'level=info msg=three'],
          [String(ns(10)), 'level=info msg=one'],
        ],
      },
    ]);
    expect(body.data.stats.summary.totalEntriesReturned).toBe(2);
    expect(body.data.stats.summary.totalLinesProcessed).toBeGreaterThanOrEqual(2);
  });

  test('limit and direction=forward', async () => {
    const res = await api.get('/loki/api/v1/query_range', { query: '{env=~".+"}', ...win, limit: '2', direction: 'forward' });
    const body = await bodyOf(res);
    expect(body.data.result).toEqual([
      { stream: { app: 'api', env: 'prod' }, values: [[String(ns(10)), 'level=info msg=one']] },
      { stream: { app: 'web', env: 'dev' }, values: [[String(ns(15)), 'level=warn msg=four']] },
    ]);
  });

  test('a metric query answers a matrix with float-second timestamps and string values', async () => {
    const res = await api.get('/loki/api/v1/query_range', {
      query: 'sum by (level) (count_over_time({app="api"} | logfmt [20s]))',
      start: '1700000020',
      end: '1700000040',
      step: '10s',
    });
    const body = await bodyOf(res);
    expect(body.data.resultType).toBe('matrix');
    expect(body.data.result).toEqual([
      {
        metric: { level: 'error' },
        values: [
          [1700000020, '1'],
          [1700000030, '1'],
        ],
      },
      {
        metric: { level: 'info' },
        values: [
          [1700000020, '1'],
          [1700000030, '1'],
          [1700000040, '1'],
        ],
      },
    ]);
  });

  test('POST with a form body, as Grafana sends it', async () => {
    const res = await api.post('/loki/api/v1/query_range', {
      query: 'count_over_time({app="web"}[1m])',
      start: '1700000060',
      end: '1700000060',
      step: '1',
    });
    const body = await bodyOf(res);
    expect(body.data.result).toEqual([{ metric: { app: 'web', env: 'dev' }, values: [[1700000060, '1']] }]);
  });

  test("a parse error is a 400 in Loki's shape", async () => {
    const res = await api.get('/loki/api/v1/query_range', { query: '{app="api"', ...win });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/^parse error at line 1, col 11: .*\(err-strata-bad-query\)$/);
  });

  test('a limit above max_entries_limit_per_query (5000 by default) is refused', async () => {
    const res = await api.get('/loki/api/v1/query_range', { query: '{app="api"}', ...win, limit: '5001' });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(
      /max entries limit per query exceeded, limit > max_entries_limit_per_query \(5001 > 5000\).*err-strata-logql-max-entries/,
    );
  });

  test('zero step is refused', async () => {
    const res = await api.get('/loki/api/v1/query_range', { query: 'count_over_time({app="api"}[1m])', ...win, step: '0' });
    expect(res.status).toBe(400);
  });
});

describe('/loki/api/v1/query', () => {
  test('a metric query answers a vector', async () => {
    const res = await api.get('/loki/api/v1/query', { query: 'count_over_time({env=~".+"}[1m])', time: '1700000060' });
    const body = await bodyOf(res);
    expect(body.data.resultType).toBe('vector');
    expect(body.data.result).toEqual([
      { metric: { app: 'api', env: 'prod' }, value: [1700000060, '3'] },
      { metric: { app: 'web', env: 'dev' }, value: [1700000060, '1'] },
    ]);
  });

  test('a scalar answers a scalar', async () => {
    const body = await bodyOf(await api.get('/loki/api/v1/query', { query: '1 + 1', time: '1700000060' }));
    expect(body.data).toMatchObject({ resultType: 'scalar', result: [1700000060, '2'] });
  });

  test('a log query is refused, as Loki 3 does', async () => {
    const res = await api.get('/loki/api/v1/query', { query: '{app="api"}' });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/log queries are not supported as an instant query type/);
  });
});

describe('limits per tenant', () => {
  test('max_query_series', async () => {
    const a = await serve({ maxQuerySeries: 1 });
    try {
      const res = await a.get('/loki/api/v1/query', { query: 'count_over_time({env=~".+"}[1m])', time: '1700000060' });
      expect(res.status).toBe(400);
      expect(await res.text()).toMatch(/maximum number of series \(1\) reached for a single query.*err-strata-logql-max-series/);
      const ok = await a.get('/loki/api/v1/query', { query: 'sum(count_over_time({env=~".+"}[1m]))', time: '1700000060' });
      expect(ok.status).toBe(200);
    } finally {
      await a.close();
    }
  });

  test('volume_max_series', async () => {
    // Two series by app (api, web): a limit of 1 refuses both volume endpoints, 2 and 0 (unlimited) answer.
    const params = { ...win, query: '{env=~".+"}', targetLabels: 'app' };
    for (const [limit, status] of [
      [1, 400],
      [2, 200],
      [0, 200],
    ] as const) {
      const a = await serve({ volumeMaxSeries: limit });
      try {
        for (const p of ['/loki/api/v1/index/volume', '/loki/api/v1/index/volume_range']) {
          const res = await a.get(p, p.endsWith('range') ? { ...params, step: '60s' } : params);
          const text = await res.text();
          expect({ limit, p, status: res.status }).toEqual({ limit, p, status });
          if (status === 400) expect(text).toMatch(/max number of series limit \(limit: 1 series\).*err-strata-logs-volume-max-series/);
          else expect(JSON.parse(text).data.result).toHaveLength(2);
        }
      } finally {
        await a.close();
      }
    }
  });

  test('max_query_length counts the range of the query and its lookback', async () => {
    const a = await serve({ maxQueryLength: 60_000 });
    try {
      const q = { query: 'count_over_time({app="api"}[30s])', step: '10' };
      expect((await a.get('/loki/api/v1/query_range', { ...q, start: '1700000000', end: '1700000030' })).status).toBe(200);
      const res = await a.get('/loki/api/v1/query_range', { ...q, start: '1700000000', end: '1700000040' });
      expect(res.status).toBe(400);
      expect(await res.text()).toMatch(/the query time range exceeds the limit.*err-strata-max-query-length/);
    } finally {
      await a.close();
    }
  });

  test('max_entries_limit_per_query override', async () => {
    const a = await serve({ maxEntriesLimitPerQuery: 2 });
    try {
      expect((await a.get('/loki/api/v1/query_range', { query: '{app="api"}', ...win, limit: '2' })).status).toBe(200);
      expect((await a.get('/loki/api/v1/query_range', { query: '{app="api"}', ...win, limit: '3' })).status).toBe(400);
    } finally {
      await a.close();
    }
  });

  test('query_timeout: a slow store answers 503 with the timeout ID', async () => {
    const slow: LogQueryable = {
      logQuerier: () => ({
        ...logs,
        selectLogs: async (m, h) => {
          await new Promise((r) => setTimeout(r, 200));
          return logs.selectLogs(m, h);
        },
        series: logs.series.bind(logs),
        labelNames: logs.labelNames.bind(logs),
        labelValues: logs.labelValues.bind(logs),
      }),
    };
    const a = await serve({ queryTimeout: 20 }, slow);
    try {
      const res = await a.get('/loki/api/v1/query_range', { query: '{app="api"}', ...win });
      expect(res.status).toBe(503);
      expect(await res.text()).toMatch(/timed out.*err-strata-query-timeout/);
    } finally {
      await a.close();
    }
  });

  test('multi-tenancy needs the tenant header', async () => {
    const a = await serve({}, logs, true);
    try {
      expect((await a.get('/loki/api/v1/labels', win)).status).toBe(401);
      expect((await a.get('/loki/api/v1/labels', win, { 'X-Scope-OrgID': 'team-a' })).status).toBe(200);
    } finally {
      await a.close();
    }
  });
});

describe('metadata endpoints', () => {
  test('labels, label values and series', async () => {
    expect(await (await api.get('/loki/api/v1/labels', win)).json()).toEqual({ status: 'success', data: ['app', 'env'] });
    expect(await (await api.get('/loki/api/v1/label/app/values', win)).json()).toEqual({ status: 'success', data: ['api', 'web'] });
    expect(await (await api.get('/loki/api/v1/label/app/values', { ...win, query: '{env="dev"}' })).json()).toEqual({
      status: 'success',
      data: ['web'],
    });
    expect(await (await api.get('/loki/api/v1/series', { ...win, 'match[]': '{app=~".+"}' })).json()).toEqual({
      status: 'success',
      data: [
        { app: 'api', env: 'prod' },
        { app: 'web', env: 'dev' },
      ],
    });
    expect((await api.get('/loki/api/v1/series', win)).status).toBe(400);
  });

  test('index stats and volume', async () => {
    const bytes = ['level=info msg=one', 'level=error msg=two', 'level=info msg=three'].reduce((n, l) => n + l.length, 0);
    expect(await (await api.get('/loki/api/v1/index/stats', { ...win, query: '{app="api"}' })).json()).toEqual({
      streams: 1,
      chunks: 1,
      entries: 3,
      bytes,
    });
    const vol = await bodyOf(await api.get('/loki/api/v1/index/volume', { ...win, query: '{env=~".+"}', targetLabels: 'app' }));
    expect(vol.data.resultType).toBe('vector');
    expect(vol.data.result).toEqual([
      { metric: { app: 'api' }, value: [1700000060, String(bytes)] },
      { metric: { app: 'web' }, value: [1700000060, String('level=warn msg=four'.length)] },
    ]);
  });

  test('volume: aggregateBy=labels answers one series per label name, with the empty value', async () => {
    const vol = await bodyOf(await api.get('/loki/api/v1/index/volume', { ...win, query: '{app="api"}', aggregateBy: 'labels' }));
    const bytes = ['level=info msg=one', 'level=error msg=two', 'level=info msg=three'].reduce((n, l) => n + l.length, 0);
    expect(vol.data.result).toEqual([
      { metric: { app: '' }, value: [1700000060, String(bytes)] },
      { metric: { env: '' }, value: [1700000060, String(bytes)] },
    ]);
  });

  test('volume_range: one sample per step bucket, at the bucket end', async () => {
    const vol = await bodyOf(
      await api.get('/loki/api/v1/index/volume_range', { ...win, query: '{env=~".+"}', targetLabels: 'app', step: '20s' }),
    );
    expect(vol.data.resultType).toBe('matrix');
    // Ordered by the first sample, as Loki's volume middleware orders them: web's 19 bytes before api's 18.
    expect(vol.data.result).toEqual([
      { metric: { app: 'web' }, values: [[1700000019.999, String('level=warn msg=four'.length)]] },
      {
        metric: { app: 'api' },
        values: [
          [1700000019.999, String('level=info msg=one'.length)],
          [1700000039.999, String('level=error msg=two'.length + 'level=info msg=three'.length)],
        ],
      },
    ]);
  });

  test.each([
    ['limit', { limit: '-1' }, 'limit must be a positive value'],
    ['aggregateBy', { aggregateBy: 'streams' }, 'invalid aggregation option'],
    ['query', { query: '{app=~".*"}' }, 'empty-compatible value'],
    ['window', { start: String(ns(60)), end: String(ns(0)) }, 'end timestamp must not be before or equal to start time'],
  ])('volume refuses a bad %s with 400', async (_name, params, msg) => {
    for (const p of ['/loki/api/v1/index/volume', '/loki/api/v1/index/volume_range']) {
      const res = await api.get(p, { ...win, query: '{app="api"}', ...params });
      expect(res.status).toBe(400);
      expect(await res.text()).toContain(msg);
    }
  });

  test('buildinfo', async () => {
    const body = await bodyOf(await api.get('/loki/api/v1/status/buildinfo'));
    expect(body.version).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe('lines sampled out at ingest, in the stats', () => {
  let dir: string;
  let store: LogStore;
  let sampledApi: Awaited<ReturnType<typeof serve>>;
  /** Each stream's lines left out by sampling: [lines, bytes]. */
  const dropped = new Map<string, [number, number]>();

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-sampled-stats-'));
    store = await LogStore.open({ dir, fsync: 'none', cutIntervalMs: 0 });
    const cfg = parseLogSamplingConfig({ keep: [{ line_regex: 'level=error' }], keep_ratio: 0.25 }, 'test');
    const streams = ['api', 'web'].map((app) => {
      const labels = Labels.fromObject({ app });
      const lines = Array.from({ length: 200 }, (_, i) => `level=${i % 5 ? 'info' : 'error'} app=${app} i=${i}`);
      return {
        labels,
        labelsText: labels.toString(),
        timestampsNs: BigInt64Array.from(lines, (_, i) => ns(i)),
        lines,
        metadata: undefined,
      };
    });
    // What the receiver's push path does: sample into a tally, store what is kept, record the tally.
    const tally = new SampledOutTally(Infinity);
    const { kept } = sampleStreams(streams, cfg, tally);
    await store.push('team-a', kept);
    await store.recordSampledOut('team-a', tally);
    const bytes = (ls: readonly string[]) => ls.reduce((n, l) => n + Buffer.byteLength(l), 0);
    for (const s of streams) {
      const k = kept.find((x) => x.labels.get('app') === s.labels.get('app'))!;
      dropped.set(s.labels.get('app'), [s.lines.length - k.lines.length, bytes(s.lines) - bytes(k.lines)]);
    }
    sampledApi = await serve({}, store, true);
  });
  afterAll(async () => {
    await sampledApi.close();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const statsOf = async (route: string, params: Record<string, string>) => {
    const res = await sampledApi.get(route, params, { 'X-Scope-OrgID': 'team-a' });
    expect(res.status).toBe(200);
    return ((await res.json()) as { data: { stats: { strata: { sampledOutLines: number; sampledOutBytes: number } } } }).data.stats.strata;
  };

  test.each([
    ['a log query of one stream', '/loki/api/v1/query_range', { query: '{app="api"} |= "level"' }, ['api']],
    ['a log query of both', '/loki/api/v1/query_range', { query: '{app=~".+"}' }, ['api', 'web']],
    ['a metric range query', '/loki/api/v1/query_range', { query: 'sum(count_over_time({app="web"}[1m]))', step: '60s' }, ['web']],
    ['an instant query', '/loki/api/v1/query', { query: 'count_over_time({app="web"}[10m])', time: String(ns(300)) }, ['web']],
  ])('%s', async (_name, route, params, apps) => {
    // Every line lies in minutes 0-3 after T0; log range queries read [T0, T0 + 10 min).
    const got = await statsOf(route, { start: String(ns(0)), end: String(ns(600)), ...params });
    const want = apps.map((a) => dropped.get(a)!);
    expect(want.every(([n]) => n > 100)).toBe(true);
    expect(got).toEqual({ sampledOutLines: want.reduce((n, w) => n + w[0], 0), sampledOutBytes: want.reduce((n, w) => n + w[1], 0) });
  });

  test('a range with no sampled minute reports none', async () => {
    expect(await statsOf('/loki/api/v1/query_range', { query: '{app="api"}', start: String(ns(3600)), end: String(ns(7200)) })).toEqual({
      sampledOutLines: 0,
      sampledOutBytes: 0,
    });
  });
});
