/**
 * Logs read across receivers: each "receiver" is a real LogStore served by mountLogSelectApi
 * over HTTP, read by RemoteLogStore and merged by FanoutLogQueryable. Entries are spread over
 * the replicas as replication leaves them (each on a random non-empty subset); the merged
 * answer must hold each entry exactly once, in order, whatever the spread, and LogQL counts
 * over it must count each entry once.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import pino from 'pino';
import { Registry } from 'prom-client';
import { HttpServer, Router } from '@strata/api';
import { Labels, Matcher } from '@strata/model';
import { evaluateLogql, LogStore, parseLogql, SampledOutTally, type LogStreamEntries } from '@strata/logs';
import { FanoutLogQueryable, mountLogSelectApi, RemoteLogStore } from '../src/index.js';

const T0 = 1_700_000_000n * 1_000_000_000n;
const ALL = { startNs: 0n, endNs: 2n ** 62n };
const TENANCY = { multiTenancy: true, header: 'X-Scope-OrgID' };

interface Replica {
  store: LogStore;
  url: string;
  close(): Promise<void>;
}

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

async function replica(): Promise<Replica> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-remote-logs-'));
  dirs.push(dir);
  const store = await LogStore.open({ dir, fsync: 'none', cutIntervalMs: 0 });
  const router = new Router();
  mountLogSelectApi(router, { logs: store, tenancy: TENANCY });
  const server = new HttpServer({ router, registry: new Registry(), logger: pino({ level: 'silent' }) });
  const addr = await server.listen('127.0.0.1:0');
  return {
    store,
    url: `http://127.0.0.1:${addr.port}`,
    close: async () => {
      await server.close(100);
      await store.close();
    },
  };
}

let replicas: Replica[];
beforeAll(async () => {
  replicas = [await replica(), await replica(), await replica()];
});
afterAll(async () => {
  for (const r of replicas) await r.close();
});

const fanout = (urls: string[], partialResponse = false) =>
  new FanoutLogQueryable(
    () => urls.map((url) => ({ name: url, logs: new RemoteLogStore({ url, tenantHeader: 'X-Scope-OrgID', timeoutMs: 5000 }) })),
    { partialResponse },
  );

const flat = (streams: LogStreamEntries[]) =>
  streams
    .map((s) => ({ labels: s.labels.toString(), entries: [...s.timestampsNs].map((t, i) => `${t - T0} ${s.lines[i]}`) }))
    .sort((a, b) => (a.labels < b.labels ? -1 : 1));

test('entries spread over replicas read back exactly once, in order, whatever the spread', async () => {
  let run = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({
          stream: fc.integer({ min: 0, max: 2 }),
          t: fc.integer({ min: 0, max: 40 }),
          line: fc.constantFrom('a', 'b', 'level=error c', 'ü d'),
          // Which replicas hold the entry: a non-empty subset, as a quorum (or more) leaves it.
          on: fc.integer({ min: 1, max: 7 }),
        }),
        { maxLength: 40 },
      ),
      async (entries) => {
        const tenant = `p${run++}`;
        const expected = new Map<string, Set<string>>();
        for (const [k, r] of replicas.entries()) {
          const mine = entries.filter((e) => (e.on & (1 << k)) !== 0);
          for (const e of mine) {
            await r.store.push(tenant, [
              {
                labels: Labels.fromObject({ app: 'x', s: String(e.stream) }),
                labelsText: '',
                timestampsNs: BigInt64Array.of(T0 + BigInt(e.t)),
                lines: [e.line],
                metadata: undefined,
              },
            ]);
          }
        }
        for (const e of entries) {
          const key = Labels.fromObject({ app: 'x', s: String(e.stream) }).toString();
          if (!expected.has(key)) expected.set(key, new Set());
          expected.get(key)!.add(`${e.t} ${e.line}`);
        }
        const got = flat(
          await fanout(replicas.map((r) => r.url))
            .logQuerier(tenant)
            .selectLogs([new Matcher('=', 'app', 'x')], ALL),
        );
        const want = [...expected]
          .map(([labels, set]) => ({
            labels,
            entries: [...set].sort((a, b) => Number(a.split(' ')[0]) - Number(b.split(' ')[0])),
          }))
          .sort((a, b) => (a.labels < b.labels ? -1 : 1));
        expect(got.map((s) => s.labels)).toEqual(want.map((s) => s.labels));
        for (let i = 0; i < got.length; i++) {
          // In timestamp order; entries of one timestamp in any order.
          const ts = got[i].entries.map((e) => Number(e.split(' ')[0]));
          expect(ts).toEqual([...ts].sort((a, b) => a - b));
          expect([...got[i].entries].sort()).toEqual([...want[i].entries].sort());
        }
      },
    ),
    { numRuns: 40 },
  );
});

describe('LogQL over three replicas of the same streams', () => {
  const tenant = 'rf3';
  beforeAll(async () => {
    for (const r of replicas) {
      await r.store.push(tenant, [
        {
          labels: Labels.fromObject({ app: 'api', level: 'info' }),
          labelsText: '',
          timestampsNs: BigInt64Array.of(T0 + 1n, T0 + 2n, T0 + 3n),
          lines: ['GET /a 200', 'GET /needle 500', 'GET /b 200'],
          metadata: [undefined, Labels.fromObject({ trace_id: 't1' }), undefined],
        },
      ]);
    }
  });

  test.each<[string, string, unknown]>([
    // The entry with structured metadata is a stream of its own in Loki's answer.
    ['a log query returns each line once', '{app="api"}', ['GET /a 200', 'GET /b 200', 'GET /needle 500']],
    ['a pushed-down filter crosses as a required substring', '{app="api"} |= "needle"', ['GET /needle 500']],
    ['a metric query counts each entry once', 'sum(count_over_time({app="api"}[1m]))', 3],
  ])('%s: %s', async (_, q, expected) => {
    const r = await evaluateLogql(parseLogql(q), fanout(replicas.map((x) => x.url)).logQuerier(tenant), {
      // A log query reads [start, end); a metric query here is one step at end.
      startNs: q.startsWith('{') ? T0 : T0 + 10n,
      endNs: T0 + 10n,
      stepNs: 1n,
      limit: 100,
      direction: 'forward',
    });
    if (r.type === 'streams') expect(r.streams.flatMap((s) => s.lines).sort()).toEqual(expected);
    else if (r.type === 'matrix') expect(r.series.map((s) => s.values[0])).toEqual([expected]);
    else throw new Error(`unexpected ${r.type}`);
  });

  test.each([
    ['forward', ['GET /a 200', 'GET /needle 500']],
    ['backward', ['GET /needle 500', 'GET /b 200']],
  ] as const)('a limit crosses: %s, 2 entries, each once though three replicas return theirs', async (direction, lines) => {
    const [s] = await fanout(replicas.map((x) => x.url))
      .logQuerier(tenant)
      .selectLogs([new Matcher('=', 'app', 'api')], { ...ALL, limit: 2, direction });
    expect(s.lines).toEqual(lines);
  });

  // Regression: receivers once got only the plain substrings of the filters, applied the limit to
  // lines the rest of the filters then dropped, and such a query answered fewer lines than it should.
  test.each([
    ['a regex', '{app="api"} |~ "need.e"'],
    ['a negated substring', '{app="api"} != "200"'],
    ['a pattern', '{app="api"} |> "GET <_> 500"'],
    ['an ip() filter', '{app="api"} != ip("10.0.0.0/8") |= "needle"'],
  ])('a log query with %s filter and a limit finds its lines on the receivers', async (_name, q) => {
    const r = await evaluateLogql(parseLogql(q), fanout(replicas.map((x) => x.url)).logQuerier(tenant), {
      startNs: T0,
      endNs: T0 + 10n,
      stepNs: 0n,
      limit: 1,
      direction: 'backward',
    });
    expect(r.type === 'streams' && r.streams.flatMap((s) => s.lines)).toEqual(['GET /needle 500']);
  });

  test('a receiver refuses filters it cannot read with 400', async () => {
    for (const filters of [
      'x',
      '[{"k":"line","op":"|~","values":["("]}]',
      '[{"k":"line","op":"|=","values":[{"ip":"1.2"}]}]',
      '[{"op":"?"}]',
    ]) {
      const form = new URLSearchParams({ op: 'select', matchers: '[]', start: '0', end: '1', filters });
      const r = await fetch(`${replicas[0].url}/api/v1/logs/select`, { method: 'POST', body: form, headers: { 'X-Scope-OrgID': tenant } });
      expect(r.status).toBe(400);
    }
  });

  test('metadata, labels and values cross; a store answering 404 holds no logs', async () => {
    const q = fanout([...replicas.map((x) => x.url), `${replicas[0].url}/no-logs-here`]).logQuerier(tenant);
    const [s] = await q.selectLogs([new Matcher('=', 'app', 'api')], ALL);
    expect(s.metadata?.[1]?.get('trace_id')).toBe('t1');
    expect(await q.labelNames([], ALL)).toEqual(['app', 'level']);
    expect(await q.labelValues('level', [new Matcher('=~', 'app', 'a.*')], ALL)).toEqual(['info']);
    expect((await q.series([], ALL)).map((l) => l.toString())).toEqual(['{app="api", level="info"}']);
  });

  test('a replica down fails the query, or with partial responses is answered by the others', async () => {
    const urls = [...replicas.map((x) => x.url), 'http://127.0.0.1:1'];
    await expect(fanout(urls).logQuerier(tenant).selectLogs([], ALL)).rejects.toThrow(/store http:\/\/127.0.0.1:1 failed/);
    const got = await fanout(urls, true)
      .logQuerier(tenant)
      .selectLogs([new Matcher('=', 'app', 'api')], ALL);
    expect(got[0].lines).toEqual(['GET /a 200', 'GET /needle 500', 'GET /b 200']);
  });
});

test('lines sampled out at each receiver are summed across them for the stats', async () => {
  const web = Labels.fromObject({ app: 'web' });
  // Two receivers took client pushes for the same stream and sampled them; the third none.
  const tallies = [new SampledOutTally(Infinity), new SampledOutTally(Infinity)];
  tallies[0].add(web, T0, 10);
  tallies[0].add(web, T0 + 1n, 20);
  tallies[1].add(web, T0 + 2n, 5);
  await replicas[0].store.recordSampledOut('sampled', tallies[0]);
  await replicas[1].store.recordSampledOut('sampled', tallies[1]);
  const q = fanout(replicas.map((r) => r.url)).logQuerier('sampled');
  expect(await q.sampledOut!([new Matcher('=', 'app', 'web')], ALL)).toEqual({ entries: 3, bytes: 35 });
  expect(await q.sampledOut!([new Matcher('=', 'app', 'api')], ALL)).toEqual({ entries: 0, bytes: 0 });
  const r = await evaluateLogql(parseLogql('count_over_time({app="web"}[1m])'), q, {
    startNs: T0 + 60_000_000_000n,
    endNs: T0 + 60_000_000_000n,
    stepNs: 0n,
    limit: 100,
    direction: 'backward',
  });
  expect([r.stats.sampledOutLines, r.stats.sampledOutBytes]).toEqual([3, 35]);
});
