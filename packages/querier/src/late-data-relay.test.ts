/** The querier's late-data relay over real HTTP stores: receivers' logs, a store without one, a store down. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { LateDataLog, mountLateDataApi, Router } from '@strata/api';
import { LateDataRelay, mountLateDataRelay } from './late-data-relay.js';

interface Served {
  url: string;
  close: () => Promise<void>;
}

async function serve(router: Router | undefined, failing: () => boolean = () => false): Promise<Served> {
  const server = http.createServer((req, res) => {
    if (failing()) return res.writeHead(503).end('down');
    const m = router?.match(req.method ?? 'GET', new URL(req.url ?? '/', 'http://x').pathname);
    if (m === undefined || m === 'method-not-allowed') return res.writeHead(m ? 405 : 404).end();
    void m.handler(req, res, m.params);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, close: () => new Promise((r) => server.close(() => r())) };
}

function receiver(log: LateDataLog, failing?: () => boolean): Promise<Served> {
  const router = new Router(['']);
  mountLateDataApi(router, log);
  return serve(router, failing);
}

const servers: Served[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

test('notices of every receiver merged under one cursor; stores without a log left out; a store down resets', async () => {
  const a = new LateDataLog(100, 'a');
  const b = new LateDataLog(100, 'b');
  let bDown = false;
  const [ra, rb, gateway] = await Promise.all([receiver(a), receiver(b, () => bDown), serve(new Router(['']))]);
  servers.push(ra, rb, gateway);
  let urls = [ra.url, rb.url, gateway.url];
  const changed: [string, string | undefined][] = [];
  const relay = new LateDataRelay({ urls: () => urls, timeoutMs: 2000, onChanged: (u, t) => changed.push([u, t]) });

  // First read: no cursor for either receiver.
  const first = await relay.read(undefined);
  expect(first).toMatchObject({ reset: true, more: false, bumps: [] });
  expect(changed.sort()).toEqual(
    [
      [ra.url, undefined],
      [rb.url, undefined],
    ].sort(),
  );

  a.add('t1', 10, 20);
  b.add('t2', 30, 40);
  b.add('t1', 50, 60);
  changed.length = 0;
  const second = await relay.read(first.cursor);
  expect(second.reset).toBe(false);
  expect(second.bumps.sort()).toEqual([
    ['t1', 10, 20],
    ['t1', 50, 60],
    ['t2', 30, 40],
  ]);
  expect(changed.sort()).toEqual(
    [
      [ra.url, 't1'],
      [rb.url, 't1'],
      [rb.url, 't2'],
    ].sort(),
  );
  expect(await relay.read(second.cursor)).toMatchObject({ reset: false, bumps: [] });

  // A receiver down: reset, and its cursor kept, so once back nothing it held is lost or resets.
  bDown = true;
  const third = await relay.read(second.cursor);
  expect(third.reset).toBe(true);
  b.add('t3', 70, 80);
  bDown = false;
  const fourth = await relay.read(third.cursor);
  expect(fourth).toMatchObject({ reset: false, bumps: [['t3', 70, 80]] });

  // A restarted receiver (another epoch) resets; a malformed cursor resets.
  const restarted = new LateDataLog(100, 'a2');
  const ra2 = await receiver(restarted);
  servers.push(ra2);
  urls = [ra2.url, rb.url];
  const fifth = await relay.read(fourth.cursor);
  expect(fifth.reset).toBe(true);
  expect((await relay.read(fifth.cursor)).reset).toBe(false);
  expect((await relay.read('not a cursor')).reset).toBe(true);
});

test('an answer is bounded: `more` from a store asks the reader to read again', async () => {
  const a = new LateDataLog(100_000, 'a');
  const ra = await receiver(a);
  servers.push(ra);
  const relay = new LateDataRelay({ urls: () => [ra.url], timeoutMs: 2000 });
  const c0 = (await relay.read(undefined)).cursor;
  for (let i = 0; i < 10_005; i++) a.add('t', i, i);
  const r1 = await relay.read(c0);
  expect([r1.reset, r1.more, r1.bumps.length]).toEqual([false, true, 10_000]);
  const r2 = await relay.read(r1.cursor);
  expect([r2.reset, r2.more, r2.bumps.length]).toEqual([false, false, 5]);
});

test('GET /internal/late-data on the querier', async () => {
  const a = new LateDataLog(100, 'a');
  const ra = await receiver(a);
  const router = new Router(['', '/prometheus']);
  mountLateDataRelay(router, new LateDataRelay({ urls: () => [ra.url], timeoutMs: 2000 }));
  const q = await serve(router);
  servers.push(ra, q);
  const first = (await (await fetch(`${q.url}/internal/late-data`)).json()) as { data: { cursor: string; reset: boolean } };
  expect(first.data.reset).toBe(true);
  a.add('t', 1, 2);
  const next = (await (await fetch(`${q.url}/prometheus/internal/late-data?cursor=${first.data.cursor}`)).json()) as {
    data: { cursor: string };
  };
  expect(next).toEqual({ status: 'success', data: { cursor: expect.any(String), reset: false, more: false, bumps: [['t', 1, 2]] } });
  // A frontend's freshness window reaches the receivers: their threshold for late samples drops to it.
  expect(a.lateAfterMs(60_000)).toBe(60_000);
  await (await fetch(`${q.url}/internal/late-data?cursor=${next.data.cursor}&freshness_ms=5000`)).json();
  expect(a.lateAfterMs(60_000)).toBe(5_000);
});
