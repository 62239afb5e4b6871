/**
 * BlockSetQuerier, which decodes a series' chunks from all blocks into one pair of arrays,
 * against the path it replaced (MergeQuerier over the block readers, merging by timestamp):
 * identical series and bit-identical samples for random histories of disjoint and overlapping
 * blocks, random ranges and matchers. Also: chunks outside the range are not read at all.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { Labels, Matcher, MergeQuerier, setPaceSlice, unpackRaw, type Series } from '@strata/model';
import { BlockReader, BlockSetQuerier, SegmentCache, STALE_NAN, writeBlock, XOREncoder, type BlockSeries } from '@strata/tsdb';
import { packedSelect, TurnRecorder } from './packed-select.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

const RANGE = 2 * 3600_000;
const T0 = 1_700_000_000_000 - (1_700_000_000_000 % RANGE);
const STEP = 15_000;
const NAMES = ['a', 'b', 'c', 'd', 'e', 'f'];

/** Samples of series `s` in [from, to), chunked by 120 as the head cuts them; a stale marker now and then. */
function seriesIn(s: number, from: number, to: number, salt: number): BlockSeries {
  const chunks: BlockSeries['chunks'] = [];
  let enc = new XOREncoder();
  let first = 0;
  let last = 0;
  const flush = () => {
    if (enc.numSamples > 0) chunks.push({ minT: first, maxT: last, data: enc.bytes().slice() });
    enc = new XOREncoder();
  };
  for (let t = from + ((s * 1000 + salt) % STEP); t < to; t += STEP) {
    if (enc.numSamples === 0) first = t;
    enc.append(t, (t / STEP) % 97 === s ? STALE_NAN : Math.floor(t / STEP) * (s + 1) + salt);
    last = t;
    if (enc.numSamples === 120) flush();
  }
  flush();
  return { labels: Labels.fromObject({ __name__: 'm', s: NAMES[s], parity: String(s % 2) }), chunks };
}

interface BlockSpec {
  /** Offset of the block in ranges from T0, and its length in ranges. */
  at: number;
  len: number;
  /** Which series the block holds (bit mask over NAMES). */
  mask: number;
}

async function writeBlocks(specs: BlockSpec[]): Promise<BlockReader[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-blockset-'));
  dirs.push(dir);
  const cache = new SegmentCache(64 << 20);
  const readers: BlockReader[] = [];
  for (const [i, b] of specs.entries()) {
    const from = T0 + b.at * RANGE;
    const to = from + b.len * RANGE;
    const series = NAMES.map((_, s) => s)
      .filter((s) => b.mask & (1 << s))
      .map((s) => seriesIn(s, from, to, i * 7));
    if (series.every((s) => s.chunks.length === 0)) continue;
    const meta = await writeBlock(dir, series, { minTime: from, maxTime: to });
    readers.push(await BlockReader.openDir(path.join(dir, meta.ulid), cache));
  }
  return readers;
}

function plain(series: Series[]) {
  return series.map((s) => ({
    labels: s.labels.key(),
    ts: Array.from(s.timestamps),
    bits: Array.from(new Uint32Array(s.values.buffer, s.values.byteOffset, s.values.length * 2)),
  }));
}

const blockSpec = fc.record({
  at: fc.integer({ min: 0, max: 5 }),
  len: fc.integer({ min: 1, max: 2 }),
  mask: fc.integer({ min: 1, max: 63 }),
});
const matchers = fc.constantFrom(
  [new Matcher('=', '__name__', 'm')],
  [new Matcher('=', 'parity', '1')],
  [new Matcher('=~', 's', 'a|c|f')],
  [new Matcher('!=', 's', 'b')],
);

describe('BlockSetQuerier', () => {
  test('answers exactly as MergeQuerier over the same blocks (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          // Successive, non-overlapping blocks: the fast path.
          fc
            .array(fc.integer({ min: 1, max: 63 }), { minLength: 1, maxLength: 5 })
            .map((masks) => masks.map((mask, i) => ({ at: i, len: 1, mask }))),
          // Anything, overlaps included: the merge path.
          fc.array(blockSpec, { minLength: 1, maxLength: 4 }),
        ),
        matchers,
        fc.integer({ min: -RANGE, max: 6 * RANGE }),
        fc.integer({ min: 0, max: 7 * RANGE }),
        async (specs, ms, startOff, span) => {
          const readers = await writeBlocks(specs);
          const hints = { start: T0 + startOff, end: T0 + startOff + span };
          const want = await new MergeQuerier(readers).select(ms, hints);
          const got = await new BlockSetQuerier(readers).select(ms, hints);
          expect(plain(got)).toEqual(plain(want));
          // Packed for a query worker: each block a source, equal label sets merged by the reader.
          expect(plain(await packedSelect(new BlockSetQuerier(readers), ms, hints))).toEqual(plain(want));
          for (const r of readers) await r.close();
        },
      ),
      { numRuns: 40 },
    );
  });

  test('chunks outside the query range are neither read nor decoded', async () => {
    const readers = await writeBlocks([0, 1, 2, 3].map((at) => ({ at, len: 1, mask: 63 })));
    const charged: number[] = [];
    const budget = { series: () => undefined, chunks: (n: number) => void charged.push(n), bytes: () => undefined };
    // 20 minutes inside the third block: one 30-minute chunk per series, or two where it straddles.
    const start = T0 + 2 * RANGE + 40 * 60_000;
    const got = await new BlockSetQuerier(readers).select([new Matcher('=', '__name__', 'm')], { start, end: start + 20 * 60_000, budget });
    expect(got).toHaveLength(NAMES.length);
    for (const s of got) {
      expect(s.timestamps[0]).toBeGreaterThanOrEqual(start);
      expect(s.timestamps[s.timestamps.length - 1]).toBeLessThanOrEqual(start + 20 * 60_000);
    }
    const chunks = charged.reduce((a, b) => a + b, 0);
    expect(chunks).toBeGreaterThanOrEqual(NAMES.length);
    expect(chunks).toBeLessThanOrEqual(2 * NAMES.length);
    for (const r of readers) await r.close();
  });

  test("a packed select gives way to the event loop between series and builds no RawSeries: at most 16 series per turn, whatever the blocks' size", async () => {
    // 5,000 series in each of three blocks (one read of their index entries and chunks each, in
    // batches); with a slice of 0 every look at the clock (each 16th pace()) yields.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-blockset-pace-'));
    dirs.push(dir);
    const n = 5000;
    const readers: BlockReader[] = [];
    for (let b = 0; b < 3; b++) {
      const from = T0 + b * RANGE;
      const series = Array.from({ length: n }, (_, i) => {
        const enc = new XOREncoder();
        for (let k = 0; k < 4; k++) enc.append(from + k * STEP, i + k);
        return {
          labels: Labels.fromObject({ __name__: 'big', i: String(i) }),
          chunks: [{ minT: from, maxT: from + 3 * STEP, data: enc.bytes().slice() }],
        };
      });
      const meta = await writeBlock(dir, series, { minTime: from, maxTime: from + RANGE });
      readers.push(await BlockReader.openDir(path.join(dir, meta.ulid)));
    }
    const q = new BlockSetQuerier(readers);
    const ms = [new Matcher('=', '__name__', 'big')];
    const hints = { start: T0, end: T0 + 3 * RANGE };
    const into = new TurnRecorder();
    let stop = false;
    const tick = () => {
      into.turn++;
      if (!stop) setImmediate(tick);
    };
    setPaceSlice(0);
    try {
      setImmediate(tick);
      await q.selectRawInto(ms, hints, into);
    } finally {
      stop = true;
      setPaceSlice(5);
    }
    const counts = [...into.perTurn.values()];
    expect(into.objects).toBe(0);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(3 * n);
    expect(Math.max(...counts)).toBeLessThanOrEqual(16);
    const got = unpackRaw(into.finish());
    expect(got).toHaveLength(n);
    // Every series has its three blocks' chunks, in block order, as select() reads them.
    expect(plain(await packedSelect(q, ms, hints))).toEqual(plain(await q.select(ms, hints)));
    for (const r of readers) await r.close();
  }, 60_000);
});
