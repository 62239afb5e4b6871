/**
 * A mergeable distinct count: exact while small, a HyperLogLog once large.
 *
 * Cluster-wide cardinality adds up what each receiver holds, but a series lives on RF receivers:
 * summing their counts would count it RF times. Sketches of the same items merge into the sketch
 * of their union, so every replica's copy of a series counts once.
 *
 * Items are 53-bit keys (hashKey / hashPairsKey), so a JS number carries one exactly. Up to
 * EXACT_MAX keys are kept as they are (the count is exact and small sketches stay small on the
 * wire); beyond that the sketch turns into 2^PRECISION one-byte registers: the low PRECISION bits
 * of a key pick the register, the high 32 bits give the rank. The estimate is Ertl's improved raw
 * estimator ("New cardinality estimation algorithms for HyperLogLog sketches", 2017), which needs
 * neither the empirical bias tables of HLL++ nor a switch to linear counting, and has a relative
 * standard error of about 1.04 / sqrt(2^PRECISION) = 1.6% over the whole range.
 *
 * Why not an npm package: the HyperLogLog implementations on npm hash every item as a string into
 * a binary string and keep registers in plain arrays, have no exact small mode and no compact wire
 * form; here keys are hashed once per series by the caller and registers are a Uint8Array.
 */

export const SKETCH_PRECISION = 12;
const M = 1 << SKETCH_PRECISION;
/** Exact keys take 8 bytes each: past M / 8 of them the registers are no larger. */
export const EXACT_MAX = M / 8;
/** Rank bits: the key's bits above the register index (53 - 12 = 41), of which 32 are used. */
const Q = 32;
const TWO_21 = 2 ** 21;

export class DistinctSketch {
  private exact: Set<number> | undefined = new Set();
  private regs: Uint8Array | undefined;

  /** Adds a 53-bit key (from hashKey or hashPairsKey). */
  add(key: number): void {
    if (this.exact) {
      this.exact.add(key);
      if (this.exact.size > EXACT_MAX) this.toDense();
      return;
    }
    addToRegisters(this.regs!, key);
  }

  /** Makes this the sketch of the union of both. */
  merge(other: DistinctSketch): void {
    if (other.exact) {
      for (const k of other.exact) this.add(k);
      return;
    }
    if (this.exact) this.toDense();
    const a = this.regs!;
    const b = other.regs!;
    for (let i = 0; i < M; i++) if (b[i] > a[i]) a[i] = b[i];
  }

  get isExact(): boolean {
    return this.exact !== undefined;
  }

  /** The number of distinct keys added: exact while isExact, else estimated. */
  estimate(): number {
    if (this.exact) return this.exact.size;
    return estimateRegisters(this.regs!);
  }

  /** Bytes the sketch takes on the wire (encodeTo). */
  encodedSize(): number {
    return this.exact ? 5 + this.exact.size * 8 : 1 + M;
  }

  /** Tag 0 + u32 count + f64 keys, or tag 1 + the registers. */
  encodeTo(out: Uint8Array, pos: number): number {
    const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
    if (this.exact) {
      out[pos] = 0;
      view.setUint32(pos + 1, this.exact.size, true);
      pos += 5;
      for (const k of this.exact) {
        view.setFloat64(pos, k, true);
        pos += 8;
      }
      return pos;
    }
    out[pos] = 1;
    out.set(this.regs!, pos + 1);
    return pos + 1 + M;
  }

  /** Reads a sketch written by encodeTo; returns it and the position after it. */
  static decodeFrom(buf: Uint8Array, pos: number): { sketch: DistinctSketch; next: number } {
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const s = new DistinctSketch();
    const tag = buf[pos];
    if (tag === 0) {
      const n = view.getUint32(pos + 1, true);
      pos += 5;
      if (pos + n * 8 > buf.length) throw new Error('sketch: truncated exact keys');
      for (let i = 0; i < n; i++, pos += 8) s.add(view.getFloat64(pos, true));
      return { sketch: s, next: pos };
    }
    if (tag !== 1) throw new Error(`sketch: unknown tag ${tag}`);
    if (pos + 1 + M > buf.length) throw new Error('sketch: truncated registers');
    s.exact = undefined;
    s.regs = buf.slice(pos + 1, pos + 1 + M);
    return { sketch: s, next: pos + 1 + M };
  }

  private toDense(): void {
    const regs = new Uint8Array(M);
    for (const k of this.exact!) addToRegisters(regs, k);
    this.exact = undefined;
    this.regs = regs;
  }
}

function addToRegisters(regs: Uint8Array, key: number): void {
  const idx = key % M;
  // The 32 bits above the 21 low ones; with PRECISION <= 21 they never overlap the index bits.
  const hi = Math.floor(key / TWO_21) >>> 0;
  const rank = Math.clz32(hi) + 1;
  if (rank > regs[idx]) regs[idx] = rank;
}

function sigma(x: number): number {
  if (x === 1) return Infinity;
  let y = 1;
  let z = x;
  for (;;) {
    x *= x;
    const prev = z;
    z += x * y;
    y += y;
    if (z === prev) return z;
  }
}

function tau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let y = 1;
  let z = 1 - x;
  for (;;) {
    x = Math.sqrt(x);
    const prev = z;
    y *= 0.5;
    z -= (1 - x) * (1 - x) * y;
    if (z === prev) return z / 3;
  }
}

function estimateRegisters(regs: Uint8Array): number {
  const c = new Float64Array(Q + 2);
  for (let i = 0; i < M; i++) c[regs[i]]++;
  let z = M * tau(1 - c[Q + 1] / M);
  for (let k = Q; k >= 1; k--) z = 0.5 * (z + c[k]);
  z += M * sigma(c[0] / M);
  return Math.round((M * M) / (2 * Math.LN2 * z));
}

/** Murmur3's 32-bit finalizer: spreads every input bit over the output. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

let lane1 = 0;
let lane2 = 0;

function mix(s: string): void {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    lane1 = Math.imul(lane1 ^ c, 0x01000193);
    lane2 = Math.imul(lane2 ^ c, 0x5bd1e995) ^ (lane2 >>> 15);
  }
  // A separator, so ("ab","c") and ("a","bc") differ.
  lane1 = Math.imul(lane1 ^ 0xffff, 0x01000193);
  lane2 = Math.imul(lane2 ^ 0xffff, 0x5bd1e995) ^ (lane2 >>> 15);
}

function finish(): number {
  const a = fmix32(lane1 ^ Math.imul(lane2, 0x27d4eb2d));
  const b = fmix32(lane2 + Math.imul(a, 0x165667b1));
  return (a >>> 11) * 2 ** 32 + b;
}

/** A 53-bit key of one string (a label value): the same on every process. */
export function hashKey(s: string): number {
  lane1 = 0x811c9dc5;
  lane2 = 0x9747b28c;
  mix(s);
  return finish();
}

/** A 53-bit key of a label set (its sorted name, value pairs flattened): the same on every process. */
export function hashPairsKey(pairs: readonly string[]): number {
  lane1 = 0x811c9dc5;
  lane2 = 0x9747b28c;
  for (let i = 0; i < pairs.length; i++) mix(pairs[i]);
  return finish();
}
