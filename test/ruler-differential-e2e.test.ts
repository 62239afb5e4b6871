/**
 * Strata's ruler and a real Prometheus 2.42 evaluate the same rule file (recording and alerting
 * rules, two groups with different intervals) over the same pushed data. The ruler runs as
 * `strata ruler`: queries over HTTP to a `strata all`, results remote-written back to it.
 * Recorded series and ALERTS agree at every evaluation timestamp both made. Expressions read
 * data 3 s old (`offset 3s`), so no evaluation races a push still in flight to one of the two.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Labels } from '@strata/model';
import { encodeWriteRequestV1, snappyEncode } from '@strata/remote';
import { freePort, startProcess, startStrata, stop, tempDir, waitFor, type Proc, type Strata } from './harness.js';

jest.setTimeout(120_000);

const RULES = `groups:
  - name: fast
    interval: 1s
    rules:
      - record: job:requests:rate5s
        expr: sum by (job) (rate(requests_total[5s] offset 3s))
      - record: job:requests:ratio
        expr: job:requests:rate5s / on() group_left sum(job:requests:rate5s)
      - alert: LoadHigh
        expr: sum by (job) (load offset 3s) > 3
        for: 2s
        labels:
          severity: warn
        annotations:
          summary: 'load {{ $value }} on {{ $labels.job }}'
  - name: slow
    interval: 2s
    rules:
      - record: load:max
        expr: max(load offset 3s)
      - record: load:count
        expr: count by (job) (load offset 3s)
`;

async function push(urls: string[], t: number, step: number): Promise<void> {
  const series = [];
  for (const job of ['api', 'web']) {
    series.push({
      labels: Labels.fromObject({ __name__: 'requests_total', job, instance: 'a' }),
      timestamps: [t],
      values: [step * (job === 'api' ? 10 : 3)],
    });
    series.push({ labels: Labels.fromObject({ __name__: 'requests_total', job, instance: 'b' }), timestamps: [t], values: [step * 2] });
    // load rises above 3 for api from step 12 on, and falls back at step 30.
    const load = job === 'api' && step >= 12 && step < 30 ? 5 : 1;
    series.push({ labels: Labels.fromObject({ __name__: 'load', job }), timestamps: [t], values: [load] });
  }
  const body = snappyEncode(encodeWriteRequestV1(series));
  await Promise.all(
    urls.map(async (u) => {
      const r = await fetch(u, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' },
      });
      if (r.status >= 300) throw new Error(`${u}: ${r.status} ${await r.text()}`);
    }),
  );
}

type Samples = Map<string, Map<number, string>>;

async function rawSamples(base: string, selector: string, at: number): Promise<Samples> {
  const r = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(`${selector}[60s]`)}&time=${at / 1000}`);
  const j = (await r.json()) as { data: { result: { metric: Record<string, string>; values: [number, string][] }[] } };
  const out: Samples = new Map();
  for (const s of j.data.result) {
    const key = Labels.fromObject(s.metric).toString();
    out.set(key, new Map(s.values.map(([t, v]) => [Math.round(t * 1000), v])));
  }
  return out;
}

describe('strata ruler against Prometheus 2.42 on the same rules and data', () => {
  let prom: Proc | undefined;
  let all: Strata | undefined;
  let ruler: Strata | undefined;
  afterAll(async () => {
    for (const p of [ruler, all, prom]) if (p) await stop(p);
  });

  test('recorded series and ALERTS agree at the common evaluation timestamps', async () => {
    const dir = tempDir('ruler-diff');
    const rules = path.join(dir, 'rules.yml');
    fs.writeFileSync(rules, RULES);
    fs.writeFileSync(path.join(dir, 'prometheus.yml'), `global:\n  evaluation_interval: 1s\nrule_files:\n  - ${rules}\n`);
    const promPort = await freePort();
    prom = startProcess('/usr/bin/prometheus', [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'prom-data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
      '--web.enable-remote-write-receiver',
      '--query.lookback-delta=5m',
    ]);
    const promURL = `http://127.0.0.1:${promPort}`;
    all = await startStrata({});
    ruler = await startStrata({
      component: 'ruler',
      args: [`--ruler.rule-files=${rules}`, `--ruler.query-url=${all.url}/prometheus`, `--ruler.remote-write-url=${all.url}/api/v1/write`],
    });
    await waitFor('prometheus ready', async () => (await fetch(`${promURL}/-/ready`).catch(() => undefined))?.status === 200, 30_000);

    const STEP = 500;
    const started = Math.floor(Date.now() / STEP) * STEP;
    for (let step = 0; step < 40; step++) {
      const t = started + step * STEP;
      await new Promise((r) => setTimeout(r, Math.max(0, t - Date.now())));
      await push([`${promURL}/api/v1/write`, `${all.url}/api/v1/write`], t, step);
    }
    const at = Date.now();
    let compared = 0;
    for (const sel of ['job:requests:rate5s', 'job:requests:ratio', 'load:max', 'load:count', 'ALERTS', 'ALERTS_FOR_STATE']) {
      const [p, s] = await Promise.all([rawSamples(promURL, sel, at), rawSamples(all.url, sel, at)]);
      expect({ sel, series: [...s.keys()].sort() }).toEqual({ sel, series: [...p.keys()].sort() });
      for (const [key, pv] of p) {
        const sv = s.get(key)!;
        const common = [...pv.keys()].filter((t) => sv.has(t));
        // A pending alert lasts `for` (two evaluations); everything else was evaluated for seconds.
        expect({ key, enough: common.length >= (key.includes('pending') ? 1 : 3) }).toEqual({ key, enough: true });
        for (const t of common) expect({ key, t, v: sv.get(t) }).toEqual({ key, t, v: pv.get(t) });
        compared += common.length;
      }
    }
    expect(compared).toBeGreaterThan(50);
    // The alert went pending, then firing, in both.
    const alerts = await rawSamples(all.url, 'ALERTS', at);
    expect([...alerts.keys()].sort()).toEqual([
      'ALERTS{alertname="LoadHigh", alertstate="firing", job="api", severity="warn"}',
      'ALERTS{alertname="LoadHigh", alertstate="pending", job="api", severity="warn"}',
    ]);
  });
});
