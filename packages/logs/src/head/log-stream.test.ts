import fc from 'fast-check';
import { Labels } from '@strata/model';
import { decodeRawBlock, decompressBlock, encodeBlock, type BlockCompression } from '../chunk/block-codec.js';
import { OpenBlock } from './log-stream.js';

const entry = fc.record({
  ts: fc.bigInt({ min: -(2n ** 62n), max: 2n ** 62n }),
  line: fc.string({ unit: 'grapheme', maxLength: 300 }),
  meta: fc.option(fc.dictionary(fc.stringMatching(/^[a-z]{1,4}$/), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 5 })), {
    nil: undefined,
  }),
});
type Entry = { ts: bigint; line: string; meta: Labels | undefined };

const labelsOf = (m: Record<string, string> | undefined) => (m && Object.keys(m).length > 0 ? Labels.fromObject(m) : undefined);

function fill(entries: readonly Entry[]): OpenBlock {
  const b = new OpenBlock();
  for (const e of entries) b.add(e.ts, e.line, e.meta, 0);
  return b;
}

describe('OpenBlock', () => {
  test.each(['zstd', 'snappy'] as BlockCompression[])(
    'reads back every entry as pushed and seals into the block of its entries stably sorted (%s)',
    async (c) => {
      await fc.assert(
        fc.asyncProperty(fc.array(entry, { minLength: 1, maxLength: 200 }), async (rows) => {
          const entries: Entry[] = rows.map((r) => ({ ts: r.ts, line: r.line, meta: labelsOf(r.meta) }));
          const b = fill(entries);
          expect(b.count).toBe(entries.length);
          for (let i = 0; i < entries.length; i++) {
            expect(b.ts(i)).toBe(entries[i].ts);
            const e = b.entry(i);
            expect(e.line).toBe(entries[i].line);
            expect(e.meta?.key()).toBe(entries[i].meta?.key());
          }
          const sorted = entries.map((e, i) => ({ ...e, i })).sort((x, y) => (x.ts < y.ts ? -1 : x.ts > y.ts ? 1 : x.i - y.i));
          const want = await encodeBlock(
            BigInt64Array.from(sorted, (e) => e.ts),
            sorted.map((e) => e.line),
            sorted.map((e) => e.meta),
            c,
          );
          const got = await b.seal(c);
          expect({ ...got, data: undefined }).toEqual({ ...want, data: undefined });
          const raw = await decompressBlock(got);
          expect(raw.equals(await decompressBlock(want))).toBe(true);
          const into = { ts: [] as bigint[], lines: [] as string[], metadata: undefined as (Labels | undefined)[] | undefined };
          decodeRawBlock(raw, got.minTs, got.count, into);
          expect(into.lines).toEqual(sorted.map((e) => e.line));
        }),
        { numRuns: 100 },
      );
    },
  );

  test('addAll appends the other block after its own entries, as adding them one by one does', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(entry, { maxLength: 50 }), fc.array(entry, { maxLength: 50 }), async (xs, ys) => {
        const a = xs.map((r) => ({ ts: r.ts, line: r.line, meta: labelsOf(r.meta) }));
        const b = ys.map((r) => ({ ts: r.ts, line: r.line, meta: labelsOf(r.meta) }));
        const joined = fill(a);
        joined.addAll(fill(b));
        const one = fill([...a, ...b]);
        expect(joined.count).toBe(one.count);
        expect(joined.bytes).toBe(one.bytes);
        expect(joined.sorted).toBe(one.sorted);
        for (let i = 0; i < one.count; i++) {
          expect(joined.ts(i)).toBe(one.ts(i));
          expect(joined.entry(i)).toEqual(one.entry(i));
        }
      }),
      { numRuns: 100 },
    );
  });
});
