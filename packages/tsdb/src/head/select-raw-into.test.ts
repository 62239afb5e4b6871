/**
 * The head's selectRawInto (a select for a query worker, packed on the main thread): it gives way
 * to the event loop between series, so acknowledgements interleave with a large select, and
 * ingest appending to open chunks meanwhile never tears what was packed: every series decodes to
 * a clean prefix of what it holds, with at least the samples it had when the select began.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Labels, Matcher, RawPacker, setPaceSlice, unpackRaw } from '@strata/model';
import { TurnRecorder } from '../../test/packed-select.js';
import { TSDB } from '../db.js';
import { decodeRawSeries } from '../raw-decode.js';
import { Head } from './head.js';

const SERIES = 2_000;
const SAMPLES = 150;
const opts = { outOfOrderWindowMs: 3_600_000, samplesPerChunk: 120, maxSeries: 0 };

function filledHead(): Head {
  const head = new Head(opts);
  for (let i = 0; i < SERIES; i++) {
    const s = head.getOrCreate(Labels.fromObject({ __name__: 'm', i: String(i) }))!.series;
    // 150 samples: one closed chunk of 120 and an open one of 30, which the ingest below grows.
    for (let k = 0; k < SAMPLES; k++) head.apply(s, k * 1000 + 1000, 0, i + k);
    if (i % 100 === 0) head.apply(s, 500, 0, 7); // out of order
  }
  return head;
}

afterEach(() => setPaceSlice(5));

test('a large select yields between series, and samples appended meanwhile never tear an open chunk', async () => {
  const head = filledHead();
  const q = head.querier();
  const hints = { start: 0, end: Infinity };
  const before = new Map((await q.select([new Matcher('=', '__name__', 'm')], hints)).map((s) => [s.labels.key(), s.timestamps.length]));
  // Yield at every look at the clock: each turn of the event loop in between, ingest appends a
  // sample to a few hundred series, into their open chunks.
  setPaceSlice(0);
  let turns = 0;
  let t = (SAMPLES + 1) * 1000;
  let stop = false;
  const ingest = () => {
    if (stop) return;
    turns++;
    for (let i = 0; i < 300; i++)
      head.apply(head.getByLabels(Labels.fromObject({ __name__: 'm', i: String((turns * 300 + i) % SERIES) }))!, t, 0, 1);
    t += 1000;
    setImmediate(ingest);
  };
  setImmediate(ingest);
  const into = new RawPacker();
  await q.selectRawInto!([new Matcher('=', '__name__', 'm')], hints, into);
  stop = true;
  // It gave way many times: ingest ran between series, not only before and after.
  expect(turns).toBeGreaterThan(20);
  const raw = unpackRaw(into.finish());
  expect(raw).toHaveLength(SERIES);
  for (const r of raw) {
    const s = decodeRawSeries(r, hints.start, hints.end)!;
    expect(s.timestamps.length).toBeGreaterThanOrEqual(before.get(r.labels.key())!);
    for (let k = 1; k < s.timestamps.length; k++) if (!(s.timestamps[k] > s.timestamps[k - 1])) throw new Error(`${r.labels} torn at ${k}`);
  }
});

test('packed from the head equals the head select, out-of-order samples and series outside the range included', async () => {
  const head = filledHead();
  const q = head.querier();
  const ms = [new Matcher('=~', 'i', '1.*')];
  for (const hints of [
    { start: 0, end: Infinity },
    { start: 400, end: 600 }, // only the out-of-order samples
    { start: 100_000, end: 130_000 }, // the closed chunk's end and the open one
    { start: 1e9, end: 2e9 }, // nothing
  ]) {
    const into = new RawPacker();
    await q.selectRawInto!(ms, hints, into);
    const got = unpackRaw(into.finish())
      .map((r) => decodeRawSeries(r, hints.start, hints.end))
      .filter((s) => s !== undefined)
      .sort((a, b) => Labels.compare(a.labels, b.labels))
      .map((s) => [s.labels.key(), [...s.timestamps], [...s.values]]);
    const want = (await q.select(ms, hints)).map((s) => [s.labels.key(), [...s.timestamps], [...s.values]]);
    expect(got).toEqual(want);
  }
});

test('a worker select through the TSDB querier (tombstones on, as in strata all) packs at most 16 series per turn of the event loop, into arrays allocated once', async () => {
  // The bound is in work, not in milliseconds: pace() looks at the clock every 16th call, and with
  // a slice of 0 every look yields, so no turn may pack more than 16 series whatever the data size.
  // Any stretch that walks all series at once (a store packed from selectRaw's objects yields only
  // every 4096 series) fails this, on any machine, however loaded.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-slices-'));
  const db = await TSDB.open({ dir, fsync: 'none', head: { ...opts, outOfOrderWindowMs: 0 }, tombstones: () => [] });
  try {
    const app = (await db.tenant('t')).appender();
    const n = 2000;
    for (let i = 0; i < n; i++) {
      const ref = app.ref(Labels.fromObject({ __name__: 'm', i: String(i) }));
      // A closed chunk and an open one per series.
      for (let k = 0; k < 130; k++) app.append(ref, k * 1000, k);
    }
    await app.commit();
    setPaceSlice(0);
    const into = new TurnRecorder();
    let stop = false;
    const tick = () => {
      into.turn++;
      if (!stop) setImmediate(tick);
    };
    setImmediate(tick);
    await (await db.tenant('t')).querier().selectRawInto!([new Matcher('=~', '__name__', '.+')], { start: 0, end: Infinity }, into);
    stop = true;
    const counts = [...into.perTurn.values()];
    expect(into.objects).toBe(0);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(n);
    expect(Math.max(...counts)).toBeLessThanOrEqual(16);
    expect(counts.length).toBeGreaterThanOrEqual(n / 16);
    const packed = into.finish();
    expect(unpackRaw(packed)).toHaveLength(n);
    // Each array was allocated once at its final size (sized before packing): no outgrown buffers
    // left behind for the GC, only the open chunks' headroom.
    expect(packed.pieces).toHaveLength(1);
    const [piece] = packed.pieces;
    expect(piece.bytes.buffer.byteLength).toBeLessThanOrEqual(piece.bytes.byteLength + 32 * n);
    expect(piece.labels.units.buffer.byteLength).toBe(piece.labels.units.byteLength);
    expect(piece.layout.buffer.byteLength).toBe(piece.layout.byteLength);
  } finally {
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);

test("a packed select charges the query's budget as select and selectRaw do, before packing", async () => {
  const head = filledHead();
  const q = head.querier();
  const charged = async (
    run: (hints: {
      start: number;
      end: number;
      budget: { series(n: number): void; chunks(n: number): void; bytes(n: number): void };
    }) => Promise<unknown>,
  ) => {
    const got = { series: 0, bytes: 0 };
    await run({
      start: 0,
      end: 50_000,
      budget: { series: (n) => (got.series += n), chunks: () => {}, bytes: (n) => (got.bytes += n) },
    });
    return got;
  };
  const m = [new Matcher('=', '__name__', 'm')];
  const bySelect = await charged((h) => q.select(m, h));
  expect(bySelect.series).toBe(SERIES);
  expect(await charged((h) => q.selectRaw!(m, h))).toEqual(bySelect);
  expect(await charged((h) => q.selectRawInto!(m, h, new RawPacker()))).toEqual(bySelect);
  // A budget that refuses stops the select before anything is packed.
  const into = new RawPacker();
  const refuse = () => {
    throw new Error('over the limit');
  };
  await expect(
    q.selectRawInto!(m, { start: 0, end: 50_000, budget: { series: refuse, chunks: () => {}, bytes: () => {} } }, into),
  ).rejects.toThrow('over the limit');
});
