/**
 * Rollups: aggregate chunks and sketches round-trip, sketches merge within their bound, and
 * rollups of rollups equal rollups of the raw data (aggregates merged, never re-sampled).
 */
import fc from 'fast-check';
import {
  AGGR_COUNT,
  AGGR_COUNTER,
  AGGR_SKETCHES,
  decodeAggrChunk,
  encodeAggrChunk,
  encodeSketchList,
  decodeSketchList,
  CHUNK_ENCODING_AGGR,
} from '../src/downsample/aggr-chunk.js';
import { DDSketch, RELATIVE_ACCURACY } from '../src/downsample/ddsketch.js';
import {
  aggrBit,
  ALL_AGGRS,
  concatRollups,
  fromChunks,
  RES_1D,
  RES_1H,
  RES_5M,
  rollupFromRaw,
  rollupFromRollup,
  toChunks,
  windowEnd,
  type Rollup,
} from '../src/downsample/rollup.js';

/** Prometheus' quantile_over_time: rank q*(n-1), linear interpolation. */
function exactQuantile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  const rank = q * (s.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.min(lo + 1, s.length - 1);
  return s[lo] * (1 - (rank - lo)) + s[hi] * (rank - lo);
}

const bytes = fc.uint8Array({ minLength: 1, maxLength: 40 });

describe('aggregate chunk', () => {
  test('entries round-trip, absent ones included', () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(fc.record({ encoding: fc.integer({ min: 0, max: 255 }), data: bytes }), { nil: undefined }), {
          minLength: 5,
          maxLength: 6,
        }),
        (parts) => {
          const got = decodeAggrChunk(encodeAggrChunk(parts));
          expect(got.length).toBe(parts.length);
          got.forEach((g, i) => {
            if (parts[i] === undefined) expect(g).toBeUndefined();
            else
              expect({ encoding: g!.encoding, data: Buffer.from(g!.data) }).toEqual({
                encoding: parts[i]!.encoding,
                data: Buffer.from(parts[i]!.data),
              });
          });
        },
      ),
    );
  });

  test("Thanos' layout: uvarint length, encoding byte, bytes; length 0 for an absent aggregate", () => {
    const c = encodeAggrChunk([
      { encoding: 1, data: Uint8Array.of(9, 8) },
      undefined,
      undefined,
      undefined,
      { encoding: 1, data: Uint8Array.of(7) },
    ]);
    expect([...c]).toEqual([2, 1, 9, 8, 0, 0, 0, 1, 1, 7]);
    expect(CHUNK_ENCODING_AGGR).toBe(0xff);
  });

  test('sketch lists round-trip', () => {
    fc.assert(
      fc.property(fc.array(bytes, { maxLength: 20 }), (list) => {
        expect(decodeSketchList(encodeSketchList(list)).map((b) => Buffer.from(b))).toEqual(list.map((b) => Buffer.from(b)));
      }),
    );
  });
});

describe('DDSketch', () => {
  const values = fc.array(
    fc.oneof(fc.double({ min: 1e-6, max: 1e9, noNaN: true }), fc.double({ min: -1e6, max: -1e-6, noNaN: true }), fc.constant(0)),
    {
      minLength: 1,
      maxLength: 300,
    },
  );

  test('encode/decode keeps every bucket: equal bytes and quantiles', () => {
    fc.assert(
      fc.property(values, (vs) => {
        const s = new DDSketch();
        for (const v of vs) s.add(v);
        const d = DDSketch.decode(s.encode());
        expect(Buffer.compare(d.encode(), s.encode())).toBe(0);
        expect(d.count).toBe(vs.length);
        for (const q of [0, 0.5, 0.9, 0.99, 1]) expect(d.quantile(q)).toBe(s.quantile(q));
      }),
    );
  });

  test.each([12, 288])('merging %i windows gives the sketch of all values, within the relative bound of the exact quantile', (windows) => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 1e-3, max: 1e6, noNaN: true }), { minLength: windows, maxLength: windows * 20 }), (vs) => {
        const all = new DDSketch();
        for (const v of vs) all.add(v);
        const merged = new DDSketch();
        const per = Math.ceil(vs.length / windows);
        for (let w = 0; w < vs.length; w += per) {
          const s = new DDSketch();
          for (const v of vs.slice(w, w + per)) s.add(v);
          merged.merge(DDSketch.decode(s.encode()));
        }
        expect(Buffer.compare(merged.encode(), all.encode())).toBe(0);
        for (const q of [0.5, 0.9, 0.99]) {
          const exact = exactQuantile(vs, q);
          expect(Math.abs(merged.quantile(q) - exact)).toBeLessThanOrEqual(RELATIVE_ACCURACY * Math.abs(exact) * (1 + 1e-9));
        }
      }),
      { numRuns: 30 },
    );
  });
});

/** Raw samples: a counter with resets or a gauge, at irregular intervals. */
const rawSeries = fc
  .record({
    start: fc.integer({ min: 0, max: 3 * RES_1D }),
    steps: fc.array(
      fc.record({ dt: fc.integer({ min: 1, max: 400_000 }), inc: fc.double({ min: 0, max: 100, noNaN: true }), reset: fc.boolean() }),
      {
        minLength: 1,
        maxLength: 600,
      },
    ),
  })
  .map(({ start, steps }) => {
    const ts = new Float64Array(steps.length);
    const vs = new Float64Array(steps.length);
    let t = start;
    let v = 0;
    steps.forEach((s, i) => {
      t += s.dt;
      v = s.reset && i % 7 === 3 ? s.inc : v + s.inc;
      ts[i] = t;
      vs[i] = v;
    });
    return { ts, vs };
  });

function expectRollupsEqual(a: Rollup, b: Rollup): void {
  expect(Array.from(a.t)).toEqual(Array.from(b.t));
  expect(Array.from(a.count)).toEqual(Array.from(b.count));
  for (const k of ['sum', 'counter'] as const) a[k].forEach((v, i) => expect(v).toBeCloseTo(b[k][i], 6));
  expect(Array.from(a.min)).toEqual(Array.from(b.min));
  expect(Array.from(a.max)).toEqual(Array.from(b.max));
  expect([a.firstT, a.firstV, a.lastV]).toEqual([b.firstT, b.firstV, b.lastV]);
  expect(a.sketches!.map((s) => Buffer.from(s).toString('hex'))).toEqual(b.sketches!.map((s) => Buffer.from(s).toString('hex')));
}

describe('rollups', () => {
  test('raw to 5m: each window holds the count, sum, min, max, running counter total of its samples', () => {
    fc.assert(
      fc.property(rawSeries, ({ ts, vs }) => {
        const r = rollupFromRaw(ts, vs, RES_5M)!;
        let total = vs[0];
        let w = -1;
        for (let i = 0; i < ts.length; i++) {
          if (i > 0) total += vs[i] >= vs[i - 1] ? vs[i] - vs[i - 1] : vs[i];
          if (i === 0 || windowEnd(ts[i], RES_5M) !== windowEnd(ts[i - 1], RES_5M)) w++;
          // A window carries the timestamp of its last sample.
          if (i === ts.length - 1 || windowEnd(ts[i + 1], RES_5M) !== windowEnd(ts[i], RES_5M)) expect(r.t[w]).toBe(ts[i]);
        }
        expect(r.t.length).toBe(w + 1);
        expect(r.count.reduce((a, b) => a + b, 0)).toBe(ts.length);
        expect(r.counter[w]).toBeCloseTo(total, 6);
        expect(Math.max(...r.max)).toBe(Math.max(...vs));
        expect(Math.min(...r.min)).toBe(Math.min(...vs));
        expect([r.firstT, r.firstV, r.lastV]).toEqual([ts[0], vs[0], vs[vs.length - 1]]);
      }),
    );
  });

  test('aggregate chunks round-trip a rollup (counter totals re-based across chunks)', () => {
    fc.assert(
      fc.property(rawSeries, fc.constantFrom(RES_5M, RES_1H), ({ ts, vs }, res) => {
        const r = rollupFromRaw(ts, vs, res)!;
        const chunks = toChunks(r, res);
        expect(chunks.every((c) => c.encoding === CHUNK_ENCODING_AGGR)).toBe(true);
        expectRollupsEqual(fromChunks(chunks.map((c) => c.data))!, r);
      }),
    );
  });

  test('decoding a subset of the aggregates gives those columns as a full decode, the others empty (absent chunk entries too)', () => {
    const cols = ['count', 'sum', 'min', 'max', 'counter'] as const;
    fc.assert(
      fc.property(rawSeries, fc.integer({ min: 1, max: ALL_AGGRS }), fc.integer({ min: 0, max: 0b11111 }), ({ ts, vs }, want, dropped) => {
        const r = rollupFromRaw(ts, vs, RES_5M)!;
        // Some entries absent, as a Thanos-made or counter-only chunk may have them (the count always kept).
        const chunks = toChunks(r, RES_5M).map((c) => {
          const parts = decodeAggrChunk(c.data).map((p, i) => (i > AGGR_COUNT && dropped & aggrBit(i) ? undefined : p));
          return encodeAggrChunk(parts);
        });
        const full = fromChunks(chunks)!;
        const some = fromChunks(chunks, -Infinity, Infinity, want)!;
        expect(Array.from(some.t)).toEqual(Array.from(full.t));
        cols.forEach((name, i) => {
          // A column not asked for is not even allocated.
          expect(Array.from(some[name])).toEqual(want & aggrBit(i) ? Array.from(full[name]) : []);
        });
        if (want & aggrBit(AGGR_COUNTER) && !(dropped & aggrBit(AGGR_COUNTER)))
          expect([some.firstT, some.firstV, some.lastV]).toEqual([full.firstT, full.firstV, full.lastV]);
        expect(some.sketches === undefined).toBe(!(want & aggrBit(AGGR_SKETCHES)) || full.sketches === undefined);
      }),
    );
  });

  test('rollups of rollups equal rollups of the raw data: 5m -> 1h -> 1d', () => {
    fc.assert(
      fc.property(rawSeries, ({ ts, vs }) => {
        const r5 = fromChunks(toChunks(rollupFromRaw(ts, vs, RES_5M)!, RES_5M).map((c) => c.data))!;
        const r1h = rollupFromRollup(r5, RES_1H);
        expectRollupsEqual(r1h, rollupFromRaw(ts, vs, RES_1H)!);
        expectRollupsEqual(rollupFromRollup(fromChunks(toChunks(r1h, RES_1H).map((c) => c.data))!, RES_1D), rollupFromRaw(ts, vs, RES_1D)!);
      }),
    );
  });

  test('rollups of consecutive blocks joined equal the rollup of both blocks (counter continued across a reset between them)', () => {
    fc.assert(
      fc.property(rawSeries, fc.integer({ min: 1, max: 20 }), ({ ts, vs }, cutWindows) => {
        const cut = windowEnd(ts[0], RES_5M) + 1 + (cutWindows - 1) * RES_5M;
        const k = ts.findIndex((t) => t >= cut);
        fc.pre(k > 0);
        const parts = [
          rollupFromRaw(ts.subarray(0, k), vs.subarray(0, k), RES_5M)!,
          rollupFromRaw(ts.subarray(k), vs.subarray(k), RES_5M)!,
        ];
        expectRollupsEqual(concatRollups(parts.reverse()), rollupFromRaw(ts, vs, RES_5M)!);
      }),
    );
  });

  test('stale markers and NaNs carry no value', () => {
    const r = rollupFromRaw(Float64Array.of(1000, 2000, 3000), Float64Array.of(1, NaN, 3), RES_5M)!;
    expect([r.count[0], r.sum[0]]).toEqual([2, 4]);
    expect(rollupFromRaw(Float64Array.of(1000), Float64Array.of(NaN), RES_5M)).toBeUndefined();
  });
});
