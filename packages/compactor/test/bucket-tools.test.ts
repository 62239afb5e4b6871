/** inspect, verify and mark over a real bucket folder holding every kind of problem. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Labels } from '@strata/model';
import { FilesystemBucket } from '@strata/objstore';
import { writeBlock, XOREncoder, type BlockMeta } from '@strata/tsdb';
import { uploadBlock } from '../src/bucket-blocks.js';
import { formatInspect, inspectBucket, markBlock, verifyBucket } from '../src/bucket-tools.js';

const H = 3600_000;
const T0 = Math.floor(Date.now() / (8 * H)) * 8 * H - 96 * H;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-tools-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const bucket = new FilesystemBucket(path.join(dir, 'bucket'));
const blockDir = (ulid: string) => path.join(bucket.directory, 't', ulid);

async function put(fromH: number, replica: string): Promise<BlockMeta> {
  const local = fs.mkdtempSync(path.join(dir, 'local-'));
  const enc = new XOREncoder();
  const a = T0 + fromH * H;
  for (let t = a; t < a + 2 * H; t += 60_000) enc.append(t, 1);
  const meta = await writeBlock(
    local,
    [{ labels: Labels.fromObject({ __name__: 'up' }), chunks: [{ minT: a, maxT: a + 2 * H - 60_000, data: enc.bytes().slice() }] }],
    {
      minTime: a,
      maxTime: a + 2 * H,
      externalLabels: { tenant_id: 't', receive_replica: replica },
    },
  );
  await uploadBlock(bucket, 't', path.join(local, meta.ulid), meta.ulid);
  return meta;
}

let r1: BlockMeta, r2: BlockMeta, lonely: BlockMeta, partial: BlockMeta, badMeta: BlockMeta, noChunks: BlockMeta, badIndex: BlockMeta;
beforeAll(async () => {
  r1 = await put(0, 'a');
  r2 = await put(0, 'b');
  lonely = await put(4, 'a');
  partial = await put(6, 'a');
  fs.rmSync(path.join(blockDir(partial.ulid), 'meta.json'));
  badMeta = await put(8, 'a');
  fs.writeFileSync(path.join(blockDir(badMeta.ulid), 'meta.json'), '{"version": 9}');
  noChunks = await put(10, 'a');
  fs.rmSync(path.join(blockDir(noChunks.ulid), 'chunks'), { recursive: true });
  // The folder a local bucket keeps of a deleted block whose killed upload left a temporary file: no block.
  fs.mkdirSync(path.join(bucket.directory, 't', '01EMPTYF0LDER0000000000000'), { recursive: true });
  badIndex = await put(12, 'a');
  const ix = path.join(blockDir(badIndex.ulid), 'index');
  const bytes = fs.readFileSync(ix);
  bytes.fill(0xff, 5, 40); // the symbol table
  fs.writeFileSync(ix, bytes);
});

test('verify names every problem, and with --read-data the block whose index does not decode', async () => {
  const quick = await verifyBucket(bucket, ['receive_replica'], { readData: false });
  const kinds = (ps: typeof quick) =>
    ps.map((p) => [p.kind, p.ulid ?? (p.detail.includes(r1.ulid) && p.detail.includes(r2.ulid) ? 'r1+r2' : p.detail)]).sort();
  expect(kinds(quick)).toEqual(
    [
      ['bad-meta', badMeta.ulid],
      ['partial-upload', partial.ulid],
      ['missing-file', noChunks.ulid],
      ['missing-file', noChunks.ulid],
      ['overlap', 'r1+r2'],
    ].sort(),
  );
  const full = await verifyBucket(bucket, ['receive_replica'], { readData: true });
  const unreadable = full.filter((p) => p.kind === 'unreadable').map((p) => p.ulid);
  // The block without chunks cannot be read either.
  expect(unreadable.sort()).toEqual([badIndex.ulid, noChunks.ulid].sort());
  expect(full.some((p) => p.ulid === lonely.ulid)).toBe(false);
});

test('inspect: one row per readable block with its stats, replicas and marks; mark writes Thanos marks', async () => {
  await markBlock(bucket, 't', lonely.ulid, 'no-compact', 'keep as is');
  await markBlock(bucket, 't', r2.ulid, 'deletion', 'by hand');
  await expect(markBlock(bucket, 't', '01ZZZZZZZZZZZZZZZZZZZZZZZZ', 'deletion', 'x')).rejects.toThrow(/no block/);
  const rows = await inspectBucket(bucket, ['receive_replica']);
  expect(rows.map((r) => r.ulid)).toEqual(
    [r1.ulid, r2.ulid, lonely.ulid, noChunks.ulid, badIndex.ulid].sort((a, b) => {
      const t = (u: string) => rows.find((r) => r.ulid === u)!.minTime;
      return t(a) - t(b) || (a < b ? -1 : 1);
    }),
  );
  const row = rows.find((r) => r.ulid === r2.ulid)!;
  expect(row).toMatchObject({
    tenant: 't',
    level: 1,
    resolution: 0,
    series: 1,
    samples: 120,
    chunks: 1,
    sources: 1,
    replicas: 'receive_replica=b',
    marks: ['deletion'],
  });
  expect(row.bytes).toBeGreaterThan(100);
  expect(rows.find((r) => r.ulid === lonely.ulid)!.marks).toEqual(['no-compact']);
  const noCompact = JSON.parse(fs.readFileSync(path.join(blockDir(lonely.ulid), 'no-compact-mark.json'), 'utf8'));
  expect(noCompact).toMatchObject({ id: lonely.ulid, version: 1, reason: 'manual', details: 'keep as is' });
  const text = formatInspect(rows);
  expect(text.split('\n')[0]).toBe('tenant t: 5 blocks');
  expect(text).toMatch(/^ULID\s+FROM\s+UNTIL\s+RANGE\s+RES\s+LEVEL\s+SERIES\s+SAMPLES\s+CHUNKS\s+SOURCES\s+REPLICAS\s+BYTES\s+MARKS$/m);
  expect(text).toContain(`${r2.ulid}  ${new Date(r2.minTime).toISOString().replace('.000Z', 'Z')}`);
});
