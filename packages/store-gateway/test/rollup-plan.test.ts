/**
 * The gateway opens only the blocks the resolution plan picks: a query answered from a rollup reads
 * nothing of the raw blocks it stands for, a raw query nothing of the rollup, and both answer what
 * a block set over every block (planning after opening all) answers.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Labels, Matcher, type Series } from '@strata/model';
import { FilesystemBucket, type Bucket } from '@strata/objstore';
import { BlockReader, BlockSetQuerier, downsampleBlocks, RES_5M, Shipper, TSDB } from '@strata/tsdb';
import { StoreGateway } from '../src/index.js';
import { gatewayTestOptions } from './gateway-options.js';

const dirs: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-sg-plan-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

const RANGE = 3600_000;
const HOURS = 6;
let bucketDir: string;
let rawUlids: string[];
let rollupUlid: string;
let locals: BlockReader[];

beforeAll(async () => {
  const db = await TSDB.open({ dir: tmp(), fsync: 'none', blockDurationMs: RANGE, head: { outOfOrderWindowMs: 0, maxSeries: 0 } });
  const t = await db.tenant('team-a');
  for (let i = 0; i < (HOURS * RANGE) / 15_000; i++) {
    const app = t.appender();
    for (let s = 0; s < 4; s++) app.append(app.ref(Labels.fromObject({ __name__: 'c_total', s: String(s) })), i * 15_000, i * (s + 1));
    await app.commit();
  }
  await db.compactAll(true);
  bucketDir = tmp();
  await new Shipper({
    bucket: new FilesystemBucket(bucketDir),
    prefix: 'team-a/',
    blocksDir: t.blocksDir,
    localRetentionMs: Infinity,
    dropLocal: async () => undefined,
  }).sync();
  await db.close();
  const tenantDir = path.join(bucketDir, 'team-a');
  rawUlids = fs.readdirSync(tenantDir).filter((u) => fs.existsSync(path.join(tenantDir, u, 'meta.json')));
  const raw = await Promise.all(rawUlids.map((u) => BlockReader.openDir(path.join(tenantDir, u))));
  rollupUlid = (await downsampleBlocks(raw, tenantDir, RES_5M)).ulid;
  locals = [...raw, await BlockReader.openDir(path.join(tenantDir, rollupUlid))];
});
afterAll(async () => {
  for (const r of locals) await r.close();
});

/** The blocks (ULIDs) any get/getRange touched. */
function touching(inner: Bucket): Bucket & { touched: Set<string> } {
  const b = Object.create(inner) as Bucket & { touched: Set<string> };
  b.touched = new Set();
  const note = (name: string) => b.touched.add(name.split('/')[1]);
  b.get = (name) => (note(name), inner.get(name));
  b.getRange = (name, offset, length) => (note(name), inner.getRange(name, offset, length));
  return b;
}

const flat = (ss: Series[]) => ss.map((s) => ({ l: s.labels.key(), t: [...s.timestamps], v: [...s.values] }));

test.each([
  // [max resolution, function hint, blocks that may be read]
  ['raw', 0, 'rate', () => rawUlids],
  ['5m rollup, rate', RES_5M, 'rate', () => [rollupUlid]],
  ['5m rollup, max_over_time', RES_5M, 'max_over_time', () => [rollupUlid]],
] as const)('%s: reads only the planned blocks and answers as the full block set does', async (_name, maxResolution, func, allowed) => {
  const bucket = touching(new FilesystemBucket(bucketDir));
  const g = new StoreGateway(gatewayTestOptions(bucket, tmp()));
  await g.start();
  bucket.touched.clear(); // the sync's meta.json reads are not the query's
  const hints = { start: 30 * 60_000, end: HOURS * RANGE - 1, maxResolution, func, range: 10 * 60_000 };
  const matchers = [new Matcher('=', '__name__', 'c_total')];
  const got = await g.querier('team-a').select(matchers, hints);
  const want = await new BlockSetQuerier(locals).select(matchers, hints);
  await g.stop();
  expect(got.length).toBe(4);
  expect(flat(got)).toEqual(flat(want));
  const may: readonly string[] = allowed();
  expect([...bucket.touched].filter((u) => !may.includes(u))).toEqual([]);
  expect(bucket.touched.size).toBeGreaterThan(0);
});
