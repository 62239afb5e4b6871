/**
 * Loki's live tail end to end: `strata all` (its query frontend passing the WebSocket upgrade to
 * the in-process querier) and a `strata query-frontend` in front of it. Lines pushed with Loki's
 * push API come out of an open tail, and so do lines pushed after it opened; the tenant's
 * max_concurrent_tail_requests refuses one more tail with Loki's 400 before the upgrade. And a
 * `strata querier` tails a `strata receiver`'s head across processes.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import { startStrata, stop, tempDir, waitFor, type Strata } from './harness.js';
import { writeObjstoreConfig } from './objstore-config.js';

jest.setTimeout(60_000);

const TENANT = 'anonymous';
const nowNs = () => BigInt(Date.now()) * 1_000_000n;

async function push(url: string, lines: string[]): Promise<void> {
  const t = nowNs();
  const r = await fetch(`${url}/loki/api/v1/push`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      streams: [{ stream: { app: 'tail', job: 'tail-e2e' }, values: lines.map((l, i) => [String(t + BigInt(i)), l]) }],
    }),
  });
  expect([r.status, await r.text()]).toEqual([204, '']);
}

function wsUrl(base: string, params: Record<string, string>): string {
  return `${base.replace(/^http/, 'ws')}/loki/api/v1/tail?${new URLSearchParams(params)}`;
}

function tail(base: string, query = '{app="tail"}') {
  const ws = new WebSocket(wsUrl(base, { query }));
  const lines: string[] = [];
  ws.on('message', (data: Buffer) => {
    const m = JSON.parse(data.toString('utf8')) as { streams?: { stream: Record<string, string>; values: [string, string][] }[] };
    for (const s of m.streams ?? []) {
      expect(s.stream).toEqual({ app: 'tail', job: 'tail-e2e' });
      for (const [, line] of s.values) lines.push(line);
    }
  });
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res: IncomingMessage) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    ws.once('error', reject);
  });
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  return { ws, lines, opened, closed };
}

function refused(base: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl(base, { query: '{app="tail"}' }));
    ws.once('open', () => reject(new Error('upgraded past the limit')));
    ws.once('error', () => undefined);
    ws.once('unexpected-response', (_req, res: IncomingMessage) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
  });
}

const has = (c: { lines: string[] }, want: string[]) =>
  waitFor(`lines ${want.join(',')}`, async () => want.every((w) => c.lines.includes(w)), 10_000, 50);

test('strata querier tails the logs of strata receiver over the log select API', async () => {
  const root = tempDir('logs-tail-split');
  const objstore = writeObjstoreConfig(root);
  const receiver = await startStrata({
    component: 'receiver',
    dataDir: path.join(root, 'receiver'),
    args: [`--objstore.config-file=${objstore}`],
  });
  let querier: Strata | undefined;
  try {
    querier = await startStrata({ component: 'querier', dataDir: path.join(root, 'querier'), args: [`--querier.stores=${receiver.url}`] });
    await push(receiver.url, ['r-1']);
    const c = tail(querier.url);
    await c.opened;
    await has(c, ['r-1']);
    await push(receiver.url, ['r-2', 'r-3']);
    await has(c, ['r-1', 'r-2', 'r-3']);
    expect(c.lines).toEqual(['r-1', 'r-2', 'r-3']);
    c.ws.close();
    await c.closed;
  } finally {
    if (querier) await stop(querier);
    await stop(receiver);
  }
});

describe('live tail through strata all and a standalone query frontend', () => {
  let strata: Strata | undefined;
  let frontend: Strata | undefined;
  afterAll(async () => {
    if (frontend) await stop(frontend);
    if (strata) await stop(strata);
  });

  test('pushed lines, then lines pushed later, reach open tails; one tail over the limit is refused', async () => {
    const root = tempDir('logs-tail');
    const limitsFile = path.join(root, 'limits.yaml');
    fs.writeFileSync(limitsFile, `overrides:\n  ${TENANT}:\n    max_concurrent_tail_requests: 2\n`);
    strata = await startStrata({ dataDir: path.join(root, 'data'), args: [`--limits.file=${limitsFile}`, '--compactor.enabled=false'] });
    frontend = await startStrata({ component: 'query-frontend', args: [`--query-frontend.downstream-url=${strata.url}`] });

    await push(strata.url, ['before-1', 'before-2']);
    const direct = tail(strata.url);
    const viaFrontend = tail(frontend.url);
    await Promise.all([direct.opened, viaFrontend.opened]);
    await has(direct, ['before-1', 'before-2']);
    await has(viaFrontend, ['before-1', 'before-2']);

    await push(strata.url, ['after-1']);
    await push(strata.url, ['after-2', 'after-3']);
    const all = ['before-1', 'before-2', 'after-1', 'after-2', 'after-3'];
    await has(direct, all);
    await has(viaFrontend, all);
    expect(direct.lines).toEqual(all);
    expect(viaFrontend.lines).toEqual(all);

    // Two tails are open on the querier: the third is Loki's 400, through either frontend.
    const over = {
      status: 400,
      body: 'max concurrent tail requests limit exceeded, count > limit (3 > 2) (err-strata-max-concurrent-tail-requests)',
    };
    expect(await refused(strata.url)).toEqual(over);
    expect(await refused(frontend.url)).toEqual(over);

    // A client going away frees its place: the querier's tail ends with the proxied connection.
    viaFrontend.ws.close();
    await viaFrontend.closed;
    const active = async () => /^strata_querier_tail_active (\d+)$/m.exec(await (await fetch(`${strata!.url}/metrics`)).text())?.[1];
    await waitFor('the closed tail to end on the querier', async () => (await active()) === '1', 10_000, 50);
    const again = tail(frontend.url);
    await again.opened;
    await has(again, all);
    expect(await active()).toBe('2');
    direct.ws.close();
    again.ws.close();
    await Promise.all([direct.closed, again.closed]);
  });
});
