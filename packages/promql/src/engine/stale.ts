/** Staleness markers, checked by bits on the stored arrays (never through a JS number copy). */
const HI = 0x7ff00000;
const LO = 0x00000002;

export function isStale(values: Float64Array, i: number): boolean {
  const v = values[i];
  if (v === v) return false; // not NaN: the common case, no bit inspection
  const u = new Uint32Array(values.buffer, values.byteOffset + i * 8, 2);
  return u[1] === HI && u[0] === LO;
}
