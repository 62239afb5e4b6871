/** The admin routes over a real HTTP server: Prometheus' status codes and parameter rules. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Matcher } from '@strata/model';
import { mountAdminApi } from './admin-api.js';
import { MAX_TIME_MS, MIN_TIME_MS } from './params.js';
import { Router } from './router.js';

type Call = { tenant: string; selectors: string[]; start: number; end: number };

async function serve(enabled: boolean): Promise<{ url: string; calls: Call[]; cleaned: string[]; close: () => Promise<void> }> {
  const calls: Call[] = [];
  const cleaned: string[] = [];
  const router = new Router(['', '/prometheus']);
  mountAdminApi(router, {
    tenancy: { multiTenancy: true, header: 'X-Scope-OrgID' },
    enabled,
    deleteSeries: async (tenant, selectors: Matcher[][], start, end) => {
      calls.push({ tenant, selectors: selectors.map((ms) => ms.map(String).join(',')), start, end });
    },
    cleanTombstones: async (tenant) => void cleaned.push(tenant),
  });
  const server = http.createServer((req, res) => {
    const m = router.match(req.method ?? 'GET', new URL(req.url ?? '/', 'http://x').pathname);
    if (m === undefined || m === 'method-not-allowed') return res.writeHead(m ? 405 : 404).end();
    void m.handler(req, res, m.params);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, calls, cleaned, close: () => new Promise((r) => server.close(() => r())) };
}

const H = { 'X-Scope-OrgID': 'team-a' };
const form = { ...H, 'Content-Type': 'application/x-www-form-urlencoded' };

describe('admin API enabled', () => {
  let s: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => (s = await serve(true)));
  afterAll(() => s.close());

  test.each([
    [
      'POST, query string, RFC 3339 and unix times',
      'POST',
      '?match[]=up&start=2024-01-01T00:00:00Z&end=1704070800',
      undefined,
      204,
      [{ tenant: 'team-a', selectors: ['__name__="up"'], start: 1704067200000, end: 1704070800000 }],
    ],
    [
      'PUT, no range: all time',
      'PUT',
      '?match[]=up{job="a"}',
      undefined,
      204,
      [{ tenant: 'team-a', selectors: ['job="a",__name__="up"'], start: MIN_TIME_MS, end: MAX_TIME_MS }],
    ],
    [
      'POST form body, two selectors',
      'POST',
      '',
      'match[]=a&match[]=b{x=~"y.*"}&end=10',
      204,
      [{ tenant: 'team-a', selectors: ['__name__="a"', 'x=~"y.*",__name__="b"'], start: MIN_TIME_MS, end: 10000 }],
    ],
    ['no match[]', 'POST', '?start=1', undefined, 400, []],
    ['not a selector', 'POST', '?match[]=sum(up)', undefined, 400, []],
    ['end before start', 'POST', '?match[]=up&start=10&end=5', undefined, 400, []],
    ['bad time', 'POST', '?match[]=up&start=yesterday', undefined, 400, []],
  ] as const)('%s', async (_n, method, query, body, status, calls) => {
    s.calls.length = 0;
    const r = await fetch(`${s.url}/api/v1/admin/tsdb/delete_series${query}`, { method, headers: body ? form : H, body });
    expect(r.status).toBe(status);
    if (status === 204) expect(await r.text()).toBe('');
    else expect(await r.json()).toMatchObject({ status: 'error', errorType: 'bad_data' });
    expect(s.calls.map((c) => ({ ...c, selectors: c.selectors.map((x) => x.split(',').sort().join(',')) }))).toEqual(
      calls.map((c) => ({ ...c, selectors: c.selectors.map((x) => x.split(',').sort().join(',')) })),
    );
  });

  test('clean_tombstones answers 204; GET is not a route', async () => {
    expect((await fetch(`${s.url}/prometheus/api/v1/admin/tsdb/clean_tombstones`, { method: 'POST', headers: H })).status).toBe(204);
    expect(s.cleaned).toEqual(['team-a']);
    expect((await fetch(`${s.url}/api/v1/admin/tsdb/delete_series?match[]=up`, { headers: H })).status).toBe(405);
  });
});

test('admin API disabled: 503 unavailable, as Prometheus, and nothing is deleted', async () => {
  const s = await serve(false);
  for (const p of ['delete_series?match[]=up', 'clean_tombstones']) {
    const r = await fetch(`${s.url}/api/v1/admin/tsdb/${p}`, { method: 'POST', headers: H });
    expect({ status: r.status, body: await r.json() }).toEqual({
      status: 503,
      body: { status: 'error', errorType: 'unavailable', error: 'admin APIs disabled' },
    });
  }
  expect(s.calls).toEqual([]);
  expect(s.cleaned).toEqual([]);
  await s.close();
});
