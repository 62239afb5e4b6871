/**
 * The querier's storage: a fan-out over stores (receivers' heads, store gateways, the local
 * TSDB) that asks only the stores whose time range can match, in parallel, merges their series,
 * and de-duplicates replicas: series equal but for a replica label become one, samples merged
 * by timestamp. A failed store fails the query with its name, unless partial responses are
 * allowed, in which case it becomes a warning.
 */
import {
  compareCodeUnits,
  Labels,
  LabelsBuilder,
  mergeSorted,
  MergeQuerier,
  packRawSeries,
  RawPacker,
  releaseBlocks,
  selectRawIntoOf,
  selectRawOf,
  StrataError,
  type Matcher,
  type Querier,
  type PackedRaw,
  type Queryable,
  type RawSeries,
  type SelectHints,
  type Series,
} from '@strata/model';
import { ASK_EVERY_STORE, storeRange, type StoreRangeRules, type StoreRole } from './store-ranges.js';

export interface Store {
  name: string;
  queryable: Queryable;
  /** Time range the store holds data for, per tenant; undefined when unknown (always asked). */
  timeRange?(tenant: string): { minTime: number; maxTime: number } | undefined;
  /** What the store serves (receiver: head and local blocks; store gateway: the bucket); undefined when unknown. */
  role?(): StoreRole | undefined;
}

export interface FanoutOptions {
  replicaLabels: string[];
  partialResponse: boolean;
  /**
   * Identical selects in flight at the same time are read once and share their series: a
   * dashboard's panels are issued together and often select the same series over the same
   * range (sum by job, by code, a ratio, a topk of one counter). Only concurrent calls share;
   * nothing is kept once the read completes (no results cache). Callers of Querier.select treat
   * series as read-only, so sharing them is safe.
   */
  coalesce?: boolean;
  /**
   * Mimir's query-ingesters-within and query-store-after (store-ranges.ts): the part of a range
   * each store is asked for, by its role. Default: every store is asked the whole range.
   */
  storeRanges?: StoreRangeRules;
  /** The clock the rules are applied at (tests); Date.now by default. */
  now?: () => number;
}

interface SharedSelect {
  series: readonly unknown[];
  warnings: string[];
}

/** A read in flight that identical selects join; `joined` counts them. */
interface InflightSelect {
  read: Promise<SharedSelect>;
  joined: number;
  /** Callers (the reader and those who joined) that have not yet called their Coalesced.done(). */
  holders: number;
}

/** A coalesced read's answer; `exclusive` when no other select shares it (its caller may take it over). */
interface Coalesced<T> {
  value: T[];
  exclusive: boolean;
  /**
   * Called by each caller of a shared read once it copied the value: true for the last one, who
   * ends what the value holds (leases on blocks a worker reads).
   */
  done: () => boolean;
}

const ALONE = (): boolean => true;

export class FanoutQueryable implements Queryable {
  private readonly inflight: Map<string, InflightSelect> | undefined;

  constructor(
    private readonly stores: () => Store[],
    private readonly opts: FanoutOptions,
  ) {
    if (opts.coalesce) this.inflight = new Map();
  }

  querier(tenant: string): Querier {
    return new FanoutQuerier(
      this.stores(),
      tenant,
      this.opts.replicaLabels,
      this.opts.partialResponse,
      this.opts.storeRanges ?? ASK_EVERY_STORE,
      this.opts.now ?? Date.now,
      this.inflight,
    );
  }
}

/**
 * Per query, hints.partialResponse (Thanos' partial_response) overrides the default, and a store
 * left out of a partial answer is reported through hints.warn, as Prometheus reports annotations.
 */
class FanoutQuerier implements Querier {
  constructor(
    private readonly stores: Store[],
    private readonly tenant: string,
    private readonly replicaLabels: string[],
    private readonly defaultPartial: boolean,
    private readonly ranges: StoreRangeRules,
    private readonly now: () => number,
    private readonly inflight?: Map<string, InflightSelect>,
  ) {}

  private partial(hints: SelectHints): boolean {
    return hints.partialResponse ?? this.defaultPartial;
  }

  /**
   * The stores to ask, each with the part of the range it is asked for: a store whose known
   * range misses it is left out, and a receiver or store gateway asked only for the part its
   * role covers under the store-range rules (store-ranges.ts). A querier in front of receivers
   * alone (or store gateways alone) asks them every range, as the other kind is not there to answer.
   */
  private relevant(hints: SelectHints): { s: Store; h: SelectHints }[] {
    const out: { s: Store; h: SelectHints }[] = [];
    const now = this.now();
    const roles = this.stores.map((s) => s.role?.());
    const known = this.stores.map((s) => s.timeRange?.(this.tenant));
    const rules = {
      queryIngestersWithinMs: this.ranges.queryIngestersWithinMs,
      queryStoreAfterMs: this.ranges.queryStoreAfterMs,
    };
    // A rule leaves a range to the other kind of store: it applies only while that kind is there and
    // holds it by the stores' own ranges. Receivers are left out of old ranges only when a store
    // gateway serves blocks up to now - within; gateways are left out of recent ones only when every
    // receiver holds data since now - after (one that keeps no local blocks, or just started, does not).
    const within = now - rules.queryIngestersWithinMs;
    if (!known.some((r, i) => roles[i] === 'store-gateway' && r !== undefined && r.maxTime >= within)) rules.queryIngestersWithinMs = 0;
    const after = now - rules.queryStoreAfterMs;
    const receivers = known.filter((_, i) => roles[i] === 'receiver');
    if (receivers.length === 0 || !receivers.every((r) => r !== undefined && r.minTime <= after)) rules.queryStoreAfterMs = 0;
    for (const [i, s] of this.stores.entries()) {
      const part = storeRange(roles[i], hints.start, hints.end, now, rules);
      if (!part) continue;
      const r = known[i];
      if (r !== undefined && !(r.maxTime >= part.start && r.minTime <= part.end)) continue;
      out.push({ s, h: part.start === hints.start && part.end === hints.end ? hints : { ...hints, ...part } });
    }
    return out;
  }

  private async each<T>(hints: SelectHints, fn: (q: Querier, h: SelectHints) => Promise<T[]>): Promise<T[][]> {
    const stores = this.relevant(hints);
    const results = await Promise.allSettled(stores.map(({ s, h }) => fn(s.queryable.querier(this.tenant), h)));
    const out: T[][] = [];
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') {
        out.push(r.value);
        return;
      }
      this.storeFailed(stores[i].s.name, r.reason as Error, hints);
    });
    return out;
  }

  /** A store failed: the query fails, or with partial responses goes on with a warning. */
  private storeFailed(name: string, e: Error, hints: SelectHints): void {
    // Limits are the user's query being too big, not a store being down: never partial.
    if (e instanceof StrataError && e.status === 422) throw e;
    if (!this.partial(hints))
      throw new StrataError(
        'store-unavailable',
        `store ${name} failed: ${e.message}; retry, or set partial_response=true to answer from the other stores`,
        { cause: e },
      );
    hints.warn?.(`store ${name} failed and was left out of the result (partial response): ${e.message}`);
  }

  private dedupLabels(l: Labels): Labels {
    return this.replicaLabels.length === 0 ? l : new LabelsBuilder(l).del(...this.replicaLabels).labels();
  }

  select(matchers: readonly Matcher[], hints: SelectHints): Promise<Series[]> {
    return this.coalesced('select', matchers, hints, (h) => this.read(matchers, h)).then((c) => c.value);
  }

  /** As select, with each store's series undecoded (for a query worker); coalesced apart from select. */
  selectRaw(matchers: readonly Matcher[], hints: SelectHints): Promise<RawSeries[]> {
    return this.coalesced('raw', matchers, hints, (h) => this.readRaw(matchers, h)).then((c) => c.value);
  }

  /**
   * As selectRaw, written into a packer: the stores one after the other, each its own source, so
   * their chunk bytes are copied once, into the buffer that crosses to the worker, which merges
   * equal label sets. Replica labels to drop change label sets: those go through selectRaw.
   * Coalesced selects share one packed copy, which each caller appends to its own packer; a select
   * nobody joined hands its packed arrays over as they are (no second copy of the chunk bytes).
   */
  async selectRawInto(matchers: readonly Matcher[], hints: SelectHints, into: RawPacker): Promise<void> {
    if (this.replicaLabels.length > 0) return packRawSeries(await this.selectRaw(matchers, hints), into, hints.signal);
    const kind = into.defersBlocks ? 'packed-deferring' : 'packed';
    const defer = into.defersBlocks;
    const { value, exclusive, done } = await this.coalesced(kind, matchers, hints, async (h) => [
      await this.readPacked(matchers, h, defer),
    ]);
    if (exclusive) return into.adopt(value[0]);
    // Each caller takes leases of its own on the blocks left to its worker; the last one ends the read's.
    into.append(value[0]);
    if (done()) releaseBlocks(value[0]);
  }

  /**
   * Stores that pack themselves (the local TSDB, the in-process gateway's blocks) write one after
   * the other, in store order; the others (remote stores) are asked at once, in parallel, as
   * select does, and packed when their turn comes. A failing store's part is dropped.
   */
  private async readPacked(matchers: readonly Matcher[], hints: SelectHints, deferBlocks: boolean): Promise<PackedRaw> {
    const into = new RawPacker({ deferBlocks });
    try {
      return await this.readPackedInto(matchers, hints, into);
    } catch (e) {
      releaseBlocks(into.finish());
      throw e;
    }
  }

  private async readPackedInto(matchers: readonly Matcher[], hints: SelectHints, into: RawPacker): Promise<PackedRaw> {
    const h = { ...hints, limit: undefined };
    const stores = this.relevant(h).map(({ s, h: part }) => {
      const q = s.queryable.querier(this.tenant);
      const early = q.selectRawInto ? undefined : selectRawOf(q, matchers, part);
      early?.catch(() => {}); // handled in its turn below
      return { s, q, part, early };
    });
    for (const { s, q, part, early } of stores) {
      const mark = into.mark();
      try {
        if (early) await packRawSeries(await early, into, hints.signal);
        else await selectRawIntoOf(q, matchers, part, into);
      } catch (e) {
        into.rollback(mark);
        this.storeFailed(s.name, e as Error, hints);
      }
    }
    return into.finish();
  }

  private async coalesced<T>(
    kind: string,
    matchers: readonly Matcher[],
    hints: SelectHints,
    read: (h: SelectHints) => Promise<T[]>,
  ): Promise<Coalesced<T>> {
    if (!this.inflight) return { value: await read(hints), exclusive: true, done: ALONE };
    const key = JSON.stringify([
      kind,
      this.tenant,
      this.partial(hints),
      hints.start,
      hints.end,
      hints.limit ?? 0,
      matchers.map((m) => m.toString()).sort(),
    ]);
    const running = this.inflight.get(key);
    if (running) {
      running.joined++;
      running.holders++;
      try {
        const r = await running.read;
        for (const w of r.warnings) hints.warn?.(w);
        return { value: r.series as T[], exclusive: false, done: () => --running.holders === 0 };
      } catch (e) {
        // The select we joined failed or its query was cancelled: unless ours was too, read for ourselves.
        if (hints.signal?.aborted) throw e;
        return { value: await read(hints), exclusive: true, done: ALONE };
      }
    }
    const own = (async (): Promise<SharedSelect> => {
      // Kept for the selects that join this one; passed on to our own caller as they come.
      const warnings: string[] = [];
      const series = await read({ ...hints, warn: (w) => (warnings.push(w), hints.warn?.(w)) });
      return { series, warnings };
    })();
    const entry: InflightSelect = { read: own, joined: 0, holders: 1 };
    this.inflight.set(key, entry);
    try {
      const value = (await own).series as T[];
      // Read and left in the same synchronous step: nobody can join after this count.
      return { value, exclusive: entry.joined === 0, done: () => --entry.holders === 0 };
    } finally {
      if (this.inflight.get(key) === entry) this.inflight.delete(key);
    }
  }

  private async read(matchers: readonly Matcher[], hints: SelectHints): Promise<Series[]> {
    const lists = await this.each(hints, (q, h) => q.select(matchers, { ...h, limit: undefined }));
    const stripped = lists.map((list) => list.map((s) => ({ ...s, labels: this.dedupLabels(s.labels) })));
    return new MergeQuerier(stripped.map(staticQuerier)).select(matchers, hints);
  }

  private async readRaw(matchers: readonly Matcher[], hints: SelectHints): Promise<RawSeries[]> {
    const lists = await this.each(hints, (q, h) => selectRawOf(q, matchers, { ...h, limit: undefined }));
    const stripped = lists.map((list) => list.map((s) => ({ ...s, labels: this.dedupLabels(s.labels) })));
    return new MergeQuerier(stripped.map(staticRawQuerier)).selectRaw(matchers, hints);
  }

  async series(matchers: readonly Matcher[], hints: SelectHints): Promise<Labels[]> {
    const lists = await this.each(hints, (q, h) => q.series(matchers, h));
    if (this.replicaLabels.length === 0) {
      // Every store answers in label order: a merge, not a map and a sort.
      const merged = mergeSorted(lists, Labels.compare);
      return hints.limit ? merged.slice(0, hints.limit) : merged;
    }
    // Dropping replica labels changes label sets, hence their order: collect and sort.
    const byKey = new Map<string, Labels>();
    for (const l of lists.flat()) {
      const d = this.dedupLabels(l);
      byKey.set(d.key(), d);
    }
    // Label order, as every Querier answers (key() order differs: it compares length-prefixed strings).
    const out = [...byKey.values()].sort(Labels.compare);
    return hints.limit ? out.slice(0, hints.limit) : out;
  }

  async labelNames(matchers: readonly Matcher[], hints: SelectHints): Promise<string[]> {
    const names = mergeSorted(await this.each(hints, (q, h) => q.labelNames(matchers, h)), compareCodeUnits);
    return this.replicaLabels.length === 0 ? names : names.filter((n) => !this.replicaLabels.includes(n));
  }

  async labelValues(name: string, matchers: readonly Matcher[], hints: SelectHints): Promise<string[]> {
    if (this.replicaLabels.includes(name)) return [];
    return mergeSorted(await this.each(hints, (q, h) => q.labelValues(name, matchers, h)), compareCodeUnits);
  }
}

/** A querier over already-fetched series (so the merge logic is shared with MergeQuerier). */
function staticQuerier(series: Series[]): Querier {
  return {
    select: async () => series,
    series: async () => series.map((s) => s.labels),
    labelNames: async () => [],
    labelValues: async () => [],
  };
}

/** A querier over already-fetched raw series, for MergeQuerier.selectRaw. */
function staticRawQuerier(series: RawSeries[]): Querier {
  return {
    select: async () => {
      throw new Error('a raw series list is only read with selectRaw');
    },
    selectRaw: async () => series,
    series: async () => series.map((s) => s.labels),
    labelNames: async () => [],
    labelValues: async () => [],
  };
}
