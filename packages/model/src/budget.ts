import type { QueryBudget } from './storage.js';

/** Both budgets charged (a store's own limits beside the tenant's): the first to refuse throws. */
export function bothBudgets(a: QueryBudget | undefined, b: QueryBudget | undefined): QueryBudget | undefined {
  if (!a || !b) return a ?? b;
  return {
    series: (n) => (a.series(n), b.series(n)),
    chunks: (n) => (a.chunks(n), b.chunks(n)),
    bytes: (n) => (a.bytes(n), b.bytes(n)),
  };
}
