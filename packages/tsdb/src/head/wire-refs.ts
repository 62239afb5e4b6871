/**
 * Wire-hash -> series ref, as an open-addressing table in typed arrays: no per-entry objects,
 * and lookups that touch two array slots. Entries are hints (verified by the caller), so the
 * table may forget at any time; it is cleared when it holds far more entries than series.
 */
export class WireRefTable {
  private hashes = new Uint32Array(1024);
  private refs = new Int32Array(1024).fill(-1);
  private mask = 1023;
  size = 0;

  get(hash: number): number | undefined {
    let i = hash & this.mask;
    for (;;) {
      const r = this.refs[i];
      if (r < 0) return undefined;
      if (this.hashes[i] === hash) return r;
      i = (i + 1) & this.mask;
    }
  }

  set(hash: number, ref: number): void {
    if ((this.size + 1) * 2 > this.hashes.length) this.grow();
    let i = hash & this.mask;
    for (;;) {
      if (this.refs[i] < 0) {
        this.hashes[i] = hash;
        this.refs[i] = ref;
        this.size++;
        return;
      }
      if (this.hashes[i] === hash) {
        this.refs[i] = ref;
        return;
      }
      i = (i + 1) & this.mask;
    }
  }

  clear(): void {
    this.hashes = new Uint32Array(1024);
    this.refs = new Int32Array(1024).fill(-1);
    this.mask = 1023;
    this.size = 0;
  }

  private grow(): void {
    const oldH = this.hashes;
    const oldR = this.refs;
    this.hashes = new Uint32Array(oldH.length * 2);
    this.refs = new Int32Array(oldH.length * 2).fill(-1);
    this.mask = this.hashes.length - 1;
    this.size = 0;
    for (let i = 0; i < oldH.length; i++) if (oldR[i] >= 0) this.set(oldH[i], oldR[i]);
  }
}
