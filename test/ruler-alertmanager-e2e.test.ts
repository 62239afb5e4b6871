/**
 * The ruler in `strata all` against Debian's real Alertmanager: a recording rule feeds an
 * alerting rule; the alert goes pending, fires and reaches Alertmanager's /api/v2/alerts with
 * its labels, annotations, external labels and generatorURL; when the data recovers it resolves
 * and leaves Alertmanager's list. The rules and alerts APIs show the same, under / and /prometheus.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Labels } from '@strata/model';
import { encodeWriteRequestV1, snappyEncode } from '@strata/remote';
import { freePort, getJson, startProcess, startStrata, stop, tempDir, waitFor, type Proc, type Strata } from './harness.js';

jest.setTimeout(120_000);

const ALERTMANAGER = '/usr/bin/prometheus-alertmanager';

async function push(url: string, value: number): Promise<void> {
  const body = snappyEncode(
    encodeWriteRequestV1([
      { labels: Labels.fromObject({ __name__: 'probe_success', job: 'web' }), timestamps: [Date.now()], values: [value] },
    ]),
  );
  const r = await fetch(`${url}/api/v1/write`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' },
  });
  expect(r.status).toBe(204);
}

// .ci/run installs Debian's prometheus-alertmanager; without it this fails rather than skips.
describe('ruler with a real Alertmanager', () => {
  let am: Proc | undefined;
  let strata: Strata | undefined;
  let pusher: NodeJS.Timeout | undefined;
  afterAll(async () => {
    clearInterval(pusher);
    if (strata) await stop(strata);
    if (am) await stop(am);
  });

  test('an alert fires, is visible in Alertmanager with its labels and annotations, then resolves', async () => {
    const dir = tempDir('ruler-am');
    const amPort = await freePort();
    fs.writeFileSync(path.join(dir, 'am.yml'), "route:\n  receiver: 'null'\nreceivers:\n  - name: 'null'\n");
    am = startProcess(ALERTMANAGER, [
      `--config.file=${path.join(dir, 'am.yml')}`,
      `--storage.path=${path.join(dir, 'am-data')}`,
      `--web.listen-address=127.0.0.1:${amPort}`,
      '--cluster.listen-address=',
    ]);
    const amURL = `http://127.0.0.1:${amPort}`;
    await waitFor('alertmanager ready', async () => (await fetch(`${amURL}/-/ready`).catch(() => undefined))?.status === 200, 30_000);

    const rules = path.join(dir, 'rules.yml');
    fs.writeFileSync(
      rules,
      [
        'groups:',
        '  - name: probes',
        '    interval: 1s',
        '    rules:',
        '      - record: job:probe_success:min',
        '        expr: min by (job) (probe_success)',
        '      - alert: ProbeFailing',
        '        expr: job:probe_success:min == 0',
        '        for: 2s',
        '        labels:',
        '          severity: page',
        '        annotations:',
        "          summary: 'probe of {{ $labels.job }} failing (value {{ $value }}) in {{ $externalLabels.cluster }}'",
        '',
      ].join('\n'),
    );
    strata = await startStrata({
      args: [
        `--ruler.rule-files=${rules}`,
        `--ruler.alertmanager-url=${amURL}`,
        '--ruler.external-labels=cluster=e2e',
        '--ruler.external-url=http://strata.example:9009',
        '--ruler.resend-delay=1s',
        '--query.lookback-delta=3s',
      ],
    });
    const s = strata;
    await push(s.url, 0);
    pusher = setInterval(() => void push(s.url, 0).catch(() => undefined), 300);

    type AmAlert = { labels: Record<string, string>; annotations: Record<string, string>; generatorURL: string; status: { state: string } };
    const fired = await waitFor(
      'alert in alertmanager',
      async () => {
        const list = (await (await fetch(`${amURL}/api/v2/alerts`)).json()) as AmAlert[];
        return list.find((a) => a.labels.alertname === 'ProbeFailing');
      },
      60_000,
      250,
    );
    expect(fired.labels).toEqual({ alertname: 'ProbeFailing', job: 'web', severity: 'page', cluster: 'e2e' });
    expect(fired.annotations).toEqual({ summary: 'probe of web failing (value 0) in e2e' });
    expect(fired.generatorURL).toBe('http://strata.example:9009/graph?g0.expr=job%3Aprobe_success%3Amin+%3D%3D+0&g0.tab=1');
    expect(fired.status.state).toBe('active');

    for (const prefix of ['', '/prometheus']) {
      const alerts = await getJson(`${s.url}${prefix}/api/v1/alerts`);
      expect(alerts.data.alerts).toEqual([
        expect.objectContaining({ labels: { alertname: 'ProbeFailing', job: 'web', severity: 'page' }, state: 'firing', value: '0e+00' }),
      ]);
      const rulesOut = await getJson(`${s.url}${prefix}/api/v1/rules?type=alert`);
      expect(rulesOut.data.groups).toHaveLength(1);
      expect(rulesOut.data.groups[0]).toMatchObject({ name: 'probes', file: rules, interval: 1 });
      expect(rulesOut.data.groups[0].rules).toEqual([
        expect.objectContaining({
          name: 'ProbeFailing',
          type: 'alerting',
          state: 'firing',
          health: 'ok',
          duration: 2,
          labels: { severity: 'page' },
        }),
      ]);
    }
    const all = await getJson(`${s.url}/api/v1/rules`);
    expect(all.data.groups[0].rules.map((r: { name: string; type: string }) => [r.name, r.type])).toEqual([
      ['job:probe_success:min', 'recording'],
      ['ProbeFailing', 'alerting'],
    ]);
    // The recording rule's and the alert's series were written through the write path.
    const q = await getJson(
      `${s.url}/api/v1/query?query=${encodeURIComponent('ALERTS{alertname="ProbeFailing"} or job:probe_success:min')}`,
    );
    expect(
      q.data.result
        .map((r: { metric: Record<string, string>; value: [number, string] }) => [r.metric.__name__, r.metric.alertstate ?? '', r.value[1]])
        .sort(),
    ).toEqual([
      ['ALERTS', 'firing', '1'],
      ['job:probe_success:min', '', '0'],
    ]);

    // Recovery: the alert resolves, and Alertmanager drops it from its active list.
    clearInterval(pusher);
    pusher = setInterval(() => void push(s.url, 1).catch(() => undefined), 300);
    await waitFor(
      'alert resolved in alertmanager',
      async () => {
        const list = (await (await fetch(`${amURL}/api/v2/alerts`)).json()) as AmAlert[];
        return !list.some((a) => a.labels.alertname === 'ProbeFailing');
      },
      60_000,
      250,
    );
    const after = await getJson(`${s.url}/api/v1/alerts`);
    expect(after.data.alerts).toEqual([]);
  });
});
