import fc from 'fast-check';
import type { BlockMeta } from '@strata/tsdb';
import { firstOverlap, groupBlocks, groupKey, planGroup, splitByRange, superseded } from '../src/planner.js';
import { pastRetention } from '../src/retention.js';

const H = 3600_000;
const RANGES = [2 * H, 8 * H, 48 * H, 336 * H];
let seq = 0;

/** A block of [fromH, toH) hours; ULIDs sort in creation order. */
function b(
  fromH: number,
  toH: number,
  o: { labels?: Record<string, string>; res?: number; sources?: string[]; level?: number } = {},
): BlockMeta {
  const ulid = `01B${String(seq++).padStart(23, '0')}`;
  return {
    ulid,
    minTime: fromH * H,
    maxTime: toH * H,
    stats: { numSamples: 0, numSeries: 0, numChunks: 0 },
    compaction: { level: o.level ?? 1, sources: o.sources ?? [ulid] },
    version: 1,
    thanos: { labels: o.labels ?? { tenant_id: 't' }, downsample: { resolution: o.res ?? 0 }, source: 'receiver' },
  };
}
const span = (p: { sources: BlockMeta[] } | undefined) => p && p.sources.map((m) => [m.minTime / H, m.maxTime / H]);

test('groups: replica labels removed, resolution kept apart', () => {
  const r1 = b(0, 2, { labels: { tenant_id: 't', receive_replica: 'a' } });
  const r2 = b(0, 2, { labels: { tenant_id: 't', receive_replica: 'b' } });
  const other = b(0, 2, { labels: { tenant_id: 't', receive_replica: 'a', zone: 'eu' } });
  const rollup = b(0, 2, { labels: { tenant_id: 't' }, res: 300_000 });
  const groups = groupBlocks([r1, r2, other, rollup], ['receive_replica']);
  expect(groups.map((g) => [g.key, g.blocks.length])).toEqual([
    ['0@tenant_id="t"', 2],
    ['0@tenant_id="t",zone="eu"', 1],
    ['300000@tenant_id="t"', 1],
  ]);
  expect(groupKey(r1, [])).not.toBe(groupKey(r2, []));
  expect(groupKey(r1, ['receive_replica', 'replica'])).toBe(groupKey(r2, ['replica', 'receive_replica']));
});

describe('planGroup', () => {
  const cases: { name: string; blocks: [number, number][]; want: [number, number][] | undefined; kind?: string }[] = [
    { name: 'one block: nothing', blocks: [[0, 2]], want: undefined },
    {
      name: 'RF copies merge first',
      blocks: [
        [0, 2],
        [0, 2],
        [0, 2],
        [2, 4],
      ],
      want: [
        [0, 2],
        [0, 2],
        [0, 2],
      ],
      kind: 'vertical',
    },
    {
      name: 'a late block inside a range overlaps it',
      blocks: [
        [0, 8],
        [2, 4],
        [8, 10],
      ],
      want: [
        [0, 8],
        [2, 4],
      ],
      kind: 'vertical',
    },
    {
      name: 'a chain of overlaps is one merge',
      blocks: [
        [0, 2],
        [1, 3],
        [2, 4],
        [6, 8],
      ],
      want: [
        [0, 2],
        [1, 3],
        [2, 4],
      ],
      kind: 'vertical',
    },
    {
      name: 'a full 8h range merges',
      blocks: [
        [0, 2],
        [2, 4],
        [4, 6],
        [6, 8],
        [8, 10],
      ],
      want: [
        [0, 2],
        [2, 4],
        [4, 6],
        [6, 8],
      ],
      kind: 'level',
    },
    {
      name: 'full range but it holds the newest block: waits',
      blocks: [
        [0, 2],
        [2, 4],
        [4, 6],
        [6, 8],
      ],
      want: [
        [0, 2],
        [2, 4],
        [4, 6],
      ],
      kind: 'level',
    },
    {
      name: 'an incomplete newest range waits',
      blocks: [
        [8, 10],
        [10, 12],
      ],
      want: undefined,
    },
    {
      name: 'a range with gaps merges once newer blocks exist',
      blocks: [
        [0, 2],
        [4, 6],
        [10, 12],
      ],
      want: [
        [0, 2],
        [4, 6],
      ],
      kind: 'level',
    },
    {
      name: 'a gap range alone: one block is nothing to merge',
      blocks: [
        [0, 2],
        [10, 12],
      ],
      want: undefined,
    },
    {
      name: '8h blocks into 48h',
      blocks: [
        [0, 8],
        [8, 16],
        [16, 24],
        [24, 32],
        [32, 40],
        [40, 48],
        [48, 50],
      ],
      want: [
        [0, 8],
        [8, 16],
        [16, 24],
        [24, 32],
        [32, 40],
        [40, 48],
      ],
      kind: 'level',
    },
    {
      name: 'smaller ranges come first',
      blocks: [
        [0, 8],
        [8, 10],
        [10, 12],
        [12, 14],
        [14, 16],
        [16, 18],
      ],
      want: [
        [8, 10],
        [10, 12],
        [12, 14],
        [14, 16],
      ],
      kind: 'level',
    },
    {
      name: 'a block crossing an 8h boundary waits for the 48h range',
      blocks: [
        [6, 10],
        [10, 12],
        [12, 14],
      ],
      want: [
        [6, 10],
        [10, 12],
      ],
      kind: 'level',
    },
  ];
  test.each(cases)('$name', ({ blocks, want, kind }) => {
    const p = planGroup(
      blocks.map(([f, t]) => b(f, t)),
      RANGES,
    );
    expect(span(p)).toEqual(want);
    if (kind) expect(p!.kind).toBe(kind);
  });

  test('property: planning until done leaves no overlap, level merges stay in one aligned range, every hour is kept', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 60 }), fc.constantFrom(1, 2)), { minLength: 1, maxLength: 40 }), (starts) => {
        let blocks = starts.map(([s, w]) => b(s * 2, s * 2 + w * 2)).sort((x, y) => x.minTime - y.minTime || (x.ulid < y.ulid ? -1 : 1));
        // The hours of data each block holds (a merged block holds its sources' hours, gaps stay gaps).
        const hours = new Map(
          blocks.map((m) => [m.ulid, Array.from({ length: (m.maxTime - m.minTime) / H }, (_, k) => m.minTime / H + k)]),
        );
        const covered = (bs: BlockMeta[]) => [...new Set(bs.flatMap((m) => hours.get(m.ulid)!))].sort((x, y) => x - y);
        const before = covered(blocks);
        for (let steps = 0; ; steps++) {
          expect(steps).toBeLessThan(100);
          const p = planGroup(blocks, RANGES);
          if (!p) break;
          expect(p.sources.length).toBeGreaterThan(1);
          const out = b(Math.min(...p.sources.map((m) => m.minTime)) / H, Math.max(...p.sources.map((m) => m.maxTime)) / H);
          hours.set(out.ulid, covered(p.sources));
          // A level merge stays inside one aligned range of its level.
          if (p.kind === 'level') expect(Math.floor(out.minTime / p.rangeMs!)).toBe(Math.floor((out.maxTime - 1) / p.rangeMs!));
          blocks = [...blocks.filter((m) => !p.sources.includes(m)), out].sort(
            (x, y) => x.minTime - y.minTime || (x.ulid < y.ulid ? -1 : 1),
          );
        }
        expect(firstOverlap(blocks)).toBeUndefined();
        expect(covered(blocks)).toEqual(before);
      }),
    );
  });
});

test('splitByRange aligns to multiples of the range and skips blocks wider than it', () => {
  const blocks = [b(0, 2), b(2, 4), b(8, 10), b(14, 18), b(16, 32)];
  expect(splitByRange(blocks, 8 * H).map((r) => r.map((m) => m.minTime / H))).toEqual([[0, 2], [8]]);
});

test('superseded: sources already inside another block', () => {
  const a = b(0, 2);
  const c = b(0, 2);
  const merged = b(0, 2, { sources: [a.ulid, c.ulid], level: 2 });
  const redo = b(0, 2, { sources: [a.ulid, c.ulid], level: 2 });
  const late = b(0, 2);
  expect(superseded([a, c, merged, late]).map((m) => m.ulid)).toEqual([a.ulid, c.ulid]);
  expect(superseded([merged, redo]).map((m) => m.ulid)).toEqual([redo.ulid]);
  expect(superseded([late])).toEqual([]);
});

test('retention: per tier, 0 keeps forever, the boundary is kept', () => {
  const now = 1000 * H;
  const raw = [b(800, 802), b(798, 800)];
  const fiveM = b(0, 2, { res: 300_000 });
  const hour = b(0, 2, { res: 3600_000 });
  const policy = { raw: 200 * H, fiveMinutes: 990 * H, oneHour: 0, oneDay: 0 };
  expect(pastRetention([...raw, fiveM, hour], policy, now).map((m) => [m.minTime / H, m.thanos!.downsample.resolution])).toEqual([
    [798, 0],
    [0, 300_000],
  ]);
});
