/** Loki's live tail over a real server and a real WebSocket client: messages, parameters, the concurrency limit, cleanup. */
import http, { type IncomingMessage } from 'node:http';
import pino from 'pino';
import { Registry } from 'prom-client';
import WebSocket from 'ws';
import { HttpServer, Router, type TenantLimits } from '@strata/api';
import { Labels } from '@strata/model';
import { LogHead } from '@strata/logs';
import { mountLokiTail } from '../src/index.js';

const nowNs = () => BigInt(Date.now()) * 1_000_000n;

interface TailMsg {
  streams?: { stream: Record<string, string>; values: [string, string][] }[];
  dropped_entries?: { labels: Record<string, string>; timestamp: string }[];
}

async function serve(limits: Partial<TenantLimits> = {}, slowClientBytes?: number) {
  const head = new LogHead();
  const router = new Router();
  const registry = new Registry();
  mountLokiTail(router, {
    logs: { logQuerier: () => head },
    tenancy: { multiTenancy: true, header: 'X-Scope-OrgID' },
    limits: () => limits as TenantLimits,
    registry,
    pollIntervalMs: 50,
    ...(slowClientBytes !== undefined ? { slowClientBytes } : {}),
  });
  router.add('GET', '/plain', (_req, res) => void res.end('plain'));
  const server = new HttpServer({ router, registry, logger: pino({ level: 'silent' }) });
  const addr = await server.listen('127.0.0.1:0');
  const url = (params: Record<string, string>) => `ws://127.0.0.1:${addr.port}/loki/api/v1/tail?${new URLSearchParams(params)}`;
  const push = (labels: Record<string, string>, entries: [bigint, string][]) =>
    head.append(
      Labels.fromObject(labels),
      BigInt64Array.from(entries.map((e) => e[0])),
      entries.map((e) => e[1]),
      undefined,
    );
  const active = async () => (await registry.getSingleMetric('strata_querier_tail_active')!.get()).values[0]?.value ?? 0;
  return { url, port: addr.port, push, active, close: () => server.close(100) };
}

/** A tail client collecting every line it receives. */
function tail(url: string, tenant = 't1') {
  const ws = new WebSocket(url, { headers: { 'X-Scope-OrgID': tenant } });
  const lines: string[] = [];
  const messages: TailMsg[] = [];
  ws.on('message', (data: Buffer) => {
    const m = JSON.parse(data.toString('utf8')) as TailMsg;
    messages.push(m);
    for (const s of m.streams ?? []) for (const [, line] of s.values) lines.push(line);
  });
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, lines, messages, opened };
}

/** The HTTP answer refusing an upgrade. */
function refused(url: string, tenant = 't1'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { 'X-Scope-OrgID': tenant } });
    ws.once('open', () => reject(new Error('upgraded')));
    ws.once('error', () => undefined);
    ws.once('unexpected-response', (_req, res: IncomingMessage) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
  });
}

async function until(cond: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

let api: Awaited<ReturnType<typeof serve>>;
beforeEach(async () => {
  api = await serve({ maxConcurrentTailRequests: 2 });
});
afterEach(async () => api.close());

test('history first (the oldest `limit` since start), then new entries as they land, in order, in Loki’s shape', async () => {
  const t = nowNs() - 10_000_000_000n;
  api.push({ app: 'a' }, [
    [t, 'old-1'],
    [t + 1n, 'old-2'],
    [t + 2n, 'old-3'],
  ]);
  const c = tail(api.url({ query: '{app="a"}', limit: '2', start: String(t) }));
  await c.opened;
  await until(() => c.lines.length >= 2);
  expect(c.lines).toEqual(['old-1', 'old-2']);
  api.push({ app: 'a' }, [[nowNs(), 'live-1']]);
  api.push({ app: 'b' }, [[nowNs(), 'other stream']]);
  await until(() => c.lines.includes('live-1'));
  api.push({ app: 'a' }, [
    [nowNs(), 'live-2'],
    [nowNs() + 1n, 'live-3'],
  ]);
  await until(() => c.lines.length >= 5);
  await new Promise((r) => setTimeout(r, 200));
  expect(c.lines).toEqual(['old-1', 'old-2', 'live-1', 'live-2', 'live-3']);
  expect(c.messages[0].streams![0].stream).toEqual({ app: 'a' });
  expect(c.messages[0].streams![0].values[0]).toEqual([String(t), 'old-1']);
  expect(c.messages.every((m) => m.dropped_entries === undefined)).toBe(true);
  expect(await api.active()).toBe(1);
  c.ws.close();
  await until(async () => (await api.active()) === 0);
});

test('a pipeline applies to tailed lines', async () => {
  const c = tail(api.url({ query: '{app="a"} |= "error" | logfmt | line_format "{{.msg}}"' }));
  await c.opened;
  api.push({ app: 'a' }, [
    [nowNs(), 'level=info msg=quiet'],
    [nowNs() + 1n, 'level=error msg=loud'],
  ]);
  await until(() => c.lines.length >= 1);
  await new Promise((r) => setTimeout(r, 200));
  expect(c.lines).toEqual(['loud']);
  c.ws.close();
});

test('delay_for holds entries back', async () => {
  const c = tail(api.url({ query: '{app="a"}', delay_for: '1' }));
  await c.opened;
  api.push({ app: 'a' }, [[nowNs(), 'held']]);
  await new Promise((r) => setTimeout(r, 400));
  expect(c.lines).toEqual([]);
  await until(() => c.lines.length === 1, 3000);
  c.ws.close();
});

test('bad parameters are refused with 400 before the upgrade', async () => {
  const metric = await refused(api.url({ query: 'rate({app="a"}[1m])' }));
  expect(metric.status).toBe(400);
  expect(metric.body).toMatch(/metric queries cannot be tailed.*err-strata-bad-query/);
  const delay = await refused(api.url({ query: '{app="a"}', delay_for: '6' }));
  expect(delay).toEqual({ status: 400, body: "delay_for can't be greater than 5 (err-strata-bad-query)" });
  expect((await refused(api.url({ query: '{app="a"', limit: '1' }))).status).toBe(400);
  expect((await refused(api.url({ query: '{app="a"}', limit: '5001' }))).body).toMatch(/err-strata-logql-max-entries/);
  expect(await api.active()).toBe(0);
});

test("max_concurrent_tail_requests: one more tail of the tenant gets Loki's 400; another tenant is not counted; closing one frees a place", async () => {
  const a = tail(api.url({ query: '{app="a"}' }));
  const b = tail(api.url({ query: '{app="a"}' }));
  await Promise.all([a.opened, b.opened]);
  const over = await refused(api.url({ query: '{app="a"}' }));
  expect(over).toEqual({
    status: 400,
    body: 'max concurrent tail requests limit exceeded, count > limit (3 > 2) (err-strata-max-concurrent-tail-requests)',
  });
  const other = tail(api.url({ query: '{app="a"}' }), 't2');
  await other.opened;
  expect(await api.active()).toBe(3);
  a.ws.close();
  await until(async () => (await api.active()) === 2);
  const again = tail(api.url({ query: '{app="a"}' }));
  await again.opened;
  for (const c of [b, other, again]) c.ws.close();
  await until(async () => (await api.active()) === 0);
});

test('stopping the server ends open tails', async () => {
  const c = tail(api.url({ query: '{app="a"}' }));
  await c.opened;
  const closed = new Promise<void>((resolve) => c.ws.once('close', () => resolve()));
  await api.close();
  await closed;
  api = await serve();
});

test('an upgrade to something else than a WebSocket (curl --http2 on http) is answered as a plain request', async () => {
  const get = (path: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port: api.port, path, headers: { Connection: 'Upgrade, HTTP2-Settings', Upgrade: 'h2c' } });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('upgrade', () => reject(new Error('upgraded')));
      req.on('error', reject);
    });
  expect(await get('/plain')).toEqual({ status: 200, body: 'plain' });
  expect((await get('/loki/api/v1/tail?query={app="a"}')).status).toBe(404);
});

test('a client that does not read has new entries dropped, and is told which once it reads again', async () => {
  await api.close();
  api = await serve({}, 64 << 10);
  const c = tail(api.url({ query: '{app="a"}' }));
  await c.opened;
  // The client stops reading: what the server sends piles up in the socket buffers, then in ws.
  const socket = (c.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
  socket.pause();
  const line = 'x'.repeat(16 << 10);
  const t = nowNs();
  for (let i = 0; i < 3000; i += 500)
    api.push(
      { app: 'a' },
      Array.from({ length: 500 }, (_, j): [bigint, string] => [t + BigInt(i + j), `${i + j} ${line}`]),
    );
  await new Promise((r) => setTimeout(r, 1500));
  socket.resume();
  await until(() => c.messages.some((m) => m.dropped_entries !== undefined), 10_000);
  const dropped = c.messages.flatMap((m) => m.dropped_entries ?? []);
  expect(dropped[0].labels).toEqual({ app: 'a' });
  expect(BigInt(dropped[0].timestamp)).toBeGreaterThanOrEqual(t);
  // Each entry is either sent or reported dropped (up to Loki's 1000 per message), never both.
  const sent = new Set(c.lines.map((l) => Number(l.split(' ')[0])));
  for (const d of dropped) expect(sent.has(Number(BigInt(d.timestamp) - t))).toBe(false);
  expect(c.lines.length).toBeGreaterThan(0);
  expect(c.lines.length).toBeLessThan(3000);
  c.ws.close();
});
