/**
 * A source block that cannot be compacted: its index or a chunk does not decode, a chunk segment
 * is missing, or its series or chunks are out of order. The compactor marks such a block
 * no-compact with `reason` and goes on with the others; every other error (a full disk, a
 * failing bucket) is not the block's fault and stays what it is.
 */
import { ChunkCorruptError } from '../chunkenc/xor.js';
import { IndexCorruptError } from './encbuf.js';

export class BlockCorruptError extends Error {
  override name = 'BlockCorruptError';

  constructor(
    readonly ulid: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`block ${ulid} is corrupt: ${reason}`, options);
  }
}

/** A chunk whose encoding byte is not XOR (histograms, or garbage): compaction cannot carry it. */
export class UnsupportedChunkError extends Error {
  override name = 'UnsupportedChunkError';
}

function isNotFound(e: unknown): boolean {
  const err = e as { code?: unknown; name?: unknown };
  return err?.code === 'ENOENT' || err?.name === 'ObjectNotFoundError';
}

/** `e` as a BlockCorruptError of block `ulid` when it is the block's own fault; otherwise `e` itself. */
export function asBlockCorrupt(e: unknown, ulid: string): unknown {
  if (e instanceof BlockCorruptError) return e;
  if (e instanceof IndexCorruptError || e instanceof ChunkCorruptError || e instanceof UnsupportedChunkError)
    return new BlockCorruptError(ulid, (e as Error).message, { cause: e });
  if (isNotFound(e)) return new BlockCorruptError(ulid, `missing file: ${(e as Error).message}`, { cause: e });
  return e;
}
