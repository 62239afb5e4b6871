/**
 * Downsampling end to end through the compactor, on a real bucket folder: four days of 2h blocks
 * (a counter with a reset, a latency gauge) compacted to 48h, downsampled pass by pass to 5m, 1h and
 * 1d (short "after" settings so it runs in CI time), then PromQL over the bucket's live blocks with
 * max_source_resolution against the same PromQL over the raw data: exact for count/sum/min/max-
 * derived results, within the sketches' 1% for quantiles.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Labels, mulberry32 } from '@strata/model';
import { bucketFromConfig, FilesystemBucket, type Bucket } from '@strata/objstore';
import { Engine, type RangeSeries } from '@strata/promql';
import {
  BlockReader,
  BlockSetQuerier,
  RELATIVE_ACCURACY,
  RES_1D,
  RES_1H,
  RES_5M,
  writeBlock,
  XOREncoder,
  type BlockMeta,
} from '@strata/tsdb';
import { downloadBlock, scanTenant, uploadBlock } from '../src/bucket-blocks.js';
import { downsampleStep } from '../src/downsample.js';
import { resolutionOf } from '../src/planner.js';
import { testCompactor } from './test-compactor.js';
import { startS3Server, type S3Server } from '../../objstore/test/s3-server.js';

const H = 3600_000;
const DAY = 24 * H;
const dirs: string[] = [];
const tmp = (): string => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-downsample-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** Day-aligned, long enough ago that every "after" has passed. */
const T0 = Math.floor(Date.now() / (2 * DAY)) * 2 * DAY - 10 * DAY;
const END = T0 + 98 * H; // one 2h block past the second 48h range, so that range is complete
const SCRAPE = 30_000;
const OFFSET = 7_000;

const counter = (t: number): number => (t < T0 + 30 * H ? 5e5 + ((t - T0) / SCRAPE) * 2 : ((t - T0 - 30 * H) / SCRAPE) * 2);

async function put(bucket: Bucket, from: number): Promise<BlockMeta> {
  const r = mulberry32(from / 1000);
  const chunks = (value: (t: number) => number) => {
    const out = [];
    let e = new XOREncoder();
    let minT = 0;
    let lastT = 0;
    for (let t = from + OFFSET; t < from + 2 * H; t += SCRAPE) {
      if (e.numSamples === 120) {
        out.push({ minT, maxT: lastT, data: e.bytes().slice() });
        e = new XOREncoder();
      }
      if (e.numSamples === 0) minT = t;
      e.append(t, value(t));
      lastT = t;
    }
    out.push({ minT, maxT: lastT, data: e.bytes().slice() });
    return out;
  };
  const local = tmp();
  const meta = await writeBlock(
    local,
    [
      { labels: Labels.fromObject({ __name__: 'req_total', job: 'api' }), chunks: chunks(counter) },
      { labels: Labels.fromObject({ __name__: 'latency_seconds', job: 'api' }), chunks: chunks(() => 0.02 + 0.3 * r() ** 3) },
    ],
    { minTime: from, maxTime: from + 2 * H, externalLabels: { receive_replica: 'r1' } },
  );
  await uploadBlock(bucket, 't', path.join(local, meta.ulid), meta.ulid);
  return meta;
}

const engine = new Engine();

/** Every assertion against the local-folder bucket and a real S3 server (s3rver). */
describe.each(['filesystem', 's3rver'])('over a %s bucket', (kind) => {
  let bucket: Bucket;
  let live: BlockReader[];
  let s3: S3Server | undefined;

  beforeAll(async () => {
    if (kind === 's3rver') {
      s3 = await startS3Server('strata');
      bucket = bucketFromConfig({
        type: 'S3',
        config: {
          bucket: 'strata',
          endpoint: `127.0.0.1:${s3.port}`,
          insecure: true,
          access_key: 'S3RVER',
          secret_key: 'S3RVER',
          region: 'us-east-1',
        },
      });
    } else bucket = new FilesystemBucket(tmp());
    for (let b = T0; b < END; b += 2 * H) await put(bucket, b);
    const ranges = [2 * H, 8 * H, 48 * H];
    const after = { fiveMinutes: 40 * H, oneHour: 48 * H, oneDay: 3 * DAY };
    const c = testCompactor(bucket, tmp(), {
      blockRangesMs: ranges,
      groupSteps: [downsampleStep({ after, blockRangesMs: ranges, replicaLabels: ['receive_replica'] })],
    });
    // Each pass downsamples one level further (a new rollup's group is met at the next pass).
    for (let i = 0; i < 4; i++) expect((await c.runPass()).failures).toBe(0);
    const state = await scanTenant(bucket, 't');
    const local = tmp();
    live = [];
    for (const m of state.metas.values()) {
      if (state.deletionMarks.has(m.ulid)) continue;
      await downloadBlock(bucket, 't', m.ulid, local);
      live.push(await BlockReader.openDir(path.join(local, m.ulid)));
    }
  }, 120_000);

  afterAll(async () => {
    for (const b of live ?? []) await b.close();
    await s3?.close();
  });

  test('the bucket holds 48h raw blocks and their 5m, 1h and 1d rollups, one of each per range', () => {
    const rows = live
      .map((b) => [resolutionOf(b.meta), (b.meta.minTime - T0) / H, (b.meta.maxTime - T0) / H])
      .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    expect(rows).toEqual([
      [0, 0, 48],
      [0, 48, 96],
      [0, 96, 98],
      [RES_5M, 0, 48],
      [RES_5M, 48, 96],
      [RES_1H, 0, 48],
      [RES_1H, 48, 96],
      [RES_1D, 0, 48],
      [RES_1D, 48, 96],
    ]);
    // Compacted blocks and rollups carry the group's labels (the replica label removed); the newest
    // 2h block is left to a later pass, as it may just have been uploaded.
    for (const b of live) expect(b.meta.thanos!.labels).toEqual(b.meta.maxTime - b.meta.minTime === 2 * H ? { receive_replica: 'r1' } : {});
    for (const b of live.filter((x) => resolutionOf(x.meta) > 0)) expect(b.meta.thanos!.source).toBe('compactor');
  });

  async function run(maxResolution: number, q: string, step: number, raw: boolean): Promise<RangeSeries[]> {
    const blocks = raw ? live.filter((b) => resolutionOf(b.meta) === 0) : live;
    const out = await engine.rangeQuery(new BlockSetQuerier(blocks), q, T0 + step, T0 + 96 * H, step, { maxResolution });
    if (out.result.resultType !== 'matrix') throw new Error('matrix expected');
    return out.result.matrix;
  }

  function compare(got: RangeSeries[], want: RangeSeries[], tolerance: number): void {
    expect(got.length).toBeGreaterThan(0);
    expect(got.map((s) => s.labels.toString())).toEqual(want.map((s) => s.labels.toString()));
    got.forEach((s, i) => {
      expect(Array.from(s.timestamps)).toEqual(Array.from(want[i].timestamps));
      s.values.forEach((v, k) =>
        expect(Math.abs(v - want[i].values[k])).toBeLessThanOrEqual(tolerance * Math.max(1e-9, Math.abs(want[i].values[k]))),
      );
    });
  }

  test.each([
    ['5m', RES_5M, H],
    ['1h', RES_1H, H],
    ['1d', RES_1D, DAY],
  ])('queries over %s rollups answer as the raw data', async (_n, res, step) => {
    const r = step === DAY ? '1d' : '1h';
    for (const q of [
      `max_over_time(latency_seconds[${r}])`,
      `avg_over_time(latency_seconds[${r}])`,
      `count_over_time(latency_seconds[${r}])`,
    ])
      compare(await run(res, q, step, false), await run(0, q, step, true), 1e-9);
    compare(
      await run(res, `quantile_over_time(0.99, latency_seconds[${r}])`, step, false),
      await run(0, `quantile_over_time(0.99, latency_seconds[${r}])`, step, true),
      RELATIVE_ACCURACY,
    );
  });

  test('sum(rate(req_total[1h])) at 1h step over 5m rollups equals raw', async () => {
    compare(await run(RES_5M, 'sum(rate(req_total[1h]))', H, false), await run(0, 'sum(rate(req_total[1h]))', H, true), 1e-9);
  });

  test('a second run downsamples nothing again', async () => {
    const before = (await scanTenant(bucket, 't')).metas.size;
    const c = testCompactor(bucket, tmp(), {
      blockRangesMs: [2 * H, 8 * H, 48 * H],
      groupSteps: [
        downsampleStep({
          after: { fiveMinutes: 40 * H, oneHour: 48 * H, oneDay: 3 * DAY },
          blockRangesMs: [2 * H, 8 * H, 48 * H],
          replicaLabels: [],
        }),
      ],
    });
    expect(await c.runPass()).toMatchObject({ failures: 0, compactions: 0 });
    expect((await scanTenant(bucket, 't')).metas.size).toBe(before);
  });
});
