/**
 * The router's placement cache for one ring: the wire hash of a series' label bytes (salted
 * with the tenant) -> the byte length of those labels and the series' owners. Kept in typed
 * arrays (open addressing, linear probing) with the owner lists interned: a router remembers
 * every series it has placed, and one object per series would be traced by every major GC.
 * Entries are hints (see Distributor's cache note): a key seen again replaces its entry, and the
 * whole table is dropped when it grows past its bound.
 */
/** A free slot's length: below any length a series can have (relabelled ones are -1 - pairs). */
const EMPTY = -0x80000000;

export class Placements {
  private keys = new Uint32Array(1024);
  /** Label byte length per slot (negative for relabelled series, see Distributor); EMPTY = free. */
  private lengths = new Int32Array(1024).fill(EMPTY);
  private setIds = new Int32Array(1024);
  private mask = 1023;
  size = 0;
  private readonly sets: (readonly string[])[] = [];
  private readonly ids = new Map<readonly string[], number>();

  constructor(private readonly maxEntries = 2_000_000) {}

  /** The owners remembered for this key if they were placed from labels of this byte length. */
  get(key: number, length: number): readonly string[] | undefined {
    key >>>= 0;
    for (let i = key & this.mask; ; i = (i + 1) & this.mask) {
      const l = this.lengths[i];
      if (l === EMPTY) return undefined;
      if (this.keys[i] === key) return l === length ? this.sets[this.setIds[i]] : undefined;
    }
  }

  set(key: number, length: number, owners: readonly string[]): void {
    if (this.size >= this.maxEntries) this.clear();
    if ((this.size + 1) * 2 > this.keys.length) this.grow();
    let id = this.ids.get(owners);
    if (id === undefined) {
      id = this.sets.length;
      this.sets.push(owners);
      this.ids.set(owners, id);
    }
    this.put(key >>> 0, length, id);
  }

  private put(key: number, length: number, id: number): void {
    for (let i = key & this.mask; ; i = (i + 1) & this.mask) {
      const l = this.lengths[i];
      if (l === EMPTY) this.size++;
      else if (this.keys[i] !== key) continue;
      this.keys[i] = key;
      this.lengths[i] = length;
      this.setIds[i] = id;
      return;
    }
  }

  clear(): void {
    this.keys = new Uint32Array(1024);
    this.lengths = new Int32Array(1024).fill(EMPTY);
    this.setIds = new Int32Array(1024);
    this.mask = 1023;
    this.size = 0;
  }

  private grow(): void {
    const [keys, lengths, ids] = [this.keys, this.lengths, this.setIds];
    this.keys = new Uint32Array(keys.length * 2);
    this.lengths = new Int32Array(keys.length * 2).fill(EMPTY);
    this.setIds = new Int32Array(keys.length * 2);
    this.mask = this.keys.length - 1;
    this.size = 0;
    for (let i = 0; i < keys.length; i++) if (lengths[i] !== EMPTY) this.put(keys[i], lengths[i], ids[i]);
  }
}
