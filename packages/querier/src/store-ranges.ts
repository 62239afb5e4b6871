/**
 * Which stores a querier asks, by what they hold, with Mimir's rules and flag names
 * (README, "Which stores a querier asks"): receivers keep their recent data (head and local blocks) and
 * store gateways serve the bucket's copies of the same blocks, so over the range both hold a
 * querier would read and merge every sample twice.
 *
 * - `--querier.query-ingesters-within` (default 13h): receivers are not asked for a range that
 *   ends before now - within, and are asked from now - within at most (the older part is the
 *   bucket's).
 * - `--querier.query-store-after` (default 12h): store gateways are not asked for a range that
 *   starts after now - after, and are asked up to now - after at most (the newer part is the
 *   receivers').
 *
 * 0 turns a rule off, and the fan-out applies a rule only where the other kind of store holds
 * the part left out, by the time ranges the stores report (fanout.ts). Stores whose role is unknown (a Prometheus, `strata all`, which serves its
 * head and the bucket, a store that has not answered yet) are always asked the whole range.
 */

/** What a store serves: a receiver its head and local blocks, a store gateway the bucket. */
export type StoreRole = 'receiver' | 'store-gateway';

/** The response header a Strata store names its role in (on /api/v1/status/stores). */
export const STORE_ROLE_HEADER = 'x-strata-store-role';

export interface StoreRangeRules {
  /** Receivers are asked only for the last this many ms; 0 = always asked. */
  queryIngestersWithinMs: number;
  /** Store gateways are asked only for data older than this many ms; 0 = always asked. */
  queryStoreAfterMs: number;
}

/** The rules off: every store is asked the whole range. */
export const ASK_EVERY_STORE: StoreRangeRules = { queryIngestersWithinMs: 0, queryStoreAfterMs: 0 };

/**
 * The part of [start, end] a store of this role is asked for at `now`, or undefined when it is not
 * asked at all. Bounds are inclusive milliseconds, as in SelectHints.
 */
export function storeRange(
  role: StoreRole | undefined,
  start: number,
  end: number,
  now: number,
  rules: StoreRangeRules,
): { start: number; end: number } | undefined {
  if (role === 'receiver' && rules.queryIngestersWithinMs > 0) {
    const from = now - rules.queryIngestersWithinMs;
    if (end < from) return undefined;
    return { start: Math.max(start, from), end };
  }
  if (role === 'store-gateway' && rules.queryStoreAfterMs > 0) {
    const until = now - rules.queryStoreAfterMs;
    if (start > until) return undefined;
    return { start, end: Math.min(end, until) };
  }
  return { start, end };
}

/** A role as a store names it, or undefined for anything else (the store is then always asked). */
export function parseStoreRole(v: string | null | undefined): StoreRole | undefined {
  return v === 'receiver' || v === 'store-gateway' ? v : undefined;
}

/**
 * Why the rules leave a gap no store is asked for (Mimir refuses the same settings), or undefined:
 * with both on, a range between now - within and now - after would be asked of nobody.
 */
export function storeRangeRulesError(rules: StoreRangeRules): string | undefined {
  const { queryIngestersWithinMs: within, queryStoreAfterMs: after } = rules;
  if (within > 0 && after > 0 && after >= within)
    return `--querier.query-store-after (${after / 1000}s) must be less than --querier.query-ingesters-within (${within / 1000}s): data between the two would be asked of no store`;
  return undefined;
}

/** Per tenant, the first and last millisecond a store holds (its /api/v1/status/stores answer). */
export type StoreTimeRanges = Record<string, { minTime: number; maxTime: number }>;

/**
 * The ranges of a process that serves several stores as one (`strata all`: its head and local
 * blocks, and the bucket through its in-process gateway), per tenant the span of all of them.
 * A querier leaves a store out of a range it says it does not hold, so naming only one part would
 * hide the others' data from it.
 */
export function unionStoreTimeRanges(...parts: StoreTimeRanges[]): StoreTimeRanges {
  const out: StoreTimeRanges = {};
  for (const part of parts)
    for (const [tenant, r] of Object.entries(part)) {
      const have = out[tenant];
      out[tenant] = have
        ? { minTime: Math.min(have.minTime, r.minTime), maxTime: Math.max(have.maxTime, r.maxTime) }
        : { minTime: r.minTime, maxTime: r.maxTime };
    }
  return out;
}
