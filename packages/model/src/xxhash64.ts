/**
 * XXH64 with seed 0: the hash Prometheus' labels.Hash uses, wherever Strata must make the same
 * hash-based choice as Prometheus (a rule group's evaluation offset, limit_ratio's sample).
 */
const M = (1n << 64n) - 1n;
const P1 = 11400714785074694791n;
const P2 = 14029467366897019727n;
const P3 = 1609587929392839161n;
const P4 = 9650029242287828579n;
const P5 = 2870177450012600261n;

const rotl = (x: bigint, r: bigint) => ((x << r) | (x >> (64n - r))) & M;
const round = (acc: bigint, input: bigint) => (rotl((acc + input * P2) & M, 31n) * P1) & M;
const merge = (acc: bigint, val: bigint) => ((acc ^ round(0n, val)) * P1 + P4) & M;

export function xxhash64(data: Uint8Array): bigint {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const n = data.length;
  let i = 0;
  let h: bigint;
  if (n >= 32) {
    let v1 = (P1 + P2) & M;
    let v2 = P2;
    let v3 = 0n;
    let v4 = (M + 1n - P1) & M;
    for (; i + 32 <= n; i += 32) {
      v1 = round(v1, dv.getBigUint64(i, true));
      v2 = round(v2, dv.getBigUint64(i + 8, true));
      v3 = round(v3, dv.getBigUint64(i + 16, true));
      v4 = round(v4, dv.getBigUint64(i + 24, true));
    }
    h = (rotl(v1, 1n) + rotl(v2, 7n) + rotl(v3, 12n) + rotl(v4, 18n)) & M;
    h = merge(h, v1);
    h = merge(h, v2);
    h = merge(h, v3);
    h = merge(h, v4);
  } else h = P5;
  h = (h + BigInt(n)) & M;
  for (; i + 8 <= n; i += 8) h = (rotl(h ^ round(0n, dv.getBigUint64(i, true)), 27n) * P1 + P4) & M;
  if (i + 4 <= n) {
    h = (rotl(h ^ ((BigInt(dv.getUint32(i, true)) * P1) & M), 23n) * P2 + P3) & M;
    i += 4;
  }
  for (; i < n; i++) h = (rotl(h ^ ((BigInt(data[i]) * P5) & M), 11n) * P1) & M;
  h ^= h >> 33n;
  h = (h * P2) & M;
  h ^= h >> 29n;
  h = (h * P3) & M;
  h ^= h >> 32n;
  return h;
}

/** Prometheus' labels.Hash of a label set given as sorted name/value pairs: XXH64 of name 0xff value 0xff .... */
export function prometheusLabelsHash(sortedPairs: readonly string[]): bigint {
  const parts: Buffer[] = [];
  const sep = Buffer.from([0xff]);
  for (const s of sortedPairs) parts.push(Buffer.from(s, 'utf8'), sep);
  return xxhash64(Buffer.concat(parts));
}
