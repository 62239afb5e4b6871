import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Labels } from '@strata/model';
import { Engine, type EngineOptions } from '@strata/promql';
import { STALE_NAN, TSDB } from '@strata/tsdb';
import { bodyChunks, failure, type ApiResult } from '@strata/api';
import { formatQueryHandler, instantQueryHandler, parseQueryHandler, rangeQueryHandler } from './promql-api.js';
import { QueryWorkerPool, type PromqlExecutor } from './worker-pool.js';

let db: TSDB;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-qapi-'));
const pools: QueryWorkerPool[] = [];
/** Every case runs with evaluation on this thread and on worker threads: the answers must be the same. */
const EXECUTORS: [string, (o: Partial<EngineOptions>) => PromqlExecutor][] = [
  ['main thread', (o) => new Engine(o)],
  [
    'worker threads',
    (o) => {
      const pool = new QueryWorkerPool({ size: 2, engine: new Engine(o).opts });
      pools.push(pool);
      return pool;
    },
  ],
];
const signal = new AbortController().signal;

beforeAll(async () => {
  db = await TSDB.open({ dir, fsync: 'none', head: { outOfOrderWindowMs: 0, samplesPerChunk: 120, maxSeries: 0 } });
  const app = (await db.tenant('t')).appender();
  const a = app.ref(Labels.fromObject({ __name__: 'm', job: 'a' }));
  const b = app.ref(Labels.fromObject({ __name__: 'm', job: 'b' }));
  const v = new Float64Array(1);
  for (let i = 0; i <= 10; i++) {
    app.append(a, i * 10_000, i);
    v[0] = i === 10 ? STALE_NAN : i === 5 ? NaN : i * 2;
    app.append(b, i * 10_000, v[0]);
  }
  await app.commit();
});
afterAll(async () => {
  await Promise.all(pools.map((x) => x.close()));
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const q = () => db.openTenant('t')!.querier();
const p = (o: Record<string, string>) => new URLSearchParams(o);
/** The answer as a client reads it: the bytes sendResult writes, parsed (workers hand over encoded JSON). */
const sent = (r: ApiResult): ApiResult => ({
  ...r,
  body: JSON.parse(Buffer.concat(bodyChunks(r.body).map((c) => Buffer.from(c))).toString()),
});
const run = async (f: () => Promise<unknown>) => {
  try {
    return await f();
  } catch (e) {
    return failure(e);
  }
};

describe.each(EXECUTORS)('query API JSON, evaluated on the %s', (_, make) => {
  const engine = make({ maxSamples: 1000 });
  test('instant vector: values as strings, timestamps in seconds, NaN spelled out', async () => {
    const r = sent(await instantQueryHandler(p({ query: 'm', time: '50' }), q(), engine, signal));
    expect(r).toEqual({
      status: 200,
      body: {
        status: 'success',
        data: {
          resultType: 'vector',
          result: [
            { metric: { __name__: 'm', job: 'a' }, value: [50, '5'] },
            { metric: { __name__: 'm', job: 'b' }, value: [50, 'NaN'] },
          ],
        },
      },
    });
  });

  test('scalar and string results', async () => {
    expect(sent(await instantQueryHandler(p({ query: '1/0', time: '1' }), q(), engine, signal)).body).toEqual({
      status: 'success',
      data: { resultType: 'scalar', result: [1, '+Inf'] },
    });
    expect(sent(await instantQueryHandler(p({ query: '"x"', time: '1.5' }), q(), engine, signal)).body).toEqual({
      status: 'success',
      data: { resultType: 'string', result: [1.5, 'x'] },
    });
  });

  test('range query: matrix; the stale marker ends the series', async () => {
    const r = sent(await rangeQueryHandler(p({ query: 'm{job="b"}', start: '80', end: '100', step: '10s' }), q(), engine, signal))
      .body as any;
    expect(r.data).toEqual({
      resultType: 'matrix',
      result: [
        {
          metric: { __name__: 'm', job: 'b' },
          values: [
            [80, '16'],
            [90, '18'],
          ],
        },
      ],
    });
  });

  test.each([
    [{ query: 'rate(' }, 400, 'bad_data', /invalid parameter "query": 1:6: parse error/],
    [{ query: 'm', start: '10', end: '5', step: '1' }, 400, 'bad_data', /end timestamp must not be before start time/],
    [{ query: 'm', start: '0', end: '100', step: '0' }, 400, 'bad_data', /zero or negative query resolution step widths are not accepted/],
    [{ query: 'm', start: '0', end: '100000', step: '1' }, 400, 'bad_data', /exceeded maximum resolution of 11,000 points per timeseries/],
    [{ query: 'sum(m[1000s])', time: '100' }, 400, 'bad_data', /expected type instant vector in aggregation, got range vector/],
    [{ query: 'count_over_time(m[1000s:1s])', time: '100' }, 422, 'execution', /query processing would load too many samples into memory/],
  ])('%j -> %d %s', async (params, status, errorType, msg) => {
    const handler = 'start' in params ? rangeQueryHandler : instantQueryHandler;
    const r = (await run(() => handler(p(params as Record<string, string>), q(), engine, signal))) as any;
    expect(r.status).toBe(status);
    expect(r.body.errorType).toBe(errorType);
    expect(r.body.error).toMatch(msg);
  });

  test('format_query and parse_query', () => {
    expect(formatQueryHandler(p({ query: 'sum by(a)(rate(x[5m]))' })).body).toEqual({
      status: 'success',
      data: 'sum by (a) (rate(x[5m]))',
    });
    expect((parseQueryHandler(p({ query: 'x' })).body as any).data).toMatchObject({ type: 'vectorSelector', name: 'x' });
    expect(
      (
        failure(
          (() => {
            try {
              return formatQueryHandler(p({ query: 'x{' }));
            } catch (e) {
              return e;
            }
          })(),
        ) as any
      ).status,
    ).toBe(400);
  });

  test('a query that runs past its timeout is cancelled with 503 timeout', async () => {
    const slow = make({ timeoutMs: 1 });
    const big = 'count_over_time((m + m + m)[10000s:1ms])';
    const r = (await run(() => instantQueryHandler(p({ query: big, time: '100' }), q(), slow, signal))) as any;
    expect(r.status).toBe(503);
    expect(r.body.errorType).toBe('timeout');
  });
});
