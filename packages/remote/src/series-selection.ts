/**
 * Which series of a request a receiver should store, as a bitmap over the order of the
 * TimeSeries fields. A router whose peer owns most of a request forwards the client's body
 * unchanged with a selection instead of re-encoding and re-compressing a share: the peer
 * decompresses a little more, the router compresses nothing.
 *
 * Header format: docs/format/series-selection.md.
 */
import { StrataError } from '@strata/model';

export const SERIES_SELECTION_HEADER = 'x-strata-series-selection';

/** Bitmaps above this many series would not fit comfortably in Node's 16 KiB header limit. */
export const MAX_SELECTABLE_SERIES = 49_152;

export interface SeriesSelection {
  total: number;
  bits: Uint8Array;
}

export function encodeSeriesSelection(indices: readonly number[], total: number): string {
  const bits = new Uint8Array((total + 7) >>> 3);
  for (const i of indices) bits[i >>> 3] |= 1 << (i & 7);
  return `${total}:${Buffer.from(bits.buffer, bits.byteOffset, bits.length).toString('base64url')}`;
}

export function decodeSeriesSelection(text: string): SeriesSelection {
  const colon = text.indexOf(':');
  const total = Number(text.slice(0, colon));
  const bits = Buffer.from(text.slice(colon + 1), 'base64url');
  if (colon <= 0 || !Number.isSafeInteger(total) || total < 0 || bits.length !== (total + 7) >>> 3) {
    throw new StrataError('invalid-request-body', `malformed ${SERIES_SELECTION_HEADER} header`);
  }
  return { total, bits };
}

export function isSelected(sel: SeriesSelection, i: number): boolean {
  return (sel.bits[i >>> 3] & (1 << (i & 7))) !== 0;
}

/** A body's series count must be the one the selection was made for. */
export function checkSelectionTotal(sel: SeriesSelection, seen: number): void {
  if (seen !== sel.total)
    throw new StrataError('invalid-request-body', `${SERIES_SELECTION_HEADER} selects among ${sel.total} series but the body has ${seen}`);
}
