/**
 * The store-range rules (Mimir's query-ingesters-within and query-store-after): which part of a
 * range each store is asked for, by role, and the fan-out applying them to every read (select,
 * packed selects, series, label names and values) with answers unchanged, only where the other
 * kind of store holds the part left out. Both stores are the
 * same real TSDB head, as a receiver and the bucket hold copies of the same samples.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Labels, Matcher, RawPacker, type Queryable, type SelectHints } from '@strata/model';
import { TSDB } from '@strata/tsdb';
import { FanoutQueryable } from './fanout.js';
import { storeRange, storeRangeRulesError, unionStoreTimeRanges, type StoreRole, type StoreTimeRanges } from './store-ranges.js';

const H = 3_600_000;
const rules = { queryIngestersWithinMs: 13 * H, queryStoreAfterMs: 12 * H };
const now = 100 * H;

describe('unionStoreTimeRanges', () => {
  test.each<[string, StoreTimeRanges[], StoreTimeRanges]>([
    ['nothing', [], {}],
    ['one part: as it is', [{ a: { minTime: 1, maxTime: 2 } }], { a: { minTime: 1, maxTime: 2 } }],
    [
      'head and bucket of one tenant: the span of both',
      [{ a: { minTime: 90, maxTime: 100 } }, { a: { minTime: 10, maxTime: 80 } }],
      { a: { minTime: 10, maxTime: 100 } },
    ],
    [
      'a tenant only one part holds',
      [{ a: { minTime: 90, maxTime: 100 } }, { b: { minTime: 10, maxTime: 20 } }],
      { a: { minTime: 90, maxTime: 100 }, b: { minTime: 10, maxTime: 20 } },
    ],
    [
      'one part inside the other',
      [{ a: { minTime: 0, maxTime: 100 } }, { a: { minTime: 40, maxTime: 50 } }],
      { a: { minTime: 0, maxTime: 100 } },
    ],
  ])('%s', (_, parts, want) => {
    const before = JSON.stringify(parts);
    expect(unionStoreTimeRanges(...parts)).toEqual(want);
    expect(JSON.stringify(parts)).toBe(before); // the parts are left as they were
  });
});

describe('storeRange', () => {
  test.each<[string, StoreRole | undefined, number, number, { start: number; end: number } | undefined]>([
    ['receiver, range within the window: whole', 'receiver', now - 2 * H, now, { start: now - 2 * H, end: now }],
    ['receiver, range ending before now - within: not asked', 'receiver', now - 48 * H, now - 13 * H - 1, undefined],
    [
      'receiver, range ending at now - within: asked for that instant',
      'receiver',
      now - 48 * H,
      now - 13 * H,
      { start: now - 13 * H, end: now - 13 * H },
    ],
    ['receiver, range across the window: from now - within', 'receiver', now - 48 * H, now, { start: now - 13 * H, end: now }],
    [
      'receiver, open range (label APIs): from now - within',
      'receiver',
      Number.MIN_SAFE_INTEGER,
      Number.MAX_SAFE_INTEGER,
      { start: now - 13 * H, end: Number.MAX_SAFE_INTEGER },
    ],
    [
      'gateway, range older than now - after: whole',
      'store-gateway',
      now - 48 * H,
      now - 24 * H,
      { start: now - 48 * H, end: now - 24 * H },
    ],
    ['gateway, range starting after now - after: not asked', 'store-gateway', now - 12 * H + 1, now, undefined],
    [
      'gateway, range starting at now - after: asked for that instant',
      'store-gateway',
      now - 12 * H,
      now,
      { start: now - 12 * H, end: now - 12 * H },
    ],
    ['gateway, range across: up to now - after', 'store-gateway', now - 48 * H, now, { start: now - 48 * H, end: now - 12 * H }],
    [
      'gateway, open range: up to now - after',
      'store-gateway',
      Number.MIN_SAFE_INTEGER,
      Number.MAX_SAFE_INTEGER,
      { start: Number.MIN_SAFE_INTEGER, end: now - 12 * H },
    ],
    ['unknown role (strata all, Prometheus): whole', undefined, now - 48 * H, now, { start: now - 48 * H, end: now }],
  ])('%s', (_name, role, start, end, want) => {
    expect(storeRange(role, start, end, now, rules)).toEqual(want);
  });

  test.each<[string, StoreRole]>([
    ['receiver', 'receiver'],
    ['store gateway', 'store-gateway'],
  ])('rules off (0): a %s is asked the whole range', (_n, role) => {
    const off = { queryIngestersWithinMs: 0, queryStoreAfterMs: 0 };
    expect(storeRange(role, now - 48 * H, now, now, off)).toEqual({ start: now - 48 * H, end: now });
  });

  test('query-store-after must be less than query-ingesters-within when both are on', () => {
    expect(storeRangeRulesError(rules)).toBeUndefined();
    expect(storeRangeRulesError({ queryIngestersWithinMs: 0, queryStoreAfterMs: 12 * H })).toBeUndefined();
    expect(storeRangeRulesError({ queryIngestersWithinMs: 12 * H, queryStoreAfterMs: 0 })).toBeUndefined();
    expect(storeRangeRulesError({ queryIngestersWithinMs: 12 * H, queryStoreAfterMs: 12 * H })).toMatch(/must be less than/);
  });
});

describe('the fan-out asks each store its part', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-store-ranges-'));
  let db: TSDB;
  const asked: { role: StoreRole; op: string; start: number; end: number }[] = [];
  // Samples every 10 minutes over the last 30 hours: both stores hold all of them.
  const step = 600_000;
  const from = now - 30 * H;

  beforeAll(async () => {
    db = await TSDB.open({ dir, fsync: 'none', head: { outOfOrderWindowMs: 0, samplesPerChunk: 120, maxSeries: 0 } });
    const app = (await db.tenant('t')).appender();
    for (const job of ['a', 'b']) {
      const ref = app.ref(Labels.fromObject({ __name__: 'm', job }));
      for (let t = from; t <= now; t += step) app.append(ref, t, t / step);
    }
    await app.commit();
  });
  afterAll(async () => {
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => (asked.length = 0));

  function recorded(role: StoreRole, inner: Queryable): Queryable {
    const note = (op: string, h: SelectHints) => asked.push({ role, op, start: h.start, end: h.end });
    return {
      querier: (tenant) => {
        const q = inner.querier(tenant);
        return {
          select: (m, h) => (note('select', h), q.select(m, h)),
          selectRawInto: (m, h, into) => (note('packed', h), q.selectRawInto!(m, h, into)),
          series: (m, h) => (note('series', h), q.series(m, h)),
          labelNames: (m, h) => (note('labelNames', h), q.labelNames(m, h)),
          labelValues: (n, m, h) => (note('labelValues', h), q.labelValues(n, m, h)),
        };
      },
    };
  }

  // What the stores say they hold: the receiver everything, the bucket all but the head's last 3h.
  const held = { receiver: { minTime: from, maxTime: now }, gateway: { minTime: from, maxTime: now - 3 * H } };
  const fanout = (on: boolean, ranges = held) =>
    new FanoutQueryable(
      () => [
        {
          name: 'receiver',
          queryable: recorded('receiver', db.queryable()),
          role: () => 'receiver' as const,
          timeRange: () => ranges.receiver,
        },
        {
          name: 'gateway',
          queryable: recorded('store-gateway', db.queryable()),
          role: () => 'store-gateway' as const,
          timeRange: () => ranges.gateway,
        },
      ],
      { replicaLabels: [], partialResponse: false, storeRanges: on ? rules : undefined, now: () => now },
    ).querier('t');
  const m = [new Matcher('=', '__name__', 'm')];
  const whole = (h: SelectHints) => db.queryable().querier('t').select(m, h);

  test.each<[string, number, number, StoreRole[]]>([
    ['old data: the gateway alone', from, now - 20 * H, ['store-gateway']],
    ['fresh data: the receiver alone', now - 2 * H, now, ['receiver']],
    ['both: each its part', from, now, ['receiver', 'store-gateway']],
  ])('select over %s, same samples', async (_n, start, end, roles) => {
    const got = await fanout(true).select(m, { start, end });
    expect(asked.map((a) => a.role).sort()).toEqual(roles);
    for (const a of asked) {
      if (a.role === 'receiver') expect(a.start).toBe(Math.max(start, now - 13 * H));
      else expect(a.end).toBe(Math.min(end, now - 12 * H));
    }
    const want = await whole({ start, end });
    expect(got.map((s) => [s.labels.toString(), Array.from(s.timestamps), Array.from(s.values)])).toEqual(
      want.map((s) => [s.labels.toString(), Array.from(s.timestamps), Array.from(s.values)]),
    );
  });

  test('packed selects, series and label APIs follow the same rule', async () => {
    const q = fanout(true);
    const old = { start: from, end: now - 20 * H };
    await q.selectRawInto!(m, old, new RawPacker());
    expect(await q.series(m, old)).toHaveLength(2);
    expect(await q.labelNames(m, old)).toEqual(['__name__', 'job']);
    expect(await q.labelValues('job', m, old)).toEqual(['a', 'b']);
    expect(asked.map((a) => `${a.op}:${a.role}`)).toEqual([
      'packed:store-gateway',
      'series:store-gateway',
      'labelNames:store-gateway',
      'labelValues:store-gateway',
    ]);
    asked.length = 0;
    const fresh = { start: now - H, end: now };
    await q.selectRawInto!(m, fresh, new RawPacker());
    expect(await q.labelValues('job', m, fresh)).toEqual(['a', 'b']);
    expect(asked.map((a) => `${a.op}:${a.role}`)).toEqual(['packed:receiver', 'labelValues:receiver']);
  });

  test.each<[string, StoreRole]>([
    ['receivers alone: asked for old data', 'receiver'],
    ['store gateways alone: asked for fresh data', 'store-gateway'],
  ])('%s (the other kind is not there to answer)', async (_n, role) => {
    const q = new FanoutQueryable(
      () => [{ name: role, queryable: recorded(role, db.queryable()), role: () => role, timeRange: () => held.receiver }],
      {
        replicaLabels: [],
        partialResponse: false,
        storeRanges: rules,
        now: () => now,
      },
    ).querier('t');
    const start = role === 'receiver' ? from : now - H;
    expect(await q.select(m, { start, end: role === 'receiver' ? now - 20 * H : now })).toHaveLength(2);
    expect(asked.map((a) => [a.role, a.start])).toEqual([[role, start]]);
  });

  test('a receiver that holds less than query-store-after (no local blocks, just started): gateways asked for fresh data', async () => {
    await fanout(true, { ...held, receiver: { minTime: now - H, maxTime: now } }).select(m, { start: now - 5 * H, end: now });
    expect(asked.map((a) => [a.role, a.start, a.end])).toEqual([
      ['receiver', now - 5 * H, now],
      ['store-gateway', now - 5 * H, now],
    ]);
  });

  test('a bucket behind query-ingesters-within (shipping stalled): receivers asked for old data', async () => {
    await fanout(true, { ...held, gateway: { minTime: from, maxTime: now - 20 * H } }).select(m, { start: from, end: now - 18 * H });
    expect(asked.map((a) => [a.role, a.start, a.end])).toEqual([
      ['receiver', from, now - 18 * H],
      ['store-gateway', from, now - 18 * H],
    ]);
  });

  test('without the rules (strata all, or both flags 0) every store is asked the whole range', async () => {
    await fanout(false).select(m, { start: from, end: now - 20 * H });
    expect(asked).toEqual([
      { role: 'receiver', op: 'select', start: from, end: now - 20 * H },
      { role: 'store-gateway', op: 'select', start: from, end: now - 20 * H },
    ]);
  });
});
