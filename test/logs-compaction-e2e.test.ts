/**
 * Log block compaction through real processes, in a local-folder bucket and a real S3 server
 * (s3rver): 3 receivers at RF 3 each ship their copy of the same lines as a log block, a store
 * gateway and a querier answer from the bucket, and `strata compactor --run-once` merges the three
 * copies into one block. The querier answers exactly as before while the copies are marked and
 * still there, and again once a pass with no deletion delay has deleted them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { bucketFromConfig, type Bucket } from '@strata/objstore';
import { startS3Server, type S3Server } from '../packages/objstore/test/s3-server.js';
import { writeObjstoreConfig } from './objstore-config.js';
import { freePort, getJson, startProcess, startStrata, stop, STRATA_BIN, tempDir, waitFor, type Strata } from './harness.js';

jest.setTimeout(120_000);

const TENANT = 'anonymous';
const NS_PER_MS = 1_000_000n;

/** Per log block folder with a meta.json: its ULID and whether it has a deletion mark. */
async function logBlocks(bucket: Bucket): Promise<{ ulid: string; marked: boolean }[]> {
  const out: { ulid: string; marked: boolean }[] = [];
  for await (const d of bucket.iter(`${TENANT}/logs/`))
    if (await bucket.exists(`${d}meta.json`)) out.push({ ulid: d.slice(-27, -1), marked: await bucket.exists(`${d}deletion-mark.json`) });
  return out.sort((a, b) => (a.ulid < b.ulid ? -1 : 1));
}

describe.each(['filesystem', 's3'] as const)('log compaction in a %s bucket', (kind) => {
  let s3: S3Server | undefined;
  const procs: Strata[] = [];
  afterAll(async () => {
    for (const p of procs) await stop(p);
    await s3?.close();
  });

  test('three receivers ship three copies; the compactor leaves one block and every query answers the same', async () => {
    const root = tempDir(`logcompact-${kind}`);
    if (kind === 's3') s3 = await startS3Server('strata-logcompact');
    const objstore = writeObjstoreConfig(root, s3 && { port: s3.port, bucket: 'strata-logcompact' });
    const bucket = bucketFromConfig(fs.readFileSync(objstore, 'utf8'));
    const ringFile = path.join(root, 'hashrings.json');
    const ports = [await freePort(), await freePort(), await freePort()];
    fs.writeFileSync(ringFile, JSON.stringify([{ hashring: 'default', endpoints: ports.map((p) => `127.0.0.1:${p}`) }]));
    const receivers: Strata[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await startStrata({
        component: 'receiver',
        port: ports[i],
        dataDir: path.join(root, `r${i}`),
        args: [
          `--objstore.config-file=${objstore}`,
          `--receiver.hashrings-file=${ringFile}`,
          '--receiver.replication-factor=3',
          `--receiver.local-endpoint=127.0.0.1:${ports[i]}`,
          '--logs.block-range=3s',
        ],
      });
      receivers.push(r);
      procs.push(r);
    }

    // 3 streams × 60 lines of JSON and logfmt, plus two different lines at one timestamp.
    const baseNs = BigInt(Date.now() - 10 * 60_000) * NS_PER_MS;
    const streams = ['api', 'db', 'web'].map((app, s) => ({
      stream: { app, job: 'compact-e2e' },
      values: Array.from({ length: 60 }, (_, i) => [
        String(baseNs + BigInt(i) * 1_000_000_000n),
        s === 1
          ? JSON.stringify({ level: i % 4 ? 'info' : 'error', i, msg: 'served' })
          : `level=${i % 4 ? 'info' : 'error'} i=${i} app=${app}`,
      ]),
    }));
    streams[0].values.push([String(baseNs), 'level=info same timestamp, another line']);
    const pushed = await fetch(`${receivers[0].url}/loki/api/v1/push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ streams }),
    });
    expect([pushed.status, await pushed.text()]).toEqual([204, '']);
    await waitFor('a log block from each receiver', async () => (await logBlocks(bucket)).length === 3, 30_000);
    const copies = await logBlocks(bucket);

    const gateway = await startStrata({
      component: 'store-gateway',
      args: [`--objstore.config-file=${objstore}`, '--store-gateway.sync-interval=1s'],
    });
    procs.push(gateway);
    const querier = await startStrata({ component: 'querier', args: [`--querier.stores=${gateway.url}`, '--query.timeout=10s'] });
    procs.push(querier);
    const range = { start: String(baseNs - 60_000_000_000n), end: String(baseNs + 120_000_000_000n) };
    const ask = async () => {
      const q = async (query: string, extra: Record<string, string> = {}) => {
        const r = await getJson(
          `${querier.url}/loki/api/v1/query_range?${new URLSearchParams({ query, ...range, limit: '5000', ...extra })}`,
        );
        expect(r.status).toBe('success');
        return (r.data.result as { stream?: Record<string, string>; metric?: Record<string, string> }[]).sort((a, b) =>
          JSON.stringify(a.stream ?? a.metric) < JSON.stringify(b.stream ?? b.metric) ? -1 : 1,
        );
      };
      return {
        all: await q('{job="compact-e2e"}', { direction: 'forward' }),
        needle: await q('{job="compact-e2e"} |= "i=7 "'),
        errors: await q('sum by (app) (count_over_time({job="compact-e2e"} |~ "error" [1m]))', { step: '30' }),
      };
    };
    const before = await waitFor('the gateway to answer every line', async () => {
      const got = await ask();
      const n = got.all.reduce((k, s) => k + (s as { values: unknown[] }).values.length, 0);
      return n === 181 ? got : undefined;
    });
    expect(before.needle.length).toBe(2);

    const compactor = (delay: string) =>
      startProcess(process.execPath, [
        STRATA_BIN,
        'compactor',
        `--objstore.config-file=${objstore}`,
        `--storage.path=${path.join(root, 'compactor')}`,
        `--compactor.deletion-delay=${delay}`,
        '--compactor.run-once',
        '--log.level=warn',
      ]);
    expect((await compactor('12h').exited).code).toBe(0);
    const after = await logBlocks(bucket);
    expect(after.filter((b) => b.marked).map((b) => b.ulid)).toEqual(copies.map((b) => b.ulid));
    const merged = after.filter((b) => !b.marked);
    expect(merged).toHaveLength(1);
    const meta = JSON.parse((await bucket.get(`${TENANT}/logs/${merged[0].ulid}/meta.json`)).toString()) as {
      stats: { numEntries: number };
      compaction: { sources: string[] };
    };
    expect(meta.stats.numEntries).toBe(181);
    expect(meta.compaction.sources).toEqual(copies.map((b) => b.ulid));
    // While the copies stay (the deletion delay), and across the gateway's syncs: the same answers.
    for (let i = 0; i < 3; i++) {
      expect(await ask()).toEqual(before);
      await new Promise((r) => setTimeout(r, 600));
    }

    expect((await compactor('0s').exited).code).toBe(0);
    expect(await logBlocks(bucket)).toEqual(merged);
    for (let i = 0; i < 4; i++) {
      expect(await ask()).toEqual(before);
      await new Promise((r) => setTimeout(r, 600));
    }
    await bucket.close();
  });
});
