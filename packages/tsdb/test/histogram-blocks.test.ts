/**
 * Native histograms through blocks: samples ingested through a DB's appender (WAL and head), the
 * head cut into blocks, the DB reopened, blocks compacted (RF copies and their union): every
 * read answers what the head answered before the cut. Histograms of every kind are drawn at
 * random: integer and float counters with new buckets, resets and schema changes, gauges, custom
 * buckets, staleness markers, and series switching between floats and histograms.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { CounterResetHint, Labels, Matcher, type Series } from '@strata/model';
import {
  AppendStatus,
  BlockReader,
  BlockSetQuerier,
  compactBlocks,
  readSeriesInOrder,
  STALE_NAN,
  TSDB,
  type BlockMeta,
  type HistogramSample,
} from '@strata/tsdb';
import { compactHead } from '../src/compact.js';
import { packedSelect } from './packed-select.js';

const dirs: string[] = [];
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-hblocks-'));
  dirs.push(d);
  return d;
}
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

const RANGE = 30 * 60_000;
const T0 = 1_700_000_000_000 - (1_700_000_000_000 % RANGE);
const ALL = [new Matcher('=~', '__name__', '.+')];
const BOUNDS = [0.1, 0.5, 1, 5];

type Kind = 'int' | 'float' | 'gauge' | 'nhcb' | 'mixed';

/** One drawn sample: a float value, or a histogram as absolute counts by bucket index. */
type DrawnHistogram = { t: number; schema: number; counts: [number, number][]; neg: [number, number][]; zero: number; reset: boolean };
type Drawn = { t: number; float: number } | { t: number; stale: true } | DrawnHistogram;

/** The sample as the appender takes it (integer histograms carry bucket deltas). */
function sampleOf(d: DrawnHistogram, float: boolean, custom: boolean): HistogramSample {
  const side = (pairs: [number, number][]) => {
    const idx = pairs.map((p) => p[0]);
    const spans: { offset: number; length: number }[] = [];
    let prevEnd = 0;
    for (const i of idx) {
      const last = spans[spans.length - 1];
      if (last && i === prevEnd) last.length++;
      else spans.push({ offset: spans.length === 0 ? i : i - prevEnd, length: 1 });
      prevEnd = i + 1;
    }
    const abs = pairs.map((p) => p[1]);
    return { spans, buckets: float ? abs : abs.map((c, k) => c - (k > 0 ? abs[k - 1] : 0)), total: abs.reduce((a, b) => a + b, 0) };
  };
  const pos = side(d.counts);
  const neg = side(custom ? [] : d.neg);
  const count = pos.total + neg.total + (custom ? 0 : d.zero);
  return {
    schema: custom ? -53 : d.schema,
    zeroThreshold: custom ? 0 : 0.001,
    zeroCount: custom ? 0 : d.zero,
    count,
    sum: count * 1.25,
    positiveSpans: pos.spans,
    positiveBuckets: pos.buckets,
    negativeSpans: neg.spans,
    negativeBuckets: neg.buckets,
    customValues: custom ? BOUNDS : [],
  };
}

const STALE: HistogramSample = {
  schema: 0,
  zeroThreshold: 0,
  zeroCount: 0,
  count: 0,
  sum: STALE_NAN,
  positiveSpans: [],
  positiveBuckets: [],
  negativeSpans: [],
  negativeBuckets: [],
  customValues: [],
};

/** A series' samples over about 2.5 h: a random walk of bucket counts (counters only grow, unless reset). */
function seriesArb(kind: Kind): fc.Arbitrary<Drawn[]> {
  const step = fc.record({
    dt: fc.integer({ min: 15_000, max: 120_000 }),
    op: fc.constantFrom('grow', 'grow', 'grow', 'grow', 'new', 'reset', 'schema', 'stale', 'float'),
    bucket: fc.integer({ min: kind === 'nhcb' ? 0 : -4, max: kind === 'nhcb' ? 4 : 4 }),
    by: fc.integer({ min: 1, max: 9 }),
    value: fc.double({ min: -1e6, max: 1e6, noNaN: true }),
  });
  return fc.array(step, { minLength: 60, maxLength: 220 }).map((steps) => {
    const out: Drawn[] = [];
    const counts = new Map<number, number>([[kind === 'nhcb' ? 1 : 0, 1]]);
    const neg = new Map<number, number>();
    let zero = 0;
    let schema = 0;
    let t = T0;
    for (const s of steps) {
      t += s.dt;
      let reset = false;
      if (s.op === 'float') {
        if (kind === 'mixed') out.push({ t, float: s.value });
        continue;
      }
      if (s.op === 'stale') {
        out.push({ t, stale: true });
        continue;
      }
      if (s.op === 'grow' || s.op === 'new') {
        const k = s.op === 'new' ? s.bucket : ([...counts.keys()][s.by % Math.max(1, counts.size)] ?? s.bucket);
        if (kind === 'gauge' && s.by % 3 === 0 && counts.has(k)) counts.set(k, Math.max(0, counts.get(k)! - s.by));
        else counts.set(k, (counts.get(k) ?? 0) + s.by);
        if (kind !== 'nhcb' && s.by % 4 === 0) neg.set(-s.bucket, (neg.get(-s.bucket) ?? 0) + 1);
        if (kind !== 'nhcb' && s.by % 5 === 0) zero += 1;
      } else if (s.op === 'reset') {
        counts.clear();
        neg.clear();
        zero = 0;
        counts.set(kind === 'nhcb' ? 0 : s.bucket, s.by);
        reset = kind !== 'gauge';
      } else if (s.op === 'schema' && kind !== 'nhcb') {
        // A coarser schema merges neighbouring buckets: keep counts as drawn, a new layout.
        schema = schema === 0 ? 1 : schema - 1;
      }
      const sorted = (m: Map<number, number>) => [...m.entries()].sort((a, b) => a[0] - b[0]);
      out.push({ t, schema, counts: sorted(counts), neg: sorted(neg), zero, reset });
    }
    return out;
  });
}

const caseArb = fc.record({
  int: seriesArb('int'),
  float: seriesArb('float'),
  gauge: seriesArb('gauge'),
  nhcb: seriesArb('nhcb'),
  mixed: seriesArb('mixed'),
});

/**
 * Everything a read gives, histograms with their counter-reset hints and layouts. Except for the
 * series mixing floats and histograms: a commit applies its floats before its histograms, so the
 * head's float and histogram chunks of such a series overlap in time and the cut re-encodes
 * them; a histogram chunk split by a float then starts at a sample that read "not a reset" in the
 * head and reads "unknown" in the block (as in a Prometheus block, where the float had cut the
 * chunk). Both are right; PromQL then works the reset out itself.
 */
function dump(series: readonly Series[]): string[] {
  const out: string[] = [];
  const bits = new Uint32Array(2);
  const f = new Float64Array(bits.buffer);
  for (const s of series) {
    for (let i = 0; i < s.timestamps.length; i++) {
      const h = s.histograms?.[i];
      f[0] = s.values[i];
      const hint = h && s.labels.get('kind') !== 'mixed' ? ` hint=${h.counterResetHint}` : '';
      out.push(
        `${s.labels.toString()} ${s.timestamps[i]} ` +
          (h
            ? `${h.toString().replace(/ counter_reset_hint:\w+/, '')}${hint} pos=${JSON.stringify(h.positiveSpans)} neg=${JSON.stringify(h.negativeSpans)}`
            : `v=${bits[1].toString(16)}:${bits[0].toString(16)}`),
      );
    }
  }
  return out;
}

/** A dumped sample without its counter-reset hint: merged chunks may begin elsewhere, where "not a reset" reads "unknown". */
const noHint = (l: string) => l.replace(/ hint=\d/, '');

/** Appends the drawn samples in time order across series, a few per commit (as scrapes arrive); every one must be accepted. */
async function ingest(db: TSDB, c: Record<Kind, Drawn[]>, skip = (_k: Kind, _i: number) => false): Promise<void> {
  const t = await db.tenant('t');
  const v = new Float64Array(1);
  const events: { kind: Kind; i: number; d: Drawn }[] = [];
  for (const kind of Object.keys(c) as Kind[]) c[kind].forEach((d, i) => skip(kind, i) || events.push({ kind, i, d }));
  events.sort((a, b) => a.d.t - b.d.t);
  for (let e = 0; e < events.length; e += 16) {
    const app = t.appender();
    for (const { kind, i, d } of events.slice(e, e + 16)) {
      const ref = app.ref(Labels.fromObject({ __name__: `h_${kind}`, kind }));
      let st: AppendStatus;
      if ('float' in d) {
        v[0] = d.float;
        st = app.append(ref, d.t, v[0]);
      } else if ('stale' in d) st = app.appendHistogram(ref, d.t, STALE, kind === 'float', CounterResetHint.Unknown);
      else {
        const float = kind === 'float' || (kind === 'mixed' && i % 2 === 0);
        const hint = kind === 'gauge' ? CounterResetHint.Gauge : d.reset ? CounterResetHint.CounterReset : CounterResetHint.Unknown;
        st = app.appendHistogram(ref, d.t, sampleOf(d, float, kind === 'nhcb'), float, hint);
      }
      expect(st).toBe(AppendStatus.OK);
    }
    await app.commit();
  }
}

const open = (dir: string) =>
  TSDB.open({ dir, fsync: 'none', blockDurationMs: RANGE, head: { outOfOrderWindowMs: 0, samplesPerChunk: 120, maxSeries: 0 } });

async function select(db: TSDB): Promise<string[]> {
  return dump(await (await db.tenant('t')).querier().select(ALL, { start: -Infinity, end: Infinity }));
}

async function blocksOf(db: TSDB): Promise<BlockReader[]> {
  return (await db.tenant('t')).blocks;
}

describe('native histograms in blocks', () => {
  test('head cut, reopen and compaction answer what the head answered (property)', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const dir = tmp();
        const db = await open(dir);
        try {
          await ingest(db, c);
          const before = await select(db);
          expect(before.filter((l) => l.includes('pos=')).length).toBeGreaterThan(0);
          const metas = await db.compactAll(true);
          expect(metas.length).toBeGreaterThan(0);
          const t = await db.tenant('t');
          const bdir = t.blocksDir;
          expect(t.head.stats().numSeries).toBe(0);
          // Everything is in blocks now: the DB's answer is theirs.
          expect(await select(db)).toEqual(before);
          // Each block alone, and the block set, read as the head did.
          const blocks = await blocksOf(db);
          const q = new BlockSetQuerier(blocks);
          expect(dump(await q.select(ALL, { start: -Infinity, end: Infinity }))).toEqual(before);
          // Packed for a query worker (each block a source, merged by the reader), as select answers.
          expect(dump(await packedSelect(q, ALL, { start: -Infinity, end: Infinity }))).toEqual(before);
          for (const b of blocks) {
            const lo = b.meta.minTime;
            const hi = b.meta.maxTime - 1;
            const want = before.filter((l) => {
              const ts = Number(l.split(' ')[1]);
              return ts >= lo && ts <= hi;
            });
            expect(dump(await b.select(ALL, { start: lo, end: hi }))).toEqual(want);
            // Stats count histogram samples too.
            let n = 0;
            for await (const s of readSeriesInOrder(b)) for (const ch of s.chunks) n += (ch.data[0] << 8) | ch.data[1];
            expect(b.meta.stats.numSamples).toBe(n);
          }
          await db.close();
          const again = await open(dir);
          try {
            expect(await select(again)).toEqual(before);
          } finally {
            await again.close();
          }
          // Vertical compaction of RF copies (the same block twice) and of the whole range.
          const ids = metas.map((m: BlockMeta) => path.join(bdir, m.ulid));
          const out = tmp();
          const copies = await compactBlocks([ids[0], ids[0]], out, { samplesPerChunk: 120 });
          expect(copies.stats.identicalChunksDropped).toBe(copies.stats.chunksPassedThrough);
          const whole = await compactBlocks(ids, out, { samplesPerChunk: 120 });
          const r = await BlockReader.openDir(path.join(out, whole.meta.ulid));
          try {
            expect(dump(await r.select(ALL, { start: -Infinity, end: Infinity }))).toEqual(before);
          } finally {
            await r.close();
          }
          // A replica that missed some samples: its chunks differ, so the merge decodes and
          // re-encodes them; the union is every sample once, without conflicts.
          const rdir = tmp();
          const replica = await open(rdir);
          await ingest(replica, c, (_k, i) => i % 7 === 3);
          const rmetas = await replica.compactAll(true);
          const rblocks = (await replica.tenant('t')).blocksDir;
          await replica.close();
          const union = await compactBlocks([...ids, ...rmetas.map((m) => path.join(rblocks, m.ulid))], out, { samplesPerChunk: 120 });
          expect(union.stats.conflictingSamples).toBe(0);
          const u = await BlockReader.openDir(path.join(out, union.meta.ulid));
          try {
            const got = dump(await u.select(ALL, { start: -Infinity, end: Infinity }));
            expect(got.map(noHint)).toEqual(before.map(noHint));
          } finally {
            await u.close();
          }
        } finally {
          await db.close().catch(() => undefined);
        }
      }),
      { numRuns: 10 },
    );
  }, 240_000);
});

test('a histogram committed while its range is written as a block stays in the head and goes into a later block', async () => {
  const dir = tmp();
  const db = await open(dir);
  try {
    const t = await db.tenant('t');
    const quiet = Labels.fromObject({ __name__: 'late_h', kind: 'int' });
    const busy = Labels.fromObject({ __name__: 'busy', kind: 'float' });
    const h = (n: number) => sampleOf({ t: 0, schema: 0, counts: [[0, n]], neg: [], zero: 0, reset: false }, false, false);
    // Histograms for the first 10 minutes only; floats for 2 h, so the first range can be cut.
    for (let i = 0; i < 480; i++) {
      const app = t.appender();
      if (i < 40)
        expect(app.appendHistogram(app.ref(quiet), T0 + i * 15_000, h(i + 1), false, CounterResetHint.Unknown)).toBe(AppendStatus.OK);
      expect(app.append(app.ref(busy), T0 + i * 15_000, i)).toBe(AppendStatus.OK);
      await app.commit();
    }
    const count = async () => (await select(db)).filter((l) => l.startsWith('late_h')).length;
    expect(await count()).toBe(40);
    // The cut copies the oldest range, then awaits the block write; a commit accepted earlier
    // applies a histogram inside that range in the gap (as a late WAL fsync would).
    const writing = compactHead(t.head, {
      blocksDir: t.blocksDir,
      rangeMs: RANGE,
      samplesPerChunk: 120,
      externalLabels: {},
      publish: async (m) => void t.blocks.push(await BlockReader.openDir(path.join(t.blocksDir, m.ulid))),
    });
    const s = t.head.getByLabels(quiet)!;
    const late = s.hist!.maxT + 1_000;
    expect(late).toBeLessThan(T0 + RANGE);
    expect(t.head.applyHistogramLogged(s, late, h(1_000), false, CounterResetHint.Unknown)).toBe(true);
    const metas = await writing;
    expect(metas[0].minTime).toBe(T0);
    // The late histogram is not in the first block, so its chunk stayed in the head and went
    // into the extra block the same pass wrote for the range: nothing acknowledged is lost.
    expect(metas.some((m) => m !== metas[0] && m.minTime === T0)).toBe(true);
    await t.compact(true);
    expect(await count()).toBe(41);
    expect((await select(db)).some((l) => l.startsWith(`late_h{kind="int"} ${late} `))).toBe(true);
  } finally {
    await db.close();
  }
});
