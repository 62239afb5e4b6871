import fc from 'fast-check';
import { Labels, Matcher } from '@strata/model';
import { parseLogSamplingConfig } from '@strata/api';
import { addSampledOut, BlockSampledOut, SampledOutTally, sampledOutTotal, type SampledOutCount } from './sampled-out.js';
import { sampleStreams } from './sample.js';

const MIN = 60_000_000_000n;
const web = Labels.fromObject({ app: 'web', env: 'prod' });
const api = Labels.fromObject({ app: 'api', env: 'dev' });

describe('tally of sampled-out lines', () => {
  // web: 2 lines in minute 10, 1 in minute 11; api: 1 line in minute 10.
  const tally = new SampledOutTally(Infinity);
  tally.add(web, 10n * MIN, 5);
  tally.add(web, 10n * MIN + 59_999_999_999n, 7);
  tally.add(web, 11n * MIN, 3);
  tally.add(api, 10n * MIN + 1n, 100);

  test.each([
    ['every stream, every minute', [], 0n, 100n * MIN, { entries: 4, bytes: 115 }],
    ['one stream by label', [new Matcher('=', 'app', 'web')], 0n, 100n * MIN, { entries: 3, bytes: 15 }],
    ['a regex selector', [new Matcher('=~', 'env', 'd.*')], 0n, 100n * MIN, { entries: 1, bytes: 100 }],
    ['a minute the range only starts in', [new Matcher('=', 'app', 'web')], 10n * MIN + 30n, 11n * MIN, { entries: 2, bytes: 12 }],
    ['the exclusive end leaves the next minute out', [], 0n, 10n * MIN, { entries: 0, bytes: 0 }],
    ['2 ns across a minute boundary count both minutes', [], 11n * MIN - 1n, 11n * MIN + 1n, { entries: 4, bytes: 115 }],
    ['a stream that never sampled', [new Matcher('=', 'app', 'db')], 0n, 100n * MIN, { entries: 0, bytes: 0 }],
  ])('%s', (_name, matchers, start, end, want) => {
    expect(tally.count(matchers, start, end)).toEqual(want);
  });

  test('minutes older than the kept age are forgotten', () => {
    let nowMs = 20 * 60_000;
    const t = new SampledOutTally(5 * 60_000, () => nowMs);
    t.add(web, 10n * MIN, 1);
    t.add(web, 16n * MIN, 1);
    t.prune();
    expect(t.count([], 0n, 100n * MIN)).toEqual({ entries: 1, bytes: 1 });
    nowMs = 30 * 60_000;
    t.prune();
    expect(t.count([], 0n, 100n * MIN)).toEqual({ entries: 0, bytes: 0 });
  });

  test('sampling tallies exactly the lines and bytes it leaves out', () => {
    const cfg = parseLogSamplingConfig({ keep: [{ line_regex: 'level=error' }], keep_ratio: 0.3 }, 'test');
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string({ maxLength: 30 }), fc.bigInt({ min: 0n, max: 1000n * MIN })), { maxLength: 60 }), (rows) => {
        const t = new SampledOutTally(Infinity);
        const stream = {
          labels: web,
          labelsText: web.toString(),
          timestampsNs: BigInt64Array.from(rows, (r) => r[1]),
          lines: rows.map((r) => r[0]),
          metadata: undefined,
        };
        const { kept, sampledOut } = sampleStreams([stream], cfg, t);
        const keptLines = kept.flatMap((s) => s.lines);
        const bytes = (ls: string[]) => ls.reduce((n, l) => n + Buffer.byteLength(l), 0);
        expect(t.count([new Matcher('=', 'app', 'web')], 0n, 1001n * MIN)).toEqual({
          entries: sampledOut,
          bytes: bytes(stream.lines) - bytes(keptLines),
        });
      }),
    );
  });
});

describe('sampled-out counts across heads and blocks', () => {
  const c = (entries: number, blocks?: SampledOutCount['blocks']): SampledOutCount => ({
    entries,
    bytes: entries * 10,
    ...(blocks ? { blocks } : {}),
  });

  test('heads add up; a block read by several sources counts once', () => {
    // Two receivers' heads, and two gateways (and a shipped head) answering for block A.
    const parts = [c(3), c(4, { A: { entries: 5, bytes: 50 } }), c(0, { A: { entries: 5, bytes: 50 }, B: { entries: 2, bytes: 20 } })];
    expect(sampledOutTotal(parts.reduce(addSampledOut, c(0)))).toEqual({ entries: 3 + 4 + 5 + 2, bytes: 140 });
  });

  test('a compacted block replaces the sources it holds, whichever sources answered', () => {
    const compacted = { entries: 7, bytes: 70, sources: ['A', 'B'] };
    expect(sampledOutTotal(c(0, { A: { entries: 5, bytes: 50 }, B: { entries: 2, bytes: 20 }, C: compacted }))).toEqual({
      entries: 7,
      bytes: 70,
    });
    // A source not in it still counts; a level-3 block replaces a level-2 one holding fewer sources.
    expect(sampledOutTotal(c(1, { C: compacted, D: { entries: 4, bytes: 40 } }))).toEqual({ entries: 12, bytes: 120 });
    const l3 = { entries: 11, bytes: 110, sources: ['A', 'B', 'D'] };
    expect(sampledOutTotal(c(0, { C: compacted, D: { entries: 4, bytes: 40 }, E: l3 }))).toEqual({ entries: 11, bytes: 110 });
    // Two compactions of the same sources (a retried one): one of them.
    expect(sampledOutTotal(c(0, { C: compacted, F: { ...compacted } }))).toEqual({ entries: 7, bytes: 70 });
  });

  test('the total is that of the distinct sampled lines, for any split over sources and compactions', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat(20), { minLength: 1, maxLength: 6 }),
        fc.array(fc.tuple(fc.nat(5), fc.nat(5)), { maxLength: 4 }),
        fc.array(fc.nat(9), { minLength: 1, maxLength: 8 }),
        (perBlock, compactions, answering) => {
          const ids = perBlock.map((_, i) => `L${i}`);
          const blocks: Record<string, { entries: number; bytes: number; sources?: string[] }> = {};
          ids.forEach((id, i) => (blocks[id] = { entries: perBlock[i], bytes: perBlock[i] }));
          // Compactions of contiguous ranges of shipped blocks, as the planner makes them.
          compactions.forEach(([a, b], k) => {
            const lo = Math.min(a, b) % ids.length;
            const hi = Math.max(a, b) % ids.length;
            const sources = ids.slice(Math.min(lo, hi), Math.max(lo, hi) + 1);
            const n = sources.reduce((x, u) => x + blocks[u].entries, 0);
            blocks[`C${k}`] = { entries: n, bytes: n, sources };
          });
          // Every shipped block is held by some block still present: keep each level-1 block, or a compaction holding it.
          const all = Object.keys(blocks);
          const present = new Set(answering.map((i) => all[i % all.length]));
          for (const id of ids) if (![...present].some((p) => p === id || blocks[p].sources?.includes(id))) present.add(id);
          // Overlapping compactions hold a shipped block twice: that is not a state the compactor leaves.
          const holders = (u: string) => [...present].filter((p) => p === u || blocks[p].sources?.includes(u));
          const maximal = [...present].filter(
            (p) =>
              ![...present].some(
                (q) =>
                  q !== p &&
                  (blocks[q].sources ?? [q]).length > (blocks[p].sources ?? [p]).length &&
                  (blocks[p].sources ?? [p]).every((u) => (blocks[q].sources ?? [q]).includes(u)),
              ),
          );
          fc.pre(ids.every((u) => holders(u).filter((h) => maximal.includes(h)).length <= 1));
          const parts = [...present].map((p) => c(0, { [p]: blocks[p] }));
          const want = perBlock.reduce((x, n) => x + n, 0);
          expect(sampledOutTotal(parts.reduce(addSampledOut, c(0))).entries).toBe(want);
        },
      ),
    );
  });
});

test("a block's loaded counts answer every window and selector as the tally they were written from", () => {
  const streams = [web, api, Labels.fromObject({ app: 'db' })];
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(2), fc.bigInt({ min: -5n * MIN, max: 30n * MIN }), fc.nat(100)), { maxLength: 50 }),
      fc.bigInt({ min: -6n * MIN, max: 31n * MIN }),
      fc.bigInt({ min: 0n, max: 20n * MIN }),
      fc.constantFrom([], [new Matcher('=', 'app', 'web')], [new Matcher('=~', 'env', '.+')], [new Matcher('!=', 'app', 'api')]),
      (rows, start, len, matchers) => {
        const t = new SampledOutTally(Infinity);
        for (const [s, ts, b] of rows) t.add(streams[s], ts, b);
        const loaded = BlockSampledOut.of(t.toStreams());
        expect(loaded.count(matchers, start, start + len + 1n)).toEqual(t.count(matchers, start, start + len + 1n));
        const plain = (x: { labels: Labels; minutes: unknown }[]) => x.map((y) => [y.labels.toString(), y.minutes]);
        expect(plain(loaded.toStreams())).toEqual(plain(t.toStreams()));
        expect(loaded.isEmpty()).toBe(rows.length === 0);
      },
    ),
  );
});
