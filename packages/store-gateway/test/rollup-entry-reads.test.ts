/**
 * A query over rollups fetches, of each aggregate chunk, the entries its function reads and of the
 * others only what lies between two of those at most ENTRY_MERGE_GAP apart (one request instead
 * of two): the bucket's ranged reads of chunk files are recorded and compared with where each
 * entry of each chunk lies (worked out here from the segment files themselves). A rate reads no
 * count, sum, min, max or sketch byte outside such gaps; a quantile no min, max or counter byte.
 * Answers equal those of the same block read whole (without its entries table), on a local folder
 * and on the S3 server.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Labels, Matcher, type Series, mulberry32 } from '@strata/model';
import { bucketFromConfig, FilesystemBucket, type Bucket } from '@strata/objstore';
import {
  AGGR_ENTRIES_FILE,
  BlockReader,
  downsampleBlocks,
  ENTRY_MERGE_GAP,
  RES_5M,
  writeBlock,
  XOREncoder,
  type BlockSeries,
} from '@strata/tsdb';
import { StoreGateway } from '../src/index.js';
import { gatewayTestOptions } from './gateway-options.js';
import { startS3Server, type S3Server } from '../../objstore/test/s3-server.js';

const dirs: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-sg-entries-'));
  dirs.push(d);
  return d;
};
let s3: S3Server | undefined;
afterAll(async () => {
  dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true }));
  await s3?.close();
});

const DAY = 24 * 3600_000;
const T0 = 20_000 * DAY;
const DAYS = 3;
const SCRAPE = 30_000;
const NAMES = ['count', 'sum', 'min', 'max', 'counter', 'sketches'] as const;
type Aggr = (typeof NAMES)[number];

/**
 * Per counter, its increment per scrape. How far apart two chunks' counter entries lie is the size
 * of the later chunk's count, sum, min and max, which grows with how much the counter moves:
 * about 6 KiB, 2.4 KiB, 1.8 KiB and 0.4 KiB here, on both sides of ENTRY_MERGE_GAP.
 */
const INCREMENTS: ((r: () => number) => number)[] = [
  (r) => Math.round(r() * 1000) / 10, // busy, fractional
  (r) => Math.round(r() * 100), // whole numbers
  () => 1, // steady
  () => 0, // idle (an error count that never moves)
];

/** Three days of 4 counters (no sketches: named _total) and 4 latency gauges (with sketches). */
function dataset(): BlockSeries[] {
  const out: BlockSeries[] = [];
  for (let s = 0; s < 8; s++) {
    const r = mulberry32(s + 1);
    const counter = s < 4;
    const chunks: BlockSeries['chunks'] = [];
    let total = 0;
    for (let from = T0; from < T0 + DAYS * DAY; from += 120 * SCRAPE) {
      const e = new XOREncoder();
      for (let i = 0; i < 120; i++) {
        if (counter) total += INCREMENTS[s](r);
        e.append(from + 7_000 + i * SCRAPE, counter ? total : 0.05 * Math.exp(2 * r()));
      }
      chunks.push({ minT: from + 7_000, maxT: from + 7_000 + 119 * SCRAPE, data: e.bytes() });
    }
    out.push({ labels: Labels.fromObject({ __name__: counter ? 'req_total' : 'latency_seconds', s: String(s) }), chunks });
  }
  return out;
}

/** Every entry of every chunk of a rollup block: the segment file and the bytes [from, to) of its encoding byte and data. */
async function entryRanges(blockDir: string): Promise<{ seg: string; aggr: Aggr; series: string; from: number; to: number }[]> {
  const r = await BlockReader.openDir(blockDir);
  const out: { seg: string; aggr: Aggr; series: string; from: number; to: number }[] = [];
  try {
    for (const s of await r.index.seriesMany(await r.index.postings('', ''))) {
      for (const c of s.chunks) {
        const seg = String(Math.floor(c.ref / 2 ** 32) + 1).padStart(6, '0');
        const file = fs.readFileSync(path.join(blockDir, 'chunks', seg));
        let at = c.ref % 2 ** 32;
        const uvarint = () => {
          let v = 0;
          for (let shift = 1; ; shift *= 128) {
            const b = file[at++];
            v += (b & 0x7f) * shift;
            if (b < 0x80) return v;
          }
        };
        const end = uvarint() + at + 1;
        expect(file[at++]).toBe(0xff);
        for (let e = 0; at < end; e++) {
          const len = uvarint();
          if (len > 0) out.push({ seg, aggr: NAMES[e], series: s.labels.get('__name__'), from: at, to: at + 1 + len });
          at += len > 0 ? 1 + len : 0;
        }
      }
    }
  } finally {
    await r.close();
  }
  return out;
}

/** The chunk file byte ranges a bucket was asked for. */
function recording(inner: Bucket): Bucket & { reads: { seg: string; from: number; to: number }[] } {
  const b = Object.create(inner) as Bucket & { reads: { seg: string; from: number; to: number }[] };
  b.reads = [];
  b.getRange = async (name, offset, length) => {
    const buf = await inner.getRange(name, offset, length);
    const m = /\/chunks\/(\d{6})$/.exec(name);
    if (m) b.reads.push({ seg: m[1], from: offset, to: offset + buf.length });
    return buf;
  };
  return b;
}

const flat = (ss: Series[]) =>
  ss.map((s) => ({ l: s.labels.key(), t: [...s.timestamps], v: [...s.values], n: s.rollup && [...s.rollup.counts] }));

async function upload(bucket: Bucket, localDir: string, prefix: string): Promise<void> {
  const walk = async (rel: string): Promise<void> => {
    for (const e of fs.readdirSync(path.join(localDir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(r);
      else await bucket.upload(prefix + r, fs.readFileSync(path.join(localDir, r)));
    }
  };
  await walk('');
}

describe.each(['filesystem', 's3'] as const)('rollup entry reads over a %s bucket', (kind) => {
  let bucket: Bucket;
  let rollupDir: string;
  let entries: Awaited<ReturnType<typeof entryRanges>>;
  beforeAll(async () => {
    const local = tmp();
    const raw = await writeBlock(local, dataset(), { minTime: T0, maxTime: T0 + DAYS * DAY });
    const rawReader = await BlockReader.openDir(path.join(local, raw.ulid));
    const rolled = await downsampleBlocks([rawReader], local, RES_5M);
    await rawReader.close();
    rollupDir = path.join(local, rolled.ulid);
    expect(fs.existsSync(path.join(rollupDir, AGGR_ENTRIES_FILE))).toBe(true);
    entries = await entryRanges(rollupDir);
    if (kind === 's3') {
      s3 ??= await startS3Server('strata');
      bucket = bucketFromConfig(
        `type: S3\nconfig:\n  bucket: strata\n  endpoint: 127.0.0.1:${s3.port}\n  insecure: true\n  access_key: S3RVER\n  secret_key: S3RVER\n  prefix: entries-${Date.now()}\n`,
      );
    } else bucket = new FilesystemBucket(tmp());
    await upload(bucket, rollupDir, `team-a/${rolled.ulid}/`);
  });

  /** The same rollup block without its entries table: every chunk read whole. */
  async function wholeAnswer(matchers: Matcher[], hints: object): Promise<Series[]> {
    const copy = tmp();
    fs.cpSync(rollupDir, copy, { recursive: true });
    fs.rmSync(path.join(copy, AGGR_ENTRIES_FILE));
    const r = await BlockReader.openDir(copy);
    try {
      return await r.select(matchers, { start: T0, end: T0 + DAYS * DAY, maxResolution: RES_5M, ...hints });
    } finally {
      await r.close();
    }
  }

  /** The needed entries' ranges merged as the reader must merge them: one per run of entries at most ENTRY_MERGE_GAP apart. */
  function mergedRuns(needed: { seg: string; from: number; to: number }[]): { seg: string; from: number; to: number; n: number }[] {
    const sorted = [...needed].sort((a, b) => a.seg.localeCompare(b.seg) || a.from - b.from);
    const runs: { seg: string; from: number; to: number; n: number }[] = [];
    for (const e of sorted) {
      const last = runs[runs.length - 1];
      if (last && last.seg === e.seg && e.from - last.to <= ENTRY_MERGE_GAP) {
        last.to = e.to;
        last.n++;
      } else runs.push({ seg: e.seg, from: e.from, to: e.to, n: 1 });
    }
    return runs;
  }

  test.each([
    // [function, metric, the aggregates it may read]
    ['rate', 'req_total', ['counter']],
    ['increase', 'req_total', ['counter']],
    ['max_over_time', 'latency_seconds', ['max']],
    ['min_over_time', 'latency_seconds', ['min']],
    ['sum_over_time', 'latency_seconds', ['sum']],
    ['count_over_time', 'latency_seconds', ['count']],
    ['avg_over_time', 'latency_seconds', ['sum', 'count']],
    ['quantile_over_time', 'latency_seconds', ['sum', 'count', 'sketches']],
    [undefined, 'latency_seconds', ['sum', 'count']],
  ] as const)('%s over %s fetches only its aggregates (%j), all of them, and answers as whole chunks do', async (func, metric, may) => {
    const rec = recording(bucket);
    const g = new StoreGateway(gatewayTestOptions(rec, tmp()));
    await g.start();
    const matchers = [new Matcher('=', '__name__', metric)];
    const hints = { start: T0, end: T0 + DAYS * DAY, maxResolution: RES_5M, func, range: 3600_000 };
    const got = await g.querier('team-a').select(matchers, hints);
    await g.stop();
    expect(got).toHaveLength(4);
    expect(flat(got)).toEqual(flat(await wholeAnswer(matchers, hints)));
    const overlap = (e: { seg: string; from: number; to: number }) =>
      rec.reads.reduce((n, r) => n + (r.seg === e.seg ? Math.max(0, Math.min(r.to, e.to) - Math.max(r.from, e.from)) : 0), 0);
    const mine = entries.filter((e) => e.series === metric);
    const needed = mine.filter((e) => (may as readonly string[]).includes(e.aggr));
    const others = mine.filter((e) => !(may as readonly string[]).includes(e.aggr));
    expect(needed.length).toBeGreaterThan(0);
    expect(others.length).toBeGreaterThan(0);
    // Every byte of the needed entries was fetched.
    expect(needed.filter((e) => overlap(e) !== e.to - e.from)).toEqual([]);
    // Each read is a run of needed entries, from the first one's first byte to the last one's
    // last, with gaps of at most ENTRY_MERGE_GAP; no other byte of the block's chunks is fetched.
    const runs = mergedRuns(needed);
    const reads = [...rec.reads].sort((a, b) => a.seg.localeCompare(b.seg) || a.from - b.from);
    expect(reads).toEqual(runs.map(({ seg, from, to }) => ({ seg, from, to })));
    const fetchedOfOthers = others.reduce((n, e) => n + overlap(e), 0);
    const gaps = runs.reduce((n, r) => n + (r.to - r.from), 0) - needed.reduce((n, e) => n + (e.to - e.from), 0);
    expect(fetchedOfOthers).toBeLessThanOrEqual(gaps);
  });

  test('the data set has counters on both sides of the merge gap, near it', () => {
    // So the reads compared above pin the gap: counters up to ENTRY_MERGE_GAP apart are fetched in
    // one request, those farther apart (even by less than twice as much) in two.
    const counters = entries.filter((e) => e.series === 'req_total' && e.aggr === 'counter').sort((a, b) => a.from - b.from);
    const gaps = counters.slice(1).map((e, i) => e.from - counters[i].to);
    expect(gaps.some((g) => g > ENTRY_MERGE_GAP / 2 && g <= ENTRY_MERGE_GAP)).toBe(true);
    expect(gaps.some((g) => g > ENTRY_MERGE_GAP && g <= 2 * ENTRY_MERGE_GAP)).toBe(true);
  });

  test('a damaged entry is refused by its checksum, not decoded', async () => {
    const counter = entries.find((e) => e.series === 'req_total' && e.aggr === 'counter')!;
    const name = `team-a/${path.basename(rollupDir)}/chunks/${counter.seg}`;
    const seg = Buffer.from(await bucket.get(name));
    const orig = Buffer.from(seg);
    seg[counter.to - 1] ^= 0x55;
    await bucket.upload(name, seg);
    try {
      const g = new StoreGateway(gatewayTestOptions(bucket, tmp()));
      await g.start();
      const hints = { start: T0, end: T0 + DAYS * DAY, maxResolution: RES_5M, func: 'rate', range: 3600_000 };
      await expect(g.querier('team-a').select([new Matcher('=', '__name__', 'req_total')], hints)).rejects.toThrow(
        /counter entry .* checksum mismatch/,
      );
      await g.stop();
    } finally {
      await bucket.upload(name, orig);
    }
  });

  test('a damaged entries table is not trusted: the chunks are read whole, the answer is the same', async () => {
    const name = `team-a/${path.basename(rollupDir)}/${AGGR_ENTRIES_FILE}`;
    const orig = Buffer.from(await bucket.get(name));
    const bad = Buffer.from(orig);
    bad[bad.length >> 1] ^= 0x55;
    await bucket.upload(name, bad);
    try {
      const rec = recording(bucket);
      const g = new StoreGateway(gatewayTestOptions(rec, tmp()));
      await g.start();
      const matchers = [new Matcher('=', '__name__', 'req_total')];
      const hints = { start: T0, end: T0 + DAYS * DAY, maxResolution: RES_5M, func: 'rate', range: 3600_000 };
      const got = await g.querier('team-a').select(matchers, hints);
      await g.stop();
      expect(flat(got)).toEqual(flat(await wholeAnswer(matchers, hints)));
      const sums = entries.filter((e) => e.series === 'req_total' && e.aggr === 'sum');
      expect(sums.every((e) => rec.reads.some((r) => r.seg === e.seg && r.from <= e.from && r.to >= e.to))).toBe(true);
    } finally {
      await bucket.upload(name, orig);
    }
  });
});
