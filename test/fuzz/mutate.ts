/** Byte-level mutations in the style of AFL's havoc stage, over a seeded PRNG so runs can be repeated. */

/** xorshift128+: fast, seedable, good enough to pick mutations. */
export class Rng {
  private a: number;
  private b: number;
  constructor(seed: number) {
    this.a = (seed ^ 0x9e3779b9) >>> 0 || 1;
    this.b = (seed * 2654435761) >>> 0 || 2;
  }
  u32(): number {
    let s1 = this.a;
    const s0 = this.b;
    this.a = s0;
    s1 ^= s1 << 23;
    s1 ^= s1 >>> 17;
    s1 ^= s0 ^ (s0 >>> 26);
    this.b = s1 >>> 0;
    return (this.a + this.b) >>> 0;
  }
  /** 0 <= n < below */
  int(below: number): number {
    return below <= 1 ? 0 : this.u32() % below;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
}

const INTERESTING_8 = [0, 1, 0x7f, 0x80, 0xff, 0x10, 0x40, 0x20];
const INTERESTING_32 = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0x10000, 0xffff, 0x100, 0x7ffffff0];

/** One mutated copy of `base`, with 1 to 8 stacked edits; `other` is a second corpus entry to splice from. */
export function mutate(rng: Rng, base: Buffer, other: Buffer, maxLen: number, dictionary: readonly Buffer[]): Buffer {
  let b = Buffer.from(base);
  const edits = 1 + rng.int(8);
  for (let e = 0; e < edits; e++) {
    const op = rng.int(dictionary.length > 0 ? 13 : 12);
    const at = rng.int(b.length + 1);
    switch (op) {
      case 0: // flip a bit
        if (b.length > 0) b[rng.int(b.length)] ^= 1 << rng.int(8);
        break;
      case 1: // a random byte
        if (b.length > 0) b[rng.int(b.length)] = rng.int(256);
        break;
      case 2: // an interesting byte
        if (b.length > 0) b[rng.int(b.length)] = rng.pick(INTERESTING_8);
        break;
      case 3: // an interesting 32-bit value, either byte order
        if (b.length >= 4) {
          const i = rng.int(b.length - 3);
          const v = rng.pick(INTERESTING_32);
          if (rng.int(2) === 0) b.writeUInt32LE(v, i);
          else b.writeUInt32BE(v, i);
        }
        break;
      case 4: // add or subtract a little
        if (b.length > 0) {
          const i = rng.int(b.length);
          b[i] = (b[i] + rng.int(70) - 35) & 0xff;
        }
        break;
      case 5: // delete a range
        if (b.length > 1) {
          const n = 1 + rng.int(Math.min(64, b.length - at));
          b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + n))]);
        }
        break;
      case 6: // duplicate a range
        if (b.length > 0) {
          const from = rng.int(b.length);
          const n = 1 + rng.int(Math.min(64, b.length - from));
          b = Buffer.concat([b.subarray(0, at), b.subarray(from, from + n), b.subarray(at)]);
        }
        break;
      case 7: // insert random bytes
        b = Buffer.concat([b.subarray(0, at), Buffer.from(Array.from({ length: 1 + rng.int(16) }, () => rng.int(256))), b.subarray(at)]);
        break;
      case 8: // a run of continuation bytes: overlong varints
        b = Buffer.concat([b.subarray(0, at), Buffer.alloc(1 + rng.int(12), 0xff), b.subarray(at)]);
        break;
      case 9: // truncate
        b = b.subarray(0, at);
        break;
      case 10: // splice: our head, the other's tail
        if (other.length > 0) b = Buffer.concat([b.subarray(0, at), other.subarray(rng.int(other.length))]);
        break;
      case 11: // overwrite a range with a copy from elsewhere
        if (b.length > 1) {
          const from = rng.int(b.length);
          const to = rng.int(b.length);
          const n = 1 + rng.int(Math.min(32, b.length - Math.max(from, to)));
          b.copy(b, to, from, from + n);
        }
        break;
      case 12: // a dictionary token
        b = Buffer.concat([b.subarray(0, at), rng.pick(dictionary), b.subarray(at)]);
        break;
    }
  }
  return b.length > maxLen ? b.subarray(0, maxLen) : b;
}
