import fc from 'fast-check';
import { Labels, Matcher, mulberry32 } from '@strata/model';
import zstd from '@mongodb-js/zstd';
import {
  compressBlock,
  decodeRawBlock,
  decompressBlock,
  encodeBlock,
  encodeRawBlock,
  type BlockCompression,
} from '../chunk/block-codec.js';
import { syntheticLine, syntheticStreams } from '../chunk/synthetic-logs.js';
import { LogHead } from './log-head.js';

const STREAMS = [
  Labels.fromObject({ app: 'api', env: 'prod' }),
  Labels.fromObject({ app: 'api', env: 'dev' }),
  Labels.fromObject({ app: 'db' }),
];

type Op = { kind: 'push'; stream: number; ts: number; line: string; meta?: string } | { kind: 'seal' };
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({
      kind: fc.constant('push' as const),
      stream: fc.nat(2),
      ts: fc.nat(50),
      line: fc.constantFrom('a', 'needle x', 'b needle', 'c'),
      meta: fc.option(fc.constantFrom('t1', 't2'), { nil: undefined }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'seal' as const }) },
);

/** The model: every pushed entry, then sort (stable), dedupe (ts, line), window, filter, limit. */
function expected(
  ops: Op[],
  stream: number,
  start: number,
  end: number,
  needle: string | undefined,
  limit: number | undefined,
  dir: 'forward' | 'backward',
) {
  const rows = ops.flatMap((o, i) => (o.kind === 'push' && o.stream === stream ? [{ ...o, i }] : []));
  rows.sort((a, b) => a.ts - b.ts || a.i - b.i);
  const seen = new Set<string>();
  let out = rows.filter((r) => {
    const k = `${r.ts}/${r.line}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return r.ts >= start && r.ts < end && (needle === undefined || r.line.includes(needle));
  });
  if (limit !== undefined && out.length > limit) out = dir === 'forward' ? out.slice(0, limit) : out.slice(out.length - limit);
  return out.map((r) => [r.ts, r.line, r.meta ?? null]);
}

describe('LogHead', () => {
  test.each(['zstd', 'snappy'] as BlockCompression[])(
    'selectLogs equals a sorted, deduplicated model of the pushes (%s)',
    async (compression) => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(op, { maxLength: 60 }),
          fc.nat(50),
          fc.nat(50),
          fc.option(fc.constant('needle'), { nil: undefined }),
          fc.option(fc.nat(5), { nil: undefined }),
          fc.constantFrom('forward' as const, 'backward' as const),
          async (ops, a, b, needle, limit, direction) => {
            const head = new LogHead({ compression });
            for (const o of ops) {
              if (o.kind === 'seal') await head.sealAll();
              else
                head.append(
                  STREAMS[o.stream],
                  BigInt64Array.of(BigInt(o.ts)),
                  [o.line],
                  [o.meta ? Labels.fromObject({ trace: o.meta }) : undefined],
                );
            }
            const [start, end] = a <= b ? [a, b + 1] : [b, a + 1];
            const got = await head.selectLogs([new Matcher('=', 'app', 'api')], {
              startNs: BigInt(start),
              endNs: BigInt(end),
              requiredSubstrings: needle ? [needle] : undefined,
              lineFilter: needle ? (l) => l.includes(needle) : undefined,
              limit,
              direction,
            });
            for (const s of [0, 1]) {
              const e = got.find((g) => g.labels.equals(STREAMS[s]));
              const rows = e ? [...e.timestampsNs].map((t, i) => [Number(t), e.lines[i], e.metadata?.[i]?.get('trace') ?? null]) : [];
              expect(rows).toEqual(expected(ops, s, start, end, needle, limit, direction));
            }
            expect(got.some((g) => g.labels.equals(STREAMS[2]))).toBe(false);
          },
        ),
        { numRuns: 150 },
      );
    },
  );

  test('series, label names and values come from the streams with entries in the window', async () => {
    const head = new LogHead();
    head.append(STREAMS[0], BigInt64Array.of(10n), ['x'], undefined);
    head.append(STREAMS[2], BigInt64Array.of(100n), ['y'], undefined);
    const early = { startNs: 0n, endNs: 50n };
    expect((await head.series([new Matcher('=~', 'app', '.+')], early)).map((l) => l.toString())).toEqual(['{app="api", env="prod"}']);
    expect(await head.labelNames([], { startNs: 0n, endNs: 200n })).toEqual(['app', 'env']);
    expect(await head.labelValues('app', [], early)).toEqual(['api']);
    expect(await head.labelValues('app', [], { startNs: 0n, endNs: 200n })).toEqual(['api', 'db']);
  });

  test('a block without the needle is not decoded; sealed blocks report stored and raw bytes', async () => {
    const head = new LogHead();
    head.append(
      STREAMS[0],
      BigInt64Array.from({ length: 1000 }, (_, i) => BigInt(i)),
      Array.from({ length: 1000 }, (_, i) => `line ${i} level=info`),
      undefined,
    );
    await head.sealAll();
    let calls = 0;
    const got = await head.selectLogs([new Matcher('=', 'app', 'api')], {
      startNs: 0n,
      endNs: 2000n,
      requiredSubstrings: ['level=error'],
      lineFilter: (l) => (calls++, l.includes('level=error')),
    });
    expect(got).toEqual([]);
    expect(calls).toBe(0);
    const st = head.stats();
    expect(st.rawBytes).toBeGreaterThan(st.storedBytes * 3);
  });
});

describe('block codec', () => {
  test.each(['zstd', 'snappy'] as BlockCompression[])('round-trips entries with metadata and any timestamps (%s)', async (c) => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            ts: fc.bigInt({ min: -(2n ** 62n), max: 2n ** 62n }),
            line: fc.string({ unit: 'grapheme', maxLength: 30 }),
            m: fc.option(fc.dictionary(fc.stringMatching(/^[a-z]{1,4}$/), fc.string({ minLength: 1, maxLength: 5 })), { nil: undefined }),
          }),
          { minLength: 1, maxLength: 40 },
        ),
        async (rows) => {
          rows.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
          const md = rows.map((r) => (r.m && Object.keys(r.m).length > 0 ? Labels.fromObject(r.m) : undefined));
          const b = await encodeBlock(
            BigInt64Array.from(rows.map((r) => r.ts)),
            rows.map((r) => r.line),
            md,
            c,
          );
          const into = { ts: [] as bigint[], lines: [] as string[], metadata: undefined as (Labels | undefined)[] | undefined };
          decodeRawBlock(await decompressBlock(b), b.minTs, b.count, into);
          expect(into.ts).toEqual(rows.map((r) => r.ts));
          expect(into.lines).toEqual(rows.map((r) => r.line));
          expect(rows.map((_, i) => into.metadata?.[i]?.key())).toEqual(md.map((m) => m?.key()));
        },
      ),
      { numRuns: 100 },
    );
  });

  test('zstd blocks are written at the codec level chosen, not the library default', async () => {
    const rnd = mulberry32(5);
    const st = syntheticStreams(2);
    const lines = Array.from({ length: 1500 }, (_, i) => syntheticLine(st[i % 2], rnd, 1_700_000_000_000 + i * 1000));
    const raw = encodeRawBlock(
      BigInt64Array.from(lines, (_, i) => BigInt(i)),
      lines,
      undefined,
    );
    const chosen = await compressBlock(raw, 'zstd');
    expect((await zstd.decompress(chosen)).equals(raw)).toBe(true);
    // Level 3, the library's default, takes about an eighth more on such lines.
    expect(chosen.length).toBeLessThan((await zstd.compress(raw)).length * 0.95);
  });

  test('a corrupt block is a BlockCorruptError, never a wrong answer', async () => {
    const b = await encodeBlock(BigInt64Array.of(1n, 2n), ['hello', 'world'], undefined, 'zstd');
    const bad = { ...b, data: Buffer.from(b.data) };
    bad.data[bad.data.length - 2] ^= 0xff;
    await expect(decompressBlock(bad)).rejects.toThrow();
    const raw = await decompressBlock(b);
    expect(() => decodeRawBlock(raw.subarray(0, raw.length - 1), b.minTs, b.count, { ts: [], lines: [], metadata: undefined })).toThrow(
      /block|varint|string/,
    );
  });
});
