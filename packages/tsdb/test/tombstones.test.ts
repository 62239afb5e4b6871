import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { Labels, Matcher, RawPacker, unpackRaw, type RawSeries, type Series } from '@strata/model';
import { decodeRawSeries } from '../src/raw-decode.js';
import { FilesystemBucket } from '@strata/objstore';
import { TSDB } from '../src/db.js';
import {
  BucketTombstones,
  decodeTombstone,
  deletedIntervals,
  encodeTombstone,
  newTombstone,
  readTenantTombstones,
  tombstoneObjectName,
  withoutIntervals,
  withTombstones,
} from '../src/tombstones.js';
import { canonical, headOf, stepArb } from './histogram-heads.js';

const dirs: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-tomb-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

const matcherArb = fc.record({
  type: fc.constantFrom('=', '!=', '=~', '!~' as const),
  name: fc.constantFrom('__name__', 'job', 'instance', 'a b'),
  value: fc.constantFrom('', 'up', 'x.*', 'node', '"quoted"\n'),
});

describe('tombstone objects', () => {
  test('encode/decode round trip; the id depends on content only, not on matcher order', () => {
    fc.assert(
      fc.property(fc.array(matcherArb, { minLength: 1, maxLength: 4 }), fc.integer(), fc.integer(), (ms, a, b) => {
        const matchers = ms.map((m) => new Matcher(m.type, m.name, m.value));
        const t = newTombstone(matchers, Math.min(a, b), Math.max(a, b), 1_700_000_000_123);
        const back = decodeTombstone(encodeTombstone(t), 'x');
        expect(back.id).toBe(t.id);
        expect([back.mint, back.maxt, back.requestedAt]).toEqual([t.mint, t.maxt, 1_700_000_000]);
        expect(back.matchers.map(String)).toEqual(matchers.map(String));
        expect(newTombstone([...matchers].reverse(), t.mint, t.maxt, 0).id).toBe(t.id);
        expect(newTombstone(matchers, t.mint, t.maxt + 1, 0).id).not.toBe(t.id);
      }),
    );
  });

  test.each([
    ['not JSON', '{', /not JSON/],
    ['another version', '{"version":2}', /not a version 1/],
    ['no matchers', '{"version":1,"matchers":[],"min_time":0,"max_time":1}', /lacks matchers/],
    ['bad match type', '{"version":1,"matchers":[{"type":"==","name":"a","value":"b"}],"min_time":0,"max_time":1}', /invalid matcher/],
    ['no range', '{"version":1,"matchers":[{"type":"=","name":"a","value":"b"}]}', /lacks/],
  ])('an invalid object (%s) is refused', (_n, text, re) => {
    expect(() => decodeTombstone(Buffer.from(text), 'obj')).toThrow(re);
  });
});

describe('withoutIntervals', () => {
  test('keeps exactly the samples outside every interval (inclusive bounds), rollup side data aligned', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 60 }),
        fc.array(fc.tuple(fc.integer({ min: -10, max: 1010 }), fc.integer({ min: 0, max: 300 })), { maxLength: 4 }),
        (times, raw) => {
          const ts = Float64Array.from(times.sort((a, b) => a - b));
          const s: Series = {
            labels: Labels.fromObject({ __name__: 'x' }),
            timestamps: ts,
            values: ts.map((t) => t * 2),
            rollup: { counts: ts.map((t) => t + 1), sketches: [...ts].map((t) => Uint8Array.of(t % 256)) },
          };
          const ivs = raw.map(([a, len]) => [a, a + len] as [number, number]);
          const want = times.filter((t) => !ivs.some(([a, b]) => t >= a && t <= b));
          const got = withoutIntervals(s, ivs);
          if (want.length === 0) return expect(got).toBeUndefined();
          expect(Array.from(got!.timestamps)).toEqual(want);
          expect(Array.from(got!.values)).toEqual(want.map((t) => t * 2));
          expect(Array.from(got!.rollup!.counts)).toEqual(want.map((t) => t + 1));
          expect(got!.rollup!.sketches!.map((u) => u![0])).toEqual(want.map((t) => t % 256));
        },
      ),
    );
  });

  test('deletedIntervals: a tombstone applies when all its matchers match and its range meets the query', () => {
    const l = Labels.fromObject({ __name__: 'up', job: 'a' });
    const t = (ms: Matcher[], a: number, b: number) => newTombstone(ms, a, b, 0);
    const name = new Matcher('=', '__name__', 'up');
    expect(deletedIntervals(l, [t([name], 10, 20)])).toEqual([[10, 20]]);
    expect(deletedIntervals(l, [t([name, new Matcher('=', 'job', 'b')], 10, 20)])).toEqual([]);
    expect(deletedIntervals(l, [t([new Matcher('=', 'missing', '')], 10, 20)])).toEqual([[10, 20]]);
    expect(deletedIntervals(l, [t([name], 10, 20)], 21, 30)).toEqual([]);
    expect(deletedIntervals(l, [t([name], 10, 20)], 20, 30)).toEqual([[10, 20]]);
  });
});

test('with tombstones, selectRaw still gives native histograms: it decodes to select (property)', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.array(stepArb, { minLength: 1, maxLength: 100 }), { minLength: 1, maxLength: 3 }), async (series) => {
      const head = headOf(series);
      // A tombstone of another series: selectRaw goes through select, which keeps these series whole.
      const q = withTombstones(head.querier(), () => [newTombstone([new Matcher('=', '__name__', 'other')], 0, 1e12, 0)]);
      const hints = { start: 0, end: 1e12 };
      const ms = [new Matcher('=', '__name__', 'h')];
      const want = (await q.select(ms, hints)).map(canonical);
      const raw = await q.selectRaw!(ms, hints);
      expect(raw.map((r) => canonical(decodeRawSeries(r, hints.start, hints.end)!))).toEqual(want);
    }),
    { numRuns: 30 },
  );
});

test('a tombstone that hits a series keeps its native histograms outside the deleted range, in select and selectRaw (property)', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.array(stepArb, { minLength: 1, maxLength: 60 }), { minLength: 1, maxLength: 3 }),
      fc.integer({ min: 0, max: 62_000 }),
      fc.integer({ min: 0, max: 20_000 }),
      async (series, from, len) => {
        const head = headOf(series);
        const ivs: [number, number][] = [[from, from + len]];
        const q = withTombstones(head.querier(), () => [newTombstone([new Matcher('=', 'i', '0')], from, from + len, 0)]);
        const hints = { start: 0, end: 1e12 };
        const ms = [new Matcher('=', '__name__', 'h')];
        // The model: the head's own answer with the deleted samples of series i="0" cut out by index.
        const want = (await head.querier().select(ms, hints)).flatMap((s) => {
          if (s.labels.get('i') !== '0') return [canonical(s)];
          const keep = [...s.timestamps.keys()].filter((k) => !(s.timestamps[k] >= from && s.timestamps[k] <= from + len));
          if (keep.length === 0) return [];
          const hs = s.histograms && keep.map((k) => s.histograms![k]);
          return [
            canonical({
              labels: s.labels,
              timestamps: Float64Array.from(keep, (k) => s.timestamps[k]),
              values: Float64Array.from(keep, (k) => s.values[k]),
              ...(hs?.some((h) => h) ? { histograms: hs } : {}),
            }),
          ];
        });
        expect((await q.select(ms, hints)).map(canonical)).toEqual(want);
        const raw = await q.selectRaw!(ms, hints);
        expect(raw.map((r) => canonical(decodeRawSeries(r, hints.start, hints.end)!))).toEqual(want);
        expect(deletedIntervals(Labels.fromObject({ i: '0' }), [newTombstone([new Matcher('=', 'i', '0')], from, from + len, 0)])).toEqual(
          ivs,
        );
      },
    ),
    { numRuns: 40 },
  );
});

describe('BucketTombstones and the head', () => {
  test('a request hides its samples from the head at once, others stay; a restart reads it back from the bucket', async () => {
    const root = tmp();
    const bucket = new FilesystemBucket(path.join(root, 'bucket'));
    const store = new BucketTombstones(bucket);
    const open = () =>
      TSDB.open({
        dir: path.join(root, 'db'),
        fsync: 'none',
        head: { outOfOrderWindowMs: 0, samplesPerChunk: 120, maxSeries: 0 },
        tombstones: (t) => store.forTenant(t),
      });
    let db = await open();
    const t = await db.tenant('t1');
    const app = t.appender();
    for (const job of ['a', 'b']) {
      const ref = app.ref(Labels.fromObject({ __name__: 'up', job }));
      for (let i = 0; i < 100; i++) app.append(ref, i * 1000, i);
    }
    await app.commit();
    const read = async (d: TSDB, tenant = 't1') =>
      (await (await d.tenant(tenant)).querier().select([new Matcher('=', '__name__', 'up')], { start: 0, end: 1e6 })).map((s) => [
        s.labels.get('job'),
        s.timestamps.length,
        s.timestamps[0],
      ]);
    expect(await read(db)).toEqual([
      ['a', 100, 0],
      ['b', 100, 0],
    ]);
    const req = newTombstone([new Matcher('=', 'job', 'a')], 0, 49_000, Date.now());
    await store.add('t1', req);
    expect(await read(db)).toEqual([
      ['a', 50, 50_000],
      ['b', 100, 0],
    ]);
    // Another tenant's data is untouched.
    const other = await db.tenant('t2');
    const a2 = other.appender();
    a2.append(a2.ref(Labels.fromObject({ __name__: 'up', job: 'a' })), 1000, 1);
    await a2.commit();
    expect(await read(db, 't2')).toEqual([['a', 1, 1000]]);
    // selectRaw (the query workers' path) hides the same samples.
    const raw = await (await db.tenant('t1')).querier().selectRaw!([new Matcher('=', 'job', 'a')], { start: 0, end: 1e6 });
    expect(raw.map((r) => r.parts.map((p) => ('timestamps' in p ? p.timestamps.length : -1)))).toEqual([[50]]);
    await db.close();

    expect(fs.existsSync(path.join(root, 'bucket', tombstoneObjectName('t1', req.id)))).toBe(true);
    expect((await readTenantTombstones(bucket, 't1')).map((x) => x.id)).toEqual([req.id]);
    const fresh = new BucketTombstones(bucket);
    await fresh.sync(['t1', 't2']);
    expect(fresh.forTenant('t1').map((x) => x.id)).toEqual([req.id]);
    expect(fresh.forTenant('t2')).toEqual([]);
    await store.sync(['t1']);
    db = await open();
    expect(await read(db)).toEqual([
      ['a', 50, 50_000],
      ['b', 100, 0],
    ]);
    await store.remove('t1', req.id);
    expect(await read(db)).toEqual([
      ['a', 100, 0],
      ['b', 100, 0],
    ]);
    await db.close();
  });

  test("selectRawInto (the query workers' path) lets the head pack itself while no tombstone applies, and hides what one covers", async () => {
    const root = tmp();
    const store = new BucketTombstones(new FilesystemBucket(path.join(root, 'bucket')));
    const db = await TSDB.open({
      dir: path.join(root, 'db'),
      fsync: 'none',
      head: { outOfOrderWindowMs: 0, samplesPerChunk: 120, maxSeries: 0 },
      tombstones: (t) => store.forTenant(t),
    });
    const app = (await db.tenant('t1')).appender();
    for (let j = 0; j < 50; j++) {
      const ref = app.ref(Labels.fromObject({ __name__: 'up', job: String(j) }));
      for (let i = 0; i < 200; i++) app.append(ref, i * 1000, i);
    }
    await app.commit();
    /** Counts the series handed over as RawSeries objects, which the head's own packing never makes. */
    class CountingPacker extends RawPacker {
      objects = 0;
      override add(s: RawSeries): void {
        this.objects++;
        super.add(s);
      }
    }
    const packed = async () => {
      const into = new CountingPacker();
      await (await db.tenant('t1')).querier().selectRawInto!([new Matcher('=', '__name__', 'up')], { start: 0, end: 1e6 }, into);
      const series = unpackRaw(into.finish()).map((r) => decodeRawSeries(r, 0, 1e6)!);
      const lengths = Object.fromEntries(series.map((s) => [s.labels.get('job'), s.timestamps.length]));
      return { objects: into.objects, lengths };
    };
    const before = await packed();
    expect(before.objects).toBe(0);
    expect(Object.values(before.lengths)).toEqual(new Array(50).fill(200));
    await store.add('t1', newTombstone([new Matcher('=', 'job', '7')], 0, 99_000, Date.now()));
    const after = await packed();
    expect(after.lengths).toEqual({ ...before.lengths, '7': 100 });
    await db.close();
  });
});
