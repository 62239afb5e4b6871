import fc from 'fast-check';
import { Labels } from '@strata/model';
import { decodeRawBlock, decompressBlock, encodeBlock, type DecodedEntries, type EncodedBlock } from '../chunk/block-codec.js';
import { BLOCK_TARGET_BYTES } from '../head/log-stream.js';
import { buildLogBlock, parseLogIndex, parseLogIndexWithSampledOut, type StreamBlocks } from './log-block.js';
import { SampledOutTally } from '../ingest/sampled-out.js';
import { LogSourceCorruptError, mergeLogBlocks, type LogMergeSource } from './merge-log-blocks.js';

const STREAMS = [Labels.fromObject({ app: 'api' }), Labels.fromObject({ app: 'db', env: 'prod' }), Labels.fromObject({ app: 'web' })];
const TRACE = Labels.fromObject({ trace: 't1' });
/** Metadata follows from the line, as replicas of one entry carry the same. */
const metaOf = (line: string) => (line.includes('x') ? TRACE : undefined);

interface Entry {
  stream: number;
  ts: number;
  line: string;
}

/** A source block from entries: per stream sorted by timestamp (stable), cut into chunks of the given sizes in turn. */
async function source(ulid: string, entries: readonly Entry[], cuts: readonly number[]): Promise<LogMergeSource & { data: Buffer }> {
  const streams: StreamBlocks[] = [];
  let k = 0;
  for (let s = 0; s < STREAMS.length; s++) {
    const mine = entries.filter((e) => e.stream === s).sort((a, b) => a.ts - b.ts);
    const blocks: EncodedBlock[] = [];
    for (let i = 0; i < mine.length;) {
      const part = mine.slice(i, i + Math.max(1, cuts[k++ % cuts.length]));
      i += part.length;
      blocks.push(
        await encodeBlock(
          BigInt64Array.from(part, (e) => BigInt(e.ts)),
          part.map((e) => e.line),
          part.map((e) => metaOf(e.line)),
          'zstd',
        ),
      );
    }
    streams.push({ labels: STREAMS[s], blocks });
  }
  const built = buildLogBlock(ulid, streams)!;
  const data = Buffer.concat(built.chunks);
  return { ulid, streams: parseLogIndex(built.index.toString(), ulid), data, read: async (o, n) => data.subarray(o, o + n) };
}

async function merge(sources: readonly LogMergeSource[]) {
  const parts: Buffer[] = [];
  const r = await mergeLogBlocks('01JMERGED00000000000000000', sources, async (d) => void parts.push(Buffer.from(d)));
  return { r, data: Buffer.concat(parts) };
}

/** Each stream of a merged block as [labels, [ts, line, has metadata][]], read back chunk by chunk. */
async function readBack(index: Buffer, data: Buffer) {
  return Promise.all(
    parseLogIndex(index.toString(), 'merged').map(async (s) => {
      const got: DecodedEntries = { ts: [], lines: [], metadata: undefined };
      for (const c of s.chunks) {
        const raw = await decompressBlock({ ...c, data: data.subarray(c.offset, c.offset + c.length) });
        decodeRawBlock(raw, c.minTs, c.count, got);
      }
      return [s.labels.toString(), got.ts.map((t, i) => [Number(t), got.lines[i], got.metadata?.[i] !== undefined] as const)] as const;
    }),
  );
}

/** What a merge must give: per stream, every distinct (timestamp, line) once, ordered by both. */
function expected(all: readonly Entry[]) {
  const out: (readonly [string, (readonly [number, string, boolean])[]])[] = [];
  for (let s = 0; s < STREAMS.length; s++) {
    const seen = new Map<string, Entry>();
    for (const e of all) if (e.stream === s) seen.set(`${e.ts}\u0000${e.line}`, e);
    if (seen.size === 0) continue;
    const rows = [...seen.values()]
      .sort((a, b) => a.ts - b.ts || (a.line < b.line ? -1 : a.line > b.line ? 1 : 0))
      .map((e) => [e.ts, e.line, metaOf(e.line) !== undefined] as const);
    out.push([STREAMS[s].toString(), rows]);
  }
  return out.sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

const entry = fc.record({ stream: fc.nat(2), ts: fc.nat(30), line: fc.constantFrom('a', 'b x', 'c', 'needle') });

describe('mergeLogBlocks', () => {
  test('replicas holding overlapping subsets, cut differently, every distinct entry once, timestamps ascending', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(entry, fc.integer({ min: 1, max: 7 })), { minLength: 1, maxLength: 60 }),
        fc.array(fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 5 }), { minLength: 3, maxLength: 3 }),
        async (rows, cuts) => {
          // Bit r of the mask: replica r holds the entry (at least one does). A replica holds an
          // entry once here: one pushed twice into one chunk may be copied as it is (see the module).
          const replicas: Entry[][] = [[], [], []];
          const once = new Map(rows.map(([e, mask]) => [`${e.stream}/${e.ts}/${e.line}`, [e, mask] as const]));
          for (const [e, mask] of once.values()) for (let r = 0; r < 3; r++) if (mask & (1 << r)) replicas[r].push(e);
          // A replica that got none of the entries shipped no block.
          const held = replicas.map((es, r) => [es, r] as const).filter(([es]) => es.length > 0);
          const sources = await Promise.all(held.map(([es, r]) => source(`01JREPLICA${r}000000000000000`, es, cuts[r])));
          const { r, data } = await merge(sources);
          // Timestamps ascend; at one timestamp a copied chunk keeps its push order, so compare sorted.
          const got = await readBack(r!.index, data);
          for (const [, es] of got) for (let i = 1; i < es.length; i++) expect(es[i][0]).toBeGreaterThanOrEqual(es[i - 1][0]);
          const byTsLine = (a: readonly [number, string, boolean], b: readonly [number, string, boolean]) =>
            a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0);
          expect(got.map(([l, es]) => [l, [...es].sort(byTsLine)])).toEqual(expected(rows.map(([e]) => e)));
          const want = expected(rows.map(([e]) => e)).reduce((n, s) => n + s[1].length, 0);
          expect(r!.meta.stats.numEntries).toBe(want);
          expect(r!.duplicates).toBe(replicas.reduce((n, es) => n + es.length, 0) - want);
        },
      ),
      { numRuns: 60 },
    );
  });

  test('equal timestamps with different lines are all kept', async () => {
    const a = await source(
      '01JA0000000000000000000000',
      [
        { stream: 0, ts: 5, line: 'second' },
        { stream: 0, ts: 5, line: 'first' },
      ],
      [9],
    );
    const b = await source(
      '01JB0000000000000000000000',
      [
        { stream: 0, ts: 5, line: 'first' },
        { stream: 0, ts: 5, line: 'third' },
      ],
      [9],
    );
    const { r, data } = await merge([a, b]);
    expect(await readBack(r!.index, data)).toEqual([
      [
        STREAMS[0].toString(),
        [
          [5, 'first', false],
          [5, 'second', false],
          [5, 'third', false],
        ],
      ],
    ]);
  });

  test('a large chunk no other chunk of its stream overlaps is copied byte for byte; overlapping ones are merged', async () => {
    // Large enough to be copied: half the head's block size.
    const early = Array.from({ length: 10 }, (_, i): Entry => ({ stream: 1, ts: i, line: `e${i} ${'z'.repeat(BLOCK_TARGET_BYTES / 19)}` }));
    const late = Array.from({ length: 10 }, (_, i): Entry => ({ stream: 1, ts: 100 + i, line: `l${i}` }));
    const a = await source('01JA0000000000000000000000', [...early, ...late], [10]);
    const b = await source('01JB0000000000000000000000', late, [10]);
    const { r, data } = await merge([a, b]);
    expect(r!.copiedChunks).toBe(1);
    const [aEarly] = a.streams[0].chunks;
    const [mEarly] = parseLogIndex(r!.index.toString(), 'merged')[0].chunks;
    expect(data.subarray(mEarly.offset, mEarly.offset + mEarly.length)).toEqual(
      a.data.subarray(aEarly.offset, aEarly.offset + aEarly.length),
    );
    expect((await readBack(r!.index, data))[0][1].map((e) => e[1])).toEqual([...early, ...late].map((e) => e.line));
  });

  test('a merged stream is cut into blocks of the head block size', async () => {
    const line = 'y'.repeat(1000);
    const many = Array.from({ length: 800 }, (_, i): Entry => ({ stream: 2, ts: i, line: `${String(i).padStart(4, '0')} ${line}` }));
    const { r, data } = await merge([
      await source('01JA0000000000000000000000', many, [800]),
      await source('01JB0000000000000000000000', many, [300]),
    ]);
    // The head's count: line length + 16 per entry, cut once the target is reached.
    const perBlock = Math.ceil(BLOCK_TARGET_BYTES / (many[0].line.length + 16));
    const counts = parseLogIndex(r!.index.toString(), 'merged')[0].chunks.map((c) => c.count);
    expect(counts).toEqual([perBlock, perBlock, perBlock, 800 - 3 * perBlock]);
    expect((await readBack(r!.index, data))[0][1]).toHaveLength(800);
  });

  test('a source whose chunk does not decode is named by the error', async () => {
    const rows = Array.from({ length: 5 }, (_, i): Entry => ({ stream: 0, ts: i, line: `r${i}` }));
    const good = await source('01JGOOD0000000000000000000', rows, [5]);
    const bad = await source('01JBAD00000000000000000000', rows, [5]);
    bad.data[bad.data.length - 3] ^= 0xff;
    await expect(merge([good, bad])).rejects.toThrow(LogSourceCorruptError);
    await expect(merge([good, bad])).rejects.toMatchObject({ ulid: '01JBAD00000000000000000000' });
  });

  test("the merged block holds the sum of the sources' sampled-out counts; a block from before them has none", async () => {
    const a = await source('01JAAAAAAAAAAAAAAAAAAAAAAA', [{ stream: 0, ts: 1, line: 'a' }], [4]);
    const b = await source('01JBBBBBBBBBBBBBBBBBBBBBBB', [{ stream: 0, ts: 1, line: 'a' }], [4]);
    const ta = new SampledOutTally(Infinity);
    ta.addMinute(STREAMS[0], 3, 2, 20);
    ta.addMinute(STREAMS[1], 4, 1, 5);
    const tb = new SampledOutTally(Infinity);
    tb.addMinute(STREAMS[0], 3, 1, 9);
    a.sampledOut = ta;
    b.sampledOut = tb;
    const { r } = await merge([a, b, await source('01JCCCCCCCCCCCCCCCCCCCCCCC', [{ stream: 2, ts: 2, line: 'c' }], [4])]);
    const index = parseLogIndexWithSampledOut(r!.index.toString(), 'merged');
    expect(index.sampledOut.toStreams().map((x) => [x.labels.toString(), x.minutes])).toEqual([
      [STREAMS[0].toString(), [[3, 3, 29]]],
      [STREAMS[1].toString(), [[4, 1, 5]]],
    ]);
    expect([r!.meta.stats.sampledOutEntries, r!.meta.stats.sampledOutBytes]).toEqual([4, 34]);
    // A block's range covers the minutes of its counts, not only its entries.
    expect([r!.meta.minTimeNs, r!.meta.maxTimeNs]).toEqual(['1', String(5n * 60_000_000_000n - 1n)]);
    // An index from before the counts (no sampledOut key) reads as none.
    expect(parseLogIndexWithSampledOut('{"version":1,"streams":[]}', 'old').sampledOut.isEmpty()).toBe(true);
    expect(() => parseLogIndexWithSampledOut('{"version":1,"streams":[],"sampledOut":[{"labels":[]}]}', 'bad')).toThrow(/sampledOut/);
  });
});
