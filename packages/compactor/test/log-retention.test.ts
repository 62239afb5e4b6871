import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Labels } from '@strata/model';
import { FilesystemBucket } from '@strata/objstore';
import { buildLogBlock, encodeBlock, logBlocksPrefix, uploadLogBlock } from '@strata/logs';
import { ulid } from '@strata/tsdb';
import { applyLogRetention } from '../src/log-retention.js';

const HOUR = 3600_000;
const NOW = Date.UTC(2026, 11, 1, 12);

/** A real log block of one stream whose newest entry is `ageMs` before NOW. */
async function logBlock(bucket: FilesystemBucket, tenant: string, ageMs: number): Promise<string> {
  const maxNs = BigInt(NOW - ageMs) * 1_000_000n;
  const b = await encodeBlock(BigInt64Array.of(maxNs - 1_000_000_000n, maxNs), ['a', 'b'], undefined, 'zstd');
  const id = ulid(NOW - ageMs);
  await uploadLogBlock(bucket, tenant, buildLogBlock(id, [{ labels: Labels.fromObject({ app: 'x' }), blocks: [b] }])!);
  return id;
}

async function names(bucket: FilesystemBucket, tenant: string): Promise<string[]> {
  const out: string[] = [];
  for await (const n of bucket.iter(logBlocksPrefix(tenant), { recursive: true }))
    if (!n.endsWith('/')) out.push(n.slice(logBlocksPrefix(tenant).length));
  return out.sort();
}

describe('log block retention', () => {
  test.each([
    // retention, block ages -> ages kept
    [0, [1, 30 * 24, 400 * 24], [1, 30 * 24, 400 * 24]],
    [24 * HOUR, [1, 23, 25, 48], [1, 23]],
    [7 * 24 * HOUR, [1, 24 * 6, 24 * 8], [1, 24 * 6]],
  ])('retention %d ms keeps the blocks younger than it', async (retention, ages, kept) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-logret-'));
    const bucket = new FilesystemBucket(dir);
    try {
      const ids = new Map<number, string>();
      for (const a of ages) ids.set(a, await logBlock(bucket, 't', a * HOUR));
      const r = await applyLogRetention(bucket, 't', retention, { nowMs: NOW, partialUploadThresholdMs: 24 * HOUR });
      expect(r.deleted.sort()).toEqual(
        ages
          .filter((a) => !kept.includes(a))
          .map((a) => ids.get(a)!)
          .sort(),
      );
      // Nothing of a deleted block is left; a kept block is whole.
      expect(await names(bucket, 't')).toEqual(
        kept.flatMap((a) => ['chunks', 'index', 'meta.json'].map((f) => `${ids.get(a)}/${f}`)).sort(),
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a folder without meta.json is an upload in progress until the partial-upload threshold, then removed', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-logret-'));
    const bucket = new FilesystemBucket(dir);
    try {
      const fresh = ulid(NOW - HOUR);
      const stale = ulid(NOW - 48 * HOUR);
      for (const id of [fresh, stale]) await bucket.upload(`${logBlocksPrefix('t')}${id}/chunks`, Buffer.from('x'));
      const r = await applyLogRetention(bucket, 't', 0, { nowMs: NOW, partialUploadThresholdMs: 24 * HOUR });
      expect(r).toEqual({ deleted: [], partialsRemoved: [stale] });
      expect(await names(bucket, 't')).toEqual([`${fresh}/chunks`]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
