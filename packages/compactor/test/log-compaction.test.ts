/**
 * Log block compaction in the compactor's pass, against a real bucket folder: the RF copies of a
 * range merged into one block that answers the same queries, marks and the deletion delay, a
 * compaction cut short before its marks (or before its meta.json), and a source that cannot be read.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Labels, Matcher } from '@strata/model';
import { FilesystemBucket } from '@strata/objstore';
import { BucketLogs, buildLogBlock, encodeBlock, logBlocksPrefix, parseLogMeta, uploadLogBlock, type LogBlockMeta } from '@strata/logs';
import { ulid } from '@strata/tsdb';
import { testCompactor } from './test-compactor.js';

const H = 3600_000;
const NOW = Date.UTC(2026, 11, 1, 12);
const T0 = NOW - 30 * H;
const dirs: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-logcompact-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

const STREAMS = ['api', 'db', 'web'].map((app) => Labels.fromObject({ app, job: 'logs' }));
const ALL = { startNs: -(2n ** 63n), endNs: 2n ** 63n - 1n };

/** The entries every replica holds: 3 streams × 300 lines over 2 h. */
function entries(stream: number): { ts: bigint[]; lines: string[] } {
  const ts: bigint[] = [];
  const lines: string[] = [];
  for (let i = 0; i < 300; i++) {
    ts.push(BigInt(T0 + i * 24_000) * 1_000_000n);
    lines.push(`level=${i % 5 ? 'info' : 'error'} stream=${stream} i=${i} msg="request served"`);
  }
  return { ts, lines };
}

/** One receiver's shipped block of the range: the same entries, cut into chunks of `per` entries. */
async function replicaBlock(bucket: FilesystemBucket, per: number, atMs: number): Promise<LogBlockMeta> {
  const streams = [];
  for (let s = 0; s < STREAMS.length; s++) {
    const { ts, lines } = entries(s);
    const blocks = [];
    for (let i = 0; i < ts.length; i += per)
      blocks.push(await encodeBlock(BigInt64Array.from(ts.slice(i, i + per)), lines.slice(i, i + per), undefined, 'zstd'));
    streams.push({ labels: STREAMS[s], blocks });
  }
  const b = buildLogBlock(ulid(atMs), streams)!;
  await uploadLogBlock(bucket, 't', b);
  return b.meta;
}

/** The copies the three receivers of a replication set ship, each cut into chunks differently. */
const threeCopies = async (bucket: FilesystemBucket) => [
  await replicaBlock(bucket, 100, T0 + 2 * H),
  await replicaBlock(bucket, 70, T0 + 2 * H + 1),
  await replicaBlock(bucket, 300, T0 + 2 * H + 2),
];

const compactor = (bucket: FilesystemBucket, now: () => number) => testCompactor(bucket, tmp(), { logRetention: () => 0, now });

/** Every stream's entries as the store gateway answers them, and a line-filtered query. */
async function queries(bucket: FilesystemBucket) {
  const gw = new BucketLogs({ bucket });
  await gw.sync();
  const q = gw.logQuerier('t');
  const all = await q.selectLogs([new Matcher('=', 'job', 'logs')], ALL);
  const errors = await q.selectLogs([new Matcher('=', 'app', 'db')], { ...ALL, requiredSubstrings: ['level=error'] });
  const flat = (r: typeof all) =>
    r.map((s) => [s.labels.toString(), [...s.timestampsNs].map(String), s.lines.filter((l) => l.includes('level=error'))] as const);
  return {
    all: all.map((s) => [s.labels.toString(), [...s.timestampsNs].map(String), s.lines] as const).sort(),
    errors: flat(errors),
    blocks: gw.blockIds('t'),
  };
}

/** The folders of complete log blocks and which marks each has. */
function folders(bucket: FilesystemBucket): Record<string, string[]> {
  const root = path.join(bucket.directory, logBlocksPrefix('t'));
  const out: Record<string, string[]> = {};
  for (const d of fs.readdirSync(root)) out[d] = fs.readdirSync(path.join(root, d)).sort();
  return out;
}

test('three copies of a range become one block answering the same queries; the copies go after the deletion delay', async () => {
  const bucket = new FilesystemBucket(tmp());
  const copies = await threeCopies(bucket);
  const before = await queries(bucket);
  expect(before.all.map((s) => s[2].length)).toEqual([300, 300, 300]);

  let now = NOW;
  const c = compactor(bucket, () => now);
  const s1 = await c.runPass();
  expect(s1).toMatchObject({ compactions: 1, failures: 0, deleted: 0 });
  const f1 = folders(bucket);
  const made = Object.keys(f1).filter((d) => !copies.some((m) => m.ulid === d));
  expect(made).toHaveLength(1);
  for (const m of copies) expect(f1[m.ulid]).toEqual(['chunks', 'deletion-mark.json', 'index', 'meta.json']);
  expect(f1[made[0]]).toEqual(['chunks', 'index', 'meta.json']);
  const meta = parseLogMeta(fs.readFileSync(path.join(bucket.directory, logBlocksPrefix('t'), made[0], 'meta.json'), 'utf8'), 'new');
  expect(meta.stats.numEntries).toBe(900);
  expect(meta.compaction).toEqual({ level: 2, sources: copies.map((m) => m.ulid).sort() });
  // Sources and the new block side by side, as gateways see them during the delay: the same answers.
  expect({ ...(await queries(bucket)), blocks: [] }).toEqual({ ...before, blocks: [] });

  // A second pass before the delay: nothing to do (the new block overlaps only marked blocks).
  expect(await c.runPass()).toMatchObject({ compactions: 0, deleted: 0 });
  now += 12 * H;
  expect(await c.runPass()).toMatchObject({ compactions: 0, deleted: 3 });
  expect(Object.keys(folders(bucket))).toEqual(made);
  const after = await queries(bucket);
  expect(after.blocks).toEqual(made);
  expect({ ...after, blocks: [] }).toEqual({ ...before, blocks: [] });
});

test('a compaction stopped before its marks: the next pass marks the sources without merging again', async () => {
  const bucket = new FilesystemBucket(tmp());
  const copies = [await replicaBlock(bucket, 100, T0 + 2 * H), await replicaBlock(bucket, 50, T0 + 2 * H + 1)];
  await compactor(bucket, () => NOW).runPass();
  for (const m of copies) fs.rmSync(path.join(bucket.directory, logBlocksPrefix('t'), m.ulid, 'deletion-mark.json'));
  // And one stopped before its meta.json: a partial upload the planner and the gateway ignore.
  const partial = ulid(NOW);
  await bucket.upload(`${logBlocksPrefix('t')}${partial}/chunks`, Buffer.from('half'));
  const before = Object.keys(folders(bucket)).length;
  const s = await compactor(bucket, () => NOW).runPass();
  expect(s).toMatchObject({ compactions: 0, marked: 2, failures: 0 });
  expect(Object.keys(folders(bucket))).toHaveLength(before);
  for (const m of copies) expect(folders(bucket)[m.ulid]).toContain('deletion-mark.json');
  expect((await queries(bucket)).all.map((x) => x[2].length)).toEqual([300, 300, 300]);
});

test('a copy whose chunks do not decode gets a no-compact mark; the other copies are merged', async () => {
  const bucket = new FilesystemBucket(tmp());
  const copies = await threeCopies(bucket);
  const chunks = path.join(bucket.directory, logBlocksPrefix('t'), copies[1].ulid, 'chunks');
  const bytes = fs.readFileSync(chunks);
  bytes[40] ^= 0xff;
  fs.writeFileSync(chunks, bytes);
  const s = await compactor(bucket, () => NOW).runPass();
  expect(s).toMatchObject({ compactions: 1, failures: 0 });
  const f = folders(bucket);
  expect(f[copies[1].ulid]).toEqual(['chunks', 'index', 'meta.json', 'no-compact-mark.json']);
  for (const m of [copies[0], copies[2]]) expect(f[m.ulid]).toContain('deletion-mark.json');
  expect(
    JSON.parse(fs.readFileSync(path.join(bucket.directory, logBlocksPrefix('t'), copies[1].ulid, 'no-compact-mark.json'), 'utf8')),
  ).toMatchObject({
    reason: 'block-corrupt',
  });
});

test('blocks of one 8 h range that do not overlap are joined once the range is complete, small chunks of a stream into one', async () => {
  const bucket = new FilesystemBucket(tmp());
  // Two 2 h ranges of one receiver, then a block of a later range (so the first range is complete).
  const streams = (fromMs: number) =>
    STREAMS.map((labels, s) => ({ labels, ts: BigInt64Array.of(BigInt(fromMs) * 1_000_000n, BigInt(fromMs + H) * 1_000_000n), s }));
  const metas: LogBlockMeta[] = [];
  const base = Math.floor(T0 / (8 * H)) * 8 * H;
  for (const from of [base, base + 2 * H, base + 8 * H]) {
    const b = buildLogBlock(
      ulid(from + 2 * H),
      await Promise.all(
        streams(from).map(async (x) => ({
          labels: x.labels,
          blocks: [await encodeBlock(x.ts, [`a ${x.s}`, `b ${x.s}`], undefined, 'zstd')],
        })),
      ),
    )!;
    await uploadLogBlock(bucket, 't', b);
    metas.push(b.meta);
  }
  const before = await queries(bucket);
  expect(await compactor(bucket, () => NOW).runPass()).toMatchObject({ compactions: 1, failures: 0 });
  const f = folders(bucket);
  for (const m of metas.slice(0, 2)) expect(f[m.ulid]).toContain('deletion-mark.json');
  expect(f[metas[2].ulid]).toEqual(['chunks', 'index', 'meta.json']);
  const made = Object.keys(f).find((d) => !metas.some((m) => m.ulid === d))!;
  const meta = parseLogMeta(fs.readFileSync(path.join(bucket.directory, logBlocksPrefix('t'), made, 'meta.json'), 'utf8'), 'new');
  // Each stream's two small chunks (one per 2 h block) become one.
  expect([metas[0].stats.numChunks + metas[1].stats.numChunks, meta.stats.numChunks]).toEqual([6, 3]);
  expect({ ...(await queries(bucket)), blocks: [] }).toEqual({ ...before, blocks: [] });
});
