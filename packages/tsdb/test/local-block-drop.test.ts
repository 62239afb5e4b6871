/**
 * A local block dropped (shipped and past its local retention) while a read on this thread is in
 * progress: the read answers in full from the block it started with, and the block's files are
 * closed and deleted only after it. Before, the drop closed the files under the read, which then
 * failed (or answered without the block) whenever its reads went to disk.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Labels, Matcher, type SelectHints, type Series } from '@strata/model';
import { TSDB, type TenantDB } from '@strata/tsdb';

const HOUR = 3_600_000;
const T0 = 100 * HOUR;
const SERIES = 2000;

let dir: string;
let db: TSDB;
let tenant: TenantDB;

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-block-drop-'));
  // No block cache: every read of a block goes to its files.
  db = await TSDB.open({
    dir,
    fsync: 'none',
    blockDurationMs: HOUR,
    compactIntervalMs: 0,
    blockCacheBytes: 0,
    head: { outOfOrderWindowMs: 0, samplesPerChunk: 120, maxSeries: 0 },
  });
  tenant = await db.tenant('t');
  const app = tenant.appender();
  const refs = Array.from({ length: SERIES }, (_, i) => app.ref(Labels.fromObject({ __name__: 'm', i: String(i) })));
  for (let t = T0; t < T0 + 3 * HOUR; t += 30_000) refs.forEach((r, i) => app.append(r, t, i + t / 1000));
  await app.commit();
  await tenant.compact(true);
});

afterEach(async () => {
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const samples = (ss: Series[]) => ss.reduce((n, s) => n + s.timestamps.length, 0);
const hints = { start: T0, end: T0 + 3 * HOUR };
const all = [new Matcher('=', '__name__', 'm')];

type Read = (q: ReturnType<TenantDB['querier']>, h: SelectHints) => Promise<unknown>;

test.each<[string, Read, (v: unknown) => number]>([
  ['select', (q, h) => q.select(all, h), (v) => samples(v as Series[])],
  ['series', (q, h) => q.series(all, h), (v) => (v as unknown[]).length],
  ['label values', (q, h) => q.labelValues('i', all, h), (v) => (v as unknown[]).length],
])('a %s in progress when its blocks are dropped answers in full; the files go after it', async (_, read, size) => {
  expect(tenant.blocks.length).toBeGreaterThanOrEqual(2);
  const whole = size(await read(tenant.querier(), hints));
  expect(whole).toBeGreaterThan(0);

  const ulids = tenant.blocks.map((b) => b.meta.ulid);
  const order: string[] = [];
  let dropped: Promise<unknown> = Promise.resolve();
  // The drop starts inside the read, once its postings are looked up (a select checks its signal
  // there), before its series and chunks are read; a read that never checks drops at once.
  let started = false;
  const drop = () => {
    if (started) return;
    started = true;
    dropped = Promise.all(ulids.map((u) => tenant.dropLocalBlock(u))).then(() => order.push('dropped'));
  };
  const signal = { aborted: false, throwIfAborted: drop } as unknown as AbortSignal;
  const reading = read(tenant.querier(), { ...hints, signal }).then((v) => {
    order.push('read');
    for (const u of ulids) expect(fs.existsSync(path.join(tenant.blocksDir, u))).toBe(true);
    return v;
  });
  drop();
  expect(size(await reading)).toBe(whole);
  await dropped;
  expect(order).toEqual(['read', 'dropped']);
  for (const u of ulids) expect(fs.existsSync(path.join(tenant.blocksDir, u))).toBe(false);
  expect(tenant.blocks.length).toBe(0);
});
