/**
 * Which gateways own a block: rendezvous (highest random weight) hashing of the block ID over
 * the configured members. Every member computes the same owners without coordination; adding a
 * member moves only the blocks it now wins; RF > 1 keeps blocks served while a gateway restarts.
 */
function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  // Final avalanche so similar strings spread.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export function owners(blockId: string, members: readonly string[], replicationFactor: number): string[] {
  return [...members]
    .map((m) => ({ m, w: hash32(`${m}\u0000${blockId}`) }))
    .sort((a, b) => b.w - a.w || (a.m < b.m ? -1 : 1))
    .slice(0, Math.max(1, Math.min(replicationFactor, members.length)))
    .map((x) => x.m);
}
