/** meta.json of a block: Prometheus' fields plus the Thanos section that Thanos tools read (docs/format/block.md#metajson). */
export interface BlockMeta {
  ulid: string;
  /** Inclusive start and exclusive end in ms. */
  minTime: number;
  maxTime: number;
  stats: { numSamples: number; numSeries: number; numChunks: number };
  compaction: { level: number; sources: string[]; parents?: { ulid: string; minTime: number; maxTime: number }[] };
  version: 1;
  thanos?: {
    labels: Record<string, string>;
    downsample: { resolution: number };
    source: string;
    segment_files?: string[];
    files?: { rel_path: string; size_bytes?: number }[];
  };
  /** Strata's own section (other readers ignore it). */
  strata?: {
    /** Ids of the tenant's tombstones (docs/format/tombstones.md) whose samples this block no longer holds. */
    tombstones?: string[];
  };
}

export const META_FILE = 'meta.json';
export const INDEX_FILE = 'index';
export const CHUNKS_DIR = 'chunks';
export const TOMBSTONES_FILE = 'tombstones';

/** A meta.json that does not parse, or lacks what a block needs (version 1, ulid, time range). */
export class MetaInvalidError extends Error {
  override name = 'MetaInvalidError';
}

export function parseMeta(text: string, where: string): BlockMeta {
  let m: BlockMeta;
  try {
    m = JSON.parse(text) as BlockMeta;
  } catch (e) {
    throw new MetaInvalidError(`${where}: meta.json is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  if (m === null || m.version !== 1 || typeof m.ulid !== 'string' || typeof m.minTime !== 'number' || typeof m.maxTime !== 'number') {
    throw new MetaInvalidError(`${where}: meta.json lacks version 1, ulid, minTime or maxTime`);
  }
  return m;
}
