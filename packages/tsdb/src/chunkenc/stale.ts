/**
 * Prometheus' staleness marker: a NaN with a specific payload that ends a series' visibility. It
 * must be compared by bits, since every NaN compares unequal to everything.
 */
export const STALE_NAN_HI = 0x7ff00000;
export const STALE_NAN_LO = 0x00000002;

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

u32[0] = STALE_NAN_LO;
u32[1] = STALE_NAN_HI;
/** The staleness marker as a number; store it through typed arrays to keep its payload. */
export const STALE_NAN: number = f64[0];

export function isStaleNaN(v: number): boolean {
  f64[0] = v;
  return u32[1] === STALE_NAN_HI && u32[0] === STALE_NAN_LO;
}
