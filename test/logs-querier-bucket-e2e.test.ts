/**
 * A receiver and a querier in separate processes, sharing a local-folder bucket, with no store
 * gateway: lines the receiver has shipped as a log block and dropped from its head still read
 * back through the querier, which reads the bucket's log blocks itself. The receiver cuts every
 * 2 s; a restart after the upload empties its head (the WAL before the cut is gone), so the
 * lines are only in the bucket when the querier is asked again.
 */
import path from 'node:path';
import fs from 'node:fs';
import { decodeLogShare } from '@strata/logs';
import { writeObjstoreConfig } from './objstore-config.js';
import { startStrata, stop, tempDir, waitFor, type Strata } from './harness.js';

jest.setTimeout(60_000);

const NS_PER_MS = 1_000_000n;
let receiver: Strata | undefined;
let querier: Strata | undefined;
let gateway: Strata | undefined;
let querier2: Strata | undefined;

afterAll(async () => {
  for (const p of [querier2, gateway, querier, receiver]) if (p) await stop(p);
});

/** Object storage operations the process made (strata_objstore_operations_total, summed). */
async function bucketOps(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let n = 0;
  for (const m of text.matchAll(/^strata_objstore_operations_total\{[^}]*\} (\S+)$/gm)) n += Number(m[1]);
  return n;
}

interface Result {
  stream: Record<string, string>;
  values: [string, string][];
}

async function queryAll(url: string, fromNs: bigint): Promise<Result[]> {
  const q = new URLSearchParams({
    query: '{job="qb-e2e"}',
    start: String(fromNs),
    end: String(fromNs + 600_000n * NS_PER_MS),
    limit: '1000',
  });
  const r = await fetch(`${url}/loki/api/v1/query_range?${q}`);
  const text = await r.text();
  if (r.status !== 200) throw new Error(`query_range ${r.status}: ${text}`);
  return (JSON.parse(text) as { data: { result: Result[] } }).data.result.sort((a, b) => (a.stream.app < b.stream.app ? -1 : 1));
}

/** What the receiver's own log store holds now (its heads only), as the querier reads it. */
async function receiverHeadLines(url: string, fromNs: bigint): Promise<number> {
  const form = new URLSearchParams({
    op: 'select',
    matchers: JSON.stringify([['=', 'job', 'qb-e2e']]),
    start: String(fromNs),
    end: String(fromNs + 600_000n * NS_PER_MS),
  });
  const r = await fetch(`${url}/api/v1/logs/select`, { method: 'POST', body: form });
  expect(r.status).toBe(200);
  return decodeLogShare(Buffer.from(await r.arrayBuffer())).reduce((n, s) => n + s.lines.length, 0);
}

/** Waits until a log block of the tenant is in the bucket and the process's log WAL is truncated behind it. */
async function shipped(bucketDir: string, dataDir: string): Promise<void> {
  const blocks = path.join(bucketDir, 'anonymous', 'logs');
  await waitFor(
    'the log block',
    async () => fs.existsSync(blocks) && fs.readdirSync(blocks).some((d) => fs.existsSync(path.join(blocks, d, 'meta.json'))),
  );
  const wal = path.join(dataDir, 'logs', 'anonymous', 'wal');
  await waitFor('the log WAL truncated', async () => fs.readdirSync(wal).every((s) => fs.statSync(path.join(wal, s)).size === 0));
}

function receiverArgs(objstore: string): string[] {
  return [`--objstore.config-file=${objstore}`, '--logs.block-range=2s', '--store-gateway.sync-interval=500ms'];
}

test('lines shipped and dropped from the receiver head read back through a querier without a store gateway, and with one', async () => {
  const root = tempDir('logs-querier-bucket');
  const objstore = writeObjstoreConfig(root);
  const dataDir = path.join(root, 'receiver');
  receiver = await startStrata({ component: 'receiver', dataDir, args: receiverArgs(objstore) });
  querier = await startStrata({
    component: 'querier',
    dataDir: path.join(root, 'querier'),
    args: [`--querier.stores=${receiver.url}`, `--objstore.config-file=${objstore}`, '--store-gateway.sync-interval=500ms'],
  });
  const fromNs = BigInt(Date.now() - 120_000) * NS_PER_MS;
  const streams = ['a', 'b'].map((app) => ({
    stream: { app, job: 'qb-e2e' },
    values: Array.from({ length: 25 }, (_, i) => [String(fromNs + BigInt(i) * 1_000_000_000n), `${app} line ${i}`]),
  }));
  const r = await fetch(`${receiver.url}/loki/api/v1/push`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ streams }),
  });
  expect(r.status).toBe(204);
  const inHead = await queryAll(querier.url, fromNs);
  expect(inHead.map((s) => [s.stream.app, s.values.length])).toEqual([
    ['a', 25],
    ['b', 25],
  ]);

  // Shipped: a log block in the bucket and the receiver's log WAL truncated behind it.
  await shipped(path.join(root, 'bucket'), dataDir);
  // Restarted, the receiver's head is empty: the lines are in the bucket only.
  await stop(receiver);
  receiver = await startStrata({ component: 'receiver', dataDir, port: receiver.port, args: receiverArgs(objstore) });
  expect(await receiverHeadLines(receiver.url, fromNs)).toBe(0);

  // The querier lists the bucket every 500 ms: on a loaded machine it may take a few listings.
  const same = JSON.stringify(inHead);
  await waitFor('the querier to read the block', async () => JSON.stringify(await queryAll(querier!.url, fromNs)) === same, 15_000).catch(
    () => undefined,
  );
  expect(await queryAll(querier.url, fromNs)).toEqual(inHead);
  expect(await bucketOps(querier.url)).toBeGreaterThan(0);

  // With a store gateway among the stores, a querier given the same bucket leaves the blocks to
  // it (no object read of its own) and answers the same.
  gateway = await startStrata({
    component: 'store-gateway',
    dataDir: path.join(root, 'gateway'),
    args: [`--objstore.config-file=${objstore}`, '--store-gateway.sync-interval=500ms'],
  });
  querier2 = await startStrata({
    component: 'querier',
    dataDir: path.join(root, 'querier2'),
    args: [`--querier.stores=${receiver.url},${gateway.url}`, `--objstore.config-file=${objstore}`, '--store-gateway.sync-interval=500ms'],
  });
  expect(await queryAll(querier2.url, fromNs)).toEqual(inHead);
  await new Promise((r) => setTimeout(r, 1200));
  expect(await queryAll(querier2.url, fromNs)).toEqual(inHead);
  expect(await bucketOps(querier2.url)).toBe(0);
});

test('a querier with no bucket of its own in front of strata all reads the lines all has shipped', async () => {
  const root = tempDir('logs-querier-all');
  const dataDir = path.join(root, 'all');
  const args = ['--logs.block-range=2s', '--store-gateway.sync-interval=500ms'];
  let all = await startStrata({ dataDir, args });
  let front: Strata | undefined;
  try {
    const fromNs = BigInt(Date.now() - 120_000) * NS_PER_MS;
    const streams = ['a', 'b'].map((app) => ({
      stream: { app, job: 'qb-e2e' },
      values: Array.from({ length: 20 }, (_, i) => [String(fromNs + BigInt(i) * 1_000_000_000n), `${app} all line ${i}`]),
    }));
    const r = await fetch(`${all.url}/loki/api/v1/push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ streams }),
    });
    expect(r.status).toBe(204);
    await shipped(path.join(dataDir, 'bucket'), dataDir);
    // Restarted, all's head is empty: the lines are in its bucket only, and its log select API
    // (what queriers read) serves them from there.
    await stop(all);
    all = await startStrata({ dataDir, port: all.port, args });
    expect(await receiverHeadLines(all.url, fromNs)).toBe(40);
    front = await startStrata({ component: 'querier', dataDir: path.join(root, 'querier'), args: [`--querier.stores=${all.url}`] });
    const got = await queryAll(front.url, fromNs);
    expect(got.map((s) => [s.stream.app, s.values.length])).toEqual([
      ['a', 20],
      ['b', 20],
    ]);
    expect(await bucketOps(front.url)).toBe(0);
  } finally {
    if (front) await stop(front);
    await stop(all);
  }
});
