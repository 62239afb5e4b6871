/** Stable 32-bit hashes for rings: FNV-1a with a final avalanche, over strings and label sets. */
export function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export function hashString(s: string, seed = 0x811c9dc5): number {
  let h = seed;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return mix32(h);
}

/** FNV-1a's multiplier, as hashSeries steps with it. */
export const FNV_PRIME = 0x01000193;
/** What hashSeries mixes in after each string. */
export const SERIES_HASH_SEPARATOR = 0xffff;

/** hashSeries' state after the tenant, before any label: hashSeries(t, p) = mix32(pairs stepped from seriesHashSeed(t)). */
export function seriesHashSeed(tenant: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < tenant.length; i++) h = Math.imul(h ^ tenant.charCodeAt(i), FNV_PRIME);
  return Math.imul(h ^ SERIES_HASH_SEPARATOR, FNV_PRIME);
}

/**
 * Hash of tenant + sorted label pairs; a separator after each string keeps ("a","bc") != ("ab","c").
 * Its steps are over UTF-16 code units, so a router can compute it from a series' ASCII wire
 * bytes without decoding them (seriesHashSeed, FNV_PRIME, SERIES_HASH_SEPARATOR, mix32).
 */
export function hashSeries(tenant: string, pairs: readonly string[]): number {
  let h = seriesHashSeed(tenant);
  for (const p of pairs) {
    for (let i = 0; i < p.length; i++) h = Math.imul(h ^ p.charCodeAt(i), FNV_PRIME);
    h = Math.imul(h ^ SERIES_HASH_SEPARATOR, FNV_PRIME);
  }
  return mix32(h);
}
