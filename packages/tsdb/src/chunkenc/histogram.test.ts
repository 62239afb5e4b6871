import fc from 'fast-check';
import { BitReader, BitWriter } from './bits.js';
import {
  CounterResetHeader,
  decodeHistogramChunk,
  ENCODING_FLOAT_HISTOGRAM,
  ENCODING_HISTOGRAM,
  FloatHistogramChunkEncoder,
  HistogramChunkEncoder,
  type HistogramSample,
} from './histogram.js';
import { STALE_NAN, isStaleNaN } from './stale.js';
import {
  putCustomBound,
  putVarbitInt,
  putVarbitUint,
  putZeroThreshold,
  readCustomBound,
  readVarbitInt,
  readVarbitUint,
  readZeroThreshold,
} from './varbit.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function sample(h: Partial<HistogramSample>): HistogramSample {
  return {
    schema: 0,
    zeroThreshold: 0,
    zeroCount: 0,
    count: 0,
    sum: 0,
    positiveSpans: [],
    positiveBuckets: [],
    negativeSpans: [],
    negativeBuckets: [],
    customValues: [],
    ...h,
  };
}

describe('histogram chunk encodings (Prometheus encoding 2 and 3)', () => {
  // Worked out bit by bit from Prometheus' chunk format (docs/format/chunk.md):
  //   header 0002 00; layout: zero threshold 0 → 00000000, schema 0 → 0, one positive span
  //   (count 1 → 10 001, length 2 → 10 010, offset 0 → 0), no negative spans → 0.
  //   integer sample 0: t 1000 → 11110 001111101000, count 5 → 10 101, zero count 1 → 10 001,
  //     sum 10.0 as 64 bits, bucket deltas 2 → 10 010 and 0 → 0.
  //   integer sample 1 (t 2000, count 8, sum 12, buckets 3 3): t dod 1000, count dod 3 → 10 011,
  //     zero count dod 0 → 0, sum XOR 0x000C… → 1 1 01100 000010 11, bucket dods 1 → 10 001, 0 → 0.
  //   float samples: t as above, then count, zero count, sum and buckets as float64; the second
  //     XORs each field with its own last value (count 8 vs 5: 1 1 01010 000100 1101, zero
  //     count unchanged 0, sum as above, bucket 3 vs 2: 1 1 01100 000001 1, bucket 2 vs 2: 0).
  const first = sample({ count: 5, zeroCount: 1, sum: 10, positiveSpans: [{ offset: 0, length: 2 }] });
  test('golden integer chunk', () => {
    const e = new HistogramChunkEncoder(CounterResetHeader.Unknown);
    e.append(1000, { ...first, positiveBuckets: [2, 0] });
    e.append(2000, { ...first, count: 8, sum: 12, positiveBuckets: [3, 0] });
    expect(hex(e.bytes())).toBe('0002000046478fa2b1402400000000000093c7d136c0b880');
  });

  test('golden float chunk', () => {
    const e = new FloatHistogramChunkEncoder(CounterResetHeader.Unknown);
    e.append(1000, { ...first, positiveBuckets: [2, 2] });
    e.append(2000, { ...first, count: 8, sum: 12, positiveBuckets: [3, 2] });
    expect(hex(e.bytes())).toBe(
      '0002000046478fa10050000000000000ffc0000000000001009000000000000100000000000000010000000000000003c7d1a84d6c0bd80c',
    );
  });

  test('the counter-reset header sits in the top bits of the third byte', () => {
    for (const h of Object.values(CounterResetHeader)) {
      const e = new HistogramChunkEncoder(h);
      e.append(1, first);
      expect(e.bytes()[2]).toBe(h);
      expect(decodeHistogramChunk(e.bytes(), ENCODING_HISTOGRAM).header).toBe(h);
    }
  });

  test.each<[number, string]>([
    [0, '00'],
    [2 ** -128, (-127 + 243).toString(16)],
    [0.5, (0 + 243).toString(16)],
    [1024, (11 + 243).toString(16)],
    [2048, 'ff40a0000000000000'],
    [0.001, 'ff3f50624dd2f1a9fc'],
  ])('zero threshold %p encodes as %s', (t, expected) => {
    const w = new BitWriter(16);
    putZeroThreshold(w, t);
    expect(hex(w.bytes())).toBe(expected);
    expect(readZeroThreshold(new BitReader(w.bytes()))).toBe(t);
  });

  test.each<[number, string]>([
    // value → bits, grouped: prefix then payload.
    [0, '0'],
    [4, '10100'],
    [-3, '10101'],
    [32, '110100000'],
    [-31, '110100001'],
    [256, '1110100000000'],
    [2048, '1111010000000000000'.slice(0, 17)],
    [131072, '111110' + (131072).toString(2).padStart(18, '0')],
    [-1, '10111'],
  ])('varbit int %p', (v, bits) => {
    const w = new BitWriter(16);
    putVarbitInt(w, v);
    expect(w.nbits).toBe(bits.length);
    const got = [...w.bytes()]
      .map((b) => b.toString(2).padStart(8, '0'))
      .join('')
      .slice(0, bits.length);
    expect(got).toBe(bits);
  });

  test('varbit ints, uints and custom bounds round-trip across every width (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(fc.integer({ min: -40, max: 40 }), fc.integer(), fc.maxSafeInteger(), fc.integer({ min: -(2 ** 53) + 1, max: 0 })),
        ),
        fc.array(fc.oneof(fc.nat(5000), fc.maxSafeNat())),
        fc.array(
          fc.oneof(
            fc.integer({ min: 0, max: 33554 }).map((x) => x / 1000),
            fc.double({ noNaN: true }),
          ),
        ),
        (ints, uints, bounds) => {
          const w = new BitWriter(16);
          ints.forEach((v) => putVarbitInt(w, v));
          uints.forEach((v) => putVarbitUint(w, v));
          bounds.forEach((v) => putCustomBound(w, v));
          const r = new BitReader(w.bytes());
          expect(ints.map(() => readVarbitInt(r))).toEqual(ints.map((v) => v + 0));
          expect(uints.map(() => readVarbitUint(r))).toEqual(uints);
          expect(bounds.map(() => readCustomBound(r))).toEqual(bounds.map((v) => v + 0));
        },
      ),
    );
  });

  const layoutArb = fc.record({
    schema: fc.oneof(fc.integer({ min: -4, max: 8 }), fc.constant(-53)),
    zeroThreshold: fc.oneof(fc.constant(0), fc.constant(2 ** -128), fc.double({ min: 0, max: 10, noNaN: true })),
    positiveSpans: fc.array(fc.record({ offset: fc.integer({ min: -5, max: 5 }), length: fc.integer({ min: 0, max: 4 }) }), {
      maxLength: 3,
    }),
    negativeSpans: fc.array(fc.record({ offset: fc.integer({ min: -5, max: 5 }), length: fc.integer({ min: 0, max: 4 }) }), {
      maxLength: 3,
    }),
    customValues: fc.array(fc.double({ noNaN: true }), { maxLength: 4 }),
  });
  const nb = (spans: { length: number }[]) => spans.reduce((a, s) => a + s.length, 0);

  test.each([
    ['integer', false],
    ['float', true],
  ])('%s chunks round-trip random samples with one layout, staleness markers at the end (property)', (_n, float) => {
    fc.assert(
      fc.property(
        layoutArb,
        fc.array(
          fc.record({
            dt: fc.integer({ min: 1, max: 1e9 }),
            // Counts whose deltas of deltas stay exact as numbers (below 2^51).
            count: fc.oneof(fc.nat(), fc.integer({ min: 0, max: 2 ** 50 })),
            zeroCount: fc.nat(1e6),
            sum: fc.double(),
            buckets: fc.array(float ? fc.double() : fc.integer({ min: -1e9, max: 1e9 }), { minLength: 30, maxLength: 30 }),
          }),
          { minLength: 1, maxLength: 12 },
        ),
        fc.nat(3),
        (layout, samples, stale) => {
          // Prometheus' bound encoding stores -0 as 0 (x·1000 is a whole number ≥ 0).
          const l = { ...layout, customValues: layout.schema === -53 ? layout.customValues.map((v) => v + 0) : [] };
          const p = nb(l.positiveSpans);
          const n = nb(l.negativeSpans);
          const e = float
            ? new FloatHistogramChunkEncoder(CounterResetHeader.NotCounterReset)
            : new HistogramChunkEncoder(CounterResetHeader.NotCounterReset);
          let t = -5e8;
          const want: [number, HistogramSample][] = [];
          for (const s of samples) {
            t += s.dt;
            const h = sample({
              ...l,
              count: float ? s.count / 3 : s.count,
              zeroCount: s.zeroCount,
              sum: s.sum,
              positiveBuckets: s.buckets.slice(0, p),
              negativeBuckets: s.buckets.slice(p, p + n),
            });
            e.append(t, h);
            want.push([t, h]);
          }
          for (let k = 0; k < stale; k++) {
            t += 15000;
            e.append(t, sample({ sum: STALE_NAN }));
          }
          const got = decodeHistogramChunk(e.bytes(), float ? ENCODING_FLOAT_HISTOGRAM : ENCODING_HISTOGRAM);
          expect(got.header).toBe(CounterResetHeader.NotCounterReset);
          expect(got.timestamps.length).toBe(samples.length + stale);
          want.forEach(([wt, h], k) => {
            expect(got.timestamps[k]).toBe(wt);
            const g = got.histograms[k];
            expect({
              ...g,
              positiveBuckets: Array.from(g.positiveBuckets),
              negativeBuckets: Array.from(g.negativeBuckets),
              customValues: Array.from(g.customValues),
            }).toEqual({
              ...h,
              positiveBuckets: Array.from(h.positiveBuckets),
              negativeBuckets: Array.from(h.negativeBuckets),
              customValues: Array.from(h.customValues),
            });
          });
          for (let k = samples.length; k < got.histograms.length; k++) expect(isStaleNaN(got.histograms[k].sum)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('truncated or random chunks fail with ChunkCorruptError only (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 3, maxLength: 80 }), fc.boolean(), (bytes, float) => {
        try {
          decodeHistogramChunk(bytes, float ? ENCODING_FLOAT_HISTOGRAM : ENCODING_HISTOGRAM);
        } catch (e) {
          expect((e as Error).name).toBe('ChunkCorruptError');
        }
      }),
      { numRuns: 2000 },
    );
  });
});
