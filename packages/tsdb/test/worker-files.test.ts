/**
 * A local block read as a query worker reads it (WorkerBlockFiles), through the block cache of the
 * thread that listed it: the files the cache holds are read from shared memory, a file the cache
 * would keep is read whole once and handed back, a larger one range by range; every byte read is
 * counted, from disk or from memory. The answers are those of the block read directly.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Labels, Matcher, RawPacker, releaseBlocks, unpackRaw, type RawSeries } from '@strata/model';
import { BlockReader, SegmentCache, WorkerBlockFiles, writeBlock, XOREncoder, type BlockSeries } from '@strata/tsdb';

const RANGE = 2 * 3600_000;
const T0 = 1_700_000_000_000 - (1_700_000_000_000 % RANGE);
const MATCHERS = [new Matcher('=~', 'job', 'a|c')];
const HINTS = { start: T0 + 600_000, end: T0 + RANGE - 600_000 };

let root: string;
let dir: string;
let want: ReturnType<typeof view>;
const size = (rel: string) => fs.statSync(path.join(dir, rel)).size;

function series(i: number): BlockSeries {
  const chunks: BlockSeries['chunks'] = [];
  for (let c = T0; c < T0 + RANGE; c += 120 * 15_000) {
    const enc = new XOREncoder();
    for (let t = c; t < c + 120 * 15_000; t += 15_000) enc.append(t, (t / 15_000) * (i + 1));
    chunks.push({ minT: c, maxT: c + 119 * 15_000, data: enc.bytes().slice() });
  }
  return { labels: Labels.fromObject({ __name__: 'm', job: 'abcd'[i % 4], i: String(i) }), chunks };
}

const view = (xs: RawSeries[]) =>
  xs.map((s) => ({ l: s.labels.key(), parts: s.parts.map((p) => ('chunks' in p ? p.chunks.map((c) => [...c]) : p)) }));

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-worker-files-'));
  const meta = await writeBlock(
    root,
    Array.from({ length: 40 }, (_, i) => series(i)),
    { minTime: T0, maxTime: T0 + RANGE },
  );
  dir = path.join(root, meta.ulid);
  const direct = await BlockReader.openDir(dir);
  const into = new RawPacker();
  await direct.selectRawInto(MATCHERS, HINTS, into);
  await direct.close();
  want = view(unpackRaw(into.finish()));
  expect(want.length).toBe(20);
});

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** The block listed by the cache's thread for a worker: its DeferredBlock (files attached) and lease. */
async function listed(main: BlockReader) {
  const into = new RawPacker({ deferBlocks: true });
  await main.selectRawInto(MATCHERS, HINTS, into);
  const p = into.finish();
  expect(p.blocks).toHaveLength(1);
  return { packed: p, block: p.blocks![0] };
}

/** One worker's select over the listed block, its reads handed back through the lease as the pool does. */
async function workerSelect(files: WorkerBlockFiles, reader: Promise<BlockReader>, main: BlockReader) {
  const { packed, block } = await listed(main);
  files.attach(block.files);
  const into = new RawPacker();
  await (await reader).selectRawInto(MATCHERS, { start: block.start, end: block.end }, into);
  files.release();
  const reads = files.takeReads()!;
  packed.leases![0].returned!(reads);
  releaseBlocks(packed);
  expect(view(unpackRaw(into.finish()))).toEqual(want);
  return { reads, block };
}

/** A worker's first sight of the block: listed, its files attached before the index is opened, as the worker does. */
async function newWorker(main: BlockReader) {
  const { packed, block } = await listed(main);
  const files = new WorkerBlockFiles(dir);
  files.attach(block.files);
  const reader = BlockReader.open(files.sources, path.basename(dir));
  await reader;
  releaseBlocks(packed);
  return { files, reader, block };
}

const diskAndMemory = (c: SegmentCache) => ({
  disk: c.stats.chunks.diskBytes + c.stats.index.diskBytes,
  memory: c.stats.chunks.cachedBytes + c.stats.index.cachedBytes,
});

test('a second worker reads the chunk file the first one loaded from shared memory, nothing from disk', async () => {
  const cache = new SegmentCache(64 << 20);
  const main = await BlockReader.openDir(dir, cache);
  main.shareWithWorkers(dir, cache);
  // Opening the block loaded its index whole on this thread; no chunk file yet.
  expect(Object.keys(cache.held(dir)!.held)).toEqual(['index']);

  const a = await newWorker(main);
  const before = diskAndMemory(cache);
  const first = await workerSelect(a.files, a.reader, main);
  // Loaded whole once and counted on disk, read from memory after that; now in the cache.
  expect(Object.keys(first.reads.loaded)).toEqual(['chunks/000001']);
  expect(first.reads.bytes.chunks.disk).toBe(size('chunks/000001'));
  expect(first.reads.bytes.index.disk).toBe(0);
  expect(first.reads.bytes.chunks.memory).toBeGreaterThan(0);
  expect(Object.keys(cache.held(dir)!.held).sort()).toEqual(['chunks/000001', 'index']);
  const after = diskAndMemory(cache);
  expect(after.disk - before.disk).toBe(size('chunks/000001'));

  const b = await newWorker(main);
  const second = await workerSelect(b.files, b.reader, main);
  expect(second.reads.loaded).toEqual({});
  expect(second.reads.bytes.chunks.disk + second.reads.bytes.index.disk).toBe(0);
  expect(second.reads.bytes.chunks.memory).toBe(first.reads.bytes.chunks.memory);
  expect(diskAndMemory(cache).disk).toBe(after.disk);
  // The shared file is the cache's own memory, not a copy.
  expect(second.block.files!.held['chunks/000001'].buffer).toBeInstanceOf(SharedArrayBuffer);
  await Promise.all([main, await a.reader, await b.reader].map((r) => r.close()));
});

test.each([
  ['files larger than a quarter of the budget are read range by range', (chunkFile: number) => 4 * (chunkFile - 1)],
  ['without a budget every range is read from disk', () => 0],
])('%s, and counted', async (_name, budget) => {
  const cache = new SegmentCache(budget(size('chunks/000001')));
  const main = await BlockReader.openDir(dir, cache);
  main.shareWithWorkers(dir, cache);
  const w = await newWorker(main);
  for (let i = 0; i < 2; i++) {
    const { reads } = await workerSelect(w.files, w.reader, main);
    expect(reads.loaded['chunks/000001']).toBeUndefined();
    // Every chunk range again from disk: at least the selected chunks' bytes, far less than the file.
    expect(reads.bytes.chunks.memory).toBe(0);
    expect(reads.bytes.chunks.disk).toBeGreaterThan(0);
    expect(reads.bytes.chunks.disk).toBeLessThan(size('chunks/000001'));
  }
  expect(cache.held(dir)?.held['chunks/000001']).toBeUndefined();
  expect(cache.stats.chunks.diskBytes).toBeGreaterThan(0);
  await Promise.all([main.close(), (await w.reader).close()]);
});

test('a file evicted while a worker reads it stays readable there, and the cache keeps its byte count', async () => {
  const cache = new SegmentCache(64 << 20);
  const main = await BlockReader.openDir(dir, cache);
  main.shareWithWorkers(dir, cache);
  const warm = await newWorker(main);
  await workerSelect(warm.files, warm.reader, main);
  const w = await newWorker(main);
  const { packed, block } = await listed(main);
  w.files.attach(block.files);
  expect(Object.keys(block.files!.held).sort()).toEqual(['chunks/000001', 'index']);
  // Evicted after listing, before the worker reads: its copy of the views still reads the bytes.
  for (const rel of Object.keys(block.files!.held)) cache.drop(path.join(dir, rel));
  expect(cache.bytes).toBe(0);
  (globalThis as { gc?: () => void }).gc?.();
  const into = new RawPacker();
  await (await w.reader).selectRawInto(MATCHERS, { start: block.start, end: block.end }, into);
  expect(view(unpackRaw(into.finish()))).toEqual(want);
  const reads = w.files.takeReads()!;
  expect(reads.bytes.chunks.disk + reads.bytes.index.disk).toBe(0);
  // Handing back reads that loaded nothing adds nothing; the cache's count matches what it holds.
  packed.leases![0].returned!(reads);
  releaseBlocks(packed);
  expect(cache.bytes).toBe(0);
  expect(cache.held(dir)!.held).toEqual({});
  await Promise.all([main.close(), (await w.reader).close(), (await warm.reader).close()]);
});

test('a file handed back twice (two workers loading it at once) is kept once', async () => {
  const cache = new SegmentCache(64 << 20);
  const main = await BlockReader.openDir(dir, cache);
  main.shareWithWorkers(dir, cache);
  const indexBytes = cache.bytes;
  const [a, b] = [await newWorker(main), await newWorker(main)];
  await workerSelect(a.files, a.reader, main);
  // b was listed before a's file came back: it loads the file too.
  const into = new RawPacker();
  await (await b.reader).selectRawInto(MATCHERS, { start: b.block.start, end: b.block.end }, into);
  const reads = b.files.takeReads()!;
  expect(Object.keys(reads.loaded)).toEqual(['chunks/000001']);
  cache.adopt(dir, reads);
  expect(cache.bytes).toBe(indexBytes + size('chunks/000001'));
  expect(cache.stats.chunks.diskBytes).toBe(2 * size('chunks/000001'));
  await Promise.all([main, await a.reader, await b.reader].map((r) => r.close()));
});
