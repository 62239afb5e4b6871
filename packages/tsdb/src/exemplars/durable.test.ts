/**
 * Exemplars are durable as samples are: logged in the WAL with Prometheus' exemplar record in the
 * commit that acknowledges them, replayed on start, and carried by the head snapshot.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { Labels, Matcher } from '@strata/model';
import { TSDB } from '../db.js';
import { decodeExemplars, encodeExemplars, FRAME_HEADER, RECORD_EXEMPLARS, type LoggedExemplar } from '../wal/records.js';
import { ExemplarStatus } from './store.js';

const dirs: string[] = [];
const dbs: TSDB[] = [];
afterEach(async () => {
  await Promise.all(dbs.splice(0).map((d) => d.close().catch(() => undefined)));
});
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

const HEAD = { outOfOrderWindowMs: 0, samplesPerChunk: 120, maxSeries: 0 };
const ALL = [[new Matcher('=~', '__name__', '.+')]];

async function open(dir: string, maxExemplars?: number): Promise<TSDB> {
  const db = await TSDB.open({
    dir,
    fsync: 'batch',
    head: HEAD,
    maxExemplars: maxExemplars === undefined ? undefined : () => maxExemplars,
  });
  dbs.push(db);
  return db;
}

function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-exemplars-'));
  dirs.push(d);
  return d;
}

/** One request: a sample (when given) and exemplars of one series. */
async function write(
  db: TSDB,
  labels: Labels,
  exemplars: [number, number, string][],
  sample?: [number, number],
  storeSize = 10,
): Promise<ExemplarStatus[]> {
  const t = await db.tenant('t');
  // As the writer does, from the tenant's limit.
  t.exemplars.resize(storeSize);
  const app = t.appender();
  const ref = app.ref(labels);
  if (sample) app.append(ref, sample[0], sample[1]);
  const out = exemplars.map(([ts, v, trace]) => app.appendExemplar(ref, { labels: ['trace_id', trace], value: v, timestamp: ts }));
  await app.commit();
  return out;
}

function held(db: TSDB): string[] {
  const out: string[] = [];
  db.openTenant('t')!.exemplars.forEachHeld((l, e) => out.push(`${l.toString()} ${e.labels.join('=')} ${e.value}@${e.timestamp}`));
  return out;
}

describe('the exemplar WAL record', () => {
  test("is Prometheus' body: base ref and time big-endian, zigzag deltas, big-endian value bits, labels", () => {
    const rec = encodeExemplars([
      { ref: 5, t: 1000, value: 1.5, labels: ['trace_id', 'ab'] },
      { ref: 3, t: 900, value: 2, labels: [] },
    ]);
    expect(rec[FRAME_HEADER]).toBe(RECORD_EXEMPLARS);
    expect(RECORD_EXEMPLARS).toBe(4);
    const body = rec.subarray(FRAME_HEADER + 1).toString('hex');
    expect(body).toBe(
      [
        '0000000000000005',
        '00000000000003e8',
        // ref +0, time +0, 1.5, one label: trace_id="ab"
        '00',
        '00',
        '3ff8000000000000',
        '01',
        '08' + Buffer.from('trace_id').toString('hex'),
        '02' + Buffer.from('ab').toString('hex'),
        // ref -2 (zigzag 3), time -100 (zigzag 199), 2, no labels
        '03',
        'c701',
        '4000000000000000',
        '00',
      ].join(''),
    );
  });

  test('round-trips (property)', () => {
    const exemplar = fc.record({
      ref: fc.integer({ min: 1, max: 2 ** 32 - 1 }),
      t: fc.integer({ min: -1e12, max: 4e12 }),
      value: fc.double({ noNaN: true }),
      labels: fc.array(fc.string({ unit: 'grapheme', maxLength: 20 }), { maxLength: 3 }).map((a) => a.flatMap((s) => ['k' + s, s])),
    });
    fc.assert(
      fc.property(fc.array(exemplar, { minLength: 1, maxLength: 20 }), (list: LoggedExemplar[]) => {
        const got = decodeExemplars(encodeExemplars(list).subarray(FRAME_HEADER + 1));
        expect(got).toEqual(list);
      }),
    );
  });

  test('a truncated record is refused, not misread', () => {
    const rec = encodeExemplars([{ ref: 1, t: 1, value: 1, labels: ['trace_id', 'abc'] }]).subarray(FRAME_HEADER + 1);
    // Cut right after the base ref and time, the record reads as holding none (as in Prometheus' format).
    expect(decodeExemplars(rec.subarray(0, 16))).toEqual([]);
    for (let n = 1; n < rec.length; n++) if (n !== 16) expect(() => decodeExemplars(rec.subarray(0, n))).toThrow(RangeError);
  });
});

describe('exemplars in the head', () => {
  const a = Labels.fromObject({ __name__: 'req_total', path: '/a' });
  const b = Labels.fromObject({ __name__: 'req_total', path: '/b' });

  test('are stored at commit, not before; a rolled back request leaves none', async () => {
    const db = await open(tmp());
    const t = await db.tenant('t');
    t.exemplars.resize(10);
    const app = t.appender();
    const ref = app.ref(a);
    expect(app.appendExemplar(ref, { labels: ['trace_id', 'x'], value: 1, timestamp: 10 })).toBe(ExemplarStatus.OK);
    expect(t.exemplars.count).toBe(0);
    app.rollback();
    await app.commit();
    expect(t.exemplars.count).toBe(0);
    // Within a request: older than the one staged is refused, the same again is a resend.
    expect(
      await write(db, a, [
        [20, 1, 'x'],
        [10, 1, 'y'],
        [20, 1, 'x'],
        [30, 2, 'z'],
      ]),
    ).toEqual([ExemplarStatus.OK, ExemplarStatus.OUT_OF_ORDER, ExemplarStatus.DUPLICATE, ExemplarStatus.OK]);
    expect(t.exemplars.count).toBe(2);
    expect(await write(db, a, [[25, 1, 'w']])).toEqual([ExemplarStatus.OUT_OF_ORDER]);
  });

  test('survive a crash (WAL replay) and a clean restart (snapshot), in the store order', async () => {
    const dir = tmp();
    const db = await open(dir, 3);
    await write(db, a, [[1000, 1.5, 'a1']], [1000, 1], 3);
    // Exemplars alone (as Prometheus sends them, apart from samples) need only the series.
    await write(db, b, [[1100, 2, 'b1']], undefined, 3);
    await write(db, a, [[1200, 3, 'a2']], undefined, 3);
    const want = held(db);
    expect(want).toHaveLength(3);
    // No close: the next open replays the WAL.
    const crashed = await open(dir, 3);
    await crashed.tenant('t');
    expect(held(crashed)).toEqual(want);
    expect(
      crashed
        .openTenant('t')!
        .exemplars.select(-Infinity, Infinity, ALL)
        .map((s) => s.seriesLabels.toString()),
    ).toEqual([a.toString(), b.toString()]);
    await crashed.close();
    const restarted = await open(dir, 3);
    const t = await restarted.tenant('t');
    expect(t.replay.fromSnapshot).toBe(true);
    expect(held(restarted)).toEqual(want);
    // The store keeps its order through the snapshot: the next exemplar evicts the oldest.
    await write(restarted, b, [[1300, 4, 'b2']], undefined, 3);
    expect(held(restarted)[0]).toContain('b1');
  });

  test('read back at start fill a store of the tenant limit; 0 keeps none', async () => {
    const dir = tmp();
    const db = await open(dir);
    await write(
      db,
      a,
      Array.from({ length: 6 }, (_, i) => [i, i, `t${i}`]),
      [1, 1],
    );
    const small = await open(dir, 2);
    await small.tenant('t');
    expect(held(small).map((s) => s.split(' ')[1])).toEqual(['trace_id=t4', 'trace_id=t5']);
    const none = await open(dir, 0);
    await none.tenant('t');
    expect(none.openTenant('t')!.exemplars.count).toBe(0);
  });
});
