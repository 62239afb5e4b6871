/**
 * Rendezvous (highest random weight) hashing: which members own a key (a block ID for store
 * gateways, a tenant's compaction group for compactors). Every member computes the same owners
 * without coordination; adding a member moves only the keys it now wins; RF > 1 gives each key
 * several owners, so one member restarting leaves nothing unowned.
 */
import { hashString } from './hash.js';

export function owners(key: string, members: readonly string[], replicationFactor: number): string[] {
  return [...members]
    .map((m) => ({ m, w: hashString(`${m}\u0000${key}`) }))
    .sort((a, b) => b.w - a.w || (a.m < b.m ? -1 : 1))
    .slice(0, Math.max(1, Math.min(replicationFactor, members.length)))
    .map((x) => x.m);
}
