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
/**
 * Int32 words per slot: key (as int32), label byte length, owner set id, unused. A slot's fields
 * share one cache line: the table holds every series a router has placed, far more than the
 * CPU caches do, so a lookup in three parallel arrays cost three cache misses instead of one.
 */
const SLOT = 4;
const INITIAL_SLOTS = 1024;

function emptySlots(n: number): Int32Array {
  const slots = new Int32Array(n * SLOT);
  for (let i = 1; i < slots.length; i += SLOT) slots[i] = EMPTY;
  return slots;
}

export class Placements {
  private slots = emptySlots(INITIAL_SLOTS);
  private mask = INITIAL_SLOTS - 1;
  size = 0;
  private readonly sets: (readonly string[])[] = [];
  private readonly ids = new Map<readonly string[], number>();

  constructor(private readonly maxEntries = 2_000_000) {}

  /** The owners remembered for this key if they were placed from labels of this byte length. */
  get(key: number, length: number): readonly string[] | undefined {
    key |= 0;
    const slots = this.slots;
    for (let i = key & this.mask; ; i = (i + 1) & this.mask) {
      const at = i * SLOT;
      const l = slots[at + 1];
      if (l === EMPTY) return undefined;
      if (slots[at] === key) return l === length ? this.sets[slots[at + 2]] : undefined;
    }
  }

  set(key: number, length: number, owners: readonly string[]): void {
    if (this.size >= this.maxEntries) this.clear();
    if ((this.size + 1) * 2 > this.mask + 1) this.grow();
    let id = this.ids.get(owners);
    if (id === undefined) {
      id = this.sets.length;
      this.sets.push(owners);
      this.ids.set(owners, id);
    }
    this.put(key | 0, length, id);
  }

  private put(key: number, length: number, id: number): void {
    const slots = this.slots;
    for (let i = key & this.mask; ; i = (i + 1) & this.mask) {
      const at = i * SLOT;
      const l = slots[at + 1];
      if (l === EMPTY) this.size++;
      else if (slots[at] !== key) continue;
      slots[at] = key;
      slots[at + 1] = length;
      slots[at + 2] = id;
      return;
    }
  }

  clear(): void {
    this.slots = emptySlots(INITIAL_SLOTS);
    this.mask = INITIAL_SLOTS - 1;
    this.size = 0;
  }

  private grow(): void {
    const old = this.slots;
    const n = (this.mask + 1) * 2;
    this.slots = emptySlots(n);
    this.mask = n - 1;
    this.size = 0;
    for (let at = 0; at < old.length; at += SLOT) if (old[at + 1] !== EMPTY) this.put(old[at], old[at + 1], old[at + 2]);
  }
}
