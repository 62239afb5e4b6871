/**
 * RawPacker round trips: whatever stores write (whole RawSeries, chunk by chunk, native histogram
 * chunks, samples as value bits, samples with native histograms, from several sources with
 * repeated label sets, with failed stores rolled back, appended packers) unpacks to the RawSeries MergeQuerier.selectRaw would have given, bit for bit, also
 * after the buffers crossed a MessagePort by transfer.
 */
import { MessageChannel } from 'node:worker_threads';
import fc from 'fast-check';
import { FloatHistogram, type Span } from './histogram.js';
import { Labels } from './labels.js';
import {
  mergeRawDuplicates,
  RawPacker,
  rawTransfer,
  releaseBlocks,
  resolveBlocks,
  unpackRaw,
  type BlockLease,
  type LeasableBlock,
  type PackedRaw,
} from './raw-pack.js';
import type { RawPart, RawSeries } from './storage.js';

/** NaN payloads (staleness markers) included: values must cross as bits. */
const STALE = new Float64Array(new Uint32Array([0x00000002, 0x7ff00000]).buffer)[0];

const labelsArb = fc.record({ job: fc.constantFrom('a', 'b', 'c'), i: fc.constantFrom('1', '2', 'é€') }).map((o) => Labels.fromObject(o));
const spansArb = fc.array(fc.record({ offset: fc.integer({ min: -5, max: 5 }), length: fc.integer({ min: 0, max: 3 }) }), { maxLength: 3 });
const countsFor = (spans: Span[]) =>
  fc.array(fc.double(), { minLength: spans.reduce((n, x) => n + x.length, 0), maxLength: spans.reduce((n, x) => n + x.length, 0) });
/** Any float histogram: every schema (custom bounds for -53), odd counts (-0, NaN, infinities), every hint. */
const histogramArb: fc.Arbitrary<FloatHistogram> = fc
  .record({ schema: fc.oneof(fc.integer({ min: -4, max: 8 }), fc.constant(-53)), pos: spansArb, neg: spansArb })
  .chain(({ schema, pos, neg }) =>
    fc.record({
      schema: fc.constant(schema),
      zeroThreshold: fc.double({ min: 0, max: 1, noNaN: true }),
      zeroCount: fc.double(),
      count: fc.double(),
      sum: fc.double(),
      positiveSpans: fc.constant(pos),
      positiveBuckets: countsFor(pos),
      negativeSpans: fc.constant(neg),
      negativeBuckets: countsFor(neg),
      customValues: schema === -53 ? fc.array(fc.double({ noNaN: true }), { minLength: 1, maxLength: 4 }) : fc.constant(undefined),
      counterResetHint: fc.constantFrom(0, 1, 2, 3) as fc.Arbitrary<0 | 1 | 2 | 3>,
    }),
  )
  .map((init) => new FloatHistogram(init));
const partArb: fc.Arbitrary<RawPart> = fc.oneof(
  fc.array(fc.uint8Array({ minLength: 0, maxLength: 40 }), { minLength: 1, maxLength: 4 }).map((chunks) => ({ chunks })),
  fc
    .array(fc.record({ e: fc.constantFrom(2, 3), c: fc.uint8Array({ minLength: 0, maxLength: 40 }) }), { minLength: 1, maxLength: 3 })
    .map((cs) => ({ histogramChunks: cs.map((x) => x.c), encodings: cs.map((x) => x.e) })),
  fc.array(fc.oneof(fc.double(), fc.constant(STALE)), { minLength: 1, maxLength: 6 }).map((vs) => ({
    timestamps: Float64Array.from(vs, (_, i) => 1000 * i),
    values: Float64Array.from(vs),
  })),
  fc.array(fc.option(histogramArb, { nil: undefined }), { minLength: 1, maxLength: 4 }).map((hs) => ({
    timestamps: Float64Array.from(hs, (_, i) => 1000 * i),
    values: Float64Array.from(hs, (h) => (h ? 0 : STALE)),
    histograms: hs,
  })),
);
const seriesArb: fc.Arbitrary<RawSeries> = fc.record({ labels: labelsArb, parts: fc.array(partArb, { minLength: 0, maxLength: 3 }) });
/** One store's answer: label sets distinct, as a store gives them. */
const storeArb = fc.uniqueArray(seriesArb, { selector: (s) => s.labels.key(), maxLength: 6 });

/** What a reader must see: parts as bits, series without parts dropped, repeated label sets merged. */
function canonical(series: readonly RawSeries[]): unknown[] {
  return series.map((s) => ({
    labels: s.labels.pairs.join('\u0000'),
    parts: s.parts.map((p) =>
      'chunks' in p
        ? { chunks: p.chunks.map((c) => Buffer.from(c).toString('hex')) }
        : 'histogramChunks' in p
          ? { histogramChunks: p.histogramChunks.map((c) => Buffer.from(c).toString('hex')), encodings: [...p.encodings] }
          : {
              ts: [...p.timestamps],
              bits: Buffer.from(new Uint8Array(p.values.buffer, p.values.byteOffset, p.values.byteLength)).toString('hex'),
              // Objects of the class, not plain copies: PromQL calls their methods.
              ...(p.histograms ? { hs: p.histograms.map((h) => h && (expect(h).toBeInstanceOf(FloatHistogram), { ...h })) } : {}),
            },
    ),
  }));
}

function expected(stores: readonly RawSeries[][]): RawSeries[] {
  const kept = stores.flat().filter((s) => s.parts.length > 0);
  return stores.length > 1 ? mergeRawDuplicates(kept) : kept;
}

async function viaPort(p: PackedRaw): Promise<PackedRaw> {
  const { port1, port2 } = new MessageChannel();
  const got = new Promise<PackedRaw>((resolve) => port2.once('message', resolve));
  port1.postMessage(p, rawTransfer(p));
  const out = await got;
  port1.close();
  port2.close();
  // Transferred, not copied: the sender's views are detached.
  for (const x of p.pieces) expect(x.bytes.byteLength).toBe(0);
  return out;
}

describe('RawPacker', () => {
  test('add() from several sources unpacks to the merged RawSeries, also after a transfer', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(storeArb, { minLength: 1, maxLength: 3 }), async (stores) => {
        const into = new RawPacker();
        for (const store of stores) {
          into.beginSource();
          for (const s of store) into.add(s);
        }
        const packed = into.finish();
        const want = canonical(expected(stores));
        expect(canonical(unpackRaw(packed))).toEqual(want);
        expect(canonical(unpackRaw(await viaPort(packed)))).toEqual(want);
      }),
      { numRuns: 200 },
    );
  });

  test('a failed store rolled back leaves what the others wrote; packers appended keep their sources', () => {
    fc.assert(
      fc.property(storeArb, storeArb, storeArb, (a, failed, b) => {
        const first = new RawPacker();
        first.beginSource();
        for (const s of a) first.add(s);
        const mark = first.mark();
        first.beginSource();
        for (const s of failed) first.add(s);
        first.rollback(mark);
        const second = new RawPacker();
        second.beginSource();
        for (const s of b) second.add(s);
        const all = new RawPacker();
        all.append(first.finish());
        all.append(second.finish());
        expect(canonical(unpackRaw(all.finish()))).toEqual(canonical(expected([a, b])));
      }),
      { numRuns: 200 },
    );
  });

  test('deferred blocks read by the receiver land in store order, through rollbacks, adopt() and append(); every lease ends', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ store: storeArb, how: fc.constantFrom('pack', 'defer', 'failed-defer', 'failed-pack') }), { maxLength: 5 }),
        fc.constantFrom('direct', 'adopt', 'append'),
        async (stores, via) => {
          let holds = 0;
          const contents = new Map<string, RawSeries[]>();
          const block = (i: number, series: RawSeries[]): LeasableBlock => {
            contents.set(`b${i}`, series);
            const lease = (): BlockLease => {
              holds++;
              let done = false;
              return { retain: lease, release: () => (done ? undefined : ((done = true), holds--)) };
            };
            return { dir: `/blocks/b${i}`, ulid: `b${i}`, lease };
          };
          const inner = new RawPacker({ deferBlocks: true });
          stores.forEach(({ store, how }, i) => {
            const mark = inner.mark();
            if (how.endsWith('defer')) inner.deferBlock(block(i, store), 10, 20);
            else {
              inner.beginSource();
              for (const x of store) inner.add(x);
            }
            if (how.startsWith('failed')) inner.rollback(mark);
          });
          let packed = inner.finish();
          if (via !== 'direct') {
            const outer = new RawPacker({ deferBlocks: true });
            outer.beginSource();
            if (via === 'adopt') outer.adopt(packed);
            else outer.append(packed);
            if (via === 'append') releaseBlocks(packed);
            packed = outer.finish();
          }
          const kept = stores.filter((x) => !x.how.startsWith('failed'));
          expect(holds).toBe(kept.filter((x) => x.how === 'defer').length);
          const read = await resolveBlocks(packed, async (b) => {
            expect([b.start, b.end]).toEqual([10, 20]);
            const p = new RawPacker();
            p.beginSource();
            for (const x of contents.get(b.ulid)!) p.add(x);
            return p.finish();
          });
          // Store order kept: equal label sets merged with the earlier store's parts first.
          expect(canonical(unpackRaw(read))).toEqual(canonical(expected([[], ...kept.map((x) => x.store)])));
          releaseBlocks(packed);
          expect(holds).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });

  test('histogramChunk() joins one part of its own between XOR chunks, each chunk with its encoding', () => {
    const into = new RawPacker();
    into.beginSource();
    into.beginSeries(Labels.fromObject({ a: '1' }));
    into.chunk(Uint8Array.from([1]));
    into.histogramChunk(2, Uint8Array.from([2, 2]));
    into.histogramChunk(3, Uint8Array.from([3]));
    into.chunk(Uint8Array.from([4]));
    into.endSeries();
    expect(canonical(unpackRaw(into.finish()))).toEqual(
      canonical([
        {
          labels: Labels.fromObject({ a: '1' }),
          parts: [
            { chunks: [Uint8Array.from([1])] },
            { histogramChunks: [Uint8Array.from([2, 2]), Uint8Array.from([3])], encodings: [2, 3] },
            { chunks: [Uint8Array.from([4])] },
          ],
        },
      ]),
    );
  });

  test('samplesFromBits takes [from, to) of low-word-first value bits; chunk() joins one chunks part', () => {
    const ts = Float64Array.from([1, 2, 3, 4]);
    const values = Float64Array.from([0.5, STALE, -0, 7]);
    const bits = new Uint32Array(values.buffer);
    const into = new RawPacker();
    into.beginSource();
    into.beginSeries(Labels.fromObject({ a: '1' }));
    into.chunk(Uint8Array.from([1, 2]));
    into.chunk(Uint8Array.from([3]));
    into.samplesFromBits(ts, bits, 1, 3);
    expect(into.endSeries()).toBe(true);
    into.beginSeries(Labels.fromObject({ a: '2' }));
    expect(into.endSeries()).toBe(false);
    const [s, ...rest] = unpackRaw(into.finish());
    expect(rest).toHaveLength(0);
    expect(canonical([s])).toEqual(
      canonical([
        {
          labels: Labels.fromObject({ a: '1' }),
          parts: [
            { chunks: [Uint8Array.from([1, 2]), Uint8Array.from([3])] },
            { timestamps: ts.subarray(1, 3), values: values.subarray(1, 3) },
          ],
        },
      ]),
    );
  });
});

test('label text crosses as code units: any string, lone surrogates included, and texts longer than one decoding run', async () => {
  // Values of 0..3000 code units with 1..40 of them: the larger sets pass DECODE_RUN (8192 units).
  const valueArb = fc.oneof(fc.string({ unit: 'binary', maxLength: 30 }), fc.string({ unit: 'binary', minLength: 2000, maxLength: 3000 }));
  await fc.assert(
    fc.asyncProperty(fc.array(fc.array(valueArb, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 10 }), async (sets) => {
      const labels = sets.map((vs) => Labels.fromObject(Object.fromEntries(vs.map((v, i) => [`l${i}`, v]))));
      const into = new RawPacker();
      for (const l of labels) {
        into.beginSeries(l);
        into.chunk(new Uint8Array([1]));
        into.endSeries();
      }
      const back = unpackRaw(await viaPort(into.finish())).map((s) => s.labels.pairs);
      expect(back).toEqual(labels.map((l) => l.pairs));
    }),
    { numRuns: 40 },
  );
});

test('adopt() takes over the pieces of a packed answer, after what the packer holds; append() copies them', () => {
  const one = new RawPacker();
  one.add({ labels: Labels.fromObject({ a: '1' }), parts: [{ chunks: [new Uint8Array([1, 2, 3])] }] });
  const p = one.finish();
  const empty = new RawPacker();
  empty.adopt(p);
  const taken = empty.finish();
  expect(taken.pieces).toHaveLength(1);
  expect(taken.pieces[0].bytes.buffer).toBe(p.pieces[0].bytes.buffer);
  expect(taken.pieces[0].labels.units.buffer).toBe(p.pieces[0].labels.units.buffer);
  expect(canonical(unpackRaw(taken))).toEqual(canonical(unpackRaw(p)));
  const other = new RawPacker();
  other.add({ labels: Labels.fromObject({ b: '2' }), parts: [{ chunks: [new Uint8Array([4])] }] });
  other.adopt(p);
  const both = other.finish();
  expect(both.pieces[1].bytes.buffer).toBe(p.pieces[0].bytes.buffer);
  expect(unpackRaw(both).map((s) => s.labels.pairs)).toEqual([
    ['b', '2'],
    ['a', '1'],
  ]);
  const copied = new RawPacker();
  copied.append(p);
  const c = copied.finish();
  expect(c.pieces[0].bytes.buffer).not.toBe(p.pieces[0].bytes.buffer);
  expect(canonical(unpackRaw(c))).toEqual(canonical(unpackRaw(p)));
});

test('a large select goes into pieces of a few MiB, never one array grown past them; pieces unpack, roll back and transfer as one answer', async () => {
  // 3,000 series of two 1 KiB chunks: about 6 MiB of chunk bytes, more than a piece holds.
  const series = Array.from({ length: 3000 }, (_, i) => ({
    labels: Labels.fromObject({ __name__: 'm', i: String(i).padStart(5, '0') }),
    parts: [{ chunks: [new Uint8Array(1024).fill(i & 255), new Uint8Array(1024).fill((i + 1) & 255)] }],
  }));
  const into = new RawPacker();
  into.beginSource();
  for (const s of series.slice(0, 2000)) into.add(s);
  const mark = into.mark();
  into.beginSource();
  // A store that fails after the open piece was sealed: rolled back to the mark, across the seal.
  for (const s of series.slice(0, 2500)) into.add({ ...s, labels: Labels.fromObject({ __name__: 'failed', i: s.labels.get('i')! }) });
  into.rollback(mark);
  for (const s of series.slice(2000)) into.add(s);
  expect(into.length).toBe(3000);
  const packed = into.finish();
  expect(packed.pieces.length).toBeGreaterThan(1);
  for (const x of packed.pieces) expect(x.bytes.buffer.byteLength).toBeLessThanOrEqual(8 << 20);
  const want = canonical(series);
  expect(canonical(unpackRaw(packed))).toEqual(want);
  expect(canonical(unpackRaw(await viaPort(packed)))).toEqual(want);
});

test('a packer that adopted an empty answer grows when written to (its arrays are views of length 0)', () => {
  const into = new RawPacker();
  into.adopt(new RawPacker().finish());
  into.add({ labels: Labels.fromObject({ a: '1' }), parts: [{ chunks: [new Uint8Array([1, 2, 3])] }] });
  expect(unpackRaw(into.finish()).map((s) => [s.labels.pairs, [...(s.parts[0] as { chunks: Uint8Array[] }).chunks[0]]])).toEqual([
    [
      ['a', '1'],
      [1, 2, 3],
    ],
  ]);
});
