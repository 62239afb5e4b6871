/**
 * A DDSketch (Masson, Rim, Lee: "DDSketch: a fast and fully-mergeable quantile sketch with
 * relative-error guarantees", VLDB 2019) of the raw values of one rollup window.
 *
 * Chosen over t-digest by measurement (bench/sketches.ts, figures in docs/format/downsampling.md):
 * merging is exact (bucket counts add, so a 1d sketch merged from 288 5m sketches is bit for bit
 * the sketch built from the raw values, and rollups of rollups never lose accuracy), the result is
 * independent of merge order (downsampling stays idempotent), and every quantile has a proven
 * bound: the estimate of a value x is within RELATIVE_ACCURACY * |x| of x.
 *
 * Buckets are logarithmic: value x > 0 goes to bucket ceil(log_gamma(x)), gamma = (1+a)/(1-a);
 * negative values to a mirrored store, values of magnitude below MIN_INDEXABLE to a zero count.
 * NaN and infinities are not sketched (they have no rank in a relative-error sketch).
 */
import { DecBuf, EncBuf } from '../block/encbuf.js';

/** The relative accuracy `a` of every estimate: |estimate - x| <= a * |x|. */
export const RELATIVE_ACCURACY = 0.01;
const GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY);
const LN_GAMMA = Math.log(GAMMA);
/** Smaller magnitudes count as zero; keeps bucket indexes within a varint of a few bytes. */
export const MIN_INDEXABLE = 1e-9;

function bucketOf(x: number): number {
  return Math.ceil(Math.log(x) / LN_GAMMA);
}

/** The value a bucket stands for: the point whose relative distance to both bucket ends is `a`. */
function valueOf(index: number): number {
  return (2 * Math.pow(GAMMA, index)) / (GAMMA + 1);
}

export class DDSketch {
  /** Bucket index -> count, for positive and (by magnitude) negative values. */
  private readonly pos = new Map<number, number>();
  private readonly neg = new Map<number, number>();
  private zero = 0;
  private n = 0;

  get count(): number {
    return this.n;
  }

  add(x: number, times = 1): void {
    if (!Number.isFinite(x)) return;
    if (Math.abs(x) < MIN_INDEXABLE) this.zero += times;
    else {
      const store = x > 0 ? this.pos : this.neg;
      const i = bucketOf(Math.abs(x));
      store.set(i, (store.get(i) ?? 0) + times);
    }
    this.n += times;
  }

  /** Adds every value another sketch holds; exact (no bucket moves). */
  merge(o: DDSketch): void {
    for (const [i, c] of o.pos) this.pos.set(i, (this.pos.get(i) ?? 0) + c);
    for (const [i, c] of o.neg) this.neg.set(i, (this.neg.get(i) ?? 0) + c);
    this.zero += o.zero;
    this.n += o.n;
  }

  /** The estimate of the value of rank k (0-based, ascending); k < count. */
  private valueAtRank(k: number, negAsc: number[], posAsc: number[]): number {
    let seen = 0;
    for (const i of negAsc) {
      seen += this.neg.get(i)!;
      if (k < seen) return -valueOf(i);
    }
    seen += this.zero;
    if (k < seen) return 0;
    for (const i of posAsc) {
      seen += this.pos.get(i)!;
      if (k < seen) return valueOf(i);
    }
    return posAsc.length > 0 ? valueOf(posAsc[posAsc.length - 1]) : 0;
  }

  /**
   * The q-quantile as Prometheus' quantile_over_time defines it (rank q*(n-1), linear
   * interpolation between the two neighbouring ranks), each rank's value estimated from its
   * bucket. NaN when empty; +/-Inf outside [0, 1] as Prometheus.
   */
  quantile(q: number): number {
    if (this.n === 0 || Number.isNaN(q)) return NaN;
    if (q < 0) return -Infinity;
    if (q > 1) return Infinity;
    // Negative values ascend as their magnitude's bucket index descends.
    const negAsc = [...this.neg.keys()].sort((a, b) => b - a);
    const posAsc = [...this.pos.keys()].sort((a, b) => a - b);
    const rank = q * (this.n - 1);
    const lo = Math.floor(rank);
    const hi = Math.min(lo + 1, this.n - 1);
    const w = rank - lo;
    const a = this.valueAtRank(lo, negAsc, posAsc);
    if (w === 0 || hi === lo) return a;
    return a * (1 - w) + this.valueAtRank(hi, negAsc, posAsc) * w;
  }

  /**
   * Bytes: uvarint count of positive buckets, then per bucket (ascending index) the varint index
   * delta and the uvarint count; the same for negative buckets; then the uvarint zero count.
   * Deterministic: equal sketches encode to equal bytes.
   */
  encode(out = new EncBuf(64)): Buffer {
    for (const store of [this.pos, this.neg]) {
      const keys = [...store.keys()].sort((a, b) => a - b);
      out.uvarint(keys.length);
      let prev = 0;
      for (const k of keys) {
        out.varint(k - prev);
        out.uvarint(store.get(k)!);
        prev = k;
      }
    }
    out.uvarint(this.zero);
    return Buffer.from(out.get());
  }

  static decode(data: Uint8Array): DDSketch {
    const s = new DDSketch();
    const d = new DecBuf(Buffer.from(data.buffer, data.byteOffset, data.length));
    for (const store of [s.pos, s.neg]) {
      const n = d.uvarint();
      let k = 0;
      for (let j = 0; j < n; j++) {
        k += d.varint();
        const c = d.uvarint();
        store.set(k, c);
        s.n += c;
      }
    }
    s.zero = d.uvarint();
    s.n += s.zero;
    return s;
  }
}
