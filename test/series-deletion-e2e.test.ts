/**
 * Series deletion end to end, on a local-folder bucket and on the S3 server: `strata all` holds
 * 8 h of data, older 2 h blocks shipped to the bucket (and dropped locally, so the in-process store
 * gateway serves them), the rest in the head. POST /api/v1/admin/tsdb/delete_series hides the
 * series' samples in the range at once, from the head and from the bucket, and nothing else; the
 * deletion survives a restart; after one `strata compactor --compactor.run-once` no block left in
 * the bucket holds the deleted samples. With the admin API off the route answers 503.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Labels, Matcher } from '@strata/model';
import { bucketFromConfig, type Bucket } from '@strata/objstore';
import { encodeWriteRequestV1, snappyEncode } from '@strata/remote';
import { BlockReader, BlockSetQuerier, parseMeta, readTenantTombstones } from '@strata/tsdb';
import { startS3Server, type S3Server } from '../packages/objstore/test/s3-server.js';
import { writeObjstoreConfig } from './objstore-config.js';
import { getJson, startProcess, startStrata, STRATA_BIN, stop, tempDir, waitFor, type Strata } from './harness.js';

jest.setTimeout(300_000);

const H = 3600_000;
const STEP = 60_000;
const TENANT = 'anonymous';
const now = Date.now();
const start = Math.floor(now / (2 * H)) * 2 * H - 8 * H;
const end = Math.floor(now / STEP) * STEP - 2 * STEP;
// The deleted range: from the bucket's blocks into the head.
const delFrom = start + 3 * H;
const delTo = end - 30 * STEP;
const INSTANCES = 6;

async function push(url: string): Promise<void> {
  for (let t = start; t <= end; t += STEP * 60) {
    const series = [];
    for (let i = 0; i < INSTANCES; i++) {
      const ts: number[] = [];
      const vs: number[] = [];
      for (let k = 0; k < 60 && t + k * STEP <= end; k++) {
        ts.push(t + k * STEP);
        vs.push((t - start) / STEP + k + i);
      }
      series.push({ labels: Labels.fromObject({ __name__: 'del_total', instance: `i-${i}` }), timestamps: ts, values: vs });
    }
    const r = await fetch(url, {
      method: 'POST',
      body: snappyEncode(encodeWriteRequestV1(series)),
      headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' },
    });
    expect([200, 204]).toContain(r.status);
  }
}

/** Per instance, the sample timestamps a range selector over the whole span returns. */
async function samples(url: string): Promise<Record<string, number[]>> {
  const minutes = Math.ceil((end - start) / STEP) + 1;
  const r = await getJson(`${url}/api/v1/query?query=${encodeURIComponent(`del_total[${minutes}m]`)}&time=${end / 1000}`);
  if (r.status !== 'success') throw new Error(JSON.stringify(r).slice(0, 500));
  const out: Record<string, number[]> = {};
  for (const s of r.data.result as { metric: Record<string, string>; values: [number, string][] }[])
    out[s.metric.instance] = s.values.map(([t]) => Math.round(t * 1000));
  return out;
}

const everyMinute = () => Array.from({ length: (end - start) / STEP + 1 }, (_, k) => start + k * STEP);

/** Per block left in the bucket (no deletion mark): its meta and instance i-1's sample timestamps. */
async function bucketBlocks(bucket: Bucket, root: string) {
  const out: { ulid: string; minTime: number; maxTime: number; tombstones?: string[]; deleted: number[]; kept: number }[] = [];
  const names: string[] = [];
  for await (const d of bucket.iter(`${TENANT}/`)) if (/\/[0-9A-Z]{26}\/$/.test(d)) names.push(d);
  for (const d of names) {
    if (await bucket.exists(`${d}deletion-mark.json`)) continue;
    if (!(await bucket.exists(`${d}meta.json`))) continue;
    const local = path.join(root, d);
    fs.mkdirSync(path.join(local, 'chunks'), { recursive: true });
    for await (const o of bucket.iter(d, { recursive: true })) fs.writeFileSync(path.join(root, o), await bucket.get(o));
    const meta = parseMeta(fs.readFileSync(path.join(local, 'meta.json'), 'utf8'), d);
    const r = await BlockReader.openDir(local);
    const series = await new BlockSetQuerier([r]).select([new Matcher('=', '__name__', 'del_total')], { start: -Infinity, end: Infinity });
    await r.close();
    const i1 = series.find((s) => s.labels.get('instance') === 'i-1');
    out.push({
      ulid: meta.ulid,
      minTime: meta.minTime,
      maxTime: meta.maxTime,
      tombstones: meta.strata?.tombstones,
      deleted: Array.from(i1?.timestamps ?? []).filter((t) => t >= delFrom && t <= delTo),
      kept: series.filter((s) => s.labels.get('instance') !== 'i-1').reduce((n, s) => n + s.timestamps.length, 0),
    });
  }
  return out;
}

describe.each(['filesystem', 's3'] as const)('series deletion over a %s bucket', (kind) => {
  let s3: S3Server | undefined;
  const procs: Strata[] = [];
  afterAll(async () => {
    for (const p of procs.reverse()) await stop(p);
    await s3?.close();
  });

  test('delete_series hides the range at once, survives a restart, and the compactor removes it from the blocks', async () => {
    const root = tempDir(`del-${kind}`);
    if (kind === 's3') s3 = await startS3Server('strata');
    const objstore = writeObjstoreConfig(root, s3 && { port: s3.port, bucket: 'strata' });
    const bucket = bucketFromConfig(fs.readFileSync(objstore, 'utf8'));
    const args = [
      `--objstore.config-file=${objstore}`,
      '--tsdb.block-duration=2h',
      '--tsdb.compaction-interval=1s',
      '--tsdb.retention.local=0s',
      '--store-gateway.sync-interval=1s',
      '--compactor.enabled=false',
      '--query-frontend.enabled=false',
      '--receiver.out-of-order-window=0s',
    ];
    let all = await startStrata({ args: [...args, '--web.enable-admin-api'] });
    procs.push(all);
    await push(`${all.url}/api/v1/write`);
    const full = everyMinute();
    // The older ranges are cut, shipped and dropped locally (retention 0s): the gateway serves them.
    await waitFor(
      'blocks shipped',
      async () => {
        let n = 0;
        for await (const d of bucket.iter(`${TENANT}/`)) if (/\/[0-9A-Z]{26}\/$/.test(d) && (await bucket.exists(`${d}meta.json`))) n++;
        return n >= 2;
      },
      90_000,
    );
    await new Promise((r) => setTimeout(r, 3000)); // a gateway sync (every second)
    const before = await samples(all.url);
    for (let i = 0; i < INSTANCES; i++) expect(before[`i-${i}`]).toEqual(full);

    const del = await fetch(
      `${all.url}/api/v1/admin/tsdb/delete_series?match[]=${encodeURIComponent('del_total{instance="i-1"}')}&start=${delFrom / 1000}&end=${delTo / 1000}`,
      { method: 'POST' },
    );
    expect(del.status).toBe(204);
    const kept = full.filter((t) => t < delFrom || t > delTo);
    const expected = { ...before, 'i-1': kept };
    expect(await samples(all.url)).toEqual(expected);
    const bad = await fetch(`${all.url}/api/v1/admin/tsdb/delete_series`, { method: 'POST' });
    expect(bad.status).toBe(400);

    // A restart reads the tombstone back from the bucket.
    await stop(all);
    all = await startStrata({ args, dataDir: all.dataDir, port: all.port });
    procs.push(all);
    expect(await samples(all.url)).toEqual(expected);
    const off = await fetch(`${all.url}/api/v1/admin/tsdb/delete_series?match[]=del_total`, { method: 'POST' });
    expect({ status: off.status, body: await off.json() }).toEqual({
      status: 503,
      body: { status: 'error', errorType: 'unavailable', error: 'admin APIs disabled' },
    });

    const tombstones = await readTenantTombstones(bucket, TENANT);
    expect(tombstones.map((t) => [t.mint, t.maxt])).toEqual([[delFrom, delTo]]);
    const blocksBefore = await bucketBlocks(bucket, tempDir(`del-dl-${kind}`));
    const meeting = blocksBefore.filter((b) => b.minTime <= delTo && b.maxTime > delFrom);
    expect(meeting.length).toBeGreaterThan(0);
    expect(meeting.some((b) => b.deleted.length > 0)).toBe(true);

    const c = startProcess(process.execPath, [
      STRATA_BIN,
      'compactor',
      `--objstore.config-file=${objstore}`,
      `--storage.path=${tempDir(`del-cmp-${kind}`)}`,
      '--compactor.run-once',
      '--compactor.deletion-delay=0s',
      '--log.level=warn',
    ]);
    expect({ exit: await c.exited, output: c.output() }).toMatchObject({ exit: { code: 0 } });
    const blocksAfter = await bucketBlocks(bucket, tempDir(`del-dl2-${kind}`));
    expect(blocksAfter.length).toBeGreaterThan(0);
    for (const b of blocksAfter) {
      expect({ block: b.ulid, deleted: b.deleted }).toEqual({ block: b.ulid, deleted: [] });
      if (b.minTime <= delTo && b.maxTime > delFrom) expect(b.tombstones).toEqual([tombstones[0].id]);
    }
    const tools = startProcess(process.execPath, [STRATA_BIN, 'tools', 'bucket', 'tombstones', `--objstore.config-file=${objstore}`]);
    expect((await tools.exited).code).toBe(0);
    expect(tools.stdout().trim()).toBe(
      `${TENANT}\t${tombstones[0].id}\t{__name__="del_total", instance="i-1"}\t${new Date(delFrom).toISOString()}\t${new Date(delTo).toISOString()}`,
    );
    // The other series lost nothing.
    expect(blocksAfter.reduce((n, b) => n + b.kept, 0)).toBe(blocksBefore.reduce((n, b) => n + b.kept, 0));
    await new Promise((r) => setTimeout(r, 3000)); // the gateway's sync drops the marked sources (deletion delay 0s)
    expect(await samples(all.url)).toEqual(expected);
    await bucket.close();
  });
});

describe('series deletion through a querier', () => {
  const procs: Strata[] = [];
  afterAll(async () => {
    for (const p of procs.reverse()) await stop(p);
  });

  test('the querier forwards delete_series to a receiver and a store gateway; both hide the range at once', async () => {
    const root = tempDir('del-querier');
    const objstore = path.join(root, 'objstore.yml');
    fs.writeFileSync(objstore, `type: FILESYSTEM\nconfig:\n  directory: ${path.join(root, 'bucket')}\n`);
    const bucket = bucketFromConfig(fs.readFileSync(objstore, 'utf8'));
    const admin = '--web.enable-admin-api';
    const receiver = await startStrata({
      component: 'receiver',
      args: [
        `--objstore.config-file=${objstore}`,
        '--tsdb.block-duration=2h',
        '--tsdb.compaction-interval=1s',
        '--tsdb.retention.local=0s',
        '--receiver.out-of-order-window=0s',
        admin,
      ],
    });
    procs.push(receiver);
    await push(`${receiver.url}/api/v1/write`);
    await waitFor(
      'blocks shipped',
      async () => {
        let n = 0;
        for await (const d of bucket.iter(`${TENANT}/`)) if (/\/[0-9A-Z]{26}\/$/.test(d) && (await bucket.exists(`${d}meta.json`))) n++;
        return n >= 2;
      },
      90_000,
    );
    const gw = await startStrata({
      component: 'store-gateway',
      args: [`--objstore.config-file=${objstore}`, '--store-gateway.sync-interval=1s', admin],
    });
    procs.push(gw);
    const querier = await startStrata({ component: 'querier', args: [`--querier.stores=${receiver.url},${gw.url}`, admin] });
    procs.push(querier);
    const full = everyMinute();
    await waitFor('the querier sees every sample', async () => (await samples(querier.url))['i-1']?.length === full.length, 60_000);

    const inRange = async (store: Strata) => ((await samples(store.url))['i-1'] ?? []).filter((t) => t >= delFrom && t <= delTo);
    // Both stores hold part of the range: the receiver in its head, the gateway in shipped blocks.
    for (const store of [receiver, gw]) expect((await inRange(store)).length).toBeGreaterThan(0);
    const del = await fetch(`${querier.url}/api/v1/admin/tsdb/delete_series`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ 'match[]': 'del_total{instance="i-1"}', start: String(delFrom / 1000), end: String(delTo / 1000) }),
    });
    expect(del.status).toBe(204);
    const kept = full.filter((t) => t < delFrom || t > delTo);
    const got = await samples(querier.url);
    expect(got['i-1']).toEqual(kept);
    expect(got['i-2']).toEqual(full);
    // Each store alone hides its part: the receiver its head, the gateway the bucket's blocks.
    for (const store of [receiver, gw]) expect(await inRange(store)).toEqual([]);
    expect((await readTenantTombstones(bucket, TENANT)).map((t) => [t.mint, t.maxt])).toEqual([[delFrom, delTo]]);
    await bucket.close();
  });
});
