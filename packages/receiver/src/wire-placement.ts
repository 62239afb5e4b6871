/**
 * The router's placement of a series it has not placed before, from the client's remote-write
 * 1.0 label bytes, without decoding them: the common case (ASCII labels in the usual Label
 * encoding, sorted, no empty values) is validated and hashed byte by byte, giving the very hash
 * the ring places by (hashSeries over the validated pairs: over ASCII text, UTF-16 code units
 * are the bytes). Decoding every label into strings, validating them and hashing the strings
 * took about as long as a single receiver's whole write of the series. Anything else (non-ASCII
 * text, unsorted or duplicate names, empty values, a limit exceeded, an unusual encoding) gives
 * NO_WIRE_HASH, and the router decodes and validates the labels as before, which also words the
 * rejection. The series' owners validate it again when it is new to their heads, as always.
 */
import { FNV_PRIME, mix32, SERIES_HASH_SEPARATOR } from '@strata/ring';
import type { TenantLimits } from '@strata/api';

/** wireSeriesHash's answer when the bytes alone cannot tell (decode and validate the labels instead). */
export const NO_WIRE_HASH = -1;

/** "__name__" as bytes. */
const METRIC_NAME = [0x5f, 0x5f, 0x6e, 0x61, 0x6d, 0x65, 0x5f, 0x5f];

/**
 * hashSeries(tenant, pairs) of the series whose Label fields are buf[start, end), `seed` being
 * seriesHashSeed(tenant), if validateSeries would accept those pairs unchanged (sorted, without
 * empty values) under `limits`; otherwise NO_WIRE_HASH. Only ever a hash for a valid series.
 */
export function wireSeriesHash(
  seed: number,
  buf: Uint8Array,
  start: number,
  end: number,
  limits: Pick<TenantLimits, 'maxLabelNamesPerSeries' | 'maxLabelNameLength' | 'maxLabelValueLength'>,
): number {
  let h = seed;
  let p = start;
  let labels = 0;
  let prevName = -1;
  let prevNameLen = 0;
  let named = false;
  while (p < end) {
    // A Label field: tag 1/LEN in its one-byte form, the message length, then the message.
    if (buf[p] !== 0x0a) return NO_WIRE_HASH;
    let msgLen = 0;
    p++;
    for (let shift = 0; ; shift += 7) {
      if (p >= end || shift > 21) return NO_WIRE_HASH;
      const b = buf[p++];
      msgLen |= (b & 0x7f) << shift;
      if (b < 0x80) break;
    }
    const msgEnd = p + msgLen;
    if (msgEnd > end) return NO_WIRE_HASH;
    // name = 1 (one-byte length), then value = 2: empty ones (omitted fields) are left to the slow path.
    if (p + 2 > msgEnd || buf[p] !== 0x0a) return NO_WIRE_HASH;
    const nameLen = buf[p + 1];
    if (nameLen === 0 || nameLen >= 0x80 || nameLen > limits.maxLabelNameLength) return NO_WIRE_HASH;
    const name = p + 2;
    p = name + nameLen;
    if (p >= msgEnd || buf[p] !== 0x12) return NO_WIRE_HASH;
    let valueLen = 0;
    p++;
    for (let shift = 0; ; shift += 7) {
      if (p >= msgEnd || shift > 21) return NO_WIRE_HASH;
      const b = buf[p++];
      valueLen |= (b & 0x7f) << shift;
      if (b < 0x80) break;
    }
    if (valueLen === 0 || valueLen > limits.maxLabelValueLength || p + valueLen !== msgEnd) return NO_WIRE_HASH;
    // Names strictly ascending (as JavaScript compares ASCII strings): sorted, no duplicates.
    if (prevName >= 0) {
      const n = Math.min(prevNameLen, nameLen);
      let k = 0;
      while (k < n && buf[prevName + k] === buf[name + k]) k++;
      if (k < n ? buf[prevName + k] > buf[name + k] : prevNameLen >= nameLen) return NO_WIRE_HASH;
    }
    if (nameLen === METRIC_NAME.length) {
      let k = 0;
      while (k < nameLen && buf[name + k] === METRIC_NAME[k]) k++;
      if (k === nameLen) named = true;
    }
    for (let k = name; k < name + nameLen; k++) {
      const b = buf[k];
      if (b >= 0x80) return NO_WIRE_HASH;
      h = Math.imul(h ^ b, FNV_PRIME);
    }
    h = Math.imul(h ^ SERIES_HASH_SEPARATOR, FNV_PRIME);
    for (let k = p; k < msgEnd; k++) {
      const b = buf[k];
      if (b >= 0x80) return NO_WIRE_HASH;
      h = Math.imul(h ^ b, FNV_PRIME);
    }
    h = Math.imul(h ^ SERIES_HASH_SEPARATOR, FNV_PRIME);
    prevName = name;
    prevNameLen = nameLen;
    labels++;
    p = msgEnd;
  }
  if (!named || labels > limits.maxLabelNamesPerSeries) return NO_WIRE_HASH;
  return mix32(h);
}
