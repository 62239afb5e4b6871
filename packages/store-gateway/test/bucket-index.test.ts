/**
 * The gateway finds a tenant's blocks in the compactor's bucket-index.json.gz when it is fresh,
 * and lists the bucket when it is missing, stale, unreadable or switched off: on a local folder
 * and on the S3 server, with the same assertions.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Labels, Matcher } from '@strata/model';
import { bucketFromConfig, FilesystemBucket, type Bucket } from '@strata/objstore';
import { BUCKET_INDEX_FILE, buildBucketIndex, encodeBucketIndex, Shipper, TSDB, type BlockMeta } from '@strata/tsdb';
import { StoreGateway } from '../src/index.js';
import { gatewayTestOptions } from './gateway-options.js';
import { startS3Server, type S3Server } from '../../objstore/test/s3-server.js';

const dirs: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-sg-ix-'));
  dirs.push(d);
  return d;
};
let s3: S3Server | undefined;
afterAll(async () => {
  dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true }));
  await s3?.close();
});

/** The bucket, with the prefixes it was asked to list. */
function listingsOf(bucket: Bucket): { bucket: Bucket; listed: string[] } {
  const listed: string[] = [];
  const proxy = new Proxy(bucket, {
    get(target, prop, receiver) {
      if (prop === 'iter')
        return (prefix: string, o?: unknown) => {
          listed.push(prefix);
          return target.iter(prefix, o as never);
        };
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  return { bucket: proxy, listed };
}

async function shipBlocks(bucket: Bucket): Promise<BlockMeta[]> {
  const db = await TSDB.open({
    dir: tmp(),
    fsync: 'none',
    blockDurationMs: 30 * 60_000,
    head: { outOfOrderWindowMs: 0, samplesPerChunk: 120, maxSeries: 0 },
  });
  const t = await db.tenant('team-a');
  const app = t.appender();
  const ref = app.ref(Labels.fromObject({ __name__: 'm' }));
  for (let i = 0; i < (4 * 3600_000) / 60_000; i++) app.append(ref, i * 60_000, i);
  await app.commit();
  await db.compactAll(true);
  await new Shipper({
    bucket,
    prefix: 'team-a/',
    blocksDir: t.blocksDir,
    localRetentionMs: Infinity,
    dropLocal: async () => undefined,
  }).sync();
  const metas = t.blocks.map((b) => b.meta);
  await db.close();
  return metas.sort((a, b) => a.minTime - b.minTime);
}

describe.each(['filesystem', 's3'] as const)('bucket index over a %s bucket', (kind) => {
  let bucket: Bucket;
  let metas: BlockMeta[];
  beforeAll(async () => {
    if (kind === 's3') {
      s3 ??= await startS3Server('strata');
      bucket = bucketFromConfig(
        `type: S3\nconfig:\n  bucket: strata\n  endpoint: 127.0.0.1:${s3.port}\n  insecure: true\n  access_key: S3RVER\n  secret_key: S3RVER\n  prefix: ix-${Date.now()}\n`,
      );
    } else bucket = new FilesystemBucket(tmp());
    metas = await shipBlocks(bucket);
    expect(metas).toHaveLength(8);
  });

  const H = 3600_000;
  /** The index the compactor would write, of the first 6 blocks, the first of them marked an hour ago. */
  const writeIndex = async (ageMs: number) => {
    const now = Date.now();
    const marks = new Map([[metas[0].ulid, { id: metas[0].ulid, deletion_time: Math.floor((now - H) / 1000) }]]);
    const ix = buildBucketIndex(metas.slice(0, 6), marks, now - ageMs, () => now - H);
    await bucket.upload(`team-a/${BUCKET_INDEX_FILE}`, encodeBucketIndex(ix));
  };
  const served = (g: StoreGateway) =>
    g
      .tenantBlocks('team-a')
      .map((b) => b.meta.ulid)
      .sort();
  const ulids = (ms: BlockMeta[]) => ms.map((m) => m.ulid).sort();

  test.each([
    ['no index: listed', undefined, true, 'missing', 8],
    ['a fresh index: used, the tenant not listed, its deletion marks honoured', 0, true, 'used', 5],
    ['an index older than the max stale period: listed', 2 * H, true, 'stale', 8],
    ['an unreadable index: listed', 'garbage', true, 'invalid', 8],
    ['the index switched off: listed', 0, false, undefined, 8],
  ] as const)('%s', async (_name, index, enabled, result, blocks) => {
    await bucket.delete(`team-a/${BUCKET_INDEX_FILE}`).catch(() => undefined);
    if (index === 'garbage') await bucket.upload(`team-a/${BUCKET_INDEX_FILE}`, Buffer.from('not gzip'));
    else if (index !== undefined) await writeIndex(index);
    const { bucket: counted, listed } = listingsOf(bucket);
    const opts = gatewayTestOptions(counted, tmp());
    const g = new StoreGateway({ ...opts, bucketIndex: { enabled, maxStalePeriodMs: H }, deletionDelayMs: 0 });
    await g.sync();
    expect(served(g)).toEqual(blocks === 5 ? ulids(metas.slice(1, 6)) : ulids(metas));
    expect(listed.includes('team-a/')).toBe(result !== 'used');
    const loads = (await opts.registry.getSingleMetric('strata_store_gateway_bucket_index_loads_total')!.get()).values;
    expect(loads.map((v) => [v.labels.result, v.value])).toEqual(result ? [[result, 1]] : []);
    // Every block it found answers: 30 samples each.
    const series = await g.querier('team-a').select([new Matcher('=', '__name__', 'm')], { start: -Infinity, end: Infinity });
    expect(series.map((x) => x.timestamps.length)).toEqual([blocks * 30]);
    await g.stop();
  });
});
