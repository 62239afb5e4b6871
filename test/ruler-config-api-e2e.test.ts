/**
 * Multi-tenant rules end to end: `strata all` with multi-tenancy and no rule files; a tenant posts
 * a rule group through Mimir's ruler configuration API exactly as `mimirtool rules load` sends it
 * (no Content-Type, X-Scope-OrgID, the namespace url.PathEscape'd, the body as Go's yaml.Marshal
 * prints it). The recording rule's series appears in that tenant's queries and no other's, the
 * alert reaches Debian's real Alertmanager, and deleting the group stops it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Labels } from '@strata/model';
import { encodeWriteRequestV1, snappyEncode } from '@strata/remote';
import { freePort, getJson, startProcess, startStrata, stop, tempDir, waitFor, type Proc, type Strata } from './harness.js';

jest.setTimeout(120_000);

const ALERTMANAGER = '/usr/bin/prometheus-alertmanager';
const TENANT = 'team-a';

async function push(url: string, tenant: string, value: number): Promise<void> {
  const body = snappyEncode(
    encodeWriteRequestV1([
      { labels: Labels.fromObject({ __name__: 'queue_depth', queue: 'orders' }), timestamps: [Date.now()], values: [value] },
    ]),
  );
  const r = await fetch(`${url}/api/v1/write`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'X-Scope-OrgID': tenant },
  });
  expect(r.status).toBe(204);
}

/** What `mimirtool rules load` sends for one group (pkg/mimirtool/client/rules.go). */
function mimirtool(base: string, method: string, p: string, body?: string) {
  return fetch(`${base}/prometheus/config/v1/rules${p}`, {
    method,
    body,
    headers: { 'User-Agent': 'mimirtool/2.14.0', 'X-Scope-OrgID': TENANT },
  });
}

const GROUP = `name: queues
interval: 1s
rules:
    - record: queue:depth:max
      expr: max by (queue) (queue_depth)
    - alert: QueueBacklog
      expr: queue:depth:max > 100
      for: 2s
      labels:
        severity: ticket
      annotations:
        summary: '{{ $labels.queue }} holds {{ $value }} messages'
`;

describe('rule groups posted through the ruler configuration API', () => {
  let am: Proc | undefined;
  let strata: Strata | undefined;
  let pusher: NodeJS.Timeout | undefined;
  afterAll(async () => {
    clearInterval(pusher);
    if (strata) await stop(strata);
    if (am) await stop(am);
  });

  test('are evaluated in their tenant: the recorded series is queryable, the alert reaches Alertmanager', async () => {
    const dir = tempDir('ruler-config-api');
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

    strata = await startStrata({
      args: [
        '--auth.multitenancy-enabled',
        `--ruler.alertmanager-url=${amURL}`,
        '--ruler.resend-delay=1s',
        '--ruler.poll-interval=1s',
        '--query.lookback-delta=3s',
      ],
    });
    const s = strata;
    // Grafana's alerting UI offers rule management on a data source only when buildinfo says so.
    const info = await getJson(`${s.url}/prometheus/api/v1/status/buildinfo`);
    expect(info.data.features).toEqual({
      ruler_config_api: 'true',
      alertmanager_config_api: 'false',
      query_sharding: 'false',
      federated_rules: 'false',
    });
    const posted = await mimirtool(s.url, 'POST', `/${encodeURIComponent('payments/queues')}`, GROUP);
    expect([posted.status, await posted.json()]).toEqual([202, { status: 'success', data: null, errorType: '', error: '' }]);
    const listed = await mimirtool(s.url, 'GET', '');
    expect(listed.status).toBe(200);
    expect(await listed.text()).toContain('payments/queues:');
    // `mimirtool rules --use-legacy-routes` calls the same handlers under /api/v1/rules.
    const legacy = await fetch(`${s.url}/api/v1/rules/${encodeURIComponent('payments/queues')}/queues`, {
      headers: { 'User-Agent': 'mimirtool/2.14.0', 'X-Scope-OrgID': TENANT },
    });
    expect([legacy.status, await legacy.text()]).toEqual([200, expect.stringContaining('name: queues')]);
    const legacyList = await fetch(`${s.url}/api/v1/rules`, { headers: { 'User-Agent': 'mimirtool/2.14.0', 'X-Scope-OrgID': TENANT } });
    expect(await legacyList.text()).toContain('payments/queues:');

    await push(s.url, TENANT, 250);
    await push(s.url, 'team-b', 250);
    pusher = setInterval(() => {
      void push(s.url, TENANT, 250).catch(() => undefined);
      void push(s.url, 'team-b', 250).catch(() => undefined);
    }, 300);

    const headers = { 'X-Scope-OrgID': TENANT };
    const recorded = await waitFor(
      'recorded series in team-a',
      async () => {
        const q = await getJson(`${s.url}/prometheus/api/v1/query?query=queue:depth:max`, headers);
        return q.data?.result?.length > 0 ? q.data.result : undefined;
      },
      60_000,
      250,
    );
    expect(recorded.map((r: { metric: Record<string, string>; value: [number, string] }) => [r.metric, r.value[1]])).toEqual([
      [{ __name__: 'queue:depth:max', queue: 'orders' }, '250'],
    ]);
    // Another tenant with the same data has no rules, so no recorded series.
    const other = await getJson(`${s.url}/prometheus/api/v1/query?query=queue:depth:max`, { 'X-Scope-OrgID': 'team-b' });
    expect(other.data.result).toEqual([]);

    type AmAlert = { labels: Record<string, string>; annotations: Record<string, string>; status: { state: string } };
    const fired = await waitFor(
      'alert in alertmanager',
      async () => {
        const list = (await (await fetch(`${amURL}/api/v2/alerts`)).json()) as AmAlert[];
        return list.find((a) => a.labels.alertname === 'QueueBacklog');
      },
      60_000,
      250,
    );
    expect(fired.labels).toEqual({ alertname: 'QueueBacklog', queue: 'orders', severity: 'ticket' });
    expect(fired.annotations).toEqual({ summary: 'orders holds 250 messages' });

    // The tenant's rules API shows the group under its namespace; the other tenant's is empty.
    const rules = await getJson(`${s.url}/prometheus/api/v1/rules`, headers);
    expect(rules.data.groups.map((g: { name: string; file: string }) => [g.file, g.name])).toEqual([['payments/queues', 'queues']]);
    expect((await getJson(`${s.url}/prometheus/api/v1/rules`, { 'X-Scope-OrgID': 'team-b' })).data.groups).toEqual([]);

    // A group over the default limit of 20 rules is refused with its ID.
    const big = `name: big\nrules:\n${Array.from({ length: 21 }, (_, i) => `    - record: r${i}\n      expr: vector(${i})\n`).join('')}`;
    const refused = await mimirtool(s.url, 'POST', '/payments', big);
    expect(refused.status).toBe(400);
    expect(await refused.text()).toMatch(/err-strata-ruler-max-rules-per-rule-group/);

    const deleted = await mimirtool(s.url, 'DELETE', `/${encodeURIComponent('payments/queues')}/queues`);
    expect(deleted.status).toBe(202);
    await waitFor('group gone', async () => (await getJson(`${s.url}/prometheus/api/v1/rules`, headers)).data.groups.length === 0, 30_000);
    expect((await mimirtool(s.url, 'GET', '')).status).toBe(404);
  });
});
