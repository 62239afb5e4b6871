/**
 * Vertical compaction of blocks (compactBlocks): random replicas of random series, with gaps,
 * duplicates, conflicting values, stale markers and unaligned chunk boundaries, compacted and
 * read back: exactly the expected merge (first source wins a conflict), conflicts counted,
 * untouched chunks byte-identical, tombstones applied. promtool reads the output and dumps the
 * same samples; broken sources raise BlockCorruptError naming the block.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { Labels, Matcher, mulberry32 } from '@strata/model';
import {
  BlockCorruptError,
  BlockReader,
  compactBlocks,
  compareLabelsBytes,
  FileByteSource,
  readSeriesInOrder,
  STALE_NAN,
  writeBlock,
  XOREncoder,
  XORIterator,
  type BlockMeta,
  type BlockSeries,
  type Tombstone,
} from '@strata/tsdb';

const PROMTOOL = '/usr/bin/promtool';
const dirs: string[] = [];
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-compact-'));
  dirs.push(d);
  return d;
}
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

const RANGE = 2 * 3600_000;
const T0 = 1_700_000_000_000 - (1_700_000_000_000 % RANGE);
/** Label sets whose byte order differs from UTF-16 order (U+FF5E sorts before an emoji in bytes, after it in UTF-16). */
const LABEL_SETS: Record<string, string>[] = [
  { __name__: 'up', job: 'a' },
  { __name__: 'up', job: 'b', zone: 'ü' },
  { __name__: 'up', job: '\uff5e' },
  { __name__: 'up', job: '\u{1F600}' },
  { __name__: 'rate', job: 'a', le: '0.5' },
  { __name__: 'rate', job: 'a', le: '1' },
  { __name__: 'z' },
];

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
function bitsKey(v: number): string {
  f64[0] = v;
  return `${u32[1]}:${u32[0]}`;
}

/** One replica's copy of one series: timestamps ascending, values; cut into chunks of `cut` samples. */
interface Copy {
  ts: number[];
  vs: number[];
  cut: number;
}

function chunksOf(c: Copy): BlockSeries['chunks'] {
  const out: BlockSeries['chunks'] = [];
  for (let i = 0; i < c.ts.length; i += c.cut) {
    const enc = new XOREncoder();
    const end = Math.min(c.ts.length, i + c.cut);
    for (let k = i; k < end; k++) enc.append(c.ts[k], c.vs[k]);
    out.push({ minT: c.ts[i], maxT: c.ts[end - 1], data: enc.bytes().slice() });
  }
  return out;
}

interface Scenario {
  /** copies[source][series] (undefined: the source lacks the series). */
  copies: (Copy | undefined)[][];
  /** Each source block's [minTime, maxTime): all the same (replicas) or alternating halves (adjacent blocks, horizontal). */
  windows: [number, number][];
  tombstones: Tombstone[];
}

const SPAN = 10_000_000;

/** Random replicas derived from `seed`: shared timelines with gaps, conflicts, stale markers, different chunk cuts. */
function scenario(seed: number, replicas: number): Scenario {
  const r = mulberry32(seed);
  const copies: (Copy | undefined)[][] = Array.from({ length: replicas }, () => []);
  const horizontal = r() < 0.4;
  const windows = Array.from({ length: replicas }, (_, k): [number, number] =>
    !horizontal ? [T0, T0 + SPAN] : k % 2 === 0 ? [T0, T0 + SPAN / 2] : [T0 + SPAN / 2, T0 + SPAN],
  );
  for (let s = 0; s < LABEL_SETS.length; s++) {
    const n = 1 + Math.floor(r() * 300);
    const step = 1000 * (1 + Math.floor(r() * 30));
    const start = T0 + Math.floor(r() * 60) * 1000;
    const base: number[] = [];
    for (let i = 0; i < n; i++) base.push(r() < 0.02 ? STALE_NAN : Math.floor(r() * 1000) / 2);
    const cut = 1 + Math.floor(r() * 150);
    for (let k = 0; k < replicas; k++) {
      if (r() < 0.15) continue; // the replica lacks this series
      const mode = r();
      // Most copies are exact (chunk-identical) replicas; others miss samples, conflict, or are cut differently.
      const exact = mode < 0.4;
      const gapRate = exact ? 0 : r() * 0.3;
      const conflictRate = exact ? 0 : r() < 0.5 ? r() * 0.1 : 0;
      const c: Copy = { ts: [], vs: [], cut: exact ? cut : 1 + Math.floor(r() * 150) };
      for (let i = 0; i < n; i++) {
        if (r() < gapRate) continue;
        const t = start + i * step;
        if (t < windows[k][0] || t >= windows[k][1]) continue;
        c.ts.push(t);
        c.vs.push(r() < conflictRate ? base[i] + 1 + k : base[i]);
      }
      if (c.ts.length > 0) copies[k][s] = c;
    }
  }
  const tombstones: Tombstone[] = [];
  if (r() < 0.3) {
    const a = T0 + Math.floor(r() * 3_000_000);
    tombstones.push({ matchers: [new Matcher('=', 'job', 'a')], mint: a, maxt: a + Math.floor(r() * 2_000_000) });
  }
  return { copies, windows, tombstones };
}

/** Per series key: the merged samples (first replica wins), and the number of conflicting timestamps. */
function expectedMerge(sc: Scenario): { series: Map<string, { ts: number[]; bits: string[] }>; conflicts: number; overlapping: number } {
  const series = new Map<string, { ts: number[]; bits: string[] }>();
  let conflicts = 0;
  let overlapping = 0;
  for (let s = 0; s < LABEL_SETS.length; s++) {
    const labels = Labels.fromObject(LABEL_SETS[s]);
    const dels = sc.tombstones.filter((t) => t.matchers.every((m) => m.matches(labels.get(m.name))));
    const byTs = new Map<number, { first: string; conflict: boolean }>();
    let holders = 0;
    for (const rep of sc.copies) {
      const c = rep[s];
      if (!c) continue;
      holders++;
      c.ts.forEach((t, i) => {
        const b = bitsKey(c.vs[i]);
        const have = byTs.get(t);
        if (!have) byTs.set(t, { first: b, conflict: false });
        else if (have.first !== b) have.conflict = true;
      });
    }
    if (holders > 1) overlapping++;
    for (const v of byTs.values()) if (v.conflict) conflicts++;
    const ts = [...byTs.keys()].filter((t) => !dels.some((d) => t >= d.mint && t <= d.maxt)).sort((a, b) => a - b);
    if (ts.length > 0) series.set(labels.key(), { ts, bits: ts.map((t) => byTs.get(t)!.first) });
  }
  return { series, conflicts, overlapping };
}

function sampleCount(data: Uint8Array): number {
  return (data[0] << 8) | data[1];
}

/** Series whose chunks from different replicas overlap in time. */
function overlappingSeries(sc: Scenario): number {
  let n = 0;
  for (let s = 0; s < LABEL_SETS.length; s++) {
    const per = sc.copies.map((rep) => (rep[s] ? chunksOf(rep[s]!) : []));
    const hit = per.some((a, i) => per.some((b, j) => j > i && a.some((x) => b.some((y) => x.minT <= y.maxT && y.minT <= x.maxT))));
    if (hit) n++;
  }
  return n;
}

async function writeReplicas(sc: Scenario, dir: string): Promise<BlockMeta[]> {
  const metas: BlockMeta[] = [];
  for (const [k, rep] of sc.copies.entries()) {
    const input: BlockSeries[] = [];
    rep.forEach((c, s) => {
      if (c) input.push({ labels: Labels.fromObject(LABEL_SETS[s]), chunks: chunksOf(c) });
    });
    metas.push(
      await writeBlock(dir, input, {
        minTime: sc.windows[k][0],
        maxTime: sc.windows[k][1],
        externalLabels: { tenant_id: 't', receive_replica: `r${k}` },
      }),
    );
  }
  return metas;
}

/** Everything in a block: series key -> timestamps, value bits and chunks. */
async function readAll(dir: string): Promise<Map<string, { labels: Labels; ts: number[]; bits: string[]; chunks: BlockSeries['chunks'] }>> {
  const r = await BlockReader.openDir(dir);
  const out = new Map<string, { labels: Labels; ts: number[]; bits: string[]; chunks: BlockSeries['chunks'] }>();
  let prev: Labels | undefined;
  for await (const s of readSeriesInOrder(r)) {
    if (prev) expect(compareLabelsBytes(prev, s.labels)).toBeLessThan(0);
    prev = s.labels;
    const e = { labels: s.labels, ts: [] as number[], bits: [] as string[], chunks: s.chunks };
    for (const c of s.chunks) {
      const it = new XORIterator(c.data);
      while (it.next()) {
        e.ts.push(it.t);
        e.bits.push(`${it.hi}:${it.lo}`);
      }
    }
    out.set(s.labels.key(), e);
  }
  await r.close();
  return out;
}

describe('compactBlocks', () => {
  const seen = { conflicts: 0, passed: 0, identical: 0, reencoded: 0, deleted: 0 };
  afterAll(() => {
    // The random scenarios did exercise every path.
    for (const v of Object.values(seen)) expect(v).toBeGreaterThan(0);
  });

  test('random replicas merge to the expected samples; untouched chunks pass byte for byte (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 4 }), async (seed, replicas) => {
        const sc = scenario(seed, replicas);
        const dir = tmp();
        const metas = await writeReplicas(sc, dir);
        const out = tmp();
        const { meta, stats } = await compactBlocks(
          metas.map((m) => path.join(dir, m.ulid)),
          out,
          { tombstones: sc.tombstones },
        );
        const want = expectedMerge(sc);
        const got = await readAll(path.join(out, meta.ulid));
        expect([...got.keys()].sort()).toEqual([...want.series.keys()].sort());
        for (const [k, w] of want.series) {
          const g = got.get(k)!;
          expect(g.ts).toEqual(w.ts);
          expect(g.bits).toEqual(w.bits);
          for (let i = 1; i < g.chunks.length; i++) expect(g.chunks[i].minT).toBeGreaterThan(g.chunks[i - 1].maxT);
        }
        expect(stats.conflictingSamples).toBe(want.conflicts);
        expect(stats.samples).toBe([...want.series.values()].reduce((n, s) => n + s.ts.length, 0));
        expect(stats.series).toBe(want.series.size);
        expect(stats.overlapsMerged).toBe(overlappingSeries(sc));
        seen.conflicts += stats.conflictingSamples;
        seen.passed += stats.chunksPassedThrough;
        seen.identical += stats.identicalChunksDropped;
        seen.reencoded += stats.chunksReencoded;
        seen.deleted += stats.deletedSamples;
        expect(meta.stats).toEqual({ numSeries: stats.series, numSamples: stats.samples, numChunks: stats.chunks });
        // A source chunk overlapping no other source's chunk of its series, outside every tombstone, is in the output as it was.
        for (let s = 0; s < LABEL_SETS.length; s++) {
          const labels = Labels.fromObject(LABEL_SETS[s]);
          const per = sc.copies.map((rep) => (rep[s] ? chunksOf(rep[s]!) : []));
          const dels = sc.tombstones.filter((t) => t.matchers.every((m) => m.matches(labels.get(m.name))));
          per.forEach((list, k) => {
            for (const c of list) {
              const alone = per.every((o, j) => j === k || o.every((x) => x.maxT < c.minT || x.minT > c.maxT));
              if (!alone || dels.some((d) => d.mint <= c.maxT && d.maxt >= c.minT)) continue;
              const outChunks = got.get(labels.key())!.chunks;
              expect(outChunks.some((o) => o.minT === c.minT && o.maxT === c.maxT && Buffer.from(o.data).equals(Buffer.from(c.data)))).toBe(
                true,
              );
            }
          });
        }
        // Re-encoded chunks (those no source has) hold at most 120 samples.
        for (const [k, g] of got) {
          const s = LABEL_SETS.findIndex((o) => Labels.fromObject(o).key() === k);
          const source = sc.copies.flatMap((rep) => (rep[s] ? chunksOf(rep[s]!) : [])).map((c) => Buffer.from(c.data).toString('hex'));
          for (const c of g.chunks)
            if (!source.includes(Buffer.from(c.data).toString('hex'))) expect(sampleCount(c.data)).toBeLessThanOrEqual(120);
        }
        expect([meta.minTime, meta.maxTime]).toEqual([Math.min(...metas.map((m) => m.minTime)), Math.max(...metas.map((m) => m.maxTime))]);
        expect(meta.compaction.level).toBe(2);
        expect(meta.compaction.sources).toEqual(metas.map((m) => m.ulid).sort());
        expect(meta.compaction.parents).toEqual(metas.map((m) => ({ ulid: m.ulid, minTime: m.minTime, maxTime: m.maxTime })));
        expect(meta.thanos?.labels).toEqual(replicas === 1 ? { tenant_id: 't', receive_replica: 'r0' } : { tenant_id: 't' });
        expect(meta.thanos?.source).toBe('compactor');
        expect(fs.readdirSync(out)).toEqual([meta.ulid]);
      }),
      { numRuns: 60 },
    );
    // 60 block writes and reads: CPU-bound, and CI runs other suites on the same cores beside it.
  }, 120_000);
});

/** promtool's dump line: Go's %g prints these values (halves below 1e6, NaN) as JavaScript does. */
function dumpLine(labels: Labels, v: number, t: number): string {
  const parts: string[] = [];
  labels.forEach((n, val) => parts.push(`${n}=${JSON.stringify(val)}`));
  return `{${parts.join(', ')}} ${Number.isNaN(v) ? 'NaN' : v} ${t}`;
}

describe('compactBlocks sources', () => {
  test('directories, open readers and block files behind byte sources compact alike', async () => {
    const sc = scenario(3, 3);
    const dir = tmp();
    const metas = await writeReplicas(sc, dir);
    const dirsOf = metas.map((m) => path.join(dir, m.ulid));
    const reader = await BlockReader.openDir(dirsOf[1]);
    const files = (d: string) => ({
      name: path.basename(d),
      sources: {
        meta: () => fs.promises.readFile(path.join(d, 'meta.json'), 'utf8'),
        index: new FileByteSource(path.join(d, 'index')),
        segment: (seq: number) => new FileByteSource(path.join(d, 'chunks', String(seq + 1).padStart(6, '0'))),
      },
    });
    const a = tmp();
    const b = tmp();
    const viaDirs = await compactBlocks(dirsOf, a, { ulid: '01JAAAAAAAAAAAAAAAAAAAAAAA' });
    const mixed = await compactBlocks([dirsOf[0], reader, files(dirsOf[2])], b, { ulid: '01JAAAAAAAAAAAAAAAAAAAAAAA', readBatchSeries: 1 });
    expect(mixed.stats).toEqual(viaDirs.stats);
    for (const f of ['index', 'chunks/000001'])
      expect(fs.readFileSync(path.join(b, mixed.meta.ulid, f)).equals(fs.readFileSync(path.join(a, viaDirs.meta.ulid, f)))).toBe(true);
    // The caller's reader stays open.
    expect((await reader.select([new Matcher('=~', '__name__', '.+')], { start: -Infinity, end: Infinity })).length).toBeGreaterThan(0);
    await reader.close();
  });
});

describe('compactBlocks cancelled', () => {
  test('an aborted signal stops it and leaves nothing behind', async () => {
    const dir = tmp();
    const metas = await writeReplicas(scenario(5, 2), dir);
    const out = tmp();
    const ac = new AbortController();
    ac.abort(new Error('shutting down'));
    await expect(
      compactBlocks(
        metas.map((m) => path.join(dir, m.ulid)),
        out,
        { signal: ac.signal },
      ),
    ).rejects.toThrow('shutting down');
    expect(fs.readdirSync(out)).toEqual([]);
  });
});

describe('compactBlocks against promtool', () => {
  test('promtool analyzes the compacted block and dumps exactly what Strata reads back (differential)', async () => {
    for (const seed of [1, 7, 42]) {
      const sc = scenario(seed, 3);
      const dir = tmp();
      const metas = await writeReplicas(sc, dir);
      const out = tmp();
      const { meta } = await compactBlocks(
        metas.map((m) => path.join(dir, m.ulid)),
        out,
        { externalLabels: { tenant_id: 't' } },
      );
      const ours: string[] = [];
      const r = await BlockReader.openDir(path.join(out, meta.ulid));
      for (const s of await r.select([new Matcher('=~', '__name__', '.+')], { start: -Infinity, end: Infinity }))
        s.timestamps.forEach((t, i) => ours.push(dumpLine(s.labels, s.values[i], t)));
      await r.close();
      expect(ours.length).toBe(meta.stats.numSamples);
      fs.mkdirSync(path.join(out, 'wal')); // promtool opens the directory as a TSDB
      const analyze = execFileSync(PROMTOOL, ['tsdb', 'analyze', out, meta.ulid], { encoding: 'utf8' });
      expect(analyze).toContain(`Block ID: ${meta.ulid}`);
      expect(analyze).toContain(`Series: ${meta.stats.numSeries}`);
      const dump = execFileSync(PROMTOOL, ['tsdb', 'dump', out], { encoding: 'utf8', maxBuffer: 64 << 20 });
      expect(dump.trim().split('\n').sort()).toEqual(ours.sort());
    }
  });
});

describe('compactBlocks with broken sources', () => {
  const labels = Labels.fromObject({ __name__: 'x', job: 'j' });
  function chunk(ts: number[]): BlockSeries['chunks'][number] {
    const enc = new XOREncoder();
    for (const t of ts) enc.append(t, t / 1000);
    return { minT: ts[0], maxT: ts[ts.length - 1], data: enc.bytes().slice() };
  }
  async function good(dir: string): Promise<string> {
    const m = await writeBlock(dir, [{ labels, chunks: [chunk([T0, T0 + 1000])] }], { minTime: T0, maxTime: T0 + RANGE });
    return path.join(dir, m.ulid);
  }
  async function bad(dir: string, chunks: BlockSeries['chunks']): Promise<string> {
    const m = await writeBlock(dir, [{ labels, chunks }], { minTime: T0, maxTime: T0 + RANGE });
    return path.join(dir, m.ulid);
  }
  const cases: [string, (dir: string) => Promise<string>, RegExp][] = [
    [
      'index series entry corrupted',
      async (dir) => {
        const b = await good(dir);
        const file = path.join(b, 'index');
        const buf = fs.readFileSync(file);
        const seriesAt = Number(buf.readBigUInt64BE(buf.length - 52 + 8));
        buf[seriesAt + 3] ^= 0x55;
        fs.writeFileSync(file, buf);
        return b;
      },
      /series .* checksum mismatch|symbol reference/,
    ],
    [
      'index truncated',
      async (dir) => {
        const b = await good(dir);
        fs.truncateSync(path.join(b, 'index'), 40);
        return b;
      },
      /corrupt index/,
    ],
    [
      'chunk segment missing',
      async (dir) => {
        const b = await good(dir);
        fs.rmSync(path.join(b, 'chunks', '000001'));
        return b;
      },
      /missing file/,
    ],
    [
      'chunk bytes flipped',
      async (dir) => {
        const b = await good(dir);
        const file = path.join(b, 'chunks', '000001');
        const buf = fs.readFileSync(file);
        buf[12] ^= 0xff;
        fs.writeFileSync(file, buf);
        return b;
      },
      /checksum mismatch/,
    ],
    [
      'chunks overlapping in one series',
      (dir) => bad(dir, [chunk([T0, T0 + 5000]), chunk([T0 + 5000, T0 + 6000])]),
      /out of order or overlapping/,
    ],
    ['samples out of order in a chunk', (dir) => bad(dir, [chunk([T0, T0 + 2000, T0 + 1000])]), /timestamps out of order/],
    [
      'chunk that does not decode',
      (dir) => bad(dir, [{ minT: T0, maxT: T0 + 1000, data: Uint8Array.from([0, 120, 1, 2]) }]),
      /unexpected end|decodes to/,
    ],
    [
      'samples outside the chunk range',
      (dir) => bad(dir, [{ ...chunk([T0, T0 + 1000, T0 + 9000]), maxT: T0 + 2000 }]),
      /outside its index range/,
    ],
    [
      'meta.json of an unknown version',
      async (dir) => {
        const b = await good(dir);
        const m = JSON.parse(fs.readFileSync(path.join(b, 'meta.json'), 'utf8'));
        fs.writeFileSync(path.join(b, 'meta.json'), JSON.stringify({ ...m, version: 7 }));
        return b;
      },
      /version/,
    ],
  ];
  test.each(cases)('%s: BlockCorruptError naming the block, nothing left behind', async (_name, make, reason) => {
    const dir = tmp();
    const ok = await good(dir);
    const broken = await make(dir);
    const out = tmp();
    const err = await compactBlocks([ok, broken], out).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BlockCorruptError);
    expect((err as BlockCorruptError).ulid).toBe(path.basename(broken));
    expect((err as BlockCorruptError).reason).toMatch(reason);
    expect(fs.readdirSync(out)).toEqual([]);
    // Alone (no other source has its series, so nothing is merged), it is caught as well.
    const alone = await compactBlocks([broken], out).catch((e: unknown) => e);
    expect(alone).toBeInstanceOf(BlockCorruptError);
    expect((alone as BlockCorruptError).reason).toMatch(reason);
    expect(fs.readdirSync(out)).toEqual([]);
    // The good block alone still compacts.
    const { stats } = await compactBlocks([ok], out);
    expect(stats.samples).toBe(2);
  });
});
