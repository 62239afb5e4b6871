/**
 * Series deletion in the bucket: the compactor rewrites each block a tombstone meets without the
 * samples it covers, records it in meta.json, and never rewrites that block again for it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Labels, Matcher } from '@strata/model';
import { FilesystemBucket } from '@strata/objstore';
import {
  BlockReader,
  BlockSetQuerier,
  BucketTombstones,
  newTombstone,
  parseMeta,
  writeBlock,
  XOREncoder,
  type BlockMeta,
} from '@strata/tsdb';
import { uploadBlock } from '../src/bucket-blocks.js';
import { testCompactor } from './test-compactor.js';

const H = 3600_000;
const M = 60_000;
const dirs: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-tomb-c-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
const T0 = Math.floor(Date.now() / (8 * H)) * 8 * H - 96 * H;

/** A 2 h block at T0 + fromH of up{job="a"} and up{job="b"}, one sample a minute. */
async function putBlock(bucket: FilesystemBucket, fromH: number, labels: Record<string, string>, edit?: (m: BlockMeta) => void) {
  const local = tmp();
  const a = T0 + fromH * H;
  const series = ['a', 'b'].map((job) => {
    const enc = new XOREncoder();
    for (let t = a; t < a + 2 * H; t += M) enc.append(t, t / 1000);
    return { labels: Labels.fromObject({ __name__: 'up', job }), chunks: [{ minT: a, maxT: a + 2 * H - M, data: enc.bytes().slice() }] };
  });
  const meta = await writeBlock(local, series, { minTime: a, maxTime: a + 2 * H, externalLabels: { tenant_id: 't', ...labels } });
  if (edit) {
    edit(meta);
    fs.writeFileSync(path.join(local, meta.ulid, 'meta.json'), JSON.stringify(meta));
  }
  await uploadBlock(bucket, 't', path.join(local, meta.ulid), meta.ulid);
  return meta;
}

const compactor = (bucket: FilesystemBucket) => testCompactor(bucket, tmp());

/** Blocks without a deletion mark, with their meta and each series' sample times. */
async function liveBlocks(bucket: FilesystemBucket) {
  const root = path.join(bucket.directory, 't');
  const out: { meta: BlockMeta; samples: Record<string, number[]> }[] = [];
  for (const name of fs.readdirSync(root).sort()) {
    const dir = path.join(root, name);
    if (!/^[0-9A-Z]{26}$/.test(name) || fs.existsSync(path.join(dir, 'deletion-mark.json'))) continue;
    const r = await BlockReader.openDir(dir);
    const samples: Record<string, number[]> = {};
    for (const s of await new BlockSetQuerier([r]).select([new Matcher('=', '__name__', 'up')], { start: -Infinity, end: Infinity }))
      samples[s.labels.get('job')] = Array.from(s.timestamps);
    await r.close();
    out.push({ meta: parseMeta(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8'), name), samples });
  }
  return out;
}

const minutes = (fromH: number, to = 120) => Array.from({ length: to }, (_, i) => T0 + fromH * H + i * M);

test('a block a tombstone meets is rewritten once without its samples; its labels stay, the source is marked', async () => {
  const bucket = new FilesystemBucket(tmp());
  const old = await putBlock(bucket, 0, { receive_replica: 'r1' });
  const untouched = await putBlock(bucket, 4, { receive_replica: 'r1' });
  const req = newTombstone([new Matcher('=', 'job', 'a')], T0 + 30 * M, T0 + 60 * M, Date.now());
  await new BucketTombstones(bucket).add('t', req);

  const c = compactor(bucket);
  expect(await c.runPass()).toMatchObject({ compactions: 1, failures: 0 });
  const mark = JSON.parse(fs.readFileSync(path.join(bucket.directory, 't', old.ulid, 'deletion-mark.json'), 'utf8'));
  expect(mark.details).toBe('tombstones applied');
  const live = await liveBlocks(bucket);
  expect(live.map((b) => b.meta.ulid)).toContain(untouched.ulid);
  const rewritten = live.find((b) => b.meta.minTime === old.minTime)!;
  expect(rewritten.meta.ulid).not.toBe(old.ulid);
  expect(rewritten.meta.strata?.tombstones).toEqual([req.id]);
  expect(rewritten.meta.thanos?.labels).toEqual(old.thanos?.labels);
  expect(rewritten.meta.compaction.sources).toEqual([old.ulid]);
  expect(rewritten.samples.a).toEqual(minutes(0).filter((t) => t < T0 + 30 * M || t > T0 + 60 * M));
  expect(rewritten.samples.b).toEqual(minutes(0));
  expect(rewritten.meta.stats.numSamples).toBe(240 - 31);

  // Nothing left to do: the new block reflects the tombstone, the other block never met it.
  expect(await c.runPass()).toMatchObject({ compactions: 0, failures: 0, marked: 0 });
});

test('vertical compaction applies tombstones and records them; a rewrite left unmarked by a crash wins over its source', async () => {
  const bucket = new FilesystemBucket(tmp());
  const r1 = await putBlock(bucket, 0, { receive_replica: 'r1' });
  const r2 = await putBlock(bucket, 0, { receive_replica: 'r2' });
  // As if a compactor had uploaded the rewrite of r1 and died before marking r1.
  const req = newTombstone([new Matcher('=~', 'job', 'a|b')], T0 + 100 * M, T0 + 200 * M, Date.now());
  await new BucketTombstones(bucket).add('t', req);
  await putBlock(bucket, 0, { receive_replica: 'r1' }, (m) => {
    m.compaction = { level: 1, sources: [r1.ulid] };
    m.strata = { tombstones: [req.id] };
  });
  const c = compactor(bucket);
  await c.runPass();
  expect(fs.existsSync(path.join(bucket.directory, 't', r1.ulid, 'deletion-mark.json'))).toBe(true);
  expect(fs.existsSync(path.join(bucket.directory, 't', r2.ulid, 'deletion-mark.json'))).toBe(true);
  const live = await liveBlocks(bucket);
  expect(live).toHaveLength(1);
  expect(live[0].meta.strata?.tombstones).toEqual([req.id]);
  const kept = minutes(0).filter((t) => t < T0 + 100 * M);
  expect(live[0].samples).toEqual({ a: kept, b: kept });
  expect(await c.runPass()).toMatchObject({ compactions: 0, failures: 0 });
});
