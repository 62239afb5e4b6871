/**
 * The pass around the merge, against a real bucket folder and real blocks: marks of finished
 * compactions, retention, deletion after the delay, partial uploads, unreadable meta.json, the
 * bucket index, and sharding over members.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Labels } from '@strata/model';
import { FilesystemBucket } from '@strata/objstore';
import { owners } from '@strata/ring';
import { writeBlock, XOREncoder, type BlockMeta } from '@strata/tsdb';
import { uploadBlock } from '../src/bucket-blocks.js';
import { decodeBucketIndex } from '../src/bucket-index.js';
import type { Compactor, CompactorOptions } from '../src/compactor.js';
import { testCompactor } from './test-compactor.js';

const H = 3600_000;
const dirs: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-compactor-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

// Aligned to the 8 h level range, as the planner aligns ranges to multiples of their length.
const T0 = Math.floor(Date.now() / (8 * H)) * 8 * H - 96 * H;

/** Writes and uploads a 2h-aligned block of one series for tenant "t". */
async function putBlock(
  bucket: FilesystemBucket,
  fromH: number,
  labels: Record<string, string>,
  edit?: (m: BlockMeta) => void,
): Promise<BlockMeta> {
  const local = tmp();
  const enc = new XOREncoder();
  const a = T0 + fromH * H;
  for (let t = a; t < a + 2 * H; t += 60_000) enc.append(t, t / 1000);
  const meta = await writeBlock(
    local,
    [{ labels: Labels.fromObject({ __name__: 'up' }), chunks: [{ minT: a, maxT: a + 2 * H - 60_000, data: enc.bytes().slice() }] }],
    {
      minTime: a,
      maxTime: a + 2 * H,
      externalLabels: { tenant_id: 't', ...labels },
    },
  );
  if (edit) {
    edit(meta);
    fs.writeFileSync(path.join(local, meta.ulid, 'meta.json'), JSON.stringify(meta));
  }
  await uploadBlock(bucket, 't', path.join(local, meta.ulid), meta.ulid);
  return meta;
}

function compactor(bucket: FilesystemBucket, o: Partial<CompactorOptions> = {}): Compactor {
  return testCompactor(bucket, tmp(), o);
}

const has = (bucket: FilesystemBucket, name: string) => fs.existsSync(path.join(bucket.directory, 't', name));

test('a finished compaction whose sources were not marked: the sources get deletion marks, and go after the delay', async () => {
  const bucket = new FilesystemBucket(tmp());
  const a = await putBlock(bucket, 0, { receive_replica: 'a' });
  const b = await putBlock(bucket, 0, { receive_replica: 'b' });
  const merged = await putBlock(bucket, 0, {}, (m) => (m.compaction = { level: 2, sources: [a.ulid, b.ulid] }));
  let now = Date.now();
  const c = compactor(bucket, { now: () => now });
  const s = await c.runPass();
  expect(s).toMatchObject({ compactions: 0, marked: 2, failures: 0, deleted: 0 });
  const mark = JSON.parse(fs.readFileSync(path.join(bucket.directory, 't', a.ulid, 'deletion-mark.json'), 'utf8'));
  expect(mark).toEqual({ id: a.ulid, deletion_time: Math.floor(now / 1000), version: 1, details: 'superseded' });
  expect(has(bucket, `${merged.ulid}/deletion-mark.json`)).toBe(false);

  now += 12 * H - 1000;
  expect((await c.runPass()).deleted).toBe(0);
  now += 1000;
  expect((await c.runPass()).deleted).toBe(2);
  expect(has(bucket, a.ulid) || has(bucket, b.ulid)).toBe(false);
  expect(has(bucket, `${merged.ulid}/meta.json`)).toBe(true);

  const ix = decodeBucketIndex(fs.readFileSync(path.join(bucket.directory, 't', 'bucket-index.json.gz')));
  expect(ix.blocks.map((x) => x.block_id)).toEqual([merged.ulid]);
  expect(ix).toMatchObject({ version: 1, block_deletion_marks: [], updated_at: Math.floor(now / 1000) });
  expect(ix.blocks[0]).toMatchObject({ min_time: merged.minTime, max_time: merged.maxTime, segments_format: '1b6d', segments_num: 1 });
});

test('retention marks exactly the blocks past their tier, per tenant override included', async () => {
  const bucket = new FilesystemBucket(tmp());
  const old = await putBlock(bucket, 0, {});
  const young = await putBlock(bucket, 50, {});
  const now = T0 + 100 * H;
  // The block ending at T0+2h is 98h old at `now`; the one ending at T0+52h is 48h old.
  const seen: string[] = [];
  const c = compactor(bucket, {
    now: () => now,
    retention: (tenant) => (seen.push(tenant), { raw: 98 * H, fiveMinutes: 0, oneHour: 0, oneDay: 0 }),
  });
  await c.runPass();
  expect(seen).toEqual(['t']);
  expect(has(bucket, `${old.ulid}/deletion-mark.json`)).toBe(true);
  expect(JSON.parse(fs.readFileSync(path.join(bucket.directory, 't', old.ulid, 'deletion-mark.json'), 'utf8')).details).toBe('retention');
  expect(has(bucket, `${young.ulid}/deletion-mark.json`)).toBe(false);
  const ix = decodeBucketIndex(fs.readFileSync(path.join(bucket.directory, 't', 'bucket-index.json.gz')));
  expect(ix.block_deletion_marks).toEqual([{ block_id: old.ulid, deletion_time: Math.floor(now / 1000) }]);
});

test('partial uploads go once their newest object is older than the threshold; an unreadable meta.json gets a no-compact mark', async () => {
  const bucket = new FilesystemBucket(tmp());
  const partial = await putBlock(bucket, 0, {});
  fs.rmSync(path.join(bucket.directory, 't', partial.ulid, 'meta.json'));
  const bad = await putBlock(bucket, 2, {}, (m) => ((m as { version: number }).version = 7));
  let now = Date.now();
  const c = compactor(bucket, { now: () => now });
  await c.runPass();
  expect(has(bucket, partial.ulid)).toBe(true);
  const mark = JSON.parse(fs.readFileSync(path.join(bucket.directory, 't', bad.ulid, 'no-compact-mark.json'), 'utf8'));
  expect(mark).toMatchObject({ id: bad.ulid, version: 1, reason: 'block-corrupt' });
  expect(mark.details).toMatch(/lacks version 1/);
  now += 24 * H + 5000;
  await c.runPass();
  expect(has(bucket, partial.ulid)).toBe(false);
  expect(has(bucket, `${bad.ulid}/meta.json`)).toBe(true);
  expect((await c.metrics.halted.get()).values[0].value).toBe(0);
});

test('members share the groups: each group is worked on by exactly its rendezvous owner', async () => {
  const bucket = new FilesystemBucket(tmp());
  const zones = Array.from({ length: 12 }, (_, i) => `z${i}`);
  const blocks = await Promise.all(zones.map((z) => putBlock(bucket, 0, { zone: z })));
  const members = ['c1', 'c2', 'c3'];
  const now = T0 + 100 * H;
  const retention = () => ({ raw: 1, fiveMinutes: 0, oneHour: 0, oneDay: 0 });
  // Each member marks (retention) exactly the groups it owns.
  for (const self of members) {
    await compactor(bucket, { members, self, now: () => now, retention }).runPass();
    for (const [i, z] of zones.entries()) {
      const owner = owners(`t/0@tenant_id="t",zone="${z}"`, members, 1)[0];
      if (owner === self) expect(has(bucket, `${blocks[i].ulid}/deletion-mark.json`)).toBe(true);
      if (members.indexOf(owner) > members.indexOf(self)) expect(has(bucket, `${blocks[i].ulid}/deletion-mark.json`)).toBe(false);
    }
  }
  expect(new Set(zones.map((z) => owners(`t/0@tenant_id="t",zone="${z}"`, members, 1)[0])).size).toBeGreaterThan(1);
});

const metaOf = (bucket: FilesystemBucket, ulid: string): BlockMeta =>
  JSON.parse(fs.readFileSync(path.join(bucket.directory, 't', ulid, 'meta.json'), 'utf8'));
const live = (bucket: FilesystemBucket) =>
  fs
    .readdirSync(path.join(bucket.directory, 't'))
    .filter((d) => /^[0-9A-Z]{26}$/.test(d) && !fs.existsSync(path.join(bucket.directory, 't', d, 'deletion-mark.json')))
    .map((d) => metaOf(bucket, d))
    .sort((a, b) => a.minTime - b.minTime);

test('three replicas of 10 h: one copy, an 8 h block at level 3 and a 2 h block, every source marked', async () => {
  const bucket = new FilesystemBucket(tmp());
  const sources: BlockMeta[] = [];
  for (const r of ['b', 'a', 'c']) for (const h of [0, 2, 4, 6, 8]) sources.push(await putBlock(bucket, h, { receive_replica: r }));
  const c = compactor(bucket);
  const s = await c.runPass();
  expect(s).toMatchObject({ failures: 0, compactions: 6 }); // 5 vertical, 1 level
  const blocks = live(bucket);
  expect(blocks.map((m) => [(m.minTime - T0) / H, (m.maxTime - T0) / H, m.compaction.level])).toEqual([
    [0, 8, 3],
    [8, 10, 2],
  ]);
  expect(blocks[0].stats.numSamples).toBe(4 * 120);
  expect(blocks[0].compaction.sources).toEqual(
    sources
      .filter((m) => m.minTime < T0 + 8 * H)
      .map((m) => m.ulid)
      .sort(),
  );
  expect(blocks[0].thanos).toMatchObject({ labels: { tenant_id: 't' }, downsample: { resolution: 0 }, source: 'compactor' });
  for (const m of sources) expect(has(bucket, `${m.ulid}/deletion-mark.json`)).toBe(true);
  expect((await c.metrics.compactions.get()).values.map((v) => [v.labels.kind, v.value])).toEqual([
    ['vertical', 5],
    ['level', 1],
  ]);
  // Nothing left to do: a second pass plans nothing.
  expect(await c.runPass()).toMatchObject({ compactions: 0, failures: 0, marked: 0 });
});

test.each([
  ['a corrupt index', (dir: string) => fs.writeFileSync(path.join(dir, 'index'), Buffer.alloc(64, 7))],
  ['a missing chunk segment', (dir: string) => fs.rmSync(path.join(dir, 'chunks', '000001'))],
])('%s: the block is marked no-compact with the reason, the others are compacted, the compactor goes on', async (_, damage) => {
  const bucket = new FilesystemBucket(tmp());
  const good = await putBlock(bucket, 0, { receive_replica: 'a' });
  const other = await putBlock(bucket, 0, { receive_replica: 'c' });
  const bad = await putBlock(bucket, 0, { receive_replica: 'b' });
  damage(path.join(bucket.directory, 't', bad.ulid));
  const c = compactor(bucket);
  const s = await c.runPass();
  expect(s.failures).toBe(0);
  const mark = JSON.parse(fs.readFileSync(path.join(bucket.directory, 't', bad.ulid, 'no-compact-mark.json'), 'utf8'));
  expect(mark).toMatchObject({ id: bad.ulid, version: 1, reason: 'block-corrupt' });
  expect(mark.details.length).toBeGreaterThan(5);
  // The two readable copies were merged; the broken one stays, unmarked for deletion, still there for queries to skip or read.
  expect(has(bucket, `${good.ulid}/deletion-mark.json`) && has(bucket, `${other.ulid}/deletion-mark.json`)).toBe(true);
  expect(has(bucket, `${bad.ulid}/deletion-mark.json`)).toBe(false);
  expect(
    live(bucket)
      .map((m) => m.compaction.sources.length)
      .sort(),
  ).toEqual([1, 2]);
  expect((await c.metrics.halted.get()).values[0].value).toBe(0);
});
