/**
 * The Querier contract (model/test/querier-contract.ts) against the tsdb's queriers: the head
 * alone, a tenant's head with the older data compacted into local blocks, the set of blocks a
 * tenant cut, and one block holding the whole dataset read by a BlockReader.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Series } from '@strata/model';
import { BLOCK_MS, forEachSampleInTimeOrder, querierContract, type Dataset } from '../../model/test/querier-contract.js';
import {
  BlockReader,
  BlockSetQuerier,
  decodeRawSeries,
  TSDB,
  writeBlock,
  XOREncoder,
  type BlockSeries,
  type TenantDB,
} from '../src/index.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'strata-qc-'));

/** A TSDB with one tenant holding the dataset in its head, appended in time order. */
async function loaded(ds: Dataset): Promise<{ db: TSDB; t: TenantDB; dir: string }> {
  const dir = tmp();
  const db = await TSDB.open({
    dir,
    fsync: 'none',
    blockDurationMs: BLOCK_MS,
    compactIntervalMs: 0,
    head: { outOfOrderWindowMs: 0, maxSeries: 0 },
  });
  const t = await db.tenant('contract');
  const app = t.appender();
  let n = 0;
  const refs = new Map<Series, number>();
  forEachSampleInTimeOrder(ds, (s, ts, v) => {
    let ref = refs.get(s);
    if (ref === undefined) refs.set(s, (ref = app.ref(s.labels)));
    app.append(ref, ts, v);
    n++;
  });
  await app.commit();
  expect(n).toBe(ds.series.reduce((a, s) => a + s.timestamps.length, 0));
  return { db, t, dir };
}

/** The head's time range as a block's [minTime, maxTime): the label APIs answer from it as a whole. */
const headRange = (t: TenantDB) => ({ minTime: t.head.minT, maxTime: t.head.maxT + 1 });

const close = (db: TSDB, dir: string) => async () => {
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
};

querierContract(
  'head',
  async (ds) => {
    const { db, t, dir } = await loaded(ds);
    // series() counts a head series by its min-max time; the label APIs count the head as a whole, as Prometheus does.
    return { querier: t.head.querier(), cleanup: close(db, dir), labelTimeTolerance: { seriesSpan: true, blocks: [headRange(t)] } };
  },
  { decodeRaw: decodeRawSeries },
);

querierContract(
  'tenant: head + local blocks',
  async (ds) => {
    const { db, t, dir } = await loaded(ds);
    const metas = await t.compact();
    // Complete ranges went to blocks, the rest stays in the head: both parts are queried.
    expect(metas.length).toBeGreaterThanOrEqual(2);
    expect(t.head.stats().numSeries).toBeGreaterThan(0);
    return { querier: t.querier(), cleanup: close(db, dir), labelTimeTolerance: { seriesSpan: true, blocks: [...metas, headRange(t)] } };
  },
  { decodeRaw: decodeRawSeries },
);

querierContract(
  'block set of a compacted tenant',
  async (ds) => {
    const { db, t, dir } = await loaded(ds);
    const metas = await t.compact(true);
    expect(metas.length).toBe(4);
    return { querier: new BlockSetQuerier(t.blocks), cleanup: close(db, dir), labelTimeTolerance: { blocks: metas } };
  },
  { decodeRaw: decodeRawSeries },
);

/** Every series of the dataset as chunks of at most 120 samples, values copied as bits. */
function asBlockSeries(s: Series): BlockSeries {
  const bits = new Uint32Array(s.values.buffer, s.values.byteOffset, s.values.length * 2);
  const chunks: BlockSeries['chunks'] = [];
  for (let i = 0; i < s.timestamps.length; i += 120) {
    const enc = new XOREncoder();
    const end = Math.min(i + 120, s.timestamps.length);
    for (let k = i; k < end; k++) enc.appendBits(s.timestamps[k], bits[2 * k + 1], bits[2 * k]);
    chunks.push({ minT: s.timestamps[i], maxT: s.timestamps[end - 1], data: enc.bytes().slice() });
  }
  return { labels: s.labels, chunks };
}

querierContract(
  'one block read by BlockReader',
  async (ds) => {
    const dir = tmp();
    const range = { minTime: Math.floor(ds.minTime / BLOCK_MS) * BLOCK_MS, maxTime: Math.ceil((ds.maxTime + 1) / BLOCK_MS) * BLOCK_MS };
    const meta = await writeBlock(dir, ds.series.map(asBlockSeries), range);
    const reader = await BlockReader.openDir(path.join(dir, meta.ulid));
    return {
      querier: reader,
      cleanup: async () => {
        await reader.close();
        fs.rmSync(dir, { recursive: true, force: true });
      },
      labelTimeTolerance: { blocks: [meta] },
    };
  },
  { decodeRaw: decodeRawSeries },
);
