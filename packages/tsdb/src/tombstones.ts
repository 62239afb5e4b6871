/**
 * Series deletion (Prometheus' admin delete_series) for data that lives in a bucket: one small
 * JSON object per deletion request and tenant, `<tenant>/tombstones/<id>.json`
 * (docs/format/tombstones.md). Every reader of the tenant's data (the head of `strata all`, the
 * store gateway) hides the samples a tombstone covers at read time; the compactor removes them
 * physically when it rewrites a block and records the tombstone in the new block's meta.json.
 *
 * A request is kept per tenant, not per block: blocks cut later from a head that still held the
 * samples, or shipped late by a receiver, are covered too without anyone listing them.
 */
import { createHash } from 'node:crypto';
import {
  Matcher,
  packRawSeries,
  selectRawIntoOf,
  type FloatHistogram,
  type Labels,
  type MatchType,
  type Querier,
  type RawSeries,
  type Series,
  type SelectHints,
} from '@strata/model';
import type { Bucket } from '@strata/objstore';
import type { Tombstone } from './block/compact-blocks.js';
import { hasRollupParts, type PartsSeries } from './block/block-set.js';

export const TOMBSTONES_DIR = 'tombstones';
export const TOMBSTONE_VERSION = 1;

/** A stored deletion request: samples of the series matching every matcher, in [mint, maxt]. */
export interface TenantTombstone extends Tombstone {
  /** Content hash: the same request twice is one object. */
  id: string;
  /** Unix seconds of the request (as deletion marks carry it). */
  requestedAt: number;
}

interface TombstoneObject {
  version: number;
  id: string;
  matchers: { type: MatchType; name: string; value: string }[];
  min_time: number;
  max_time: number;
  requested_at: number;
}

const MATCH_TYPES: readonly string[] = ['=', '!=', '=~', '!~'];

/** The id of a request: a hash of its matchers (in a canonical order) and range. */
export function tombstoneId(matchers: readonly Matcher[], mint: number, maxt: number): string {
  const canon = matchers.map((m) => [m.name, m.type, m.value]).sort((a, b) => (a.join('\0') < b.join('\0') ? -1 : 1));
  return createHash('sha256')
    .update(JSON.stringify([canon, mint, maxt]))
    .digest('hex')
    .slice(0, 32);
}

export function newTombstone(matchers: readonly Matcher[], mint: number, maxt: number, nowMs: number): TenantTombstone {
  return { id: tombstoneId(matchers, mint, maxt), matchers, mint, maxt, requestedAt: Math.floor(nowMs / 1000) };
}

export function encodeTombstone(t: TenantTombstone): Buffer {
  const o: TombstoneObject = {
    version: TOMBSTONE_VERSION,
    id: t.id,
    matchers: t.matchers.map((m) => ({ type: m.type, name: m.name, value: m.value })),
    min_time: t.mint,
    max_time: t.maxt,
    requested_at: t.requestedAt,
  };
  return Buffer.from(JSON.stringify(o, null, 2));
}

export class TombstoneInvalidError extends Error {
  override name = 'TombstoneInvalidError';
}

export function decodeTombstone(buf: Buffer, where: string): TenantTombstone {
  let o: TombstoneObject;
  try {
    o = JSON.parse(buf.toString('utf8')) as TombstoneObject;
  } catch (e) {
    throw new TombstoneInvalidError(`${where}: not JSON: ${(e as Error).message}`);
  }
  if (o === null || typeof o !== 'object' || o.version !== TOMBSTONE_VERSION)
    throw new TombstoneInvalidError(`${where}: not a version ${TOMBSTONE_VERSION} tombstone`);
  if (!Array.isArray(o.matchers) || o.matchers.length === 0 || typeof o.min_time !== 'number' || typeof o.max_time !== 'number')
    throw new TombstoneInvalidError(`${where}: lacks matchers, min_time or max_time`);
  const matchers = o.matchers.map((m) => {
    if (!m || !MATCH_TYPES.includes(m.type) || typeof m.name !== 'string' || typeof m.value !== 'string')
      throw new TombstoneInvalidError(`${where}: invalid matcher ${JSON.stringify(m)}`);
    return new Matcher(m.type, m.name, m.value);
  });
  return {
    id: typeof o.id === 'string' ? o.id : tombstoneId(matchers, o.min_time, o.max_time),
    matchers,
    mint: o.min_time,
    maxt: o.max_time,
    requestedAt: o.requested_at ?? 0,
  };
}

export const tombstoneObjectName = (tenant: string, id: string) => `${tenant}/${TOMBSTONES_DIR}/${id}.json`;

/** Reads every tombstone of a tenant from the bucket; unreadable objects are reported and skipped. */
export async function readTenantTombstones(
  bucket: Bucket,
  tenant: string,
  onInvalid?: (name: string, err: Error) => void,
): Promise<TenantTombstone[]> {
  const out: TenantTombstone[] = [];
  for await (const name of bucket.iter(`${tenant}/${TOMBSTONES_DIR}/`)) {
    if (!name.endsWith('.json')) continue;
    try {
      out.push(decodeTombstone(await bucket.get(name), name));
    } catch (e) {
      if (bucket.isObjNotFound(e)) continue; // removed meanwhile (clean_tombstones)
      onInvalid?.(name, e as Error);
    }
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * The tenants' tombstones as last read from the bucket, plus those added through this process
 * (visible at once, before the next sync).
 */
export class BucketTombstones {
  private byTenant = new Map<string, readonly TenantTombstone[]>();
  /** Added while a sync was listing: kept over that sync's result, which may predate them. */
  private addedDuringSync: [string, TenantTombstone][] | undefined;

  constructor(
    private readonly bucket: Bucket,
    private readonly onInvalid?: (name: string, err: Error) => void,
  ) {}

  forTenant(tenant: string): readonly TenantTombstone[] {
    return this.byTenant.get(tenant) ?? [];
  }

  /** Stores a request in the bucket; readers in this process see it when this resolves. */
  async add(tenant: string, t: TenantTombstone): Promise<void> {
    await this.bucket.upload(tombstoneObjectName(tenant, t.id), encodeTombstone(t));
    this.addedDuringSync?.push([tenant, t]);
    this.remember(tenant, t);
  }

  private remember(tenant: string, t: TenantTombstone): void {
    const have = this.forTenant(tenant);
    if (!have.some((x) => x.id === t.id)) this.byTenant.set(tenant, [...have, t]);
  }

  /** Removes a request from the bucket (once the compactor applied it everywhere). */
  async remove(tenant: string, id: string): Promise<void> {
    await this.bucket.delete(tombstoneObjectName(tenant, id)).catch((e) => {
      if (!this.bucket.isObjNotFound(e)) throw e;
    });
    this.byTenant.set(
      tenant,
      this.forTenant(tenant).filter((x) => x.id !== id),
    );
  }

  /** Re-reads the given tenants' tombstones (a tenant without any costs one listing). */
  async sync(tenants: Iterable<string>): Promise<void> {
    const next = new Map<string, readonly TenantTombstone[]>();
    const added: [string, TenantTombstone][] = (this.addedDuringSync = []);
    try {
      for (const tenant of tenants) {
        const ts = await readTenantTombstones(this.bucket, tenant, this.onInvalid);
        if (ts.length > 0) next.set(tenant, ts);
      }
    } finally {
      if (this.addedDuringSync === added) this.addedDuringSync = undefined;
    }
    this.byTenant = next;
    for (const [tenant, t] of added) this.remember(tenant, t);
  }
}

/** The [mint, maxt] intervals of `tombstones` that apply to a series with these labels. */
export function deletedIntervals(labels: Labels, tombstones: readonly Tombstone[], start = -Infinity, end = Infinity): [number, number][] {
  const out: [number, number][] = [];
  for (const t of tombstones) {
    if (t.maxt < start || t.mint > end) continue;
    if (t.matchers.every((m) => m.matches(labels.get(m.name)))) out.push([t.mint, t.maxt]);
  }
  return out;
}

const deleted = (t: number, ivs: readonly [number, number][]) => ivs.some(([a, b]) => t >= a && t <= b);

/** The series without the samples in `ivs` (undefined when none is left); rollup side data and native histograms follow their samples. */
export function withoutIntervals(s: Series, ivs: readonly [number, number][]): Series | undefined {
  const n = s.timestamps.length;
  let keep = 0;
  for (let i = 0; i < n; i++) if (!deleted(s.timestamps[i], ivs)) keep++;
  if (keep === n) return s;
  if (keep === 0) return undefined;
  const ts = new Float64Array(keep);
  const vs = new Float64Array(keep);
  const counts = s.rollup ? new Float64Array(keep) : undefined;
  const sketches: (Uint8Array | undefined)[] | undefined = s.rollup?.sketches ? [] : undefined;
  const histograms: (FloatHistogram | undefined)[] | undefined = s.histograms ? [] : undefined;
  for (let i = 0, j = 0; i < n; i++) {
    if (deleted(s.timestamps[i], ivs)) continue;
    ts[j] = s.timestamps[i];
    vs[j] = s.values[i];
    if (counts) counts[j] = s.rollup!.counts[i];
    sketches?.push(s.rollup!.sketches![i]);
    histograms?.push(s.histograms![i]);
    j++;
  }
  const rollup = s.rollup && counts ? { ...s.rollup, counts, sketches } : undefined;
  const out: Series = rollup ? { labels: s.labels, timestamps: ts, values: vs, rollup } : { labels: s.labels, timestamps: ts, values: vs };
  // Only kept while a histogram is left: a column of holes would mean what no column means.
  return histograms?.some((h) => h) ? { ...out, histograms } : out;
}

/**
 * A querier that hides what `tombstones()` covers from select (and so from PromQL). Label and
 * series lookups are answered from the index as before (Strata's series API is index-only): a
 * series whose samples were all deleted still shows there until the compactor rewrote its blocks.
 */
export function withTombstones(inner: Querier, tombstones: () => readonly Tombstone[]): Querier {
  const select = async (matchers: readonly Matcher[], hints: SelectHints): Promise<Series[]> => {
    const ts = tombstones();
    const all = await inner.select(matchers, hints);
    if (ts.length === 0) return all;
    const out: Series[] = [];
    for (const s of all) {
      const ivs = deletedIntervals(s.labels, ts, hints.start, hints.end);
      const kept = ivs.length === 0 ? s : withoutIntervals(s, ivs);
      if (kept) out.push(kept);
    }
    return out;
  };
  const selectRaw = (matchers: readonly Matcher[], hints: SelectHints): Promise<RawSeries[]> => {
    // Undecoded chunks cannot be cut without decoding them: with tombstones, go through select.
    if (tombstones().length > 0 || !inner.selectRaw)
      return select(matchers, hints).then((ss) =>
        ss.map((s) => ({
          labels: s.labels,
          // With its native histograms: without them a histogram sample would read as its unused value slot.
          parts: [
            s.histograms
              ? { timestamps: s.timestamps, values: s.values, histograms: s.histograms }
              : { timestamps: s.timestamps, values: s.values },
          ],
        })),
      );
    return inner.selectRaw(matchers, hints);
  };
  // Rollup parts are hidden from only as joined series: with tombstones there are none, and the
  // caller selects instead.
  const selectRollupParts = hasRollupParts(inner)
    ? (matchers: readonly Matcher[], hints: SelectHints): Promise<PartsSeries[] | undefined> =>
        tombstones().length > 0 ? Promise.resolve(undefined) : inner.selectRollupParts(matchers, hints)
    : undefined;
  return {
    select,
    selectRaw,
    ...(selectRollupParts ? { selectRollupParts } : {}),
    // Without tombstones, the stores pack themselves: the head copies its chunk bytes straight into
    // the packer. Going through selectRaw instead makes objects per series and chunk on the thread
    // that acknowledges writes, which live across the select's slices and make its scavenges long.
    selectRawInto: async (matchers, hints, into) => {
      if (tombstones().length === 0) return selectRawIntoOf(inner, matchers, hints, into);
      return packRawSeries(await selectRaw(matchers, hints), into, hints.signal);
    },
    series: (m, h) => inner.series(m, h),
    labelNames: (m, h) => inner.labelNames(m, h),
    labelValues: (n, m, h) => inner.labelValues(n, m, h),
  };
}
