/**
 * The per-tenant bucket index, `<tenant>/bucket-index.json.gz`, in Mimir's format: the complete
 * blocks (marked ones included), the deletion marks and when it was written, so readers can fetch
 * one object instead of listing the bucket. The compactor writes it; store gateways read it.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import type { BlockMeta } from './meta.js';

export const BUCKET_INDEX_FILE = 'bucket-index.json.gz';

export interface BucketIndexBlock {
  block_id: string;
  min_time: number;
  max_time: number;
  /** Unix seconds (the ULID's time when the upload time is unknown). */
  uploaded_at: number;
  segments_format?: string;
  segments_num?: number;
}

export interface BucketIndex {
  version: 1;
  blocks: BucketIndexBlock[];
  block_deletion_marks: { block_id: string; deletion_time: number }[];
  /** Unix seconds. */
  updated_at: number;
}

export function buildBucketIndex(
  metas: Iterable<BlockMeta>,
  marks: ReadonlyMap<string, { id: string; deletion_time: number }>,
  nowMs: number,
  uploadedAt: (m: BlockMeta) => number,
): BucketIndex {
  const blocks = [...metas]
    .sort((a, b) => a.minTime - b.minTime || (a.ulid < b.ulid ? -1 : 1))
    .map((m) => {
      const segments = m.thanos?.segment_files?.length;
      return {
        block_id: m.ulid,
        min_time: m.minTime,
        max_time: m.maxTime,
        uploaded_at: Math.floor(uploadedAt(m) / 1000),
        ...(segments ? { segments_format: '1b6d', segments_num: segments } : {}),
      };
    });
  const block_deletion_marks = [...marks.values()]
    .map((d) => ({ block_id: d.id, deletion_time: d.deletion_time }))
    .sort((a, b) => (a.block_id < b.block_id ? -1 : 1));
  return { version: 1, blocks, block_deletion_marks, updated_at: Math.floor(nowMs / 1000) };
}

export function encodeBucketIndex(ix: BucketIndex): Buffer {
  return gzipSync(Buffer.from(JSON.stringify(ix)));
}

export function decodeBucketIndex(raw: Buffer): BucketIndex {
  const ix = JSON.parse(gunzipSync(raw).toString('utf8')) as BucketIndex;
  if (ix.version !== 1 || !Array.isArray(ix.blocks)) throw new Error('bucket index: not version 1 with a blocks list');
  return ix;
}
