/**
 * Loki's volume endpoints, pattern line filters and ip() end to end in `strata all`: the answers
 * while the lines are in the head equal the volumes computed here from what was pushed, and stay
 * the same once the head has been cut into log blocks, shipped, its WAL truncated and the lines
 * read back from the bucket through the store gateway.
 */
import fs from 'node:fs';
import path from 'node:path';
import { bucketFromConfig, type Bucket } from '@strata/objstore';
import { writeObjstoreConfig } from './objstore-config.js';
import { startStrata, stop, tempDir, waitFor, type Strata } from './harness.js';

jest.setTimeout(120_000);

const TENANT = 'anonymous';
const MS = 1_000_000n;
const S = 1000n * MS;

async function push(url: string, app: string, rows: [bigint, string][]): Promise<void> {
  const r = await fetch(`${url}/loki/api/v1/push`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ streams: [{ stream: { app, job: 'vol-e2e' }, values: rows.map(([t, l]) => [String(t), l]) }] }),
  });
  expect([r.status, await r.text()]).toEqual([204, '']);
}

async function get(url: string, params: Record<string, string>): Promise<any> {
  const r = await fetch(`${url}?${new URLSearchParams(params)}`);
  const text = await r.text();
  if (r.status !== 200) throw new Error(`${url} ${r.status}: ${text}`);
  return JSON.parse(text);
}

async function logBlocks(bucket: Bucket): Promise<number> {
  let n = 0;
  for await (const d of bucket.iter(`${TENANT}/logs/`)) if (await bucket.exists(`${d}meta.json`)) n++;
  return n;
}

function walBytes(dataDir: string): number {
  const dir = path.join(dataDir, 'logs', TENANT, 'wal');
  return fs.readdirSync(dir).reduce((n, s) => n + fs.statSync(path.join(dir, s)).size, 0);
}

describe('volume, |> and ip() in strata all, from the head and from log blocks', () => {
  let strata: Strata | undefined;
  afterAll(async () => {
    if (strata) await stop(strata);
  });

  test('the same answers before and after the cut, equal to the pushed bytes', async () => {
    const root = tempDir('logs-volume');
    const objstore = writeObjstoreConfig(root);
    const bucket = bucketFromConfig(fs.readFileSync(objstore, 'utf8'));
    const dataDir = path.join(root, 'data');
    strata = await startStrata({
      dataDir,
      args: [
        `--objstore.config-file=${objstore}`,
        '--logs.block-range=3s',
        '--store-gateway.sync-interval=1s',
        '--compactor.enabled=false',
      ],
    });

    // Two minutes of lines ending a minute ago, the window aligned to the minute so the buckets are known.
    const t0 = ((BigInt(Date.now()) * MS) / (60n * S)) * (60n * S) - 3n * 60n * S;
    const a = Array.from({ length: 30 }, (_, i): [bigint, string] => [
      t0 + BigInt(i) * 2n * S,
      `GET /a/${i} client=10.0.0.${i} status=200`,
    ]);
    const b = Array.from({ length: 20 }, (_, i): [bigint, string] => [
      t0 + 60n * S + BigInt(i) * 3n * S,
      `POST /b/${i} client=2001:db8::${(i + 1).toString(16)} status=${i % 4 ? 200 : 500}`,
    ]);
    await push(strata.url, 'a', a);
    await push(strata.url, 'b', b);
    const bytes = (rows: [bigint, string][]) => String(rows.reduce((n, [, l]) => n + Buffer.byteLength(l), 0));
    const end = t0 + 120n * S;
    const win = { start: String(t0), end: String(end) };
    const sec = (ns: bigint) => Number(ns / MS) / 1000;

    const answers = async () => ({
      volume: await get(`${strata!.url}/loki/api/v1/index/volume`, { ...win, query: '{job="vol-e2e", app=~".+"}' }),
      byLabels: await get(`${strata!.url}/loki/api/v1/index/volume`, { ...win, query: '{job="vol-e2e"}', aggregateBy: 'labels' }),
      range: await get(`${strata!.url}/loki/api/v1/index/volume_range`, {
        ...win,
        query: '{job="vol-e2e"}',
        targetLabels: 'app',
        step: '60s',
      }),
      // Only the streams of query_range: its stats hold timings.
      pattern: (
        await get(`${strata!.url}/loki/api/v1/query_range`, {
          ...win,
          query: '{job="vol-e2e"} |> "POST <_> status=500"',
          limit: '1000',
        })
      ).data.result,
      ip: (
        await get(`${strata!.url}/loki/api/v1/query_range`, {
          ...win,
          query: '{job="vol-e2e"} |= ip("10.0.0.8-10.0.0.11") or ip("2001:db8::/125")',
          limit: '1000',
        })
      ).data.result,
    });
    const lines = (result: any): string[] => result.flatMap((s: any) => s.values.map((v: [string, string]) => v[1])).sort();

    const inHead = await answers();
    const bigger = (x: [bigint, string][], y: [bigint, string][]) => (Number(bytes(x)) >= Number(bytes(y)) ? [x, y] : [y, x]);
    const [first, second] = bigger(a, b);
    const appOf = (rows: [bigint, string][]) => (rows === a ? 'a' : 'b');
    expect(inHead.volume.data).toEqual({
      resultType: 'vector',
      result: [first, second].map((rows) => ({ metric: { app: appOf(rows), job: 'vol-e2e' }, value: [sec(end), bytes(rows)] })),
    });
    expect(inHead.byLabels.data.result).toEqual([
      { metric: { app: '' }, value: [sec(end), bytes([...a, ...b])] },
      { metric: { job: '' }, value: [sec(end), bytes([...a, ...b])] },
    ]);
    // [t0, t0+60s) holds a's lines, [t0+60s, t0+120s] b's; each bucket reported at its end.
    expect(inHead.range.data).toEqual({
      resultType: 'vector',
      result: [first, second].map((rows) => ({
        metric: { app: appOf(rows) },
        value: [rows === a ? sec(t0 + 60n * S - MS) : sec(end), bytes(rows)],
      })),
    });
    expect(lines(inHead.pattern)).toEqual(
      b
        .filter(([, l]) => l.endsWith('status=500'))
        .map(([, l]) => l)
        .sort(),
    );
    expect(lines(inHead.ip)).toEqual(
      [...a.slice(8, 12), ...b.slice(0, 7)].map(([, l]) => l).sort(), // 2001:db8::1 to ::7 are in ::/125
    );

    await waitFor('a log block in the bucket', async () => (await logBlocks(bucket)) >= 1, 30_000);
    await waitFor('the log WAL truncated after the upload', async () => walBytes(dataDir) === 0, 30_000);
    // While the head is dropped and the gateway takes over, and after: always the same answers.
    for (let i = 0; i < 4; i++) {
      expect(await answers()).toEqual(inHead);
      await new Promise((r) => setTimeout(r, 700));
    }
    await bucket.close();
  });
});
