/**
 * The k largest (name, count) entries of a stream, in a bounded min-heap: cardinality stats
 * walk every label pair of the head, which is millions exactly when someone needs them.
 * Ties are broken by name so answers are deterministic.
 */
export interface Stat {
  name: string;
  value: number;
}

export class TopK {
  private readonly heap: Stat[] = [];

  constructor(private readonly k: number) {}

  push(name: string, value: number): void {
    const h = this.heap;
    if (h.length < this.k) {
      h.push({ name, value });
      this.up(h.length - 1);
    } else if (h.length > 0 && smaller(h[0], name, value)) {
      h[0] = { name, value };
      this.down(0);
    }
  }

  /** Largest first. */
  result(): Stat[] {
    return [...this.heap].sort((a, b) => b.value - a.value || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  private up(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && less(h[l], h[m])) m = l;
      if (r < h.length && less(h[r], h[m])) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m], h[i]];
      i = m;
    }
  }
}

/** Heap order: the entry that would be dropped first (smaller value, then later name) is less. */
function less(a: Stat, b: Stat): boolean {
  return a.value < b.value || (a.value === b.value && a.name > b.name);
}

/** Whether the heap's minimum ranks below the candidate. */
function smaller(min: Stat, name: string, value: number): boolean {
  return min.value < value || (min.value === value && min.name > name);
}
