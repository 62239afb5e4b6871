/** The standalone frontend's late-data poller: what it does to the generations, over real HTTP. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { LateDataLog, mountLateDataApi, Router } from '@strata/api';
import { HttpDownstream } from './downstream.js';
import { Generations } from './generations.js';
import { LateDataPoller } from './late-data-poller.js';

const H = 3_600_000;

function poller(g: Generations, sources: { name: string; downstream: HttpDownstream }[] = [], registry = new Registry()) {
  return new LateDataPoller({ sources, generations: g, intervalMs: 50, timeoutMs: 2000, registry });
}

async function metric(registry: Registry, name: string, labels?: Record<string, string>): Promise<number> {
  const m = (await registry.getSingleMetric(name)!.get()).values;
  return m.find((v) => !labels || Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value ?? 0;
}

test("a notice bumps its tenant's hours only; a reset bumps every tenant's whole history", async () => {
  const g = new Generations(H);
  const registry = new Registry();
  const p = poller(g, [], registry);
  const before = { a5: g.sum('a', 5 * H, 5 * H), a9: g.sum('a', 9 * H, 9 * H), b5: g.sum('b', 5 * H, 5 * H) };
  expect(p.apply('q', { cursor: 'c1', reset: false, more: false, bumps: [['a', 5 * H + 1, 6 * H - 1]] })).toBe(false);
  expect(g.sum('a', 5 * H, 5 * H)).toBeGreaterThan(before.a5);
  expect(g.sum('a', 9 * H, 9 * H)).toBe(before.a9);
  expect(g.sum('b', 5 * H, 5 * H)).toBe(before.b5);
  expect(await metric(registry, 'strata_query_frontend_late_data_notices_total')).toBe(1);

  const mid = { a9: g.sum('a', 9 * H, 9 * H), b5: g.sum('b', 5 * H, 5 * H), never: g.sum('never-seen', 0, 100 * H) };
  expect(p.apply('q', { cursor: 'c2', reset: true, more: true, bumps: [] })).toBe(true);
  expect(g.sum('a', 9 * H, 9 * H)).toBeGreaterThan(mid.a9);
  expect(g.sum('b', 5 * H, 5 * H)).toBeGreaterThan(mid.b5);
  expect(g.sum('never-seen', 0, 100 * H)).toBeGreaterThan(mid.never);
  expect(await metric(registry, 'strata_query_frontend_late_data_invalidations_total', { reason: 'reset' })).toBe(1);

  const end = g.sum('b', 5 * H, 5 * H);
  p.failed('q', 'connection refused');
  expect(g.sum('b', 5 * H, 5 * H)).toBeGreaterThan(end);
  expect(await metric(registry, 'strata_query_frontend_late_data_invalidations_total', { reason: 'poll_failed' })).toBe(1);
});

describe('polling a late-data endpoint over HTTP', () => {
  const log = new LateDataLog(100_000, 'e');
  let failing = false;
  let served = 0;
  let server: http.Server;
  let downstream: HttpDownstream;
  beforeAll(async () => {
    const router = new Router(['']);
    mountLateDataApi(router, log);
    server = http.createServer((req, res) => {
      served++;
      if (failing) return res.writeHead(503).end('down');
      const m = router.match(req.method ?? 'GET', new URL(req.url ?? '/', 'http://x').pathname);
      if (m === undefined || m === 'method-not-allowed') return res.writeHead(404).end();
      void m.handler(req, res, m.params);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    downstream = new HttpDownstream({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, timeoutMs: 2000 });
  });
  afterAll(async () => {
    downstream.close();
    await new Promise((r) => server.close(r));
  });

  test('first poll resets, later ones apply notices; a failed poll invalidates everything and keeps the cursor', async () => {
    const g = new Generations(H);
    const registry = new Registry();
    const p = poller(g, [{ name: 'q', downstream }], registry);
    const g0 = g.sum('a', 0, 0);
    await p.poll();
    // Nothing known yet: everything counts as changed (nothing was cached before it anyway).
    expect(g.sum('a', 0, 0)).toBe(g0 + 1);

    log.add('a', 2 * H, 2 * H);
    const [h1, h2] = [g.sum('a', H, H), g.sum('a', 2 * H, 2 * H)];
    await p.poll();
    expect([g.sum('a', H, H), g.sum('a', 2 * H, 2 * H)]).toEqual([h1, h2 + 1]);
    await p.poll();
    expect(g.sum('a', 2 * H, 2 * H)).toBe(h2 + 1);

    failing = true;
    await p.poll();
    expect(g.sum('a', H, H)).toBe(h1 + 1);
    log.add('a', 7 * H, 7 * H);
    failing = false;
    const h7 = g.sum('a', 7 * H, 7 * H);
    const invalidations = await metric(registry, 'strata_query_frontend_late_data_invalidations_total', { reason: 'reset' });
    await p.poll();
    // The notice logged while the poll failed is read from the kept cursor: no reset.
    expect(g.sum('a', 7 * H, 7 * H)).toBe(h7 + 1);
    expect(await metric(registry, 'strata_query_frontend_late_data_invalidations_total', { reason: 'reset' })).toBe(invalidations);
    expect(await metric(registry, 'strata_query_frontend_late_data_notices_total')).toBe(2);
  });

  test('a backlog longer than one answer is read in the same poll', async () => {
    const g = new Generations(H);
    const p = poller(g, [{ name: 'q', downstream }]);
    await p.poll();
    for (let i = 0; i < 10_500; i++) log.add('b', 3 * H, 3 * H);
    const b3 = g.sum('b', 3 * H, 3 * H);
    const n = served;
    await p.poll();
    expect(served - n).toBe(2);
    expect(g.sum('b', 3 * H, 3 * H)).toBe(b3 + 10_500);
  });

  test('start() polls at once and then every interval until stop()', async () => {
    const g = new Generations(H);
    const p = poller(g, [{ name: 'q', downstream }]);
    const n = served;
    await p.start();
    expect(served - n).toBe(1);
    log.add('c', 4 * H, 4 * H);
    const c4 = g.sum('c', 4 * H, 4 * H);
    const deadline = Date.now() + 5000;
    while (g.sum('c', 4 * H, 4 * H) === c4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    p.stop();
    expect(g.sum('c', 4 * H, 4 * H)).toBe(c4 + 1);
    const after = served;
    await new Promise((r) => setTimeout(r, 200));
    expect(served - after).toBeLessThanOrEqual(1);
  });
});
