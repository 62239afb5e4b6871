/**
 * Wire-hash -> series ref, as an open-addressing table in typed arrays: no per-entry objects,
 * and lookups that touch two array slots. Entries are hints (verified by the caller), so the
 * table may forget at any time; it is cleared when it holds far more entries than series.
 *
 * An entry may keep a copy of the wire bytes it was remembered for (a remote-write 1.0 series'
 * Label fields), in one byte arena: the next request's bytes are then verified against that copy
 * (getBytes), a comparison of contiguous bytes, instead of against the series' label strings,
 * which are scattered over the heap (a cache miss or more per string, most of the cost of
 * finding a known series).
 */
export class WireRefTable {
  private hashes = new Uint32Array(1024);
  private refs = new Int32Array(1024).fill(-1);
  /** Per slot: where its bytes start in the arena, and how many (-1: none kept). */
  private at = new Int32Array(1024);
  private len = new Int32Array(1024).fill(-1);
  private mask = 1023;
  private arena = Buffer.alloc(0);
  /** Arena bytes in use, and of those, bytes no entry refers to any more (replaced entries). */
  arenaUsed = 0;
  arenaGarbage = 0;
  size = 0;

  /** The ref remembered for `hash` with exactly the bytes buf[start, end), else undefined. */
  getBytes(hash: number, buf: Uint8Array, start: number, end: number): number | undefined {
    let i = hash & this.mask;
    for (;;) {
      const r = this.refs[i];
      if (r < 0) return undefined;
      if (this.hashes[i] === hash) {
        const n = end - start;
        if (this.len[i] !== n) return undefined;
        // memcmp: a series' labels are a hundred bytes or more, several times faster natively than by a loop.
        const o = this.at[i];
        return this.arena.compare(buf, start, end, o, o + n) === 0 ? r : undefined;
      }
      i = (i + 1) & this.mask;
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
    const o = this.arenaUsed;
    this.arena.set(buf.subarray(start, end), o);
    this.arenaUsed += n;
    const i = this.set(hash, ref);
    this.at[i] = o;
    this.len[i] = n;
  }

  get(hash: number): number | undefined {
    let i = hash & this.mask;
    for (;;) {
      const r = this.refs[i];
      if (r < 0) return undefined;
      if (this.hashes[i] === hash) return r;
      i = (i + 1) & this.mask;
    }
  }

  /** Remembers `ref` for `hash` (without bytes); returns the slot. */
  set(hash: number, ref: number): number {
    if ((this.size + 1) * 2 > this.hashes.length) this.grow();
    let i = hash & this.mask;
    for (;;) {
      if (this.refs[i] < 0) {
        this.hashes[i] = hash;
        this.refs[i] = ref;
        this.len[i] = -1;
        this.size++;
        return i;
      }
      if (this.hashes[i] === hash) {
        this.refs[i] = ref;
        if (this.len[i] > 0) this.arenaGarbage += this.len[i];
        this.len[i] = -1;
        return i;
      }
      i = (i + 1) & this.mask;
    }
  }

  clear(): void {
    this.hashes = new Uint32Array(1024);
    this.refs = new Int32Array(1024).fill(-1);
    this.at = new Int32Array(1024);
    this.len = new Int32Array(1024).fill(-1);
    this.mask = 1023;
    this.size = 0;
    this.arena = Buffer.alloc(0);
    this.arenaUsed = this.arenaGarbage = 0;
  }

  private grow(): void {
    const oldH = this.hashes;
    const oldR = this.refs;
    const oldAt = this.at;
    const oldLen = this.len;
    this.hashes = new Uint32Array(oldH.length * 2);
    this.refs = new Int32Array(oldH.length * 2).fill(-1);
    this.at = new Int32Array(oldH.length * 2);
    this.len = new Int32Array(oldH.length * 2).fill(-1);
    this.mask = this.hashes.length - 1;
    this.size = 0;
    for (let i = 0; i < oldH.length; i++) {
      if (oldR[i] < 0) continue;
      const j = this.set(oldH[i], oldR[i]);
      this.at[j] = oldAt[i];
      this.len[j] = oldLen[i];
    }
  }
}
