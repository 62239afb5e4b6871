import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Labels, Matcher, setPaceSlice, type Series } from '@strata/model';
import { AppendStatus, SERIES_LIMIT_REACHED } from './api.js';
import { compactHead } from './compact.js';
import { TSDB } from './db.js';
import { isStaleNaN, STALE_NAN } from './chunkenc/stale.js';
import { listSegments, segmentName } from './wal/wal.js';

const dirs: string[] = [];
const dbs: TSDB[] = [];
const open = async (o: Parameters<typeof TSDB.open>[0]) => {
  const db = await TSDB.open(o);
  dbs.push(db);
  return db;
};
afterEach(async () => {
  await Promise.all(dbs.splice(0).map((d) => d.close().catch(() => undefined)));
});
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-tsdb-'));
  dirs.push(d);
  return d;
}
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

const HEAD = { outOfOrderWindowMs: 30 * 60_000, samplesPerChunk: 120, maxSeries: 0 };
const L = (o: Record<string, string>) => Labels.fromObject(o);

async function append(db: TSDB, tenant: string, labels: Labels, samples: [number, number][]): Promise<AppendStatus[]> {
  const t = await db.tenant(tenant);
  const app = t.appender();
  const ref = app.ref(labels);
  const out = samples.map(([ts, v]) => app.append(ref, ts, v));
  await app.commit();
  return out;
}

async function read(db: TSDB, tenant: string, matchers: Matcher[], start = -Infinity, end = Infinity) {
  const q = (await db.tenant(tenant)).querier();
  return (await q.select(matchers, { start, end })).map((s) => ({
    labels: s.labels.toString(),
    t: Array.from(s.timestamps),
    v: Array.from(s.values),
  }));
}

describe('TSDB head + WAL', () => {
  test('append, query, reopen after a clean close (snapshot) and after a crash-like stop (WAL only)', async () => {
    const dir = tmp();
    let db = await open({ dir, fsync: 'batch', head: HEAD });
    const up = L({ __name__: 'up', job: 'a' });
    const samples: [number, number][] = [];
    for (let i = 0; i < 300; i++) samples.push([1_000_000 + i * 15_000, i % 7 === 0 ? NaN : i * 1.5]);
    expect((await append(db, 't1', up, samples)).every((s) => s === AppendStatus.OK)).toBe(true);
    const want = await read(db, 't1', [new Matcher('=', '__name__', 'up')]);
    expect(want[0].t).toEqual(samples.map((s) => s[0]));
    await db.close();

    db = await open({ dir, fsync: 'batch', head: HEAD });
    expect((await db.tenant('t1')).replay.fromSnapshot).toBe(true);
    expect(await read(db, 't1', [new Matcher('=', '__name__', 'up')])).toEqual(want);
    // more data, then no close(): the next open must replay snapshot + WAL tail
    await append(db, 't1', up, [[1_000_000 + 300 * 15_000, 42]]);
    const db2 = await open({ dir, fsync: 'batch', head: HEAD });
    const got = await read(db2, 't1', [new Matcher('=', '__name__', 'up')]);
    expect(got[0].t.length).toBe(301);
    expect(got[0].v[300]).toBe(42);
  });

  test('duplicates: identical re-send accepted silently, different value rejected, within a request too', async () => {
    const db = await open({ dir: tmp(), fsync: 'none', head: HEAD });
    const s = L({ __name__: 'x' });
    expect(
      await append(db, 't', s, [
        [1000, 1],
        [2000, 2],
      ]),
    ).toEqual([AppendStatus.OK, AppendStatus.OK]);
    expect(
      await append(db, 't', s, [
        [1000, 1],
        [2000, 2],
        [3000, 3],
      ]),
    ).toEqual([AppendStatus.DUPLICATE_IDENTICAL, AppendStatus.DUPLICATE_IDENTICAL, AppendStatus.OK]);
    expect(await append(db, 't', s, [[2000, 5]])).toEqual([AppendStatus.DUPLICATE_DIFFERENT]);
    expect(
      await append(db, 't', s, [
        [4000, 1],
        [4000, 2],
      ]),
    ).toEqual([AppendStatus.OK, AppendStatus.DUPLICATE_DIFFERENT]);
    expect((await read(db, 't', [new Matcher('=', '__name__', 'x')]))[0].v).toEqual([1, 2, 3, 1]);
  });

  test('out-of-order samples inside the window land and merge; older ones are too old', async () => {
    const db = await open({ dir: tmp(), fsync: 'none', head: { ...HEAD, outOfOrderWindowMs: 600_000 } });
    const s = L({ __name__: 'x' });
    const base = 10_000_000;
    await append(db, 't', s, [
      [base, 1],
      [base + 60_000, 3],
    ]);
    expect(
      await append(db, 't', s, [
        [base + 30_000, 2],
        [base - 500_000, 0],
        [base - 700_000, -1],
      ]),
    ).toEqual([AppendStatus.OK, AppendStatus.OK, AppendStatus.TOO_OLD]);
    const got = await read(db, 't', [new Matcher('=', '__name__', 'x')]);
    expect(got[0].t).toEqual([base - 500_000, base, base + 30_000, base + 60_000]);
    expect(got[0].v).toEqual([0, 1, 2, 3]);
    // an identical re-send of an out-of-order sample is still accepted silently
    expect(await append(db, 't', s, [[base + 30_000, 2]])).toEqual([AppendStatus.DUPLICATE_IDENTICAL]);
  });

  test('staleness markers are stored bit-exact', async () => {
    const db = await open({ dir: tmp(), fsync: 'none', head: HEAD });
    // Values travel in typed arrays, as from the remote-write decoder: V8 quiets signalling NaNs
    // stored in plain JS arrays (array literals included), so each element is assigned directly.
    const vals = new Float64Array(3);
    vals[0] = 1;
    vals[1] = STALE_NAN;
    vals[2] = NaN;
    const app = (await db.tenant('t')).appender();
    const ref = app.ref(L({ __name__: 's' }));
    for (let i = 0; i < 3; i++) expect(app.append(ref, i + 1, vals[i])).toBe(AppendStatus.OK);
    await app.commit();
    const q = (await db.tenant('t')).querier();
    const [s] = await q.select([new Matcher('=', '__name__', 's')], { start: 0, end: 10 });
    expect(isStaleNaN(s.values[1])).toBe(true);
    expect(isStaleNaN(s.values[2])).toBe(false);
    expect(Number.isNaN(s.values[2])).toBe(true);
  });

  test('matchers use postings, including empty-matching ones', async () => {
    const db = await open({ dir: tmp(), fsync: 'none', head: HEAD });
    await append(db, 't', L({ __name__: 'm', a: '1' }), [[1, 1]]);
    await append(db, 't', L({ __name__: 'm', a: '2', b: 'x' }), [[1, 1]]);
    await append(db, 't', L({ __name__: 'm' }), [[1, 1]]);
    await append(db, 't', L({ __name__: 'n', a: '1' }), [[1, 1]]);
    const names = async (...ms: Matcher[]) => (await read(db, 't', ms)).map((s) => s.labels);
    expect(await names(new Matcher('=', '__name__', 'm'), new Matcher('=', 'a', '1'))).toEqual(['m{a="1"}']);
    expect(await names(new Matcher('=', '__name__', 'm'), new Matcher('!=', 'a', '1'))).toEqual(['m', 'm{a="2", b="x"}']);
    expect(await names(new Matcher('=', '__name__', 'm'), new Matcher('=', 'b', ''))).toEqual(['m', 'm{a="1"}']);
    expect(await names(new Matcher('=~', 'a', '1|2'))).toEqual(['m{a="1"}', 'm{a="2", b="x"}', 'n{a="1"}']);
    expect(await names(new Matcher('!~', '__name__', 'm'))).toEqual(['n{a="1"}']);
    const q = (await db.tenant('t')).querier();
    expect(await q.labelValues('a', [], { start: -Infinity, end: Infinity })).toEqual(['1', '2']);
    expect(await q.labelNames([new Matcher('=', '__name__', 'n')], { start: -Infinity, end: Infinity })).toEqual(['__name__', 'a']);
    expect((await q.series([new Matcher('=', '__name__', 'm')], { start: -Infinity, end: Infinity, limit: 2 })).length).toBe(2);
  });

  test('series limit rejects only new series', async () => {
    const db = await open({ dir: tmp(), fsync: 'none', head: { ...HEAD, maxSeries: 2 } });
    const t = await db.tenant('t');
    const app = t.appender();
    const a = app.ref(L({ __name__: 'a' }));
    const b = app.ref(L({ __name__: 'b' }));
    expect(app.ref(L({ __name__: 'c' }))).toBe(SERIES_LIMIT_REACHED);
    expect(app.ref(L({ __name__: 'a' }))).toBe(a);
    expect(b).not.toBe(a);
  });

  test('a torn WAL tail is cut off; everything before it survives', async () => {
    const dir = tmp();
    const db = await open({ dir, fsync: 'batch', head: HEAD });
    const s = L({ __name__: 'x' });
    for (let i = 0; i < 10; i++) await append(db, 't', s, [[i * 1000, i]]);
    // no close: simulate a crash in the middle of the last record
    const walDir = path.join(dir, 'tenants/t/wal');
    const segs = await listSegments(walDir);
    const last = path.join(walDir, segmentName(segs[segs.length - 1]));
    const size = fs.statSync(last).size;
    fs.truncateSync(last, size - 7);
    const db2 = await open({ dir, fsync: 'batch', head: HEAD });
    const t = await db2.tenant('t');
    expect(t.replay.droppedBytes).toBeGreaterThan(0);
    const got = await read(db2, 't', [new Matcher('=', '__name__', 'x')]);
    expect(got[0].v).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    // and it keeps accepting writes after the repair
    expect(await append(db2, 't', s, [[9000, 9]])).toEqual([AppendStatus.OK]);
  });

  test('concurrent commits share fsyncs (group commit)', async () => {
    const db = await open({ dir: tmp(), fsync: 'batch', head: HEAD });
    const t = await db.tenant('t');
    await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const app = t.appender();
        app.append(app.ref(L({ __name__: 'g', i: String(i) })), 1000, i);
        await app.commit();
      }),
    );
    expect(t.wal.fsyncs).toBeLessThan(50);
    expect(t.head.numSeries).toBe(50);
  });

  test('commits begun in the same turn (the parts of one forwarded batch) share one fsync', async () => {
    const db = await open({ dir: tmp(), fsync: 'batch', head: HEAD });
    const t = await db.tenant('t');
    const before = t.wal.fsyncs;
    // As the receiver writes each part: the tenant looked up (an await), then one commit.
    await Promise.all(
      Array.from({ length: 5 }, async (_, i) => {
        const app = (await db.tenant('t')).appender();
        app.append(app.ref(L({ __name__: 'g', i: String(i) })), 1000, i);
        await app.commit();
      }),
    );
    expect(t.wal.fsyncs - before).toBe(1);
    expect(t.head.numSeries).toBe(5);
  });
});

describe('acknowledged samples are never dropped at commit', () => {
  test('a request whose first series moves the head forward still lands its other series (and after replay)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-tsdb-'));
    dirs.push(dir);
    const db = await TSDB.open({ dir, fsync: 'none', head: { outOfOrderWindowMs: 0, samplesPerChunk: 120, maxSeries: 0 } });
    const app = (await db.tenant('t')).appender();
    const a = app.ref(Labels.fromObject({ __name__: 'a' }));
    const b = app.ref(Labels.fromObject({ __name__: 'b' }));
    // Series a spans 3 h, so the head's horizon (1 h behind its newest sample) would exclude
    // b's early samples if they were re-checked when the request is applied.
    for (let i = 0; i < 180; i++) expect(app.append(a, i * 60_000, i)).toBe(AppendStatus.OK);
    for (let i = 0; i < 180; i++) expect(app.append(b, i * 60_000, i)).toBe(AppendStatus.OK);
    await app.commit();
    const count = async (d: TSDB) =>
      (await (await d.tenant('t')).querier().select([new Matcher('=', '__name__', 'b')], { start: -Infinity, end: Infinity }))[0].timestamps
        .length;
    expect(await count(db)).toBe(180);
    const again = await TSDB.open({ dir, fsync: 'none', head: { outOfOrderWindowMs: 0, samplesPerChunk: 120, maxSeries: 0 } });
    expect(await count(again)).toBe(180);
    await again.close();
    await db.close();
  });
});

describe('head compaction into blocks', () => {
  const RANGE = 30 * 60_000;
  const mk = (dir: string, blocks: string[] = []) =>
    TSDB.open({
      dir,
      fsync: 'none',
      blockDurationMs: RANGE,
      head: { outOfOrderWindowMs: 40 * 60_000, samplesPerChunk: 120, maxSeries: 0 },
      externalLabels: (t) => ({ tenant_id: t, receive_replica: 'r1' }),
      onBlock: (_t, d) => blocks.push(d),
    });

  test('complete ranges become blocks, the head shrinks, every sample stays queryable, across restarts', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-tsdb-'));
    dirs.push(dir);
    const shipped: string[] = [];
    const db = await mk(dir, shipped);
    const t = await db.tenant('t');
    const total = (3 * 3600_000) / 15_000;
    for (let i = 0; i < total; i++) {
      const app = t.appender();
      for (let s = 0; s < 3; s++) app.append(app.ref(Labels.fromObject({ __name__: 'm', s: String(s) })), i * 15_000, i + s);
      await app.commit();
    }
    const metas = await db.compactAll();
    // 3 h of data, 30 min ranges: the head keeps at most 1.5 ranges.
    expect(metas.length).toBeGreaterThanOrEqual(3);
    expect(shipped.length).toBe(metas.length);
    expect(
      metas.every((m) => m.maxTime - m.minTime === RANGE && m.thanos?.labels.tenant_id === 't' && m.thanos.labels.receive_replica === 'r1'),
    ).toBe(true);
    expect(t.head.stats().minTime).toBeGreaterThanOrEqual(metas[metas.length - 1].maxTime);
    const count = async (d: TSDB) => {
      const got = await (await d.tenant('t')).querier().select([new Matcher('=', '__name__', 'm')], { start: -Infinity, end: Infinity });
      return got.map((s) => s.timestamps.length);
    };
    expect(await count(db)).toEqual([total, total, total]);

    // A late sample for an already-written range (inside the out-of-order window) is kept in
    // the head, and a later pass writes it as an extra block for that range.
    const late = (total - 1) * 15_000 - 35 * 60_000 + 7;
    expect(late).toBeLessThan(metas[metas.length - 1].maxTime);
    const app = t.appender();
    expect(app.append(app.ref(Labels.fromObject({ __name__: 'm', s: '0' })), late, -1)).toBe(AppendStatus.OK);
    await app.commit();
    expect(await count(db)).toEqual([total + 1, total, total]);
    const extra = await db.compactAll(true);
    expect(extra.some((m) => m.minTime <= late && late < m.maxTime && m.stats.numSamples === 1)).toBe(true);
    expect(await count(db)).toEqual([total + 1, total, total]);

    // Restart without a clean close: blocks + checkpoint + WAL give everything back.
    const again = await mk(dir);
    expect(await count(again)).toEqual([total + 1, total, total]);
    await again.close();
    await db.close();
  });

  test('compactions while commits flow: no commit fails, every acknowledged sample stays (regression: WAL rotation raced writes)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-tsdb-'));
    dirs.push(dir);
    const db = await TSDB.open({
      dir,
      fsync: 'batch',
      blockDurationMs: RANGE,
      head: { outOfOrderWindowMs: 0, samplesPerChunk: 120, maxSeries: 0 },
    });
    const t = await db.tenant('t');
    const failures: string[] = [];
    let acked = 0;
    const total = (4 * 3600_000) / 15_000;
    let next = 0;
    const writers = Array.from({ length: 4 }, async () => {
      while (next < total && failures.length === 0) {
        const i = next++;
        const app = t.appender();
        app.append(app.ref(Labels.fromObject({ __name__: 'w', s: String(i % 4) })), i * 15_000, i);
        try {
          await app.commit();
          acked++;
        } catch (e) {
          failures.push((e as Error).message);
        }
      }
    });
    let compactions = 0;
    const compactor = (async () => {
      while (next < total && failures.length === 0) {
        compactions += (await t.compact()).length;
        await new Promise((r) => setImmediate(r));
      }
    })();
    await Promise.all([...writers, compactor]);
    expect(failures).toEqual([]);
    expect(compactions).toBeGreaterThan(0);
    const got = await t.querier().select([new Matcher('=', '__name__', 'w')], { start: -Infinity, end: Infinity });
    expect(got.reduce((n, s) => n + s.timestamps.length, 0)).toBe(acked);
    await db.close();
    const again = await TSDB.open({
      dir,
      fsync: 'batch',
      blockDurationMs: RANGE,
      head: { outOfOrderWindowMs: 0, samplesPerChunk: 120, maxSeries: 0 },
    });
    const after = await (
      await again.tenant('t')
    )
      .querier()
      .select([new Matcher('=', '__name__', 'w')], { start: -Infinity, end: Infinity });
    expect(after.reduce((n, s) => n + s.timestamps.length, 0)).toBe(acked);
    await again.close();
  });

  test('a sample applied while its range is being written as a block is kept for a later block, not truncated away', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-tsdb-'));
    dirs.push(dir);
    const db = await mk(dir);
    const t = await db.tenant('t');
    const labels = Labels.fromObject({ __name__: 'm', s: 'late' });
    const total = (2 * 3600_000) / 15_000;
    for (let i = 0; i < total; i++) {
      const app = t.appender();
      app.append(app.ref(labels), i * 15_000, i);
      await app.commit();
    }
    // The compaction copies the oldest range synchronously, then awaits the block write; a
    // commit that was accepted earlier applies its sample in that gap (as a WAL fsync returning
    // late would). It sits inside the range being written.
    const inRange = 7_007;
    const writing = compactHead(t.head, { blocksDir: t.blocksDir, rangeMs: RANGE, samplesPerChunk: 120, externalLabels: {} });
    const s = t.head.getByLabels(labels)!;
    t.head.apply(s, inRange, 0, 0);
    const metas = await writing;
    expect(metas[0].minTime).toBeLessThanOrEqual(inRange);
    expect(metas[0].maxTime).toBeGreaterThan(inRange);
    // Every sample is in a written block or still in the head: the late one went into an extra
    // block for its range (the next pass of the same compaction), like any late sample.
    const inBlocks = metas.reduce((n, m) => n + m.stats.numSamples, 0);
    const inHead = (await t.head.querier().select([new Matcher('=', 's', 'late')], { start: -Infinity, end: Infinity })).reduce(
      (n, x) => n + x.timestamps.length,
      0,
    );
    expect(inBlocks + inHead).toBe(total + 1);
    expect(metas.some((m) => m.minTime <= inRange && inRange < m.maxTime && m.stats.numSamples === 1)).toBe(true);
    await db.close();
  });

  test('a head cut that gives way to the event loop at every chance (capture, sort, index) keeps every sample and series applied meanwhile', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-tsdb-'));
    dirs.push(dir);
    const db = await mk(dir);
    const t = await db.tenant('t');
    const n = 3000;
    // Two ranges and a bit: the oldest complete one is cut.
    const total = (2 * RANGE + RANGE / 2) / 60_000;
    for (let i = 0; i < n; i++) {
      const s = t.head.getOrCreate(Labels.fromObject({ __name__: 'cut', i: String(i) }))!.series;
      for (let k = 0; k < total; k++) t.head.apply(s, k * 60_000, 0, k);
    }
    setPaceSlice(0);
    let turns = 0;
    let applied = 0;
    let stop = false;
    // Each turn of the event loop while the cut runs, for a while: a new sample past the range
    // being cut, and a new series with a sample inside it (which makes the cut pass again for that
    // range, as late data does; bounded, or the passes would go on as long as it arrives).
    const ingest = () => {
      if (stop || turns >= 500) return;
      turns++;
      const s = t.head.getByLabels(Labels.fromObject({ __name__: 'cut', i: String(turns % n) }))!;
      t.head.apply(s, total * 60_000 + turns, 0, 1);
      const fresh = t.head.getOrCreate(Labels.fromObject({ __name__: 'cut', fresh: String(turns) }))!.series;
      t.head.apply(fresh, RANGE / 2 + turns, 0, 1);
      applied += 2;
      setImmediate(ingest);
    };
    try {
      setImmediate(ingest);
      const metas = await compactHead(t.head, { blocksDir: t.blocksDir, rangeMs: RANGE, samplesPerChunk: 120, externalLabels: {} });
      stop = true;
      expect(metas.length).toBeGreaterThan(0);
      expect(turns).toBeGreaterThan(100);
      const inBlocks = metas.reduce((k, m) => k + m.stats.numSamples, 0);
      const inHead = (await t.head.querier().select([new Matcher('=', '__name__', 'cut')], { start: -Infinity, end: Infinity })).reduce(
        (k, x) => k + x.timestamps.length,
        0,
      );
      expect(inBlocks + inHead).toBe(n * total + applied);
    } finally {
      stop = true;
      setPaceSlice(5);
      await db.close();
    }
  }, 60_000);

  test('a series whose new sample is staged but not yet committed survives a truncation that empties it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-tsdb-'));
    dirs.push(dir);
    const db = await mk(dir);
    const t = await db.tenant('t');
    const quiet = Labels.fromObject({ __name__: 'm', s: 'quiet' });
    const busy = Labels.fromObject({ __name__: 'm', s: 'busy' });
    const total = (2 * 3600_000) / 15_000;
    let app = t.appender();
    app.append(app.ref(quiet), 0, 1); // one old sample, then silence
    await app.commit();
    for (let i = 1; i < total; i++) {
      app = t.appender();
      app.append(app.ref(busy), i * 15_000, i);
      await app.commit();
    }
    // The quiet series comes back: its sample is staged, and before the commit applies it a
    // compaction cuts its only range.
    const late = t.appender();
    const lastT = (total - 1) * 15_000;
    expect(late.append(late.ref(quiet), lastT, 42)).toBe(AppendStatus.OK);
    const metas = await compactHead(t.head, { blocksDir: t.blocksDir, rangeMs: RANGE, samplesPerChunk: 120, externalLabels: {} });
    expect(metas.length).toBeGreaterThan(0);
    await late.commit();
    const got = await t.head.querier().select([new Matcher('=', 's', 'quiet')], { start: lastT, end: lastT });
    expect(got.map((x) => Array.from(x.values))).toEqual([[42]]);
    await db.close();
  });

  test('a query that yields to the event loop mid-read still sees every sample while a compaction cuts its range', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-tsdb-'));
    dirs.push(dir);
    const db = await mk(dir);
    const t = await db.tenant('t');
    const N = 400;
    const total = (2 * 3600_000) / 15_000;
    const app = t.appender();
    for (let k = 0; k < N; k++) {
      const ref = app.ref(Labels.fromObject({ __name__: 'm', k: String(k).padStart(3, '0') }));
      for (let i = 0; i < total; i++) app.append(ref, i * 15_000, i);
    }
    await app.commit();
    // Yield at every check, so the truncation runs while the read is between series.
    setPaceSlice(0);
    try {
      let reading: Promise<Series[]> | undefined;
      const metas = await compactHead(t.head, {
        blocksDir: t.blocksDir,
        rangeMs: RANGE,
        samplesPerChunk: 120,
        externalLabels: {},
        // A read that began before the range is dropped from the head, as a query's would.
        publish: async () => {
          reading ??= t.head.querier().select([new Matcher('=', '__name__', 'm')], { start: -Infinity, end: Infinity });
        },
      });
      expect(metas.length).toBeGreaterThan(0);
      const got = await reading!;
      expect(got.length).toBe(N);
      expect(got.filter((x) => x.timestamps.length !== total).map((x) => x.labels.toString())).toEqual([]);
    } finally {
      setPaceSlice(5);
    }
    await db.close();
  });

  test('a querier made before a compaction finds the range cut from the head in the new block', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-tsdb-'));
    dirs.push(dir);
    const db = await mk(dir);
    const t = await db.tenant('t');
    const app = t.appender();
    const ref = app.ref(Labels.fromObject({ __name__: 'm' }));
    for (let i = 0; i < (3 * 3600_000) / 15_000; i++) app.append(ref, i * 15_000, i);
    await app.commit();
    const q = t.querier(); // as a query holds it across its selectors
    expect((await db.compactAll()).length).toBeGreaterThan(0);
    expect(t.head.stats().minTime).toBeGreaterThan(15_000);
    const later = await q.select([new Matcher('=', '__name__', 'm')], { start: 0, end: 15_000 });
    expect(later.map((x) => Array.from(x.values))).toEqual([[0, 1]]);
    await db.close();
  });

  test('flush (force) writes everything, including the incomplete newest range', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-tsdb-'));
    dirs.push(dir);
    const db = await mk(dir);
    const t = await db.tenant('t');
    const app = t.appender();
    const ref = app.ref(Labels.fromObject({ __name__: 'x' }));
    for (let i = 0; i < 100; i++) app.append(ref, i * 15_000, i);
    await app.commit();
    expect(await db.compactAll()).toEqual([]);
    const metas = await db.compactAll(true);
    expect(metas.reduce((n, m) => n + m.stats.numSamples, 0)).toBe(100);
    expect(t.head.numSeries).toBe(0);
    await db.close();
  });

  // Regression: a forced flush asked for while the periodic (unforced) pass ran joined that pass and
  // shipped nothing of the incomplete newest range (a SIGTERM during head compaction).
  test.each([
    ['unforced running, forced asked', [false, true], 100],
    ['forced running, unforced asked', [true, false], 100],
    ['two unforced', [false, false], 60],
    ['unforced, forced, unforced', [false, true, false], 100],
  ] as const)('concurrent passes: %s', async (_name, forces, samplesInBlocks) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-tsdb-'));
    dirs.push(dir);
    const db = await mk(dir);
    const t = await db.tenant('t');
    const app = t.appender();
    const ref = app.ref(Labels.fromObject({ __name__: 'x' }));
    // 100 samples 30 s apart span 49.5 min (> 1.5 ranges): an unforced pass cuts the first 30 min
    // (60 samples); only a forced one also writes the incomplete second range.
    for (let i = 0; i < 100; i++) app.append(ref, i * 30_000, i);
    await app.commit();
    const passes = forces.map((f) => t.compact(f));
    const metas = (await Promise.all(passes)).flat();
    const unique = new Map(metas.map((m) => [m.ulid, m]));
    expect([...unique.values()].reduce((n, m) => n + m.stats.numSamples, 0)).toBe(samplesInBlocks);
    expect(t.head.numSeries).toBe(samplesInBlocks === 100 ? 0 : 1);
    expect((await read(db, 't', [new Matcher('=', '__name__', 'x')]))[0].t.length).toBe(100);
    await db.close();
  });
});
