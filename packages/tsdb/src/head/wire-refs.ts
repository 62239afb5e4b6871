/**
 * Wire-hash -> series ref, as an open-addressing table in one typed array: no per-entry
 * objects, and a lookup reads one slot of four neighbouring integers (one cache line, where a
 * table random-accessed with every known series of a request misses the cache on each array
 * it reads). Entries are hints (verified by the caller), so the table may forget at any time;
 * it is cleared when it holds far more entries than series.
 *
 * An entry may keep a copy of the wire bytes it was remembered for (a remote-write 1.0 series'
 * Label fields), in one byte arena: the next request's bytes are then verified against that copy
 * (getBytes), a comparison of contiguous bytes, instead of against the series' label strings,
 * which are scattered over the heap (a cache miss or more per string, most of the cost of
 * finding a known series).
 */

/** A slot: [hash, ref (-1: empty), where its bytes start in the arena, how many (-1: none kept)]. */
const HASH = 0;
const REF = 1;
const AT = 2;
const LEN = 3;

function emptySlots(n: number): Int32Array {
  const s = new Int32Array(4 * n);
  for (let i = 0; i < n; i++) s[4 * i + REF] = s[4 * i + LEN] = -1;
  return s;
}

export class WireRefTable {
  private slots = emptySlots(1024);
  private mask = 1023;
  private arena = Buffer.alloc(0);
  /** Arena bytes in use, and of those, bytes no entry refers to any more (replaced entries). */
  arenaUsed = 0;
  arenaGarbage = 0;
  size = 0;

  get(hash: number): number | undefined {
    const s = this.slots;
    const h = hash | 0;
    for (let i = hash & this.mask; ; i = (i + 1) & this.mask) {
      const r = s[4 * i + REF];
      if (r < 0) return undefined;
      if (s[4 * i + HASH] === h) return r;
    }
  }

  /** The ref remembered for `hash` with exactly the bytes buf[start, end), else undefined. */
  getBytes(hash: number, buf: Uint8Array, start: number, end: number): number | undefined {
    const s = this.slots;
    const h = hash | 0;
    for (let i = hash & this.mask; ; i = (i + 1) & this.mask) {
      const o = 4 * i;
      const r = s[o + REF];
      if (r < 0) return undefined;
      if (s[o + HASH] !== h) continue;
      const n = end - start;
      if (s[o + LEN] !== n) return undefined;
      // memcmp: a series' labels are a hundred bytes or more, several times faster natively than by a loop.
      const at = s[o + AT];
      return this.arena.compare(buf, start, end, at, at + n) === 0 ? r : undefined;
    }
  }

  /** As set, keeping a copy of the bytes buf[start, end) for getBytes. */
  setBytes(hash: number, ref: number, buf: Uint8Array, start: number, end: number): void {
    const n = end - start;
    if (this.arenaUsed + n > this.arena.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(2 * this.arena.length, this.arenaUsed + n, 1 << 16));
      this.arena.copy(grown, 0, 0, this.arenaUsed);
      this.arena = grown;
    }
    const at = this.arenaUsed;
    this.arena.set(buf.subarray(start, end), at);
    this.arenaUsed += n;
    const o = 4 * this.set(hash, ref);
    this.slots[o + AT] = at;
    this.slots[o + LEN] = n;
  }

  /** Remembers `ref` for `hash` (without bytes); returns the slot. */
  set(hash: number, ref: number): number {
    if ((this.size + 1) * 2 > this.mask + 1) this.grow();
    const s = this.slots;
    const h = hash | 0;
    for (let i = hash & this.mask; ; i = (i + 1) & this.mask) {
      const o = 4 * i;
      if (s[o + REF] < 0) {
        s[o + HASH] = h;
        s[o + REF] = ref;
        s[o + LEN] = -1;
        this.size++;
        return i;
      }
      if (s[o + HASH] === h) {
        s[o + REF] = ref;
        if (s[o + LEN] > 0) this.arenaGarbage += s[o + LEN];
        s[o + LEN] = -1;
        return i;
      }
    }
  }

  clear(): void {
    this.slots = emptySlots(1024);
    this.mask = 1023;
    this.size = 0;
    this.arena = Buffer.alloc(0);
    this.arenaUsed = this.arenaGarbage = 0;
  }

  private grow(): void {
    const old = this.slots;
    const n = 2 * (this.mask + 1);
    this.slots = emptySlots(n);
    this.mask = n - 1;
    this.size = 0;
    for (let o = 0; o < old.length; o += 4) {
      if (old[o + REF] < 0) continue;
      const j = 4 * this.set(old[o + HASH] >>> 0, old[o + REF]);
      this.slots[j + AT] = old[o + AT];
      this.slots[j + LEN] = old[o + LEN];
    }
  }
}
