/**
 * Which gateways own a block: rendezvous (highest random weight) hashing of the block ID over
 * the configured members. Every member computes the same owners without coordination; adding a
 * member moves only the blocks it now wins; RF > 1 keeps blocks served while a gateway restarts.
 */
import { hashString } from '@strata/ring';
export function owners(blockId: string, members: readonly string[], replicationFactor: number): string[] {
  return [...members]
    .map((m) => ({ m, w: hashString(`${m}\u0000${blockId}`) }))
    .sort((a, b) => b.w - a.w || (a.m < b.m ? -1 : 1))
    .slice(0, Math.max(1, Math.min(replicationFactor, members.length)))
    .map((x) => x.m);
}
