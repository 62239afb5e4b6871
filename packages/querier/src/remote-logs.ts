/**
 * Logs across processes. A receiver answers POST LOG_SELECT_PATH over its own log store: the
 * streams a querier's LogQL evaluation asks for, in the log share encoding (the log WAL's record
 * format, docs/format/logs.md#forwarded-shares), or label names, values and stream label sets
 * as JSON. The querier reads every receiver through RemoteLogStore and merges their answers in
 * FanoutLogQueryable: with a replication factor each stream is held by RF receivers, so equal
 * streams are merged and an entry held by several replicas is kept once.
 *
 * What crosses is the window, the matchers and the query's required substrings (a line lacking
 * one cannot match, so the receiver leaves it out); the querier re-applies every filter.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Labels, Matcher, StrataError, toStrataError, type MatchType } from '@strata/model';
import {
  andPredicates,
  decodeLogShare,
  encodeLogShare,
  addSampledOut,
  lineFilterPredicate,
  type LineFilterStage,
  LOG_SHARE_CONTENT_TYPE,
  mergeStreams,
  type SampledOutCount,
  type LogQuerier,
  type LogQueryable,
  type LogSelectHints,
  type LogStreamEntries,
} from '@strata/logs';
import { readParams, tenantOf, type HttpClient, type Router, type TenancyConfig } from '@strata/api';

export const LOG_SELECT_PATH = '/api/v1/logs/select';

type Op = 'select' | 'series' | 'labels' | 'values' | 'sampled' | 'info';
const NO_SAMPLED_OUT: SampledOutCount = { entries: 0, bytes: 0 };
const MATCH_TYPES = new Set<string>(['=', '!=', '=~', '!~']);

export interface LogSelectApiDeps {
  logs: LogQueryable;
  tenancy: TenancyConfig;
  /**
   * What `op=info` says: true where `logs` are the bucket's log blocks (a store gateway), so a
   * querier with a bucket of its own leaves the blocks to this store instead of reading them too.
   */
  servesBlocks?: boolean;
}

export function mountLogSelectApi(router: Router, deps: LogSelectApiDeps): void {
  router.add('POST', LOG_SELECT_PATH, async (req: IncomingMessage, res: ServerResponse) => {
    try {
      const p = await readParams(req);
      if (p.get('op') === 'info') {
        const body = JSON.stringify({ blocks: deps.servesBlocks ?? false });
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
        res.end(body);
        return;
      }
      const tenant = tenantOf(req, deps.tenancy);
      const q = deps.logs.logQuerier(tenant);
      const matchers = matchersOf(p.get('matchers') ?? '[]');
      const needles = JSON.parse(p.get('needles') ?? '[]') as unknown;
      if (!Array.isArray(needles) || !needles.every((n) => typeof n === 'string')) throw bad('needles must be a list of strings');
      const limit = p.get('limit');
      const direction = p.get('direction');
      const filters = p.get('filters');
      // A querier from before `filters` sends the needles only.
      const lineFilter = filters
        ? lineFiltersOf(filters)
        : needles.length > 0
          ? (l: string) => needles.every((n) => l.includes(n as string))
          : undefined;
      const hints: LogSelectHints = {
        startNs: bigintOf(p.get('start'), 'start'),
        endNs: bigintOf(p.get('end'), 'end'),
        ...(needles.length > 0 ? { requiredSubstrings: needles } : {}),
        ...(lineFilter ? { lineFilter } : {}),
        ...(limit !== null ? { limit: Number(limit) } : {}),
        ...(direction === 'forward' || direction === 'backward' ? { direction } : {}),
      };
      const op = (p.get('op') ?? 'select') as Op;
      if (op === 'select') {
        const body = encodeLogShare(await q.selectLogs(matchers, hints));
        res.writeHead(200, { 'Content-Type': LOG_SHARE_CONTENT_TYPE, 'Content-Length': body.length });
        res.end(body);
        return;
      }
      let json: unknown;
      if (op === 'series') json = (await q.series(matchers, hints)).map((l) => l.pairs);
      else if (op === 'labels') json = await q.labelNames(matchers, hints);
      else if (op === 'values') json = await q.labelValues(p.get('name') ?? '', matchers, hints);
      else if (op === 'sampled') json = (await q.sampledOut?.(matchers, hints)) ?? NO_SAMPLED_OUT;
      else throw bad(`unknown op ${JSON.stringify(op)}`);
      const body = JSON.stringify(json);
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    } catch (e) {
      const err = toStrataError(e);
      res.writeHead(err.status, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(err.detail);
    }
  });
}

function bad(why: string): StrataError {
  return new StrataError('bad-query', `log select: ${why}`);
}

const LINE_FILTER_OPS = new Set(['|=', '!=', '|~', '!~', '|>', '!>']);

/**
 * The query's leading line filters as the querier sends them (`LineFilterStage` as JSON), compiled
 * here so the store applies all of them before it counts entries against the limit.
 */
function lineFiltersOf(json: string): ((line: string) => boolean) | undefined {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    throw bad('filters are not JSON');
  }
  if (!Array.isArray(v)) throw bad('filters must be a list');
  const stages = v.map((f: unknown): LineFilterStage => {
    const o = f as Partial<LineFilterStage> | null;
    const valueOk = (x: unknown) =>
      typeof x === 'string' || (typeof x === 'object' && x !== null && typeof (x as { ip?: unknown }).ip === 'string');
    if (
      !o ||
      o.k !== 'line' ||
      !LINE_FILTER_OPS.has(o.op as string) ||
      !Array.isArray(o.values) ||
      o.values.length === 0 ||
      !o.values.every(valueOk)
    )
      throw bad('a filter is {k: "line", op, values}');
    return { k: 'line', op: o.op!, values: o.values };
  });
  try {
    return andPredicates(stages.map(lineFilterPredicate));
  } catch (e) {
    throw bad(`bad filter: ${(e as Error).message}`);
  }
}

function bigintOf(v: string | null, name: string): bigint {
  if (v === null || !/^-?\d+$/.test(v)) throw bad(`${name} must be an integer of nanoseconds`);
  return BigInt(v);
}

/** Matchers as [type, name, value] triples; regexes compile through RE2 in Matcher. */
function matchersOf(json: string): Matcher[] {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    throw bad('matchers are not JSON');
  }
  if (!Array.isArray(v)) throw bad('matchers must be a list');
  return v.map((m) => {
    if (!Array.isArray(m) || m.length !== 3 || !MATCH_TYPES.has(m[0]) || typeof m[1] !== 'string' || typeof m[2] !== 'string')
      throw bad('a matcher is [type, name, value]');
    return new Matcher(m[0] as MatchType, m[1], m[2]);
  });
}

export interface RemoteLogStoreOptions {
  url: string;
  tenantHeader: string;
  timeoutMs: number;
  client?: HttpClient;
}

/** A receiver's log store, read over HTTP. A store without logs (404: a store gateway, an older receiver) holds none. */
export class RemoteLogStore implements LogQueryable {
  private blocks: boolean | undefined;

  constructor(readonly opts: RemoteLogStoreOptions) {}

  get name(): string {
    return this.opts.url;
  }

  /** Whether the store serves the bucket's log blocks (a store gateway), as of the last refresh; undefined before one answered. */
  get servesBlocks(): boolean | undefined {
    return this.blocks;
  }

  /**
   * Asks the store what it serves (`op=info`). A store from before the op (400), or without logs
   * (404), serves no blocks; one that does not answer keeps what it said last.
   */
  async refresh(): Promise<void> {
    try {
      const init = {
        method: 'POST',
        body: new URLSearchParams({ op: 'info' }),
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        signal: AbortSignal.timeout(Math.min(this.opts.timeoutMs, 5_000)),
      };
      const url = `${this.opts.url}${LOG_SELECT_PATH}`;
      const r = await (this.opts.client ? this.opts.client.fetch(url, init) : fetch(url, init));
      const text = await r.text();
      if (r.status === 200) this.blocks = (JSON.parse(text) as { blocks?: unknown }).blocks === true;
      else if (r.status === 400 || r.status === 404) this.blocks = false;
    } catch {
      // Unreachable or garbled: keep the last answer.
    }
  }

  logQuerier(tenant: string): LogQuerier {
    const call = async (op: Op, matchers: readonly Matcher[], hints: LogSelectHints, name?: string): Promise<Buffer | undefined> => {
      const form = new URLSearchParams({
        op,
        matchers: JSON.stringify(matchers.map((m) => [m.type, m.name, m.value])),
        start: String(hints.startNs),
        end: String(hints.endNs),
        needles: JSON.stringify(hints.requiredSubstrings ?? []),
      });
      // The store applies every leading filter, so the entries it returns under a limit all pass them.
      if (hints.lineFilters?.length) form.set('filters', JSON.stringify(hints.lineFilters));
      if (hints.limit !== undefined) form.set('limit', String(hints.limit));
      if (hints.direction) form.set('direction', hints.direction);
      if (name !== undefined) form.set('name', name);
      const signal = hints.signal
        ? AbortSignal.any([hints.signal, AbortSignal.timeout(this.opts.timeoutMs)])
        : AbortSignal.timeout(this.opts.timeoutMs);
      const init = {
        method: 'POST',
        body: form,
        headers: { [this.opts.tenantHeader]: tenant, 'Content-Type': 'application/x-www-form-urlencoded' },
        signal,
      };
      const url = `${this.opts.url}${LOG_SELECT_PATH}`;
      const r = await (this.opts.client ? this.opts.client.fetch(url, init) : fetch(url, init));
      const body = Buffer.from(await r.arrayBuffer());
      if (r.status === 404) return undefined;
      // A receiver from before the op answers 400 unknown op: it tallies nothing, and stats must not fail the query.
      if (op === 'sampled' && r.status === 400) return undefined;
      if (r.status !== 200) throw new Error(`log select answered ${r.status}: ${body.toString('utf8').slice(0, 300)}`);
      return body;
    };
    const json = async <T>(op: Op, m: readonly Matcher[], h: LogSelectHints, name?: string): Promise<T | undefined> => {
      const b = await call(op, m, h, name);
      return b && (JSON.parse(b.toString('utf8')) as T);
    };
    return {
      selectLogs: async (m, h) => {
        const b = await call('select', m, h);
        return b ? decodeLogShare(b) : [];
      },
      series: async (m, h) => ((await json<string[][]>('series', m, h)) ?? []).map((p) => Labels.fromSortedPairs(p)),
      labelNames: async (m, h) => (await json<string[]>('labels', m, h)) ?? [],
      labelValues: async (n, m, h) => (await json<string[]>('values', m, h, n)) ?? [],
      sampledOut: async (m, h) => (await json<SampledOutCount>('sampled', m, h)) ?? NO_SAMPLED_OUT,
    };
  }
}

export interface LogSource {
  name: string;
  logs: LogQueryable;
}

/**
 * Every source's logs as one: streams merged, replicas' copies of an entry kept once. A failing
 * source fails the query unless partial responses are on: then, with a replication factor, the
 * other replicas still hold its streams.
 */
export class FanoutLogQueryable implements LogQueryable {
  constructor(
    private readonly sources: () => readonly LogSource[],
    private readonly opts: { partialResponse: boolean },
  ) {}

  logQuerier(tenant: string): LogQuerier {
    const each = async <T>(fn: (q: LogQuerier) => Promise<T>): Promise<T[]> => {
      const srcs = this.sources();
      const got = await Promise.allSettled(srcs.map((s) => fn(s.logs.logQuerier(tenant))));
      const out: T[] = [];
      got.forEach((g, i) => {
        if (g.status === 'fulfilled') out.push(g.value);
        else if (!this.opts.partialResponse)
          throw new StrataError(
            'store-unavailable',
            `store ${srcs[i].name} failed: ${(g.reason as Error).message}; retry, or set --query.partial-response to answer from the other stores`,
          );
      });
      return out;
    };
    const union = (lists: readonly (readonly string[])[]) => [...new Set(lists.flat())].sort();
    return {
      selectLogs: async (m, h): Promise<LogStreamEntries[]> => mergeStreams(await each((q) => q.selectLogs(m, h)), h),
      series: async (m, h) => {
        const byKey = new Map<string, Labels>();
        for (const list of await each((q) => q.series(m, h))) for (const l of list) byKey.set(l.key(), l);
        return [...byKey.values()];
      },
      labelNames: async (m, h) => union(await each((q) => q.labelNames(m, h))),
      labelValues: async (n, m, h) => union(await each((q) => q.labelValues(n, m, h))),
      // Summed: only the receiver that sampled a push tallies it, so replicas do not repeat a line.
      sampledOut: async (m, h) =>
        (await each(async (q) => (await q.sampledOut?.(m, h)) ?? NO_SAMPLED_OUT)).reduce(addSampledOut, NO_SAMPLED_OUT),
    };
  }
}
