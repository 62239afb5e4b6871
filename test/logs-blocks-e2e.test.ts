/**
 * Logs over the bucket, end to end in `strata all`, against a local-folder bucket and a real S3
 * server (s3rver): pushed lines are cut into log blocks (a 3 s block range so the cut happens in
 * the test), shipped, the log WAL is truncated after the upload, and queries spanning the cut, and
 * a restart, answer exactly as before the cut. The compactor then deletes the log blocks past the
 * tenant's retention_period and keeps the others.
 */
import fs from 'node:fs';
import path from 'node:path';
import { bucketFromConfig, type Bucket } from '@strata/objstore';
import { startS3Server, type S3Server } from '../packages/objstore/test/s3-server.js';
import { writeObjstoreConfig } from './objstore-config.js';
import { startProcess, startStrata, STRATA_BIN, stop, tempDir, waitFor, type Strata } from './harness.js';

jest.setTimeout(150_000);

const TENANT = 'anonymous';
const NS_PER_MS = 1_000_000n;
const DAY_NS = 86_400_000n * NS_PER_MS;

interface Result {
  stream: Record<string, string>;
  values: [string, string][];
}

async function push(url: string, app: string, rows: [bigint, string][]): Promise<void> {
  const r = await fetch(`${url}/loki/api/v1/push`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ streams: [{ stream: { app, job: 'blocks-e2e' }, values: rows.map(([t, l]) => [String(t), l]) }] }),
  });
  expect([r.status, await r.text()]).toEqual([204, '']);
}

/** Every line of the job over the last 3 days, sorted the same way each time. */
async function queryAll(url: string, query = '{job="blocks-e2e"}'): Promise<Result[]> {
  const now = BigInt(Date.now()) * NS_PER_MS;
  const q = new URLSearchParams({ query, start: String(now - 3n * DAY_NS), end: String(now + 60_000n * NS_PER_MS), limit: '5000' });
  const r = await fetch(`${url}/loki/api/v1/query_range?${q}`);
  const text = await r.text();
  if (r.status !== 200) throw new Error(`query_range ${r.status}: ${text}`);
  const res = (JSON.parse(text) as { data: { result: Result[] } }).data.result;
  return res.sort((a, b) => (JSON.stringify(a.stream) < JSON.stringify(b.stream) ? -1 : 1));
}

async function logBlocks(bucket: Bucket): Promise<string[]> {
  const out: string[] = [];
  for await (const d of bucket.iter(`${TENANT}/logs/`)) if (await bucket.exists(`${d}meta.json`)) out.push(d.slice(-27, -1));
  return out.sort();
}

function walBytes(dataDir: string): number {
  const dir = path.join(dataDir, 'logs', TENANT, 'wal');
  return fs.readdirSync(dir).reduce((n, s) => n + fs.statSync(path.join(dir, s)).size, 0);
}

function rows(n: number, fromNs: bigint, prefix: string): [bigint, string][] {
  return Array.from({ length: n }, (_, i) => [
    fromNs + BigInt(i) * 1_000_000_000n,
    `${prefix} line ${i} level=${i % 3 ? 'info' : 'error'}`,
  ]);
}

describe.each(['filesystem', 's3'] as const)('log blocks in a %s bucket', (kind) => {
  let s3: S3Server | undefined;
  let strata: Strata | undefined;
  afterAll(async () => {
    if (strata) await stop(strata);
    await s3?.close();
  });

  test('push, cut, ship, WAL truncated, restart, query: the same lines; retention deletes only old blocks', async () => {
    const root = tempDir(`logblocks-${kind}`);
    if (kind === 's3') s3 = await startS3Server('strata-logs');
    const objstore = writeObjstoreConfig(root, s3 && { port: s3.port, bucket: 'strata-logs' });
    const bucket = bucketFromConfig(fs.readFileSync(objstore, 'utf8'));
    const dataDir = path.join(root, 'data');
    const args = [
      `--objstore.config-file=${objstore}`,
      '--logs.block-range=3s',
      '--store-gateway.sync-interval=1s',
      '--compactor.enabled=false',
    ];
    strata = await startStrata({ dataDir, args });

    // Two days old (inside the week Loki accepts): the block holding these is past a 1-day retention.
    const nowNs = BigInt(Date.now()) * NS_PER_MS;
    const old = rows(40, nowNs - 2n * DAY_NS, 'old');
    await push(strata.url, 'old', old);
    const beforeCut = await queryAll(strata.url);
    expect(beforeCut.map((s) => s.values.length)).toEqual([40]);
    const [first] = await waitFor(
      'the first log block',
      async () => ((await logBlocks(bucket)).length === 1 ? logBlocks(bucket) : undefined),
      30_000,
    );
    await waitFor('the log WAL truncated after the upload', async () => walBytes(dataDir) === 0, 30_000);
    // Spanning the cut, while the head is dropped and the gateway takes over: always the same answer.
    for (let i = 0; i < 5; i++) {
      expect(await queryAll(strata.url)).toEqual(beforeCut);
      await new Promise((r) => setTimeout(r, 700));
    }

    const recent = rows(30, nowNs - 60_000n * NS_PER_MS, 'new');
    await push(strata.url, 'new', recent);
    const withNew = await queryAll(strata.url);
    expect(withNew.map((s) => [s.stream.app, s.values.length])).toEqual([
      ['new', 30],
      ['old', 40],
    ]);
    await waitFor('the second log block', async () => (await logBlocks(bucket)).length === 2, 30_000);
    await waitFor('the log WAL truncated again', async () => walBytes(dataDir) === 0, 30_000);
    expect(await queryAll(strata.url)).toEqual(withNew);
    // A line filter and a metric query read the blocks too.
    const needle = await queryAll(strata.url, '{job="blocks-e2e"} |= "line 7 "');
    expect(needle.flatMap((s) => s.values.map((v) => v[1])).sort()).toEqual(['new line 7 level=info', 'old line 7 level=info']);

    await stop(strata);
    strata = await startStrata({ dataDir, args });
    expect(
      await waitFor('the blocks after a restart', async () => {
        const got = await queryAll(strata!.url);
        return got.length === 2 ? got : undefined;
      }),
    ).toEqual(withNew);

    // Retention: retention_period 1d deletes the block of two-day-old lines, keeps the recent one.
    const limitsFile = path.join(root, 'limits.yaml');
    fs.writeFileSync(limitsFile, `overrides:\n  ${TENANT}:\n    retention_period: 1d\n`);
    const compactor = startProcess(process.execPath, [
      STRATA_BIN,
      'compactor',
      `--objstore.config-file=${objstore}`,
      `--storage.path=${path.join(root, 'compactor')}`,
      `--limits.file=${limitsFile}`,
      '--compactor.run-once',
      '--log.level=warn',
    ]);
    expect((await compactor.exited).code).toBe(0);
    const left = await logBlocks(bucket);
    expect(left).toHaveLength(1);
    expect(left).not.toContain(first);
    const afterRetention = await waitFor('the gateway to drop the deleted block', async () => {
      const got = await queryAll(strata!.url);
      return got.length === 1 ? got : undefined;
    });
    expect(afterRetention).toEqual(withNew.filter((s) => s.stream.app === 'new'));
    await bucket.close();
  });
});
