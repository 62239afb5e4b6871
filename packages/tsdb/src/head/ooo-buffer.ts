/**
 * Out-of-order samples of one series: sorted by timestamp in typed arrays, values kept as raw
 * bits. Out-of-order data is the exception, so a sorted insert (binary search + shift) is enough.
 */
export class OOOBuffer {
  ts = new Float64Array(8);
  bits = new Uint32Array(16); // [lo, hi] per sample, little-endian double layout
  length = 0;

  /** Index of the first sample with timestamp >= t. */
  lowerBound(t: number): number {
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ts[mid] < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Returns the index of t, or -1. */
  find(t: number): number {
    const i = this.lowerBound(t);
    return i < this.length && this.ts[i] === t ? i : -1;
  }

  insert(t: number, hi: number, lo: number): void {
    const i = this.lowerBound(t);
    if (i < this.length && this.ts[i] === t) return;
    if (this.length === this.ts.length) {
      const ts = new Float64Array(this.ts.length * 2);
      ts.set(this.ts);
      const bits = new Uint32Array(this.bits.length * 2);
      bits.set(this.bits);
      this.ts = ts;
      this.bits = bits;
    }
    this.ts.copyWithin(i + 1, i, this.length);
    this.bits.copyWithin(2 * i + 2, 2 * i, 2 * this.length);
    this.ts[i] = t;
    this.bits[2 * i] = lo;
    this.bits[2 * i + 1] = hi;
    this.length++;
  }

  /** Drops samples with t < before; returns how many remain. */
  truncateBefore(before: number): number {
    const i = this.lowerBound(before);
    if (i === 0) return this.length;
    this.ts.copyWithin(0, i, this.length);
    this.bits.copyWithin(0, 2 * i, 2 * this.length);
    this.length -= i;
    return this.length;
  }
}
