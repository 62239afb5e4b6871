/**
 * A real Prometheus (Debian's package) scrapes itself and Strata and remote-writes to Strata;
 * the series Prometheus holds must be exactly the series Strata holds.
 */
import fs from 'node:fs';
import path from 'node:path';
import { freePort, getJson, startProcess, startStrata, stop, tempDir, waitFor, type Proc, type Strata } from './harness.js';

const PROMETHEUS = '/usr/bin/prometheus';

jest.setTimeout(180_000);

describe('real Prometheus remote_write into Strata', () => {
  let strata: Strata;
  let prom: Proc;
  let promUrl: string;

  beforeAll(async () => {
    expect(fs.existsSync(PROMETHEUS)).toBe(true); // .ci/run installs Debian's prometheus
    strata = await startStrata();
    const promPort = await freePort();
    promUrl = `http://127.0.0.1:${promPort}`;
    const dir = tempDir('prom');
    const cfg = path.join(dir, 'prometheus.yml');
    fs.writeFileSync(
      cfg,
      [
        'global:',
        '  scrape_interval: 1s',
        '  external_labels: {}',
        'scrape_configs:',
        '  - job_name: prometheus',
        `    static_configs: [{ targets: ['127.0.0.1:${promPort}'] }]`,
        '  - job_name: strata',
        `    static_configs: [{ targets: ['127.0.0.1:${strata.port}'] }]`,
        'remote_write:',
        `  - url: ${strata.url}/api/v1/write`,
        '    send_exemplars: false',
        '    queue_config: { batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 1s }',
        '    metadata_config: { send_interval: 2s }',
      ].join('\n'),
    );
    prom = startProcess(PROMETHEUS, [
      `--config.file=${cfg}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
      '--log.level=warn',
    ]);
    await waitFor('prometheus ready', async () => (await fetch(`${promUrl}/-/ready`)).status === 200, 60_000);
  });

  afterAll(async () => {
    if (prom) await stop(prom);
    if (strata) await stop(strata);
  });

  test('the series sets converge to equality', async () => {
    const match = encodeURIComponent('{job=~"prometheus|strata"}');
    let last = { prom: 0, strata: 0, onlyProm: [] as string[], onlyStrata: [] as string[] };
    await waitFor(
      'identical series sets',
      async () => {
        const end = Math.floor(Date.now() / 1000);
        const q = `match[]=${match}&start=${end - 3600}&end=${end + 60}`;
        const [p, s] = await Promise.all([getJson(`${promUrl}/api/v1/series?${q}`), getJson(`${strata.url}/api/v1/series?${q}`)]);
        expect(p.status).toBe('success');
        expect(s.status).toBe('success');
        const key = (o: Record<string, string>) => JSON.stringify(Object.entries(o).sort());
        const ps = new Set<string>(p.data.map(key));
        const ss = new Set<string>(s.data.map(key));
        last = {
          prom: ps.size,
          strata: ss.size,
          onlyProm: [...ps].filter((k) => !ss.has(k)).slice(0, 5),
          onlyStrata: [...ss].filter((k) => !ps.has(k)).slice(0, 5),
        };
        // Both jobs scraped for a while, and every series either side holds is on the other.
        return ps.size > 100 && ss.size === ps.size && last.onlyProm.length === 0;
      },
      90_000,
      1000,
    ).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}: ${JSON.stringify(last)}`);
    });
    const names = await getJson(`${strata.url}/prometheus/api/v1/label/job/values`);
    expect(names.data).toEqual(expect.arrayContaining(['prometheus', 'strata']));
  });

  test('/api/v1/status/tsdb: the same cardinality statistics as Prometheus over the same series', async () => {
    type Stat = { name: string; value: number };
    // Entries above a list's smallest value are certain members of any top 10; at the boundary,
    // ties may be cut differently, so those are compared by value only.
    const certain = (list: Stat[]) => {
      const min = Math.min(...list.map((x) => x.value));
      return {
        min,
        above: list
          .filter((x) => x.value > min)
          .map((x) => `${x.name}=${x.value}`)
          .sort(),
      };
    };
    // memoryInBytesByLabelName is left out: Prometheus 2.42 (the peer here) sums distinct value
    // lengths, Strata reports Prometheus 3's figure (unit-tested against its definition).
    const lists = ['seriesCountByMetricName', 'labelValueCountByLabelName', 'seriesCountByLabelValuePair'] as const;
    let last: unknown;
    await waitFor(
      'identical tsdb status',
      async () => {
        const [p, s] = await Promise.all([
          getJson(`${promUrl}/api/v1/status/tsdb`),
          getJson(`${strata.url}/prometheus/api/v1/status/tsdb`),
        ]);
        expect(s.status).toBe('success');
        const pick = (d: Record<string, Stat[]> & { headStats: Record<string, number> }) => ({
          numSeries: d.headStats.numSeries,
          numLabelPairs: d.headStats.numLabelPairs,
          ...Object.fromEntries(lists.map((l) => [l, certain(d[l])])),
        });
        last = { prometheus: pick(p.data), strata: pick(s.data) };
        return JSON.stringify(pick(p.data)) === JSON.stringify(pick(s.data));
      },
      60_000,
      1000,
    ).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}: ${JSON.stringify(last)}`);
    });
    const limited = await getJson(`${strata.url}/api/v1/status/tsdb?limit=3`);
    expect(limited.data.seriesCountByMetricName).toHaveLength(3);
    expect(limited.data.headStats.chunkCount).toBeGreaterThanOrEqual(limited.data.headStats.numSeries);
    const bad = await fetch(`${strata.url}/api/v1/status/tsdb?limit=0`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ status: 'error', errorType: 'bad_data', error: 'limit must be a positive number' });
  });

  test('PromQL over the remote-written data equals Prometheus on its own data', async () => {
    // Debian's Prometheus (2.42) closes range windows on the left, [t - r, t]; Strata's are
    // Prometheus 3's, (t - r, t]. A scrape exactly at t - r counts in one and not the other (once
    // in a thousand runs with 1 s scrapes and t on a whole second), so t is put half way between
    // two scrapes of the job the range selectors read: no sample lies on a window's edge.
    const own = await getJson(`${promUrl}/api/v1/query?query=${encodeURIComponent('up{job="prometheus"}[5s]')}&time=${Date.now() / 1000}`);
    const scrapeMs = Math.round(Number(own.data.result[0].values[0][0]) * 1000) % 1000;
    const t = Math.floor(Date.now() / 1000) - 10 + ((scrapeMs + 500) % 1000) / 1000;
    const queries = [
      'prometheus_tsdb_head_series{job="prometheus"}',
      'sum by (job) (up)',
      'count by (job) ({job=~"prometheus|strata"})',
      'rate(prometheus_http_requests_total{handler="/metrics"}[30s])',
      'histogram_quantile(0.9, sum by (le) (rate(prometheus_http_request_duration_seconds_bucket[1m])))',
    ];
    const norm = (r: { metric: Record<string, string>; value: [number, string] }[]) =>
      r
        .map((x) => ({ ...x, value: [x.value[0], Number(x.value[1]).toPrecision(10)] }))
        .sort((a, b) => JSON.stringify(a.metric).localeCompare(JSON.stringify(b.metric)));
    for (const query of queries) {
      const q = encodeURIComponent(query);
      const answers = () =>
        Promise.all([
          getJson(`${promUrl}/api/v1/query?query=${q}&time=${t}`),
          getJson(`${strata.url}/prometheus/api/v1/query?query=${q}&time=${t}`),
        ]);
      let [p, s] = await answers();
      // The instant t is past, but a busy machine may still be sending its samples (remote write
      // runs behind the scrapes): asked again until Strata's answer equals, then compared as is.
      await waitFor(
        `${query} equal at t`,
        async () => {
          [p, s] = await answers();
          return s.status === 'success' && JSON.stringify(norm(s.data.result)) === JSON.stringify(norm(p.data.result));
        },
        30_000,
        500,
      ).catch(() => undefined);
      expect({ query, status: s.status, resultType: s.data?.resultType }).toEqual({
        query,
        status: 'success',
        resultType: p.data.resultType,
      });
      expect({ query, result: norm(s.data.result) }).toEqual({ query, result: norm(p.data.result) });
    }
    const range = encodeURIComponent('sum(rate(prometheus_http_requests_total[30s]))');
    const [pr, sr] = await Promise.all([
      getJson(`${promUrl}/api/v1/query_range?query=${range}&start=${t - 20}&end=${t}&step=5`),
      getJson(`${strata.url}/api/v1/query_range?query=${range}&start=${t - 20}&end=${t}&step=5`),
    ]);
    expect(sr.data.resultType).toBe('matrix');
    expect(sr.data.result.map((x: { values: unknown[] }) => x.values.length)).toEqual(
      pr.data.result.map((x: { values: unknown[] }) => x.values.length),
    );
  });
});
