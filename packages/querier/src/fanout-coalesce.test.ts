/**
 * Coalescing in the fan-out: identical selects in flight together are read from the stores
 * once and share the answer; anything else (another range or matcher, a later call, a joined
 * query that was cancelled) reads for itself. The store is a real TSDB head; the wrapper only
 * counts the calls that reach it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Labels, Matcher, RawPacker, rawTransfer, unpackRaw, type PackedRaw, type Queryable } from '@strata/model';
import { decodeRawSeries } from '@strata/tsdb';
import { TSDB } from '@strata/tsdb';
import { FanoutQueryable } from './fanout.js';

let db: TSDB;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-coalesce-'));
let reads = 0;

beforeAll(async () => {
  db = await TSDB.open({ dir, fsync: 'none', head: { outOfOrderWindowMs: 0, samplesPerChunk: 120, maxSeries: 0 } });
  const app = (await db.tenant('t')).appender();
  for (const job of ['a', 'b']) {
    const ref = app.ref(Labels.fromObject({ __name__: 'm', job }));
    for (let i = 0; i < 100; i++) app.append(ref, i * 1000, i);
  }
  await app.commit();
});
afterAll(async () => {
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function counted(inner: Queryable): Queryable {
  return {
    querier: (tenant) => {
      const q = inner.querier(tenant);
      return {
        ...q,
        select: (m, h) => (reads++, q.select(m, h)),
        selectRawInto: (m, h, into) => (reads++, q.selectRawInto!(m, h, into)),
        series: q.series.bind(q),
        labelNames: q.labelNames.bind(q),
        labelValues: q.labelValues.bind(q),
      };
    },
  };
}

const fanout = (coalesce: boolean) =>
  new FanoutQueryable(() => [{ name: 'head', queryable: counted(db.queryable()) }], {
    replicaLabels: [],
    partialResponse: false,
    coalesce,
  });
const all = [new Matcher('=', '__name__', 'm')];
const hints = { start: 0, end: 99_000 };

beforeEach(() => (reads = 0));

describe('coalesced selects', () => {
  test.each([
    // [name, second select's matchers, second select's range, reads expected]
    ['identical and concurrent: one read', all, hints, 1],
    ['another range: two reads', all, { start: 0, end: 50_000 }, 2],
    ['another matcher: two reads', [new Matcher('=', 'job', 'a')], hints, 2],
  ] as const)('%s', async (_name, m2, h2, want) => {
    const f = fanout(true);
    const [x, y] = await Promise.all([f.querier('t').select(all, hints), f.querier('t').select(m2, h2)]);
    expect(reads).toBe(want);
    expect(x).toHaveLength(2);
    const direct = await db.queryable().querier('t').select(m2, h2);
    expect(y.map((s) => [s.labels.key(), Array.from(s.timestamps), Array.from(s.values)])).toEqual(
      direct.map((s) => [s.labels.key(), Array.from(s.timestamps), Array.from(s.values)]),
    );
  });

  test('calls one after the other each read: nothing is kept', async () => {
    const f = fanout(true);
    await f.querier('t').select(all, hints);
    await f.querier('t').select(all, hints);
    expect(reads).toBe(2);
  });

  test('without coalescing every select reads', async () => {
    const f = fanout(false);
    await Promise.all([f.querier('t').select(all, hints), f.querier('t').select(all, hints)]);
    expect(reads).toBe(2);
  });

  test('a query that joined a cancelled one still gets its answer', async () => {
    const f = fanout(true);
    const cancelled = new AbortController();
    cancelled.abort();
    const first = f.querier('t').select(all, { ...hints, signal: cancelled.signal });
    const second = f.querier('t').select(all, hints);
    await expect(first).rejects.toThrow();
    expect(await second).toHaveLength(2);
  });

  test('packed selects for workers coalesce too, and each caller gets a copy of its own to transfer', async () => {
    const f = fanout(true);
    const a = new CopyCounting();
    const b = new CopyCounting();
    await Promise.all([f.querier('t').selectRawInto!(all, hints, a), f.querier('t').selectRawInto!(all, hints, b)]);
    expect(reads).toBe(1);
    // Shared: the first caller copies too, or the second would read buffers the first transferred away.
    expect([a.copies, b.copies]).toEqual([1, 1]);
    const pa = a.finish();
    const pb = b.finish();
    // Transferring one caller's buffers leaves the other's intact.
    new MessageChannel().port1.postMessage(pa, rawTransfer(pa));
    for (const x of pa.pieces) expect(x.bytes.byteLength).toBe(0);
    const decoded = unpackRaw(pb)
      .map((r) => decodeRawSeries(r, hints.start, hints.end)!)
      .map((s) => [s.labels.key(), Array.from(s.timestamps), Array.from(s.values)]);
    const direct = await db.queryable().querier('t').select(all, hints);
    expect(decoded.sort()).toEqual(direct.map((s) => [s.labels.key(), Array.from(s.timestamps), Array.from(s.values)]).sort());
  });

  test('a packed select nobody joined is handed over as read, without a second copy', async () => {
    for (const coalesce of [true, false]) {
      const into = new CopyCounting();
      await fanout(coalesce).querier('t').selectRawInto!(all, hints, into);
      expect(into.copies).toBe(0);
      const decoded = unpackRaw(into.finish()).map((r) => decodeRawSeries(r, hints.start, hints.end)!.timestamps.length);
      expect(decoded).toEqual([100, 100]);
    }
  });
});

/** Counts the packed answers copied into it (append), as against taken over (adopt into an empty packer). */
class CopyCounting extends RawPacker {
  copies = 0;
  override append(p: PackedRaw): void {
    this.copies++;
    super.append(p);
  }
}
