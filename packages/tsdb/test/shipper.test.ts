/** The shipper against a real local-folder bucket: order, progress, failures, restarts. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { Labels, Matcher } from '@strata/model';
import { bucketByteSource, FilesystemBucket, type Bucket } from '@strata/objstore';
import { BlockReader, Shipper, TSDB, type BlockSources } from '@strata/tsdb';

const dirs: string[] = [];
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-ship-'));
  dirs.push(d);
  return d;
}
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

const RANGE = 30 * 60_000;

/** A bucket that records uploads and can be told to fail (an outage, or a crash mid-upload). */
class FlakyBucket {
  uploads: string[] = [];
  failNext = 0;
  failWhen: (name: string) => boolean = () => false;
  constructor(readonly inner: Bucket) {}
  async upload(name: string, body: Buffer | Readable): Promise<void> {
    if (this.failNext > 0 || this.failWhen(name)) {
      this.failNext = Math.max(0, this.failNext - 1);
      if (typeof (body as Readable).destroy === 'function') (body as Readable).destroy();
      throw new Error('bucket unavailable');
    }
    this.uploads.push(name);
    await this.inner.upload(name, body);
  }
  exists(name: string): Promise<boolean> {
    return this.inner.exists(name);
  }
}

async function ingest(dir: string, hours: number): Promise<{ db: TSDB; total: number }> {
  const db = await TSDB.open({
    dir,
    fsync: 'none',
    blockDurationMs: RANGE,
    head: { outOfOrderWindowMs: 0, samplesPerChunk: 120, maxSeries: 0 },
  });
  const t = await db.tenant('t');
  const total = (hours * 3600_000) / 15_000;
  for (let i = 0; i < total; i++) {
    const app = t.appender();
    for (let s = 0; s < 4; s++) app.append(app.ref(Labels.fromObject({ __name__: 'm', s: String(s) })), i * 15_000, i * 10 + s);
    await app.commit();
  }
  await db.compactAll();
  return { db, total };
}

/** Every block in the bucket under a prefix, read back through ranged reads on the bucket. */
async function samplesInBucket(bucket: Bucket, prefix: string): Promise<number> {
  let n = 0;
  for await (const dir of bucket.iter(prefix)) {
    if (!(await bucket.exists(`${dir}meta.json`))) continue;
    const sources: BlockSources = {
      meta: async () => (await bucket.get(`${dir}meta.json`)).toString(),
      index: bucketByteSource(bucket, `${dir}index`),
      segment: (seq) => bucketByteSource(bucket, `${dir}chunks/${String(seq + 1).padStart(6, '0')}`),
    };
    const r = await BlockReader.open(sources, dir);
    for (const s of await r.select([new Matcher('=', '__name__', 'm')], { start: -Infinity, end: Infinity })) n += s.timestamps.length;
  }
  return n;
}

test('blocks are uploaded chunks first and meta.json last, once, and read back from the bucket', async () => {
  const dir = tmp();
  const { db } = await ingest(dir, 2);
  const t = await db.tenant('t');
  const bucket = new FlakyBucket(new FilesystemBucket(tmp()));
  const shipper = new Shipper({
    bucket,
    prefix: 't/',
    blocksDir: t.blocksDir,
    localRetentionMs: Infinity,
    dropLocal: (u) => t.dropLocalBlock(u),
  });
  const n = await shipper.sync();
  expect(n).toBe(t.blocks.length);
  for (const ulid of t.blocks.map((b) => b.meta.ulid)) {
    const mine = bucket.uploads.filter((u) => u.startsWith(`t/${ulid}/`));
    expect(mine[0]).toMatch(/chunks\/000001$/);
    expect(mine[mine.length - 1]).toBe(`t/${ulid}/meta.json`);
    expect(mine.indexOf(`t/${ulid}/index`)).toBeLessThan(mine.length - 1);
  }
  // A new shipper (a restart) re-uploads nothing.
  const before = bucket.uploads.length;
  expect(
    await new Shipper({
      bucket,
      prefix: 't/',
      blocksDir: t.blocksDir,
      localRetentionMs: Infinity,
      dropLocal: async () => undefined,
    }).sync(),
  ).toBe(0);
  expect(bucket.uploads.length).toBe(before);
  const blockSamples = t.blocks.reduce((s, b) => s + b.meta.stats.numSamples, 0);
  expect(await samplesInBucket(bucket.inner, 't/')).toBe(blockSamples);
  await db.close();
});

test('while the bucket is down, blocks wait on disk; afterwards every sample reaches the bucket', async () => {
  const dir = tmp();
  const bucket = new FlakyBucket(new FilesystemBucket(tmp()));
  const { db, total } = await ingest(dir, 3);
  const t = await db.tenant('t');
  const shipper = new Shipper({ bucket, prefix: 't/', blocksDir: t.blocksDir, localRetentionMs: 0, dropLocal: (u) => t.dropLocalBlock(u) });
  bucket.failNext = 1_000_000;
  expect(await shipper.sync()).toBe(0);
  expect(shipper.backlog).toBe(t.blocks.length);
  expect(t.blocks.length).toBeGreaterThan(0);
  bucket.failNext = 0;
  await shipper.sync();
  expect(shipper.backlog).toBe(0);
  // Flush the rest of the head (as on shutdown) and ship it too.
  await db.compactAll(true);
  await shipper.sync();
  // Local retention 0: shipped blocks are gone from disk, all samples are in the bucket.
  expect(t.blocks.length).toBe(0);
  expect(await samplesInBucket(bucket.inner, 't/')).toBe(total * 4);
  await db.close();
});

test('a crash in the middle of an upload leaves no visible partial block, and the restart completes it', async () => {
  const dir = tmp();
  const { db } = await ingest(dir, 2);
  const t = await db.tenant('t');
  const fsb = new FilesystemBucket(tmp());
  const bucket = new FlakyBucket(fsb);
  bucket.failWhen = (n) => n.endsWith('/index');
  const first = t.blocks[0].meta.ulid;
  await new Shipper({ bucket, prefix: 't/', blocksDir: t.blocksDir, localRetentionMs: Infinity, dropLocal: async () => undefined }).sync();
  expect(await fsb.exists(`t/${first}/chunks/000001`)).toBe(true);
  expect(await fsb.exists(`t/${first}/meta.json`)).toBe(false); // readers never see it
  bucket.failWhen = () => false;
  const restarted = new Shipper({
    bucket,
    prefix: 't/',
    blocksDir: t.blocksDir,
    localRetentionMs: Infinity,
    dropLocal: async () => undefined,
  });
  expect(await restarted.sync()).toBe(t.blocks.length);
  expect(await fsb.exists(`t/${first}/meta.json`)).toBe(true);
  await db.close();
});

test('a damaged local meta.json is never shipped, and an already shipped one does not stop retention of the others', async () => {
  const dir = tmp();
  const { db } = await ingest(dir, 3);
  const t = await db.tenant('t');
  const ulids = t.blocks.map((b) => b.meta.ulid);
  expect(ulids.length).toBeGreaterThanOrEqual(3);
  const bucket = new FlakyBucket(new FilesystemBucket(tmp()));
  const dropped: string[] = [];
  let retentionMs = Infinity;
  const shipper = new Shipper({
    bucket,
    prefix: 't/',
    blocksDir: t.blocksDir,
    get localRetentionMs() {
      return retentionMs;
    },
    dropLocal: async (u) => void dropped.push(u),
  });
  // The newest block's meta.json is damaged before shipping: nothing of it is uploaded, the others are.
  const newestMeta = path.join(t.blocksDir, ulids[ulids.length - 1], 'meta.json');
  const good = fs.readFileSync(newestMeta);
  fs.writeFileSync(newestMeta, '{"ulid": ');
  expect(await shipper.sync()).toBe(ulids.length - 1);
  expect(bucket.uploads.filter((u) => u.startsWith(`t/${ulids[ulids.length - 1]}/`))).toEqual([]);
  fs.writeFileSync(newestMeta, good);
  expect(await shipper.sync()).toBe(1);
  // An already shipped block's local meta.json is damaged: retention still drops every other block.
  fs.writeFileSync(path.join(t.blocksDir, ulids[0], 'meta.json'), 'not json');
  retentionMs = 0;
  await expect(shipper.sync()).resolves.toBe(0);
  expect(dropped.sort()).toEqual(ulids.slice(1).sort());
  await db.close();
});

test('a sync asked for while one is running ships the blocks cut since it began', async () => {
  // The flush on shutdown: the last block is cut while the sync triggered by the previous block
  // still uploads; joining that sync would exit with the last block never shipped.
  const dir = tmp();
  const { db, total } = await ingest(dir, 2);
  const t = await db.tenant('t');
  const bucket = new FlakyBucket(new FilesystemBucket(tmp()));
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const slow = {
    upload: async (n: string, b: Buffer | Readable) => (await gate, bucket.upload(n, b)),
    exists: (n: string) => bucket.exists(n),
  };
  const shipper = new Shipper({
    bucket: slow,
    prefix: 't/',
    blocksDir: t.blocksDir,
    localRetentionMs: Infinity,
    dropLocal: async () => undefined,
  });
  const first = shipper.sync();
  await new Promise((r) => setTimeout(r, 50)); // the first sync has listed the blocks and waits on the bucket
  await db.compactAll(true);
  const second = shipper.sync();
  release();
  await Promise.all([first, second]);
  expect(await samplesInBucket(bucket.inner, 't/')).toBe(total * 4);
  await db.close();
});
