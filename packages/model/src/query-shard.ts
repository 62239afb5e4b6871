/**
 * Query sharding's pseudo-matcher, as Mimir's: `__query_shard__="<i>_of_<n>"` (i from 1) in a
 * selector keeps only the series whose label hash falls in shard i of n, so n sharded selects
 * partition the unsharded one. The query frontend adds it; every store removes it from the
 * matchers it looks up and keeps the series of the shard, before their chunks are read. The hash
 * is of the series' stored labels, identical in every store (external labels are not part of it).
 */
import type { Labels } from './labels.js';
import { Matcher } from './matchers.js';
import { StrataError } from './errors.js';

export const QUERY_SHARD_LABEL = '__query_shard__';

export interface QueryShard {
  /** 0-based shard index. */
  readonly index: number;
  readonly of: number;
}

export function queryShardMatcher(index: number, of: number): Matcher {
  return new Matcher('=', QUERY_SHARD_LABEL, `${index + 1}_of_${of}`);
}

/** The shard a matcher value names; throws on a malformed one (the query is wrong, not empty). */
export function parseQueryShard(value: string): QueryShard {
  const m = /^([1-9][0-9]*)_of_([1-9][0-9]*)$/.exec(value);
  const i = m ? Number(m[1]) : NaN;
  const n = m ? Number(m[2]) : NaN;
  if (!(i >= 1 && i <= n))
    throw new StrataError('bad-query', `invalid ${QUERY_SHARD_LABEL} value ${JSON.stringify(value)}: want <i>_of_<n> with 1 <= i <= n`);
  return { index: i - 1, of: n };
}

/**
 * The matchers without the shard pseudo-matcher, and the shard it names (undefined when there is
 * none). Only equality names a shard; several name the intersection, kept as a list.
 */
export function splitQueryShard(matchers: readonly Matcher[]): { matchers: readonly Matcher[]; shards: QueryShard[] | undefined } {
  if (!matchers.some((m) => m.name === QUERY_SHARD_LABEL && m.type === '=')) return { matchers, shards: undefined };
  const shards: QueryShard[] = [];
  const rest: Matcher[] = [];
  for (const m of matchers) {
    if (m.name === QUERY_SHARD_LABEL && m.type === '=') shards.push(parseQueryShard(m.value));
    else rest.push(m);
  }
  return { matchers: rest, shards };
}

/**
 * FNV-1a over the label strings' UTF-16 code units, a separator after each string, then
 * murmur3's finaliser: shards are the hash modulo n, and FNV's low bits alone spread poorly.
 */
export function seriesShardHash(labels: Labels): number {
  let h = 0x811c9dc5;
  for (const s of labels.pairs) {
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    h = Math.imul(h ^ 0xffff, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export function inQueryShards(labels: Labels, shards: readonly QueryShard[]): boolean {
  const h = seriesShardHash(labels);
  for (const s of shards) if (h % s.of !== s.index) return false;
  return true;
}
