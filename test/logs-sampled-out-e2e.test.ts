/**
 * Sampled-out counts in query stats survive a restart and the ship to the bucket. A receiver
 * samples pushes under the tenant's log_sampling; two queriers read it over a shared local-folder
 * bucket, one reading the bucket's log blocks itself, one through a store gateway. The same
 * query's stats.strata must be identical: right after the push, after a restart (the counts
 * replayed from the log WAL), while the shipped head is still read beside its block (counted
 * once), and after another restart, when only the block holds them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeObjstoreConfig } from './objstore-config.js';
import { startStrata, stop, tempDir, waitFor, type Strata } from './harness.js';

jest.setTimeout(90_000);

const NS_PER_MS = 1_000_000n;
const procs: Strata[] = [];
afterAll(async () => {
  for (const p of procs.reverse()) await stop(p);
});

interface Stats {
  sampledOutLines: number;
  sampledOutBytes: number;
}

async function statsOf(url: string, fromNs: bigint): Promise<Stats & { lines: number }> {
  const q = new URLSearchParams({
    query: '{job="so-e2e"}',
    start: String(fromNs),
    end: String(fromNs + 600_000n * NS_PER_MS),
    limit: '1000',
  });
  const r = await fetch(`${url}/loki/api/v1/query_range?${q}`);
  const text = await r.text();
  if (r.status !== 200) throw new Error(`query_range ${r.status}: ${text}`);
  const data = (JSON.parse(text) as { data: { result: { values: unknown[] }[]; stats: { strata: Stats } } }).data;
  return { ...data.stats.strata, lines: data.result.reduce((n, s) => n + s.values.length, 0) };
}

async function sampledOutMetric(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^strata_logs_sampled_out_total\{[^}]*tenant="anonymous"[^}]*\} (\S+)$/m.exec(text)?.[1] ?? 0);
}

test('the sampled-out stats of a query are the same before and after a restart and the ship, read with or without a gateway', async () => {
  const root = tempDir('logs-sampled-out');
  const objstore = writeObjstoreConfig(root);
  const limits = path.join(root, 'limits.yaml');
  fs.writeFileSync(
    limits,
    ['overrides:', '  anonymous:', '    log_sampling:', `      keep: [{ line_regex: 'level=error' }]`, '      keep_ratio: 0.2', ''].join(
      '\n',
    ),
  );
  const dataDir = path.join(root, 'receiver');
  const startReceiver = (blockRange: string, port?: number) =>
    startStrata({
      component: 'receiver',
      dataDir,
      port,
      args: [
        `--objstore.config-file=${objstore}`,
        `--limits.file=${limits}`,
        `--logs.block-range=${blockRange}`,
        '--store-gateway.sync-interval=500ms',
      ],
    });
  let receiver = await startReceiver('1h');
  const gateway = await startStrata({
    component: 'store-gateway',
    dataDir: path.join(root, 'gateway'),
    args: [`--objstore.config-file=${objstore}`, '--store-gateway.sync-interval=500ms'],
  });
  const ownBucket = await startStrata({
    component: 'querier',
    dataDir: path.join(root, 'querier-bucket'),
    args: [`--querier.stores=${receiver.url}`, `--objstore.config-file=${objstore}`, '--store-gateway.sync-interval=500ms'],
  });
  const withGateway = await startStrata({
    component: 'querier',
    dataDir: path.join(root, 'querier-gateway'),
    args: [`--querier.stores=${receiver.url},${gateway.url}`],
  });
  procs.push(receiver, gateway, ownBucket, withGateway);
  const both = async (fromNs: bigint) => [await statsOf(ownBucket.url, fromNs), await statsOf(withGateway.url, fromNs)];

  const fromNs = BigInt(Date.now() - 300_000) * NS_PER_MS;
  const streams = ['a', 'b'].map((app) => ({
    stream: { app, job: 'so-e2e' },
    values: Array.from({ length: 150 }, (_, i) => [
      String(fromNs + BigInt(i) * 1_000_000_000n),
      `level=${i % 10 === 0 ? 'error' : 'info'} app=${app} i=${i}`,
    ]),
  }));
  const r = await fetch(`${receiver.url}/loki/api/v1/push`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ streams }),
  });
  expect(r.status).toBe(204);
  const dropped = await sampledOutMetric(receiver.url);
  const first = await statsOf(ownBucket.url, fromNs);
  expect(first.sampledOutLines).toBe(dropped);
  expect(first.lines).toBe(300 - dropped);
  expect(dropped).toBeGreaterThan(150);
  expect(await both(fromNs)).toEqual([first, first]);

  // Restarted before any cut: the counts come back from the log WAL.
  await stop(receiver);
  receiver = await startReceiver('1h', receiver.port);
  procs.push(receiver);
  expect(await both(fromNs)).toEqual([first, first]);

  // Restarted with a 2 s block range: the head is cut and shipped; until the receiver drops it
  // (a minute later) the head and its block both hold the counts, and they count once.
  await stop(receiver);
  receiver = await startReceiver('2s', receiver.port);
  procs.push(receiver);
  const blocks = path.join(root, 'bucket', 'anonymous', 'logs');
  await waitFor(
    'the log block',
    async () => fs.existsSync(blocks) && fs.readdirSync(blocks).some((d) => fs.existsSync(path.join(blocks, d, 'meta.json'))),
  );
  await waitFor('the gateway to load the block', async () => {
    const ok = await fetch(`${gateway.url}/api/v1/logs/select`, {
      method: 'POST',
      body: new URLSearchParams({ op: 'sampled', start: String(fromNs), end: String(fromNs + 600_000n * NS_PER_MS) }),
    });
    return ((await ok.json()) as { blocks?: object }).blocks !== undefined;
  });
  await new Promise((res) => setTimeout(res, 1000)); // the querier's own bucket listing, every 500 ms
  expect(await both(fromNs)).toEqual([first, first]);

  // Restarted once more: its head is empty, the counts are in the block only.
  const wal = path.join(dataDir, 'logs', 'anonymous', 'wal');
  await waitFor('the log WAL truncated', async () => fs.readdirSync(wal).every((s) => fs.statSync(path.join(wal, s)).size === 0));
  await stop(receiver);
  receiver = await startReceiver('2s', receiver.port);
  procs.push(receiver);
  // The querier reading the bucket lists it every 500 ms: on a loaded machine it may take a few listings.
  const same = JSON.stringify([first, first]);
  await waitFor('both queriers to read the block', async () => JSON.stringify(await both(fromNs)) === same, 15_000).catch(() => undefined);
  expect(await both(fromNs)).toEqual([first, first]);
});
