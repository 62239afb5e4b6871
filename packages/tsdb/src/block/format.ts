/** Constants of the block format (docs/format/block.md) and the byte-wise orders it is sorted by. */
import type { Labels } from '@strata/model';

export const CHUNKS_MAGIC = 0x85bd40dd;
export const INDEX_MAGIC = 0xbaaad700;
export const TOMBSTONES_MAGIC = 0x0130ba30;
export const INDEX_VERSION_2 = 2;
export const CHUNK_ENCODING_XOR = 1;
/** Prometheus' segment size: a new chunk segment file starts past 512 MiB. */
export const MAX_CHUNK_SEGMENT_BYTES = 512 * 1024 * 1024;

/**
 * Byte-wise (UTF-8) string order, as Go compares strings, without encoding: UTF-8 order is code
 * point order, and UTF-16 code units only disagree with it where one side is a surrogate (a code
 * point above U+FFFF) and the other a unit at or above U+E000; the surrogate is then the larger.
 */
export function compareBytes(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs === ys) return x - y;
    return xs ? 1 : -1;
  }
  return a.length - b.length;
}

export function compareLabelsBytes(a: Labels, b: Labels): number {
  const x = a.pairs;
  const y = b.pairs;
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const c = compareBytes(x[i], y[i]);
    if (c !== 0) return c;
  }
  return x.length - y.length;
}
