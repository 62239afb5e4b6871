/**
 * Union of lists each sorted by `compare` without repeats (label names, values, label sets
 * from several stores or blocks) by merging: linear in the items, where collecting into a Set
 * and sorting again costs a hash per item and n log n comparisons. Items that compare equal
 * appear once (the first list's copy). Every Querier answers sorted (a remote store re-sorts
 * what it receives: Go orders strings by UTF-8 bytes, JavaScript by UTF-16 code units), so the
 * order is trusted, not checked: checking cost as much as the merge.
 */
export function mergeSorted<T>(lists: readonly (readonly T[])[], compare: (a: T, b: T) => number): T[] {
  let parts = lists.filter((l) => l.length > 0);
  if (parts.length === 0) return [];
  if (parts.length === 1) return parts[0].slice();
  // Pairwise rounds: log2(k) passes over the items, for any number of lists.
  while (parts.length > 1) {
    const next: (readonly T[])[] = [];
    for (let i = 0; i < parts.length; i += 2) next.push(i + 1 < parts.length ? mergeTwo(parts[i], parts[i + 1], compare) : parts[i]);
    parts = next;
  }
  return parts[0] as T[];
}

function mergeTwo<T>(a: readonly T[], b: readonly T[], compare: (a: T, b: T) => number): T[] {
  const out: T[] = new Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) {
    const c = compare(a[i], b[j]);
    if (c < 0) out[k++] = a[i++];
    else if (c > 0) out[k++] = b[j++];
    else {
      out[k++] = a[i++];
      j++;
    }
  }
  while (i < a.length) out[k++] = a[i++];
  while (j < b.length) out[k++] = b[j++];
  out.length = k;
  return out;
}

/** Sorted by `compare`, each item once (the first copy of equal ones): what mergeSorted expects of its lists. */
export function sortUnique<T>(l: readonly T[], compare: (a: T, b: T) => number): T[] {
  const s = [...l].sort(compare);
  let k = 0;
  for (let i = 0; i < s.length; i++) if (i === 0 || compare(s[k - 1], s[i]) !== 0) s[k++] = s[i];
  s.length = k;
  return s;
}

/** The order of JavaScript's default sort() for strings (UTF-16 code units). */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
