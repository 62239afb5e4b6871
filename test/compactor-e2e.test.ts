/**
 * The compactor end to end, against a local-folder bucket and against a real S3 server (s3rver),
 * with the same assertions. Three receivers with distinct replica labels get the same 8 to 16 h
 * of data and ship 2 h blocks to one bucket: three copies. A store gateway and a querier serve
 * the bucket; query_range over the whole span must equal a real Prometheus 2.42 given the same
 * data, before compaction, after each of at least 10 SIGKILLs of `strata compactor` at random
 * moments, and after a final pass run to completion. Then the bucket holds one copy (its bytes
 * about a third of before), an 8 h block exists, no blocks overlap, no partial upload is left, the
 * bucket index lists the blocks, `strata tools bucket verify` finds nothing wrong, and retention
 * marks exactly the blocks past it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Labels } from '@strata/model';
import { bucketFromConfig, type Bucket } from '@strata/objstore';
import { encodeWriteRequestV1, snappyEncode } from '@strata/remote';
import { decodeBucketIndex } from '@strata/compactor';
import { startS3Server, type S3Server } from '../packages/objstore/test/s3-server.js';
import { writeObjstoreConfig } from './objstore-config.js';
import { freePort, getJson, startProcess, startStrata, STRATA_BIN, stop, tempDir, waitFor, type Proc, type Strata } from './harness.js';

jest.setTimeout(600_000);

const H = 3600_000;
const STEP = 60_000;
const TENANT = 'anonymous';
const now = Date.now();
// A complete 8 h range (aligned, as level ranges are) and then up to 8 h more, up to now.
const start = Math.floor(now / (8 * H)) * 8 * H - 8 * H;
const end = Math.floor(now / STEP) * STEP - 2 * STEP;
const SERIES = 24;

function value(i: number, t: number): number {
  const k = (t - start) / STEP;
  if (i % 4 === 3) return Math.round(Math.sin(k / 40 + i) * 1000) / 10; // a gauge
  const kk = i % 5 === 0 ? k % 500 : k; // some counters reset
  return kk * (i + 1) + (kk % 7);
}

async function push(url: string): Promise<void> {
  for (let t = start; t <= end; t += STEP * 60) {
    const series = [];
    for (let i = 0; i < SERIES; i++) {
      const ts: number[] = [];
      const vs: number[] = [];
      for (let k = 0; k < 60 && t + k * STEP <= end; k++) {
        ts.push(t + k * STEP);
        vs.push(value(i, t + k * STEP));
      }
      const name = i % 4 === 3 ? 'cmp_temperature' : 'cmp_requests_total';
      series.push({ labels: Labels.fromObject({ __name__: name, job: `job-${i % 3}`, instance: `i-${i}` }), timestamps: ts, values: vs });
    }
    const r = await fetch(url, {
      method: 'POST',
      body: snappyEncode(encodeWriteRequestV1(series)),
      headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' },
    });
    expect([200, 204]).toContain(r.status);
  }
}

const QUERIES = [
  'sum by (job) (rate(cmp_requests_total[10m]))',
  'cmp_requests_total{instance="i-5"}',
  'max_over_time(cmp_temperature[30m])',
  'count(cmp_requests_total)',
  'increase(cmp_requests_total{job="job-0"}[1h])',
];

type Result = { metric: Record<string, string>; values: [number, string][] }[];
const norm = (r: Result) =>
  r
    .map((x) => ({ metric: x.metric, values: x.values.map(([t, v]) => [t, Number(v).toPrecision(12)]) }))
    .sort((a, b) => JSON.stringify(a.metric).localeCompare(JSON.stringify(b.metric)));

async function queryAll(url: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const q of QUERIES) {
    // Steps fall between samples (2.42's range windows are closed on the left, Strata's open).
    const r = await getJson(
      `${url}/api/v1/query_range?query=${encodeURIComponent(q)}&start=${(start + 13_000) / 1000}&end=${end / 1000}&step=300`,
    );
    if (r.status !== 'success') throw new Error(`${q}: ${JSON.stringify(r).slice(0, 500)}`);
    out[q] = norm(r.data.result);
  }
  return out;
}

let prom: Proc;
let promUrl: string;
let expected: Record<string, unknown>;

beforeAll(async () => {
  const port = await freePort();
  promUrl = `http://127.0.0.1:${port}`;
  const dir = tempDir('prom-cmp');
  fs.writeFileSync(path.join(dir, 'prometheus.yml'), 'global:\n  scrape_interval: 1h\n');
  prom = startProcess('/usr/bin/prometheus', [
    `--config.file=${path.join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--web.enable-remote-write-receiver',
    '--log.level=warn',
  ]);
  await waitFor('prometheus ready', async () => (await fetch(`${promUrl}/-/ready`).catch(() => undefined))?.status === 200, 60_000);
  await push(`${promUrl}/api/v1/write`);
  expected = await queryAll(promUrl);
});

afterAll(async () => {
  if (prom) await stop(prom);
});

interface BlockInfo {
  ulid: string;
  minTime: number;
  maxTime: number;
  level: number;
  labels: Record<string, string>;
  marked: boolean;
  bytes: number;
}

/** Every ULID folder of the tenant: its meta (undefined for a partial upload), marks and data bytes. */
async function inventory(bucket: Bucket): Promise<{ blocks: BlockInfo[]; partial: string[] }> {
  const byBlock = new Map<string, string[]>();
  for await (const name of bucket.iter(`${TENANT}/`, { recursive: true })) {
    const m = /^[^/]+\/([0-9A-Z]{26})\/(.+)$/.exec(name);
    if (m) byBlock.set(m[1], [...(byBlock.get(m[1]) ?? []), m[2]]);
  }
  const blocks: BlockInfo[] = [];
  const partial: string[] = [];
  for (const [ulid, files] of byBlock) {
    if (!files.includes('meta.json')) {
      partial.push(ulid);
      continue;
    }
    const meta = JSON.parse((await bucket.get(`${TENANT}/${ulid}/meta.json`)).toString());
    let bytes = 0;
    for (const f of files) if (f === 'index' || f.startsWith('chunks/')) bytes += (await bucket.attributes(`${TENANT}/${ulid}/${f}`)).size;
    blocks.push({
      ulid,
      minTime: meta.minTime,
      maxTime: meta.maxTime,
      level: meta.compaction.level,
      labels: meta.thanos.labels,
      marked: files.includes('deletion-mark.json'),
      bytes,
    });
  }
  return { blocks: blocks.sort((a, b) => a.minTime - b.minTime || (a.ulid < b.ulid ? -1 : 1)), partial };
}

function runCompactor(objstore: string, dataDir: string, args: string[]): Proc {
  return startProcess(process.execPath, [
    STRATA_BIN,
    'compactor',
    `--objstore.config-file=${objstore}`,
    `--storage.path=${dataDir}`,
    '--compactor.run-once',
    '--compactor.block-ranges=2h,8h,48h',
    '--log.level=warn',
    ...args,
  ]);
}

describe.each(['filesystem', 's3'] as const)('compactor over a %s bucket', (kind) => {
  let s3: S3Server | undefined;
  const procs: Strata[] = [];
  afterAll(async () => {
    for (const p of procs.reverse()) await stop(p);
    await s3?.close();
  });

  test('three copies become one, queries never change, kills included; retention marks only what is past it', async () => {
    const root = tempDir(`cmp-${kind}`);
    if (kind === 's3') s3 = await startS3Server('strata');
    const objstore = writeObjstoreConfig(root, s3 && { port: s3.port, bucket: 'strata' });
    const bucket = bucketFromConfig(fs.readFileSync(objstore, 'utf8'));

    // Three replicas of the same data, each shipping its 2 h blocks; SIGTERM ships the rest.
    const receivers = await Promise.all(
      ['r1', 'r2', 'r3'].map((r) =>
        startStrata({
          component: 'receiver',
          args: [
            `--objstore.config-file=${objstore}`,
            '--tsdb.block-duration=2h',
            '--tsdb.compaction-interval=1s',
            '--receiver.flush-on-shutdown',
            `--receiver.replica-name=${r}`,
            '--receiver.out-of-order-window=0s',
          ],
        }),
      ),
    );
    await Promise.all(receivers.map((r) => push(`${r.url}/api/v1/write`)));
    // No wait for the periodic head compaction: SIGTERM's forced flush runs after a pass in progress.
    await Promise.all(receivers.map((r) => stop(r)));
    const before = await inventory(bucket);
    const replicas = new Set(before.blocks.map((b) => b.labels.receive_replica));
    expect(replicas).toEqual(new Set(['r1', 'r2', 'r3']));
    const perReplica = before.blocks.length / 3;
    expect(perReplica).toBeGreaterThanOrEqual(5); // more than 8 h in 2 h blocks
    const bytesBefore = before.blocks.reduce((s, b) => s + b.bytes, 0);

    const gw = await startStrata({
      component: 'store-gateway',
      args: [`--objstore.config-file=${objstore}`, '--store-gateway.sync-interval=1s'],
    });
    procs.push(gw);
    const querier = await startStrata({
      component: 'querier',
      args: [`--querier.stores=${gw.url}`, '--query.replica-label=receive_replica'],
    });
    procs.push(querier);
    const gatewayBlocks = async () => (await getJson(`${gw.url}/api/v1/status/stores`)).data?.[TENANT]?.blocks ?? 0;
    await waitFor('gateway sees every block', async () => (await gatewayBlocks()) === before.blocks.length, 90_000);
    expect(await queryAll(querier.url)).toEqual(expected);

    // Killed at random moments: the bucket answers the same after each kill. A run that ends before
    // its moment shows the work left is shorter than the window: later moments are drawn from a
    // shorter one, so ten kills land however fast or slow the machine is.
    const compactorData = tempDir(`cmp-work-${kind}`);
    let kills = 0;
    let windowMs = 1500;
    for (let i = 0; kills < 10 && i < 40; i++) {
      const c = runCompactor(objstore, compactorData, ['--compactor.deletion-delay=1h']);
      await new Promise((r) => setTimeout(r, 50 + Math.random() * windowMs));
      if (c.child.exitCode === null) {
        c.child.kill('SIGKILL');
        kills++;
      } else windowMs = Math.max(100, windowMs * 0.6);
      const exit = await c.exited;
      if (exit.signal !== 'SIGKILL') expect({ exit, output: c.output() }).toMatchObject({ exit: { code: 0 } });
      expect({ after: `kill ${kills}`, results: await queryAll(querier.url) }).toEqual({ after: `kill ${kills}`, results: expected });
    }
    expect(kills).toBe(10);

    // To completion: marked blocks and partial uploads go (no delay in this test).
    const last = runCompactor(objstore, compactorData, ['--compactor.deletion-delay=0s', '--compactor.partial-upload-threshold=0s']);
    expect({ exit: await last.exited, output: last.output() }).toMatchObject({ exit: { code: 0 } });
    const after = await inventory(bucket);
    expect(after.partial).toEqual([]);
    expect(after.blocks.filter((b) => b.marked)).toEqual([]);
    for (let i = 1; i < after.blocks.length; i++) expect(after.blocks[i].minTime).toBeGreaterThanOrEqual(after.blocks[i - 1].maxTime);
    expect(after.blocks.every((b) => b.labels.receive_replica === undefined && b.labels.tenant_id === TENANT)).toBe(true);
    // The complete 8 h range became one block at least (with 48 h ranges it may have grown further).
    const big = after.blocks.find((b) => b.minTime <= start && b.maxTime >= start + 8 * H);
    expect(big?.level).toBeGreaterThanOrEqual(3);
    expect(after.blocks.length).toBeLessThan(perReplica);
    const bytesAfter = after.blocks.reduce((s, b) => s + b.bytes, 0);
    // One copy: a third of three, within what bigger blocks save or cost in index and chunk cuts.
    expect(bytesAfter / (bytesBefore / 3)).toBeGreaterThan(0.8);
    expect(bytesAfter / (bytesBefore / 3)).toBeLessThan(1.05);
    const ix = decodeBucketIndex(await bucket.get(`${TENANT}/bucket-index.json.gz`));
    expect(ix.blocks.map((b) => b.block_id).sort()).toEqual(after.blocks.map((b) => b.ulid).sort());
    expect(ix.block_deletion_marks).toEqual([]);

    // The operator's view agrees: every block listed, nothing to report.
    const inspect = startProcess(process.execPath, [STRATA_BIN, 'tools', 'bucket', 'inspect', `--objstore.config-file=${objstore}`]);
    expect((await inspect.exited).code).toBe(0);
    for (const b of after.blocks) expect(inspect.output()).toContain(b.ulid);
    const verify = startProcess(process.execPath, [
      STRATA_BIN,
      'tools',
      'bucket',
      'verify',
      '--read-data',
      `--objstore.config-file=${objstore}`,
    ]);
    const verifyExit = (await verify.exited).code;
    if (verifyExit !== 0) throw new Error(`verify: ${verify.output()}`);
    expect({ exit: verifyExit, output: verify.output().trim().split('\n').pop() }).toEqual({
      exit: 0,
      output: '0 problems',
    });

    // Generous: a gateway sync on a CI machine running other suites beside this one can take long.
    await waitFor('gateway sees only the compacted blocks', async () => (await gatewayBlocks()) === after.blocks.length, 90_000);
    expect(await queryAll(querier.url)).toEqual(expected);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toContain('strata_store_gateway_blocks');
    // The gateway found the compacted blocks through the bucket index the compactor wrote.
    expect(metrics).toMatch(/^strata_store_gateway_bucket_index_loads_total\{result="used"\} [1-9]/m);

    // Retention: the oldest block ends before the cut-off, the next one (2 h or more later) does not.
    // (big ends at a range boundary before the newest sample, the next block 2 h or more later.)
    const retention = (Date.now() - big!.maxTime) / 2;
    const ret = runCompactor(objstore, compactorData, [
      '--compactor.deletion-delay=1h',
      `--compactor.retention.raw=${Math.floor(retention / 1000)}s`,
    ]);
    const retExit = await ret.exited;
    if (retExit.code !== 0) throw new Error(`retention pass exited ${retExit.code}: ${ret.output().slice(-2000)}`);
    const marked = (await inventory(bucket)).blocks.filter((b) => b.marked).map((b) => b.ulid);
    expect(marked).toEqual([big!.ulid]);
    await bucket.close();
  });
});
