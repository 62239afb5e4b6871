/**
 * The notifier against real HTTP servers standing in for Alertmanagers: the v2 payload, batches
 * of at most maxBatch, every Alertmanager served, retries after failures, a bounded queue whose
 * overflow is dropped and counted.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Labels } from '@strata/model';
import { Registry } from 'prom-client';
import type { Alert } from '../src/alert.js';
import { Notifier, type AlertmanagerAlert } from '../src/notifier.js';

interface FakeAM {
  url: string;
  batches: AlertmanagerAlert[][];
  headers: http.IncomingHttpHeaders[];
  close: () => Promise<void>;
}

/** An HTTP server answering POST /api/v2/alerts; the first `failFirst` requests get a 500. */
async function fakeAlertmanager(failFirst = 0, delayMs = 0): Promise<FakeAM> {
  const batches: AlertmanagerAlert[][] = [];
  const headers: http.IncomingHttpHeaders[] = [];
  let n = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      setTimeout(() => {
        if (req.url !== '/api/v2/alerts' || req.method !== 'POST') return void res.writeHead(404).end();
        if (n++ < failFirst) return void res.writeHead(500).end('try again');
        batches.push(JSON.parse(body));
        headers.push(req.headers);
        res.writeHead(200).end();
      }, delayMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    batches,
    headers,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

function alert(i: number, over: Partial<Alert> = {}): Alert {
  return {
    state: 'firing',
    labels: Labels.fromObject({ alertname: 'A', i: String(i), cluster: 'own' }),
    annotations: [['summary', `alert ${i}`]],
    value: 1,
    activeAt: 1_000_000,
    firedAt: 1_060_000,
    resolvedAt: 0,
    lastSentAt: 0,
    validUntil: 1_300_000,
    keepFiringSince: 0,
    ...over,
  };
}

async function metric(registry: Registry, name: string): Promise<number> {
  const m = await registry.getSingleMetric(name)!.get();
  return m.values.reduce((s, v) => s + v.value, 0);
}

test('alerts reach every Alertmanager in batches, with external labels, times and generatorURL', async () => {
  const a = await fakeAlertmanager();
  const b = await fakeAlertmanager();
  const registry = new Registry();
  const n = new Notifier({
    urls: [a.url, b.url],
    externalLabels: new Map([
      ['cluster', 'eu1'],
      ['region', 'west'],
    ]),
    externalURL: 'http://strata.example/',
    maxBatch: 2,
    registry,
  });
  n.notify('t1', 'up == 0', [alert(1), alert(2), alert(3, { resolvedAt: 1_200_000, state: 'inactive' })]);
  await n.flushed();
  for (const am of [a, b]) {
    expect(am.batches.map((x) => x.length)).toEqual([2, 1]);
    expect(am.batches[0][0]).toEqual({
      // The alert's own label wins over the external label of the same name.
      labels: { alertname: 'A', i: '1', cluster: 'own', region: 'west' },
      annotations: { summary: 'alert 1' },
      startsAt: new Date(1_060_000).toISOString(),
      endsAt: new Date(1_300_000).toISOString(),
      generatorURL: 'http://strata.example/graph?g0.expr=up+%3D%3D+0&g0.tab=1',
    });
    // A resolved alert ends when it resolved.
    expect(am.batches[1][0].endsAt).toBe(new Date(1_200_000).toISOString());
  }
  expect(await metric(registry, 'strata_ruler_notifications_sent_total')).toBe(6);
  expect(await metric(registry, 'strata_ruler_notifications_dropped_total')).toBe(0);
  await Promise.all([a.close(), b.close()]);
});

test('a failing Alertmanager is retried; the tenant goes in its header when configured', async () => {
  const am = await fakeAlertmanager(2);
  const registry = new Registry();
  const n = new Notifier({ urls: [am.url], retries: 3, tenantHeader: 'X-Scope-OrgID', registry });
  n.notify('team-a', 'x', [alert(1)]);
  await n.flushed();
  expect(am.batches).toHaveLength(1);
  expect(am.headers[0]['x-scope-orgid']).toBe('team-a');
  expect(await metric(registry, 'strata_ruler_notifications_errors_total')).toBe(0);
  await am.close();
});

test('an Alertmanager that never accepts: the batch is dropped and counted after the retries', async () => {
  const am = await fakeAlertmanager(1000);
  const registry = new Registry();
  const n = new Notifier({ urls: [am.url], retries: 1, registry });
  n.notify('t', 'x', [alert(1), alert(2)]);
  await n.flushed();
  expect(await metric(registry, 'strata_ruler_notifications_errors_total')).toBe(1);
  expect(await metric(registry, 'strata_ruler_notifications_dropped_total')).toBe(2);
  await am.close();
});

test('the queue is bounded: the oldest alerts are dropped and counted', async () => {
  const am = await fakeAlertmanager(0, 200);
  const registry = new Registry();
  const n = new Notifier({ urls: [am.url], queueCapacity: 5, maxBatch: 1, registry });
  // The first alert is taken at once; while it is in flight, 10 more arrive for 5 places.
  n.notify('t', 'x', [alert(0)]);
  n.notify(
    't',
    'x',
    Array.from({ length: 10 }, (_, i) => alert(i + 1)),
  );
  await n.flushed();
  const sent = am.batches.flat().map((x) => x.labels.i);
  expect(sent).toEqual(['0', '6', '7', '8', '9', '10']);
  expect(await metric(registry, 'strata_ruler_notifications_dropped_total')).toBe(5);
  await am.close();
});
